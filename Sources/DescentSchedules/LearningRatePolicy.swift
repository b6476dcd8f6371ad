import DescentCore

/// The schedule of a run, resolved against the run's geometry (steps per epoch, global batch)
/// and carrying whatever state a schedule keeps (reduce-on-plateau).
///
/// The coordinator (or the single-process trainer) owns exactly one policy and asks it for the
/// rate of each applied update: `rate(at:)` is a pure function of the global step and the state.
/// The policy is `Codable` so that a checkpoint restores the plateau state with the parameters.
public struct LearningRatePolicy: Sendable, Equatable {
    public let schedule: Schedule
    public let stepsPerEpoch: Int
    /// Samples per applied update, across all workers (for the linear scaling rule).
    public let globalBatch: Int
    /// Reduce-on-plateau's state; nil for every other family.
    public private(set) var plateau: PlateauState?

    /// - Precondition: `stepsPerEpoch > 0` and `globalBatch > 0` (both derive from a validated config).
    public init(schedule: Schedule, stepsPerEpoch: Int, globalBatch: Int) {
        precondition(stepsPerEpoch > 0, "stepsPerEpoch must be positive")
        precondition(globalBatch > 0, "globalBatch must be positive")
        self.schedule = schedule
        self.stepsPerEpoch = stepsPerEpoch
        self.globalBatch = globalBatch
        if case .reduceOnPlateau(let settings) = schedule.family {
            plateau = PlateauState(rate: settings.initialRate)
        }
    }

    /// The rate of the update that follows `step` applied updates (step counts aggregated
    /// updates, from 0, not worker micro-batches), as SGD applies it to float32 parameters:
    /// `exactRate(at:)` rounded to float32. This is the only float32 rounding of a torch-style rate.
    public func rate(at step: Int) -> Float {
        Float(exactRate(at: step))
    }

    /// The schedule's rate at `step` in float64, before SGD's float32 rounding: torch-style
    /// families as torch computes them, Keras-style families as Keras's float32 result. For JSON
    /// output and traces that need the exact value.
    public func exactRate(at step: Int) -> Double {
        schedule.exactRate(at: step, stepsPerEpoch: stepsPerEpoch, globalBatch: globalBatch, plateauRate: plateau?.rate)
    }

    /// Reports the validation loss measured at the end of an epoch; only reduce-on-plateau uses it.
    public mutating func observe(validationLoss: Double) {
        guard case .reduceOnPlateau(let settings) = schedule.family, let state = plateau else { return }
        plateau = settings.observe(validationLoss, state: state)
    }
}

extension LearningRatePolicy: Codable {
    enum CodingKeys: String, CodingKey {
        case schedule
        case stepsPerEpoch = "steps_per_epoch"
        case globalBatch = "global_batch"
        case plateau
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let schedule = try c.decode(Schedule.self, forKey: .schedule)
        let stepsPerEpoch = try c.decode(Int.self, forKey: .stepsPerEpoch)
        let globalBatch = try c.decode(Int.self, forKey: .globalBatch)
        guard stepsPerEpoch > 0, globalBatch > 0 else {
            throw ConfigError(path: decoder.codingPath, "a saved learning-rate policy needs positive steps_per_epoch and global_batch (got \(stepsPerEpoch), \(globalBatch)); the checkpoint is damaged")
        }
        self.init(schedule: schedule, stepsPerEpoch: stepsPerEpoch, globalBatch: globalBatch)
        let saved = try c.decodeIfPresent(PlateauState.self, forKey: .plateau)
        if plateau != nil {
            guard let saved else {
                throw ConfigError(path: decoder.codingPath + [CodingKeys.plateau], "is missing: a reduce_on_plateau policy must be saved with its state")
            }
            guard saved.rate.isFinite, saved.rate >= 0, saved.badEpochs >= 0, saved.cooldownLeft >= 0, saved.epochs >= 0 else {
                throw ConfigError(path: decoder.codingPath + [CodingKeys.plateau], "holds impossible values (\(saved)); the checkpoint is damaged")
            }
            plateau = saved
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(schedule, forKey: .schedule)
        try c.encode(stepsPerEpoch, forKey: .stepsPerEpoch)
        try c.encode(globalBatch, forKey: .globalBatch)
        try c.encodeIfPresent(plateau, forKey: .plateau)
    }
}
