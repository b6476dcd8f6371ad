import Testing
@testable import DescentSchedules

/// Piecewise constant (both boundary conventions) and the cosine families at their edges.
/// Expected values are worked out by hand from each formula.
@Suite struct PiecewiseAndCosineTests {
    // boundaries [10, 20], values [0.1, 0.01, 0.001].
    // Keras: 0.1 while t <= 10, 0.01 while 10 < t <= 20, then 0.001. optax: switches at t >= 10, t >= 20.
    @Test(arguments: [(0, 0.1, 0.1), (9, 0.1, 0.1), (10, 0.1, 0.01), (11, 0.01, 0.01), (19, 0.01, 0.01),
                      (20, 0.01, 0.001), (21, 0.001, 0.001), (1_000_000, 0.001, 0.001)] as [(Int, Double, Double)])
    func piecewiseConstantKerasSwitchesAfterTheBoundaryAndOptaxAtIt(t: Int, keras: Double, optax: Double) {
        expectClose(PiecewiseConstant(boundaries: [10, 20], values: [0.1, 0.01, 0.001], style: .keras).rate(at: t), keras)
        expectClose(PiecewiseConstant(boundaries: [10, 20], values: [0.1, 0.01, 0.001], style: .optax).rate(at: t), optax)
    }

    @Test func piecewiseConstantWithoutBoundariesIsConstant() {
        expectClose(PiecewiseConstant(boundaries: [], values: [0.3]).rate(at: 123), 0.3)
    }

    // Keras CosineDecay(0.1, 100, alpha 0.1): 0.1 * (0.9 * 0.5 * (1 + cos(pi * min(t, 100) / 100)) + 0.1).
    // t = 25: cos(pi / 4) = 0.70710678, 0.1 * (0.45 * 1.70710678 + 0.1) = 0.086819805; t = 50: 0.1 * 0.55.
    @Test(arguments: [(0, 0.1), (25, 0.08681980515339464), (50, 0.055), (100, 0.01), (101, 0.01), (1_000_000, 0.01)] as [(Int, Double)])
    func cosineDecayEndsAtAlphaTimesTheInitialRate(t: Int, expected: Double) {
        expectClose(CosineDecay(initialRate: 0.1, decaySteps: 100, alpha: 0.1).rate(at: t), expected)
    }

    // Warmup from 0 to 0.1 over 10 steps (0.01 per step), then the cosine from 0.1 over 100 more steps
    // (Keras: decay_steps 100; optax: decay_steps 110, which includes the warmup). Half-way, t = 60: 0.05.
    @Test(arguments: [(0, 0.0), (1, 0.01), (5, 0.05), (9, 0.09), (10, 0.1), (60, 0.05), (109, 0.1 * 0.5 * (1 + -0.9995065603657316)),
                      (110, 0.0), (111, 0.0), (5000, 0.0)] as [(Int, Double)])
    func cosineWarmupLengthCountsOutsideDecayStepsForKerasAndInsideForOptax(t: Int, expected: Double) {
        let keras = CosineDecay(initialRate: 0, decaySteps: 100, warmupSteps: 10, warmupTarget: 0.1, style: .keras)
        let optax = CosineDecay(initialRate: 0, decaySteps: 110, warmupSteps: 10, warmupTarget: 0.1, style: .optax)
        expectClose(keras.rate(at: t), expected, relative: 1e-5)
        expectClose(optax.rate(at: t), expected, relative: 1e-5)
    }

    // torch CosineAnnealingLR(T_max 100, eta_min 0.01), base 0.1: 0.01 + 0.09 * (1 + cos(pi t / 100)) / 2,
    // not clamped: back to 0.1 at 200 (period 2 T_max).
    @Test(arguments: [(0, 0.1), (50, 0.055), (99, 0.01 + 0.09 * (1 + -0.9995065603657316) / 2), (100, 0.01), (150, 0.055),
                      (200, 0.1), (200_000_000_000_000_050, 0.055)] as [(Int, Double)])
    func cosineAnnealingClimbsBackAfterTMax(t: Int, expected: Double) {
        expectClose(CosineAnnealing(initialRate: 0.1, decaySteps: 100, minRate: 0.01).rate(at: t), expected, relative: 1e-5)
    }

