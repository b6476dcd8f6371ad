import Foundation
import Testing

/// The synchronisation modes with a real coordinator and real workers over ZeroMQ, on the real
/// MNIST sample (the first 960 images: 30 global batches of 32 an epoch).
extension SystemTests {
    static func syncModeConfig(data: String, sync: String) -> String {
        """
        seed: 3
        model: {hidden: [32]}
        data: {dir: \(data), train_limit: 960}
        training: {epochs: 2, batch_per_worker: 16\(sync.isEmpty ? "" : ", " + sync)}
        schedule: {type: exponential, initial_rate: 0.1, decay_steps: 10, decay_rate: 0.8, staircase: true}
        """
    }

    /// The schedule from its formula, in float32 as Keras rounds it.
    static func syncModeRate(_ step: Int) -> Float {
        Float(Double(Float(0.1)) * pow(Double(Float(0.8)), Double(step / 10)))
    }

    /// A coordinator and two workers; `workerFaults[r]` is passed to worker r. Returns the coordinator.
    @discardableResult
    static func runSyncMode(_ name: String, config: String, in dir: String, workerFaults: [[String]] = [[], []],
                            coordinatorArguments: [String] = []) throws -> Child {
        let endpoint = "ipc://\(dir)/\(name).sock"
        let coordinator = try Child("\(name)-coordinator", [
            "coordinator", "--config", config, "--workers", "2", "--bind", endpoint,
            "--save", "\(dir)/\(name).bin", "--trace", "\(dir)/\(name).jsonl",
        ] + coordinatorArguments, directory: dir)
        let workers = try (0..<2).map { rank in
            try Child("\(name)-worker-\(rank)", ["worker", "--connect", endpoint, "--config", config, "--rank", "\(rank)"]
                      + workerFaults[rank].flatMap { ["--fault", $0] }, directory: dir)
        }
        #expect(coordinator.wait() == 0, "\(coordinator.stdout)\n\(coordinator.stderr)")
        for worker in workers { #expect(worker.wait(seconds: 30) == 0, "\(worker.stderr)") }
        return coordinator
    }

    @Test(.enabled(if: Paths.mnistSample != nil, "needs the real MNIST sample at ../shared/data/mnist-sample (or $DESCENT_MNIST_SAMPLE)"))
    func boundedWithStalenessZeroEndsWithTheParametersOfSyncBitForBit() throws {
        let sample = try #require(Paths.mnistSample)
        let dir = try Paths.temporaryDirectory("syncmode-k0")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Sync with its default shared memory; bounded through the socket: the same arithmetic.
        try Self.runSyncMode("sync", config: writeConfig(Self.syncModeConfig(data: sample, sync: ""), in: dir, name: "sync.yaml"), in: dir)
        let bounded = try Self.runSyncMode("bounded", config: writeConfig(Self.syncModeConfig(data: sample, sync: "sync: bounded, staleness: 0"),
                                                                          in: dir, name: "bounded.yaml"), in: dir)
        #expect(bounded.stdout.contains("Staleness: mean 0.000, max 0 over 120 gradients"), "\(bounded.stdout)")
        let sync = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/sync.bin"))
        let stale = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/bounded.bin"))
        #expect(sync.count > 100_000 && sync == stale)
        // ...and training moved the parameters (a run that changed nothing would also be equal).
        #expect(try readParameters("\(dir)/sync.bin") != Array(repeating: 0, count: 784 * 32 + 32 + 32 * 10 + 10))
    }

    @Test(.enabled(if: Paths.mnistSample != nil, "needs the real MNIST sample at ../shared/data/mnist-sample (or $DESCENT_MNIST_SAMPLE)"))
    func asyncWithASlowWorkerAppliesEachGradientOnceAtItsStepsRateAndTracesItsStaleness() throws {
        let sample = try #require(Paths.mnistSample)
        let dir = try Paths.temporaryDirectory("syncmode-async")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = try writeConfig(Self.syncModeConfig(data: sample, sync: "sync: async"), in: dir, name: "async.yaml")
        // Worker 1 waits 40 ms before each gradient: worker 0's are applied meanwhile.
        let coordinator = try Self.runSyncMode("async", config: config, in: dir, workerFaults: [[], ["delay:ms=40"]],
                                               coordinatorArguments: ["--run-dir", "\(dir)/run"])
        // One worker's batch of 16 per update: 60 batches an epoch, 120 steps.
        let trace = try jsonLines("\(dir)/async.jsonl")
        #expect(trace.map { $0["step"] as! Int } == Array(0..<120))
        #expect(trace.map { $0["samples"] as! Int }.allSatisfy { $0 == 16 })
        var byRank: [Int: [Int]] = [:]
        for record in trace {
            let step = record["step"] as! Int
            let ranks = record["ranks"] as! [Int]
            #expect(ranks.count == 1)
            #expect(Float(record["rate"] as! Double) == Self.syncModeRate(step), "step \(step)")
            let paramStep = record["param_step"] as! Int
            #expect(paramStep <= step && record["staleness"] as! Int == step - paramStep)
            byRank[ranks[0], default: []].append(step - paramStep)
        }
        let slow = byRank[1] ?? [], fast = byRank[0] ?? []
        let mean = { (values: [Int]) in Double(values.reduce(0, +)) / Double(max(values.count, 1)) }
        #expect(!slow.isEmpty && fast.count > slow.count, "fast \(fast.count), slow \(slow.count)")
        #expect(mean(slow) > mean(fast) && (slow.max() ?? 0) >= 2, "slow \(slow), fast \(fast)")
        let all = slow + fast
        #expect(coordinator.stdout.contains(String(format: "Staleness: mean %.3f, max %d over 120 gradients", mean(all), all.max()!)),
                "\(coordinator.stdout)")
        // The run directory's summary carries the same figures.
        let finished = try #require(try jsonLines("\(dir)/run/events.jsonl").first { $0["type"] as? String == "run_finished" })
        #expect(abs((finished["mean_staleness"] as? Double ?? -1) - mean(all)) < 1e-9 && finished["max_staleness"] as? Int == all.max())
    }

    @Test(.enabled(if: Paths.mnistSample != nil, "needs the real MNIST sample at ../shared/data/mnist-sample (or $DESCENT_MNIST_SAMPLE)"))
    func boundedWithASlowWorkerNeverExceedsItsStaleness() throws {
        let sample = try #require(Paths.mnistSample)
        let dir = try Paths.temporaryDirectory("syncmode-bounded")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = try writeConfig(Self.syncModeConfig(data: sample, sync: "sync: bounded, staleness: 2"), in: dir, name: "bounded.yaml")
        try Self.runSyncMode("bounded", config: config, in: dir, workerFaults: [[], ["delay:ms=20"]])
        let trace = try jsonLines("\(dir)/bounded.jsonl")
        #expect(trace.map { $0["step"] as! Int } == Array(0..<60))
        var largest = 0
        for record in trace {
            let step = record["step"] as! Int
            #expect(record["ranks"] as! [Int] == [0, 1] && record["samples"] as! Int == 32)
            #expect(Float(record["rate"] as! Double) == Self.syncModeRate(step))
            let staleness = (record["param_steps"] as! [Int]).map { step - $0 }
            #expect(staleness.allSatisfy { (0...2).contains($0) }, "step \(step): \(staleness)")
            largest = max(largest, staleness.max()!)
        }
        // The fast worker did run ahead of the slow one.
        #expect(largest >= 1)
    }
}
