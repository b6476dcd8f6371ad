/// A schedule's formula: the rate at t (steps or epochs, counted from 0) in float64.
///
/// `exactRate(at:)` is the value the schedule defines: for the families torch defines, the float64
/// closed form as torch computes it; for the families Keras and optax define, their float32 result
/// widened to `Double` (exactly representable). The one float32 rounding of a torch-style rate
/// happens in `rate(at:)`, when SGD multiplies float32 gradients by it (torch, too, applies a
/// Python-float rate to float32 parameters in float32).
public protocol RateFormula: Sendable {
    /// The rate at `t` in float64, before the trainer's float32 rounding.
    func exactRate(at t: Int) -> Double
}

extension RateFormula {
    /// The rate at `t` as SGD applies it: `exactRate(at:)` rounded once to float32.
    public func rate(at t: Int) -> Float { Float(exactRate(at: t)) }
}

/// Whether a family computes like Keras (float32 parameters and result) or like torch (float64 throughout).
public enum ArithmeticStyle: String, Sendable, Equatable, CaseIterable {
    /// Keras (and optax): parameters rounded to float32, the result rounded to float32.
    case keras
    /// torch: the parameters as given and the closed form in float64.
    case torch
}

/// `value` rounded to float32 and back, as Keras holds its schedule's parameters.
@inline(__always) func f32(_ value: Double) -> Double { Double(Float(value)) }

/// A Keras result: `value` rounded to float32 (Keras's result type), widened back without loss.
@inline(__always) func kerasResult(_ value: Double) -> Double { Double(Float(value)) }

/// `numerator / denominator` rounded down, for non-negative integers, without overflow.
@inline(__always) func floorDiv(_ numerator: Int, _ denominator: Int) -> Int { numerator / denominator }

/// `numerator / denominator` rounded up, for non-negative integers, without overflow near `Int.max`.
@inline(__always) func ceilDiv(_ numerator: Int, _ denominator: Int) -> Int {
    numerator / denominator + (numerator % denominator == 0 ? 0 : 1)
}

/// `x` formatted for summaries: the shortest text that reads back as the same `Double`.
func formatNumber(_ x: Double) -> String {
    if x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) }
    return "\(x)"
}
