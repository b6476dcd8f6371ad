/// Observers off against on, from rounds of paired runs (`off[i]` and `on[i]` ran back to back):
/// each round's on/off ratio, and their median — robust to a round whose two runs landed on
/// differently fast machines, as whole runs on a shared virtual machine do.
struct ObserverComparison: Equatable {
    let off: [Double]
    let on: [Double]

    /// on / off of each round (rounds with a zero or missing figure are left out).
    var ratios: [Double] {
        zip(off, on).compactMap { off, on in off > 0 && on.isFinite && off.isFinite ? on / off : nil }
    }

    /// The median of the rounds' ratios (the mean of the middle two for an even count); 0 without rounds.
    var medianRatio: Double {
        let sorted = ratios.sorted()
        guard !sorted.isEmpty else { return 0 }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
