/// Checks on float32 payloads. The coordinator runs `checkFinite` on every gradient before averaging.
public enum WirePayload {
    /// Bits of a float without its sign; NaN and the infinities are exactly those >= this value.
    private static let exponentAllOnes: Int32 = 0x7F80_0000

    /// The index of the first NaN or infinity in `values`, or nil when all are finite.
    /// One branch-free pass (a max over the sign-cleared bit patterns, as non-negative Int32 so the
    /// compare is a plain signed one; the compiler vectorises it); the index is searched only when
    /// something is wrong.
    public static func firstNonFiniteIndex(_ values: UnsafeBufferPointer<Float>) -> Int? {
        var largest: Int32 = 0
        for value in values {
            largest = max(largest, Int32(bitPattern: value.bitPattern & 0x7FFF_FFFF))
        }
        guard largest >= exponentAllOnes else { return nil }
        return values.firstIndex { !$0.isFinite }
    }

    /// `firstNonFiniteIndex` for float32 bytes at any alignment (e.g. straight from a received frame).
    /// A trailing partial float is ignored; check the size with `WireHeader.decode` first.
    public static func firstNonFiniteIndex(floatBytes bytes: UnsafeRawBufferPointer) -> Int? {
        let count = bytes.count / MemoryLayout<Float>.size
        var largest: Int32 = 0
        for index in 0..<count {
            let bits = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self))
            largest = max(largest, Int32(bitPattern: bits & 0x7FFF_FFFF))
        }
        guard largest >= exponentAllOnes else { return nil }
        return (0..<count).first { index in
            let bits = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self))
            return Int32(bitPattern: bits & 0x7FFF_FFFF) >= exponentAllOnes
        }
    }

    /// Throws `WireError.nonFinitePayload` naming the first NaN or infinity in `values`.
    public static func checkFinite(_ values: UnsafeBufferPointer<Float>) throws(WireError) {
        if let index = firstNonFiniteIndex(values) { throw WireError.nonFinitePayload(index: index) }
    }

    /// Throws `WireError.nonFinitePayload` naming the first NaN or infinity in float32 `bytes`.
    public static func checkFinite(floatBytes bytes: UnsafeRawBufferPointer) throws(WireError) {
        if let index = firstNonFiniteIndex(floatBytes: bytes) { throw WireError.nonFinitePayload(index: index) }
    }
}
