import DescentCore
import Testing
@testable import DescentProtocol

/// bfloat16 conversion against a reference written here from the definition: the two bfloat16
/// neighbours of x (its top 16 bits, and one unit more in magnitude), the distances to each
/// computed exactly in Double, the nearer kept, a tie to the one with an even last bit, and
/// overflow past the halfway point to 2^128 going to infinity (IEEE 754 roundTiesToEven).
@Suite("bfloat16 on the wire")
struct BFloat16CodingTests {
    /// The reference rounding of a non-NaN float to bfloat16 bits.
    static func reference(_ x: Float) -> UInt16 {
        let bits = x.bitPattern
        let down = UInt16(bits >> 16)  // x with its low 16 bits dropped: toward zero
        if x.isInfinite || bits & 0xFFFF == 0 { return down }
        let up = down + 1  // one unit further from zero (0x7F7F + 1 is the infinity pattern)
        let lowValue = Double(Float(bitPattern: UInt32(down) << 16))
        // Past the largest bfloat16, IEEE rounds as if the exponent went on: the next value is 2^128.
        let highValue = up & 0x7FFF == 0x7F80 ? (x < 0 ? -0x1p128 : 0x1p128) : Double(Float(bitPattern: UInt32(up) << 16))
        let toLow = abs(Double(x) - lowValue), toHigh = abs(highValue - Double(x))
        if toLow != toHigh { return toLow < toHigh ? down : up }
        return down & 1 == 0 ? down : up
    }

    static func encode(_ values: [Float]) -> [UInt16] {
        var bytes = [UInt8](repeating: 0, count: values.count * 2)
        values.withUnsafeBufferPointer { v in bytes.withUnsafeMutableBytes { BFloat16Coding.encode(v, into: $0) } }
        return stride(from: 0, to: bytes.count, by: 2).map { UInt16(bytes[$0]) | UInt16(bytes[$0 + 1]) << 8 }
    }

    static func decode(_ words: [UInt16]) -> [Float] {
        let bytes = words.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        var values = [Float](repeating: 0, count: words.count)
        bytes.withUnsafeBytes { b in values.withUnsafeMutableBufferPointer { BFloat16Coding.decode(b, into: $0) } }
        return values
    }

    /// Worked by hand: bfloat16 keeps the sign, 8 exponent bits and 7 mantissa bits.
    @Test("hand-worked values round to nearest, ties to even", arguments: [
        (UInt32(0x3F80_0000), UInt16(0x3F80)),  // 1.0 exactly
        (0x3F80_8000, 0x3F80),  // 1 + 2^-8: halfway between 1 and 1 + 2^-7, 0x3F80 is even
        (0x3F81_8000, 0x3F82),  // halfway, 0x3F81 odd: up to 0x3F82
        (0x3F80_8001, 0x3F81),  // just past halfway: up
        (0x3F80_7FFF, 0x3F80),  // just below halfway: down
        (0x4049_0FDB, 0x4049),  // pi = 3.14159274: 0x0FDB < 0x8000
        (0x3EAA_AAAB, 0x3EAB),  // 1/3: 0xAAAB > 0x8000
        (0xBF80_8000, 0xBF80),  // -(1 + 2^-8): tie, even, the sign kept
        (0xBFC0_C000, 0xBFC1),  // -1.50585938: 0xC000 > 0x8000, away from zero
        (0x0000_8000, 0x0000),  // a subnormal tie: to the even 0
        (0x0001_8000, 0x0002),  // a subnormal tie from an odd unit: up
        (0x007F_FFFF, 0x0080),  // the largest subnormal rounds up into the smallest normal
        (0x7F7F_7FFF, 0x7F7F),  // below the halfway point to 2^128: the largest bfloat16
        (0x7F7F_8000, 0x7F80),  // halfway to 2^128 from an odd unit: overflow to infinity
        (0x7F7F_FFFF, 0x7F80),  // the largest float: overflow to infinity
        (0xFF7F_FFFF, 0xFF80),  // and the most negative to minus infinity
        (0x7F80_0000, 0x7F80),  // infinity stays infinity
        (0xFF80_0000, 0xFF80),
        (0x8000_0000, 0x8000),  // -0 keeps its sign
    ])
    func handWorked(input: UInt32, expected: UInt16) {
        #expect(Self.encode([Float(bitPattern: input)]) == [expected])
        #expect(Self.reference(Float(bitPattern: input)) == expected)
    }

