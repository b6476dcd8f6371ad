import DescentCore
import DescentKernels
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

    /// -0, a negative subnormal, or a value in [-1, 1] with six decimals: the floats whose
    /// rounding the in-place and fused sweeps must keep.
    static func signedZeroSubnormalOrUnit(_ generator: inout SeededGenerator) -> Float {
        switch generator.next() % 6 {
        case 0: return -0.0
        case 1: return Float(bitPattern: UInt32(generator.next() % 0x7FFFFF) | 0x8000_0000)
        default: return Float(Double(generator.next() % 2_000_001) / 1_000_000 - 1)
        }
    }

    /// The mean of `gradients` (rank r's weighted by `weights[r]`) and its norm, every gradient
    /// copied and folded in rank order, with no update target.
    func copiedMean(_ gradients: [[Float]], weights: [UInt64]) -> (mean: [Float], norm: Double) {
        let averager = GradientAverager(count: gradients[0].count)
        averager.expect(participants: UInt64(1) << UInt64(gradients.count) - 1)
        for (rank, gradient) in gradients.enumerated() {
            #expect(stage(averager, gradient, samples: weights[rank], rank: rank))
            averager.commit(samples: Int(weights[rank]), lossSum: 0, correct: 0)
        }
        let norm = averager.average()
        #expect(averager.appliedUpdate == nil, "no target, no update")
        return (Array(averager.sum), norm)
    }

    func stage(_ averager: GradientAverager, _ values: [Float], samples: UInt64, offset: Int = 0, rank: Int? = nil) -> Bool {
        let raw = Self.bytes(values, offset: offset)
        return raw.withUnsafeBytes { averager.stage(floatBytes: UnsafeRawBufferPointer(rebasing: $0[offset...]), samples: samples, rank: rank) }
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

    /// All 24 arrival orders of 4 ranks' gradients give the same bits: those of the sum folded in
    /// ascending rank order, ((0 + w0 g0 + w1 g1) + w2 g2) + w3 g3, written out here in Float.
    /// Summed in arrival order instead, the orders disagree (checked below, so the test can fail).
    @Test func everyArrivalOrderGivesTheSumInRankOrder() {
        let count = 4096
        var generator = SeededGenerator(seed: 7)
        let gradients = (0..<4).map { _ in (0..<count).map { _ in Float(Double(generator.next() % 2_000_001) / 1_000_000 - 1) } }
        let weights: [Float] = [3, 7, 11, 5]
        var expected = [Float](repeating: 0, count: count)
        for rank in 0..<4 {
            for i in 0..<count { expected[i] = expected[i] + weights[rank] * gradients[rank][i] }
        }
        for i in 0..<count { expected[i] = expected[i] * (1 / Float(26)) }
        // The mean's norm as descent_scale_norm adds it: squares in Double, element i into lane
        // i % 16, the lanes added in order, rounded to Float.
        var lanes = [Double](repeating: 0, count: 16)
        for i in 0..<count { lanes[i % 16] += Double(expected[i]) * Double(expected[i]) }
        let expectedNorm = Double(Float(lanes.reduce(0, +).squareRoot()))

        func permutations(_ items: [Int]) -> [[Int]] {
            items.count <= 1 ? [items] : items.indices.flatMap { i in
                permutations(Array(items[..<i] + items[(i + 1)...])).map { [items[i]] + $0 }
            }
        }
        var arrivalOrderSums = Set<[UInt32]>()
        for arrival in permutations([0, 1, 2, 3]) {
            let averager = GradientAverager(count: count)
            averager.expect(participants: 0b1111)  // ranks 0...3
            for rank in arrival {
                let raw = Self.bytes(gradients[rank])
                #expect(raw.withUnsafeBytes { averager.stage(floatBytes: $0, samples: UInt64(weights[rank]), rank: rank) })
                averager.commit(samples: Int(weights[rank]), lossSum: Double(rank), correct: rank)
            }
            #expect(averager.average() == expectedNorm, "arrival order \(arrival)")
            let differing = zip(averager.sum, expected).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(differing == 0, "arrival order \(arrival): \(differing) of \(count) floats differ from the sum in rank order")
            #expect(averager.samples == 26 && averager.correct == 6 && averager.lossSum == 6)

            let unordered = GradientAverager(count: count)  // no expected ranks: arrival order
            for rank in arrival {
                _ = Self.bytes(gradients[rank]).withUnsafeBytes { unordered.stage(floatBytes: $0, samples: UInt64(weights[rank])) }
                unordered.commit(samples: Int(weights[rank]), lossSum: 0, correct: 0)
            }
            _ = unordered.average()
            arrivalOrderSums.insert(unordered.sum.map(\.bitPattern))
        }
        #expect(arrivalOrderSums.count > 1, "these gradients round alike in every order; the test would not see a wrong order")
    }

    /// The sweep for the gradient that completes a step (stage, divide, norm in one) gives the bits
    /// of the two sweeps it replaces, for a length with a tail past the 16 lanes, for the step's
    /// first gradient and a later one, with signed zeros, subnormals and large values; and it
    /// finds a NaN or infinity in the body and in the tail.
    @Test(arguments: [false, true])
    func theCompletingSweepGivesTheBitsOfStageThenMean(first: Bool) {
        let count = 1000 + 7
        var generator = SeededGenerator(seed: 11)
        func value() -> Float {
            switch generator.next() % 8 {
            case 0: return -0.0
            case 1: return Float(bitPattern: UInt32(generator.next() % 0x7FFFFF) | (generator.next() % 2 == 0 ? 0 : 0x8000_0000))  // subnormal
            case 2: return Float(Double(generator.next() % 2_000_001) - 1_000_000) * 1e30
            default: return Float(Double(generator.next() % 2_000_001) / 1_000_000 - 1)
            }
        }
        let sum = (0..<count).map { _ in value() }, gradient = (0..<count).map { _ in value() }
        let weight: Float = 7, scale = 1 / Float(23)
        var twoSweeps = [Float](repeating: .nan, count: count)
        let raw = Self.bytes(gradient)
        let staged = twoSweeps.withUnsafeMutableBufferPointer { out in
            sum.withUnsafeBufferPointer { s in
                raw.withUnsafeBytes { descent_stage_weighted(out.baseAddress, first ? nil : s.baseAddress, $0.baseAddress, count, weight, first ? 1 : 0) }
            }
        }
        #expect(staged == 1)
        let twoSweepNorm = twoSweeps.withUnsafeMutableBufferPointer { descent_scale_norm($0.baseAddress, count, scale) }
        var oneSweep = [Float](repeating: .nan, count: count)
        var norm = -1.0
        let fused = oneSweep.withUnsafeMutableBufferPointer { out in
            sum.withUnsafeBufferPointer { s in
                raw.withUnsafeBytes {
                    descent_stage_weighted_mean(out.baseAddress, first ? nil : s.baseAddress, $0.baseAddress, count, weight, first ? 1 : 0, scale, &norm)
                }
            }
        }
        #expect(fused == 1)
        #expect(oneSweep.map(\.bitPattern) == twoSweeps.map(\.bitPattern))
        #expect(norm.bitPattern == twoSweepNorm.bitPattern, "\(norm) against \(twoSweepNorm)")
        #expect(twoSweeps.contains { $0 == 0 && $0.sign == .minus } || first, "a -0 survives somewhere when a sum is given")
        for (index, bad) in [(3, Float.nan), (500, .infinity), (count - 2, -.infinity), (count - 1, -.nan)] {
            var poisoned = gradient
            poisoned[index] = bad
            let result = oneSweep.withUnsafeMutableBufferPointer { out in
                Self.bytes(poisoned).withUnsafeBytes { descent_stage_weighted_mean(out.baseAddress, nil, $0.baseAddress, count, weight, 1, scale, &norm) }
            }
            #expect(result == 0, "\(bad) at \(index) of \(count)")
        }
    }

    /// A gradient that arrived before its turn and was accepted stays as it was when a second one
    /// of its rank comes (which the machine refuses); a non-finite early one is refused.
    @Test func anEarlyGradientIsKeptOnceAndANonFiniteOneRefused() {
        let averager = GradientAverager(count: 2)
        averager.expect(participants: 0b111)  // ranks 0...2
        #expect(!stage(averager, [1, .nan], samples: 1, rank: 2))
        #expect(stage(averager, [8, 8], samples: 1, rank: 2))
        averager.commit(samples: 1, lossSum: 0, correct: 0)
        #expect(stage(averager, [1000, 1000], samples: 1, rank: 2))  // a duplicate: never committed
        #expect(stage(averager, [1, 2], samples: 1, rank: 1))
        averager.commit(samples: 1, lossSum: 0, correct: 0)
        #expect(stage(averager, [3, 4], samples: 2, rank: 0))
        averager.commit(samples: 2, lossSum: 0, correct: 0)
        _ = averager.average()
        // (2 * [3, 4] + [1, 2] + [8, 8]) / 4
        #expect(Array(averager.sum) == [15.0 / 4, 18.0 / 4])
        #expect(averager.samples == 4)
    }

    /// Floats that stay where they are until the next step (as the coordinator's own worker's slot).
    struct StayingFloats: GradientFloats {
        let pointer: UnsafeMutablePointer<Float>
        let count: Int
        func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
            try body(UnsafeRawBufferPointer(start: pointer, count: count * 4))
        }
        var staysUntilNextStep: Bool { true }
    }

    /// A step whose first gradient stays where it lies (the coordinator's own worker) gives the
    /// bits of one whose gradients are all copied, with 1, 2 and 3 participants and the staying
    /// one first or not; the staying one is read when the sum completes (a change to it before
    /// then shows in the mean, which proves it was not copied), and a step dealt again copies it
    /// first (a change after that does not show).
    @Test(arguments: [1, 2, 3])
    func aFirstGradientReadWhereItLiesGivesTheBitsOfACopiedOne(participants: Int) {
        let count = 1000 + 9
        var generator = SeededGenerator(seed: UInt64(40 + participants))
        func value() -> Float { Self.signedZeroSubnormalOrUnit(&generator) }
        let gradients = (0..<participants).map { _ in (0..<count).map { _ in value() } }
        let weights: [UInt64] = [5, 3, 9]
        let mask = UInt64(1) << UInt64(participants) - 1

        func copiedMean(_ gradients: [[Float]]) -> (sum: [UInt32], norm: Double) {
            let (mean, norm) = self.copiedMean(gradients, weights: weights)
            return (mean.map(\.bitPattern), norm)
        }
        let staying = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer { staying.deallocate() }

        /// Rank 0's gradient staying where it lies; `change` runs after it is staged and committed,
        /// `redeal` deals the step again before the others come.
        func stayingMean(change: () -> Void = {}, redeal: Bool = false) -> (sum: [UInt32], norm: Double) {
            _ = UnsafeMutableBufferPointer(start: staying, count: count).update(from: gradients[0])
            let averager = GradientAverager(count: count)
            averager.expect(participants: mask)
            #expect(averager.stage(StayingFloats(pointer: staying, count: count), samples: weights[0], rank: 0))
            averager.commit(samples: Int(weights[0]), lossSum: 0, correct: 0)
            if redeal { averager.expect(participants: mask) }
            change()
            for rank in 1..<participants {
                #expect(stage(averager, gradients[rank], samples: weights[rank], rank: rank))
                averager.commit(samples: Int(weights[rank]), lossSum: 0, correct: 0)
            }
            let norm = averager.average()
            return (averager.sum.map(\.bitPattern), norm)
        }
        let expected = copiedMean(gradients)
        let inPlace = stayingMean()
        #expect(inPlace.sum == expected.sum, "\(zip(inPlace.sum, expected.sum).filter { $0 != $1 }.count) of \(count) floats differ")
        #expect(inPlace.norm.bitPattern == expected.norm.bitPattern)

        var changed = gradients
        changed[0][7] = 0.5
        let readLate = stayingMean(change: { staying[7] = 0.5 })
        if participants == 1 {
            // A lone gradient completes the sum itself: read (and divided) when it is staged.
            #expect(readLate.sum == expected.sum, "a lone gradient is read when staged")
        } else {
            #expect(readLate.sum == copiedMean(changed).sum, "read when the sum completes, not copied when staged")
            #expect(readLate.sum != expected.sum, "the change at index 7 shows in the mean")
        }
        let redealt = stayingMean(change: { staying[7] = 0.5 }, redeal: true)
        #expect(redealt.sum == expected.sum, "copied when the step is dealt again")
    }

    /// A staying gradient with a NaN or an infinity (in the 16-lane body or in the tail) is taken
    /// unread. The sweep that reads it finds it: the one completing the sum (the mean of two, or
    /// the update beside the parameters), or the copy that a third participant or a new deal of
    /// the step makes. That `stage` returns false and names rank 0 (the gradient being staged is
    /// not at fault), nothing is applied, and every later `stage` of the step is refused.
    @Test(arguments: ["mean", "update", "third", "redeal"])
    func aNonFiniteGradientThatStaysWhereItLiesIsFoundByTheSweepThatReadsIt(path: String) {
        let count = 37  // two lanes of 16 and a tail of 5
        let staying = UnsafeMutablePointer<Float>.allocate(capacity: count)
        let parameters = UnsafeMutablePointer<Float>.allocate(capacity: count)
        let updated = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer { staying.deallocate(); parameters.deallocate(); updated.deallocate() }
        parameters.update(repeating: 1, count: count)
        let others = [Float](repeating: 3, count: count)
        for (index, bad) in [(2, Float.nan), (20, .infinity), (33, -.infinity), (36, -.nan)] {
            staying.update(repeating: 1, count: count)
            staying[index] = bad
            let averager = GradientAverager(count: count)
            averager.expect(participants: path == "third" ? 0b111 : 0b11,
                            update: path == "update" ? .init(parameters: parameters, updated: updated, rate: 0.5) : nil)
            #expect(averager.stage(StayingFloats(pointer: staying, count: count), samples: 2, rank: 0), "taken unread")
            averager.commit(samples: 2, lossSum: 0, correct: 0)
            #expect(averager.nonFiniteInPlaceRank == nil)
            if path == "redeal" { averager.expect(participants: 0b11) }
            #expect(!stage(averager, others, samples: 1, rank: 1), "\(path): \(bad) at \(index)")
            #expect(averager.nonFiniteInPlaceRank == 0, "\(path): \(bad) at \(index)")
            #expect(averager.appliedUpdate == nil)
            #expect(!stage(averager, others, samples: 1, rank: path == "third" ? 2 : 1), "every later stage of the step is refused")
            averager.reset()
            #expect(averager.nonFiniteInPlaceRank == nil)
        }
        // Finite, it passes, and no rank is named.
        staying.update(repeating: 1, count: count)
        let averager = GradientAverager(count: count)
        averager.expect(participants: 0b11, update: path == "update" ? .init(parameters: parameters, updated: updated, rate: 0.5) : nil)
        #expect(averager.stage(StayingFloats(pointer: staying, count: count), samples: 2, rank: 0))
        averager.commit(samples: 2, lossSum: 0, correct: 0)
        #expect(stage(averager, others, samples: 1, rank: 1))
        #expect(averager.nonFiniteInPlaceRank == nil)
    }

    /// With an update target, the sweep that completes the sum writes `p - rate * mean` beside
    /// the parameters instead of the mean: the same bits as the mean (all gradients copied, in
    /// rank order) followed by plain Float SGD, with 1, 2 and 3 participants, rank 0's gradient
    /// staying where it lies or copied, arriving first or last. The parameters stay as they were,
    /// and the largest magnitude is that of the written update.
    @Test(arguments: [1, 2, 3], [(false, 0), (true, 0), (false, 1), (true, 3)])
    func anUpdateWrittenBesideTheParametersGivesTheBitsOfTheMeanThenSGD(participants: Int, order: (rankZeroLast: Bool, offset: Int)) {
        // The update buffer starts on a 64-byte line (written around the caches, as the segment's
        // buffers are), or `offset` floats past one (written through them).
        let (rankZeroLast, offset) = order
        let count = 1000 + 9
        var generator = SeededGenerator(seed: UInt64(70 + participants))
        func value() -> Float { Self.signedZeroSubnormalOrUnit(&generator) }
        let gradients = (0..<participants).map { _ in (0..<count).map { _ in value() } }
        let parameters = (0..<count).map { _ in value() * 3 }
        let weights: [UInt64] = [5, 3, 9]
        let mask = UInt64(1) << UInt64(participants) - 1
        let rate: Float = 0.0625 + 0.001

        let (referenceMean, referenceNorm) = copiedMean(gradients, weights: weights)
        let expected = zip(parameters, referenceMean).map { p, m in p - rate * m }

        let staying = UnsafeMutablePointer<Float>.allocate(capacity: count)
        let current = UnsafeMutablePointer<Float>.allocate(capacity: count)
        let line = UnsafeMutableRawPointer.allocate(byteCount: (count + offset) * 4, alignment: 64)
        let updated = line.bindMemory(to: Float.self, capacity: count + offset) + offset
        defer { staying.deallocate(); current.deallocate(); line.deallocate() }
        _ = UnsafeMutableBufferPointer(start: staying, count: count).update(from: gradients[0])
        _ = UnsafeMutableBufferPointer(start: current, count: count).update(from: parameters)
        updated.update(repeating: .nan, count: count)

        let averager = GradientAverager(count: count)
        averager.expect(participants: mask, update: .init(parameters: current, updated: updated, rate: rate))
        var order = Array(0..<participants)
        if rankZeroLast { order.append(order.removeFirst()) }
        for rank in order {
            let accepted = rank == 0 ? averager.stage(StayingFloats(pointer: staying, count: count), samples: weights[0], rank: 0)
                : stage(averager, gradients[rank], samples: weights[rank], rank: rank)
            #expect(accepted)
            averager.commit(samples: Int(weights[rank]), lossSum: 0, correct: 0)
        }
        let norm = averager.average()
        let written = Array(UnsafeBufferPointer(start: updated, count: count))
        #expect(written.map(\.bitPattern) == expected.map(\.bitPattern),
                "\(zip(written, expected).filter { $0.bitPattern != $1.bitPattern }.count) of \(count) floats differ")
        #expect(norm.bitPattern == referenceNorm.bitPattern)
        #expect(averager.appliedUpdate?.largest == expected.map(\.magnitude).max())
        #expect(averager.appliedUpdate?.updated == updated && averager.appliedUpdate?.rate == rate)
        #expect(Array(UnsafeBufferPointer(start: current, count: count)) == parameters, "the parameters were only read")
        #expect(averager.samples == Int(weights.prefix(participants).reduce(0, +)))

        // The next step (after reset) without a target writes the mean again.
        averager.reset()
        #expect(averager.appliedUpdate == nil)
    }

    /// A completing gradient with a NaN is refused: no update is made, and the next one that
    /// completes the sum writes it. An update that overflows reports an infinite largest
    /// magnitude, for the divergence guard.
    @Test func aRefusedCompletingGradientMakesNoUpdateAndAnOverflowShows() {
        let count = 37  // two lanes of 16 and a tail of 5
        let current = UnsafeMutablePointer<Float>.allocate(capacity: count)
        let updated = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer { current.deallocate(); updated.deallocate() }
        current.update(repeating: 1, count: count)
        for index in [3, 35] {
            let averager = GradientAverager(count: count)
            averager.expect(participants: 0b11, update: .init(parameters: current, updated: updated, rate: 0.5))
            #expect(stage(averager, [Float](repeating: 2, count: count), samples: 1, rank: 0))
            averager.commit(samples: 1, lossSum: 0, correct: 0)
            var bad = [Float](repeating: 4, count: count)
            bad[index] = .nan
            #expect(!stage(averager, bad, samples: 1, rank: 1), "NaN at \(index)")
            #expect(averager.appliedUpdate == nil)
            #expect(stage(averager, [Float](repeating: 4, count: count), samples: 1, rank: 1))
            averager.commit(samples: 1, lossSum: 0, correct: 0)
            // 1 - 0.5 * (2 + 4) / 2 = -0.5
            #expect(Array(UnsafeBufferPointer(start: updated, count: count)) == [Float](repeating: -0.5, count: count))
            #expect(averager.appliedUpdate?.largest == 0.5)
            #expect(Array(UnsafeBufferPointer(start: current, count: count)) == [Float](repeating: 1, count: count))
        }
        let averager = GradientAverager(count: count)
        averager.expect(participants: 0b1, update: .init(parameters: current, updated: updated, rate: .greatestFiniteMagnitude))
        #expect(stage(averager, [Float](repeating: 4, count: count), samples: 1, rank: 0))
        averager.commit(samples: 1, lossSum: 0, correct: 0)
        #expect(averager.appliedUpdate?.largest == .infinity)
    }
}
