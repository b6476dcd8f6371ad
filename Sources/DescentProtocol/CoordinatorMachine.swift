import DescentCore

/// Why the coordinator refused a message. Each is logged and counted, never applied.
public enum Rejection: String, CaseIterable, Sendable, Comparable, Codable {
    /// The frames could not be decoded (bad magic, version, sizes, reserved bytes...).
    case malformed
    case unknownSender = "unknown_sender"
    case wrongRun = "wrong_run"
    case wrongGeneration = "wrong_generation"
    case wrongRank = "wrong_rank"
    case pastStep = "past_step"
    case futureStep = "future_step"
    case staleRound = "stale_round"
    case duplicate
    case wrongCount = "wrong_count"
    case wrongSamples = "wrong_samples"
    case nonFinite = "non_finite"
    case unexpected
    case configMismatch = "config_mismatch"
    case runFull = "run_full"
    /// A connection's CURVE key is not the key of the member its routing id belongs to.
    case identityMismatch = "identity_mismatch"
    /// A message on a worker's old connection after the same key connected again.
    case supersededConnection = "superseded_connection"
    /// Hellos of peers that are not members, over the rate or the cap (`HelloGate`).
    case helloRateLimited = "hello_rate_limited"
    case tooManyUnregistered = "too_many_unregistered"

    public static func < (a: Rejection, b: Rejection) -> Bool { a.rawValue < b.rawValue }
}

/// The coordinator's protocol logic as a pure state machine, in the shape of SWIM's instance:
/// it takes events (a message, the clock, a peer gone, a step applied) and returns directives
/// that carry everything the shell needs (targets, messages, the step order), so the shell only
/// executes and never reads the machine's state to decide again.
///
/// Membership is elastic: ranks are slots of the run (`SlotAssignment`); a worker lost mid-step
/// has its share dealt again to the survivors (the step's accumulated gradients are dropped and
/// the step is sent again in a new round, so no gradient is applied twice and none is lost); a
/// worker may join at any step boundary. The global step moves from t to t + 1 exactly once.
///
/// That is `sync` mode; `async` and `bounded` (`SyncMode`, `CoordinatorMachine+Pipelined.swift`)
/// keep several updates in flight and record each applied gradient's staleness.
public struct CoordinatorMachine: Sendable {
    /// Fixed facts of the run.
    public struct Settings: Sendable {
        public var runID: UInt64
        public var generation: UInt32
        public var plan: EpochPlan
        public var totalSteps: Int
        /// Ranks of the run (its `--max-workers`, at most 64); the global batch is dealt to them.
        public var slots: Int
        /// Workers that must have joined before the first step goes out.
        public var initialWorkers: Int
        /// Below this many workers the run pauses (and stops after `minWorkersTimeout`).
        public var minWorkers: Int
        /// Digest of the coordinator's config; a worker that sends another non-zero digest is refused.
        public var configHash: UInt64
        /// A registered worker silent this long is declared lost.
        public var silenceLimit: Double
        /// A worker that is heard from but has not sent its gradient this long after the step went
        /// out is declared lost too (alive but making no progress).
        public var progressDeadline: Double
        /// How long the run may wait below `minWorkers` before it stops.
        public var minWorkersTimeout: Double?
        /// How long to wait for the initial workers (nil: forever).
        public var registrationTimeout: Double?
        /// How often to say what the coordinator is waiting for.
        public var waitReportInterval: Double
        public var heartbeatInterval: Double
        /// When gradients are applied (`sync`, `async`, `bounded`); see `SyncMode`. In `async` mode
        /// `plan` is the plan of one worker's batch: each of its batches is one update.
        public var mode: SyncMode
        /// How steps and gradients travel in frames; a worker that does not read it is refused.
        public var wireEncoding: WireEncoding = .float32

        public init(runID: UInt64, generation: UInt32 = 0, plan: EpochPlan, totalSteps: Int, slots: Int,
                    initialWorkers: Int? = nil, minWorkers: Int? = nil, configHash: UInt64, silenceLimit: Double = 30,
                    progressDeadline: Double = 60, minWorkersTimeout: Double? = 120, registrationTimeout: Double? = nil,
                    waitReportInterval: Double = 5, heartbeatInterval: Double = 1, mode: SyncMode = .sync) {
            self.runID = runID
            self.generation = generation
            self.plan = plan
            self.totalSteps = totalSteps
            self.slots = slots
            self.initialWorkers = initialWorkers ?? slots
            self.minWorkers = minWorkers ?? 1
            self.configHash = configHash
            self.silenceLimit = silenceLimit
            self.progressDeadline = progressDeadline
            self.minWorkersTimeout = minWorkersTimeout
            self.registrationTimeout = registrationTimeout
            self.waitReportInterval = waitReportInterval
            self.heartbeatInterval = heartbeatInterval
            self.mode = mode
        }
    }

