import DescentCore
import DescentKernels
import DescentModel
import DescentProtocol

/// Sums the workers' mean gradients of one step, each weighted by its sample count, and turns
/// the sum into the mean gradient over the whole global batch: sum_r(n_r * g_r) / sum_r(n_r).
///
/// A gradient is read once, by `stage`: one sweep checks that every float is finite and writes
/// `sum + n_r * g_r` (`0 + n_r * g_r` for the step's first) into a second buffer; `commit` (the
/// machine accepted the gradient) makes that buffer the sum, so a refused gradient leaves the sum
/// as it was and nothing is copied or cleared. The payload may lie at any alignment (libzmq's
/// zero-copy receive) or in another process's shared memory: each float is loaded once, so the
/// check and the sum see the same value. Two buffers, allocated once.
///
/// The sum is the same whichever order the gradients arrive in (`expect(participants:)`): it is folded
/// in ascending rank order, ((g_0 + g_1) + g_2) + ... So a run of 3 or more workers gives the same
/// bits every time, as one of 2 always did (a + b is b + a in floating point; (a + b) + c is not
/// (a + c) + b). A gradient that arrives before its turn is copied out (checked on the copy:
/// still one read of a shared buffer) and folded in when its turn comes; with 2 workers, or in
/// rank order, none waits.
///
/// The gradient that completes a step's sum is staged, divided by the samples and its norm taken
/// in the same sweep (`descent_stage_weighted_mean`, the same bits as the two sweeps): one pass
/// over 400 KB fewer on the step's critical path, where the coordinator waits for its last gradient.
///
/// The step's first gradient, when it stays where it lies until the next step
/// (`GradientFloats.staysUntilNextStep`: the coordinator's own worker's slot), is not read when it
/// arrives: the sweep that completes the sum reads it, checks it and adds `0 + n_0 * g_0` as
/// staging it would have: the same bits, and 400 KB fewer written and read back, and no sweep of
/// its own to check it (3 µs on the step's critical path with `--local-worker`). Anything else
/// that needs it in `current` copies it there first, and checks it then. A NaN or an infinity
/// found in it that late makes the `stage` that found it return false with
/// `nonFiniteInPlaceRank` naming its rank (the gradient being staged is not at fault).
///
/// With an `UpdateTarget` (plain SGD, and a second parameter buffer no worker reads), the sweep
/// that completes the sum writes the updated parameters, `p - rate * mean`, into that buffer
/// instead of the mean (`descent_stage_mean_update`: the same bits as the mean followed by the
/// SGD sweep); `appliedUpdate` then says so, and the mean itself is never written.
final class GradientAverager {
    /// Where the sweep that completes a step's sum writes the updated parameters.
    struct UpdateTarget {
        /// The parameters the step's workers computed at (read, not written).
        var parameters: UnsafePointer<Float>
        /// Where `parameters - rate * mean` goes: another buffer of the same size.
        var updated: UnsafeMutablePointer<Float>
        var rate: Float
    }
    let count: Int
    private var current: UnsafeMutablePointer<Float>
    private var staged: UnsafeMutablePointer<Float>
    /// Whether `current` holds a sum of this step (false: the next gradient starts it).
    private var started = false
    /// The weight `staged` was made with, until it is committed or replaced (nil: nothing staged).
    private var stagedWeight: Float?
    private(set) var samples = 0
    private(set) var lossSum = 0.0
    private(set) var correct = 0

