import DescentCore

/// The identity of a connected peer: its ZeroMQ routing id.
public struct PeerID: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var description: String {
        bytes.map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}

/// Why the coordinator refused a message. Each is logged and counted, never applied.
public enum Rejection: String, CaseIterable, Sendable, Comparable {
    /// The frames could not be decoded (bad magic, version, sizes, reserved bytes...).
    case malformed
    case unknownSender = "unknown_sender"
    case wrongRun = "wrong_run"
    case wrongGeneration = "wrong_generation"
    case wrongRank = "wrong_rank"
    case pastStep = "past_step"
    case futureStep = "future_step"
    case duplicate
    case wrongCount = "wrong_count"
    case wrongSamples = "wrong_samples"
    case nonFinite = "non_finite"
    case unexpected
    case configMismatch = "config_mismatch"
    case runFull = "run_full"

    public static func < (a: Rejection, b: Rejection) -> Bool { a.rawValue < b.rawValue }
}

/// The coordinator's protocol logic as a pure state machine: who is registered under which
/// rank, which step is in flight, whose gradient has arrived, and what to do about each
/// message and each tick of the clock. It owns no socket and no clock; the coordinator process
/// feeds it events and carries out its decisions (the averaging itself happens there).
///
/// The global step counts applied updates: it moves from t to t + 1 exactly once, when every
/// registered rank's gradient for t has been accepted, whatever the number of workers.
public struct CoordinatorMachine: Sendable {
    /// Fixed facts of the run.
    public struct Settings: Sendable {
        public var workers: Int
        public var runID: UInt64
        public var generation: UInt32
        public var plan: EpochPlan
        public var totalSteps: Int
        /// Digest of the coordinator's config; a worker that sends another non-zero digest is refused.
        public var configHash: UInt64
        /// A registered worker silent this long is declared lost.
        public var silenceLimit: Double
        /// How often to say what the coordinator is waiting for.
        public var waitReportInterval: Double

        public init(workers: Int, runID: UInt64, generation: UInt32, plan: EpochPlan, totalSteps: Int,
                    configHash: UInt64, silenceLimit: Double = 30, waitReportInterval: Double = 5) {
            self.workers = workers
            self.runID = runID
            self.generation = generation
            self.plan = plan
            self.totalSteps = totalSteps
            self.configHash = configHash
            self.silenceLimit = silenceLimit
            self.waitReportInterval = waitReportInterval
        }
    }

    public enum Phase: Sendable, Equatable {
        case registering, training, finished
    }

    /// What to answer a hello.
    public enum HelloDecision: Sendable, Equatable {
        /// Admit the peer under `rank`; when `startsTraining`, every rank is now registered and
        /// step 0 goes out to all. `resendStep` asks for the step in flight to be sent to this
        /// peer again (a registered worker that restarted).
        case welcome(rank: Int, startsTraining: Bool, resendStep: Bool)
        case reject(Rejection, reason: String)
    }

    /// The header facts of a gradient message, with the payload checks the process made.
    public struct GradientReport: Sendable {
        public var peer: PeerID
        public var runID: UInt64
        public var generation: UInt32
        public var rank: Int
        public var step: Int
        public var samples: Int
        /// The payload holds exactly one float per parameter.
        public var countMatches: Bool
        /// No NaN or infinity in the payload.
        public var finite: Bool

        public init(peer: PeerID, runID: UInt64, generation: UInt32, rank: Int, step: Int, samples: Int,
                    countMatches: Bool, finite: Bool) {
            self.peer = peer
            self.runID = runID
            self.generation = generation
            self.rank = rank
            self.step = step
            self.samples = samples
            self.countMatches = countMatches
            self.finite = finite
        }
    }

    public enum GradientDecision: Sendable, Equatable {
        /// Add this gradient into the step's average; when `stepComplete`, apply the update and
        /// call `advance`.
        case accepted(rank: Int, stepComplete: Bool)
        /// Drop it; the reason has been counted.
        case rejected(Rejection, reason: String)
    }

    public enum Advance: Sendable, Equatable {
        /// Send this step next. `finishedEpoch` is set when the previous step closed an epoch.
        case next(step: Int, epoch: Int, batch: Int, finishedEpoch: Int?)
        /// Training is over.
        case finished(finishedEpoch: Int)
    }