    public enum Phase: Sendable, Equatable {
        /// Waiting for the initial workers.
        case registering
        /// A step is in flight.
        case training
        /// Too few workers: the step in flight waits for more (since `since`).
        case paused(since: Double)
        /// The step in flight is complete and the shell is applying it.
        case applying
        case finished
    }

    /// A registered worker.
    public struct Member: Sendable, Equatable {
        public var peer: PeerID
        public var introduction: WorkerIntroduction
        public var lastHeard: Double
        /// Takes part from the next step sent (joined at a step boundary).
        public var active: Bool
    }

    /// What the shell must do. Each case carries its targets and contents.
    public enum Directive: Sendable, Equatable {
        /// Send a control message to one peer.
        case send(WireMessage, to: PeerID)
        /// Admit a worker: the shell adds its transport facts (shared memory) to `settings` and sends the welcome.
        case admit(rank: Int, peer: PeerID, introduction: WorkerIntroduction, rejoined: Bool)
        /// `rank` has left the run: the transport stops serving it.
        case remove(rank: Int, peer: PeerID)
        /// Send this step's order and the current parameters to these ranks.
        case sendStep(WireMessage.StepOrder, to: [Recipient])
        /// Drop whatever was accumulated for the step in flight (it is being dealt again).
        case discardPartialStep
        /// Add this accepted gradient into the step's average.
        case accumulate(rank: Int, samples: Int, lossSum: Double, correct: Int)
        /// Every gradient of the step is in: average, apply, and then call `stepApplied`.
        case applyStep(step: Int, ranks: [Int], latencies: [Double])
        /// Async and bounded modes: add this accepted gradient into update buffer `buffer`; its
        /// parameters are `staleness` steps older than the step it will be applied at.
        case accumulateGradient(rank: Int, samples: Int, lossSum: Double, correct: Int, buffer: Int, staleness: Int)
        /// Async and bounded modes: buffer `buffer` holds every gradient of update `step`: average,
        /// apply, and then call `stepApplied`. `paramSteps[i]` is the step whose parameters rank
        /// `ranks[i]` computed its gradient at.
        case applyUpdate(step: Int, buffer: Int, ranks: [Int], latencies: [Double], paramSteps: [Int])
        /// Async and bounded modes: every update buffer is dropped (the work in flight is dealt again).
        case discardInFlight
        /// Something the user should read (joins, losses, waits, rejections).
        case log(Event)
        /// Training starts (or resumes) with the first step about to go out.
        case trainingStarted
        /// Every step is applied.
        case finish
        /// The run cannot go on: stop (with a checkpoint of the last applied step).
        case fail(Failure)
    }

    public struct Recipient: Sendable, Equatable {
        public var rank: Int
        public var peer: PeerID
    }

    /// Things worth telling the user, as values (the shell formats them).
    public enum Event: Sendable, Equatable {
        case joined(rank: Int, host: String, pid: Int, registered: Int, rejoined: Bool)
        case lost(rank: Int, host: String, reason: String, survivors: Int)
        case redealt(step: Int, round: UInt16, participants: [Int])
        case waitingForWorkers(have: Int, need: Int, seconds: Double)
        case waitingForGradients(step: Int, ranks: [Int], seconds: Double)
        case rejected(Rejection, String)
    }

    public enum Failure: Sendable, Equatable {
        /// A participant's gradient of the step in flight is NaN or infinite: the model diverged
        /// (the same parameters and data would give it again), so the step cannot complete.
        case diverged(step: Int, rank: Int)
        case registrationTimedOut(missing: Int, seconds: Double)
        case tooFewWorkers(have: Int, need: Int, seconds: Double)
    }

    public let settings: Settings
    public internal(set) var phase: Phase = .registering
    /// The step in flight: the number of updates applied so far.
    public internal(set) var step: Int
    /// How many times the step in flight has been dealt again.
    public internal(set) var round: UInt16 = 0
    public private(set) var rejections: [Rejection: Int] = [:]
    public internal(set) var members: [Member?]
    /// Ranks taking part in the step in flight.
    public internal(set) var participants: UInt64 = 0

