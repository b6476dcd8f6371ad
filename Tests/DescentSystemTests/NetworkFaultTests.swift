import Foundation
import Testing

extension SystemTests {
    /// A coordinator and two workers on three namespace hosts over TCP, on `config`.
    func startRemoteRun(_ hosts: NetworkNamespaces, config: String, dir: String, coordinatorArguments: [String] = [])
        throws -> (coordinator: Child, workers: [Child]) {
        let address = hosts.address(ofHostAt: 0)
        let coordinator = try Child("coordinator", executable: "/usr/bin/env", [
            "ip", "netns", "exec", hosts.namespace("cx"), Paths.descent, "coordinator", "--config", config, "--workers", "2",
            "--bind", "tcp://\(address):5555", "--insecure", "--trace", "\(dir)/trace.jsonl", "--registration-timeout", "60",
        ] + coordinatorArguments, directory: dir)
        let workers = try ["wx1", "wx2"].enumerated().map { index, host in
            try Child("worker-\(host)", executable: "/usr/bin/env", [
                "ip", "netns", "exec", hosts.namespace(host), Paths.descent, "worker", "--connect", "tcp://\(address):5555", "--insecure",
                "--config", config, "--rank", "\(index)",
            ], directory: dir)
        }
        return (coordinator, workers)
    }

    @Test(.enabled(if: NetworkNamespaces.available, "needs root and iproute2 to create network namespaces; skipped here"),
          arguments: [3, 10])
    func aRemoteWorkersLinkTakenDownAndUpMidRunDoesNotHangTheRun(outageSeconds: Int) throws {
        let dir = try Paths.temporaryDirectory("outage")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticMNIST.write(to: dir, train: 2000, test: 50)
        let config = try writeConfig("data:\n  dir: \(dir)\ntraining:\n  epochs: 40\n  batch_per_worker: 16\n", in: dir)
        var hosts = NetworkNamespaces()
        defer { hosts.destroy() }
        try hosts.create(hosts: ["cx", "wx1", "wx2"])
        // Each step order held 1 ms (`--fault delay:ms=1`): the 2,520 steps last over 2.5 s however
        // fast the link is, so the link goes down mid-run.
        let (coordinator, workers) = try startRemoteRun(hosts, config: config, dir: dir,
                                                        coordinatorArguments: ["--silence-limit", "6", "--fault", "delay:ms=1"])
        defer { coordinator.stop(); workers.forEach { $0.stop() } }
        #expect(coordinator.waitFor("training starts", seconds: 60), "\(coordinator.stdout)")
        usleep(1_000_000)
        try NetworkNamespaces.ip(["-n", hosts.namespace("wx1"), "link", "set", "vwx1\(hosts.suffix)", "down"])
        usleep(UInt32(outageSeconds) * 1_000_000)
        try NetworkNamespaces.ip(["-n", hosts.namespace("wx1"), "link", "set", "vwx1\(hosts.suffix)", "up"])
        #expect(coordinator.wait(seconds: 300) == 0, "\(coordinator.stdout.suffix(3000))\n\(coordinator.stderr.suffix(3000))")
        let out = coordinator.stdout
        if outageSeconds > 6 {
            // Longer than the silence limit: the worker is lost and its share goes to the other.
            #expect(out.contains("Worker rank 0 (") && out.contains("lost: silent for"), "\(out.suffix(3000))")
        }
        // 2000 samples, global batch 32: 63 steps an epoch, each applied once.
        let steps = try jsonLines("\(dir)/trace.jsonl").map { $0["step"] as! Int }
        #expect(steps == Array(0..<(40 * 63)), "\(steps.count) steps recorded")
        #expect(workers[1].wait(seconds: 30) == 0, "\(workers[1].stderr.suffix(2000))")
    }

    @Test(.enabled(if: NetworkNamespaces.available, "needs root and iproute2 to create network namespaces; skipped here"))
    func aDivergingStandaloneCoordinatorWithRemoteWorkersStopsEveryProcess() throws {
        let dir = try Paths.temporaryDirectory("diverge-remote")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticMNIST.write(to: dir, train: 64, test: 10)
        let config = try divergingConfig(in: dir)
        var hosts = NetworkNamespaces()
        defer { hosts.destroy() }
        try hosts.create(hosts: ["cx", "wx1", "wx2"])
        let started = Date()
        let (coordinator, workers) = try startRemoteRun(hosts, config: config, dir: dir)
        defer { coordinator.stop(); workers.forEach { $0.stop() } }
        #expect(coordinator.wait(seconds: 60) != 0)
        #expect(coordinator.stderr.contains("training diverged at step"), "\(coordinator.stderr)")
        for worker in workers {
            #expect(worker.wait(seconds: 30) != 0)
            #expect(worker.stderr.contains("the run did not finish"), "\(worker.stderr)")
        }
        #expect(Date().timeIntervalSince(started) < 30, "took \(Date().timeIntervalSince(started)) s")
    }
}