    @Test("random bit patterns and every exponent's edges match the reference")
    func matchesReference() {
        var generator = SeededGenerator(seed: 2026)
        var inputs: [Float] = []
        for _ in 0..<200_000 { inputs.append(Float(bitPattern: UInt32(truncatingIfNeeded: generator.next()))) }
        for exponent in UInt32(0)...254 {
            for low: UInt32 in [0, 1, 0x7FFF, 0x8000, 0x8001, 0xFFFF, 0x1_7FFF, 0x1_8000, 0x7F_FFFF] {
                inputs.append(Float(bitPattern: exponent << 23 | low))
                inputs.append(Float(bitPattern: 0x8000_0000 | exponent << 23 | low))
            }
        }
        inputs.removeAll { $0.isNaN }
        let encoded = Self.encode(inputs)
        let mismatches = zip(inputs, encoded).filter { Self.reference($0) != $1 }
        #expect(mismatches.count == 0, "first mismatches: \(mismatches.prefix(5).map { (String($0.bitPattern, radix: 16), String($1, radix: 16)) })")
    }

    @Test("a NaN stays a NaN, quiet, with its sign, and is found as non-finite after decoding",
          arguments: [UInt32(0x7FC0_0000), 0x7F80_0001, 0x7F80_FFFF, 0xFF80_0001, 0xFFFF_FFFF, 0x7FBF_FFFF])
    func nanStaysNaN(bits: UInt32) {
        let word = Self.encode([Float(bitPattern: bits)])[0]
        #expect(word & 0x7F80 == 0x7F80 && word & 0x007F != 0, "exponent all ones, mantissa not zero: \(String(word, radix: 16))")
        #expect(word & 0x0040 != 0 && word & 0x8000 == UInt16(bits >> 16) & 0x8000)
        let decoded = Self.decode([word])[0]
        #expect(decoded.isNaN)
        var values = [Float](repeating: 0.5, count: 300)
        values[123] = Float(bitPattern: bits)
        let bytes = Self.encode(values).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        #expect(bytes.withUnsafeBytes { BFloat16Coding.firstNonFiniteIndex($0) } == 123)
        #expect(bytes.withUnsafeBytes { WirePayload.firstNonFiniteIndex(bytes: $0, encoding: .bf16) } == 123)
    }

    @Test("decoding is exact: every one of the 65,536 patterns becomes its bits followed by 16 zeros")
    func decodeIsExact() {
        let words = (0...UInt16.max).map { $0 }
        let decoded = Self.decode(words)
        #expect(zip(words, decoded).allSatisfy { UInt32($0) << 16 == $1.bitPattern })
        // Infinity is non-finite for the divergence check; the largest finite bfloat16 is not.
        let bytes: [UInt8] = [0x7F, 0x7F, 0x80, 0x7F]  // 0x7F7F, then 0x7F80
        #expect(bytes.withUnsafeBytes { BFloat16Coding.firstNonFiniteIndex($0) } == 1)
        #expect([UInt8](repeating: 0x3F, count: 64).withUnsafeBytes { BFloat16Coding.firstNonFiniteIndex($0) } == nil)
    }

