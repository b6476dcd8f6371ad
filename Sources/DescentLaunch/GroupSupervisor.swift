import DescentCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The single-threaded `poll` loop behind `ProcessGroup.run`: relays the children's output line
/// by line, collects their exits with `waitpid(WNOHANG)`, acts on stop requests from the wake
/// pipe, and applies the exit policy (stop the others when one fails; give them a grace period
/// after the primary succeeds; SIGKILL what outlives SIGTERM by a grace period).
struct GroupSupervisor {
    private struct Child {
        let spec: ChildProcess
        let pid: pid_t
        var streams: [Stream]
        var termination: ChildTermination?
        var signalledByLaunch = false
        var isRunning: Bool { termination == nil }
    }

    private struct Stream {
        var descriptor: Int32
        let isStandardError: Bool
        var splitter: LineSplitter
        var isOpen: Bool { descriptor >= 0 }
    }

    private enum Phase {
        case running
        /// The primary exited 0; the others may exit on their own until the deadline.
        case windingDown(until: ContinuousClock.Instant)
        /// SIGTERM was sent; SIGKILL follows at the deadline.
        case stopping(killAt: ContinuousClock.Instant)
        /// SIGKILL was sent.
        case killing
    }

    /// How often the loop checks on children whose pipes stay open (e.g. held by grandchildren).
    private static let longestPollMilliseconds: Int32 = 100

    private let gracePeriod: Duration
    private let maximumLineBytes: Int
    private let output: any LineSink
    private let wake: WakePipe
    private let clock = ContinuousClock()
    private var children: [Child] = []
    private var phase = Phase.running
    private var interruptingSignal: Int32?
    /// Set by the first failure or interrupt; the group's exit code.
    private var exitCode: Int32?
    private var readBuffer = [UInt8](repeating: 0, count: 64 * 1024)
    /// Failed children may be started again this many times in all (a run's budget).
    private let maxRestarts: Int
    private(set) var restarts = 0

    init(gracePeriod: Duration, maximumLineBytes: Int, output: any LineSink, wake: WakePipe, maxRestarts: Int = 0) {
        self.maxRestarts = maxRestarts
        self.gracePeriod = gracePeriod
        self.maximumLineBytes = maximumLineBytes
        self.output = output
        self.wake = wake
    }

    var startedLabels: [String] { children.map(\.spec.label) }

    mutating func add(_ spec: ChildProcess, _ spawned: SpawnedChild) {
        let streams = [
            Stream(descriptor: spawned.standardOutput, isStandardError: false,
                   splitter: LineSplitter(maximumLineBytes: maximumLineBytes)),
            Stream(descriptor: spawned.standardError, isStandardError: true,
                   splitter: LineSplitter(maximumLineBytes: maximumLineBytes)),
        ]
        children.append(Child(spec: spec, pid: spawned.pid, streams: streams))
    }

    /// Starts a failed child again in its place, while the restart budget lasts.
    private mutating func restart(_ index: Int, after termination: ChildTermination) -> Bool {
        guard restarts < maxRestarts, case .running = phase else { return false }
        let spec = children[index].spec
        do {
            let spawned = try ChildSpawner.spawn(spec)
            restarts += 1
            report("\(spec.label) \(termination); restarting it (restart \(restarts) of \(maxRestarts))")
            children[index] = Child(spec: spec, pid: spawned.pid, streams: [
                Stream(descriptor: spawned.standardOutput, isStandardError: false, splitter: LineSplitter(maximumLineBytes: maximumLineBytes)),
                Stream(descriptor: spawned.standardError, isStandardError: true, splitter: LineSplitter(maximumLineBytes: maximumLineBytes)),
            ])
            return true
        } catch {
            report("could not restart \(spec.label): \(error.reason)")
            return false
        }
    }

