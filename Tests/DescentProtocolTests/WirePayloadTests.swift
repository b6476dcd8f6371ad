import Foundation
import Testing
import DescentProtocol

@Suite("Wire payload checks")
struct WirePayloadTests {
    static let finite: [Float] = [0, -0.0, 1, -1, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
                                  .leastNonzeroMagnitude, Float(bitPattern: 0x0000_1234), 3.5e7]

    @Test("finite values, subnormals and the extremes pass")
    func finitePasses() throws {
        let values = Self.finite + [Float](repeating: 0.25, count: 1_000)
        #expect(values.withUnsafeBufferPointer { WirePayload.firstNonFiniteIndex($0) } == nil)
        try values.withUnsafeBufferPointer { try WirePayload.checkFinite($0) }
    }

    @Test("the first NaN or infinity is found at its index",
          arguments: [(Float.nan, 0), (Float.infinity, 517), (-Float.infinity, 1_008), (Float(bitPattern: 0xFFC0_0001), 300)])
    func nonFiniteFound(bad: Float, index: Int) {
        var values = Self.finite + [Float](repeating: 0.25, count: 1_000)
        values[index] = bad
        values[values.count - 1] = .nan  // a later one must not hide the first
        #expect(values.withUnsafeBufferPointer { WirePayload.firstNonFiniteIndex($0) } == index)
        #expect(throws: WireError.nonFinitePayload(index: index)) {
            try values.withUnsafeBufferPointer { try WirePayload.checkFinite($0) }
        }
    }

    @Test("raw float bytes at an odd offset are scanned the same way", arguments: [1, 2, 3])
    func rawBytesAtOffset(offset: Int) throws {
        var values = [Float](repeating: 1.5, count: 64)
        var bytes = [UInt8](repeating: 0, count: offset) + values.withUnsafeBytes { Array($0) }
        try bytes.withUnsafeBytes { all in
            try WirePayload.checkFinite(floatBytes: UnsafeRawBufferPointer(rebasing: all[offset...]))
        }
        values[40] = .infinity
        bytes = [UInt8](repeating: 0, count: offset) + values.withUnsafeBytes { Array($0) }
        let found = bytes.withUnsafeBytes { all in
            WirePayload.firstNonFiniteIndex(floatBytes: UnsafeRawBufferPointer(rebasing: all[offset...]))
        }
        #expect(found == 40)
    }

    @Test("the element count is checked against the model's parameter count")
    func elementCount() throws {
        let header = WireHeader.gradient(runID: 1, generation: 1, rank: 0, step: 1, samples: 1, lossSum: 0,
                                         correct: 0, parameterCount: 10)
        try header.checkElementCount(expected: 10)
        #expect(throws: WireError.elementCountMismatch(type: .gradient, expected: 11, actual: 10)) {
            try header.checkElementCount(expected: 11)
        }
    }
}

@Suite("Wire text payloads")
struct WireTextTests {
    struct Hello: Codable, Equatable {
        var host: String
        var threads: Int
    }

    @Test("a JSON payload decodes to its value")
    func jsonDecodes() throws {
        let bytes = Array(#"{"host":"node-3","threads":4}"#.utf8)
        #expect(try WireText.decodeJSON(Hello.self, from: bytes, in: .hello) == Hello(host: "node-3", threads: 4))
    }

    @Test("encoded JSON decodes back to the same value")
    func jsonRoundTrip() throws {
        let value = Hello(host: "h", threads: 2)
        #expect(try WireText.decodeJSON(Hello.self, from: try WireText.encodeJSON(value), in: .welcome) == value)
    }

    @Test("JSON with a missing key is refused naming the key")
    func jsonMissingKey() {
        let bytes = Array(#"{"host":"node-3"}"#.utf8)
        #expect(throws: WireError.invalidJSON(type: .hello, reason: "missing key 'threads'")) {
            try WireText.decodeJSON(Hello.self, from: bytes, in: .hello)
        }
    }

    @Test("bytes that are not JSON are refused as invalid JSON")
    func notJSON() {
        do {
            _ = try WireText.decodeJSON(Hello.self, from: Array("not json".utf8), in: .welcome)
            Issue.record("garbage decoded")
        } catch {
            guard case .invalidJSON(let type, _) = error else {
                Issue.record("wrong error \(error)")
                return
            }
            #expect(type == .welcome)
        }
    }

    @Test("a text payload decodes, and invalid UTF-8 is refused")
    func text() throws {
        let reason = Array("run finished ✓".utf8)
        #expect(try reason.withUnsafeBytes { try WireText.decodeText($0, in: .stop) } == "run finished ✓")
        let broken: [UInt8] = [0x61, 0xC3]
        #expect(throws: WireError.invalidUTF8(type: .reject)) {
            try broken.withUnsafeBytes { try WireText.decodeText($0, in: .reject) }
        }
    }
}
