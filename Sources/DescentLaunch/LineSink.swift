import DescentCore

/// Where a `ProcessGroup` writes the labelled lines of its children and its own `[launch]`
/// reports. Called only from the thread that runs the group.
public protocol LineSink {
    /// A line a child wrote to its standard output, already prefixed with its label.
    func standardOutput(_ line: String)
    /// A line a child wrote to its standard error, or a `[launch]` report.
    func standardError(_ line: String)
}

/// Writes lines to the launching process's own standard output and standard error, whole and
/// unbuffered, through `Console`.
public struct ConsoleLineSink: LineSink {
    public init() {}
    public func standardOutput(_ line: String) { Console.out(line) }
    public func standardError(_ line: String) { Console.error(line) }
}
