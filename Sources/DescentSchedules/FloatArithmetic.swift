/// `value` rounded to float32 and back, as Keras holds its schedule's parameters.
@inline(__always) func f32(_ value: Double) -> Double { Double(Float(value)) }

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
