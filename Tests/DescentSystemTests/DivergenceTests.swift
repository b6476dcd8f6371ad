import DescentProtocol
import DescentTraining
import DescentTransport
import Foundation
import Testing

extension SystemTests {
    /// A schedule whose first rate is far too high.
    func divergingConfig(in dir: String) throws -> String {
        try writeConfig("""
            data:
              dir: \(dir)
            training:
              epochs: 3
              batch_size: 16
            schedule: {type: constant, rate: 1.0e+30}
            """, in: dir)
    }

    @Test func aDivergingTrainStopsWithinSecondsWithTheMessageAndACheckpoint() throws {
        let dir = try Paths.temporaryDirectory("diverge-train")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticMNIST.write(to: dir, train: 64, test: 10)
        let config = try divergingConfig(in: dir)
        let train = try Child("train", ["train", "--config", config, "--checkpoint-dir", "\(dir)/ckpt"], directory: dir)
        #expect(train.wait(seconds: 30) != 0)
        #expect(train.stderr.contains("training diverged at step"), "\(train.stderr)")
        #expect(train.stderr.contains("Lower the learning rate"), "\(train.stderr)")
        let saved = (try? FileManager.default.contentsOfDirectory(atPath: "\(dir)/ckpt")) ?? []
        #expect(saved.contains { $0.hasPrefix("checkpoint-") }, "\(saved)")
        #expect(!train.stdout.contains("nan"), "\(train.stdout)")
    }

    /// With `--local-worker` rank 0 is the coordinator's own worker: its result is always looked
    /// at first (it is computed on the coordinator's thread), so the run names it.
    @Test(arguments: [false, true])
    func aDivergingDistributedRunStopsEveryProcessWithTheMessage(localWorker: Bool) throws {
        let dir = try Paths.temporaryDirectory("diverge-launch")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticMNIST.write(to: dir, train: 64, test: 10)
        let config = try divergingConfig(in: dir)
        let launch = try Child("launch", ["launch", "--config", config, "--workers", "2", "--checkpoint-dir", "\(dir)/ckpt"]
                                         + (localWorker ? ["--local-worker"] : []), directory: dir)
        #expect(launch.wait(seconds: 60) != 0)
        let output = launch.stdout + launch.stderr
        #expect(output.contains("training diverged at step"), "\(output)")
        if localWorker { #expect(output.contains("the gradient of rank 0 is NaN or infinite"), "\(output)") }
        // Every worker process was told why and exited with a failure too.
        #expect(output.components(separatedBy: "the run did not finish").count - 1 == (localWorker ? 1 : 2), "\(output)")
    }
}

extension SystemTests {
    @Test func aWorkerAliveButStuckIsDroppedAtTheProgressDeadlineAndTheRunFinishes() throws {
        let dir = try Paths.temporaryDirectory("stuck")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticMNIST.write(to: dir, train: 128, test: 10)
        let config = try writeConfig("data:\n  dir: \(dir)\ntraining:\n  epochs: 2\n  batch_size: 16\n", in: dir)
        let endpoint = "ipc://\(dir)/c.sock"
        let coordinator = try Child("coordinator", ["coordinator", "--config", config, "--workers", "2", "--bind", endpoint,
                                                    "--progress-deadline", "3", "--trace", "\(dir)/trace.jsonl"], directory: dir)
        defer { coordinator.stop() }
        let healthy = try Child("w0", ["worker", "--connect", endpoint, "--data", dir, "--rank", "0"], directory: dir)
        let stuck = try Child("w1", ["worker", "--connect", endpoint, "--data", dir, "--rank", "1", "--fault", "hang:step=5"], directory: dir)
        defer { healthy.stop(); stuck.stop() }
        #expect(coordinator.wait(seconds: 60) == 0, "\(coordinator.stdout)\n\(coordinator.stderr)")
        #expect(coordinator.stdout.contains("Worker rank 1 (") && coordinator.stdout.contains("no gradient for step 5 after 3 s although it is alive"),
                "\(coordinator.stdout)")
        #expect(try jsonLines("\(dir)/trace.jsonl").map { $0["step"] as! Int } == Array(0..<16))
        #expect(stuck.wait(seconds: 20) != 0, "a worker dropped from the run exits with a failure")
        #expect(healthy.wait(seconds: 20) == 0)
    }

    @Test func launchRestartsAFailingWorkerUntilItsBudgetIsSpent() throws {
        let dir = try Paths.temporaryDirectory("restart")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticMNIST.write(to: dir, train: 3000, test: 10)
        // A long run (187,500 steps): it must outlast three restarts of worker 1 (a second or so
        // each) while worker 0 trains on alone; 1,875 steps were done first on a fast machine.
        let config = try writeConfig("data:\n  dir: \(dir)\ntraining:\n  epochs: 1000\n  batch_size: 16\n", in: dir)
        // Worker 1 exits at step 20 (and at once whenever it rejoins later): restarted twice, and the
        // third exit spends the budget, so launch stops the run and fails.
        let failing = try Child("launch-fail", ["launch", "--config", config, "--workers", "2", "--max-restarts", "2",
                                                "--worker-fault", "1=exit:step=20"], directory: dir)
        #expect(failing.wait(seconds: 120) != 0)
        #expect((failing.stdout + failing.stderr).contains("restart 2 of 2"), "\(failing.stderr)")
        #expect(failing.stdout.contains("worker: fault injected: exiting at step") || failing.stderr.contains("fault injected: exiting at step"))
        // The checkpoints of the run that did not finish are kept, in a directory it names and
        // no other launch would use; this test removes it.
        let said = failing.stdout + failing.stderr
        let kept = try #require(said.range(of: "its checkpoints are in ").map { said[$0.upperBound...].prefix { $0 != ":" } },
                                "\(failing.stderr.suffix(1000))")
        #expect(kept.hasPrefix(NSTemporaryDirectory() + "descent-launch-checkpoints-\(failing.process.processIdentifier)-"), "\(kept)")
        #expect(said.contains("continue with --resume \(kept)"))
        #expect(!CheckpointStore(directory: String(kept)).files().isEmpty)
        try FileManager.default.removeItem(atPath: String(kept))
    }
}
