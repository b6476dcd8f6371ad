/// A learning-rate schedule as a config describes it: a family's formula, the units its t counts,
/// an optional linear warmup in front and an optional linear-scaling rule on top.
///
/// Rates are pure functions of the global step (the number of updates already applied); only
/// reduce-on-plateau adds state, which `LearningRatePolicy` keeps. Floors, boundaries and
/// restarts use integer arithmetic, so a staircase switches exactly at its multiples at every
/// step. Families that Keras defines follow its float32 arithmetic: parameters rounded to `Float`,
/// the formula in `Double`, the result rounded to `Float`. Families and styles that torch defines
/// stay in float64 until `rate(at:)`, the one place a torch-style rate is rounded to float32.
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

    /// The rate of the update that follows `step` applied updates, in float64: the family's
    /// `exactRate`, the warmup and the scaling multiplier, with no float32 rounding in between.
    ///
    /// - Parameters:
    ///   - stepsPerEpoch: converts steps to epochs for `units: epochs` and lengths given in epochs.
    ///   - globalBatch: the samples per update, for the linear scaling rule.
    ///   - plateauRate: reduce-on-plateau's current rate, which replaces the family's formula.
    /// A negative step is read as 0.
    public func exactRate(at step: Int, stepsPerEpoch: Int, globalBatch: Int, plateauRate: Double? = nil) -> Double {
        let step = max(0, step)
        let familyRate = { (t: Int) -> Double in plateauRate ?? self.family.exactRate(at: t) }
        let warmupSteps = warmup?.length.steps(perEpoch: stepsPerEpoch) ?? 0
        var rate: Double
        if let warmup, step < warmupSteps {
            let target = familyRate(0)
            rate = warmup.startRate + (target - warmup.startRate) * (Double(step) / Double(warmupSteps))
        } else {
            let afterWarmup = step - warmupSteps
            rate = familyRate(units == .epochs ? afterWarmup / stepsPerEpoch : afterWarmup)
        }
        if let scaling {
            rate *= scaling.multiplier(at: step, globalBatch: globalBatch, stepsPerEpoch: stepsPerEpoch)
        }
        return rate
    }

    /// The rate SGD applies to the update that follows `step` applied updates: `exactRate` rounded
    /// once to float32 (the parameters and gradients are float32).
    public func rate(at step: Int, stepsPerEpoch: Int, globalBatch: Int, plateauRate: Double? = nil) -> Float {
        Float(exactRate(at: step, stepsPerEpoch: stepsPerEpoch, globalBatch: globalBatch, plateauRate: plateauRate))
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
