/// The schedule of a run, resolved against the run's geometry (steps per epoch, global batch)
/// and carrying whatever state a schedule keeps (reduce-on-plateau).
///
/// The coordinator (or the single-process trainer) owns exactly one policy and asks it for the
/// rate of each applied update: `rate(at:)` is a pure function of the global step and the state.
public struct LearningRatePolicy: Sendable, Equatable {
    public let schedule: Schedule
    public let stepsPerEpoch: Int

    public init(schedule: Schedule, stepsPerEpoch: Int, globalBatch: Int = 1) {
        precondition(stepsPerEpoch > 0, "stepsPerEpoch must be positive")
        self.schedule = schedule
        self.stepsPerEpoch = stepsPerEpoch
    }

    /// The rate of the update that follows `step` applied updates.
    public func rate(at step: Int) -> Float {
        schedule.rate(at: step)
    }

    /// Reports the validation metric measured at the end of an epoch (used by reduce-on-plateau).
    public mutating func observe(validationLoss: Double) {}
}