    /// After a failed spawn: SIGTERM the children already started and wait for them (SIGKILL
    /// after the grace period), relaying their output meanwhile.
    mutating func stopAfterSpawnFailure(of label: String) {
        guard !children.isEmpty else { return }
        report("could not start \(label); stopping \(runningLabels.joined(separator: ", "))")
        signalRunning(SIGTERM)
        phase = .stopping(killAt: clock.now + gracePeriod)
        superviseUntilAllExit()
    }

    /// Runs the loop until every child has exited and its output has been relayed.
    mutating func superviseUntilAllExit() {
        while children.contains(where: \.isRunning) {
            var watched = [pollfd(fd: wake.readEnd, events: Int16(POLLIN), revents: 0)]
            var owners: [(child: Int, stream: Int)] = []
            for (childIndex, child) in children.enumerated() {
                for (streamIndex, stream) in child.streams.enumerated() where stream.isOpen {
                    watched.append(pollfd(fd: stream.descriptor, events: Int16(POLLIN), revents: 0))
                    owners.append((childIndex, streamIndex))
                }
            }
            let ready = poll(&watched, nfds_t(watched.count), pollTimeoutMilliseconds())
            if ready > 0 {
                if watched[0].revents != 0 {
                    for signal in wake.drain() { handleStopRequest(signal: Int32(signal)) }
                }
                for (offset, owner) in owners.enumerated() where watched[offset + 1].revents != 0 {
                    readOnce(child: owner.child, stream: owner.stream)
                }
            }
            collectExitedChildren()
            actOnDeadline()
        }
    }

    /// Writes one `[launch]` line per child saying how it ended.
    func reportEndings() {
        for report in reports { self.report(report.description) }
    }

    var result: LaunchResult {
        let reports = reports
        let code = exitCode ?? (reports.contains(where: \.isFailure) ? 1 : 0)
        return LaunchResult(children: reports, interruptingSignal: interruptingSignal, exitCode: code)
    }

    private var reports: [ChildReport] {
        children.map {
            ChildReport(label: $0.spec.label, pid: $0.pid, termination: $0.termination ?? .unknown,
                        stoppedByLaunch: $0.signalledByLaunch)
        }
    }

    // MARK: Output