    /// The ranks whose gradients make up this step's sum, bit r for rank r (0: fold in arrival order).
    private var participants: UInt64 = 0
    /// How many participants are in the sum: a prefix of their ascending order once two or more are.
    private var folded = 0
    /// Gradients that arrived before their turn, by rank: their bytes, copied out and checked.
    private var early: [Int: Early] = [:]
    /// The rank of the gradient staged last, when it waits in `early` rather than in `staged`.
    private var stagedEarly: Int?
    /// The norm of `staged` when it holds the step's mean already (staged by the gradient that completes the sum).
    private var stagedMeanNorm: Double?
    /// The norm of `current` once it holds the step's mean (nil: `average()` divides it).
    private var meanNorm: Double?
    /// The step's first gradient where it lies, with its weight and rank, waiting for `commit`.
    private var stagedInPlace: (floats: UnsafePointer<Float>, weight: Float, rank: Int)?
    /// The sum so far when it is one gradient read where it lies (`current` is not written then,
    /// and the floats are not checked yet).
    private var inPlace: (floats: UnsafePointer<Float>, weight: Float, rank: Int)?
    /// The rank of the gradient read where it lies in which a later sweep found a NaN or an
    /// infinity (the step cannot be applied; the `stage` that found it, and every one after,
    /// returns false).
    private(set) var nonFiniteInPlaceRank: Int?
    /// Where this step's completing sweep writes the update (nil: it writes the mean).
    private var target: UpdateTarget?
    /// The largest magnitude of the update the staged sweep wrote into the target (nil: none).
    private var stagedUpdateLargest: Float?
    /// The step's update, once the gradient whose sweep wrote it was accepted: where it is, its
    /// largest magnitude and the rate it was made with (`sum` does not hold the mean then).
    private(set) var appliedUpdate: (updated: UnsafeMutablePointer<Float>, largest: Float, rate: Float)?

    private struct Early {
        var bytes: [UInt8]
        var encoding: WireEncoding
        /// Set once the machine accepted it.
        var accepted: (samples: Int, lossSum: Double, correct: Int)?
    }

    init(count: Int) {
        self.count = count
        current = .allocateAligned(zeroed: count)
        staged = .allocateAligned(zeroed: count)
    }

    deinit {
        current.deallocate()
        staged.deallocate()
    }

    /// The sum so far (the mean after `average()`).
    var sum: UnsafeBufferPointer<Float> { UnsafeBufferPointer(start: current, count: count) }

    /// The ranks whose gradients this step's sum is made of (bit r for rank r); the sum is folded
    /// in their ascending order. Set when a step is dealt (again: the same ranks, or after `reset`).
    func expect(participants: UInt64, update: UpdateTarget? = nil) {
        self.participants = participants
        target = update
        // A step dealt again may be computed again where the first gradient lies.
        copyInPlaceSum()
    }

    /// Writes a sum that is one gradient read in place into `current`, as staging it would have,
    /// checking it as it goes; false (and `nonFiniteInPlaceRank` set) when it held a NaN or an infinity.
    @discardableResult
    private func copyInPlaceSum() -> Bool {
        guard let first = inPlace else { return nonFiniteInPlaceRank == nil }
        inPlace = nil
        guard descent_stage_weighted(current, nil, first.floats, count, first.weight, 1) != 0 else {
            nonFiniteInPlaceRank = first.rank
            return false
        }
        return true
    }

    /// Where `rank` comes in the ascending order of the participants (nil: it does not take part).
    private func position(of rank: Int) -> Int? {
        guard (0..<64).contains(rank), participants & (1 << UInt64(rank)) != 0 else { return nil }
        return (participants & ((1 << UInt64(rank)) - 1)).nonzeroBitCount
    }

    /// The participant at `position` of the ascending order (nil: there are not that many).
    private func rank(at position: Int) -> Int? {
        var rest = participants
        for _ in 0..<position where rest != 0 { rest &= rest - 1 }
        return rest == 0 ? nil : rest.trailingZeroBitCount
    }

    /// Reads a gradient (its payload's raw float bytes) once: returns false when one of its floats
    /// is NaN or infinite; otherwise `sum + samples * gradient` waits for `commit`.
    func stage(floatBytes bytes: UnsafeRawBufferPointer, samples: UInt64, rank: Int? = nil) -> Bool {
        stage(bytes, encoding: .float32, samples: samples, rank: rank)
    }

    /// `stage` for a gradient of either wire encoding (a bfloat16 one is checked, then decoded
    /// and added in float32).
    func stage(_ floats: GradientFloats, samples: UInt64, rank: Int? = nil) -> Bool {
        floats.withBytes { stage($0, encoding: floats.encoding, samples: samples, rank: rank, staysInPlace: floats.staysUntilNextStep) }
    }

