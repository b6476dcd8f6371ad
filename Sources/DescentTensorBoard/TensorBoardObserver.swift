import DescentTraining
import DescentCore
import Foundation
import SwiftProtobuf

/// Writes a run's scalars into a TensorBoard event file in `directory`
/// (`events.out.tfevents.SECONDS.HOST`): per step `step/loss`, `step/learning_rate`,
/// `step/gradient_norm`, `step/samples_per_second` and `step/latency_ms/rank_R` for every worker;
/// per epoch `epoch/loss`, `epoch/accuracy`, `epoch/test_loss`, `epoch/test_accuracy`,
/// `epoch/samples_per_second` (at the epoch's index, as Keras's callback does).
///
/// The step's event is kept and its values overwritten in place; records are buffered.
public final class TensorBoardObserver: RunObserver, @unchecked Sendable {
    public let path: String
    private let writer: TFRecordWriter
    private var stepEvent = Tensorflow_Event()
    private var windowStartMs = 0.0
    private var windowSamples = 0
    private var samplesPerSecond = 0.0
    private var failure: String?
    private var closed = false

    /// Creates `directory` when needed and the event file in it, with its version record.
    public init(directory: String) throws {
        do {
            try AtomicFile.createDirectories(directory)
        } catch {
            throw TensorBoardError.cannotCreate(path: directory, reason: "\(String(cString: strerror(error.code))) (\(error.action))")
        }
        let now = Date().timeIntervalSince1970
        path = "\(directory)/events.out.tfevents.\(Int(now)).\(ProcessInfo.processInfo.hostName).\(getpid())"
        writer = try TFRecordWriter(path: path)
        var version = Tensorflow_Event()
        version.wallTime = now
        version.fileVersion = "brain.Event:2"
        try writer.write(version.serializedBytes())
        try writer.flush()
    }

    public func runStarted(_ run: RunDescription) {
        var tags = ["step/loss", "step/learning_rate", "step/gradient_norm", "step/samples_per_second"]
        if run.role == "coordinator" { tags += (0..<run.workers).map { "step/latency_ms/rank_\($0)" } }
        stepEvent.summary.value = tags.map { tag in
            var value = Tensorflow_Summary.Value()
            value.tag = tag
            value.simpleValue = 0
            return value
        }
    }

    public func stepApplied(_ record: StepRecord, workerLatencies: [Double]) {
        windowSamples += record.samples
        if let timeMs = record.timeMs, timeMs - windowStartMs >= 1000 || samplesPerSecond == 0, timeMs > windowStartMs {
            samplesPerSecond = Double(windowSamples) / ((timeMs - windowStartMs) / 1000)
            windowStartMs = timeMs
            windowSamples = 0
        }
        guard stepEvent.summary.value.count >= 4 else { return }
        stepEvent.wallTime = Date().timeIntervalSince1970
        stepEvent.step = Int64(record.step)
        stepEvent.summary.value[0].simpleValue = Float(record.loss)
        stepEvent.summary.value[1].simpleValue = record.rate
        stepEvent.summary.value[2].simpleValue = Float(record.gradientNorm)
        stepEvent.summary.value[3].simpleValue = Float(samplesPerSecond)
        for (rank, seconds) in workerLatencies.enumerated() where 4 + rank < stepEvent.summary.value.count {
            stepEvent.summary.value[4 + rank].simpleValue = Float(seconds * 1000)
        }
        write(stepEvent)
    }

    public func epochFinished(_ report: EpochReport) {
        var event = Tensorflow_Event()
        event.wallTime = Date().timeIntervalSince1970
        event.step = Int64(report.epoch)
        event.summary.value = [
            ("epoch/loss", report.loss), ("epoch/accuracy", report.accuracy), ("epoch/test_loss", report.testLoss),
            ("epoch/test_accuracy", report.testAccuracy), ("epoch/samples_per_second", report.samplesPerSecond),
        ].map { tag, number in
            var value = Tensorflow_Summary.Value()
            value.tag = tag
            value.simpleValue = Float(number)
            return value
        }
        write(event)
        flush()
    }

    public func runFinished(_ summary: RunSummary) { close() }
    public func runFailed(_ message: String) { close() }

    /// What went wrong writing, if anything did (the run goes on; the file stops growing).
    public var writeFailure: String? { failure }

    private func write(_ event: Tensorflow_Event) {
        guard failure == nil, !closed else { return }
        do { try writer.write(event.serializedBytes()) } catch { fail(error) }
    }

    private func flush() {
        guard failure == nil, !closed else { return }
        do { try writer.flush() } catch { fail(error) }
    }

    private func close() {
        guard failure == nil, !closed else { return }
        closed = true
        do { try writer.close() } catch { fail(error) }
    }

    private func fail(_ error: any Error) {
        failure = "\(error)"
        FileHandle.standardError.write(Data("warning: TensorBoard file \(path) not written further: \(error)\n".utf8))
    }
}
