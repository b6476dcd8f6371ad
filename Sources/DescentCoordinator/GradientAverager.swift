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
final class GradientAverager {
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

    /// Reads a gradient (its payload's raw float bytes) once: returns false when one of its floats
    /// is NaN or infinite; otherwise `sum + samples * gradient` waits for `commit`.
    func stage(floatBytes bytes: UnsafeRawBufferPointer, samples: UInt64) -> Bool {
        stage(bytes, encoding: .float32, weight: Float(samples))
    }

    /// `stage` for a gradient of either wire encoding (a bfloat16 one is checked, then decoded
    /// and added in float32).
    func stage(_ floats: GradientFloats, samples: UInt64) -> Bool {
        floats.withBytes { stage($0, encoding: floats.encoding, weight: Float(samples)) }
    }

    /// Adds an accepted gradient at once (the async and bounded modes' update buffers; its
    /// finiteness was checked when it arrived). `scale` multiplies its weight only (the
    /// staleness-aware rate: 1 / (staleness + 1)), not its samples.
    func add(_ floats: GradientFloats, samples: Int, lossSum: Double, correct: Int, scale: Float = 1) {
        guard floats.withBytes({ stage($0, encoding: floats.encoding, weight: Float(samples) * scale) }) else { return }
        join(samples: samples, lossSum: lossSum, correct: correct)
    }

    private func stage(_ bytes: UnsafeRawBufferPointer, encoding: WireEncoding, weight: Float) -> Bool {
        stagedWeight = nil
        let finite: Bool
        switch encoding {
        case .float32:
            precondition(bytes.count == count * 4, "payload size was checked before")
            guard let base = bytes.baseAddress else { return true }
            finite = descent_stage_weighted(staged, started ? current : nil, base, count, weight, started ? 0 : 1) != 0
        case .bf16:
            // Remote workers only (the socket's private frame): check, then sum in a second sweep.
            finite = BFloat16Coding.firstNonFiniteIndex(bytes) == nil
            guard finite else { break }
            if started { staged.update(from: current, count: count) } else { staged.update(repeating: 0, count: count) }
            BFloat16Coding.addScaled(bytes, weight: weight, to: UnsafeMutableBufferPointer(start: staged, count: count))
        }
        if finite { stagedWeight = weight }
        return finite
    }

    /// The staged gradient was accepted for `samples` samples: it joins the sum.
    func commit(samples: Int, lossSum: Double, correct: Int) {
        precondition(stagedWeight == Float(samples), "the machine accepts a gradient for the samples it claims, as staged")
        join(samples: samples, lossSum: lossSum, correct: correct)
    }

    private func join(samples: Int, lossSum: Double, correct: Int) {
        stagedWeight = nil
        self.samples += samples
        self.lossSum += lossSum
        self.correct += correct
        swap(&current, &staged)
        started = true
    }

    /// Divides the sum by the samples, leaving the mean gradient in `sum`; returns its L2 norm
    /// (rounded to float32, as the parameters are).
    func average() -> Double {
        guard started else {
            // No gradient joined the sum: the mean is zero.
            current.update(repeating: 0, count: count)
            return 0
        }
        guard samples > 0 else { return 0 }
        return Double(Float(descent_scale_norm(current, count, 1 / Float(samples))))
    }

    /// Clears the sums for the next step (the next gradient overwrites the buffer).
    func reset() {
        started = false
        stagedWeight = nil
        samples = 0
        lossSum = 0
        correct = 0
    }
}