    /// Stages the gradient of `rank` into the sum when it is its turn, else copies it out.
    private func stage(_ bytes: UnsafeRawBufferPointer, encoding: WireEncoding, samples: UInt64, rank: Int?, staysInPlace: Bool = false) -> Bool {
        stagedEarly = nil
        stagedInPlace = nil
        stagedUpdateLargest = nil
        guard nonFiniteInPlaceRank == nil else { return false }
        let weight = Float(samples)
        guard let rank, let position = position(of: rank), !isTurn(position) else {
            // Its turn (or no order, or not a participant, which the machine refuses).
            let completes = rank.flatMap(position(of:)) != nil && foldsLast
            if staysInPlace, !completes, !started, participants != 0, let rank {
                return stageInPlace(bytes, encoding: encoding, weight: weight, rank: rank)
            }
            return stage(bytes, encoding: encoding, weight: weight, meanOver: completes ? samples : nil)
        }
        // A second gradient of a rank whose first was accepted: the machine refuses it as a
        // duplicate; the first stays as it is.
        if early[rank]?.accepted != nil { return true }
        // Copied first, then checked on the copy: the bytes are read once.
        var copy = early.removeValue(forKey: rank)?.bytes ?? []
        copy.removeAll(keepingCapacity: true)
        copy.append(contentsOf: bytes)
        let finite = copy.withUnsafeBytes { WirePayload.firstNonFiniteIndex(bytes: $0, encoding: encoding) == nil }
        guard finite else { return false }
        early[rank] = Early(bytes: copy, encoding: encoding)
        stagedEarly = rank
        stagedWeight = weight
        return true
    }

    /// Stages the step's first gradient, which stays where it lies, where it is rather than a
    /// weighted copy, unread: the sweep that reads it checks it (staged as usual when it is not
    /// float32 at a float's alignment).
    private func stageInPlace(_ bytes: UnsafeRawBufferPointer, encoding: WireEncoding, weight: Float, rank: Int) -> Bool {
        guard encoding == .float32, bytes.count == count * 4, let base = bytes.baseAddress,
              Int(bitPattern: base) % MemoryLayout<Float>.alignment == 0 else {
            return stage(bytes, encoding: encoding, weight: weight)
        }
        stagedWeight = nil
        stagedMeanNorm = nil
        stagedInPlace = (base.assumingMemoryBound(to: Float.self), weight, rank)
        stagedWeight = weight
        return true
    }

    /// Whether the next participant to join the sum is the last one (every other one is in).
    private var foldsLast: Bool { participants != 0 && folded + 1 == participants.nonzeroBitCount }

    /// Whether the gradient at `position` of the participants' order can join the sum now: the
    /// first two join in either order, each later one after all before it.
    private func isTurn(_ position: Int) -> Bool {
        folded < 2 ? position < 2 : position == folded
    }

    /// Adds an accepted gradient at once (the async and bounded modes' update buffers; its
    /// finiteness was checked when it arrived). `scale` multiplies its weight only (the
    /// staleness-aware rate: 1 / (staleness + 1)), not its samples.
    func add(_ floats: GradientFloats, samples: Int, lossSum: Double, correct: Int, scale: Float = 1) {
        guard floats.withBytes({ stage($0, encoding: floats.encoding, weight: Float(samples) * scale) }) else { return }
        join(samples: samples, lossSum: lossSum, correct: correct)
    }

    /// Stages `sum + weight * gradient`; with `meanOver` (this gradient's samples, when it
    /// completes the sum) it is divided by all the step's samples and its norm taken in the same sweep.
    private func stage(_ bytes: UnsafeRawBufferPointer, encoding: WireEncoding, weight: Float, meanOver last: UInt64? = nil) -> Bool {
        stagedWeight = nil
        stagedMeanNorm = nil
        stagedUpdateLargest = nil
        let finite: Bool
        switch encoding {
        case .float32:
            precondition(bytes.count == count * 4, "payload size was checked before")
            guard let base = bytes.baseAddress else { return true }
            if let last, samples + Int(last) > 0 {
                var norm = 0.0
                var firstFinite: Int32 = 1
                if let target {
                    var largest: Float = 0
                    let first = inPlace
                    finite = descent_stage_mean_update(target.updated, target.parameters, target.rate,
                                                       first?.floats ?? (started ? UnsafePointer(current) : nil), first != nil ? 1 : 0,
                                                       first?.weight ?? 0, base, count, weight, 1 / Float(samples + Int(last)),
                                                       &norm, &largest, &firstFinite) != 0 && firstFinite != 0
                    if finite { stagedUpdateLargest = largest }
                } else if let first = inPlace {
                    finite = descent_stage_mean_of_two(staged, first.floats, first.weight, base, count, weight,
                                                       1 / Float(samples + Int(last)), &norm, &firstFinite) != 0 && firstFinite != 0
                } else {
                    finite = descent_stage_weighted_mean(staged, started ? current : nil, base, count, weight, started ? 0 : 1,
                                                         1 / Float(samples + Int(last)), &norm) != 0
                }
                if firstFinite == 0, let first = inPlace { nonFiniteInPlaceRank = first.rank }
                if finite { stagedMeanNorm = Double(Float(norm)) }
                break
            }
            guard copyInPlaceSum() else { return false }
            finite = descent_stage_weighted(staged, started ? current : nil, base, count, weight, started ? 0 : 1) != 0
        case .bf16:
            // Remote workers only (the socket's private frame): check, then sum in a second sweep.
            finite = BFloat16Coding.firstNonFiniteIndex(bytes) == nil
            guard finite, copyInPlaceSum() else { return false }
            if started { staged.update(from: current, count: count) } else { staged.update(repeating: 0, count: count) }
            BFloat16Coding.addScaled(bytes, weight: weight, to: UnsafeMutableBufferPointer(start: staged, count: count))
        }
        if finite { stagedWeight = weight }
        return finite
    }

