import Foundation
import Testing
@testable import DescentSchedules

/// `style: torch` and the families torch defines compute in float64 as torch does, and keep the
/// double until SGD's single float32 rounding. Expected values: the formulas torch uses, evaluated
/// in Python float64 by Fixtures/torch_float64.py (printed with repr, so they read back exactly);
/// the simple ones also by hand in the comments.
@Suite struct TorchFloat64Tests {
    // torch ExponentialLR(gamma 0.999999), base 0.1: 0.1 * 0.999999^t. At 10^6:
    // 0.1 * exp(10^6 * ln 0.999999) = 0.1 * exp(-1.0000005) = 0.0367879257...
    @Test(arguments: [(0, 0.1), (1, 0.0999999), (1_000_000, 0.036787925722106644), (2_500_001, 0.008208481392684921),
                      (10_000_000, 4.53997027501972e-06)] as [(Int, Double)])
    func exponentialStyleTorchIsTorchsFloat64ClosedForm(t: Int, expected: Double) {
        let f = ExponentialDecay(initialRate: 0.1, decaySteps: 1, decayRate: 0.999999, staircase: false, style: .torch)
        #expect(f.exactRate(at: t) == expected)
        #expect(f.rate(at: t) == Float(expected))
    }

    @Test func torchAndKerasStylesDifferByKerasFloat32Parameters() {
        // Keras: float32(0.1) * float32(0.999999)^10^6 rounded to float32; torch keeps 0.036787925722106644.
        let keras = ExponentialDecay(initialRate: 0.1, decaySteps: 1, decayRate: 0.999999, staircase: false)
        let torch = ExponentialDecay(initialRate: 0.1, decaySteps: 1, decayRate: 0.999999, staircase: false, style: .torch)
        let kerasRate = keras.exactRate(at: 1_000_000)
        #expect(kerasRate == Double(Float(kerasRate)), "a Keras-style exact rate is a float32 value")
        #expect(kerasRate == Double(Float(Double(Float(0.1)) * pow(Double(Float(0.999999)), 1_000_000))))
        #expect(torch.exactRate(at: 1_000_000) != kerasRate)
        #expect(torch.exactRate(at: 1_000_000) != Double(Float(torch.exactRate(at: 1_000_000))), "the torch rate is not a float32 value")
    }

    // torch StepLR(step_size 1000, gamma 0.999), base 0.05: 0.05 * 0.999^(t // 1000).
    @Test(arguments: [(0, 0.05), (999, 0.05), (1000, 0.04995), (1_234_567, 0.014547302682501423),
                      (5_000_000, 0.00033605559799327944)] as [(Int, Double)])
    func stepDecayStyleTorchIsTorchsFloat64ClosedForm(t: Int, expected: Double) {
        let f = StepDecay(initialRate: 0.05, drop: 0.999, every: 1000, style: .torch)
        #expect(f.exactRate(at: t) == expected)
    }

    // torch CosineAnnealingLR(T_max 3,000,000, eta_min 0.001), base 0.1, below 2 T_max: torch's closed form exactly.
    @Test(arguments: [(0, 0.1), (1, 0.09999999999997286), (1_234_567, 0.06408256631868219), (1_500_000, 0.0505),
                      (2_999_999, 0.0010000000000271428), (3_000_000, 0.001), (4_567_891, 0.05401625288168761)] as [(Int, Double)])
    func cosineStyleTorchIsTorchsFloat64ClosedForm(t: Int, expected: Double) {
        let f = CosineAnnealing(initialRate: 0.1, decaySteps: 3_000_000, minRate: 0.001)
        #expect(f.exactRate(at: t) == expected)
    }

    @Test func cosineStyleTorchPastTwoTMaxRepeatsItsFirstPeriodExactly() {
        // 7,234,567 = 6,000,000 + 1,234,567: Descent reduces t by the period 2 T_max in integers, so
        // it gives the value at 1,234,567; torch's pi * t / T_max in float64 agrees to ~1e-15 there.
        let f = CosineAnnealing(initialRate: 0.1, decaySteps: 3_000_000, minRate: 0.001)
        #expect(f.exactRate(at: 7_234_567) == 0.06408256631868219)
        let torchUnreduced = 0.001 + (0.1 - 0.001) * (1 + cos(Double.pi * 7_234_567 / 3_000_000)) / 2
        #expect(abs(f.exactRate(at: 7_234_567) - torchUnreduced) < 1e-14)
    }

    @Test func multiStepAndOneCycleKeepTheirFloat64Rates() {
        // MultiStepLR(milestones [2,000,000], gamma 0.3), base 0.07: 0.07 * 0.3 = 0.021 (float64: 0.021 exactly as Python prints it).
        let m = MultiStepDecay(initialRate: 0.07, milestones: [2_000_000], gamma: 0.3)
        #expect(m.exactRate(at: 2_000_000) == 0.07 * 0.3)
        #expect(m.exactRate(at: 2_000_000) != Double(Float(0.07 * 0.3)))
        // OneCycleLR(max 0.1, total 3,000,000): the final rate 0.1 / 25 / 1e4 = 4e-7 in float64.
        #expect(OneCycle(maxRate: 0.1, totalSteps: 3_000_000).exactRate(at: 2_999_999) == 0.1 / 25 / 1e4)
    }

    @Test func thePolicyCarriesTheDoubleAndRoundsOnceForSGD() {
        // Warmup and scaling run in float64 on top of the family's double: no float32 step in between.
        let s = Schedule(.exponential(ExponentialDecay(initialRate: 0.1, decaySteps: 1, decayRate: 0.999999, staircase: false, style: .torch)),
                         warmup: LinearWarmup(length: .steps(1000), startRate: 0),
                         scaling: LinearScaling(referenceBatch: 32))
        let p = policy(s, globalBatch: 64)
        // After the 1000-step warmup the family runs at t - 1000; scaling x 64 / 32 = 2.
        #expect(p.exactRate(at: 1_001_000) == 2 * 0.036787925722106644)
        #expect(p.rate(at: 1_001_000) == Float(2 * 0.036787925722106644))
        // In the warmup: 0 + (0.1 - 0) * 250 / 1000 = 0.025, times 2.
        #expect(p.exactRate(at: 250) == 0.1 * (250.0 / 1000.0) * 2)
    }

    @Test func kerasStyleKeepsTheReferenceProgramsFloat32Rate() {
        let p = policy(.exponential(initialRate: 0.1, decaySteps: 1000, decayRate: 0.96, staircase: true), stepsPerEpoch: 1875)
        #expect(p.exactRate(at: 28_125) == 0.031885575503110886)
        #expect(Double(p.rate(at: 28_125)) == 0.031885575503110886)
    }

    @Test func styleTorchDecodesForStepDecayAndExponential() throws {
        let e = try schedule("type: exponential\nstyle: torch\ninitial_rate: 0.1\ndecay_steps: 1\ndecay_rate: 0.999999")
        #expect(e.family == .exponential(ExponentialDecay(initialRate: 0.1, decaySteps: 1, decayRate: 0.999999, staircase: false, style: .torch)))
        let s = try schedule("type: step_decay\nstyle: torch\ninitial_rate: 0.05\ndrop: 0.999\nevery: 1000")
        #expect(s.family == .stepDecay(StepDecay(initialRate: 0.05, drop: 0.999, every: 1000, style: .torch)))
        #expect(s.summary == "step_decay(initial_rate=0.05, drop=0.999, every=1000, style=torch)")
    }
}
