import DescentCore
import DescentData
import DescentModel
import DescentSchedules
import Foundation
import Testing
@testable import DescentTraining

/// The coordinator's deferred step records (`ProgressDriver.defersRecords`): a step's trace line
/// and observer call wait for `writeDeferredRecord()`, yet every record is written, once, in step
/// order, an epoch's last step before the epoch's report, and none is lost at the end.
@Suite struct DeferredRecordTests {
    /// What the driver told its observer, in order.
    final class Recorder: RunObserver, @unchecked Sendable {
        var told: [String] = []
        func stepApplied(_ record: StepRecord, workerLatencies: [Double]) { told.append("step \(record.step)") }
        func epochFinished(_ epoch: EpochReport) { told.append("epoch \(epoch.epoch)") }
    }

    /// 2x2 images, 4 of them: with a global batch of 2, two steps an epoch.
    func driver(trace: String, recorder: Recorder, checkpoints: String? = nil) throws -> (ProgressDriver, MLPShape) {
        let shape = MLPShape(inputs: 4, hidden: [3], classes: 10)
        let images = LabeledImages(pixels: (0..<16).map { UInt8($0 * 10) }, labels: [1, 2, 3, 4], rows: 2, columns: 2)
        let plan = EpochPlan(sampleCount: 4, globalBatch: 2, seed: 1)
        let progress = TrainingProgress(
            plan: plan, totalSteps: 6,
            policy: LearningRatePolicy(schedule: .exponential(initialRate: 0.1, decaySteps: 1000, decayRate: 0.96, staircase: true),
                                       stepsPerEpoch: plan.stepsPerEpoch, globalBatch: 2),
            optimizer: SGD(parameterCount: shape.parameterCount, momentum: 0), now: 0)
        var options = RunOptions(tracePath: trace)
        options.observer = recorder
        options.checkpointDirectory = checkpoints
        let driver = try ProgressDriver(progress: progress, shape: shape, test: images, epochs: 3, options: options, now: 0)
        return (driver, shape)
    }

    func apply(_ driver: ProgressDriver, _ parameters: inout [Float]) throws {
        let gradient = [Float](repeating: 0.01, count: parameters.count)
        try parameters.withUnsafeMutableBufferPointer { p in
            try gradient.withUnsafeBufferPointer { g in
                try driver.apply(parameters: p, meanGradient: g, gradientNorm: 0.01, lossSum: 1, correct: 1, samples: 2)
            }
        }
    }

    /// An update written beside the parameters (the coordinator's averaging sweep) is adopted
    /// once it passes the guard, and only then: one whose largest magnitude is infinite, or whose
    /// norm the guard's bound refuses, throws with the step and the model where they were.
    @Test func aWrittenUpdateIsAdoptedOnlyWhenItPassesTheGuard() throws {
        let trace = Self.tracePath()
        defer { try? FileManager.default.removeItem(atPath: trace) }
        let (driver, shape) = try driver(trace: trace, recorder: Recorder())
        var parameters = shape.initialParameters(seed: 1)
        let before = parameters
        var updated = parameters.map { $0 - 0.1 * 0.01 }
        var adopted = 0
        func apply(largest: Float, norm: Double) throws {
            try parameters.withUnsafeMutableBufferPointer { p in
                try updated.withUnsafeMutableBufferPointer { u in
                    try driver.apply(parameters: p, update: .written(updated: u, largest: largest, adopt: { adopted += 1 }),
                                     gradientNorm: norm, lossSum: 1, correct: 1, samples: 2)
                }
            }
        }
        #expect(throws: DivergenceError.self) { try apply(largest: .infinity, norm: 0.01) }
        #expect(throws: DivergenceError.self) { try apply(largest: .nan, norm: 0.01) }
        #expect(throws: DivergenceError.self) { try apply(largest: 1, norm: 1e300) }
        #expect(adopted == 0 && driver.progress.step == 0)
        #expect(parameters == before)
        try apply(largest: updated.map(\.magnitude).max()!, norm: 0.01)
        #expect(adopted == 1 && driver.progress.step == 1)
        #expect(parameters == before, "the driver steps nothing itself: the update was written")
    }

    static func tracePath() -> String {
        NSTemporaryDirectory() + "descent-deferred-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).jsonl"
    }

