import DescentCore
import Testing

struct RunLimitsTests {
    /// Counted by hand: weights fanIn x fanOut plus fanOut biases, layer by layer.
    @Test func countsAnMLPsParameters() {
        #expect(RunLimits.parameterCount(inputs: 784, hidden: [128], classes: 10) == 784 * 128 + 128 + 128 * 10 + 10)  // 101,770
        #expect(RunLimits.parameterCount(inputs: 784, hidden: [], classes: 10) == 7_850)
        #expect(RunLimits.parameterCount(inputs: 784, hidden: [65_536], classes: 10) == 52_101_130)
    }

    @Test func saysNilPastTheLimitWithoutOverflowing() {
        #expect(RunLimits.parameterCount(inputs: 784, hidden: [65_536, 65_536], classes: 10) == nil)  // 4.3 billion weights
        #expect(RunLimits.parameterCount(inputs: 784, hidden: [Int.max], classes: 10) == nil)
        #expect(RunLimits.parameterCount(inputs: Int.max, hidden: [Int.max], classes: Int.max) == nil)
        #expect(RunLimits.parameterCount(inputs: 784, hidden: [0], classes: 10) == nil)
        // 1 -> h -> 1 has 2h weights and h + 1 biases, 3h + 1 parameters: h = 2^27 - 1 gives
        // 3 x 2^27 - 2 > 2^28 (refused), h = 2^26 gives 3 x 2^26 + 1 <= 2^28 (counted).
        #expect(RunLimits.parameterCount(inputs: 1, hidden: [(1 << 27) - 1], classes: 1) == nil)
        #expect(RunLimits.parameterCount(inputs: 1, hidden: [1 << 26], classes: 1) == 3 * (1 << 26) + 1)
    }
}
