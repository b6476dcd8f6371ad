import DescentProtocol
import DescentTransport
import Foundation
import Testing

/// A hand-driven worker: a real DEALER socket that the test steers frame by frame.
final class FakeWorker {
    let socket: ZMQSocket

    init(_ context: ZMQContext, endpoint: String, identity: [UInt8]) throws {
        socket = try ZMQSocket(context, kind: .dealer)
        try socket.setRoutingID(identity)
        try socket.connect(endpoint)
    }

    func send(_ header: [UInt8], _ payload: [UInt8]? = nil) throws {
        let message = try payload.map { try ZMQMessage(copying: $0) }
        #expect(try socket.send(header: header, payload: message) == .sent)
    }

    /// The next message within `seconds`, or nil.
    func receive(seconds: Double = 10) throws -> (header: WireHeader, payload: [UInt8]?)? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            guard try poll(items: [ZMQPollItem(socket)], timeout: 100)[0].contains(.readable) else { continue }
            guard case .message(let frames) = try socket.receiveMultipart(maxFrames: 2, mode: .dontWait) else { continue }
            let payload = frames.count == 2 ? frames[1].bytes : nil
            return (try WireHeader.decode(frames[0].bytes, payloadByteCount: payload?.count), payload)
        }
        return nil
    }

    /// The next message that is not a heartbeat.
    func receiveSkippingHeartbeats(seconds: Double = 10) throws -> (header: WireHeader, payload: [UInt8]?)? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            guard let message = try receive(seconds: deadline.timeIntervalSinceNow) else { return nil }
            if message.header.type != .heartbeat { return message }
        }
        return nil
    }
}

func floatBytes(_ values: [Float]) -> [UInt8] {
    values.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
}

func floats(_ bytes: [UInt8]) -> [Float] {
    stride(from: 0, to: bytes.count, by: 4).map { i in
        Float(bitPattern: UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24)
    }
}

