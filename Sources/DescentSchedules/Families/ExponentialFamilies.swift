import Foundation
import DescentCore

/// Keras `ExponentialDecay`: lr0 * rate^(t / decay_steps); with `staircase`, floor(t / decay_steps).
///
/// torch `ExponentialLR(gamma)` is `decay_steps: 1` with `decay_rate: gamma`.
public struct ExponentialDecay: Sendable, Equatable {
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

    public func rate(at t: Int) -> Float {
        let exponent = staircase ? Double(floorDiv(t, decaySteps)) : Double(t) / Double(decaySteps)
        return Float(f32(initialRate) * pow(f32(decayRate), exponent))
    }

    static let keys = ["initial_rate", "decay_steps", "decay_rate", "staircase"]
    init(config c: KeyedDecodingContainer<AnyCodingKey>) throws {
        initialRate = try c.rate("initial_rate")
        decaySteps = try c.positiveCount("decay_steps")
        decayRate = try c.decayFactor("decay_rate")
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

/// Keras `InverseTimeDecay`: lr0 / (1 + rate * t / decay_steps); with `staircase`, floor(t / decay_steps).
///
/// The textbook lr0 / (1 + alpha * t) is `decay_steps: 1, decay_rate: alpha`.
public struct InverseTimeDecay: Sendable, Equatable {
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

    public func rate(at t: Int) -> Float {
        let p = staircase ? Double(floorDiv(t, decaySteps)) : Double(t) / Double(decaySteps)
        return Float(f32(initialRate) / (1 + f32(decayRate) * p))
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
public struct PolynomialDecay: Sendable, Equatable {
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

    public func rate(at t: Int) -> Float {
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
        return Float((lr0 - end) * pow(remaining, f32(power)) + end)
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