    /// The staged gradient was accepted for `samples` samples: it joins the sum (an early one when
    /// its turn comes).
    func commit(samples: Int, lossSum: Double, correct: Int) {
        precondition(stagedWeight == Float(samples), "the machine accepts a gradient for the samples it claims, as staged")
        if let rank = stagedEarly {
            stagedEarly = nil
            stagedWeight = nil
            early[rank]?.accepted = (samples, lossSum, correct)
            return
        }
        join(samples: samples, lossSum: lossSum, correct: correct)
        if participants == 0 { return }
        folded += 1
        // Each early gradient whose turn has come, in order.
        while folded >= 2, let rank = rank(at: folded), let next = early[rank], let accepted = next.accepted {
            let finite = next.bytes.withUnsafeBytes {
                stage($0, encoding: next.encoding, weight: Float(accepted.samples), meanOver: foldsLast ? UInt64(accepted.samples) : nil)
            }
            precondition(finite, "an early gradient was checked when it was copied")
            join(samples: accepted.samples, lossSum: accepted.lossSum, correct: accepted.correct)
            folded += 1
        }
    }

    private func join(samples: Int, lossSum: Double, correct: Int) {
        stagedWeight = nil
        meanNorm = stagedMeanNorm
        stagedMeanNorm = nil
        self.samples += samples
        self.lossSum += lossSum
        self.correct += correct
        if let largest = stagedUpdateLargest, let target {
            // The update is made; the mean was never written, and the sum is not needed again.
            stagedUpdateLargest = nil
            appliedUpdate = (target.updated, largest, target.rate)
            inPlace = nil
        } else if let first = stagedInPlace {
            stagedInPlace = nil
            inPlace = first  // `current` stays unwritten until the sweep that completes the sum
        } else {
            inPlace = nil  // the sweep just staged read it
            swap(&current, &staged)
        }
        started = true
    }

    /// Divides the sum by the samples, leaving the mean gradient in `sum`; returns its L2 norm
    /// (rounded to float32, as the parameters are).
    func average() -> Double {
        assert(participants == 0 || !started || folded == participants.nonzeroBitCount, "every participant's gradient is folded in before the mean")
        guard started else {
            // No gradient joined the sum: the mean is zero.
            current.update(repeating: 0, count: count)
            return 0
        }
        if let meanNorm { return meanNorm }
        copyInPlaceSum()
        guard samples > 0 else { return 0 }
        return Double(Float(descent_scale_norm(current, count, 1 / Float(samples))))
    }

    /// Clears the sums for the next step (the next gradient overwrites the buffer). Early
    /// gradients' copies keep their memory for the next.
    func reset() {
        started = false
        stagedWeight = nil
        stagedMeanNorm = nil
        meanNorm = nil
        stagedEarly = nil
        stagedInPlace = nil
        inPlace = nil
        nonFiniteInPlaceRank = nil
        stagedUpdateLargest = nil
        appliedUpdate = nil
        target = nil
        folded = 0
        for rank in early.keys { early[rank]?.accepted = nil }
        samples = 0
        lossSum = 0
        correct = 0
    }
}
