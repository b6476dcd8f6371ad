import Foundation
import Testing

extension SystemTests {
    /// A real Prometheus server (Debian's `prometheus`) on loopback scrapes a real run's
    /// `--metrics-address` every second; its query API shows the global step advancing, two
    /// workers alive, a latency histogram per rank and the target up.
    @Test func prometheusScrapesTheRunAndSeesTheStepAdvance() throws {
        guard let prometheus = ObserveSupport.tool("prometheus", "/usr/bin/prometheus") else {
            print("skipped: prometheus is not installed (apt-get install prometheus)")
            return
        }
        guard let sample = Paths.mnistSample else {
            print("skipped: the MNIST sample is missing")
            return
        }
        let dir = try Paths.temporaryDirectory("prometheus")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let metricsPort = ObserveSupport.freePort()
        var prometheusPort = ObserveSupport.freePort()
        while prometheusPort == metricsPort { prometheusPort = ObserveSupport.freePort() }
        let scrapeConfig = """
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
            scrape_configs:
              - job_name: descent
                static_configs:
                  - targets: ['127.0.0.1:\(metricsPort)']
            """
        let configPath = try writeConfig(scrapeConfig, in: dir, name: "prometheus.yml")
        let server = try Child("prometheus", executable: prometheus, [
            "--config.file=\(configPath)", "--storage.tsdb.path=\(dir)/tsdb", "--web.listen-address=127.0.0.1:\(prometheusPort)",
        ], directory: dir)
        defer { server.stop() }
        var ready = false
        for _ in 0..<150 where !ready {
            ready = ObserveSupport.get(port: prometheusPort, path: "/-/ready")?.status == 200
            if !ready { usleep(200_000) }
        }
        guard ready else {
            Issue.record("prometheus did not become ready: \(server.stderr.suffix(2000))")
            return
        }

        // Long enough for several 1 s scrapes however fast training is (minutes): the test stops it
        // with SIGTERM once it has seen what it needs.
        let config = try writeConfig("seed: 42\ntraining:\n  epochs: 5000\n  batch_size: 32\n", in: dir)
        let maxSteps = 750_000
        let run = try Child("launch", ["launch", "--config", config, "--data", sample, "--workers", "2", "--max-steps", "\(maxSteps)",
                                       "--metrics-address", "127.0.0.1:\(metricsPort)"], directory: dir)
        defer { run.stop() }

        func query(_ expression: String) -> [(labels: [String: String], value: Double)] {
            guard let answer = ObserveSupport.get(port: prometheusPort, path: "/api/v1/query?query=\(expression)"),
                  answer.status == 200,
                  let json = try? JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any],
                  let data = json["data"] as? [String: Any], let result = data["result"] as? [[String: Any]] else { return [] }
            return result.compactMap { series in
                guard let value = series["value"] as? [Any], value.count == 2, let text = value[1] as? String, let number = Double(text) else { return nil }
                return (series["metric"] as? [String: String] ?? [:], number)
            }
        }

        var steps: [Double] = []
        var alive: Double?
        var latencyRanks: Set<String> = []
        var up: Double?
        let deadline = Date().addingTimeInterval(150)
        while Date() < deadline && run.process.isRunning {
            if let step = query("descent_global_step").first?.value, step != steps.last { steps.append(step) }
            alive = query("descent_workers_alive").first?.value ?? alive
            up = query("up").first?.value ?? up
            for series in query("descent_worker_step_latency_seconds_count") where series.value > 0 {
                if let rank = series.labels["rank"] { latencyRanks.insert(rank) }
            }
            if steps.count >= 4 && latencyRanks.count == 2 { break }
            usleep(700_000)
        }
        if run.process.isRunning {
            kill(run.process.processIdentifier, SIGTERM)  // launch forwards it to the coordinator and workers
            run.wait(seconds: 60)
        }
        #expect(steps.count >= 3, "Prometheus saw the step only as \(steps); launch: \(run.stdout.suffix(1500)) \(run.stderr.suffix(1500))")
        #expect(steps == steps.sorted() && steps.allSatisfy { $0 > 0 && $0 <= Double(maxSteps) }, "\(steps)")
        #expect(alive == 2)
        #expect(up == 1)
        #expect(latencyRanks == ["0", "1"])
        #expect(run.stdout.contains("Metrics at http://127.0.0.1:\(metricsPort)/metrics"))
    }

    /// A busy port or a bad address fails before training, saying what to do.
    @Test func metricsAddressIsCheckedAndABusyPortRefused() throws {
        let dir = try Paths.temporaryDirectory("metrics-address")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticMNIST.write(to: dir, train: 100, test: 20)
        let config = try writeConfig("data:\n  dir: \(dir)\ntraining:\n  epochs: 1\n", in: dir)
        let bad = try Child("bad", ["train", "--config", config, "--metrics-address", "127.0.0.1:70000"], directory: dir)
        #expect(bad.wait() != 0)
        #expect(bad.stderr.contains("--metrics-address '127.0.0.1:70000': the port '70000' is not a number from 0 to 65535"), "\(bad.stderr)")

        let holder = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(holder) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(holder, $0, length) == 0 ? getsockname(holder, $0, &length) : -1 }
        }
        listen(holder, 1)
        let port = Int(UInt16(bigEndian: address.sin_port))
        let busy = try Child("busy", ["train", "--config", config, "--metrics-address", "127.0.0.1:\(port)"], directory: dir)
        #expect(busy.wait() != 0)
        #expect(busy.stderr.contains("cannot serve metrics at 127.0.0.1:\(port): the port is in use"), "\(busy.stderr)")
        #expect(!busy.stdout.contains("Epoch 01"))
    }
}

extension SystemTests {
    /// A worker started with --metrics-address serves its own steps while it trains.
    @Test func workerServesItsMetricsWhileTraining() throws {
        guard let sample = Paths.mnistSample else {
            print("skipped: the MNIST sample is missing")
            return
        }
        let dir = try Paths.temporaryDirectory("worker-metrics")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Long enough for several reads however fast training is; the test stops it once it has
        // seen what it needs.
        let config = try writeConfig("seed: 42\ntraining:\n  epochs: 5000\n  batch_size: 32\n", in: dir)
        let endpoint = "ipc://\(dir)/c.sock"
        let port = ObserveSupport.freePort()
        let coordinator = try Child("coordinator", ["coordinator", "--config", config, "--data", sample, "--workers", "1",
                                                    "--bind", endpoint, "--max-steps", "750000"], directory: dir)
        defer { coordinator.stop() }
        let worker = try Child("worker", ["worker", "--connect", endpoint, "--data", sample, "--metrics-address", "127.0.0.1:\(port)"],
                               directory: dir)
        defer { worker.stop() }
        var seen: [Double] = []
        let deadline = Date().addingTimeInterval(90)
        while Date() < deadline && seen.count < 3 && worker.process.isRunning {
            if let answer = ObserveSupport.get(port: port, path: "/metrics"), answer.status == 200,
               let line = answer.body.split(separator: "\n").first(where: { $0.hasPrefix("descent_worker_steps_total ") }),
               let value = Double(line.split(separator: " ")[1]), value > (seen.last ?? 0) {
                seen.append(value)
            }
            usleep(300_000)
        }
        // SIGTERM, not the SIGKILL of stop(): the coordinator tells the worker to stop and removes
        // its shared-memory segment.
        coordinator.terminate()
        worker.wait(seconds: 30)
        #expect(seen.count >= 3, "worker steps seen: \(seen); \(worker.stderr.suffix(1000))")
        #expect(worker.stdout.contains("Metrics at http://127.0.0.1:\(port)/metrics"))
    }
}
