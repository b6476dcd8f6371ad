import Foundation
import DescentCore

/// Keras `CosineDecayRestarts` (SGDR): cosine decays over periods D, D * t_mul, D * t_mul^2, ...;
/// in period i the rate is lr0 * ((1 - alpha) * 0.5 * m_mul^i * (1 + cos(pi * f)) + alpha),
/// f the fraction of period i done. As in Keras, `alpha` is not scaled by m_mul^i.
///
/// Period i starts at S_i = D * (t_mul^i - 1) / (t_mul - 1) (S_i = i * D when t_mul = 1, found
/// with integer division). When t_mul < 1 the periods shrink and infinitely many fit before
/// D / (1 - t_mul): from there on the rate stays at lr0 * alpha (Keras returns NaN).
public struct CosineRestarts: RateFormula, Equatable {
    public var initialRate: Double
    public var firstDecaySteps: Int
    public var tMul: Double
    public var mMul: Double
    public var alpha: Double

    public init(initialRate: Double, firstDecaySteps: Int, tMul: Double = 2, mMul: Double = 1, alpha: Double = 0) {
        self.initialRate = initialRate
        self.firstDecaySteps = firstDecaySteps
        self.tMul = tMul
        self.mMul = mMul
        self.alpha = alpha
    }

    /// The period that step `t` falls in and the fraction of it done, or nil past the accumulation
    /// point of shrinking periods.
    func position(at t: Int) -> (period: Int, fraction: Double)? {
        let d = firstDecaySteps
        let g = f32(tMul)
        if g == 1 {
            return (t / d, Double(t % d) / Double(d))
        }
        let time = Double(t), length = Double(d)
        if g < 1, time >= length / (1 - g) { return nil }
        // Start of period i: D * (g^i - 1) / (g - 1); pow is exact for g = 2, 1.5, ... at small i.
        func start(_ i: Int) -> Double { length * ((pow(g, Double(i)) - 1) / (g - 1)) }
        let estimate = log1p(time / length * (g - 1)) / log(g)
        guard estimate.isFinite else { return nil }
        var i = max(0, Int(estimate.rounded(.down)))
        // The logarithm can land one period off near a restart: correct against the exact starts.
        var corrections = 0
        while i > 0, start(i) > time, corrections < 64 { i -= 1; corrections += 1 }
        while start(i + 1) <= time, corrections < 64 { i += 1; corrections += 1 }
        let periodLength = length * pow(g, Double(i))
        guard periodLength > 0 else { return nil }
        return (i, min(1, max(0, (time - start(i)) / periodLength)))
    }

    public func exactRate(at t: Int) -> Double {
        let lr0 = f32(initialRate), a = f32(alpha)
        guard let (period, fraction) = position(at: t) else { return kerasResult(lr0 * a) }
        let peak = pow(f32(mMul), Double(period))
        let cosine = 0.5 * peak * (1 + cos(Double.pi * fraction))
        return kerasResult(lr0 * ((1 - a) * cosine + a))
    }

    static let keys = ["initial_rate", "first_decay_steps", "t_mul", "m_mul", "alpha"]
    init(config c: KeyedDecodingContainer<AnyCodingKey>) throws {
        initialRate = try c.rate("initial_rate")
        firstDecaySteps = try c.positiveCount("first_decay_steps")
        tMul = try c.positiveNumber("t_mul", default: 2)
        mMul = try c.decayFactor("m_mul", default: 1)
        alpha = try c.fraction("alpha", default: 0)
    }
    func encode(config c: inout KeyedEncodingContainer<AnyCodingKey>) throws {
        try c.encode(initialRate, forKey: "initial_rate")
        try c.encode(firstDecaySteps, forKey: "first_decay_steps")
        try c.encode(tMul, forKey: "t_mul")
        try c.encode(mMul, forKey: "m_mul")
        try c.encode(alpha, forKey: "alpha")
    }
    var parameters: String {
        "initial_rate=\(formatNumber(initialRate)), first_decay_steps=\(firstDecaySteps), t_mul=\(formatNumber(tMul)), m_mul=\(formatNumber(mMul)), alpha=\(formatNumber(alpha))"
    }
}
