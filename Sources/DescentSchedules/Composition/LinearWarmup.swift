import DescentCore

/// A linear warmup in front of any schedule: for step < W the rate goes linearly from `startRate`
/// to the schedule's rate at 0; from W on the schedule is evaluated at step - W (optax `join_schedules`).
///
/// The warmup always moves every step, also in front of an epoch schedule.
public struct LinearWarmup: Sendable, Equatable {
    public var length: TrainingLength
    public var startRate: Double

    public init(length: TrainingLength, startRate: Double = 0) {
        self.length = length
        self.startRate = startRate
    }

    static let keys = ["steps", "epochs", "start_rate"]
    init(config c: KeyedDecodingContainer<AnyCodingKey>) throws {
        length = try c.length(stepsKey: "steps", epochsKey: "epochs", required: true)
        startRate = try c.rate("start_rate", default: 0, allowZero: true)
    }
    func encode(config c: inout KeyedEncodingContainer<AnyCodingKey>) throws {
        try c.encode(length, stepsKey: "steps", epochsKey: "epochs")
        try c.encode(startRate, forKey: "start_rate")
    }
    var summary: String { "warmup(\(length.summary), start_rate=\(formatNumber(startRate)))" }
}

extension LinearWarmup: Codable {
    public init(from decoder: any Decoder) throws {
        try self.init(config: decoder.strictContainer(allowing: LinearWarmup.keys))
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyCodingKey.self)
        try encode(config: &c)
    }
}

extension KeyedDecodingContainer where Key == AnyCodingKey {
    /// A length given by exactly one of two keys (e.g. `steps` or `epochs`); `.steps(0)` when
    /// neither is present and `required` is false.
    func length(stepsKey: String, epochsKey: String, required: Bool) throws -> TrainingLength {
        let steps: Int? = try optional(stepsKey)
        let epochs: Int? = try optional(epochsKey)
        switch (steps, epochs) {
        case (.some, .some):
            throw invalid(epochsKey, "give either \(stepsKey) or \(epochsKey), not both")
        case (.some(let n), nil):
            guard n >= 0 else { throw invalid(stepsKey, "must be 0 or a positive integer (got \(n))") }
            return .steps(n)
        case (nil, .some(let n)):
            guard n >= 0 else { throw invalid(epochsKey, "must be 0 or a positive integer (got \(n))") }
            return .epochs(n)
        case (nil, nil):
            if required { throw invalid(stepsKey, "is required: give \(stepsKey) or \(epochsKey)") }
            return .steps(0)
        }
    }
}

extension KeyedEncodingContainer where Key == AnyCodingKey {
    mutating func encode(_ length: TrainingLength, stepsKey: String, epochsKey: String) throws {
        switch length {
        case .steps(let n): try encode(n, forKey: AnyCodingKey(stepsKey))
        case .epochs(let n): try encode(n, forKey: AnyCodingKey(epochsKey))
        }
    }
}
