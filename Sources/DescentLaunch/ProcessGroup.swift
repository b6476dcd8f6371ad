import DescentCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Starts a group of child processes (a coordinator and its workers), relays their output line by
/// line prefixed with their labels, forwards SIGINT/SIGTERM to them, and reports how each ended.
///
/// ```swift
/// let group = try ProcessGroup()
/// let result = try group.run([
///     ChildProcess(label: "coordinator", executablePath: descent, arguments: ["coordinator", "--config", path], isPrimary: true),
///     ChildProcess(label: "worker 0", executablePath: descent, arguments: ["worker", "--rank", "0"]),
/// ])
/// exit(result.exitCode)
/// ```
///
/// Policy: when a child exits non-zero or is killed by a signal, the others get SIGTERM and, after
/// the grace period, SIGKILL; the exit code is the failing child's (128 + signal when killed).
/// When the primary exits 0, the others get the grace period to exit on their own and are then
/// stopped the same way, which is not a failure. A first SIGINT/SIGTERM to the launcher sends
/// SIGTERM to every child (each runs in a process group of its own, so the signal reaches what
/// it starts), a second sends SIGKILL; the exit code is then 128 + the signal (130 or 143).
public final class ProcessGroup: Sendable {
    /// How a group waits and splits lines.
    public struct Options: Sendable {
        /// How long children get to exit after the primary finished, and after SIGTERM before SIGKILL.
        public var gracePeriod: Duration
        /// Whether `run` handles SIGINT and SIGTERM (restoring the previous handlers after). Only
        /// one group in a process should forward signals at a time.
        public var forwardsSignals: Bool
        /// Lines longer than this many bytes are relayed in pieces of at most this size.
        public var maximumLineBytes: Int
        /// A child that fails (exits non-zero or is killed) is started again, with the same
        /// arguments, up to this many times in all; then the group stops as without restarts.
        public var maxRestarts: Int

        public init(gracePeriod: Duration = .seconds(5), forwardsSignals: Bool = true, maximumLineBytes: Int = 64 * 1024,
                    maxRestarts: Int = 0) {
            self.maxRestarts = maxRestarts
            self.gracePeriod = gracePeriod
            self.forwardsSignals = forwardsSignals
            self.maximumLineBytes = maximumLineBytes
        }
    }

    public let options: Options
    private let stopRequests: WakePipe

    public init(options: Options = Options()) throws {
        self.options = options
        stopRequests = try WakePipe()
    }

    /// Asks the running group to act as if the launcher had received `signal` (SIGINT or SIGTERM):
    /// the first request sends SIGTERM to every child, a second SIGKILL. Safe from any thread;
    /// a request made before `run` takes effect as soon as it starts.
    public func requestStop(signal: Int32) {
        stopRequests.post(UInt8(truncatingIfNeeded: signal))
    }

    /// Starts `children` in order and relays their output to `output` until all have exited.
    ///
    /// Throws a `LaunchError` before starting anything when there are no children, more than one
    /// is primary, or an executable is missing or not executable; when the system refuses to start
    /// one, the ones already started are stopped and waited for before the error is thrown.
    public func run(_ children: [ChildProcess], output: any LineSink = ConsoleLineSink()) throws -> LaunchResult {
        guard !children.isEmpty else { throw LaunchError.noProcesses }
        let primaries = children.filter(\.isPrimary).map(\.label)
        guard primaries.count <= 1 else { throw LaunchError.severalPrimaries(labels: primaries) }
        for child in children { try ChildSpawner.checkExecutable(of: child) }

        let signals = SignalForwarding(forwardTo: options.forwardsSignals ? stopRequests.writeEnd : nil)
        defer { signals.restore() }

        var supervisor = GroupSupervisor(
            gracePeriod: options.gracePeriod, maximumLineBytes: options.maximumLineBytes,
            output: output, wake: stopRequests, maxRestarts: options.maxRestarts)
        for child in children {
            do {
                supervisor.add(child, try ChildSpawner.spawn(child))
            } catch {
                let started = supervisor.startedLabels
                supervisor.stopAfterSpawnFailure(of: child.label)
                throw LaunchError.spawnFailed(
                    label: child.label, path: child.executablePath, reason: error.reason, stoppedLabels: started)
            }
        }
        supervisor.superviseUntilAllExit()
        supervisor.reportEndings()
        return supervisor.result
    }
}
