import Foundation
import DescentCore

/// Keras `ExponentialDecay`: lr0 * rate^(t / decay_steps); with `staircase`, floor(t / decay_steps).
///
/// `end_rate` is optax's `end_value`: a floor the decay stops at (max(rate, end_rate)).
/// `style: keras` (default) computes in float32 like Keras and optax; `style: torch` in float64:
/// torch `ExponentialLR(gamma)` is `decay_steps: 1, decay_rate: gamma, style: torch`, whose
/// closed form is `base_lr * gamma ** t`.
public struct ExponentialDecay: RateFormula, Equatable {
    public var initialRate: Double
    public var decaySteps: Int
    public var decayRate: Double
    public var staircase: Bool
    /// optax's `end_value`: the rate never goes below it; nil: no floor.
    public var endRate: Double?
    public var style: ArithmeticStyle

    public init(initialRate: Double, decaySteps: Int, decayRate: Double, staircase: Bool,
                endRate: Double? = nil, style: ArithmeticStyle = .keras) {
        self.initialRate = initialRate
        self.decaySteps = decaySteps
        self.decayRate = decayRate
        self.staircase = staircase
        self.endRate = endRate
        self.style = style
    }

    public func exactRate(at t: Int) -> Double {
        let exponent = staircase ? Double(floorDiv(t, decaySteps)) : Double(t) / Double(decaySteps)
        switch style {
        case .keras:
            let decayed = f32(initialRate) * pow(f32(decayRate), exponent)
            return kerasResult(endRate.map { max(decayed, f32($0)) } ?? decayed)
        case .torch:
            let decayed = initialRate * pow(decayRate, exponent)
            return endRate.map { max(decayed, $0) } ?? decayed
        }
    }

    static let keys = ["initial_rate", "decay_steps", "decay_rate", "staircase", "end_rate", "style"]
    init(config c: KeyedDecodingContainer<AnyCodingKey>) throws {
        initialRate = try c.rate("initial_rate")
        decaySteps = try c.positiveCount("decay_steps")
        decayRate = try c.decayFactor("decay_rate")
        staircase = try c.value("staircase", default: false)
        endRate = try c.optional("end_rate", as: Double.self).map { try c.checkedRate("end_rate", $0, allowZero: true) }
        style = try c.choice("style", default: ArithmeticStyle.keras)
        if let endRate {
            guard endRate < initialRate else {
                throw c.invalid("end_rate", "must be below initial_rate: it is the floor the decay stops at (got \(endRate) >= \(initialRate))")
            }
            guard decayRate < 1 else {
                throw c.invalid("end_rate", "needs decay_rate below 1 (with decay_rate 1, optax would return min(initial_rate, end_rate) from the first step)")
            }
        }
    }
    func encode(config c: inout KeyedEncodingContainer<AnyCodingKey>) throws {
        try c.encode(initialRate, forKey: "initial_rate")
        try c.encode(decaySteps, forKey: "decay_steps")
        try c.encode(decayRate, forKey: "decay_rate")
        try c.encode(staircase, forKey: "staircase")
        try c.encodeIfPresent(endRate, forKey: "end_rate")
        try c.encode(style.rawValue, forKey: "style")
    }
    var parameters: String {
        var text = "initial_rate=\(formatNumber(initialRate)), decay_steps=\(decaySteps), decay_rate=\(formatNumber(decayRate)), staircase=\(staircase)"
        if let endRate { text += ", end_rate=\(formatNumber(endRate))" }
        if style == .torch { text += ", style=torch" }
        return text
    }
}

/// Keras `InverseTimeDecay`: lr0 / (1 + rate * t / decay_steps); with `staircase`, floor(t / decay_steps).
///
/// The textbook lr0 / (1 + alpha * t) is `decay_steps: 1, decay_rate: alpha`.
public struct InverseTimeDecay: RateFormula, Equatable {
    public var initialRate: Double
    public var decaySteps: Int
    public var decayRate: Double
    public var staircase: Bool

