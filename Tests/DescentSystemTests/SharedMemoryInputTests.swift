import DescentProtocol
import DescentTransport
import Foundation
import Testing

extension SystemTests {
    /// A hand-driven worker on the coordinator's host: it is given the shared segment and answers
    /// through it. What it writes there is validated like a frame: a wrong count
    /// or a garbled header is rejected and counted, and never moves the model.
    @Test func badGradientsInSharedMemoryAreRejectedLikeFrames() throws {
        let dir = try Paths.temporaryDirectory("shm-input")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticMNIST.write(to: dir, train: 32, test: 10)
        let config = try writeConfig("data:\n  dir: \(dir)\ntraining:\n  epochs: 1\n  batch_size: 16\n", in: dir)
        let endpoint = "ipc://\(dir)/c.sock"
        let coordinator = try Child("coordinator", ["coordinator", "--config", config, "--workers", "1", "--bind", endpoint, "--max-steps", "2"], directory: dir)
        defer { coordinator.stop() }

        let context = try ZMQContext()
        let worker = try FakeWorker(context, endpoint: endpoint, identity: Array("local".utf8))
        let hello = try WireText.encodeJSON(WorkerIntroduction(host: "here", pid: 3, requestedRank: nil,
                                                               hostIdentity: HostIdentity.current(), sharedMemory: true))
        try worker.send(WireHeader.hello(configHash: 0, processID: 3, jsonByteCount: UInt32(hello.count)).encoded(), hello)
        let welcome = try #require(try worker.receiveSkippingHeartbeats(seconds: 30))
        let settings = try WireText.decodeJSON(RunSettings.self, from: welcome.payload!, in: .welcome)
        let name = try #require(settings.sharedMemoryName, "the coordinator offered no shared memory")
        let count = settings.parameterCount
        let layout = SharedStepLayout(parameterCount: count, slots: 1)
        let segment = try SharedMemorySegment.open(name: name, byteCount: layout.byteCount)
        let stepWord = SharedWord(segment, offset: layout.stepSequenceOffset)
        let done = SharedWord(segment, offset: layout.doneSequenceOffset(rank: 0))
        let completions = SharedWord(segment, offset: layout.completionsOffset)
        let parameterBuffer = SharedWord(segment, offset: layout.parameterBufferOffset)
        func parameters(buffer: UInt32) -> [Float] { Array(segment.floats(at: layout.parametersOffset(buffer: Int(buffer)), count: count)) }

        func waitForStep(_ sequence: UInt32) -> WireHeader? {
            let deadline = Date().addingTimeInterval(10)
            while stepWord.load() != sequence && Date() < deadline { stepWord.wait(whileEquals: stepWord.load(), timeout: 0.1) }
            return try? WireHeader.decode(UnsafeRawBufferPointer(segment.bytes(at: layout.stepHeaderOffset, count: 64)), payloadByteCount: nil)
        }
        var announcements: UInt32 = 0
        func announce(_ header: WireHeader, gradient: [Float]) {
            _ = segment.floats(at: layout.gradientOffset(rank: 0), count: count).update(from: gradient)
            header.encode(into: segment.bytes(at: layout.gradientHeaderOffset(rank: 0), count: 64))
            announcements += 1
            done.store(announcements)  // a new value each time, as a worker's sequence moves on
            completions.add(1)
            completions.wake()
        }

        let step0 = try #require(waitForStep(1))
        #expect(step0.type == .stepShared && step0.step == 0)
        let buffer0 = parameterBuffer.load()
        #expect(buffer0 == 0)
        let parameters0 = parameters(buffer: buffer0)
        let gradient = WireHeader.gradient(runID: step0.runID, generation: 0, rank: 0, step: 0, samples: 16, lossSum: 2,
                                           correct: 0, parameterCount: UInt32(count)).inSharedMemory()
        let valid = (0..<count).map { Float($0 % 5) * 0.01 }
        var garbled = gradient.encoded(); garbled[0] = 0
        var wrongCount = gradient; wrongCount.count = UInt32(count - 1)

        // (A NaN gradient of the step in flight is divergence and stops the run: DivergenceTests.)
        announce(wrongCount, gradient: valid)
        usleep(100_000)
        garbled.withUnsafeBytes { segment.bytes(at: layout.gradientHeaderOffset(rank: 0), count: 64).copyMemory(from: $0) }
        announcements += 1; done.store(announcements); completions.add(1); completions.wake()
        usleep(100_000)
        // Nothing moved: the parameters are those of step 0, and no step 1 was published.
        #expect(stepWord.load() == 1)
        #expect(parameterBuffer.load() == buffer0 && parameters(buffer: buffer0) == parameters0)

        announce(gradient, gradient: valid)
        let step1 = try #require(waitForStep(2))
        #expect(step1.step == 1 && step1.rate == Double(Float(0.1)))
        // Step 1 is published from the other buffer; the one step 0 was computed at is as it was.
        let buffer1 = parameterBuffer.load()
        #expect(buffer1 == 1 - buffer0)
        #expect(parameters(buffer: buffer0) == parameters0)
        let parameters1 = parameters(buffer: buffer1)
        for i in stride(from: 0, to: count, by: 1009) {
            #expect(abs(parameters1[i] - (parameters0[i] - Float(0.1) * valid[i])) <= 1e-6, "parameter \(i)")
        }
        var last = gradient; last.step = 1
        announce(last, gradient: valid)
        #expect(try worker.receiveSkippingHeartbeats(seconds: 10)?.header.type == .stop)
        // This worker keeps its connection after its stop: the coordinator waits for it to hang
        // up (as a worker does once it has read its stop) at most 5 s, then exits all the same.
        let stopped = Date()
        #expect(coordinator.wait(seconds: 30) == 0, "\(coordinator.stderr)")
        #expect(coordinator.stderr.contains("coordinator: 1 worker(s) told to stop had not hung up after 5 s; closing anyway"), "\(coordinator.stderr)")
        #expect(Date().timeIntervalSince(stopped) >= 4.5)
        #expect(rejectionCounts(coordinator.stdout) == ["wrong_count": 1, "malformed": 1], "\(coordinator.stdout)")
    }
}
