import Testing
import DescentProtocol

@Suite("Wire header layout")
struct WireHeaderLayoutTests {
    /// A step header written out by hand from the table in docs/protocol.md.
    static let stepBytes: [UInt8] = [
        0x44, 0x53, 0x4E, 0x54,                          // 0  magic "DSNT"
        0x03, 0x00,                                      // 4  version 3
        0x04, 0x00,                                      // 6  type 4 (step)
        0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,  // 8  run id 0x0102030405060708
        0x0D, 0x0C, 0x0B, 0x0A,                          // 16 generation 0x0A0B0C0D
        0x02, 0x00, 0x00, 0x00,                          // 20 rank 2
        0x2C, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // 24 step 300
        0x03, 0x00, 0x00, 0x00,                          // 32 count 3
        0x01,                                            // 36 dtype float32
        0x00,                                            // 37 reserved
        0x07, 0x00,                                      // 38 round 7
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xE0, 0x3F,  // 40 a: rate 0.5
        0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // 48 b: participants {0}
        0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // 56 c: batch index 256
    ]

    static let stepHeader = WireHeader.step(
        runID: 0x0102_0304_0506_0708, generation: 0x0A0B_0C0D, rank: 2, step: 300, round: 7,
        participants: 1, batchIndex: 256, rate: 0.5, parameterCount: 3)

    @Test("a step header encodes to the hand-written bytes")
    func encodesToPinnedBytes() {
        #expect(Self.stepHeader.encoded() == Self.stepBytes)
    }

    @Test("the hand-written bytes decode to the step header, with its named fields")
    func decodesPinnedBytes() throws {
        let header = try WireHeader.decode(Self.stepBytes, payloadByteCount: 12)
        #expect(header == Self.stepHeader)
        #expect(header.rate == 0.5)
        #expect(header.participants == 1)
        #expect(header.round == 7)
        #expect(header.batchIndex == 256)
        #expect(header.dtype == .float32)
    }

    @Test("encoding into a caller's buffer at an odd offset writes the same bytes")
    func encodesIntoOffsetBuffer() {
        var storage = [UInt8](repeating: 0xAA, count: 67)
        storage.withUnsafeMutableBytes { all in
            Self.stepHeader.encode(into: UnsafeMutableRawBufferPointer(rebasing: all[1..<65]))
        }
        #expect(storage[0] == 0xAA && storage[65] == 0xAA)
        #expect(Array(storage[1..<65]) == Self.stepBytes)
    }

    @Test("decoding from bytes at an odd offset gives the same header")
    func decodesFromOffsetBuffer() throws {
        let storage = [0xAA] + Self.stepBytes
        let header = try storage.withUnsafeBytes { all in
            try WireHeader.decode(UnsafeRawBufferPointer(rebasing: all[1...]), payloadByteCount: 12)
        }
        #expect(header == Self.stepHeader)
    }
}