    public init(initialRate: Double, decaySteps: Int, decayRate: Double, staircase: Bool) {
        self.initialRate = initialRate
        self.decaySteps = decaySteps
        self.decayRate = decayRate
        self.staircase = staircase
    }

    public func exactRate(at t: Int) -> Double {
        let p = staircase ? Double(floorDiv(t, decaySteps)) : Double(t) / Double(decaySteps)
        return kerasResult(f32(initialRate) / (1 + f32(decayRate) * p))
    }

    static let keys = ["initial_rate", "decay_steps", "decay_rate", "staircase"]
    init(config c: KeyedDecodingContainer<AnyCodingKey>) throws {
        initialRate = try c.rate("initial_rate")
        decaySteps = try c.positiveCount("decay_steps")
        decayRate = try c.positiveNumber("decay_rate")
        staircase = try c.value("staircase", default: false)
    }
    func encode(config c: inout KeyedEncodingContainer<AnyCodingKey>) throws {
        try c.encode(initialRate, forKey: "initial_rate")
        try c.encode(decaySteps, forKey: "decay_steps")
        try c.encode(decayRate, forKey: "decay_rate")
        try c.encode(staircase, forKey: "staircase")
    }
    var parameters: String {
        "initial_rate=\(formatNumber(initialRate)), decay_steps=\(decaySteps), decay_rate=\(formatNumber(decayRate)), staircase=\(staircase)"
    }
}

/// Keras `PolynomialDecay`: (lr0 - end) * (1 - min(t, D) / D)^power + end.
///
/// With `cycle`, D' = D * ceil(t / D) replaces D (and D' = D at t = 0, where Keras once returned NaN),
/// so the rate jumps back up after each multiple of D. `end_rate` may exceed `initial_rate` (a ramp up).
public struct PolynomialDecay: RateFormula, Equatable {
    public var initialRate: Double
    public var decaySteps: Int
    public var endRate: Double
    public var power: Double
    public var cycle: Bool

    public init(initialRate: Double, decaySteps: Int, endRate: Double = 1e-4, power: Double = 1, cycle: Bool = false) {
        self.initialRate = initialRate
        self.decaySteps = decaySteps
        self.endRate = endRate
        self.power = power
        self.cycle = cycle
    }

    public func exactRate(at t: Int) -> Double {
        // remaining = 1 - p, as an exact ratio of integers.
        let remaining: Double
        if cycle {
            let cycles = t == 0 ? 1 : ceilDiv(t, decaySteps)
            let intoLast = t - (cycles - 1) * decaySteps          // in 1...D (0 at t = 0)
            remaining = Double(decaySteps - intoLast) / (Double(decaySteps) * Double(cycles))
        } else {
            remaining = Double(decaySteps - min(t, decaySteps)) / Double(decaySteps)
        }
        let lr0 = f32(initialRate), end = f32(endRate)
        return kerasResult((lr0 - end) * pow(remaining, f32(power)) + end)
    }

    static let keys = ["initial_rate", "decay_steps", "end_rate", "power", "cycle"]
    init(config c: KeyedDecodingContainer<AnyCodingKey>) throws {
        initialRate = try c.rate("initial_rate")
        decaySteps = try c.positiveCount("decay_steps")
        endRate = try c.rate("end_rate", default: 1e-4, allowZero: true)
        power = try c.positiveNumber("power", default: 1)
        cycle = try c.value("cycle", default: false)
    }
    func encode(config c: inout KeyedEncodingContainer<AnyCodingKey>) throws {
        try c.encode(initialRate, forKey: "initial_rate")
        try c.encode(decaySteps, forKey: "decay_steps")
        try c.encode(endRate, forKey: "end_rate")
        try c.encode(power, forKey: "power")
        try c.encode(cycle, forKey: "cycle")
    }
    var parameters: String {
        "initial_rate=\(formatNumber(initialRate)), decay_steps=\(decaySteps), end_rate=\(formatNumber(endRate)), power=\(formatNumber(power)), cycle=\(cycle)"
    }
}
