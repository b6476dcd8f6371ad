import DescentProtocol
import Foundation
import Testing

extension SystemTests {
    /// `launch --local-worker`: the coordinator computes rank 0's share, one worker process
    /// computes rank 1's; every step is computed by both ranks, once, in order.
    @Test func launchWithALocalWorkerStartsOneWorkerProcessFewerAndBothRanksComputeEveryStep() throws {
        let dir = try Paths.temporaryDirectory("local-launch")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticMNIST.write(to: dir, train: 640, test: 10)
        let config = try writeConfig("data:\n  dir: \(dir)\ntraining:\n  batch_per_worker: 16\n  epochs: 3\n", in: dir)
        let launch = try Child("launch", ["launch", "--config", config, "--workers", "2", "--local-worker", "--trace-dir", "\(dir)/traces"], directory: dir)
        #expect(launch.wait(seconds: 120) == 0, "\(launch.stdout)\n\(launch.stderr)")
        let output = launch.stdout + launch.stderr
        #expect(!output.contains("[worker 0]"), "\(output)")
        #expect(output.contains("[worker 1] Worker rank 1 of 2 joined"), "\(output)")
        // Each process has a CPU of its own (pinned) where there are 2: the worker process spins for its steps.
        let pinned = ProcessInfo.processInfo.activeProcessorCount >= 2
        #expect(output.contains("parameters through shared memory, spinning up to 500 µs for each next step") == pinned, "\(output)")
        // (The worker process may register first: the count in the join line varies.)
        let joined = launch.stdout.split(separator: "\n").first { $0.hasPrefix("[coordinator] Worker rank 0 joined from") } ?? ""
        #expect(joined.contains(", shared memory, in the coordinator's process); "), "\(launch.stdout)")

        // 640 samples in global batches of 32: 20 steps an epoch, 60 in all.
        let steps = try jsonLines("\(dir)/traces/coordinator.jsonl")
        #expect(steps.map { $0["step"] as! Int } == Array(0..<60))
        for record in steps { #expect(record["ranks"] as! [Int] == [0, 1]) }
        for rank in 0...1 {
            let computed = try jsonLines("\(dir)/traces/worker-\(rank).jsonl")
            #expect(computed.map { $0["step"] as! Int } == Array(0..<60), "rank \(rank)")
            #expect(computed.allSatisfy { $0["rank"] as! Int == rank && $0["samples"] as! Int == 16 }, "rank \(rank)")
        }
    }

    /// A worker process that dies mid-run leaves its share to the coordinator's own worker,
    /// which then computes the whole global batch, and the run finishes.
    @Test func aWorkerProcessThatDiesLeavesItsShareToTheCoordinatorsOwnWorker() throws {
        let dir = try Paths.temporaryDirectory("local-loss")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticMNIST.write(to: dir, train: 640, test: 10)
        let config = try writeConfig("data:\n  dir: \(dir)\ntraining:\n  batch_per_worker: 16\n  epochs: 3\n", in: dir)
        let endpoint = "ipc://\(dir)/c.sock"
        let coordinator = try Child("coordinator", [
            "coordinator", "--config", config, "--workers", "2", "--bind", endpoint, "--local-worker",
            "--local-worker-trace", "\(dir)/worker-0.jsonl", "--trace", "\(dir)/coordinator.jsonl",
        ], directory: dir)
        defer { coordinator.stop() }
        // `exit:step=25` is `_exit(70)` when step 25 arrives: the process dies without a word.
        let worker = try Child("worker", ["worker", "--connect", endpoint, "--data", dir, "--rank", "1", "--fault", "exit:step=25"], directory: dir)
        #expect(worker.wait(seconds: 60) == 70, "\(worker.stderr)")
        #expect(coordinator.wait(seconds: 60) == 0, "\(coordinator.stdout)\n\(coordinator.stderr)")
        #expect(coordinator.stdout.contains("Worker rank 1 ("), "\(coordinator.stdout)")
        #expect(coordinator.stdout.contains("1 worker(s) go on"), "\(coordinator.stdout)")
        #expect(coordinator.stdout.contains("Step 25 dealt again (round 1) to rank(s) 0"), "\(coordinator.stdout)")

        let steps = try jsonLines("\(dir)/coordinator.jsonl")
        #expect(steps.map { $0["step"] as! Int } == Array(0..<60))
        for record in steps {
            let step = record["step"] as! Int
            #expect(record["ranks"] as! [Int] == (step < 25 ? [0, 1] : [0]), "step \(step)")
            #expect(record["samples"] as! Int == 32, "step \(step)")
        }
        // Rank 0 computed every step; from step 25 on, both slots of it.
        let computed = try jsonLines("\(dir)/worker-0.jsonl")
        let lastRound = Dictionary(computed.map { ($0["step"] as! Int, $0) }, uniquingKeysWith: { _, last in last })
        #expect(lastRound.keys.sorted() == Array(0..<60))
        for (step, record) in lastRound { #expect(record["slots"] as! [Int] == (step < 25 ? [0] : [0, 1]), "step \(step)") }
    }

    @Test func noPeerOnTheWireCanBeTheCoordinatorsOwnWorker() {
        // Without CURVE a peer is its routing id (no key name); with CURVE a 40-character key.
        #expect(PeerID([]) != .inProcess)
        #expect(PeerID(Array("in-process".utf8)) != .inProcess)
        #expect(PeerID(authenticatedKey: String(repeating: "a", count: 40), name: "in-process") != .inProcess)
        #expect(PeerID.inProcess.description == "the coordinator's own worker")
    }
}
