import CoreMetrics
import DescentTraining
import Prometheus

/// A run's figures as Prometheus metrics (see docs/metrics.md): recorded through swift-metrics
/// into a swift-prometheus registry of its own, which `exposition()` renders for `/metrics`.
///
/// Every metric is made once (per-worker histograms at `runStarted`); a step only sets gauges
/// and records one latency per worker.
public final class PrometheusObserver: RunObserver, @unchecked Sendable {
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory

    private let step: CoreMetrics.Gauge
    private let epoch: CoreMetrics.Gauge
    private let rate: CoreMetrics.Gauge
    private let loss: CoreMetrics.Gauge
    private let gradientNorm: CoreMetrics.Gauge
    private let samplesPerSecond: CoreMetrics.Gauge
    private let samples: CoreMetrics.Counter
    private let steps: CoreMetrics.Counter
    private let stepSeconds: CoreMetrics.Gauge
    private let epochLoss: CoreMetrics.Gauge
    private let epochAccuracy: CoreMetrics.Gauge
    private let testLoss: CoreMetrics.Gauge
    private let testAccuracy: CoreMetrics.Gauge
    private let totalSteps: CoreMetrics.Gauge
    private let workersExpected: CoreMetrics.Gauge
    private let workersRegistered: CoreMetrics.Gauge
    private let workersAlive: CoreMetrics.Gauge
    private let joins: CoreMetrics.Counter
    private let losses: CoreMetrics.Counter
    private let faults: CoreMetrics.Counter
    private let restarts: CoreMetrics.Counter
    private let checkpoints: CoreMetrics.Counter
    private var latency: [CoreMetrics.Timer] = []
    private var rejected: [String: CoreMetrics.Counter] = [:]
    private var rejectedSoFar: [String: Int] = [:]

    private var windowStartMs = 0.0
    private var windowSamples = 0

    /// Latency buckets from 0.1 ms to 5 s: a step on one host takes about a millisecond.
    public static let latencyBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .microseconds(2500),
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
    ]

    public init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets["descent_worker_step_latency_seconds"] = Self.latencyBuckets
        self.factory = factory
        func gauge(_ name: String) -> CoreMetrics.Gauge { CoreMetrics.Gauge(label: name, factory: factory) }
        func counter(_ name: String) -> CoreMetrics.Counter { CoreMetrics.Counter(label: name, factory: factory) }
        step = gauge("descent_global_step")
        epoch = gauge("descent_epoch")
        rate = gauge("descent_learning_rate")
        loss = gauge("descent_loss")
        gradientNorm = gauge("descent_gradient_norm")
        samplesPerSecond = gauge("descent_samples_per_second")
        samples = counter("descent_samples_total")
        steps = counter("descent_steps_total")
        stepSeconds = gauge("descent_step_update_seconds")
        epochLoss = gauge("descent_epoch_loss")
        epochAccuracy = gauge("descent_epoch_accuracy")
        testLoss = gauge("descent_test_loss")
        testAccuracy = gauge("descent_test_accuracy")
        totalSteps = gauge("descent_total_steps")
        workersExpected = gauge("descent_workers_expected")
        workersRegistered = gauge("descent_workers_registered")
        workersAlive = gauge("descent_workers_alive")
        joins = counter("descent_worker_joins_total")
        losses = counter("descent_workers_lost_total")
        faults = counter("descent_faults_total")
        restarts = counter("descent_restarts_total")
        checkpoints = counter("descent_checkpoints_total")
    }

    /// The registry in Prometheus's text exposition format.
    public func exposition() -> [UInt8] { registry.emitToBuffer() }

    public func runStarted(_ run: RunDescription) {
        totalSteps.record(run.totalSteps)
        workersExpected.record(run.workers)
        if run.role == "train" {
            workersRegistered.record(1)
            workersAlive.record(1)
        }
        latency = (0..<run.workers).map {
            CoreMetrics.Timer(label: "descent_worker_step_latency_seconds", dimensions: [("rank", "\($0)")], factory: factory)
        }
    }

    public func stepApplied(_ record: StepRecord, workerLatencies: [Double]) {
        step.record(record.step + 1)
        epoch.record(record.epoch)
        rate.record(Double(record.rate))
        loss.record(record.loss)
        gradientNorm.record(record.gradientNorm)
        samples.increment(by: Int64(record.samples))
        steps.increment()
        if let update = record.updateMs { stepSeconds.record(update / 1000) }
        for (rank, seconds) in workerLatencies.enumerated() where rank < latency.count {
            latency[rank].recordNanoseconds(Int64(seconds * 1e9))
        }
        windowSamples += record.samples
        if let timeMs = record.timeMs, timeMs - windowStartMs >= 1000 {
            samplesPerSecond.record(Double(windowSamples) / ((timeMs - windowStartMs) / 1000))
            windowStartMs = timeMs
            windowSamples = 0
        }
    }

    public func epochFinished(_ report: EpochReport) {
        epochLoss.record(report.loss)
        epochAccuracy.record(report.accuracy)
        testLoss.record(report.testLoss)
        testAccuracy.record(report.testAccuracy)
    }

    public func membershipChanged(_ membership: Membership) {
        workersExpected.record(membership.expected)
        workersRegistered.record(membership.registered)
        workersAlive.record(membership.alive)
    }

    public func event(_ event: RunEvent) {
        switch event.kind {
        case .workerJoined: joins.increment()
        case .workerLost: losses.increment()
        case .fault: faults.increment()
        case .restart: restarts.increment()
        case .checkpoint: checkpoints.increment()
        }
    }

    public func rejectionsCounted(_ totals: [String: Int]) {
        for (kind, total) in totals {
            let new = total - rejectedSoFar[kind, default: 0]
            guard new > 0 else { continue }
            let counter = rejected[kind] ?? CoreMetrics.Counter(label: "descent_rejected_messages_total", dimensions: [("kind", kind)], factory: factory)
            rejected[kind] = counter
            counter.increment(by: Int64(new))
            rejectedSoFar[kind] = total
        }
    }
}
