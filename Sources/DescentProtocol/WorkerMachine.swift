/// The worker's protocol logic as a pure state machine: saying hello until admitted, which
/// steps to compute, when to give up on an unreachable or silent coordinator. The worker
/// process owns the socket and the clock and carries out the decisions.
public struct WorkerMachine: Sendable {
    /// How a worker is admitted into a run.
    public struct Registration: Sendable, Equatable {
        public var rank: Int
        public var runID: UInt64
        public var generation: UInt32
    }

    public enum Phase: Sendable, Equatable {
        /// Saying hello, not yet admitted.
        case joining
        case registered(Registration)
        /// Told to stop, refused, or given up: the process exits.
        case done
    }

    /// Timing rules of a worker.
    public struct Timing: Sendable {
        /// Seconds between hellos while not admitted.
        public var helloInterval: Double
        /// Seconds between "still trying" reports while not admitted.
        public var reportInterval: Double
        /// Give up after this long without being admitted (nil: never).
        public var joinTimeout: Double?
        /// Seconds between application heartbeats once admitted.
        public var heartbeatInterval: Double
        /// Give up when the coordinator has been silent this long once admitted.
        public var silenceLimit: Double

        public init(helloInterval: Double = 1, reportInterval: Double = 5, joinTimeout: Double? = 120,
                    heartbeatInterval: Double = 1, silenceLimit: Double = 30) {
            self.helloInterval = helloInterval
            self.reportInterval = reportInterval
            self.joinTimeout = joinTimeout
            self.heartbeatInterval = heartbeatInterval
            self.silenceLimit = silenceLimit
        }
    }

    public enum StepDecision: Sendable, Equatable {
        case compute
        /// Not for this worker now: an older step again, another run, or not yet admitted.
        case ignore(reason: String)
    }

    public enum TickDecision: Sendable, Equatable {
        case idle
        case sendHello
        /// Not admitted yet after `seconds`: tell the user what is being tried.
        case reportUnreachable(seconds: Double)
        case sendHeartbeat
        /// Give up: the coordinator could not be reached, or has gone silent.
        case giveUp(reason: String)
    }

    public private(set) var phase: Phase = .joining
    public private(set) var timing: Timing
    /// The last step this worker computed.
    public private(set) var lastComputedStep: Int?

    private var joiningSince: Double
    private var lastHello: Double
    private var lastReport: Double
    private var lastHeard: Double
    private var lastSent: Double

    public init(timing: Timing = Timing(), now: Double) {
        self.timing = timing
        joiningSince = now
        lastHello = -Double.infinity
        lastReport = now
        lastHeard = now
        lastSent = now
    }

    public var registration: Registration? {
        if case .registered(let registration) = phase { return registration }
        return nil
    }

    /// The coordinator admitted this worker. A repeated welcome for the same run is harmless.
    public mutating func welcomed(rank: Int, runID: UInt64, generation: UInt32, heartbeatInterval: Double,
                                  silenceLimit: Double, now: Double) {
        lastHeard = now
        if registration?.runID != runID || registration?.generation != generation { lastComputedStep = nil }
        phase = .registered(Registration(rank: rank, runID: runID, generation: generation))
        timing.heartbeatInterval = heartbeatInterval
        timing.silenceLimit = silenceLimit
    }

    /// A step arrived: compute it unless it is stale or not for this run.
    public mutating func step(_ step: Int, runID: UInt64, generation: UInt32, now: Double) -> StepDecision {
        lastHeard = now
        guard let registration else { return .ignore(reason: "step \(step) arrived before this worker was admitted") }
        guard runID == registration.runID, generation == registration.generation else {
            return .ignore(reason: "step \(step) is for run \(runID) generation \(generation), not this worker's run")
        }
        if let last = lastComputedStep, step <= last {
            return .ignore(reason: "step \(step) was already computed")
        }
        lastComputedStep = step
        return .compute
    }

    /// The coordinator does not know this worker (it restarted, or the worker was late): join again.
    public mutating func mustRegisterAgain(now: Double) {
        lastHeard = now
        phase = .joining
        joiningSince = now
        lastHello = -Double.infinity
    }

    /// Any message from the coordinator proves it is alive.
    public mutating func heard(now: Double) { lastHeard = now }

    /// This worker sent something (a gradient counts as a heartbeat).
    public mutating func sent(now: Double) { lastSent = now }

    /// The coordinator said stop, or refused this worker.
    public mutating func finish() { phase = .done }

    public mutating func tick(now: Double) -> TickDecision {
        switch phase {
        case .done:
            return .idle
        case .joining:
            if let limit = timing.joinTimeout, now - joiningSince >= limit {
                phase = .done
                return .giveUp(reason: "not admitted after \(Int(now - joiningSince)) s")
            }
            if now - lastHello >= timing.helloInterval {
                lastHello = now
                return .sendHello
            }
            if now - lastReport >= timing.reportInterval {
                lastReport = now
                return .reportUnreachable(seconds: now - joiningSince)
            }
            return .idle
        case .registered:
            if now - lastHeard >= timing.silenceLimit {
                phase = .done
                return .giveUp(reason: "the coordinator has been silent for \(Int(now - lastHeard)) s")
            }
            if now - lastSent >= timing.heartbeatInterval {
                lastSent = now
                return .sendHeartbeat
            }
            return .idle
        }
    }
}
