import Testing
@testable import DescentSchedules

/// `sequence` (torch SequentialLR, optax join_schedules) and `product` (torch ChainedScheduler),
/// and optax's `end_rate` floor on exponential decay. Hand values in the comments; the long-run ones
/// from Fixtures/torch_float64.py.
@Suite struct SequenceAndProductTests {
    static let warmupThenDecay = ScheduleSequence(
        schedules: [.constant(ConstantRate(rate: 0.01)),
                    .exponential(ExponentialDecay(initialRate: 0.1, decaySteps: 1, decayRate: 0.5, staircase: false, style: .torch))],
        milestones: [3])

    // SequentialLR([ConstantLR-like 0.01, ExponentialLR(0.5) on 0.1], milestones=[3]): 0.01 for t = 0, 1, 2;
    // at the milestone the exponential restarts at its own t = 0: 0.1, then 0.05, 0.025.
    // optax join_schedules([constant(0.01), exponential], boundaries=[3]) gives exponential(t - 3): the same.
    @Test(arguments: [(0, 0.01), (2, 0.01), (3, 0.1), (4, 0.05), (5, 0.025), (13, 0.1 / 1024)] as [(Int, Double)])
    func theNextScheduleRestartsAtZeroOnItsMilestone(t: Int, expected: Double) {
        #expect(Self.warmupThenDecay.exactRate(at: t) == expected)
    }

    // Three parts, milestones [5, 15]: constant 0.01 for 0...4; torch cosine (0.1, T 10) at t - 5 for 5...14
    // (0.1 at 5, 0.05 at 10, 0.1 (1 + cos 0.9 pi) / 2 at 14); constant 0.001 from 15.
    @Test(arguments: [(4, 0.01), (5, 0.1), (10, 0.05), (14, 0.1 * (1 + -0.9510565162951535) / 2), (15, 0.001), (1_000_000, 0.001)] as [(Int, Double)])
    func eachPartRunsOnTheTimeSinceItsOwnMilestone(t: Int, expected: Double) {
        let s = ScheduleSequence(schedules: [.constant(ConstantRate(rate: 0.01)),
                                             .cosineAnnealing(CosineAnnealing(initialRate: 0.1, decaySteps: 10)),
                                             .constant(ConstantRate(rate: 0.001))],
                                 milestones: [5, 15])
        #expect(abs(s.exactRate(at: t) - expected) <= 1e-17)
    }

    // Milestone 1,000,000, then torch ExponentialLR(0.99) on 0.1: 0.1 * 0.99^10 at 1,000,010.
    @Test(arguments: [(999_999, 0.01), (1_000_000, 0.1), (1_000_010, 0.09043820750088044)] as [(Int, Double)])
    func aMilestonePastAMillionStepsOffsetsExactly(t: Int, expected: Double) {
        let s = ScheduleSequence(schedules: [.constant(ConstantRate(rate: 0.01)),
                                             .exponential(ExponentialDecay(initialRate: 0.1, decaySteps: 1, decayRate: 0.99, staircase: false, style: .torch))],
                                 milestones: [1_000_000])
        #expect(s.exactRate(at: t) == expected)
    }

    // Product of torch cosine (0.1, T 100) and torch exponential (1, 0.99): at 50, 0.05 * 0.99^50 = 0.05 * 0.6050060671375365.
    @Test func aProductMultipliesTheRatesStepByStep() {
        let p = ScheduleProduct(schedules: [.cosineAnnealing(CosineAnnealing(initialRate: 0.1, decaySteps: 100)),
                                            .exponential(ExponentialDecay(initialRate: 1, decaySteps: 1, decayRate: 0.99, staircase: false, style: .torch))])
        #expect(abs(p.exactRate(at: 50) - 0.05 * 0.6050060671375365) <= 1e-17)
        #expect(p.exactRate(at: 0) == 0.1)
    }

