import Testing
@testable import DescentSchedules

/// Constant, step decay, multi-step, exponential, inverse time and polynomial at their edges.
/// Expected values are worked out by hand from each formula (arithmetic in the comments).
@Suite struct DecayFamilyTests {
    @Test func constantRateIsTheSameAtEveryStep() {
        let f = ConstantRate(rate: 0.05)
        for t in [0, 1, 1_000_000, Int.max] { expectClose(f.rate(at: t), 0.05) }
    }

    // lr0 = 0.1, drop = 0.5, every = 10: 0.1 * 0.5^floor(t / 10).
    @Test(arguments: [(0, 0.1), (9, 0.1), (10, 0.05), (11, 0.05), (19, 0.05), (20, 0.025), (100, 0.1 / 1024)] as [(Int, Double)])
    func stepDecayDropsAtMultiplesOfEvery(t: Int, expected: Double) {
        expectClose(StepDecay(initialRate: 0.1, drop: 0.5, every: 10).rate(at: t), expected)
    }

    // torch MultiStepLR(milestones [30, 80], gamma 0.1), base 0.05: 0.05 until 29, 0.005 from 30, 0.0005 from 80.
    @Test(arguments: [(0, 0.05), (29, 0.05), (30, 0.005), (31, 0.005), (79, 0.005), (80, 0.0005), (81, 0.0005), (10_000, 0.0005)] as [(Int, Double)])
    func multiStepMultipliesByGammaAtEachMilestoneReached(t: Int, expected: Double) {
        expectClose(MultiStepDecay(initialRate: 0.05, milestones: [30, 80], gamma: 0.1).rate(at: t), expected)
    }

    @Test func exponentialReferenceProgramEndsAtTheKerasRate() {
        // 60,000 images / 32 = 1875 steps per epoch, 15 epochs = 28,125 steps: 0.1 * 0.96^28 in float32.
        let rate = ExponentialDecay(initialRate: 0.1, decaySteps: 1000, decayRate: 0.96, staircase: true).rate(at: 28_125)
        #expect(Double(rate) == 0.031885575503110886)
    }

    // Staircase: 0.1 * 0.96^floor(t / 1000): 0.1 until 999, 0.096 from 1000, 0.09216 from 2000.
    @Test(arguments: [(0, 0.1), (999, 0.1), (1000, 0.096), (1001, 0.096), (1999, 0.096), (2000, 0.09216)] as [(Int, Double)])
    func exponentialDecayStaircaseSwitchesAtMultiples(t: Int, expected: Double) {
        expectClose(ExponentialDecay(initialRate: 0.1, decaySteps: 1000, decayRate: 0.96, staircase: true).rate(at: t), expected)
    }

    // Continuous: 0.1 * 0.96^(t / 1000); at 500: 0.1 * sqrt(0.96) = 0.1 * 0.9797958971 = 0.09797958971.
    @Test(arguments: [(0, 0.1), (500, 0.09797958971132712), (1000, 0.096), (1500, 0.096 * 0.9797958971132712)] as [(Int, Double)])
    func exponentialDecayContinuousInterpolatesBetweenMultiples(t: Int, expected: Double) {
        expectClose(ExponentialDecay(initialRate: 0.1, decaySteps: 1000, decayRate: 0.96, staircase: false).rate(at: t), expected)
    }

    @Test func exponentialStaircaseSwitchesExactlyPast2To24() {
        // Keras casts the step to float32, so step 33,999,999 reads as 34,000,000 and gives the next
        // stair (both 0.71144056). Exactly: floor(33,999,999 / 1000) = 33,999 and float32(0.99999)^33,999
        // = 0.7114476561546326 (numpy float64 power of float32(0.99999), rounded to float32); ^34,000 = 0.7114405632019043.
        let f = ExponentialDecay(initialRate: 1, decaySteps: 1000, decayRate: 0.99999, staircase: true)
        #expect(Double(f.rate(at: 33_999_999)) == 0.7114476561546326)
        #expect(Double(f.rate(at: 34_000_000)) == 0.7114405632019043)
        #expect(f.rate(at: 33_999_000) == f.rate(at: 33_999_999))
    }

