import Foundation
import DescentCore

/// A learning-rate schedule: a pure function from the global step (the number of updates
/// already applied) to the rate of the next update.
///
/// Floors and boundaries use integer arithmetic, so staircases switch exactly at their
/// multiples at any step. Rates follow Keras's float32 arithmetic: parameters are rounded to
/// `Float` first, the formula runs in `Double`, the result is rounded to `Float`.
public enum Schedule: Sendable, Equatable {
    /// Keras `ExponentialDecay`: lr0 * rate^(t / decaySteps), floor(t / decaySteps) when staircase.
    case exponential(initialRate: Double, decaySteps: Int, decayRate: Double, staircase: Bool)

    /// The rate for the update that follows `step` applied updates.
    public func rate(at step: Int) -> Float {
        switch self {
        case let .exponential(initialRate, decaySteps, decayRate, staircase):
            let exponent = staircase ? Double(step / decaySteps) : Double(step) / Double(decaySteps)
            return Float(f32(initialRate) * pow(f32(decayRate), exponent))
        }
    }

    /// A one-line description with every parameter, for logs and plot titles.
    public var summary: String {
        switch self {
        case let .exponential(initialRate, decaySteps, decayRate, staircase):
            return "exponential(initial_rate=\(initialRate), decay_steps=\(decaySteps), decay_rate=\(decayRate), staircase=\(staircase))"
        }
    }
}

/// `value` rounded to float32 and back, as Keras holds its schedule's parameters.
@inline(__always) func f32(_ value: Double) -> Double { Double(Float(value)) }

extension Schedule: Decodable {
    public init(from decoder: any Decoder) throws {
        let kind = try decoder.container(keyedBy: AnyCodingKey.self).required("type", as: String.self)
        switch kind {
        case "exponential":
            let c = try decoder.strictContainer(allowing: ["type", "initial_rate", "decay_steps", "decay_rate", "staircase"])
            let initialRate: Double = try c.required("initial_rate")
            let decaySteps: Int = try c.required("decay_steps")
            let decayRate: Double = try c.required("decay_rate")
            let staircase: Bool = try c.value("staircase", default: false)
            guard initialRate > 0, initialRate.isFinite else { throw c.invalid("initial_rate", "must be a positive number (got \(initialRate))") }
            guard decaySteps > 0 else { throw c.invalid("decay_steps", "must be a positive integer (got \(decaySteps))") }
            guard decayRate > 0, decayRate.isFinite else { throw c.invalid("decay_rate", "must be a positive number (got \(decayRate))") }
            self = .exponential(initialRate: initialRate, decaySteps: decaySteps, decayRate: decayRate, staircase: staircase)
        default:
            throw ConfigError(path: decoder.codingPath + [AnyCodingKey("type")], "unknown schedule type '\(kind)' (known: exponential)")
        }
    }
}
