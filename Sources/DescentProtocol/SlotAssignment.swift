import DescentCore

/// Who computes which part of a global batch when the membership changes.
///
/// A run has a fixed number of *slots* (its `--max-workers`, at most 64): `EpochPlan` deals every
/// global batch round-robin to the slots, exactly as it deals it to that many workers. A step
/// names the ranks that take part in it (`participants`, bit r for rank r). Slot s goes to rank s
/// when rank s takes part; the slots whose rank does not (orphans) are dealt round-robin, in
/// ascending order, to the participating ranks in ascending order. So the union of the shares is
/// always the whole global batch, whoever is alive: the data, the batches and the schedule stay
/// those of an uninterrupted run.
public enum SlotAssignment {
    /// The most slots (ranks) a run may have: one bit each in a u64.
    public static let maxSlots = RunLimits.workers

    /// The slots rank `rank` computes, in ascending order; empty when it does not take part.
    public static func slots(of rank: Int, participants: UInt64, slotCount: Int) -> [Int] {
        guard (0..<slotCount).contains(rank), participants & (1 << UInt64(rank)) != 0 else { return [] }
        let members = ranks(in: participants, slotCount: slotCount)
        var mine = [rank]
        var next = 0
        for slot in 0..<slotCount where participants & (1 << UInt64(slot)) == 0 {
            if members[next % members.count] == rank { mine.append(slot) }
            next += 1
        }
        return mine.sorted()
    }

    /// The ranks set in `participants`, below `slotCount`, ascending.
    public static func ranks(in participants: UInt64, slotCount: Int) -> [Int] {
        (0..<min(slotCount, maxSlots)).filter { participants & (1 << UInt64($0)) != 0 }
    }

    /// The mask of the given ranks.
    public static func mask(_ ranks: some Sequence<Int>) -> UInt64 {
        ranks.reduce(0) { $0 | (1 << UInt64($1)) }
    }

    /// Samples rank `rank` must report for global batch `batch`.
    public static func expectedSamples(plan: EpochPlan, batch: Int, rank: Int, participants: UInt64, slotCount: Int) -> Int {
        slots(of: rank, participants: participants, slotCount: slotCount)
            .reduce(0) { $0 + plan.shareCount(batch: batch, rank: $1, workers: slotCount) }
    }
}
