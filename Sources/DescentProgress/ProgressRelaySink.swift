import DescentCore
import DescentLaunch

/// The `launch` side of the live progress: lines of the children go out as `ConsoleLineSink`
/// writes them, except the coordinator's marked progress lines, which become the status line
/// redrawn in place at the bottom of the terminal.
public final class ProgressRelaySink: LineSink {
    private let progressPrefix: String

    /// `label` is the coordinator's label as the group prefixes it (`coordinator`).
    public init(coordinatorLabel label: String = "coordinator") {
        progressPrefix = "[\(label)] " + ProgressLine.marker
    }

    public func standardOutput(_ line: String) {
        if line.hasPrefix(progressPrefix) {
            ConsoleStatus.show(String(line.dropFirst(progressPrefix.count)))
        } else {
            Console.out(line)
        }
    }

    public func standardError(_ line: String) { Console.error(line) }

    /// Erases the status line when the group is done.
    public func finish() { ConsoleStatus.clear() }
}