    public enum TickDecision: Sendable, Equatable {
        case idle
        /// Still waiting: for these ranks' gradients of `step`, or (registration) for `missing` workers.
        case waitingForGradients(step: Int, ranks: [Int], seconds: Double)
        case waitingForWorkers(missing: Int, seconds: Double)
        /// A registered worker has been silent past the limit: synchronous training cannot go on.
        case lost(rank: Int, seconds: Double)
        /// Time for an application heartbeat to every worker.
        case heartbeat
    }

    public let settings: Settings
    public private(set) var phase: Phase = .registering
    /// The step in flight: the number of updates applied so far.
    public private(set) var step = 0
    public private(set) var rejections: [Rejection: Int] = [:]
    /// Registered peers by rank.
    public private(set) var peers: [PeerID?]
    public private(set) var introductions: [WorkerIntroduction?]
    /// When each rank's gradient for the step in flight arrived, seconds after the step was sent.
    public private(set) var latencies: [Double]

    private var rankOf: [PeerID: Int] = [:]
    private var received: [Bool]
    private var receivedCount = 0
    private var lastHeard: [Double]
    private var stepSentAt: Double
    private var waitingSince: Double
    private var lastReport: Double
    private var lastHeartbeat: Double
    private let heartbeatInterval: Double

    public init(settings: Settings, now: Double, heartbeatInterval: Double = 1) {
        self.settings = settings
        peers = Array(repeating: nil, count: settings.workers)
        introductions = Array(repeating: nil, count: settings.workers)
        received = Array(repeating: false, count: settings.workers)
        latencies = Array(repeating: 0, count: settings.workers)
        lastHeard = Array(repeating: now, count: settings.workers)
        stepSentAt = now
        waitingSince = now
        lastReport = now
        lastHeartbeat = now
        self.heartbeatInterval = heartbeatInterval
    }

    public var registeredCount: Int { rankOf.count }

    public func rank(of peer: PeerID) -> Int? { rankOf[peer] }

    /// Ranks whose gradient for the step in flight has not arrived.
    public var waitingFor: [Int] { (0..<settings.workers).filter { !received[$0] } }

    /// Samples rank `rank` must report for the step in flight.
    public func expectedSamples(rank: Int) -> Int {
        let (_, batch) = settings.plan.position(ofStep: step)
        return settings.plan.shareCount(batch: batch, rank: rank, workers: settings.workers)
    }

    /// The epoch and batch index of the step in flight.
    public var position: (epoch: Int, batch: Int) { settings.plan.position(ofStep: step) }

    /// Counts a message refused before it reached the machine (e.g. undecodable frames).
    public mutating func count(_ rejection: Rejection) {
        rejections[rejection, default: 0] += 1
    }

    // MARK: Registration

    public mutating func hello(from peer: PeerID, configHash: UInt64, introduction: WorkerIntroduction, now: Double) -> HelloDecision {
        if configHash != 0 && configHash != settings.configHash {
            return reject(.configMismatch, "the worker's config differs from the coordinator's; start the worker without --config or with the coordinator's file")
        }
        if let rank = rankOf[peer] {
            lastHeard[rank] = now
            introductions[rank] = introduction
            return .welcome(rank: rank, startsTraining: false, resendStep: phase == .training && !received[rank])
        }
        switch phase {
        case .finished:
            return reject(.runFull, "the run has finished")
        case .training:
            return reject(.runFull, "training already runs with \(settings.workers) workers; this run takes no new workers")
        case .registering:
            break
        }
        let free = (0..<settings.workers).filter { peers[$0] == nil }
        guard let firstFree = free.first else {
            return reject(.runFull, "all \(settings.workers) ranks are taken")
        }
        let rank = introduction.requestedRank.flatMap { free.contains($0) ? $0 : nil } ?? firstFree
        peers[rank] = peer
        introductions[rank] = introduction
        rankOf[peer] = rank
        lastHeard[rank] = now
        let starts = rankOf.count == settings.workers
        if starts {
            phase = settings.totalSteps > 0 ? .training : .finished
            startStep(now: now)
        }
        return .welcome(rank: rank, startsTraining: starts, resendStep: false)
    }

    // MARK: Gradients

