#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A self-pipe: writing a byte (a signal number) to it wakes the group's `poll` loop. Writing is
/// async-signal-safe and thread-safe, so signal handlers and other threads use it to ask the
/// loop to stop. Both ends are non-blocking; a full pipe drops the byte, which is harmless
/// because the loop already has requests to read.
public final class WakePipe: Sendable {
    public let readEnd: Int32
    public let writeEnd: Int32

    public init() throws {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { throw WakePipeError(errno: errno) }
        readEnd = ends[0]
        writeEnd = ends[1]
        for end in ends {
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
        }
    }

    deinit {
        _ = close(readEnd)
        _ = close(writeEnd)
    }

    public func post(_ byte: UInt8) {
        var byte = byte
        _ = write(writeEnd, &byte, 1)
    }

    /// Every byte posted since the last call (nothing allocated when none was).
    public func drain() -> [UInt8] {
        var posted: [UInt8] = []
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { buffer in
            while true {
                let count = read(readEnd, buffer.baseAddress, buffer.count)
                if count <= 0 { return }
                posted.append(contentsOf: buffer[..<count])
            }
        }
        return posted
    }
}

/// A pipe could not be made.
public struct WakePipeError: Error, CustomStringConvertible {
    public var errno: Int32
    public var description: String { "cannot create a pipe: \(String(cString: strerror(errno)))" }
}

/// A request to stop, posted by a signal handler or another thread through a `WakePipe` and
/// checked by a loop: the one signal design of Descent's processes.
public final class StopRequest: Sendable {
    public let pipe: WakePipe
    private let signalsInstalled: SignalForwarding?

    /// A stop request; with `forwardingSignals`, SIGINT and SIGTERM post to it (SIGPIPE is ignored).
    public init(forwardingSignals: Bool) throws {
        pipe = try WakePipe()
        signalsInstalled = forwardingSignals ? SignalForwarding(forwardTo: pipe.writeEnd) : nil
    }

    /// The signal numbers (or other bytes) posted since the last check; empty when none.
    public func pending() -> [UInt8] { pipe.drain() }

    /// Asks the loop to stop (from any thread).
    public func post(signal: Int32 = SIGTERM) { pipe.post(UInt8(truncatingIfNeeded: signal)) }
}

/// Looks at a `StopRequest` at most once a millisecond. Each look is a `read` of its pipe, which
/// loops whose turns take microseconds paid at every turn: the coordinator's and its own
/// worker's with `--local-worker`, and `descent train`'s steps at small batches.
public struct StopPolling {
    public static let interval = 0.001
    private let request: StopRequest?
    private var last = -Double.infinity

    public init(_ request: StopRequest?) { self.request = request }

    /// Whether a stop was asked, looking at the pipe when `interval` has passed since the last look
    /// (a stop posted meanwhile waits in the pipe for the next look).
    public mutating func asked(now: Double = monotonicSeconds()) -> Bool {
        guard let request, now - last >= Self.interval else { return false }
        last = now
        return !request.pending().isEmpty
    }
}
