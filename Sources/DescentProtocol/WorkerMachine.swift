/// The worker's protocol logic as a pure state machine: saying hello until admitted, which
/// steps to compute (and which slots of their global batch), when to rejoin a coordinator that
/// went away and when to give up. It returns directives; the worker's shell carries them out.
public struct WorkerMachine: Sendable {
    /// How a worker is admitted into a run.
    public struct Registration: Sendable, Equatable {
        public var rank: Int
        public var runID: UInt64
        public var generation: UInt32
        public var slots: Int
    }

    public enum Phase: Sendable, Equatable {
        /// Saying hello, not yet admitted (or admitted before and rejoining).
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
        /// Give up after this long without being admitted the first time (nil: never).
        public var joinTimeout: Double?
        /// Once admitted: how long to keep trying to rejoin a coordinator that went away.
        public var rejoinTimeout: Double
        /// Seconds between application heartbeats once admitted.
        public var heartbeatInterval: Double
        /// Rejoin when the coordinator has been silent this long once admitted.
        public var silenceLimit: Double

        public init(helloInterval: Double = 1, reportInterval: Double = 5, joinTimeout: Double? = 120, rejoinTimeout: Double = 120,
                    heartbeatInterval: Double = 1, silenceLimit: Double = 30) {
            self.helloInterval = helloInterval
            self.reportInterval = reportInterval
            self.joinTimeout = joinTimeout
            self.rejoinTimeout = rejoinTimeout
            self.heartbeatInterval = heartbeatInterval
            self.silenceLimit = silenceLimit
        }
    }

    /// How a worker's run ended.
    public enum Ending: Sendable, Equatable {
        /// The coordinator said the run is over.
        case stopped(reason: String)
        case refused(reason: String)
        /// The coordinator could not be reached (or came back) in time. `admitted`: it was admitted once.
        case gaveUp(reason: String, admitted: Bool)
    }

    public enum Directive: Sendable, Equatable {
        /// Say hello; `runID`/`generation` name the run this worker was in (0 when new).
        case sendHello(runID: UInt64, generation: UInt32)
        case sendHeartbeat(WireMessage.Envelope)
        /// Set up (or keep) the session for these settings.
        case startSession(WireMessage.Welcome)
        /// Compute these slots of the step's global batch and send the gradient back.
        case compute(WireMessage.StepOrder, rank: Int, slots: [Int])
        /// Tell the user something (rejoining, ignored a message).
        case report(String)
        /// Still not admitted after `seconds` (`rejoining`: it was admitted before).
        case stillJoining(seconds: Double, rejoining: Bool)
        /// Stop the loop.
        case end(Ending)
    }

    public private(set) var phase: Phase = .joining
    public private(set) var timing: Timing
    private var lastRun: Registration?
    /// The step and round this worker last computed.
    private var lastComputed: (step: Int, round: UInt16)?

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

    /// Whether this worker was admitted to a run at some point.
    public var wasAdmitted: Bool { lastRun != nil }

    /// A decoded message from the coordinator.
    public mutating func receive(_ message: WireMessage, now: Double) -> [Directive] {
        guard phase != .done else { return [] }
        lastHeard = now
        switch message {
        case .welcome(let welcome):
            guard (0..<welcome.settings.workers).contains(welcome.rank), welcome.settings.workers <= SlotAssignment.maxSlots else {
                return [.report("ignored a welcome with rank \(welcome.rank) of \(welcome.settings.workers) ranks")]
            }
            let registration = Registration(rank: welcome.rank, runID: welcome.runID, generation: welcome.generation,
                                            slots: welcome.settings.workers)
            // Another run, or the same run's coordinator restarted from a checkpoint: steps start over.
            if lastRun?.runID != welcome.runID || lastRun?.generation != welcome.generation { lastComputed = nil }
            phase = .registered(registration)
            lastRun = registration
            timing.heartbeatInterval = welcome.settings.heartbeatSeconds
            timing.silenceLimit = welcome.settings.silenceLimitSeconds
            return [.startSession(welcome)]
        case .step(let order):
            guard let registration else { return [.report("ignored step \(order.step): not admitted yet")] }
            guard order.runID == registration.runID, order.generation == registration.generation else {
                return [.report("ignored step \(order.step) of run \(order.runID) generation \(order.generation): not this worker's run")]
            }
            // Rounds only grow during a run (each redeal starts a new one), so an order is new when it
            // is of a newer round, or of a later step in the same round: in sync mode that is "a later
            // step or a redeal of it", and in async mode a batch dealt again after its worker was lost
            // (a lower step, a newer round) is still taken by a worker that has computed later ones.
            if let last = lastComputed, (order.round, order.step) <= (last.round, last.step) {
                return [.report("ignored step \(order.step) round \(order.round): already computed")]
            }
            let slots = SlotAssignment.slots(of: registration.rank, participants: order.participants, slotCount: registration.slots)
            guard !slots.isEmpty else { return [] }
            lastComputed = (order.step, order.round)
            return [.compute(order, rank: registration.rank, slots: slots)]
        case .reject(_, let reason):
            phase = .done
            return [.end(.refused(reason: reason))]
        case .stop(let envelope, let reason):
            // A stop of an older generation (a coordinator that has since restarted) is not for us.
            if let registration, envelope.runID == registration.runID, envelope.generation < registration.generation { return [] }
            phase = .done
            return [.end(.stopped(reason: reason))]
        case .registerAgain:
            return rejoin(now: now, why: "the coordinator does not know this worker; joining again")
        case .heartbeat, .hello, .gradient:
            return []
        }
    }

    private mutating func rejoin(now: Double, why: String) -> [Directive] {
        phase = .joining
        joiningSince = now
        lastHello = -Double.infinity
        return [.report(why)]
    }

    /// The coordinator's process is known to be gone (same host): rejoin without waiting for silence.
    public mutating func coordinatorGone(now: Double) -> [Directive] {
        guard registration != nil else { return [] }
        return rejoin(now: now, why: "the coordinator's process has exited; waiting up to \(Int(timing.rejoinTimeout)) s for it to come back")
    }

    /// This worker sent something (a gradient counts as a heartbeat).
    public mutating func sent(now: Double) { lastSent = now }

    public mutating func tick(now: Double) -> [Directive] {
        switch phase {
        case .done:
            return []
        case .joining:
            let limit = lastRun == nil ? timing.joinTimeout : timing.rejoinTimeout
            if let limit, now - joiningSince >= limit {
                phase = .done
                let what = lastRun == nil ? "not admitted after \(Int(now - joiningSince)) s" : "the coordinator did not come back within \(Int(now - joiningSince)) s"
                return [.end(.gaveUp(reason: what, admitted: lastRun != nil))]
            }
            if now - lastHello >= timing.helloInterval {
                lastHello = now
                return [.sendHello(runID: lastRun?.runID ?? 0, generation: lastRun?.generation ?? 0)]
            }
            if now - lastReport >= timing.reportInterval {
                lastReport = now
                return [.stillJoining(seconds: now - joiningSince, rejoining: lastRun != nil)]
            }
            return []
        case .registered(let registration):
            if now - lastHeard >= timing.silenceLimit {
                return rejoin(now: now, why: "the coordinator has been silent for \(Int(now - lastHeard)) s; trying to rejoin for up to \(Int(timing.rejoinTimeout)) s")
            }
            if now - lastSent >= timing.heartbeatInterval {
                lastSent = now
                return [.sendHeartbeat(WireMessage.Envelope(runID: registration.runID, generation: registration.generation,
                                                           rank: UInt32(registration.rank)))]
            }
            return []
        }
    }
}
