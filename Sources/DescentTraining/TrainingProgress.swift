import DescentCore
import DescentModel
import DescentSchedules

/// Where a run stands, as one value that both drivers (`descent train` and the coordinator)
/// advance the same way, and that a checkpoint saves whole: the step, the rate of the step in
/// flight (computed once, here, and carried with the step), the schedule policy with its plateau
/// state, the SGD velocity, the epoch's running tally, the position in the data order.
///
/// Invariant: `rate == policy.rate(at: step)` at every moment the step is in flight; the rate
/// changes only through `advance` and `observeEpochEnd`, which recompute it.
public struct TrainingProgress: Sendable, Equatable {
    /// Which samples make up each global batch (seeded shuffles per epoch).
    public let plan: EpochPlan
    /// Updates the run applies in all.
    public private(set) var totalSteps: Int
    /// Updates applied so far: the global step in flight.
    public private(set) var step: Int
    /// The learning rate of the step in flight.
    public private(set) var rate: Float
    public private(set) var policy: LearningRatePolicy
    public private(set) var optimizer: SGD
    /// Loss, accuracy and samples of the epoch so far.
    public private(set) var tally: EpochTally

    public init(plan: EpochPlan, totalSteps: Int, policy: LearningRatePolicy, optimizer: SGD, now: Double) {
        self.plan = plan
        self.totalSteps = max(0, totalSteps)
        self.policy = policy
        self.optimizer = optimizer
        step = 0
        rate = policy.rate(at: 0)
        tally = EpochTally(started: now)
    }

    /// The epoch and batch index of the step in flight (the position in the data order).
    public var position: (epoch: Int, batch: Int) { plan.position(ofStep: step) }
    public var isFinished: Bool { step >= totalSteps }
    /// The step in flight opens an epoch (its banner is due).
    public var startsEpoch: Bool { !isFinished && position.batch == 0 }

    /// What `advance` did besides moving the step on.
    public struct Advance: Sendable, Equatable {
        /// The epoch that the applied step closed, if it was the last of its epoch or of the run.
        public var closedEpoch: Int?
    }

    /// Applies the step in flight's mean gradient to `parameters` with the step's rate, adds
    /// its loss to the tally, and moves to the next step. The caller has checked the gradient.
    public mutating func advance(
        parameters: UnsafeMutableBufferPointer<Float>, meanGradient: UnsafeBufferPointer<Float>,
        lossSum: Double, correct: Int, samples: Int
    ) -> Advance {
        optimizer.step(parameters: parameters, gradient: meanGradient, rate: rate)
        return advance(lossSum: lossSum, correct: correct, samples: samples)
    }

    /// Moves on to the next step once a plain SGD update (`SGD.isPlain`) with this step's rate
    /// was made elsewhere (the coordinator's averaging sweep wrote it).
    public mutating func advanceAfterPlainUpdate(lossSum: Double, correct: Int, samples: Int) -> Advance {
        precondition(optimizer.isPlain, "only an optimizer without state may be stepped elsewhere")
        return advance(lossSum: lossSum, correct: correct, samples: samples)
    }

    private mutating func advance(lossSum: Double, correct: Int, samples: Int) -> Advance {
        tally.add(lossSum: lossSum, correct: correct, samples: samples)
        let epoch = position.epoch
        step += 1
        rate = policy.rate(at: step)
        let closes = isFinished || position.epoch != epoch
        return Advance(closedEpoch: closes ? epoch : nil)
    }

    /// The same progress, ending after `totalSteps` updates instead (a resumed run given another
    /// `--max-steps`); nil when this progress is already past that step.
    public func ending(after totalSteps: Int) -> TrainingProgress? {
        guard totalSteps >= step else { return nil }
        var copy = self
        copy.totalSteps = totalSteps
        return copy
    }

    /// Feeds the epoch's validation loss to the policy (reduce-on-plateau) and starts a new tally.
    public mutating func observeEpochEnd(validationLoss: Double?, now: Double) {
        if let validationLoss { policy.observe(validationLoss: validationLoss) }
        rate = policy.rate(at: step)
        tally = EpochTally(started: now)
    }

    /// Restarts the tally's clock (training starts, or resumes after a pause).
    public mutating func restartClock(now: Double) { tally.restartClock(now: now) }
}

extension TrainingProgress: Codable {
    enum CodingKeys: String, CodingKey {
        case plan, step, rate, policy, optimizer, tally
        case totalSteps = "total_steps"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        plan = try c.decode(EpochPlan.self, forKey: .plan)
        totalSteps = try c.decode(Int.self, forKey: .totalSteps)
        step = try c.decode(Int.self, forKey: .step)
        policy = try c.decode(LearningRatePolicy.self, forKey: .policy)
        optimizer = try c.decode(SGD.self, forKey: .optimizer)
        tally = try c.decode(EpochTally.self, forKey: .tally)
        rate = policy.rate(at: step)
        guard totalSteps >= 0, (0...totalSteps).contains(step) else {
            throw ConfigError(path: decoder.codingPath, "a saved step \(step) outside 0...\(totalSteps); the checkpoint is damaged")
        }
        let saved = try c.decode(Float.self, forKey: .rate)
        guard saved.bitPattern == rate.bitPattern else {
            throw ConfigError(path: decoder.codingPath, "the saved rate \(saved) is not the schedule's rate \(rate) at step \(step); the checkpoint was written by another schedule")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(plan, forKey: .plan)
        try c.encode(totalSteps, forKey: .totalSteps)
        try c.encode(step, forKey: .step)
        try c.encode(rate, forKey: .rate)
        try c.encode(policy, forKey: .policy)
        try c.encode(optimizer, forKey: .optimizer)
        try c.encode(tally, forKey: .tally)
    }
}
