import DescentCore
import DescentData
import DescentModel
import DescentSchedules
import Foundation
import Testing
@testable import DescentTraining

@Suite struct CheckpointTests {
    func progress(step: Int = 0, momentum: Float = 0.9) -> TrainingProgress {
        let plan = EpochPlan(sampleCount: 100, globalBatch: 10, seed: 3)
        var progress = TrainingProgress(
            plan: plan, totalSteps: 50,
            policy: LearningRatePolicy(schedule: .exponential(initialRate: 0.1, decaySteps: 5, decayRate: 0.5, staircase: true),
                                       stepsPerEpoch: plan.stepsPerEpoch, globalBatch: 10),
            optimizer: SGD(parameterCount: 4, momentum: momentum), now: 0)
        var parameters: [Float] = [1, -2, 3, 0.5]
        let gradient: [Float] = [0.25, 0.5, -1, 3]
        for _ in 0..<step {
            parameters.withUnsafeMutableBufferPointer { p in
                gradient.withUnsafeBufferPointer { g in _ = progress.advance(parameters: p, meanGradient: g, lossSum: 1, correct: 1, samples: 10) }
            }
        }
        return progress
    }

    func checkpoint(step: Int = 7) -> Checkpoint {
        Checkpoint(runID: 42, generation: 1, configDigest: 99, progress: progress(step: step), parameters: [1.5, -0.25, .leastNonzeroMagnitude, 3e38])
    }

    func temporaryDirectory() -> String {
        let path = NSTemporaryDirectory() + "descent-ckpt-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func aCheckpointRoundTripsBitForBit() throws {
        let original = checkpoint()
        let decoded = try Checkpoint.decode(try original.encoded(), path: "x")
        #expect(decoded == original)
        #expect(decoded.header.progress.optimizer.velocity.map(\.bitPattern) == original.header.progress.optimizer.velocity.map(\.bitPattern))
        #expect(decoded.header.progress.rate == 0.05) // 0.1 * 0.5^floor(7 / 5), by hand
    }

    @Test func truncatedAndBitFlippedFilesAreRefusedByTheChecksum() throws {
        let bytes = try checkpoint().encoded()
        for cut in [0, 10, bytes.count / 2, bytes.count - 1] {
            #expect(throws: CheckpointError.self) { try Checkpoint.decode(Array(bytes[0..<cut]), path: "t") }
        }
        for position in [5, 40, bytes.count / 2, bytes.count - 40] {
            var flipped = bytes
            flipped[position] ^= 0x10
            do {
                _ = try Checkpoint.decode(flipped, path: "f")
                Issue.record("a flipped bit at \(position) was accepted")
            } catch let error as CheckpointError {
                #expect(error.problem.contains("checksum") || error.problem.contains("magic"), "\(error)")
            }
        }
    }

    /// A header that ends where the parameter count should start, resealed: refused, not a trap
    /// (the fuzzer's first find: the byte count left for the parameters came out negative).
    @Test func aHeaderThatLeavesNoRoomForTheParameterCountIsRefused() throws {
        let bytes = try checkpoint().encoded()
        var length = 0
        for i in 0..<8 { length |= Int(bytes[8 + i]) << (8 * i) }
        var short = Array(bytes[..<(16 + length)]) + [0, 0, 0, 0]  // 4 bytes where the count's 8 belong
        short += SHA256Stub.digest(short)
        #expect { try Checkpoint.decode(short, path: "s") } throws: { ($0 as? CheckpointError)?.problem.contains("exceeds the file") == true }
    }

    @Test func aNewerFormatIsRefusedWithAMessageSayingSo() throws {
        var bytes = try checkpoint().encoded()
        bytes[4] = 9  // format version 9
        // With its checksum made good again, so only the version is wrong.
        bytes.replaceSubrange((bytes.count - 32)..., with: SHA256Stub.digest(Array(bytes[..<(bytes.count - 32)])))
        #expect { try Checkpoint.decode(bytes, path: "v") } throws: { ($0 as? CheckpointError)?.problem.contains("newer than this Descent reads") == true }
    }

    @Test func resumeRefusesAnotherConfigAndFallsBackFromABadNewestFile() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = CheckpointStore(directory: dir)
        try store.save(checkpoint(step: 5))
        try store.save(checkpoint(step: 9))
        // The newest is damaged on disk: the previous one is used, loudly.
        var newest = try Data(contentsOf: URL(fileURLWithPath: store.path(step: 9)))
        newest.removeLast(100)
        try newest.write(to: URL(fileURLWithPath: store.path(step: 9)))
        var warnings: [String] = []
        let fresh = progress()
        let resumed = try CheckpointStore(directory: dir).latest(warn: { warnings.append($0) }) { _, _ in }
        #expect(resumed.step == 5)
        #expect(warnings.contains { $0.contains("checkpoint-000000000009.dsck") && $0.contains("checksum") }, "\(warnings)")
        #expect(throws: CheckpointError.self) {
            try Checkpoint.resume(from: dir, expecting: fresh, parameterCount: 4, configDigest: 1234)
        }
        let good = try Checkpoint.resume(from: dir, expecting: fresh, parameterCount: 4, configDigest: 99)
        #expect(good.step == 5)
        #expect(throws: CheckpointError.self) { try Checkpoint.resume(from: dir, expecting: fresh, parameterCount: 5, configDigest: 99) }
    }

    @Test func onlyTheNewestThreeAreKeptAndNoTemporaryFileRemains() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = CheckpointStore(directory: dir)
        for step in [1, 2, 3, 4, 5] { try store.save(checkpoint(step: step)) }
        #expect(store.files().map { ($0 as NSString).lastPathComponent } == (3...5).reversed().map { "checkpoint-00000000000\($0).dsck" })
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).count == 3)
    }

    @Test func anEmptyDirectoryHasNothingToResume() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect { try CheckpointStore(directory: dir).latest(warn: { _ in }) { _, _ in } } throws: {
            "\($0)".contains("holds no checkpoint")
        }
    }

    /// A checkpoint directory that cannot be made is refused before training, with the reason.
    @Test func anUncreatableDirectoryIsRefusedWithTheReason() throws {
        #expect { try CheckpointStore(directory: "/proc/descent-nope/ckpt").prepare() } throws: {
            "\($0)".contains("cannot create the checkpoint directory (create the directory /proc/descent-nope: ")
        }
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try CheckpointStore(directory: dir + "/a/b").prepare()
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/a/b").isEmpty)  // the probe is removed
    }
}

/// SHA-256 through the project's implementation (the checksum a checkpoint carries).
enum SHA256Stub {
    static func digest(_ bytes: [UInt8]) -> [UInt8] {
        var hash = SHA256Hasher()
        hash.update(bytes)
        return hash.finalize()
    }
}