    var rankOf: [PeerID: Int] = [:]
    private var received: UInt64 = 0
    private var latencies: [Double]
    var rate: Double = 0
    private var stepSentAt: Double
    private var startedAt: Double
    var lastReport: Double
    private var lastHeartbeat: Double
    /// Async and bounded modes (`CoordinatorMachine+Pipelined.swift`): what each rank computes now.
    var assignments: [Assignment?]
    /// Bounded mode: the next step each rank computes.
    var nextStep: [Int]
    /// Bounded mode: the steps step...step + k, each at `window[s % (k + 1)]`.
    var window: [WindowStep] = []
    /// Async mode: the next batch not yet dealt, and batches whose worker was lost (dealt first).
    var dealt: Int
    var redeal: [Int] = []

    /// A machine whose first step in flight is `step` (0, or the step of a checkpoint).
    public init(settings: Settings, step: Int = 0, now: Double) {
        self.settings = settings
        self.step = step
        members = Array(repeating: nil, count: settings.slots)
        latencies = Array(repeating: 0, count: settings.slots)
        assignments = Array(repeating: nil, count: settings.slots)
        nextStep = Array(repeating: step, count: settings.slots)
        dealt = step
        if case .bounded(let k) = settings.mode {
            window = Array(repeating: WindowStep(slots: settings.slots), count: k + 1)
        }
        stepSentAt = now
        startedAt = now
        lastReport = now
        lastHeartbeat = now
    }

    public var registeredCount: Int { rankOf.count }
    public func rank(of peer: PeerID) -> Int? { rankOf[peer] }
    public var activeRanks: [Int] { (0..<settings.slots).filter { members[$0]?.active == true } }

    /// Counts a message refused before it reached the machine (e.g. undecodable frames).
    public mutating func count(_ rejection: Rejection) {
        rejections[rejection, default: 0] += 1
    }

    var envelope: WireMessage.Envelope {
        WireMessage.Envelope(runID: settings.runID, generation: settings.generation)
    }

    // MARK: Messages

    /// Any decoded message from `peer`.
    public mutating func receive(_ message: WireMessage, from peer: PeerID, now: Double) -> [Directive] {
        switch message {
        case .hello(let hello):
            return self.hello(hello, from: peer, now: now)
        case .gradient(let result):
            return gradient(result, finite: true, from: peer, now: now)
        case .heartbeat:
            guard let rank = rankOf[peer] else { return [.send(.registerAgain(envelope), to: peer)] }
            members[rank]?.lastHeard = now
            return []
        default:
            return reject(.unexpected, "a \(message.kindName) message from \(peer): coordinators do not take them")
        }
    }

    private mutating func hello(_ hello: WireMessage.Hello, from peer: PeerID, now: Double) -> [Directive] {
        if hello.configHash != 0 && hello.configHash != settings.configHash {
            return refuse(peer, .configMismatch,
                          "the worker's config differs from the coordinator's; start the worker without --config or with the coordinator's file")
        }
        if settings.wireEncoding != .float32, !(hello.introduction.wireEncodings ?? []).contains(settings.wireEncoding.rawValue) {
            return refuse(peer, .configMismatch,
                          "this run sends \(settings.wireEncoding) on the wire (--wire-encoding \(settings.wireEncoding)) and this worker does not read it; "
                              + "run the same Descent version on every host, or start the coordinator with --wire-encoding float32")
        }
        if let rank = rankOf[peer] {
            // A repeated hello (the welcome was lost, or the worker joined again on the same socket).
            members[rank]?.lastHeard = now
            members[rank]?.introduction = hello.introduction
            var directives: [Directive] = [.admit(rank: rank, peer: peer, introduction: hello.introduction, rejoined: true)]
            if settings.mode.isPipelined {
                if phase == .training { directives += resendAssignment(rank: rank, now: now) }
            } else if phase == .training, participants & bit(rank) != 0, received & bit(rank) == 0 {
                directives.append(.sendStep(order(), to: [Recipient(rank: rank, peer: peer)]))
            }
            return directives
        }
        if phase == .finished { return refuse(peer, .runFull, "the run has finished") }
        let free = (0..<settings.slots).filter { members[$0] == nil }
        guard let firstFree = free.first else {
            return refuse(peer, .runFull, "all \(settings.slots) ranks are taken; start the coordinator with a larger --max-workers")
        }
        let asked = hello.introduction.requestedRank ?? Int(exactly: hello.requestedRank)
        let requested = asked.flatMap { free.contains($0) ? $0 : nil }
        let rank = requested ?? firstFree
        let rejoined = hello.runID == settings.runID
        // A worker joining a running job takes part from the next step sent.
        let startsNow = phase == .registering || settings.mode.isPipelined || { if case .paused = phase { return true } else { return false } }()
        members[rank] = Member(peer: peer, introduction: hello.introduction, lastHeard: now, active: startsNow)
        rankOf[peer] = rank
        var directives: [Directive] = [
            .admit(rank: rank, peer: peer, introduction: hello.introduction, rejoined: rejoined),
            .log(.joined(rank: rank, host: hello.introduction.host, pid: hello.introduction.pid, registered: rankOf.count, rejoined: rejoined)),
        ]
        if settings.mode.isPipelined { return directives + pipelinedJoin(now: now) }
        switch phase {
        case .registering where rankOf.count >= settings.initialWorkers:
            directives.append(.trainingStarted)
            directives += startStep(now: now, rate: rate)
        case .paused where activeRanks.count >= settings.minWorkers:
            directives += dealAgain(now: now)
        default:
            break
        }
        return directives
    }

