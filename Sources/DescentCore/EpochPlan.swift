
/// Which training samples make up each global batch of each epoch, and which of them each
/// worker computes.
///
/// Every epoch the indices `0..<sampleCount` are shuffled with a generator seeded from
/// (run seed, epoch). Global batch `k` is the slice `[k * globalBatch, (k + 1) * globalBatch)` of that
/// permutation (the last one may be shorter, as Keras includes the last partial batch). The
/// permutation is dealt round-robin to `workers` ranks, so worker `r` computes the elements of the
/// slice at positions `r, r + workers, r + 2 * workers, ...`: the union of the workers' batches at a
/// step is exactly the single-process global batch, and a class-sorted file still gives every
/// worker every digit.
public struct EpochPlan: Sendable, Equatable {
    public let sampleCount: Int
    public let globalBatch: Int
    public let seed: UInt64

    public init(sampleCount: Int, globalBatch: Int, seed: UInt64) {
        precondition(sampleCount > 0 && globalBatch > 0, "an epoch plan needs samples and a positive batch")
        self.sampleCount = sampleCount
        self.globalBatch = globalBatch
        self.seed = seed
    }

    /// ceil(sampleCount / globalBatch): Keras counts the last partial batch as a step. (Written
    /// without `sampleCount + globalBatch - 1`, which overflows for a plan read from a damaged file.)
    public var stepsPerEpoch: Int { sampleCount / globalBatch + (sampleCount % globalBatch == 0 ? 0 : 1) }

    /// The epoch (from 0) and batch index within it of global step `step`.
    public func position(ofStep step: Int) -> (epoch: Int, batch: Int) {
        (step / stepsPerEpoch, step % stepsPerEpoch)
    }

    /// The shuffled sample order of `epoch`, written into `order` (which must hold `sampleCount`).
    public func shuffle(epoch: Int, into order: inout [Int]) {
        if order.count != sampleCount { order = Array(0..<sampleCount) } else {
            for i in 0..<sampleCount { order[i] = i }
        }
        var generator = SeededGenerator(seed: seed, stream: UInt64(epoch))
        order.seededShuffle(using: &generator)
    }

    /// The shuffled sample order of `epoch`.
    public func order(epoch: Int) -> [Int] {
        var order: [Int] = []
        shuffle(epoch: epoch, into: &order)
        return order
    }

    /// The range of positions in the epoch's order that global batch `batch` covers.
    public func batchRange(_ batch: Int) -> Range<Int> {
        let start = batch * globalBatch
        return start..<min(start + globalBatch, sampleCount)
    }

    /// How many samples of global batch `batch` rank `rank` of `workers` computes.
    public func shareCount(batch: Int, rank: Int, workers: Int) -> Int {
        let size = batchRange(batch).count
        return rank < size ? (size - rank + workers - 1) / workers : 0
    }

    /// Writes the sample indices of rank `rank`'s share of global batch `batch` into `indices`
    /// and returns how many it wrote (possibly 0 for the last, short batch).
    public func share(
        batch: Int, rank: Int, workers: Int, order: [Int], into indices: UnsafeMutableBufferPointer<Int>
    ) -> Int {
        let range = batchRange(batch)
        var position = range.lowerBound + rank
        var written = 0
        while position < range.upperBound {
            indices[written] = order[position]
            written += 1
            position += workers
        }
        return written
    }
}

extension EpochPlan: Codable {
    enum CodingKeys: String, CodingKey {
        case seed
        case sampleCount = "sample_count"
        case globalBatch = "global_batch"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let sampleCount = try c.decode(Int.self, forKey: .sampleCount)
        let globalBatch = try c.decode(Int.self, forKey: .globalBatch)
        guard sampleCount > 0, globalBatch > 0 else {
            throw ConfigError(path: decoder.codingPath, "a saved epoch plan needs positive sample_count and global_batch (got \(sampleCount), \(globalBatch))")
        }
        self.init(sampleCount: sampleCount, globalBatch: globalBatch, seed: try c.decode(UInt64.self, forKey: .seed))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(sampleCount, forKey: .sampleCount)
        try c.encode(globalBatch, forKey: .globalBatch)
        try c.encode(seed, forKey: .seed)
    }
}