    private mutating func readOnce(child: Int, stream: Int) {
        let descriptor = children[child].streams[stream].descriptor
        let count = FileDescriptors.read(descriptor, into: &readBuffer)
        if count > 0 {
            relay(children[child].streams[stream].splitter.append(readBuffer[..<count]), child: child, stream: stream)
        } else if count == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) {
            closeStream(child: child, stream: stream)
        }
    }

    /// Reads what is left in an exited child's pipes (a bounded amount, in case a grandchild
    /// keeps writing), relays it with any unterminated last line, and closes them.
    private mutating func drainAndClose(child: Int) {
        for stream in children[child].streams.indices where children[child].streams[stream].isOpen {
            let descriptor = children[child].streams[stream].descriptor
            for _ in 0..<64 {
                let count = FileDescriptors.read(descriptor, into: &readBuffer)
                guard count > 0 else { break }
                relay(children[child].streams[stream].splitter.append(readBuffer[..<count]), child: child, stream: stream)
            }
            closeStream(child: child, stream: stream)
        }
    }

    private mutating func closeStream(child: Int, stream: Int) {
        if let last = children[child].streams[stream].splitter.finish() {
            relay([last], child: child, stream: stream)
        }
        FileDescriptors.close(children[child].streams[stream].descriptor)
        children[child].streams[stream].descriptor = -1
    }

    private func relay(_ lines: [String], child: Int, stream: Int) {
        let label = children[child].spec.label
        let toStandardError = children[child].streams[stream].isStandardError
        for line in lines {
            if toStandardError { output.standardError("[\(label)] \(line)") } else { output.standardOutput("[\(label)] \(line)") }
        }
    }

    private func report(_ message: String) {
        output.standardError("[launch] \(message)")
    }

    // MARK: Exits and policy

    private mutating func collectExitedChildren() {
        for index in children.indices where children[index].isRunning {
            var status: Int32 = 0
            let result = waitpid(children[index].pid, &status, WNOHANG)
            if result == children[index].pid {
                children[index].termination = ChildTermination(waitStatus: status)
            } else if result < 0 && errno == ECHILD {
                children[index].termination = .unknown
            } else {
                continue
            }
            drainAndClose(child: index)
            handleExit(of: index)
        }
    }

    private mutating func handleExit(of index: Int) {
        let child = children[index]
        guard !child.signalledByLaunch, let termination = child.termination else { return }
        if termination.isSuccess {
            if child.spec.isPrimary, case .running = phase, !runningLabels.isEmpty {
                report("\(child.spec.label) finished; giving \(runningLabels.joined(separator: ", ")) up to \(gracePeriod) to exit")
                phase = .windingDown(until: clock.now + gracePeriod)
            }
            return
        }
        if restart(index, after: termination) { return }
        report("\(child.spec.label) \(termination)")
        if exitCode == nil { exitCode = termination.shellExitCode == 0 ? 1 : termination.shellExitCode }
        switch phase {
        case .running, .windingDown:
            if !runningLabels.isEmpty {
                report("stopping \(runningLabels.joined(separator: ", "))")
                signalRunning(SIGTERM)
                phase = .stopping(killAt: clock.now + gracePeriod)
            }
        case .stopping, .killing:
            break
        }
    }

    /// The first request sends SIGTERM to every child (SIGKILL after the grace period); a second
    /// sends SIGKILL at once. A repeated parent-death signal is not a second request: the kernel
    /// sends it once for each thread of the dying parent.
    private mutating func handleStopRequest(signal: Int32) {
        let name = SignalName.of(signal)
        if interruptingSignal == nil {
            interruptingSignal = signal
            if exitCode == nil { exitCode = 128 + signal }
            report("received \(name); stopping all processes (send it again to kill them)")
            signalRunning(SIGTERM)
            let killAt = clock.now + gracePeriod
            switch phase {
            case .stopping(let earlier): phase = .stopping(killAt: min(earlier, killAt))
            case .killing: break
            case .running, .windingDown: phase = .stopping(killAt: killAt)
            }
        } else if signal == ParentDeath.signal && interruptingSignal == ParentDeath.signal {
            return
        } else {
            report("received \(name) again; killing all processes")
            signalRunning(SIGKILL)
            phase = .killing
        }
    }

    private mutating func actOnDeadline() {
        let now = clock.now
        switch phase {
        case .windingDown(let until) where now >= until:
            if !runningLabels.isEmpty {
                report("stopping \(runningLabels.joined(separator: ", ")): still running \(gracePeriod) after the primary finished")
            }
            signalRunning(SIGTERM)
            phase = .stopping(killAt: now + gracePeriod)
        case .stopping(let killAt) where now >= killAt:
            if !runningLabels.isEmpty {
                report("killing \(runningLabels.joined(separator: ", ")): still running \(gracePeriod) after SIGTERM")
            }
            signalRunning(SIGKILL)
            phase = .killing
        default:
            break
        }
    }

    private var runningLabels: [String] { children.filter(\.isRunning).map(\.spec.label) }

    /// Signals every running child's process group (the child and what it started), or the
    /// child alone if it has no group of its own.
    private mutating func signalRunning(_ signal: Int32) {
        for index in children.indices where children[index].isRunning {
            let pid = children[index].pid
            if kill(-pid, signal) != 0 { _ = kill(pid, signal) }
            children[index].signalledByLaunch = true
        }
    }

    private func pollTimeoutMilliseconds() -> Int32 {
        let deadline: ContinuousClock.Instant
        switch phase {
        case .windingDown(let until): deadline = until
        case .stopping(let killAt): deadline = killAt
        case .running, .killing: return Self.longestPollMilliseconds
        }
        let remaining = clock.now.duration(to: deadline)
        if remaining <= .zero { return 0 }
        let (seconds, attoseconds) = remaining.components
        let milliseconds = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: min(milliseconds, Int64(Self.longestPollMilliseconds)))
    }
}