    @Test("frames at odd byte offsets are read and written the same", arguments: [1, 3])
    func unaligned(offset: Int) {
        let values: [Float] = (0..<37).map { Float($0) * 0.3 - 5 }
        var frame = [UInt8](repeating: 0xEE, count: offset + values.count * 2)
        values.withUnsafeBufferPointer { v in
            frame.withUnsafeMutableBytes { BFloat16Coding.encode(v, into: UnsafeMutableRawBufferPointer(rebasing: $0[offset...])) }
        }
        #expect(Array(frame[..<offset]) == [UInt8](repeating: 0xEE, count: offset), "nothing written before the frame")
        let words = stride(from: offset, to: frame.count, by: 2).map { UInt16(frame[$0]) | UInt16(frame[$0 + 1]) << 8 }
        #expect(words == values.map(Self.reference))
        var decoded = [Float](repeating: 0, count: values.count)
        frame.withUnsafeBytes { b in decoded.withUnsafeMutableBufferPointer { BFloat16Coding.decode(UnsafeRawBufferPointer(rebasing: b[offset...]), into: $0) } }
        #expect(decoded == Self.decode(words))
    }

    @Test("the weighted sum adds the decoded values in float32")
    func addScaled() {
        let values: [Float] = [1, -2.5, 0.0078125, 3e-3, 1234.5]
        let words = Self.encode(values)
        let bytes = words.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        var sum: [Float] = [0.5, 0.5, 0.5, 0.5, 0.5]
        bytes.withUnsafeBytes { b in sum.withUnsafeMutableBufferPointer { BFloat16Coding.addScaled(b, weight: 3, to: $0) } }
        let expected = zip([Float](repeating: 0.5, count: 5), Self.decode(words)).map { $0 + 3 * $1 }
        #expect(sum == expected)
    }

    /// 1 + 2^-10 is not a bfloat16 (a unit at 1 is 2^-7), so plain rounding sends 1 every time:
    /// 128 steps add up to 128 instead of 128.125. With the residual carried over, what is sent
    /// adds up to the true sum within one unit (2^-7).
    @Test("error feedback keeps the sum of what is sent within one unit of the true sum")
    func errorFeedback() {
        let gradient: [Float] = [1 + 0x1p-10, -(1 + 0x1p-10)]
        var residual: [Float] = [0, 0]
        var sentSum: [Double] = [0, 0]
        var plainSum: [Double] = [0, 0]
        var bytes = [UInt8](repeating: 0, count: 4)
        for _ in 0..<128 {
            gradient.withUnsafeBufferPointer { g in
                residual.withUnsafeMutableBufferPointer { r in bytes.withUnsafeMutableBytes { BFloat16Coding.encode(g, residual: r, into: $0) } }
            }
            let sent = Self.decode([UInt16(bytes[0]) | UInt16(bytes[1]) << 8, UInt16(bytes[2]) | UInt16(bytes[3]) << 8])
            for i in 0..<2 { sentSum[i] += Double(sent[i]); plainSum[i] += Double(Self.decode([Self.reference(gradient[i])])[0]) }
        }
        #expect(plainSum == [128, -128])
        #expect(abs(sentSum[0] - 128.125) <= 0x1p-7 && abs(sentSum[1] + 128.125) <= 0x1p-7, "\(sentSum)")
        // What is left is exactly what has not been sent yet.
        #expect(abs(sentSum[0] + Double(residual[0]) - 128.125) < 1e-9)
    }

    @Test("a non-finite value sends a non-finite word and leaves no residual behind")
    func feedbackResetsOnNonFinite() {
        let gradient: [Float] = [.nan, .infinity, 0.3]
        var residual: [Float] = [0.1, 0.1, 0]
        var bytes = [UInt8](repeating: 0, count: 6)
        gradient.withUnsafeBufferPointer { g in
            residual.withUnsafeMutableBufferPointer { r in bytes.withUnsafeMutableBytes { BFloat16Coding.encode(g, residual: r, into: $0) } }
        }
        #expect(bytes.withUnsafeBytes { BFloat16Coding.firstNonFiniteIndex($0) } == 0)
        #expect(residual[0] == 0 && residual[1] == 0)
        #expect(residual[2] == 0.3 - Self.decode([Self.reference(0.3)])[0])
    }
}
