import DescentCore
import DescentLaunch

/// The `launch` side of the live progress: lines of the children go out as `ConsoleLineSink`
/// writes them, except the coordinator's marked progress lines, which become the status line
/// redrawn in place at the bottom of the terminal.
public final class ProgressRelaySink: LineSink {
    private let progressPrefix: String?
    private let errorLine: (String) -> Void

    /// `label` is the coordinator's label as the group prefixes it (`coordinator`); nil relays
    /// every line as it is. `errorLine` writes the lines of standard error (`Console.error`).
    public init(coordinatorLabel label: String? = "coordinator", errorLine: @escaping (String) -> Void = { Console.error($0) }) {
        progressPrefix = label.map { "[\($0)] " + ProgressLine.marker }
        self.errorLine = errorLine
    }

    public func standardOutput(_ line: String) {
        if let progressPrefix, line.hasPrefix(progressPrefix) {
            ConsoleStatus.show(String(line.dropFirst(progressPrefix.count)))
        } else {
            Console.out(line)
        }
    }

    public func standardError(_ line: String) { errorLine(line) }

    /// Erases the status line when the group is done.
    public func finish() { ConsoleStatus.clear() }
}