    // Long run, exact: cosine(0.1, 0, T 2,000,000) x exponential(1, 0.9999999) (Fixtures/torch_float64.py).
    @Test(arguments: [(1_000_000, 0.04524187067796995), (1_500_001, 0.012604727329392029)] as [(Int, Double)])
    func aProductPastAMillionStepsIsTheFloat64Product(t: Int, expected: Double) {
        let p = ScheduleProduct(schedules: [.cosineAnnealing(CosineAnnealing(initialRate: 0.1, decaySteps: 2_000_000)),
                                            .exponential(ExponentialDecay(initialRate: 1, decaySteps: 1, decayRate: 0.9999999, staircase: false, style: .torch))])
        #expect(p.exactRate(at: t) == expected)
    }

    @Test func aSequenceNestsInsideAProduct() {
        // (constant 1 until 10, then 0.5) x constant 0.2: 0.2, then 0.1 from step 10.
        let inner = ScheduleSequence(schedules: [.constant(ConstantRate(rate: 1)), .constant(ConstantRate(rate: 0.5))], milestones: [10])
        let p = ScheduleProduct(schedules: [.sequence(inner), .constant(ConstantRate(rate: 0.2))])
        #expect(p.exactRate(at: 9) == 0.2)
        #expect(p.exactRate(at: 10) == 0.1)
    }

    // optax exponential_decay(0.1, 100, 0.5, end_value=0.01): 0.1 * 0.5^(t / 100), never below 0.01.
    // t = 300: 0.0125; t = 332: 0.1 * 0.5^3.32 = 0.01001...; t = 400: 0.00625 -> 0.01. Keras style: float32.
    @Test(arguments: [(0, 0.1), (300, 0.0125), (400, 0.01), (10_000_000, 0.01)] as [(Int, Double)])
    func endRateIsAFloorUnderTheDecay(t: Int, expected: Double) {
        let f = ExponentialDecay(initialRate: 0.1, decaySteps: 100, decayRate: 0.5, staircase: false, endRate: 0.01)
        #expect(f.exactRate(at: t) == Double(Float(expected)))
        let torch = ExponentialDecay(initialRate: 0.1, decaySteps: 100, decayRate: 0.5, staircase: false, endRate: 0.01, style: .torch)
        #expect(torch.exactRate(at: t) == expected)
    }

    @Test func aSequenceInEpochsCountsItsMilestonesInEpochs() throws {
        // Config/schedules/sequence.yaml's schedule, 100 steps per epoch: 0.01 through epoch 0 (steps 0...99);
        // from epoch 1 the exponential at epoch - 1: 0.1 in epoch 1, 0.1 * 0.8 = 0.08 in epoch 2 (step 250).
        let s = try schedule("""
            type: sequence
            units: epochs
            milestones: [1]
            schedules:
              - {type: constant, rate: 0.01}
              - {type: exponential, style: torch, initial_rate: 0.1, decay_steps: 1, decay_rate: 0.8}
            """)
        let p = policy(s, stepsPerEpoch: 100)
        #expect(p.exactRate(at: 99) == 0.01)
        #expect(p.exactRate(at: 100) == 0.1)
        #expect(p.exactRate(at: 250) == 0.1 * 0.8)
    }

    @Test func sequenceAndProductDecodeWithNestedFamilies() throws {
        let s = try schedule("""
            type: sequence
            milestones: [3]
            schedules:
              - {type: constant, rate: 0.01}
              - {type: exponential, style: torch, initial_rate: 0.1, decay_steps: 1, decay_rate: 0.5}
            """)
        #expect(s.family == .sequence(Self.warmupThenDecay))
        #expect(s.summary == "sequence(milestones=[3], schedules=[constant(rate=0.01), exponential(initial_rate=0.1, decay_steps=1, decay_rate=0.5, staircase=false, style=torch)])")
        let p = try schedule("type: product\nschedules: [{type: constant, rate: 0.5}, {type: cyclic, base_rate: 0.1, max_rate: 0.2}]")
        #expect(p.family == .product(ScheduleProduct(schedules: [.constant(ConstantRate(rate: 0.5)), .cyclic(CyclicRate(baseRate: 0.1, maxRate: 0.2))])))
        let e = try schedule("type: exponential\ninitial_rate: 0.1\ndecay_steps: 100\ndecay_rate: 0.5\nend_rate: 0.01")
        #expect(e.family == .exponential(ExponentialDecay(initialRate: 0.1, decaySteps: 100, decayRate: 0.5, staircase: false, endRate: 0.01)))
    }
}