    public mutating func gradient(_ report: GradientReport, now: Double) -> GradientDecision {
        guard let rank = rankOf[report.peer] else {
            return reject(.unknownSender, "gradient from unregistered peer \(report.peer)")
        }
        lastHeard[rank] = now
        guard phase == .training else {
            return reject(.unexpected, "gradient from rank \(rank) while no step is in flight")
        }
        guard report.runID == settings.runID else {
            return reject(.wrongRun, "gradient from rank \(rank) for run \(report.runID), this run is \(settings.runID)")
        }
        guard report.generation == settings.generation else {
            return reject(.wrongGeneration, "gradient from rank \(rank) for generation \(report.generation), this is generation \(settings.generation)")
        }
        guard report.rank == rank else {
            return reject(.wrongRank, "gradient claims rank \(report.rank) but comes from rank \(rank)")
        }
        guard report.step >= step else {
            return reject(.pastStep, "gradient from rank \(rank) for past step \(report.step), step \(step) is in flight")
        }
        guard report.step == step else {
            return reject(.futureStep, "gradient from rank \(rank) for future step \(report.step), step \(step) is in flight")
        }
        guard !received[rank] else {
            return reject(.duplicate, "second gradient from rank \(rank) for step \(step)")
        }
        guard report.countMatches else {
            return reject(.wrongCount, "gradient from rank \(rank) for step \(step) has the wrong element count")
        }
        let expected = expectedSamples(rank: rank)
        guard report.samples == expected else {
            return reject(.wrongSamples, "gradient from rank \(rank) for step \(step) covers \(report.samples) samples, its share is \(expected)")
        }
        guard report.finite else {
            return reject(.nonFinite, "gradient from rank \(rank) for step \(step) holds NaN or infinity")
        }
        received[rank] = true
        receivedCount += 1
        latencies[rank] = now - stepSentAt
        return .accepted(rank: rank, stepComplete: receivedCount == settings.workers)
    }

    /// Moves to the next step once the step in flight has been applied.
    public mutating func advance(now: Double) -> Advance {
        precondition(phase == .training && receivedCount == settings.workers, "advance before every gradient arrived")
        let previousEpoch = settings.plan.position(ofStep: step).epoch
        step += 1
        let (epoch, batch) = settings.plan.position(ofStep: step)
        if step >= settings.totalSteps {
            phase = .finished
            return .finished(finishedEpoch: previousEpoch)
        }
        startStep(now: now)
        return .next(step: step, epoch: epoch, batch: batch, finishedEpoch: epoch != previousEpoch ? previousEpoch : nil)
    }

    // MARK: Time

    /// Any message from a registered peer proves it is alive.
    @discardableResult
    public mutating func heard(from peer: PeerID, now: Double) -> Bool {
        guard let rank = rankOf[peer] else { return false }
        lastHeard[rank] = now
        return true
    }

    public mutating func tick(now: Double) -> TickDecision {
        switch phase {
        case .finished:
            return .idle
        case .registering:
            if now - lastReport >= settings.waitReportInterval {
                lastReport = now
                return .waitingForWorkers(missing: settings.workers - rankOf.count, seconds: now - waitingSince)
            }
        case .training:
            for rank in 0..<settings.workers where now - lastHeard[rank] > settings.silenceLimit {
                return .lost(rank: rank, seconds: now - lastHeard[rank])
            }
            if now - lastReport >= settings.waitReportInterval && now - stepSentAt >= settings.waitReportInterval {
                lastReport = now
                return .waitingForGradients(step: step, ranks: waitingFor, seconds: now - stepSentAt)
            }
        }
        if now - lastHeartbeat >= heartbeatInterval {
            lastHeartbeat = now
            return .heartbeat
        }
        return .idle
    }

    private mutating func startStep(now: Double) {
        for rank in 0..<settings.workers {
            received[rank] = false
            latencies[rank] = 0
        }
        receivedCount = 0
        stepSentAt = now
        lastReport = now
    }

    private mutating func reject(_ rejection: Rejection, _ reason: String) -> HelloDecision {
        count(rejection)
        return .reject(rejection, reason: reason)
    }

    private mutating func reject(_ rejection: Rejection, _ reason: String) -> GradientDecision {
        count(rejection)
        return .rejected(rejection, reason: reason)
    }
}