    /// The rate of the first step, given by the shell before training starts (it owns the schedule).
    public mutating func prepare(firstRate: Double) { rate = firstRate }

    /// A gradient whose floats the shell found NaN or infinite: refused; when it is a participant's
    /// gradient of the step in flight, the run has diverged and stops.
    public mutating func nonFiniteGradient(_ result: WireMessage.GradientResult, from peer: PeerID, now: Double) -> [Directive] {
        gradient(result, finite: false, from: peer, now: now)
    }

    /// A gradient this machine accepted for the step in flight was found NaN or infinite later, by
    /// the sweep that completes the step (the coordinator's own worker's gradient is read where it
    /// lies, and checked there rather than when it arrives): the run has diverged and stops, as it
    /// would have had the floats been checked on arrival. Anything else (another step, a rank
    /// whose gradient was not taken) changes nothing.
    public mutating func acceptedGradientNonFinite(rank: Int, now: Double) -> [Directive] {
        guard phase == .training, !settings.mode.isPipelined, (0..<64).contains(rank), received & bit(rank) != 0 else { return [] }
        phase = .finished
        return reject(.nonFinite, "gradient from rank \(rank) for step \(step) holds NaN or infinity") + [.fail(.diverged(step: step, rank: rank))]
    }

    private mutating func gradient(_ result: WireMessage.GradientResult, finite: Bool, from peer: PeerID, now: Double) -> [Directive] {
        guard let rank = rankOf[peer] else {
            return reject(.unknownSender, "gradient from unregistered peer \(peer)") + [.send(.registerAgain(envelope), to: peer)]
        }
        members[rank]?.lastHeard = now
        guard phase == .training else {
            return reject(.unexpected, "gradient from rank \(rank) while no step is in flight")
        }
        guard result.runID == settings.runID else {
            return reject(.wrongRun, "gradient from rank \(rank) for run \(result.runID), this run is \(settings.runID)")
        }
        guard result.generation == settings.generation else {
            return reject(.wrongGeneration, "gradient from rank \(rank) for generation \(result.generation), this is generation \(settings.generation)")
        }
        guard Int(exactly: result.rank) == rank else {
            return reject(.wrongRank, "gradient claims rank \(result.rank) but comes from rank \(rank)")
        }
        if settings.mode.isPipelined { return pipelinedGradient(result, finite: finite, rank: rank, now: now) }
        guard result.step >= UInt64(step) else {
            return reject(.pastStep, "gradient from rank \(rank) for past step \(result.step), step \(step) is in flight")
        }
        guard result.step == UInt64(step) else {
            return reject(.futureStep, "gradient from rank \(rank) for future step \(result.step), step \(step) is in flight")
        }
        guard result.round == round else {
            return reject(.staleRound, "gradient from rank \(rank) for round \(result.round) of step \(step), round \(round) is in flight")
        }
        guard participants & bit(rank) != 0 else {
            return reject(.unexpected, "gradient from rank \(rank), which does not take part in step \(step)")
        }
        guard received & bit(rank) == 0 else {
            return reject(.duplicate, "second gradient from rank \(rank) for step \(step)")
        }
        let expected = SlotAssignment.expectedSamples(plan: settings.plan, batch: batch, rank: rank, participants: participants,
                                                      slotCount: settings.slots)
        guard result.samples == UInt64(expected), result.correct <= result.samples else {
            return reject(.wrongSamples, "gradient from rank \(rank) for step \(step) covers \(result.samples) samples (\(result.correct) correct), its share is \(expected)")
        }
        guard finite else {
            phase = .finished
            return reject(.nonFinite, "gradient from rank \(rank) for step \(step) holds NaN or infinity") + [.fail(.diverged(step: step, rank: rank))]
        }
        received |= bit(rank)
        latencies[rank] = now - stepSentAt
        var directives: [Directive] = [.accumulate(rank: rank, samples: expected, lossSum: result.lossSum, correct: Int(result.correct))]
        if received == participants {
            phase = .applying
            let ranks = SlotAssignment.ranks(in: participants, slotCount: settings.slots)
            directives.append(.applyStep(step: step, ranks: ranks, latencies: ranks.map { latencies[$0] }))
        }
        return directives
    }