    // Keras CosineDecayRestarts(0.1, 100, t_mul 2, m_mul 0.5, alpha 0.1): periods [0, 100), [100, 300),
    // [300, 700), [700, 1500); in period i, 0.1 * (0.9 * 0.5 * 0.5^i * (1 + cos(pi f)) + 0.1).
    // t = 99: f = 0.99, cos = -0.99950656 -> 0.0100222048; t = 200: i = 1, f = 0.5 -> 0.1 * (0.9 * 0.25 + 0.1);
    // t = 299: i = 1, f = 0.995 -> 0.0100027758; t = 300: i = 2, f = 0 -> 0.1 * (0.9 * 0.25 + 0.1).
    @Test(arguments: [(0, 0.1), (50, 0.055), (99, 0.010022204783542078), (100, 0.055), (101, 0.1 * (0.9 * 0.25 * (1 + 0.9998766324816606) + 0.1)),
                      (200, 0.0325), (299, 0.010002775769162638), (300, 0.0325), (700, 0.02125), (1500, 0.1 * (0.9 * 0.0625 + 0.1))] as [(Int, Double)])
    func cosineRestartsRestartAtGrowingPeriodsWithShrinkingPeaks(t: Int, expected: Double) {
        expectClose(CosineRestarts(initialRate: 0.1, firstDecaySteps: 100, tMul: 2, mMul: 0.5, alpha: 0.1).rate(at: t), expected, relative: 1e-5)
    }

    // t_mul 1: restarts at every multiple of 100, peak 0.1 * 0.9^i, alpha 0.
    @Test(arguments: [(0, 0.1), (99, 0.1 * 0.5 * (1 - 0.9995065603657316)), (100, 0.09), (199, 2.2204783542078e-05), (200, 0.081),
                      (201, 0.081 * 0.5 * (1 + 0.9995065603657316)), (100_000_000_000_000_000, 0.0)] as [(Int, Double)])
    func cosineRestartsWithTMulOneRestartAtEveryMultiple(t: Int, expected: Double) {
        expectClose(CosineRestarts(initialRate: 0.1, firstDecaySteps: 100, tMul: 1, mMul: 0.9).rate(at: t), expected, relative: 1e-5)
    }

    // t_mul 0.5: periods 100, 50, 25, 12.5, ... accumulate at 200, after which the rate stays at
    // lr0 * alpha = 0.02 (Keras returns NaN). t = 199 is in period 7, [198.4375, 199.21875): f = 0.72,
    // 0.1 * (0.8 * 0.5 * (1 + cos(0.72 pi)) + 0.2) = 0.0345030404.
    @Test(arguments: [(0, 0.1), (100, 0.1), (125, 0.06), (150, 0.1), (175, 0.1), (199, 0.034503040410052414), (200, 0.02), (1_000_000, 0.02)] as [(Int, Double)])
    func cosineRestartsWithShrinkingPeriodsSettleAtAlphaPastTheirLimit(t: Int, expected: Double) {
        expectClose(CosineRestarts(initialRate: 0.1, firstDecaySteps: 100, tMul: 0.5, mMul: 1, alpha: 0.2).rate(at: t), expected, relative: 1e-5)
    }

    @Test func cosineRestartsFindTheirPeriodAtEveryRestartStepForManyGrowthFactors() {
        // For t_mul = 2 and D = 3, restarts fall on 3 (2^i - 1): 3, 9, 21, ..., 3 (2^40 - 1); the step of a
        // restart gives the full peak m_mul^i and the step before it the bottom of the previous period.
        let f = CosineRestarts(initialRate: 1, firstDecaySteps: 3, tMul: 2, mMul: 1, alpha: 0)
        for i in 1...40 {
            let restart = 3 * ((1 << i) - 1)
            #expect(f.rate(at: restart) == 1, "restart \(i) at \(restart)")
            #expect(f.rate(at: restart - 1) < 0.5, "last step of period \(i - 1)")
        }
    }

    @Test func cosineRestartsBeyondKerasFloat32CycleIndex() {
        // Keras computes log(1 + t / D) / log(2) in float32: at t = 3 * (2^20 - 1) it can land just below 20.
        // Exactly, the 20th restart's first step has the full peak 0.5^20.
        let f = CosineRestarts(initialRate: 1, firstDecaySteps: 3, tMul: 2, mMul: 0.5, alpha: 0)
        expectClose(f.rate(at: 3 * ((1 << 20) - 1)), 1 / 1_048_576.0)
    }
}
