import CoreMetrics
import DescentTraining
import Prometheus

/// A worker's figures as Prometheus metrics (see docs/metrics.md): steps computed, the step and
/// rate last received, compute and idle time per step as histograms. Made once; a step sets two
/// gauges, bumps two counters and records one or two durations.
public final class WorkerPrometheusObserver: WorkerStepObserver, @unchecked Sendable {
    public let registry: PrometheusCollectorRegistry
    private let steps: CoreMetrics.Counter
    private let samples: CoreMetrics.Counter
    private let step: CoreMetrics.Gauge
    private let rate: CoreMetrics.Gauge
    private let rank: CoreMetrics.Gauge
    private let compute: CoreMetrics.Timer
    private let idle: CoreMetrics.Timer

    public init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets["descent_worker_compute_seconds"] = PrometheusObserver.latencyBuckets
        factory.durationHistogramBuckets["descent_worker_idle_seconds"] = PrometheusObserver.latencyBuckets
        steps = CoreMetrics.Counter(label: "descent_worker_steps_total", factory: factory)
        samples = CoreMetrics.Counter(label: "descent_worker_samples_total", factory: factory)
        step = CoreMetrics.Gauge(label: "descent_worker_last_step", factory: factory)
        rate = CoreMetrics.Gauge(label: "descent_worker_learning_rate", factory: factory)
        rank = CoreMetrics.Gauge(label: "descent_worker_rank", factory: factory)
        compute = CoreMetrics.Timer(label: "descent_worker_compute_seconds", factory: factory)
        idle = CoreMetrics.Timer(label: "descent_worker_idle_seconds", factory: factory)
    }

    /// The registry in Prometheus's text exposition format.
    public func exposition() -> [UInt8] { registry.emitToBuffer() }

    public func workerStepComputed(rank: Int, step: Int, rate: Double, samples: Int, computeSeconds: Double, idleSeconds: Double?) {
        self.rank.record(rank)
        self.step.record(step)
        self.rate.record(rate)
        steps.increment()
        self.samples.increment(by: Int64(samples))
        compute.recordNanoseconds(Int64(computeSeconds * 1e9))
        if let idleSeconds { idle.recordNanoseconds(Int64(idleSeconds * 1e9)) }
    }
}