    /// The gradient's payload failed a check the shell made (count, finiteness): refuse it.
    public mutating func payloadRefused(from peer: PeerID, _ rejection: Rejection, _ reason: String, now: Double) -> [Directive] {
        if let rank = rankOf[peer] { members[rank]?.lastHeard = now }
        return reject(rejection, reason)
    }

    /// The shell applied the step in flight; `nextRate` is the schedule's rate of the next step.
    public mutating func stepApplied(nextRate: Double, now: Double) -> [Directive] {
        guard phase == .applying else { return [] }
        if settings.mode.isPipelined { return pipelinedStepApplied(nextRate: nextRate, now: now) }
        step += 1
        rate = nextRate
        if step >= settings.totalSteps {
            phase = .finished
            return [.finish]
        }
        phase = .training
        return startStep(now: now, rate: nextRate)
    }

    // MARK: Membership

    /// `peer` is gone (its process died, its connection dropped for good, or it stopped making progress).
    public mutating func lost(_ peer: PeerID, reason: String, now: Double) -> [Directive] {
        guard let rank = rankOf[peer] else { return [] }
        return lose(rank: rank, reason: reason, now: now)
    }

    mutating func lose(rank: Int, reason: String, now: Double) -> [Directive] {
        guard let member = members[rank] else { return [] }
        rankOf[member.peer] = nil
        members[rank] = nil
        let wasParticipant = participants & bit(rank) != 0
        var directives: [Directive] = [
            .send(.stop(WireMessage.Envelope(runID: settings.runID, generation: settings.generation, rank: UInt32(rank), step: UInt64(step)),
                        reason: "the coordinator treats this worker as lost: \(reason)"), to: member.peer),
            .remove(rank: rank, peer: member.peer),
            .log(.lost(rank: rank, host: member.introduction.host, reason: reason, survivors: rankOf.count)),
        ]
        if settings.mode.isPipelined { return directives + pipelinedLoss(rank: rank, now: now) }
        if phase == .training && wasParticipant { directives += dealAgain(now: now) }
        return directives
    }

    /// Sends the step in flight again to the active workers in a new round, or pauses below `minWorkers`.
    private mutating func dealAgain(now: Double) -> [Directive] {
        for rank in 0..<settings.slots where members[rank] != nil { members[rank]?.active = true }
        guard activeRanks.count >= settings.minWorkers, !activeRanks.isEmpty else {
            if case .paused = phase { return [] }
            phase = .paused(since: now)
            return [.discardPartialStep]
        }
        round &+= 1
        phase = .training
        var directives: [Directive] = [.discardPartialStep]
        directives += startStep(now: now, rate: rate)
        if case .sendStep(let order, _) = directives.last {
            directives.insert(.log(.redealt(step: order.step, round: order.round,
                                            participants: SlotAssignment.ranks(in: order.participants, slotCount: settings.slots))), at: 1)
        }
        return directives
    }

    private var batch: Int { settings.plan.position(ofStep: step).batch }

    private func order() -> WireMessage.StepOrder {
        WireMessage.StepOrder(runID: settings.runID, generation: settings.generation, step: step, round: round, batch: batch,
                              rate: rate, participants: participants, parameterCount: 0, parameters: .frame)
    }

