import Foundation
import DescentCore

/// Turns `FetchEvent`s into text lines, with progress lines limited to one per `interval` seconds.
///
/// `@unchecked Sendable`: the throttle state is guarded by `lock`; events arrive from URLSession's queue.
public final class FetchProgressPrinter: @unchecked Sendable {
    private let interval: Double
    private let clock: @Sendable () -> Double
    private let sink: @Sendable (String) -> Void
    private let lock = NSLock()
    private var lastProgressTime = -Double.infinity

    /// - Parameters:
    ///   - interval: the least time between two progress lines, in seconds.
    ///   - clock: the current time in seconds (monotonic).
    ///   - write: receives each line, without a newline.
    public init(
        interval: Double = 0.5,
        clock: @escaping @Sendable () -> Double = { ProcessInfo.processInfo.systemUptime },
        write: @escaping @Sendable (String) -> Void
    ) {
        self.interval = interval
        self.clock = clock
        self.sink = write
    }

    /// A printer that writes to standard error.
    public static func standardError() -> FetchProgressPrinter {
        FetchProgressPrinter { line in Console.error(line) }
    }

    /// Prints the line for `event`, unless it is a progress line that comes too soon after the last.
    public func handle(_ event: FetchEvent) {
        if let line = line(for: event) { sink(line) }
    }

    /// Writes a line of its own (a heading, a summary).
    public func write(_ line: String) {
        sink(line)
    }

    private func line(for event: FetchEvent) -> String? {
        switch event {
        case .alreadyVerified(let file):
            return "\(file): present and verified; nothing to do"
        case .alreadyPresent(let file):
            return "\(file): present"
        case .failedVerification(let file, let reason):
            return "\(file): present but fails verification (\(reason)); downloading it again"
        case .downloading(let file, let url, let total):
            lock.withLock { lastProgressTime = clock() }
            return "\(file): downloading \(url) (\(total) bytes)"
        case .progress(let file, let bytes, let total):
            let now = clock()
            let due: Bool = lock.withLock {
                guard now - lastProgressTime >= interval else { return false }
                lastProgressTime = now
                return true
            }
            guard due, bytes < total else { return nil }
            return "\(file): \(bytes) / \(total) bytes (\(total > 0 ? bytes * 100 / total : 100)%)"
        case .attemptFailed(let file, let url, let reason):
            return "\(file): \(url) failed: \(reason)"
        case .downloaded(let file, _, let bytes):
            return "\(file): \(bytes) / \(bytes) bytes, verified"
        case .waitingForAnotherFetch(let directory):
            return "another process is downloading into \(directory); waiting for it to finish"
        }
    }
}
