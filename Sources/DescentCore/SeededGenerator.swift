/// A small, fast, explicitly seeded random number generator (SplitMix64).
///
/// Every random source in Descent (weight initialisation, epoch shuffles) is one of these,
/// seeded from the run's seed, so a run is reproducible on every host and Swift version:
/// the algorithm is written here rather than borrowed from the standard library.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// A generator for a sub-stream, e.g. (run seed, epoch) or (run seed, "weights").
    public init(seed: UInt64, stream: UInt64) {
        self.init(seed: SeededGenerator.mix(seed ^ SeededGenerator.mix(stream &+ 0x9E37_79B9_7F4A_7C15)))
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SeededGenerator.mix(state)
    }

    /// A uniform integer in 0..<bound, without modulo bias (Lemire's method).
    public mutating func nextIndex(below bound: Int) -> Int {
        precondition(bound > 0, "bound must be positive")
        let b = UInt64(bound)
        var product = next().multipliedFullWidth(by: b)
        if product.low < b {
            let threshold = (0 &- b) % b
            while product.low < threshold { product = next().multipliedFullWidth(by: b) }
        }
        return Int(product.high)
    }

    /// A uniform Float in [0, 1) with 24 random bits.
    public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// The SplitMix64 finaliser: a bijective mix of 64 bits.
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension MutableCollection where Self: RandomAccessCollection, Index == Int {
    /// Fisher–Yates shuffle with a `SeededGenerator`, stable across platforms and Swift versions.
    public mutating func seededShuffle(using generator: inout SeededGenerator) {
        guard count > 1 else { return }
        var i = endIndex - 1
        while i > startIndex {
            let j = startIndex + generator.nextIndex(below: i - startIndex + 1)
            swapAt(i, j)
            i -= 1
        }
    }
}