    private mutating func startStep(now: Double, rate: Double) -> [Directive] {
        if settings.totalSteps <= step {
            phase = .finished
            return [.finish]
        }
        for rank in 0..<settings.slots where members[rank] != nil { members[rank]?.active = true }
        participants = SlotAssignment.mask(activeRanks)
        received = 0
        for rank in 0..<settings.slots { latencies[rank] = 0 }
        stepSentAt = now
        lastReport = now
        phase = .training
        let recipients = activeRanks.map { Recipient(rank: $0, peer: members[$0]!.peer) }
        return [.sendStep(order(), to: recipients)]
    }

    // MARK: Time

    public mutating func tick(now: Double) -> [Directive] {
        var directives: [Directive] = []
        switch phase {
        case .finished, .applying:
            return []
        case .registering:
            if let limit = settings.registrationTimeout, now - startedAt >= limit {
                phase = .finished
                return [.fail(.registrationTimedOut(missing: settings.initialWorkers - rankOf.count, seconds: now - startedAt))]
            }
            if now - lastReport >= settings.waitReportInterval {
                lastReport = now
                directives.append(.log(.waitingForWorkers(have: rankOf.count, need: settings.initialWorkers, seconds: now - startedAt)))
            }
        case .paused(let since):
            if let limit = settings.minWorkersTimeout, now - since >= limit {
                phase = .finished
                return [.fail(.tooFewWorkers(have: activeRanks.count, need: settings.minWorkers, seconds: now - since))]
            }
            if now - lastReport >= settings.waitReportInterval {
                lastReport = now
                directives.append(.log(.waitingForWorkers(have: activeRanks.count, need: settings.minWorkers, seconds: now - since)))
            }
        case .training where settings.mode.isPipelined:
            directives += pipelinedTick(now: now)
        case .training:
            for rank in 0..<settings.slots {
                guard let member = members[rank] else { continue }
                if now - member.lastHeard > settings.silenceLimit {
                    directives += lose(rank: rank, reason: "silent for \(Int(now - member.lastHeard)) s", now: now)
                } else if participants & bit(rank) != 0, received & bit(rank) == 0, now - stepSentAt > settings.progressDeadline {
                    directives += lose(rank: rank, reason: "no gradient for step \(step) after \(Int(now - stepSentAt)) s although it is alive", now: now)
                }
                if phase != .training { break }
            }
            if phase == .training, now - lastReport >= settings.waitReportInterval, now - stepSentAt >= settings.waitReportInterval {
                lastReport = now
                let waiting = SlotAssignment.ranks(in: participants & ~received, slotCount: settings.slots)
                directives.append(.log(.waitingForGradients(step: step, ranks: waiting, seconds: now - stepSentAt)))
            }
        }
        if now - lastHeartbeat >= settings.heartbeatInterval {
            lastHeartbeat = now
            for rank in 0..<settings.slots {
                guard let member = members[rank] else { continue }
                directives.append(.send(.heartbeat(WireMessage.Envelope(runID: settings.runID, generation: settings.generation,
                                                                        rank: UInt32(rank), step: UInt64(step))), to: member.peer))
            }
        }
        return directives
    }

    /// The run is over (finished or failed): a stop for every registered worker.
    public func stopAll(reason: String) -> [Directive] {
        (0..<settings.slots).compactMap { rank in
            members[rank].map {
                .send(.stop(WireMessage.Envelope(runID: settings.runID, generation: settings.generation, rank: UInt32(rank),
                                                 step: UInt64(step)), reason: reason), to: $0.peer)
            }
        }
    }

    func bit(_ rank: Int) -> UInt64 { 1 << UInt64(rank) }

    mutating func reject(_ rejection: Rejection, _ reason: String) -> [Directive] {
        count(rejection)
        return [.log(.rejected(rejection, reason))]
    }

    mutating func refuse(_ peer: PeerID, _ rejection: Rejection, _ reason: String) -> [Directive] {
        reject(rejection, reason) + [.send(.reject(envelope, reason: reason), to: peer)]
    }
}

extension WireMessage {
    /// A short name of the message's kind, for logs.
    public var kindName: String {
        switch self {
        case .hello: return "hello"
        case .welcome: return "welcome"
        case .reject: return "reject"
        case .step: return "step"
        case .gradient: return "gradient"
        case .heartbeat: return "heartbeat"
        case .stop: return "stop"
        case .registerAgain: return "register-again"
        }
    }
}