    @Test func exponentialStaircaseSwitchesExactlyAtAMultiplePast2To53() {
        // D = 1,000,000,007, k = 9,007,200: k * D = 9,007,200,063,050,400 > 2^53 = 9,007,199,254,740,992,
        // where a Double cannot tell k * D - 1 from its neighbours. float32(0.999999)^(k - 1) =
        // 0.00010871183621929958 and ^k = 0.00010871172707993537 (numpy, rounded to float32).
        let d = 1_000_000_007, k = 9_007_200
        let f = ExponentialDecay(initialRate: 1, decaySteps: d, decayRate: 0.999999, staircase: true)
        #expect(Double(f.rate(at: k * d - 1)) == 0.00010871183621929958)
        #expect(Double(f.rate(at: k * d)) == 0.00010871172707993537)
        #expect(Double(f.rate(at: k * d + 1)) == 0.00010871172707993537)
        #expect(f.rate(at: Int.max) == 0)
    }

    // Keras InverseTimeDecay(0.1, 1000, 0.5): 0.1 / (1 + 0.5 t / 1000); staircase floors t / 1000.
    @Test(arguments: [(0, 0.1, 0.1), (999, 0.1 / 1.4995, 0.1), (1000, 0.1 / 1.5, 0.1 / 1.5), (1001, 0.1 / 1.5005, 0.1 / 1.5),
                      (2000, 0.05, 0.05), (1_000_000, 0.1 / 501, 0.1 / 501)] as [(Int, Double, Double)])
    func inverseTimeDecayDividesByOnePlusRateTimesProgress(t: Int, continuous: Double, staircase: Double) {
        expectClose(InverseTimeDecay(initialRate: 0.1, decaySteps: 1000, decayRate: 0.5, staircase: false).rate(at: t), continuous)
        expectClose(InverseTimeDecay(initialRate: 0.1, decaySteps: 1000, decayRate: 0.5, staircase: true).rate(at: t), staircase)
    }

    @Test func inverseTimeBasicFormIsDecayStepsOne() {
        // lr0 / (1 + alpha t) with lr0 = 0.2, alpha = 0.01: at t = 100, 0.2 / 2 = 0.1; at t = 300, 0.2 / 4 = 0.05.
        let f = InverseTimeDecay(initialRate: 0.2, decaySteps: 1, decayRate: 0.01, staircase: false)
        expectClose(f.rate(at: 100), 0.1)
        expectClose(f.rate(at: 300), 0.05)
    }

    // (0.1 - 0.001) * (1 - min(t, 100) / 100)^2 + 0.001.
    @Test(arguments: [(0, 0.1), (1, 0.099 * 0.9801 + 0.001), (50, 0.099 * 0.25 + 0.001), (99, 0.099 * 0.0001 + 0.001),
                      (100, 0.001), (101, 0.001), (1_000_000, 0.001)] as [(Int, Double)])
    func polynomialDecayReachesTheEndRateAndStays(t: Int, expected: Double) {
        expectClose(PolynomialDecay(initialRate: 0.1, decaySteps: 100, endRate: 0.001, power: 2).rate(at: t), expected)
    }

    @Test func polynomialDecayDefaultsToKerasEndRate() {
        // Keras PolynomialDecay's end_learning_rate defaults to 0.0001.
        expectClose(PolynomialDecay(initialRate: 0.1, decaySteps: 100).rate(at: 100), 0.0001)
    }

    // cycle, power 1, D = 100, lr0 0.1, end 0: D' = 100 ceil(t / 100) (D' = 100 at t = 0);
    // rate = 0.1 * (1 - t / D').
    @Test(arguments: [(0, 0.1), (1, 0.099), (99, 0.001), (100, 0.0), (101, 0.1 * 99.0 / 200), (199, 0.1 * 1.0 / 200),
                      (200, 0.0), (201, 0.1 * 99.0 / 300), (250, 0.1 * 50.0 / 300)] as [(Int, Double)])
    func polynomialCycleRestartsWithALongerPeriodAfterEachMultiple(t: Int, expected: Double) {
        expectClose(PolynomialDecay(initialRate: 0.1, decaySteps: 100, endRate: 0, power: 1, cycle: true).rate(at: t), expected)
    }

    @Test func polynomialCycleIsFiniteAtStepZeroAndAtIntMax() {
        let f = PolynomialDecay(initialRate: 0.1, decaySteps: 7, endRate: 0.01, power: 0.5, cycle: true)
        expectClose(f.rate(at: 0), 0.1)
        #expect(f.rate(at: Int.max).isFinite)
        #expect(f.rate(at: Int.max) >= 0.01)
    }
}
