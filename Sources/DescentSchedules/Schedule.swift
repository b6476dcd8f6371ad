/// A learning-rate schedule as a config describes it: a family's formula, the units its t counts,
/// an optional linear warmup in front and an optional linear-scaling rule on top.
///
/// Rates are pure functions of the global step (the number of updates already applied); only
/// reduce-on-plateau adds state, which `LearningRatePolicy` keeps. Floors, boundaries and
/// restarts use integer arithmetic, so a staircase switches exactly at its multiples at every
/// step. Families that Keras defines follow its float32 arithmetic: parameters rounded to `Float`,
/// the formula in `Double`, the result rounded to `Float`.
public struct Schedule: Sendable, Equatable {
    public var family: ScheduleFamily
    public var units: ScheduleUnits
    public var warmup: LinearWarmup?
    public var scaling: LinearScaling?

    public init(_ family: ScheduleFamily, units: ScheduleUnits = .steps, warmup: LinearWarmup? = nil, scaling: LinearScaling? = nil) {
        self.family = family
        self.units = units
        self.warmup = warmup
        self.scaling = scaling
    }

    /// Keras `ExponentialDecay` in steps, the reference program's schedule.
    public static func exponential(initialRate: Double, decaySteps: Int, decayRate: Double, staircase: Bool) -> Schedule {
        Schedule(.exponential(ExponentialDecay(initialRate: initialRate, decaySteps: decaySteps, decayRate: decayRate, staircase: staircase)))
    }

    /// The rate of the update that follows `step` applied updates.
    ///
    /// - Parameters:
    ///   - stepsPerEpoch: converts steps to epochs for `units: epochs` and lengths given in epochs.
    ///   - globalBatch: the samples per update, for the linear scaling rule.
    ///   - plateauRate: reduce-on-plateau's current rate, which replaces the family's formula.
    /// A negative step is read as 0.
    public func rate(at step: Int, stepsPerEpoch: Int, globalBatch: Int, plateauRate: Double? = nil) -> Float {
        let step = max(0, step)
        let familyRate = { (t: Int) -> Float in plateauRate.map { Float($0) } ?? self.family.rate(at: t) }
        let warmupSteps = warmup?.length.steps(perEpoch: stepsPerEpoch) ?? 0
        var rate: Float
        if let warmup, step < warmupSteps {
            let target = Double(familyRate(0))
            rate = Float(warmup.startRate + (target - warmup.startRate) * (Double(step) / Double(warmupSteps)))
        } else {
            let afterWarmup = step - warmupSteps
            rate = familyRate(units == .epochs ? afterWarmup / stepsPerEpoch : afterWarmup)
        }
        if let scaling {
            rate = Float(Double(rate) * scaling.multiplier(at: step, globalBatch: globalBatch, stepsPerEpoch: stepsPerEpoch))
        }
        return rate
    }

    /// One line naming the family and every parameter, for logs and plot titles, e.g.
    /// `exponential(initial_rate=0.1, decay_steps=1000, decay_rate=0.96, staircase=true)`.
    public var summary: String {
        var text = family.summary
        if units == .epochs { text += " in epochs" }
        if let warmup { text = "\(warmup.summary) then \(text)" }
        if let scaling { text += " x \(scaling.summary)" }
        return text
    }
}
