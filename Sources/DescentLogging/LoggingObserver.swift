import DescentTraining
import Logging

/// Logs a run's events through swift-log: its start, workers joining and lost, every epoch,
/// rejected messages as their totals grow, the end. Steps are not logged (the trace has them).
public final class LoggingObserver: RunObserver, @unchecked Sendable {
    private let logger: Logger
    private var rejections: [String: Int] = [:]

    public init(logger: Logger) { self.logger = logger }

    public func runStarted(_ run: RunDescription) {
        logger.info("run started", metadata: [
            "event": "run_started", "workers": "\(run.workers)", "epochs": "\(run.epochs)",
            "total_steps": "\(run.totalSteps)", "global_batch": "\(run.globalBatch)", "schedule": "\(run.schedule)",
        ])
    }

    public func epochFinished(_ epoch: EpochReport) {
        logger.info("epoch finished", metadata: [
            "event": "epoch_finished", "epoch": "\(epoch.epoch + 1)", "step": "\(epoch.step)", "loss": "\(epoch.loss)",
            "accuracy": "\(epoch.accuracy)", "test_loss": "\(epoch.testLoss)", "test_accuracy": "\(epoch.testAccuracy)",
            "samples_per_s": "\(epoch.samplesPerSecond)",
        ])
    }

    public func event(_ event: RunEvent) {
        var metadata: Logger.Metadata = ["event": "\(event.kind.rawValue)", "step": "\(event.step)"]
        if let rank = event.rank { metadata["worker.rank"] = "\(rank)" }
        if !event.detail.isEmpty { metadata["detail"] = "\(event.detail)" }
        let level: Logger.Level = event.kind == .workerLost || event.kind == .fault ? .error : .info
        logger.log(level: level, "\(event.kind.rawValue.replacingOccurrences(of: "_", with: " "))", metadata: metadata)
    }

    public func rejectionsCounted(_ totals: [String: Int]) {
        for (kind, total) in totals.sorted(by: { $0.key < $1.key }) where total > rejections[kind, default: 0] {
            logger.warning("messages rejected", metadata: [
                "event": "rejected", "kind": "\(kind)", "new": "\(total - rejections[kind, default: 0])", "total": "\(total)",
            ])
        }
        rejections = totals
    }

    public func runFinished(_ summary: RunSummary) {
        var metadata: Logger.Metadata = [
            "event": "run_finished", "steps": "\(summary.steps)", "test_loss": "\(summary.testLoss)",
            "test_accuracy": "\(summary.testAccuracy)", "final_rate": "\(summary.finalRate)", "seconds": "\(summary.seconds)",
        ]
        if let staleness = summary.staleness {
            metadata["mean_staleness"] = "\(staleness.mean)"
            metadata["max_staleness"] = "\(staleness.max)"
        }
        logger.info("run finished", metadata: metadata)
    }

    public func runFailed(_ message: String) {
        logger.error("run failed", metadata: ["event": "run_failed", "reason": "\(message)"])
    }
}
