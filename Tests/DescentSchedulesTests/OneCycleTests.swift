import Testing
@testable import DescentSchedules

/// torch OneCycleLR(max_lr 0.1, total_steps 100) with its defaults: initial 0.1 / 25 = 0.004,
/// final 0.004 / 1e4 = 4e-7; phase one ends at 0.3 * 100 - 1 = 29, phase two at 99.
@Suite struct OneCycleTests {
    // cos: t = 10: 0.1 + (0.004 - 0.1) / 2 * (1 + cos(10 pi / 29)) = 0.0295163948;
    // t = 30: pct = 1 / 70, 4e-7 + (0.1 - 4e-7) / 2 * (1 + cos(pi / 70)) = 0.0999496535; t = 64: pct 0.5 -> 0.0500002.
    @Test(arguments: [(0, 0.004), (10, 0.029516394846410082), (29, 0.1), (30, 0.09994965352845243), (64, 0.0500002),
                      (99, 4e-7), (100, 4e-7), (1_000_000_000, 4e-7)] as [(Int, Double)])
    func oneCycleCosineRisesToMaxThenAnnealsToTheFinalRate(t: Int, expected: Double) {
        expectClose(OneCycle(maxRate: 0.1, totalSteps: 100).rate(at: t), expected, relative: 1e-5)
    }

    // linear: t = 10: 0.004 + 0.096 * 10 / 29 = 0.0371034483; t = 64: 0.1 + (4e-7 - 0.1) * 0.5 = 0.0500002.
    @Test(arguments: [(0, 0.004), (10, 0.004 + 0.096 * 10 / 29), (29, 0.1), (64, 0.0500002), (99, 4e-7), (150, 4e-7)] as [(Int, Double)])
    func oneCycleLinearAnnealsInStraightLines(t: Int, expected: Double) {
        expectClose(OneCycle(maxRate: 0.1, totalSteps: 100, anneal: .linear).rate(at: t), expected, relative: 1e-5)
    }

    // three_phase: 0.004 -> 0.1 by 29, back to 0.004 by 2 * 30 - 2 = 58, then to 4e-7 by 99.
    // t = 44: pct = 15 / 29 -> 0.0494013324; t = 79: pct = 21 / 41 -> 0.0019236022.
    @Test(arguments: [(0, 0.004), (29, 0.1), (44, 0.04940133238789997), (58, 0.004), (79, 0.0019236021931666673), (99, 4e-7)] as [(Int, Double)])
    func oneCycleThreePhaseReturnsToTheInitialRateBeforeTheFinalAnneal(t: Int, expected: Double) {
        expectClose(OneCycle(maxRate: 0.1, totalSteps: 100, threePhase: true).rate(at: t), expected, relative: 1e-5)
    }
}