extension SystemTests {
    @Test func malformedAndOutOfPlaceFramesAreRejectedCountedAndNeverApplied() throws {
        let dir = try Paths.temporaryDirectory("malformed")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticMNIST.write(to: dir, train: 64, test: 10)
        let config = try writeConfig("""
            data:
              dir: \(dir)
            training:
              epochs: 1
              batch_size: 16
            schedule:
              type: exponential
              initial_rate: 0.5
              decay_steps: 1
              decay_rate: 0.5
              staircase: true
            """, in: dir)
        let endpoint = "ipc://\(dir)/c.sock"
        let coordinator = try Child("coordinator", ["coordinator", "--config", config, "--workers", "1", "--bind", endpoint, "--max-steps", "2"], directory: dir)
        defer { coordinator.stop() }
        #expect(coordinator.waitFor("waiting for 1 worker"))

        let context = try ZMQContext()
        let worker = try FakeWorker(context, endpoint: endpoint, identity: Array("fake-worker".utf8))
        let hello = try WireText.encodeJSON(WorkerIntroduction(host: "test", pid: 1, requestedRank: nil))
        try worker.send(WireHeader.hello(configHash: 0, processID: 1, jsonByteCount: UInt32(hello.count)).encoded(), hello)
        let welcome = try #require(try worker.receiveSkippingHeartbeats())
        #expect(welcome.header.type == .welcome)
        let settings = try WireText.decodeJSON(RunSettings.self, from: welcome.payload!, in: .welcome)
        let runID = welcome.header.runID
        let count = settings.parameterCount
        let step0 = try #require(try worker.receiveSkippingHeartbeats())
        #expect(step0.header.type == .step && step0.header.step == 0)
        let parameters0 = floats(step0.payload!)
        #expect(parameters0.count == count)
        // 64 samples, batch 16, one worker: its share of every step is 16 samples.
        func gradient(step: UInt64, samples: UInt64 = 16, count: Int = count) -> [UInt8] {
            WireHeader.gradient(runID: runID, generation: 0, rank: 0, step: step, samples: samples, lossSum: 1,
                                correct: 0, parameterCount: UInt32(count)).encoded()
        }
        let valid = (0..<count).map { Float($0 % 7) * 0.01 }

        var badMagic = gradient(step: 0); badMagic[0] = 0x58
        var badVersion = gradient(step: 0); badVersion[4] = 99
        var badType = gradient(step: 0); badType[6] = 42
        let truncated = Array(gradient(step: 0)[0..<40])
        let cases: [([UInt8], [UInt8]?)] = [
            (badMagic, floatBytes(valid)),
            (badVersion, floatBytes(valid)),
            (badType, floatBytes(valid)),
            (truncated, floatBytes(valid)),
            (gradient(step: 0, count: count - 1), floatBytes(Array(valid.dropLast()))),
            (gradient(step: 3), floatBytes(valid)),
            (gradient(step: 0, samples: 15), floatBytes(valid)),
        ]
        for (header, payload) in cases { try worker.send(header, payload) }
        let stranger = try FakeWorker(context, endpoint: endpoint, identity: Array("stranger".utf8))
        try stranger.send(gradient(step: 0), floatBytes(valid))
        #expect(try stranger.receiveSkippingHeartbeats()?.header.type == .registerAgain)
        // None of that moved the run on: no step 1 has come. The frame of another protocol
        // version got a reject that says why, so such a worker does not wait in vain.
        let answer = try #require(try worker.receiveSkippingHeartbeats(seconds: 5))
        #expect(answer.header.type == .reject)
        #expect(String(decoding: answer.payload ?? [], as: UTF8.self).contains("protocol version \(WireHeader.protocolVersion), the worker 99"))
        #expect(try worker.receiveSkippingHeartbeats(seconds: 1) == nil)

        // A valid gradient is applied with the rate of step 0: p1 = p0 - 0.5 * g.
        try worker.send(gradient(step: 0), floatBytes(valid))
        let step1 = try #require(try worker.receiveSkippingHeartbeats())
        #expect(step1.header.type == .step && step1.header.step == 1)
        #expect(step1.header.rate == 0.25)
        let parameters1 = floats(step1.payload!)
        for i in stride(from: 0, to: count, by: 997) {
            #expect(abs(parameters1[i] - (parameters0[i] - 0.5 * valid[i])) <= 1e-6, "parameter \(i)")
        }
        // The same gradient again is from the past now; then the last step finishes the run.
        try worker.send(gradient(step: 0), floatBytes(valid))
        try worker.send(gradient(step: 1), floatBytes(valid))
        #expect(try worker.receiveSkippingHeartbeats()?.header.type == .stop)
        #expect(coordinator.wait(seconds: 30) == 0, "\(coordinator.stderr)")

        let out = coordinator.stdout, err = coordinator.stderr
        #expect(rejectionCounts(out) == ["malformed": 4, "past_step": 1, "unknown_sender": 1,
                                            "future_step": 1, "wrong_count": 1, "wrong_samples": 1], "\(out)")
        for phrase in ["bad magic", "unsupported protocol version 99", "unknown message type 42", "header frame is 40 bytes",
                       "future step 3", "past step 0", "wrong element count", "covers 15 samples", "unregistered peer"] {
            #expect(err.contains(phrase), "no log line mentions '\(phrase)':\n\(err)")
        }
    }
}

/// `Rejected messages: a=1 b=2` -> ["a": 1, "b": 2].
func rejectionCounts(_ output: String) -> [String: Int] {
    guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix("Rejected messages:") }) else { return [:] }
    var counts: [String: Int] = [:]
    for pair in line.dropFirst("Rejected messages:".count).split(separator: " ") {
        let parts = pair.split(separator: "=")
        if parts.count == 2 { counts[String(parts[0])] = Int(parts[1]) }
    }
    return counts
}
