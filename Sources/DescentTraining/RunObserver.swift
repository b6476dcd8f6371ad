/// Something that watches a training run as it goes: the live progress line, the Prometheus
/// metrics, the TensorBoard event files, the JSON log, the run directory's events file.
///
/// The single-process trainer and the coordinator call these methods from their one training
/// thread, in order: `runStarted`, then `stepApplied` for every update (with `epochFinished`,
/// `membershipChanged`, `event` and `rejectionsCounted` between), then `runFinished` or
/// `runFailed`. `stepApplied` is on the hot path: an observer does no allocation there where it
/// can avoid it and never blocks on I/O (buffer, or hand the work to another thread).
/// Every method has an empty default, so an observer implements only what it shows.
public protocol RunObserver: AnyObject, Sendable {
    func runStarted(_ run: RunDescription)
    /// One applied update; `workerLatencies` holds each rank's seconds from the step's broadcast
    /// to its gradient (empty in one process).
    func stepApplied(_ record: StepRecord, workerLatencies: [Double])
    func epochFinished(_ epoch: EpochReport)
    /// How many workers have registered and how many are alive now.
    func membershipChanged(_ membership: Membership)
    /// A worker joined or was lost, a fault, a checkpoint, a restart.
    func event(_ event: RunEvent)
    /// The running totals of rejected messages, by kind (`malformed`, `past_step`, ...).
    func rejectionsCounted(_ totals: [String: Int])
    func runFinished(_ summary: RunSummary)
    /// The run stopped on an error; observers flush what they hold.
    func runFailed(_ message: String)
}

extension RunObserver {
    public func runStarted(_ run: RunDescription) {}
    public func stepApplied(_ record: StepRecord, workerLatencies: [Double]) {}
    public func epochFinished(_ epoch: EpochReport) {}
    public func membershipChanged(_ membership: Membership) {}
    public func event(_ event: RunEvent) {}
    public func rejectionsCounted(_ totals: [String: Int]) {}
    public func runFinished(_ summary: RunSummary) {}
    public func runFailed(_ message: String) {}
}

/// What a run is, told to observers once before its first step.
public struct RunDescription: Sendable, Codable, Equatable {
    /// `train` (one process) or `coordinator`.
    public var role: String
    public var workers: Int
    public var epochs: Int
    public var stepsPerEpoch: Int
    public var totalSteps: Int
    public var globalBatch: Int
    /// The schedule in words (`ExponentialDecay(...)`).
    public var schedule: String

    public init(role: String, workers: Int, epochs: Int, stepsPerEpoch: Int, totalSteps: Int, globalBatch: Int, schedule: String) {
        self.role = role
        self.workers = workers
        self.epochs = epochs
        self.stepsPerEpoch = stepsPerEpoch
        self.totalSteps = totalSteps
        self.globalBatch = globalBatch
        self.schedule = schedule
    }

    enum CodingKeys: String, CodingKey {
        case role, workers, epochs, schedule
        case stepsPerEpoch = "steps_per_epoch"
        case totalSteps = "total_steps"
        case globalBatch = "global_batch"
    }
}

/// One finished epoch: the training figures summed over its steps and the test set's.
public struct EpochReport: Sendable, Codable, Equatable {
    public var epoch: Int
    public var steps: Int
    /// The global step reached at the epoch's end (updates applied so far).
    public var step: Int
    public var loss: Double
    public var accuracy: Double
    public var testLoss: Double
    public var testAccuracy: Double
    public var seconds: Double
    public var samplesPerSecond: Double

    public init(epoch: Int, steps: Int, step: Int, loss: Double, accuracy: Double, testLoss: Double, testAccuracy: Double,
                seconds: Double, samplesPerSecond: Double) {
        self.epoch = epoch
        self.steps = steps
        self.step = step
        self.loss = loss
        self.accuracy = accuracy
        self.testLoss = testLoss
        self.testAccuracy = testAccuracy
        self.seconds = seconds
        self.samplesPerSecond = samplesPerSecond
    }

    enum CodingKeys: String, CodingKey {
        case epoch, steps, step, loss, accuracy, seconds
        case testLoss = "test_loss"
        case testAccuracy = "test_accuracy"
        case samplesPerSecond = "samples_per_s"
    }
}

/// How many workers a run expects, has registered and hears from.
public struct Membership: Sendable, Equatable {
    public var expected: Int
    public var registered: Int
    public var alive: Int

    public init(expected: Int, registered: Int, alive: Int) {
        self.expected = expected
        self.registered = registered
        self.alive = alive
    }
}

/// Something that happened to a run besides its steps.
public struct RunEvent: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable {
        case workerJoined = "worker_joined"
        case workerLost = "worker_lost"
        case fault
        case checkpoint
        case restart
    }

    public var kind: Kind
    /// The global step when it happened.
    public var step: Int
    public var rank: Int?
    public var detail: String

    public init(_ kind: Kind, step: Int, rank: Int? = nil, detail: String = "") {
        self.kind = kind
        self.step = step
        self.rank = rank
        self.detail = detail
    }
}

/// Several observers as one: each call goes to every one, in order.
public final class RunObservers: RunObserver {
    public let observers: [any RunObserver]

    public init(_ observers: [any RunObserver]) { self.observers = observers }

    public var isEmpty: Bool { observers.isEmpty }

    public func runStarted(_ run: RunDescription) { for o in observers { o.runStarted(run) } }
    public func stepApplied(_ record: StepRecord, workerLatencies: [Double]) {
        for o in observers { o.stepApplied(record, workerLatencies: workerLatencies) }
    }
    public func epochFinished(_ epoch: EpochReport) { for o in observers { o.epochFinished(epoch) } }
    public func membershipChanged(_ membership: Membership) { for o in observers { o.membershipChanged(membership) } }
    public func event(_ event: RunEvent) { for o in observers { o.event(event) } }
    public func rejectionsCounted(_ totals: [String: Int]) { for o in observers { o.rejectionsCounted(totals) } }
    public func runFinished(_ summary: RunSummary) { for o in observers { o.runFinished(summary) } }
    public func runFailed(_ message: String) { for o in observers { o.runFailed(message) } }
}

extension EpochTally {
    /// The epoch's figures for observers, with the test set's and the global step reached.
    public func epochReport(epoch: Int, step: Int, testLoss: Double, testAccuracy: Double, now: Double) -> EpochReport {
        EpochReport(epoch: epoch, steps: steps, step: step, loss: meanLoss, accuracy: accuracy, testLoss: testLoss,
                    testAccuracy: testAccuracy, seconds: now - started, samplesPerSecond: samplesPerSecond(now: now))
    }
}

/// Something that watches a worker compute its shares (its Prometheus metrics). Called from
/// the worker's one thread after each gradient is handed over; no allocation, no blocking.
public protocol WorkerStepObserver: AnyObject, Sendable {
    /// `computeSeconds`: from the step's arrival to its gradient sent; `idleSeconds`: the wait
    /// since the previous gradient (nil for the first step).
    func workerStepComputed(rank: Int, step: Int, rate: Double, samples: Int, computeSeconds: Double, idleSeconds: Double?)
}
