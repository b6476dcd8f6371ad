import Foundation
import Testing
@testable import DescentSchedules

/// Reduce-on-plateau's state machine (torch ReduceLROnPlateau, mode min), traced by hand.
@Suite struct PlateauTests {
    func plateauPolicy(_ settings: ReduceOnPlateau) -> LearningRatePolicy {
        policy(Schedule(.reduceOnPlateau(settings)), stepsPerEpoch: 10)
    }

    @Test func plateauReducesAfterMoreThanPatienceEpochsWithoutImprovement() {
        // patience 2: the best is 1.0 at epoch 1; epochs 2, 3 are bad (1, 2 bad epochs), epoch 4 is the
        // third bad one (> 2) -> 0.1 * 0.5 = 0.05.
        var p = plateauPolicy(ReduceOnPlateau(initialRate: 0.1, factor: 0.5, patience: 2))
        for loss in [1.0, 1.0, 1.0] { p.observe(validationLoss: loss) }
        expectClose(p.rate(at: 30), 0.1)
        p.observe(validationLoss: 1.0)
        expectClose(p.rate(at: 40), 0.05)
        expectClose(p.rate(at: 0), 0.05, "the rate is state, not a function of the step")
    }

    @Test func plateauRelativeThresholdIgnoresTinyImprovements() {
        // rel threshold 0.1: a loss must drop below best * 0.9. 1.0 -> 0.95 is not enough (bad epoch),
        // 0.95 -> 0.89 is (resets). patience 0: every bad epoch reduces.
        var p = plateauPolicy(ReduceOnPlateau(initialRate: 0.1, factor: 0.5, patience: 0, threshold: 0.1))
        p.observe(validationLoss: 1.0)
        expectClose(p.rate(at: 0), 0.1)
        p.observe(validationLoss: 0.95)
        expectClose(p.rate(at: 0), 0.05)
        p.observe(validationLoss: 0.89)
        expectClose(p.rate(at: 0), 0.05)
    }

    @Test func plateauAbsoluteThresholdComparesDifferences() {
        // abs threshold 0.1: 1.0 -> 0.91 is not below 0.9 (reduce), 0.91 -> 0.85 is below 0.9 (keep).
        var p = plateauPolicy(ReduceOnPlateau(initialRate: 0.1, factor: 0.5, patience: 0, threshold: 0.1, thresholdMode: .abs))
        p.observe(validationLoss: 1.0)
        p.observe(validationLoss: 0.91)
        expectClose(p.rate(at: 0), 0.05)
        p.observe(validationLoss: 0.85)
        expectClose(p.rate(at: 0), 0.05)
    }

    @Test func plateauCooldownIgnoresBadEpochsAfterAReduction() {
        // patience 0, cooldown 2: epoch 2 reduces (0.05); epochs 3, 4 are in cooldown; epoch 5 reduces (0.025).
        var p = plateauPolicy(ReduceOnPlateau(initialRate: 0.1, factor: 0.5, patience: 0, cooldown: 2))
        let expected = [0.1, 0.05, 0.05, 0.05, 0.025]
        for (epoch, rate) in expected.enumerated() {
            p.observe(validationLoss: 1.0)
            expectClose(p.rate(at: 0), rate, "after epoch \(epoch + 1)")
        }
    }

    @Test func plateauNeverGoesBelowMinRateAndSkipsChangesSmallerThanEps() {
        // 0.1 -> max(0.01, 0.03) = 0.03 -> max(0.009, 0.03) = 0.03 (no change).
        var p = plateauPolicy(ReduceOnPlateau(initialRate: 0.1, factor: 0.1, patience: 0, minRate: 0.03))
        for _ in 0..<5 { p.observe(validationLoss: 1.0) }
        expectClose(p.rate(at: 0), 0.03)
        // eps 0.01: 0.1 * 0.95 differs by 0.005 < eps, so torch keeps 0.1.
        var q = plateauPolicy(ReduceOnPlateau(initialRate: 0.1, factor: 0.95, patience: 0, eps: 0.01))
        for _ in 0..<5 { q.observe(validationLoss: 1.0) }
        expectClose(q.rate(at: 0), 0.1)
    }

    @Test func plateauTreatsNaNLossAsNoImprovement() {
        var p = plateauPolicy(ReduceOnPlateau(initialRate: 0.1, factor: 0.5, patience: 0))
        p.observe(validationLoss: .nan)
        expectClose(p.rate(at: 0), 0.05)
        #expect(p.plateau?.best == nil)
    }

    @Test func plateauStateSurvivesAJSONRoundTripMidPlateau() throws {
        var p = plateauPolicy(ReduceOnPlateau(initialRate: 0.1, factor: 0.5, patience: 1, cooldown: 3))
        for loss in [1.0, 1.0, 1.0, 0.5] { p.observe(validationLoss: loss) }
        let restored = try JSONDecoder().decode(LearningRatePolicy.self, from: JSONEncoder().encode(p))
        #expect(restored == p)
        #expect(restored.plateau == PlateauState(rate: 0.05, best: 0.5, badEpochs: 0, cooldownLeft: 2, epochs: 4))
        var a = p, b = restored
        for loss in [0.6, 0.6, 0.6, 0.6] {
            a.observe(validationLoss: loss)
            b.observe(validationLoss: loss)
        }
        #expect(a == b)
    }

    @Test func otherFamiliesIgnoreValidationLoss() {
        var p = policy(.exponential(initialRate: 0.1, decaySteps: 1000, decayRate: 0.96, staircase: true))
        let before = p
        p.observe(validationLoss: 1)
        #expect(p == before)
        #expect(p.plateau == nil)
    }
}
