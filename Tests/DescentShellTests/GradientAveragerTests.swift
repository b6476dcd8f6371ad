import Testing
@testable import DescentCoordinator

/// The coordinator's averaging: each gradient read once (checked and added in one sweep), a
/// refused one leaving the sum as it was, the mean and its norm. Expected values are written out
/// by hand or computed with plain Float and Double arithmetic here.
@Suite struct GradientAveragerTests {
    /// Raw little-endian float32 bytes of `values`, starting `offset` bytes into the returned array.
    static func bytes(_ values: [Float], offset: Int = 0) -> [UInt8] {
        [UInt8](repeating: 0xAB, count: offset) + values.flatMap { value in
            withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) }
        }
    }

    func stage(_ averager: GradientAverager, _ values: [Float], samples: UInt64, offset: Int = 0) -> Bool {
        let raw = Self.bytes(values, offset: offset)
        return raw.withUnsafeBytes { averager.stage(floatBytes: UnsafeRawBufferPointer(rebasing: $0[offset...]), samples: samples) }
    }

    @Test func weightedMeanOfTwoGradientsByHand() {
        let averager = GradientAverager(count: 3)
        #expect(stage(averager, [1, 2, -4], samples: 3))
        averager.commit(samples: 3, lossSum: 1.5, correct: 2)
        #expect(stage(averager, [5, -2, 0], samples: 1))
        averager.commit(samples: 1, lossSum: 0.5, correct: 1)
        // (3 * [1, 2, -4] + 1 * [5, -2, 0]) / 4 = [8, 4, -12] / 4
        let norm = averager.average()
        #expect(Array(averager.sum) == [2, 1, -3])
        #expect(norm == Double(Float((4.0 + 1.0 + 9.0).squareRoot())))
        #expect(averager.samples == 4 && averager.lossSum == 2.0 && averager.correct == 3)
    }

    @Test func aNonFiniteGradientIsRefusedAndTheSumStaysAsItWas() {
        let averager = GradientAverager(count: 4)
        #expect(stage(averager, [1, 1, 1, 1], samples: 2))
        averager.commit(samples: 2, lossSum: 0, correct: 0)
        for bad: Float in [.nan, .infinity, -.infinity, -.nan] {
            #expect(!stage(averager, [0, 0, bad, 0], samples: 2), "\(bad)")
        }
        // A finite gradient staged but never committed (the machine refused it) is not counted either.
        #expect(stage(averager, [100, 100, 100, 100], samples: 2))
        _ = averager.average()
        #expect(Array(averager.sum) == [1, 1, 1, 1])
        #expect(averager.samples == 2)
    }

    @Test(arguments: [0, 1, 2, 3])
    func payloadsAtAnyAlignment(offset: Int) {
        let averager = GradientAverager(count: 5)
        #expect(stage(averager, [1, -1, 0.5, 3, 8], samples: 2, offset: offset))
        averager.commit(samples: 2, lossSum: 0, correct: 0)
        _ = averager.average()
        #expect(Array(averager.sum) == [1, -1, 0.5, 3, 8])
    }

    /// The sum rounds as `sum + w * g` written in Float (product rounded, then the sum: no fused
    /// multiply-add), in the order the gradients arrived, then times 1 / samples.
    @Test func roundsAsPlainFloatArithmeticInArrivalOrder() {
        let count = 1000
        var generator = SystemRandomNumberGenerator()
        let gradients = (0..<3).map { _ in (0..<count).map { _ in Float.random(in: -1...1, using: &generator) } }
        let weights: [Float] = [3, 7, 11]
        var expected = [Float](repeating: 0, count: count)
        for (gradient, weight) in zip(gradients, weights) {
            for i in 0..<count {
                let product = weight * gradient[i]
                expected[i] = expected[i] + product
            }
        }
        let scale = 1 / Float(21)
        var squares = 0.0
        for i in 0..<count {
            expected[i] = expected[i] * scale
            squares += Double(expected[i]) * Double(expected[i])
        }
        let averager = GradientAverager(count: count)
        for (gradient, weight) in zip(gradients, weights) {
            #expect(stage(averager, gradient, samples: UInt64(weight)))
            averager.commit(samples: Int(weight), lossSum: 0, correct: 0)
        }
        let norm = averager.average()
        #expect(Array(averager.sum) == expected)
        // The norm adds its squares in another order: equal to float rounding.
        #expect(abs(norm - squares.squareRoot()) <= 1e-6 * squares.squareRoot())
    }

    @Test func resetStartsTheNextStepFromZero() {
        let averager = GradientAverager(count: 2)
        #expect(stage(averager, [4, 4], samples: 1))
        averager.commit(samples: 1, lossSum: 0, correct: 0)
        _ = averager.average()
        averager.reset()
        #expect(stage(averager, [-1, 2], samples: 1))
        averager.commit(samples: 1, lossSum: 0, correct: 0)
        _ = averager.average()
        #expect(Array(averager.sum) == [-1, 2])
        averager.reset()
        // A step in which no gradient joined has a zero mean.
        #expect(averager.average() == 0)
        #expect(Array(averager.sum) == [0, 0])
    }
}
