import Testing
@testable import DescentSchedules

/// Units, the warmup in front of a schedule and the linear scaling rule on top, through the policy.
@Suite struct CompositionTests {
    @Test func referenceProgramPolicyGivesTheKerasFinalRate() throws {
        // The config default: 60,000 / 32 = 1875 steps per epoch, 15 epochs -> 28,125 updates.
        let p = LearningRatePolicy(schedule: .exponential(initialRate: 0.1, decaySteps: 1000, decayRate: 0.96, staircase: true),
                                   stepsPerEpoch: 1875, globalBatch: 32)
        #expect(Double(p.rate(at: 28_125)) == 0.031885575503110886)
        #expect(p.schedule.summary == "exponential(initial_rate=0.1, decay_steps=1000, decay_rate=0.96, staircase=true)")
    }

    // Step decay every 2 epochs, 100 steps per epoch: 0.1 for steps 0...199, 0.05 for 200...399.
    @Test(arguments: [(0, 0.1), (199, 0.1), (200, 0.05), (399, 0.05), (400, 0.025)] as [(Int, Double)])
    func epochUnitsEvaluateTheFamilyAtWholeEpochs(step: Int, expected: Double) {
        let s = Schedule(.stepDecay(StepDecay(initialRate: 0.1, drop: 0.5, every: 2)), units: .epochs)
        expectClose(policy(s, stepsPerEpoch: 100).rate(at: step), expected)
    }

    // Warmup 10 steps from 0.01 to exponential's rate at 0 (0.1): 0.01 + 0.09 t / 10; then the
    // exponential at t - 10 (staircase every 100: 0.1 until 109, 0.05 from 110).
    @Test(arguments: [(0, 0.01), (1, 0.019), (5, 0.055), (9, 0.091), (10, 0.1), (109, 0.1), (110, 0.05), (111, 0.05)] as [(Int, Double)])
    func warmupRampsToTheInnerRateAtZeroThenShiftsTheInnerSchedule(step: Int, expected: Double) {
        let s = Schedule(.exponential(ExponentialDecay(initialRate: 0.1, decaySteps: 100, decayRate: 0.5, staircase: true)),
                         warmup: LinearWarmup(length: .steps(10), startRate: 0.01))
        expectClose(policy(s).rate(at: step), expected)
    }

    @Test func warmupInEpochsMovesEveryStepInFrontOfAnEpochSchedule() {
        // 2 warmup epochs of 50 steps = 100 steps from 0 to 0.1; then step decay per epoch counted after the warmup.
        let s = Schedule(.stepDecay(StepDecay(initialRate: 0.1, drop: 0.5, every: 1)), units: .epochs,
                         warmup: LinearWarmup(length: .epochs(2)))
        let p = policy(s, stepsPerEpoch: 50)
        expectClose(p.rate(at: 25), 0.025)
        expectClose(p.rate(at: 99), 0.099)
        expectClose(p.rate(at: 100), 0.1)
        expectClose(p.rate(at: 149), 0.1)
        expectClose(p.rate(at: 150), 0.05)
    }

    // Goyal et al.: global batch 1024, reference 256 -> k = 4; the multiplier goes 1 -> 4 over 100 steps:
    // 1 + 3 t / 100. On a constant 0.1: 0.1 at 0, 0.25 at 50, 0.397 at 99, 0.4 from 100.
    @Test(arguments: [(0, 0.1), (50, 0.25), (99, 0.397), (100, 0.4), (10_000, 0.4)] as [(Int, Double)])
    func linearScalingWarmsUpFromTheUnscaledRateToKTimesIt(step: Int, expected: Double) {
        let s = Schedule(.constant(ConstantRate(rate: 0.1)), scaling: LinearScaling(referenceBatch: 256, warmup: .steps(100)))
        expectClose(policy(s, globalBatch: 1024).rate(at: step), expected)
    }

    @Test func linearScalingWithoutWarmupScalesFromTheFirstStep() {
        // 64 / 256 = 0.25: a smaller batch than the reference scales the rate down.
        let s = Schedule(.constant(ConstantRate(rate: 0.1)), scaling: LinearScaling(referenceBatch: 256))
        expectClose(policy(s, globalBatch: 64).rate(at: 0), 0.025)
    }

    @Test func linearScalingWarmupInEpochsUsesStepsPerEpoch() {
        // 5 epochs of 20 steps = 100 steps; k = 2: multiplier 1 + t / 100; on 0.1 at step 50: 0.15.
        let s = Schedule(.constant(ConstantRate(rate: 0.1)), scaling: LinearScaling(referenceBatch: 32, warmup: .epochs(5)))
        expectClose(policy(s, stepsPerEpoch: 20, globalBatch: 64).rate(at: 50), 0.15)
    }

    @Test func negativeStepsReadAsZero() {
        let p = policy(.exponential(initialRate: 0.1, decaySteps: 10, decayRate: 0.5, staircase: false))
        #expect(p.rate(at: -5) == p.rate(at: 0))
    }

    @Test func summaryNamesUnitsWarmupAndScaling() {
        let s = Schedule(.stepDecay(StepDecay(initialRate: 0.1, drop: 0.5, every: 2)), units: .epochs,
                         warmup: LinearWarmup(length: .steps(500)), scaling: LinearScaling(referenceBatch: 256, warmup: .epochs(5)))
        #expect(s.summary == "warmup(steps=500, start_rate=0) then step_decay(initial_rate=0.1, drop=0.5, every=2) in epochs x scale(reference_batch=256, warmup_epochs=5)")
    }
}
