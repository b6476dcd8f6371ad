import Testing
import DescentProtocol

/// One valid message of each type: its header and the size of its payload frame (nil: none).
struct ValidMessage: Sendable, CustomTestStringConvertible {
    let header: WireHeader
    let payloadByteCount: Int?
    var testDescription: String { "\(header.type)" }

    static let all: [ValidMessage] = [
        ValidMessage(header: .hello(configHash: 0xDEAD_BEEF, processID: 4242, jsonByteCount: 17), payloadByteCount: 17),
        ValidMessage(header: .welcome(runID: 99, generation: 3, rank: 1, worldSize: 4, jsonByteCount: 250), payloadByteCount: 250),
        ValidMessage(header: .reject(runID: 99, generation: 3, reasonByteCount: 12), payloadByteCount: 12),
        ValidMessage(header: .step(runID: 99, generation: 3, rank: 0, step: 7, participants: 2, batchIndex: 5,
                                   rate: 0.125, parameterCount: 101_770), payloadByteCount: 407_080),
        ValidMessage(header: .gradient(runID: 99, generation: 3, rank: 3, step: 7, samples: 32, lossSum: 73.5,
                                       correct: 29, parameterCount: 101_770), payloadByteCount: 407_080),
        ValidMessage(header: .gradient(runID: 99, generation: 3, rank: 3, step: 8, samples: 0, lossSum: 0,
                                       correct: 0, parameterCount: 10), payloadByteCount: 40),
        ValidMessage(header: .heartbeat(runID: 99, generation: 3, rank: 2, step: 7), payloadByteCount: nil),
        ValidMessage(header: .stop(runID: 99, generation: 3, rank: 2, step: 900, reasonByteCount: 4), payloadByteCount: 4),
        ValidMessage(header: .registerAgain(runID: 99, generation: 3), payloadByteCount: nil),
    ]
}

@Suite("Wire header round trip")
struct WireRoundTripTests {
    @Test("every message type decodes to the header it was encoded from", arguments: ValidMessage.all)
    func roundTrip(message: ValidMessage) throws {
        let bytes = message.header.encoded()
        #expect(bytes.count == 64)
        #expect(try WireHeader.decode(bytes, payloadByteCount: message.payloadByteCount) == message.header)
    }

    @Test("every message type passes the whole-message check with its frames", arguments: ValidMessage.all)
    func wholeMessage(message: ValidMessage) throws {
        var frames = [message.header.encoded()]
        if let size = message.payloadByteCount { frames.append([UInt8](repeating: 0, count: size)) }
        #expect(try WireHeader.decode(frames: frames) == message.header)
    }

    @Test("each type's dtype byte and type number sit at offsets 36 and 6",
          arguments: zip(ValidMessage.all, [2, 2, 2, 1, 1, 1, 0, 2, 0] as [UInt8]))
    func dtypeByte(message: ValidMessage, dtype: UInt8) {
        let bytes = message.header.encoded()
        #expect(bytes[36] == dtype)
        #expect(UInt16(bytes[6]) | UInt16(bytes[7]) << 8 == message.header.type.rawValue)
    }

    @Test("message type numbers are the documented ones")
    func typeNumbers() {
        let numbers = MessageType.allCases.map { ($0.description, $0.rawValue) }
        #expect(numbers.map(\.0) == ["hello", "welcome", "reject", "step", "gradient", "heartbeat", "stop", "register-again",
                                      "step (shared memory)", "gradient (shared memory)"])
        #expect(numbers.map(\.1) == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    }
}