    func traceSteps(_ path: String) throws -> [Int] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
            try JSONDecoder().decode(StepRecord.self, from: Data($0.utf8)).step
        }
    }

    /// A trace that cannot be written (its disk is full) does not keep a failing run's checkpoint
    /// from being saved: the training state outranks its record.
    @Test func aCheckpointIsSavedWhenTheTraceCannotBeWritten() throws {
        let checkpoints = NSTemporaryDirectory() + "descent-full-trace-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: checkpoints) }
        let (driver, shape) = try driver(trace: "/dev/full", recorder: Recorder(), checkpoints: checkpoints)
        var parameters = shape.initialParameters(seed: 1)
        try apply(driver, &parameters)
        // The step's record waits in the trace's buffer; writing it to /dev/full fails (ENOSPC).
        let path = try #require(try parameters.withUnsafeBufferPointer { try driver.checkpoint(parameters: $0) })
        #expect(FileManager.default.fileExists(atPath: path))
        let saved = try CheckpointStore(directory: checkpoints).latest(warn: { Issue.record("\($0)") }, accept: { _, _ in })
        #expect(saved.header.progress.step == 1)
        #expect(saved.parameters.map(\.bitPattern) == parameters.map(\.bitPattern))
    }

    /// A final `--save` that fails leaves the trained parameters in a checkpoint (when the run
    /// keeps checkpoints), and the run still fails.
    @Test func aFailedSaveKeepsTheTrainedParametersInACheckpoint() throws {
        let checkpoints = NSTemporaryDirectory() + "descent-failed-save-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let trace = Self.tracePath()
        defer {
            try? FileManager.default.removeItem(atPath: checkpoints)
            try? FileManager.default.removeItem(atPath: trace)
        }
        let (driver, shape) = try driver(trace: trace, recorder: Recorder(), checkpoints: checkpoints)
        var parameters = shape.initialParameters(seed: 1)
        for _ in 0..<6 { try apply(driver, &parameters) }
        #expect(throws: FileWriteError.self) {
            try parameters.withUnsafeBufferPointer { _ = try driver.finish(parameters: $0, savePath: "/proc/descent-nope/model.bin") }
        }
        let saved = try CheckpointStore(directory: checkpoints).latest(warn: { Issue.record("\($0)") }, accept: { _, _ in })
        #expect(saved.header.progress.step == 6 && saved.header.progress.isFinished)
        #expect(saved.parameters.map(\.bitPattern) == parameters.map(\.bitPattern))
        #expect(try traceSteps(trace) == Array(0..<6))  // the trace was closed whole before the save
    }

    @Test func recordsWaitForTheCallYetAllArriveOnceInOrder() throws {
        let trace = Self.tracePath()
        defer { try? FileManager.default.removeItem(atPath: trace) }
        let recorder = Recorder()
        let (driver, shape) = try driver(trace: trace, recorder: recorder)
        driver.defersRecords = true
        var parameters = shape.initialParameters(seed: 1)

        try apply(driver, &parameters)  // step 0
        #expect(recorder.told.isEmpty, "step 0's record waits")
        try driver.writeDeferredRecord()
        #expect(recorder.told == ["step 0"])
        try driver.writeDeferredRecord()
        #expect(recorder.told == ["step 0"], "a record is written once")

        try apply(driver, &parameters)  // step 1 closes epoch 0: written before the epoch's report
        #expect(recorder.told == ["step 0", "step 1", "epoch 0"])
        try apply(driver, &parameters)  // step 2 waits ...
        try apply(driver, &parameters)  // ... and is written when step 3 is applied; step 3 closes epoch 1
        #expect(recorder.told == ["step 0", "step 1", "epoch 0", "step 2", "step 3", "epoch 1"])
        try apply(driver, &parameters)  // step 4 waits; the run ends early
        _ = try parameters.withUnsafeBufferPointer { try driver.finish(parameters: $0, savePath: nil) }
        #expect(recorder.told.prefix(7) == ["step 0", "step 1", "epoch 0", "step 2", "step 3", "epoch 1", "step 4"])
        #expect(try traceSteps(trace) == [0, 1, 2, 3, 4])
    }

    @Test func withoutDeferringEachRecordIsWrittenWithItsStep() throws {
        let trace = Self.tracePath()
        defer { try? FileManager.default.removeItem(atPath: trace) }
        let recorder = Recorder()
        let (driver, shape) = try driver(trace: trace, recorder: recorder)
        var parameters = shape.initialParameters(seed: 1)
        try apply(driver, &parameters)
        #expect(recorder.told == ["step 0"])
        driver.flush()
        #expect(try traceSteps(trace) == [0])
    }

    @Test func aFlushOnTheWayOutWritesTheWaitingRecord() throws {
        let trace = Self.tracePath()
        defer { try? FileManager.default.removeItem(atPath: trace) }
        let recorder = Recorder()
        let (driver, shape) = try driver(trace: trace, recorder: recorder)
        driver.defersRecords = true
        var parameters = shape.initialParameters(seed: 1)
        try apply(driver, &parameters)
        driver.flush()  // what the coordinator does when the run stops on an error
        #expect(recorder.told == ["step 0"])
        #expect(try traceSteps(trace) == [0])
    }
}
