import Testing
@testable import DescentTransport

@Suite("Messages as float32 payloads")
struct MessageFloatsTests {
    static let values: [Float] = [1.5, -2.25, 3.0e-8, 65_504, -0.0, 7.125, 1.0 / 3.0]

    @Test("copyFloats reads the right values from data at any byte offset", arguments: [0, 1, 2, 3])
    func copyFloatsAtOffset(offset: Int) throws {
        // Lay the values' bytes down by hand at `offset` inside a larger buffer.
        var storage = [UInt8](repeating: 0xEE, count: offset + Self.values.count * 4 + 3)
        for (index, value) in Self.values.enumerated() {
            let bits = value.bitPattern
            for byte in 0..<4 { storage[offset + index * 4 + byte] = UInt8(truncatingIfNeeded: bits >> (8 * byte)) }
        }
        var result = [Float](repeating: .nan, count: Self.values.count)
        try storage.withUnsafeBytes { all in
            let slice = UnsafeRawBufferPointer(rebasing: all[offset..<(offset + Self.values.count * 4)])
            try result.withUnsafeMutableBufferPointer { try ZMQMessage.copyFloats(from: slice, into: $0) }
            let view = ZMQMessage.withFloatsIfAligned(slice) { Array($0) }
            #expect((view != nil) == (Int(bitPattern: slice.baseAddress) % 4 == 0))
            if let view { #expect(view.map(\.bitPattern) == Self.values.map(\.bitPattern)) }
        }
        #expect(result.map(\.bitPattern) == Self.values.map(\.bitPattern))
    }

    @Test("floats sent behind a one-byte frame arrive with the same bit patterns")
    func receivedFloatsMatch() throws {
        let context = try ZMQContext()
        let (router, endpoint) = try makeRouter(context)
        let dealer = try makeDealer(context, id: "f", connectingTo: endpoint)
        let floats = (0..<1_001).map { Float($0) * 0.37 - 11 }
        let payload = try floats.withUnsafeBufferPointer { try ZMQMessage(copyingFloats: $0) }
        try dealer.send(header: [5], payload: payload)

        guard case .message(let frames)? = try receive(router) else {
            Issue.record("no message arrived")
            return
        }
        #expect(frames.count == 3)
        var received = [Float](repeating: .nan, count: floats.count)
        try received.withUnsafeMutableBufferPointer { try frames[2].copyFloats(into: $0) }
        #expect(received == floats)
    }

    @Test("copyFloats refuses a payload whose size does not match the destination")
    func copyFloatsRefusesWrongSize() throws {
        let message = try ZMQMessage(copying: [UInt8](repeating: 0, count: 10))
        var destination = [Float](repeating: 0, count: 2)
        #expect(throws: ZMQFloatPayloadError(byteCount: 10, floatCount: 2)) {
            try destination.withUnsafeMutableBufferPointer { try message.copyFloats(into: $0) }
        }
    }

    @Test("a shared copy has the same bytes and the same count")
    func sharedCopyKeepsBytes() throws {
        let message = try ZMQMessage(copying: patternBytes(count: 4_000))
        let copy = try message.sharedCopy()
        #expect(copy.bytes == patternBytes(count: 4_000))
        #expect(message.bytes == patternBytes(count: 4_000))
    }
}
