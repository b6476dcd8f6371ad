/// Two setups compared in rounds of paired runs (`base[i]` and `candidate[i]` ran back to back):
/// each round's candidate/base ratio, and their median — robust to a round whose two runs landed
/// on a differently fast machine, as whole runs on a shared virtual machine do. `bench
/// distributed` uses it for observers off against on, and for one process on one core against N
/// workers (`--baseline-rounds`).
struct PairedRounds: Equatable {
    let base: [Double]
    let candidate: [Double]

    /// candidate / base of each round (rounds with a zero or missing figure are left out).
    var ratios: [Double] {
        zip(base, candidate).compactMap { base, candidate in base > 0 && base.isFinite && candidate.isFinite ? candidate / base : nil }
    }

    /// The median of the rounds' ratios (the mean of the middle two for an even count); 0 without rounds.
    var medianRatio: Double {
        let sorted = ratios.sorted()
        guard !sorted.isEmpty else { return 0 }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// Whether round `round` runs the candidate first: rounds alternate the order (candidate-base,
    /// base-candidate, ...), so that a drift of the machine during a bench (another process
    /// starting, the page cache warming) favours neither side.
    static func candidateFirst(round: Int) -> Bool { round % 2 == 0 }
}
