import Foundation
import DescentCore

/// How the cosine families count their length.
public enum CosineStyle: String, Sendable, Equatable, CaseIterable {
    /// Keras `CosineDecay`: `decay_steps` counts the decay only; the warmup comes before it.
    case keras
    /// optax `warmup_cosine_decay_schedule`: `decay_steps` counts the warmup too.
    case optax
    /// torch `CosineAnnealingLR`: no clamp at the end, so past T_max the rate climbs back (period 2 T_max).
    case torch
}

/// Keras `CosineDecay` (and optax `cosine_decay_schedule` / `warmup_cosine_decay_schedule`):
/// lr * ((1 - alpha) * 0.5 * (1 + cos(pi * min(s, D) / D)) + alpha), after an optional linear
/// warmup from `initialRate` to `warmupTarget` over `warmupSteps` (lr is then `warmupTarget`).
///
/// With style `keras` the decay lasts D = `decaySteps` after the warmup; with style `optax`
/// D = `decaySteps - warmupSteps` (optax's `end_value` is `alpha * warmup_target`).
public struct CosineDecay: RateFormula, Equatable {
    public var initialRate: Double
    public var decaySteps: Int
    public var alpha: Double
    public var warmupSteps: Int
    /// The rate the warmup reaches; `nil`: no warmup (as Keras, which then ignores `warmup_steps`).
    public var warmupTarget: Double?
    /// `.keras` or `.optax` (`.torch` is `CosineAnnealing`).
    public var style: CosineStyle

    public init(initialRate: Double, decaySteps: Int, alpha: Double = 0, warmupSteps: Int = 0,
                warmupTarget: Double? = nil, style: CosineStyle = .keras) {
        self.initialRate = initialRate
        self.decaySteps = decaySteps
        self.alpha = alpha
        self.warmupSteps = warmupSteps
        self.warmupTarget = warmupTarget
        self.style = style
    }

    /// The length of the cosine part.
    var decayLength: Int { warmupTarget != nil && style == .optax ? decaySteps - warmupSteps : decaySteps }

    public func exactRate(at t: Int) -> Double {
        let lr0 = f32(initialRate)
        guard let target = warmupTarget.map(f32) else {
            return kerasResult(decay(min(t, decaySteps), from: lr0))
        }
        if t < warmupSteps {
            return kerasResult(lr0 + (target - lr0) * (Double(t) / Double(warmupSteps)))
        }
        return kerasResult(decay(min(t - warmupSteps, decayLength), from: target))
    }

    private func decay(_ s: Int, from peak: Double) -> Double {
        let a = f32(alpha)
        let cosine = 0.5 * (1 + cos(Double.pi * (Double(s) / Double(decayLength))))
        return peak * ((1 - a) * cosine + a)
    }

    static let keys = ["initial_rate", "decay_steps", "alpha", "warmup_steps", "warmup_target", "style"]
    init(config c: KeyedDecodingContainer<AnyCodingKey>, style: CosineStyle) throws {
        self.style = style
        warmupTarget = try c.optional("warmup_target", as: Double.self).map { try c.checkedRate("warmup_target", $0, allowZero: false) }
        // With a warmup, initial_rate is where the warmup starts, and Keras's examples start at 0.
        initialRate = try c.checkedRate("initial_rate", c.required("initial_rate"), allowZero: warmupTarget != nil)
        decaySteps = try c.positiveCount("decay_steps")
        alpha = try c.fraction("alpha", default: 0)
        warmupSteps = try c.count("warmup_steps", default: 0)
        if warmupSteps > 0 && warmupTarget == nil {
            throw c.invalid("warmup_steps", "needs warmup_target, the rate the warmup climbs to (Keras ignores warmup_steps without it)")
        }
        if style == .optax, warmupTarget != nil, decaySteps <= warmupSteps {
            throw c.invalid("decay_steps", "must exceed warmup_steps with style optax, which counts the warmup inside decay_steps (got \(decaySteps) <= \(warmupSteps))")
        }
    }
    func encode(config c: inout KeyedEncodingContainer<AnyCodingKey>) throws {
        try c.encode(initialRate, forKey: "initial_rate")
        try c.encode(decaySteps, forKey: "decay_steps")
        try c.encode(alpha, forKey: "alpha")
        try c.encode(warmupSteps, forKey: "warmup_steps")
        try c.encodeIfPresent(warmupTarget, forKey: "warmup_target")
        try c.encode(style.rawValue, forKey: "style")
    }
    var parameters: String {
        var text = "initial_rate=\(formatNumber(initialRate)), decay_steps=\(decaySteps), alpha=\(formatNumber(alpha))"
        if let target = warmupTarget { text += ", warmup_steps=\(warmupSteps), warmup_target=\(formatNumber(target))" }
        return text + ", style=\(style.rawValue)"
    }
}

/// torch `CosineAnnealingLR` in closed form: eta_min + (base - eta_min) * (1 + cos(pi * t / T_max)) / 2.
///
/// Not clamped: past T_max the rate climbs back to base at 2 T_max (period 2 T_max), as in torch.
/// Written in config as `type: cosine, style: torch` with `decay_steps` = T_max and `min_rate` = eta_min.
public struct CosineAnnealing: RateFormula, Equatable {
    public var initialRate: Double
    /// torch's T_max.
    public var decaySteps: Int
    /// torch's eta_min.
    public var minRate: Double

    public init(initialRate: Double, decaySteps: Int, minRate: Double = 0) {
        self.initialRate = initialRate
        self.decaySteps = decaySteps
        self.minRate = minRate
    }

    public func exactRate(at t: Int) -> Double {
        // cos has period 2 T_max: reduce t exactly in integers first, so huge t loses nothing
        // (below 2 T_max this is torch's `_get_closed_form_lr`, operation for operation).
        let phase = t % (2 * decaySteps)
        return minRate + (initialRate - minRate) * (1 + cos(Double.pi * Double(phase) / Double(decaySteps))) / 2
    }

    static let keys = ["initial_rate", "decay_steps", "min_rate", "style"]
    init(config c: KeyedDecodingContainer<AnyCodingKey>) throws {
        initialRate = try c.rate("initial_rate")
        decaySteps = try c.positiveCount("decay_steps")
        guard decaySteps <= Int.max / 2 else { throw c.invalid("decay_steps", "is too large (got \(decaySteps))") }
        minRate = try c.rate("min_rate", default: 0, allowZero: true)
    }
    func encode(config c: inout KeyedEncodingContainer<AnyCodingKey>) throws {
        try c.encode(initialRate, forKey: "initial_rate")
        try c.encode(decaySteps, forKey: "decay_steps")
        try c.encode(minRate, forKey: "min_rate")
        try c.encode(CosineStyle.torch.rawValue, forKey: "style")
    }
    var parameters: String {
        "initial_rate=\(formatNumber(initialRate)), decay_steps=\(decaySteps), min_rate=\(formatNumber(minRate)), style=torch"
    }
}
