import DescentMetrics
import DescentTraining
import Foundation
import Testing

@Suite struct PrometheusObserverTests {
    /// Three steps of two workers; the exposition's lines are checked against values worked
    /// out by hand from the records.
    @Test func exposesTheRunsFigures() {
        let metrics = PrometheusObserver()
        metrics.runStarted(RunDescription(role: "coordinator", workers: 2, epochs: 1, stepsPerEpoch: 3, totalSteps: 3, globalBatch: 64, schedule: "s"))
        metrics.membershipChanged(Membership(expected: 2, registered: 2, alive: 2))
        for step in 0..<3 {
            metrics.stepApplied(StepRecord(step: step, epoch: 0, rate: 0.25, ranks: [0, 1], samples: 64, loss: 1.5, gradientNorm: 2,
                                           timeMs: Double(step) * 10), workerLatencies: [0.0003, 0.002])
        }
        metrics.rejectionsCounted(["malformed": 2])
        metrics.rejectionsCounted(["malformed": 5])
        metrics.event(RunEvent(.workerLost, step: 3, rank: 1))
        let text = String(decoding: metrics.exposition(), as: UTF8.self)
        let lines = Set(text.split(separator: "\n").map(String.init))
        #expect(lines.contains("descent_global_step 3.0"))
        #expect(lines.contains("descent_learning_rate 0.25"))
        #expect(lines.contains("descent_loss 1.5"))
        #expect(lines.contains("descent_samples_total 192"))
        #expect(lines.contains("descent_workers_alive 2.0"))
        #expect(lines.contains("descent_workers_lost_total 1"))
        #expect(lines.contains(#"descent_rejected_messages_total{kind="malformed"} 5"#))
        // Rank 0 took 0.3 ms three times: all three in the 0.5 ms bucket and above, none at 0.25 ms.
        #expect(lines.contains(#"descent_worker_step_latency_seconds_bucket{rank="0",le="0.00025"} 0"#))
        #expect(lines.contains(#"descent_worker_step_latency_seconds_bucket{rank="0",le="0.0005"} 3"#))
        #expect(lines.contains(#"descent_worker_step_latency_seconds_count{rank="1"} 3"#))
        #expect(lines.contains(#"descent_worker_step_latency_seconds_bucket{rank="1",le="0.001"} 0"#))
        #expect(lines.contains(#"descent_worker_step_latency_seconds_bucket{rank="1",le="0.0025"} 3"#))
    }

    @Test func serverAnswersMetricsAndRefusesABusyPort() throws {
        let server = try MetricsServer(address: MetricsAddress(host: "127.0.0.1", port: 0)) { Array("descent_up 1\n".utf8) }
        defer { server.stop() }
        #expect(server.address.port > 0)
        let answer = try #require(LoopbackHTTP.get(port: server.address.port, path: "/metrics"))
        #expect(answer.status == 200)
        #expect(answer.body == "descent_up 1\n")
        #expect(LoopbackHTTP.get(port: server.address.port, path: "/other")?.status == 404)
        #expect(throws: MetricsServerError.self) {
            _ = try MetricsServer(address: MetricsAddress(host: "127.0.0.1", port: server.address.port)) { [] }
        }
        do {
            _ = try MetricsServer(address: MetricsAddress(host: "127.0.0.1", port: server.address.port)) { [] }
        } catch {
            #expect("\(error)".contains("in use"))
        }
    }
}

@Suite struct WorkerPrometheusObserverTests {
    /// Two steps: 3 ms and 7 ms of compute, one idle wait of 0.2 ms; counts and buckets by hand.
    @Test func exposesAWorkersSteps() {
        let metrics = WorkerPrometheusObserver()
        metrics.workerStepComputed(rank: 1, step: 10, rate: 0.05, samples: 16, computeSeconds: 0.003, idleSeconds: nil)
        metrics.workerStepComputed(rank: 1, step: 11, rate: 0.05, samples: 16, computeSeconds: 0.007, idleSeconds: 0.0002)
        let lines = Set(String(decoding: metrics.exposition(), as: UTF8.self).split(separator: "\n").map(String.init))
        #expect(lines.contains("descent_worker_steps_total 2"))
        #expect(lines.contains("descent_worker_samples_total 32"))
        #expect(lines.contains("descent_worker_last_step 11.0"))
        #expect(lines.contains("descent_worker_rank 1.0"))
        #expect(lines.contains("descent_worker_learning_rate 0.05"))
        #expect(lines.contains(#"descent_worker_compute_seconds_bucket{le="0.0025"} 0"#))
        #expect(lines.contains(#"descent_worker_compute_seconds_bucket{le="0.005"} 1"#))
        #expect(lines.contains(#"descent_worker_compute_seconds_bucket{le="0.01"} 2"#))
        #expect(lines.contains("descent_worker_idle_seconds_count 1"))
    }
}
