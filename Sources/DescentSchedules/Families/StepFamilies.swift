import Foundation
import DescentCore

/// One rate for every step.
public struct ConstantRate: RateFormula, Equatable {
    public var rate: Double

    public init(rate: Double) { self.rate = rate }

    public func exactRate(at t: Int) -> Double { rate }

    static let keys = ["rate"]
    init(config c: KeyedDecodingContainer<AnyCodingKey>) throws { rate = try c.rate("rate") }
    func encode(config c: inout KeyedEncodingContainer<AnyCodingKey>) throws {
        try c.encode(rate, forKey: "rate")
    }
    var parameters: String { "rate=\(formatNumber(rate))" }
}

/// Step decay, lr0 * drop^floor(t / every): the rate drops by `drop` at t = every, 2 every, ...
///
/// This is the floor(t / every) form (torch `StepLR(step_size=every, gamma=drop)`, which counts
/// epochs by habit: use `units: epochs`). Some tutorials write floor((1 + t) / every), which drops
/// one step (or epoch) earlier; Descent does not. `style: keras` (default) computes in float32 like
/// Keras; `style: torch` in float64 like torch's closed form `base_lr * gamma ** (t // step_size)`.
public struct StepDecay: RateFormula, Equatable {
    public var initialRate: Double
    public var drop: Double
    public var every: Int
    public var style: ArithmeticStyle

    public init(initialRate: Double, drop: Double, every: Int, style: ArithmeticStyle = .keras) {
        self.initialRate = initialRate
        self.drop = drop
        self.every = every
        self.style = style
    }

    public func exactRate(at t: Int) -> Double {
        let k = Double(floorDiv(t, every))
        switch style {
        case .keras: return kerasResult(f32(initialRate) * pow(f32(drop), k))
        case .torch: return initialRate * pow(drop, k)      // torch StepLR's closed form
        }
    }

    static let keys = ["initial_rate", "drop", "every", "style"]
    init(config c: KeyedDecodingContainer<AnyCodingKey>) throws {
        initialRate = try c.rate("initial_rate")
        drop = try c.decayFactor("drop")
        every = try c.positiveCount("every")
        style = try c.choice("style", default: ArithmeticStyle.keras)
    }
    func encode(config c: inout KeyedEncodingContainer<AnyCodingKey>) throws {
        try c.encode(initialRate, forKey: "initial_rate")
        try c.encode(drop, forKey: "drop")
        try c.encode(every, forKey: "every")
        try c.encode(style.rawValue, forKey: "style")
    }
    var parameters: String {
        "initial_rate=\(formatNumber(initialRate)), drop=\(formatNumber(drop)), every=\(every)" + (style == .torch ? ", style=torch" : "")
    }
}

/// torch `MultiStepLR`: base * gamma^(number of milestones <= t).
public struct MultiStepDecay: RateFormula, Equatable {
    public var initialRate: Double
    /// Strictly increasing steps (or epochs) at which the rate is multiplied by `gamma`.
    public var milestones: [Int]
    public var gamma: Double

    public init(initialRate: Double, milestones: [Int], gamma: Double) {
        self.initialRate = initialRate
        self.milestones = milestones
        self.gamma = gamma
    }

    public func exactRate(at t: Int) -> Double {
        let passed = milestones.count(where: { $0 <= t })
        return initialRate * pow(gamma, Double(passed))
    }

    static let keys = ["initial_rate", "milestones", "gamma"]
    init(config c: KeyedDecodingContainer<AnyCodingKey>) throws {
        initialRate = try c.rate("initial_rate")
        milestones = try c.increasingSteps("milestones", allowEmpty: false)
        gamma = try c.decayFactor("gamma", default: 0.1)
    }
    func encode(config c: inout KeyedEncodingContainer<AnyCodingKey>) throws {
        try c.encode(initialRate, forKey: "initial_rate")
        try c.encode(milestones, forKey: "milestones")
        try c.encode(gamma, forKey: "gamma")
    }
    var parameters: String {
        "initial_rate=\(formatNumber(initialRate)), milestones=\(milestones), gamma=\(formatNumber(gamma))"
    }
}
