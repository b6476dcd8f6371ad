import Testing
@testable import DescentSchedules

/// torch CyclicLR(base 0.001, max 0.006). Hand values from torch's formula: T = up + down,
/// cycle = floor(1 + t / T), x = 1 + t / T - cycle, scale = x / r up to r = up / T, then (x - 1) / (r - 1);
/// rate = base + 0.005 * scale * f. Long-run values from Fixtures/torch_float64.py (float64, exact).
@Suite struct CyclicTests {
    // Symmetric 2000 / 2000 (torch's defaults): r = 0.5; 0.001 at 0, 0.0035 half way up (1000),
    // 0.006 at 2000, 0.0035 half way down (3000), 0.001 at 4000, and again.
    @Test(arguments: [(0, 0.001), (1000, 0.0035), (2000, 0.006), (3000, 0.0035), (4000, 0.001), (6000, 0.006),
                      (4_000_000, 0.001), (4_002_000, 0.006)] as [(Int, Double)])
    func triangularClimbsAndFallsBetweenBaseAndMax(t: Int, expected: Double) {
        let f = CyclicRate(baseRate: 0.001, maxRate: 0.006)
        #expect(abs(f.exactRate(at: t) - expected) <= 1e-15)
    }

    // triangular2: cycle c's peak is 0.001 + 0.005 / 2^(c - 1): 0.006 at 2000, 0.0035 at 6000, 0.00225 at 10000.
    @Test(arguments: [(2000, 0.006), (6000, 0.0035), (10_000, 0.00225), (14_000, 0.001625), (8000, 0.001)] as [(Int, Double)])
    func triangular2HalvesTheHeightEveryCycle(t: Int, expected: Double) {
        let f = CyclicRate(baseRate: 0.001, maxRate: 0.006, mode: .triangular2)
        #expect(abs(f.exactRate(at: t) - expected) <= 1e-15)
    }

    // exp_range: the height times gamma^t; at 2000 with gamma 0.999: 0.001 + 0.005 * 0.999^2000.
    @Test func expRangeShrinksTheHeightByGammaPerStep() {
        let f = CyclicRate(baseRate: 0.001, maxRate: 0.006, mode: .expRange, gamma: 0.999)
        #expect(abs(f.exactRate(at: 2000) - (0.001 + 0.005 * 0.13519992539749945)) <= 1e-15)  // 0.999^2000 = e^(2000 ln 0.999)
        #expect(f.exactRate(at: 0) == 0.001)
    }

    // Up 1000, down 3000: r = 0.25. t = 500: x = 0.125, scale 0.5; t = 1000: the peak;
    // t = 2500: x = 0.625, scale (0.625 - 1) / (0.25 - 1) = 0.5.
    @Test(arguments: [(500, 0.0035), (1000, 0.006), (2500, 0.0035), (4000, 0.001)] as [(Int, Double)])
    func asymmetricCyclesRiseFastAndFallSlowly(t: Int, expected: Double) {
        let f = CyclicRate(baseRate: 0.001, maxRate: 0.006, stepSizeUp: 1000, stepSizeDown: 3000)
        #expect(abs(f.exactRate(at: t) - expected) <= 1e-15)
    }

    // Past 10^6, compared exactly with torch's float64 arithmetic (Fixtures/torch_float64.py).
    @Test(arguments: [
        (CyclicMode.triangular, 1, 0.0010050000000000018), (.triangular, 777, 0.0048850000000000005),
        (.triangular, 1_000_500, 0.0035), (.triangular, 1_002_345, 0.0037583333333332876),
        (.triangular2, 4_500, 0.0022500000000000003), (.triangular2, 8_777, 0.001971249999999999), (.triangular2, 1_000_500, 0.001),
        (.expRange, 777, 0.004881982525931664), (.expRange, 1_000_500, 0.0019192384086944268), (.expRange, 1_002_345, 0.002012356854157055),
    ] as [(CyclicMode, Int, Double)])
    func matchesTorchsFloat64ArithmeticExactly(mode: CyclicMode, t: Int, expected: Double) {
        let f = CyclicRate(baseRate: 0.001, maxRate: 0.006, stepSizeUp: 1000, stepSizeDown: 3000, mode: mode,
                           gamma: mode == .expRange ? 0.999999 : 1)
        #expect(f.exactRate(at: t) == expected)
    }

    // step_size_down 0: T = up and r = 1, so every x <= r and scale = x: a sawtooth from base up to (not reaching) max.
    // Up 4: t = 0 -> 0.001, t = 2 -> 0.001 + 0.005 * 0.5, t = 3 -> 0.001 + 0.005 * 0.75, t = 4 -> 0.001 again.
    @Test(arguments: [(0, 0.001), (2, 0.0035), (3, 0.00475), (4, 0.001), (6, 0.0035)] as [(Int, Double)])
    func aZeroStepSizeDownIsASawtooth(t: Int, expected: Double) {
        let f = CyclicRate(baseRate: 0.001, maxRate: 0.006, stepSizeUp: 4, stepSizeDown: 0)
        #expect(abs(f.exactRate(at: t) - expected) <= 1e-15)
    }

    @Test func triangular2StaysFiniteWhereTorchOverflows() {
        // Cycle 1100: torch's 2.0 ** 1099 raises OverflowError; the height is 0 long before.
        let f = CyclicRate(baseRate: 0.001, maxRate: 0.006, stepSizeUp: 1, stepSizeDown: 1, mode: .triangular2)
        #expect(f.exactRate(at: 2 * 1099 + 1) == 0.001)
        #expect(f.exactRate(at: Int.max).isFinite)
    }

    @Test func decodesWithTorchsDefaults() throws {
        let s = try schedule("type: cyclic\nbase_rate: 0.001\nmax_rate: 0.006")
        #expect(s.family == .cyclic(CyclicRate(baseRate: 0.001, maxRate: 0.006, stepSizeUp: 2000, stepSizeDown: 2000, mode: .triangular, gamma: 1)))
        let e = try schedule("type: cyclic\nbase_rate: 0.001\nmax_rate: 0.006\nstep_size_up: 500\nstep_size_down: 1500\nmode: exp_range\ngamma: 0.9999")
        #expect(e.family == .cyclic(CyclicRate(baseRate: 0.001, maxRate: 0.006, stepSizeUp: 500, stepSizeDown: 1500, mode: .expRange, gamma: 0.9999)))
    }
}
