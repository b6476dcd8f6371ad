import COpenBLAS
import DescentProtocol

/// Sums the workers' mean gradients of one step, each weighted by its sample count, and turns
/// the sum into the mean gradient over the whole global batch: sum_r(n_r * g_r) / sum_r(n_r).
///
/// One buffer, allocated once; a payload whose bytes are not 4-byte aligned is first copied to
/// an aligned scratch buffer (libzmq's zero-copy receive may hand back any offset).
final class GradientAverager {
    let count: Int
    private(set) var sum: [Float]
    private var scratch: [Float]
    private(set) var samples = 0
    private(set) var lossSum = 0.0
    private(set) var correct = 0

    init(count: Int) {
        self.count = count
        sum = [Float](repeating: 0, count: count)
        scratch = [Float](repeating: 0, count: count)
    }

    /// Adds `samples * gradient` (gradient given as the payload's raw float bytes).
    func add(floatBytes bytes: UnsafeRawBufferPointer, samples: Int, lossSum: Double, correct: Int) {
        precondition(bytes.count == count * 4, "payload size was checked before")
        self.samples += samples
        self.lossSum += lossSum
        self.correct += correct
        guard samples > 0 else { return }
        let weight = Float(samples)
        if Int(bitPattern: bytes.baseAddress) % MemoryLayout<Float>.alignment == 0 {
            let floats = bytes.assumingMemoryBound(to: Float.self)
            sum.withUnsafeMutableBufferPointer { cblas_saxpy(Int32(count), weight, floats.baseAddress, 1, $0.baseAddress, 1) }
        } else {
            scratch.withUnsafeMutableBytes { $0.copyMemory(from: bytes) }
            sum.withUnsafeMutableBufferPointer { s in
                scratch.withUnsafeBufferPointer { cblas_saxpy(Int32(count), weight, $0.baseAddress, 1, s.baseAddress, 1) }
            }
        }
    }

    /// Adds `samples * gradient` for a gradient of either wire encoding: a bfloat16 one is decoded
    /// and added in float32 in one sweep, without a scratch copy.
    func add(_ floats: GradientFloats, samples: Int, lossSum: Double, correct: Int) {
        guard floats.encoding == .bf16 else {
            return floats.withBytes { add(floatBytes: $0, samples: samples, lossSum: lossSum, correct: correct) }
        }
        floats.withBytes { bytes in
            precondition(bytes.count == count * 2, "payload size was checked before")
            self.samples += samples
            self.lossSum += lossSum
            self.correct += correct
            guard samples > 0 else { return }
            sum.withUnsafeMutableBufferPointer { BFloat16Coding.addScaled(bytes, weight: Float(samples), to: $0) }
        }
    }

    /// Divides the sum by the samples, leaving the mean gradient in `sum`; returns its L2 norm.
    func average() -> Double {
        guard samples > 0 else { return 0 }
        sum.withUnsafeMutableBufferPointer { cblas_sscal(Int32(count), 1 / Float(samples), $0.baseAddress, 1) }
        return Double(sum.withUnsafeBufferPointer { cblas_snrm2(Int32(count), $0.baseAddress, 1) })
    }

    /// Clears the sums for the next step.
    func reset() {
        sum.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        samples = 0
        lossSum = 0
        correct = 0
    }
}
