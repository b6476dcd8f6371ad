import Foundation
import Testing

extension SystemTests {
    /// A run of 1000 synthetic images whose staircase schedule (0.1 * 0.9^floor(t / 50))
    /// changes 3 times in 200 steps, and whose epochs end on a short batch.
    static func config(dataDir: String, batch: String) -> String {
        """
        seed: 7
        data:
          dir: \(dataDir)
        training:
          epochs: 100
          \(batch)
        schedule:
          type: exponential
          initial_rate: 0.1
          decay_steps: 50
          decay_rate: 0.9
          staircase: true
        """
    }

    /// The schedule of `config`, written out from its formula in float32 as Keras does.
    static func expectedRate(_ step: Int) -> Float {
        Float(Double(Float(0.1)) * pow(Double(Float(0.9)), Double(step / 50)))
    }

    /// With shared memory (the default on one host) and through the socket; `local`: the
    /// coordinator computes rank 0's share itself (`--local-worker`), with one worker process fewer,
    /// whose workers spin for each next step (as `launch --local-worker` starts them); `lastBySocket`:
    /// the last worker process refuses shared memory (`--no-shared-memory`), so its steps carry the
    /// parameters the others read in the segment's buffers, which alternate.
    @Test(arguments: [(1, true, false, false), (2, true, false, false), (4, true, false, false), (2, false, false, false),
                      (4, false, false, false), (1, true, true, false), (2, true, true, false), (3, true, true, false),
                      (2, false, true, false), (3, true, true, true)])
    func distributedRunMatchesOneProcessOnTheSameGlobalBatchesAndEveryStepCarriesTheScheduledRate(
        workers: Int, sharedMemory: Bool, local: Bool, lastBySocket: Bool
    ) throws {
        let dir = try Paths.temporaryDirectory("equivalence")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticMNIST.write(to: dir, train: 1000, test: 100)
        let perWorker = 8
        let single = try writeConfig(Self.config(dataDir: dir, batch: "batch_size: \(workers * perWorker)"), in: dir, name: "single.yaml")
        let distributed = try writeConfig(Self.config(dataDir: dir, batch: "batch_per_worker: \(perWorker)"), in: dir, name: "distributed.yaml")

        let oneStep = try Child("train-1", ["train", "--config", single, "--max-steps", "1", "--save", "\(dir)/one.bin"], directory: dir)
        #expect(oneStep.wait() == 0, "\(oneStep.stderr)")
        let train = try Child("train", ["train", "--config", single, "--max-steps", "200", "--save", "\(dir)/single.bin"], directory: dir)
        #expect(train.wait() == 0, "\(train.stderr)")

        let endpoint = "ipc://\(dir)/coordinator.sock"
        let coordinator = try Child("coordinator", [
            "coordinator", "--config", distributed, "--workers", "\(workers)", "--bind", endpoint,
            "--max-steps", "200", "--save", "\(dir)/distributed.bin", "--trace", "\(dir)/coordinator.jsonl",
        ] + (sharedMemory ? [] : ["--no-shared-memory"]) + (local ? ["--local-worker", "--local-worker-trace", "\(dir)/worker-0.jsonl"] : []),
            directory: dir)
        let workerProcesses = try ((local ? 1 : 0)..<workers).map { rank in
            try Child("worker-\(rank)", [
                "worker", "--connect", endpoint, "--config", distributed, "--rank", "\(rank)", "--trace", "\(dir)/worker-\(rank).jsonl",
            ] + (local ? ["--spin-microseconds", "500"] : []) + (lastBySocket && rank == workers - 1 ? ["--no-shared-memory"] : []), directory: dir)
        }
        let bySegment = sharedMemory ? workerProcesses.count - (lastBySocket ? 1 : 0) : 0
        #expect(coordinator.wait() == 0, "\(coordinator.stdout)\n\(coordinator.stderr)")
        #expect(coordinator.stdout.components(separatedBy: ", shared memory)").count - 1 == bySegment)
        if local {
            // The coordinator's own worker: rank 0, in its process, through the segment when there is one.
            // (Worker processes may register before it: the count in its join line varies.)
            let joined = coordinator.stdout.split(separator: "\n").first { $0.hasPrefix("Worker rank 0 joined from") } ?? ""
            #expect(joined.contains(", in the coordinator's process); "), "\(coordinator.stdout)")
            #expect(coordinator.stdout.contains(", shared memory, in the coordinator's process)") == sharedMemory)
        }
        for (index, worker) in workerProcesses.enumerated() {
            #expect(worker.wait(seconds: 30) == 0, "\(worker.stderr)")
            // The spin is for steps announced in the segment; through the socket there is none.
            let inSegment = sharedMemory && !(lastBySocket && index == workerProcesses.count - 1)
            #expect(worker.stdout.contains(", parameters through shared memory, spinning up to 500 µs for each next step") == (local && inSegment),
                    "\(worker.stdout)")
        }

        // Equivalence: the same parameters, up to float32 rounding of the sums' order.
        let reference = try readParameters("\(dir)/single.bin")
        let parallel = try readParameters("\(dir)/distributed.bin")
        let afterOneStep = try readParameters("\(dir)/one.bin")
        #expect(reference.count == parallel.count && reference.count == 784 * 128 + 128 + 128 * 10 + 10)
        let scale = reference.map { abs($0) }.max()!
        let difference = zip(reference, parallel).map { abs($0 - $1) }.max()! / scale
        #expect(difference <= 1e-5, "max relative difference \(difference)")
        // ...and training did move them far beyond that tolerance.
        let moved = zip(reference, afterOneStep).map { abs($0 - $1) }.max()! / scale
        #expect(moved > 1e-3)

        // The trace: every step exactly once, in order, at the scheduled rate, from every rank.
        let steps = try jsonLines("\(dir)/coordinator.jsonl")
        #expect(steps.map { $0["step"] as! Int } == Array(0..<200))
        for record in steps {
            let step = record["step"] as! Int
            #expect(Float(record["rate"] as! Double) == Self.expectedRate(step), "step \(step)")
            #expect(record["ranks"] as! [Int] == Array(0..<workers))
        }
        // 1000 samples in global batches of 8N: the samples of each step add up to the batch.
        let batch = 8 * workers
        let stepsPerEpoch = (1000 + batch - 1) / batch
        for record in steps {
            let step = record["step"] as! Int
            let expected = step % stepsPerEpoch == stepsPerEpoch - 1 ? 1000 - (stepsPerEpoch - 1) * batch : batch
            #expect(record["samples"] as! Int == expected, "step \(step)")
        }
        // Every worker received every step once, with the rate the coordinator applied.
        for rank in 0..<workers {
            let received = try jsonLines("\(dir)/worker-\(rank).jsonl")
            #expect(received.map { $0["step"] as! Int } == Array(0..<200), "rank \(rank)")
            for record in received {
                let step = record["step"] as! Int
                #expect(Float(record["rate"] as! Double) == Self.expectedRate(step), "rank \(rank) step \(step)")
                #expect(record["rank"] as! Int == rank)
            }
        }
    }
}
