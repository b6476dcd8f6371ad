import DescentCore
import DescentKernels

/// bfloat16 payloads: float32 values rounded to their top 16 bits (nearest, ties to even; NaN
/// kept a NaN, overflow to infinity), two little-endian bytes each, at any alignment. Every call is
/// one vectorised sweep (`DescentKernels`) into the caller's buffers: nothing is allocated.
public enum BFloat16Coding {
    /// Writes `values` as bfloat16 into `bytes` (exactly `values.count * 2` of them).
    public static func encode(_ values: UnsafeBufferPointer<Float>, into bytes: UnsafeMutableRawBufferPointer) {
        precondition(bytes.count == values.count * 2, "the caller sizes the frame: \(values.count) values need \(values.count * 2) bytes")
        guard let source = values.baseAddress, let target = bytes.baseAddress else { return }
        descent_bf16_encode(source, values.count, target)
    }

    /// Writes `values + residual` as bfloat16 into `bytes` and leaves in `residual` what the rounding
    /// lost, to be sent with the next values (error feedback; 0 where the result is not finite).
    public static func encode(_ values: UnsafeBufferPointer<Float>, residual: UnsafeMutableBufferPointer<Float>,
                              into bytes: UnsafeMutableRawBufferPointer) {
        precondition(bytes.count == values.count * 2 && residual.count == values.count, "the caller sizes the frame and the residual")
        guard let source = values.baseAddress, let kept = residual.baseAddress, let target = bytes.baseAddress else { return }
        descent_bf16_encode_feedback(source, kept, values.count, target)
    }

    /// Decodes the bfloat16 `bytes` into `values` (exact). `bytes.count` must be `values.count * 2`.
    public static func decode(_ bytes: UnsafeRawBufferPointer, into values: UnsafeMutableBufferPointer<Float>) {
        precondition(bytes.count == values.count * 2, "the header checks sized the payload: \(values.count) values, \(bytes.count) bytes")
        guard let source = bytes.baseAddress, let target = values.baseAddress else { return }
        descent_bf16_decode(source, values.count, target)
    }

    /// `sum += weight * decoded(bytes)`, in float32.
    public static func addScaled(_ bytes: UnsafeRawBufferPointer, weight: Float, to sum: UnsafeMutableBufferPointer<Float>) {
        precondition(bytes.count == sum.count * 2, "the header checks sized the payload: \(sum.count) values, \(bytes.count) bytes")
        guard let source = bytes.baseAddress, let target = sum.baseAddress else { return }
        descent_bf16_axpy(source, sum.count, weight, target)
    }

    /// The index of the first NaN or infinity among the bfloat16 values of `bytes`, or nil.
    public static func firstNonFiniteIndex(_ bytes: UnsafeRawBufferPointer) -> Int? {
        let count = bytes.count / 2
        guard count > 0, let source = bytes.baseAddress else { return nil }
        let index = descent_bf16_first_nonfinite(source, count)
        return index < count ? index : nil
    }
}

extension WirePayload {
    /// `firstNonFiniteIndex(floatBytes:)` for a payload of either encoding.
    public static func firstNonFiniteIndex(bytes: UnsafeRawBufferPointer, encoding: WireEncoding) -> Int? {
        encoding == .bf16 ? BFloat16Coding.firstNonFiniteIndex(bytes) : firstNonFiniteIndex(floatBytes: bytes)
    }
}
