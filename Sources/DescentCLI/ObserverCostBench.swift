import DescentCore
import DescentLogging
import DescentMetrics
import DescentProgress
import DescentReport
import DescentTensorBoard
import DescentTraining
import Foundation
import Logging

/// The time every observer together adds to one applied step, measured in this process: the
/// fan-out of live progress, Prometheus, TensorBoard, the JSON log and the run directory called
/// with realistic step records, the fastest of several trials (a busy machine only slows trials).
enum ObserverCostBench {
    static func microsecondsPerStep(workers: Int, steps: Int = 20_000, trials: Int = 5) throws -> Double {
        let directory = try ScratchDirectory.make("observer-cost")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = directory + "/config.yaml"
        try "seed: 1\n".write(toFile: config, atomically: true, encoding: .utf8)
        var best = Double.infinity
        for trial in 0..<trials {
            let logger = Logger(label: "bench") { _ in RunLogHandler(format: .json, role: "coordinator") { _ in } }
            let observers = RunObservers([
                LiveProgress(output: .function { _ in }), PrometheusObserver(),
                try TensorBoardObserver(directory: "\(directory)/tb\(trial)"), LoggingObserver(logger: logger),
                try RunRecorder(directory: "\(directory)/run\(trial)", configPath: config),
            ])
            observers.runStarted(RunDescription(role: "coordinator", workers: workers, epochs: 1, stepsPerEpoch: steps,
                                                totalSteps: steps, globalBatch: 32 * workers, schedule: "bench"))
            let ranks = Array(0..<workers)
            let latencies = (0..<workers).map { 0.0004 + 0.0001 * Double($0) }
            let start = monotonicSeconds()
            for step in 0..<steps {
                let record = StepRecord(step: step, epoch: 0, rate: 0.1, ranks: ranks, samples: 32 * workers, loss: 0.5,
                                        gradientNorm: 1.5, slowestRank: workers - 1, slowestLatencyMs: 0.5, fastestLatencyMs: 0.4,
                                        timeMs: Double(step) * 0.5, updateMs: 0.05)
                observers.stepApplied(record, workerLatencies: latencies)
            }
            best = min(best, (monotonicSeconds() - start) / Double(steps) * 1e6)
            observers.runFinished(RunSummary(steps: steps, testLoss: 0, testAccuracy: 0, finalRate: 0.1, parameters: [], seconds: 1))
        }
        return best
    }
}
