import Foundation
import DescentCore

/// How CyclicLR scales the height of each cycle.
public enum CyclicMode: String, Sendable, Equatable, CaseIterable {
    /// Every cycle reaches max_rate.
    case triangular
    /// Cycle c reaches base + (max - base) / 2^(c - 1): the height halves every cycle.
    case triangular2
    /// The height is multiplied by gamma^t at step t.
    case expRange = "exp_range"
}

/// torch `CyclicLR` (Smith 2017, "Cyclical Learning Rates for Training Neural Networks"): the rate
/// climbs linearly from `baseRate` to `maxRate` over `stepSizeUp` steps, falls back over
/// `stepSizeDown`, and repeats; `mode` scales the height per cycle.
///
/// Computed in float64 operation for operation as torch's `get_lr`, which is a pure function of
/// the step: with T = up + down, cycle = floor(1 + t / T), x = 1 + t / T - cycle, scale = x / r
/// while x <= r = up / T and (x - 1) / (r - 1) after, rate = base + (max - base) * scale * f, with
/// f = 1 (triangular), 1 / 2^(cycle - 1) (triangular2) or gamma^t (exp_range). torch also cycles
/// the momentum (`cycle_momentum`); Descent's momentum stays as the optimizer section sets it.
public struct CyclicRate: RateFormula, Equatable {
    public var baseRate: Double
    public var maxRate: Double
    public var stepSizeUp: Int
    public var stepSizeDown: Int
    public var mode: CyclicMode
    /// exp_range's factor per step.
    public var gamma: Double

    public init(baseRate: Double, maxRate: Double, stepSizeUp: Int = 2000, stepSizeDown: Int? = nil,
                mode: CyclicMode = .triangular, gamma: Double = 1) {
        self.baseRate = baseRate
        self.maxRate = maxRate
        self.stepSizeUp = stepSizeUp
        self.stepSizeDown = stepSizeDown ?? stepSizeUp
        self.mode = mode
        self.gamma = gamma
    }

    public func exactRate(at t: Int) -> Double {
        let total = Double(stepSizeUp) + Double(stepSizeDown)
        let ratio = Double(stepSizeUp) / total
        let progress = Double(t) / total
        let cycle = (1 + progress).rounded(.down)
        let x = 1.0 + progress - cycle
        let scale = x <= ratio ? x / ratio : (x - 1) / (ratio - 1)
        let height = (maxRate - baseRate) * scale
        switch mode {
        case .triangular: return baseRate + height * 1.0
        // torch raises OverflowError past cycle 1025 (2.0 ** 1024); the height is 0 by then anyway.
        case .triangular2: return baseRate + height * (1 / pow(2.0, cycle - 1))
        case .expRange: return baseRate + height * pow(gamma, Double(t))
        }
    }

    static let keys = ["base_rate", "max_rate", "step_size_up", "step_size_down", "mode", "gamma"]
    init(config c: KeyedDecodingContainer<AnyCodingKey>) throws {
        baseRate = try c.checkedRate("base_rate", c.required("base_rate"), allowZero: true)
        maxRate = try c.rate("max_rate")
        guard maxRate >= baseRate else {
            throw c.invalid("max_rate", "must be at least base_rate, the bottom of the cycle (got \(maxRate) < \(baseRate))")
        }
        stepSizeUp = try c.value("step_size_up", default: 2000)
        guard stepSizeUp > 0 else { throw c.invalid("step_size_up", "must be a positive integer (got \(stepSizeUp))") }
        stepSizeDown = try c.count("step_size_down", default: stepSizeUp)
        guard stepSizeUp <= Int.max - stepSizeDown else { throw c.invalid("step_size_down", "is too large (got \(stepSizeDown))") }
        mode = try c.choice("mode", default: CyclicMode.triangular)
        gamma = try c.decayFactor("gamma", default: 1)
        if mode != .expRange, c.contains("gamma") {
            throw c.invalid("gamma", "applies only to mode exp_range (mode is \(mode.rawValue))")
        }
    }
    func encode(config c: inout KeyedEncodingContainer<AnyCodingKey>) throws {
        try c.encode(baseRate, forKey: "base_rate")
        try c.encode(maxRate, forKey: "max_rate")
        try c.encode(stepSizeUp, forKey: "step_size_up")
        try c.encode(stepSizeDown, forKey: "step_size_down")
        try c.encode(mode.rawValue, forKey: "mode")
        if mode == .expRange { try c.encode(gamma, forKey: "gamma") }
    }
    var parameters: String {
        var text = "base_rate=\(formatNumber(baseRate)), max_rate=\(formatNumber(maxRate)), step_size_up=\(stepSizeUp), step_size_down=\(stepSizeDown), mode=\(mode.rawValue)"
        if mode == .expRange { text += ", gamma=\(formatNumber(gamma))" }
        return text
    }
}
