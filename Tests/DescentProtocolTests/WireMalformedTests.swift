import Testing
import DescentProtocol

/// A valid message bent one way, and the error that must come back.
struct MalformedCase: Sendable, CustomTestStringConvertible {
    let name: String
    let header: [UInt8]
    let payloadByteCount: Int?
    let expected: WireError
    var testDescription: String { name }

    /// `base` with `bytes` written from `offset` on (offsets are from the layout table, by hand).
    static func patch(_ base: WireHeader, at offset: Int, _ bytes: [UInt8]) -> [UInt8] {
        var header = base.encoded()
        header.replaceSubrange(offset..<(offset + bytes.count), with: bytes)
        return header
    }

    static let step = WireHeader.step(runID: 1, generation: 1, rank: 0, step: 1, participants: 0, batchIndex: 0,
                                      rate: 0.1, parameterCount: 3)
    static let gradient = WireHeader.gradient(runID: 1, generation: 1, rank: 0, step: 1, samples: 8,
                                              lossSum: 2.5, correct: 3, parameterCount: 3)
    static let heartbeat = WireHeader.heartbeat(runID: 1, generation: 1, rank: 0)
    static let welcome = WireHeader.welcome(runID: 1, generation: 1, rank: 0, worldSize: 2, jsonByteCount: 2)
    static let reject = WireHeader.reject(runID: 1, generation: 1, reasonByteCount: 2)
    static let nan: [UInt8] = [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xF8, 0x7F]
    static let plusInfinity: [UInt8] = [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xF0, 0x7F]
    static let minusInfinity: [UInt8] = [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xF0, 0xFF]

    static let all: [MalformedCase] = [
        MalformedCase(name: "short header", header: Array(step.encoded().prefix(63)), payloadByteCount: 12,
                      expected: .wrongHeaderSize(63)),
        MalformedCase(name: "long header", header: step.encoded() + [0], payloadByteCount: 12,
                      expected: .wrongHeaderSize(65)),
        MalformedCase(name: "bad magic", header: patch(step, at: 0, [0x58]), payloadByteCount: 12,
                      expected: .badMagic(0x544E_5358)),
        MalformedCase(name: "version 2", header: patch(step, at: 4, [0x02, 0x00]), payloadByteCount: 12,
                      expected: .unsupportedVersion(2)),
        MalformedCase(name: "version 4", header: patch(step, at: 4, [0x04, 0x00]), payloadByteCount: 12,
                      expected: .unsupportedVersion(4)),
        MalformedCase(name: "type 0", header: patch(step, at: 6, [0x00, 0x00]), payloadByteCount: 12,
                      expected: .unknownType(0)),
        MalformedCase(name: "type 11", header: patch(step, at: 6, [0x0B, 0x00]), payloadByteCount: 12,
                      expected: .unknownType(11)),
        MalformedCase(name: "reserved byte set", header: patch(step, at: 37, [0x01]), payloadByteCount: 12,
                      expected: .reservedBytesNotZero),
        MalformedCase(name: "step with utf8 dtype", header: patch(step, at: 36, [0x02]), payloadByteCount: 12,
                      expected: .wrongDType(type: .step, dtype: 2)),
        MalformedCase(name: "heartbeat with float32 dtype", header: patch(heartbeat, at: 36, [0x01]), payloadByteCount: nil,
                      expected: .wrongDType(type: .heartbeat, dtype: 1)),
        MalformedCase(name: "step with unknown dtype", header: patch(step, at: 36, [0x07]), payloadByteCount: 12,
                      expected: .wrongDType(type: .step, dtype: 7)),
        MalformedCase(name: "payload one byte short", header: step.encoded(), payloadByteCount: 11,
                      expected: .payloadSizeMismatch(type: .step, count: 3, byteCount: 11)),
        MalformedCase(name: "count larger than payload", header: patch(gradient, at: 32, [0x04]), payloadByteCount: 12,
                      expected: .payloadSizeMismatch(type: .gradient, count: 4, byteCount: 12)),
        MalformedCase(name: "heartbeat with a count", header: patch(heartbeat, at: 32, [0x05]), payloadByteCount: nil,
                      expected: .payloadSizeMismatch(type: .heartbeat, count: 5, byteCount: 0)),
        MalformedCase(name: "heartbeat with a payload frame", header: heartbeat.encoded(), payloadByteCount: 0,
                      expected: .unexpectedPayload(type: .heartbeat, byteCount: 0)),
        MalformedCase(name: "step without payload", header: step.encoded(), payloadByteCount: nil,
                      expected: .missingPayload(type: .step)),
        MalformedCase(name: "welcome without payload", header: welcome.encoded(), payloadByteCount: nil,
                      expected: .missingPayload(type: .welcome)),
        MalformedCase(name: "NaN rate", header: patch(step, at: 40, nan), payloadByteCount: 12,
                      expected: .nonFiniteRate),
        MalformedCase(name: "infinite rate", header: patch(step, at: 40, plusInfinity), payloadByteCount: 12,
                      expected: .nonFiniteRate),
        MalformedCase(name: "welcome with field a set", header: patch(welcome, at: 40, plusInfinity), payloadByteCount: 2,
                      expected: .unusedFieldNotZero(type: .welcome, field: "a")),
        MalformedCase(name: "reject with field c set", header: patch(reject, at: 56, [0x01]), payloadByteCount: 2,
                      expected: .unusedFieldNotZero(type: .reject, field: "c")),
        MalformedCase(name: "heartbeat with field b set", header: patch(heartbeat, at: 48, [0x01]), payloadByteCount: nil,
                      expected: .unusedFieldNotZero(type: .heartbeat, field: "b")),
    ]
}

@Suite("Malformed wire messages")
struct WireMalformedTests {
    @Test("a malformed header is refused with its specific error", arguments: MalformedCase.all)
    func refused(bad: MalformedCase) {
        #expect(throws: bad.expected) {
            try WireHeader.decode(bad.header, payloadByteCount: bad.payloadByteCount)
        }
    }

    @Test("a message of 0 or 3 frames is refused with the frame count", arguments: [0, 3])
    func wrongFrameCount(frameCount: Int) {
        let frames = [[UInt8]](repeating: MalformedCase.heartbeat.encoded(), count: frameCount)
        #expect(throws: WireError.wrongFrameCount(frameCount)) { try WireHeader.decode(frames: frames) }
    }

    @Test("errors describe the problem in words")
    func descriptionsNameTheProblem() {
        #expect(WireError.badMagic(0x1234).description.contains("bad magic 0x1234"))
        #expect(WireError.payloadSizeMismatch(type: .gradient, count: 4, byteCount: 12).description
                == "wire: gradient header announces 4 float32 elements (16 bytes) but the payload has 12 bytes")
        #expect(WireError.wrongFrameCount(3).description.contains("got 3"))
    }
}
