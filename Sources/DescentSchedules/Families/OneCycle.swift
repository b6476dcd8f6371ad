import Foundation
import DescentCore

/// The shape of one-cycle's annealing between two rates.
public enum AnnealShape: String, Sendable, Equatable, CaseIterable {
    /// end + (start - end) / 2 * (1 + cos(pi * pct)).
    case cos
    /// start + (end - start) * pct.
    case linear
}

/// torch `OneCycleLR` (closed form of its phases): from max_rate / div_factor up to max_rate over
/// the first pct_start * total_steps - 1 steps, then down to max_rate / div_factor / final_div_factor
/// at step total_steps - 1 (with `three_phase`, back to the initial rate first, at 2 pct_start N - 2).
///
/// Past the end torch raises an error; Descent stays at the final rate.
public struct OneCycle: RateFormula, Equatable {
    public var maxRate: Double
    public var totalSteps: Int
    public var pctStart: Double
    public var anneal: AnnealShape
    public var divFactor: Double
    public var finalDivFactor: Double
    public var threePhase: Bool

    public init(maxRate: Double, totalSteps: Int, pctStart: Double = 0.3, anneal: AnnealShape = .cos,
                divFactor: Double = 25, finalDivFactor: Double = 1e4, threePhase: Bool = false) {
        self.maxRate = maxRate
        self.totalSteps = totalSteps
        self.pctStart = pctStart
        self.anneal = anneal
        self.divFactor = divFactor
        self.finalDivFactor = finalDivFactor
        self.threePhase = threePhase
    }

    public var initialRate: Double { maxRate / divFactor }
    public var finalRate: Double { initialRate / finalDivFactor }

    /// torch's phases: (last step of the phase, rate at its start, rate at its end).
    var phases: [(end: Double, from: Double, to: Double)] {
        let n = Double(totalSteps), rise = pctStart * n - 1
        if threePhase {
            return [(rise, initialRate, maxRate), (2 * pctStart * n - 2, maxRate, initialRate), (n - 1, initialRate, finalRate)]
        }
        return [(rise, initialRate, maxRate), (n - 1, maxRate, finalRate)]
    }

    public func exactRate(at t: Int) -> Double {
        if t >= totalSteps - 1 { return finalRate }
        let step = Double(t)
        var phaseStart = 0.0
        let phases = self.phases
        for (index, phase) in phases.enumerated() {
            if step <= phase.end || index == phases.count - 1 {
                let span = phase.end - phaseStart
                let pct = span > 0 ? (step - phaseStart) / span : 1
                return anneal(from: phase.from, to: phase.to, pct: pct)
            }
            phaseStart = phase.end
        }
        return finalRate
    }

    private func anneal(from start: Double, to end: Double, pct: Double) -> Double {
        switch anneal {
        case .cos: return end + (start - end) / 2 * (cos(Double.pi * pct) + 1)
        case .linear: return (end - start) * pct + start
        }
    }

    static let keys = ["max_rate", "total_steps", "pct_start", "anneal", "div_factor", "final_div_factor", "three_phase"]
    init(config c: KeyedDecodingContainer<AnyCodingKey>) throws {
        maxRate = try c.rate("max_rate")
        totalSteps = try c.positiveCount("total_steps")
        pctStart = try c.value("pct_start", default: 0.3)
        guard pctStart > 0, pctStart < 1 else { throw c.invalid("pct_start", "must be in (0, 1) (got \(pctStart))") }
        anneal = try c.choice("anneal", default: AnnealShape.cos)
        divFactor = try c.positiveNumber("div_factor", default: 25)
        finalDivFactor = try c.positiveNumber("final_div_factor", default: 1e4)
        threePhase = try c.value("three_phase", default: false)
        if threePhase, pctStart >= 0.5 {
            throw c.invalid("pct_start", "must be below 0.5 with three_phase, which spends 2 * pct_start of the steps going up and down (got \(pctStart))")
        }
        guard Float(finalRate) > 0 else {
            throw c.invalid("final_div_factor", "makes the final rate max_rate / div_factor / final_div_factor (\(finalRate)) too small for float32; use a smaller factor")
        }
    }
    func encode(config c: inout KeyedEncodingContainer<AnyCodingKey>) throws {
        try c.encode(maxRate, forKey: "max_rate")
        try c.encode(totalSteps, forKey: "total_steps")
        try c.encode(pctStart, forKey: "pct_start")
        try c.encode(anneal.rawValue, forKey: "anneal")
        try c.encode(divFactor, forKey: "div_factor")
        try c.encode(finalDivFactor, forKey: "final_div_factor")
        try c.encode(threePhase, forKey: "three_phase")
    }
    var parameters: String {
        "max_rate=\(formatNumber(maxRate)), total_steps=\(totalSteps), pct_start=\(formatNumber(pctStart)), anneal=\(anneal.rawValue), div_factor=\(formatNumber(divFactor)), final_div_factor=\(formatNumber(finalDivFactor)), three_phase=\(threePhase)"
    }
}
