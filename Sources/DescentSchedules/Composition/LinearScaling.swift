import DescentCore

/// The linear scaling rule (Goyal et al. 2017): the rate is multiplied by k = global_batch /
/// reference_batch, reached by a gradual warmup: the multiplier goes linearly from 1 at step 0 to
/// k at step N (the paper: 5 epochs) and stays at k.
public struct LinearScaling: Sendable, Equatable {
    public var referenceBatch: Int
    public var warmup: TrainingLength

    public init(referenceBatch: Int, warmup: TrainingLength = .steps(0)) {
        self.referenceBatch = referenceBatch
        self.warmup = warmup
    }

    /// The factor applied to the schedule's rate at `step`.
    public func multiplier(at step: Int, globalBatch: Int, stepsPerEpoch: Int) -> Double {
        let k = Double(globalBatch) / Double(referenceBatch)
        let n = warmup.steps(perEpoch: stepsPerEpoch)
        if step >= n { return k }
        return 1 + (k - 1) * (Double(step) / Double(n))
    }

    static let keys = ["reference_batch", "warmup_steps", "warmup_epochs"]
    init(config c: KeyedDecodingContainer<AnyCodingKey>) throws {
        referenceBatch = try c.positiveCount("reference_batch")
        warmup = try c.length(stepsKey: "warmup_steps", epochsKey: "warmup_epochs", required: false)
    }
    func encode(config c: inout KeyedEncodingContainer<AnyCodingKey>) throws {
        try c.encode(referenceBatch, forKey: "reference_batch")
        try c.encode(warmup, stepsKey: "warmup_steps", epochsKey: "warmup_epochs")
    }
    var summary: String { "scale(reference_batch=\(referenceBatch), warmup_\(warmup.summary))" }
}

extension LinearScaling: Codable {
    public init(from decoder: any Decoder) throws {
        try self.init(config: decoder.strictContainer(allowing: LinearScaling.keys))
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyCodingKey.self)
        try encode(config: &c)
    }
}
