import Foundation
import Testing
import DescentCore
@testable import DescentSchedules

/// Random valid parameters (seeded, so a failure reproduces): every family's rates are finite and
/// non-negative, and the monotone families never go up.
@Suite struct PropertyTests {
    struct Draw {
        var g: SeededGenerator
        mutating func unit() -> Double { Double(g.nextUnitFloat()) }
        mutating func rate() -> Double { pow(10, -4 + 4 * unit()) }             // 1e-4 ... 1
        mutating func factor() -> Double { 0.01 + 0.99 * unit() }              // (0, 1]
        mutating func count(_ upTo: Int) -> Int { 1 + g.nextIndex(below: upTo) }
        mutating func increasing(_ n: Int) -> [Int] {
            var at = 0
            return (0..<n).map { _ in at += count(500); return at }
        }
    }

    static func families(seed: UInt64) -> [ScheduleFamily] {
        var d = Draw(g: SeededGenerator(seed: seed, stream: 7))
        let lr = d.rate()
        let n = d.count(4)
        let values = (0...n).reduce(into: [Double]()) { acc, _ in acc.append((acc.last ?? lr) * d.factor()) }
        return [
            .constant(ConstantRate(rate: lr)),
            .stepDecay(StepDecay(initialRate: lr, drop: d.factor(), every: d.count(1000))),
            .exponential(ExponentialDecay(initialRate: lr, decaySteps: d.count(1000), decayRate: d.factor(), staircase: false)),
            .exponential(ExponentialDecay(initialRate: lr, decaySteps: d.count(1000), decayRate: d.factor(), staircase: true)),
            .inverseTime(InverseTimeDecay(initialRate: lr, decaySteps: d.count(1000), decayRate: 10 * d.unit() + 1e-3, staircase: d.unit() < 0.5)),
            .polynomial(PolynomialDecay(initialRate: lr, decaySteps: d.count(1000), endRate: lr * d.unit(), power: 0.1 + 3 * d.unit())),
            .polynomial(PolynomialDecay(initialRate: lr, decaySteps: d.count(1000), endRate: lr * d.unit(), power: 0.1 + 3 * d.unit(), cycle: true)),
            .piecewiseConstant(PiecewiseConstant(boundaries: d.increasing(n), values: values, style: d.unit() < 0.5 ? .keras : .optax)),
            .multiStep(MultiStepDecay(initialRate: lr, milestones: d.increasing(n), gamma: d.factor())),
            .cosine(CosineDecay(initialRate: lr, decaySteps: d.count(1000), alpha: d.unit())),
            .cosine(CosineDecay(initialRate: lr * d.unit(), decaySteps: 1000 + d.count(1000), alpha: d.unit(), warmupSteps: d.count(500),
                                warmupTarget: lr, style: d.unit() < 0.5 ? .keras : .optax)),
            .cosineAnnealing(CosineAnnealing(initialRate: lr, decaySteps: d.count(1000), minRate: lr * d.unit())),
            .cosineRestarts(CosineRestarts(initialRate: lr, firstDecaySteps: d.count(300), tMul: 0.3 + 2.5 * d.unit(), mMul: d.factor(), alpha: d.unit())),
            .cosineRestarts(CosineRestarts(initialRate: lr, firstDecaySteps: d.count(300), tMul: 1, mMul: d.factor(), alpha: d.unit())),
            .oneCycle(OneCycle(maxRate: lr, totalSteps: d.count(3000), pctStart: 0.05 + 0.4 * d.unit(), anneal: d.unit() < 0.5 ? .cos : .linear,
                               divFactor: 1 + 50 * d.unit(), finalDivFactor: 1 + 1e4 * d.unit(), threePhase: d.unit() < 0.5)),
            .exponential(ExponentialDecay(initialRate: lr, decaySteps: d.count(1000), decayRate: d.factor(), staircase: d.unit() < 0.5,
                                          endRate: lr * d.unit(), style: d.unit() < 0.5 ? .keras : .torch)),
            .stepDecay(StepDecay(initialRate: lr, drop: d.factor(), every: d.count(1000), style: .torch)),
            .cyclic(CyclicRate(baseRate: lr * d.unit(), maxRate: lr, stepSizeUp: d.count(500), stepSizeDown: d.count(500) - 1,
                               mode: CyclicMode.allCases[d.g.nextIndex(below: 3)], gamma: d.factor())),
            .sequence(ScheduleSequence(schedules: [.constant(ConstantRate(rate: lr)),
                                                   .cosineAnnealing(CosineAnnealing(initialRate: lr, decaySteps: d.count(1000))),
                                                   .exponential(ExponentialDecay(initialRate: lr, decaySteps: d.count(100), decayRate: d.factor(), staircase: false))],
                                       milestones: d.increasing(2))),
            .product(ScheduleProduct(schedules: [.stepDecay(StepDecay(initialRate: lr, drop: d.factor(), every: d.count(1000))),
                                                 .exponential(ExponentialDecay(initialRate: 1, decaySteps: d.count(1000), decayRate: d.factor(), staircase: false, style: .torch))])),
        ]
    }

    static let probeSteps: [Int] = Array(0...3000) + [10_000, 123_456, 1 << 24, (1 << 24) + 1, 1 << 40, 1 << 53, (1 << 53) + 1, Int.max - 1, Int.max]

    @Test(arguments: 0..<25)
    func ratesAreFiniteAndNonNegative(seed: Int) {
        for family in Self.families(seed: UInt64(seed)) {
            for t in Self.probeSteps {
                let rate = family.rate(at: t)
                guard rate.isFinite, rate >= 0 else {
                    Issue.record("\(family.summary) at \(t): \(rate)")
                    break
                }
            }
        }
    }

    @Test(arguments: 0..<25)
    func monotoneFamiliesNeverIncrease(seed: Int) {
        for family in Self.families(seed: UInt64(seed)) where family.isMonotoneNonIncreasing {
            var previous = family.rate(at: 0)
            for t in Self.probeSteps.dropFirst() {
                let rate = family.rate(at: t)
                guard rate <= previous else {
                    Issue.record("\(family.summary) rises at \(t): \(previous) -> \(rate)")
                    break
                }
                previous = rate
            }
        }
    }

    @Test(arguments: 0..<10)
    func composedPoliciesAreFiniteAndNonNegative(seed: Int) {
        var d = Draw(g: SeededGenerator(seed: UInt64(seed), stream: 11))
        for family in Self.families(seed: UInt64(seed)) {
            let s = Schedule(family, units: d.unit() < 0.5 ? .steps : .epochs,
                             warmup: LinearWarmup(length: .steps(d.count(500)), startRate: d.rate() * d.unit()),
                             scaling: LinearScaling(referenceBatch: d.count(512), warmup: .epochs(d.count(5))))
            let p = LearningRatePolicy(schedule: s, stepsPerEpoch: d.count(2000), globalBatch: d.count(4096))
            for t in stride(from: 0, to: 20_000, by: 7) + [Int.max] {
                let rate = p.rate(at: t)
                #expect(rate.isFinite && rate >= 0, "\(s.summary) at \(t): \(rate)")
            }
        }
    }
}
