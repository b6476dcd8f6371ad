import DescentConfig
import DescentCore
import DescentData
import DescentProtocol
import DescentTraining
import Foundation
import Testing
@testable import DescentCoordinator
@testable import DescentWorker

/// The async and bounded modes with the real shells (coordinator, workers, gradients, SGD)
/// connected in one process, turned by hand. Expected rates come from the schedule's formula
/// written out here, not from the schedule code.
@Suite struct SyncModeShellTests {
    typealias Run = InMemoryShellTests.Run

    /// 96 images, batch 16 (8 per worker with 2 workers), 2 epochs; exponential staircase
    /// 0.1 * 0.5^floor(t / 4).
    func config(_ training: String, stalenessAware: Bool = false) throws -> RunConfig {
        try RunConfig.parse(yaml: """
            seed: 11
            model: {hidden: [16]}
            training: {epochs: 2, batch_size: 16\(training.isEmpty ? "" : ", " + training)}
            schedule: {type: exponential, initial_rate: 0.1, decay_steps: 4, decay_rate: 0.5, staircase: true\(stalenessAware ? ", staleness_aware: true" : "")}
            """)
    }

    /// The schedule, from its formula, rounded to float32 as Keras does.
    static func expectedRate(_ step: Int) -> Float {
        Float(Double(Float(0.1)) * pow(Double(Float(0.5)), Double(step / 4)))
    }

    func tracePath(_ name: String) -> String {
        NSTemporaryDirectory() + "descent-syncmode-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).jsonl"
    }

    func records(_ path: String) throws -> [[String: Any]] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
    }

    /// Turns the coordinator every turn and worker r only on turns divisible by `every[r]`.
    func turn(_ run: Run, every: [Int], maxTurns: Int = 100_000) throws {
        var turns = 0
        while !run.shell.isFinished && turns < maxTurns {
            try run.shell.turn(timeout: 0)
            for (rank, worker) in run.workers.enumerated() where worker.ending == nil && turns % every[rank] == 0 {
                try worker.turn(timeout: 0)
            }
            turns += 1
        }
    }

    @Test func boundedWithStalenessZeroIsBitIdenticalToSync() throws {
        let sync = try Run(config(""), workers: 2)
        try sync.turn()
        let syncSummary = try sync.shell.complete()
        let bounded = try Run(config("sync: bounded, staleness: 0"), workers: 2)
        try bounded.turn()
        let boundedSummary = try bounded.shell.complete()
        #expect(boundedSummary.steps == syncSummary.steps && syncSummary.steps == 12)
        #expect(boundedSummary.parameters.map(\.bitPattern) == syncSummary.parameters.map(\.bitPattern))
        #expect(boundedSummary.staleness?.max == 0 && boundedSummary.staleness?.gradients == 24)
    }

    @Test func asyncAppliesEveryGradientOnceAtTheRateOfItsStepOfApplication() throws {
        // Each update is one worker's batch of 8: 12 batches an epoch, 24 steps.
        let path = tracePath("async")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let run = try Run(config("sync: async"), workers: 2, options: RunOptions(tracePath: path))
        try turn(run, every: [1, 1])
        let summary = try run.shell.complete()
        #expect(summary.steps == 24)
        let trace = try records(path)
        #expect(trace.map { $0["step"] as! Int } == Array(0..<24))
        for record in trace {
            let step = record["step"] as! Int
            #expect(Float(record["rate"] as! Double) == Self.expectedRate(step), "step \(step)")
            #expect((record["ranks"] as! [Int]).count == 1 && record["samples"] as! Int == 8)
            let paramStep = record["param_step"] as! Int
            #expect(record["staleness"] as! Int == step - paramStep && paramStep <= step)
        }
        // Both workers' gradients were applied, and each worker computed each of its batches once:
        // no batch beyond the 24 of the run is dealt, so what they computed is exactly what was applied.
        let byRank = Dictionary(grouping: trace, by: { ($0["ranks"] as! [Int])[0] }).mapValues(\.count)
        #expect(byRank[0, default: 0] > 0 && byRank[1, default: 0] > 0)
        let computed = run.workers.map(\.computedSteps).reduce(0, +)
        #expect(computed == 24)
    }

    @Test func aSlowWorkerInAsyncModeShowsItsStalenessInTheTrace() throws {
        // Worker 1 is turned once for every 4 turns of worker 0: while it computes one batch,
        // worker 0's gradients are applied, so worker 1's arrive several steps stale.
        let path = tracePath("slow")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let run = try Run(config("sync: async"), workers: 2, options: RunOptions(tracePath: path))
        try turn(run, every: [1, 4])
        let summary = try run.shell.complete()
        let trace = try records(path)
        func staleness(rank: Int) -> [Int] {
            trace.filter { ($0["ranks"] as! [Int]) == [rank] }.map { $0["staleness"] as! Int }
        }
        let fast = staleness(rank: 0), slow = staleness(rank: 1)
        #expect(!slow.isEmpty && !fast.isEmpty)
        let mean = { (values: [Int]) in Double(values.reduce(0, +)) / Double(values.count) }
        #expect(mean(slow) > mean(fast) && slow.max()! >= 2, "slow \(slow), fast \(fast)")
        #expect(summary.staleness?.max == max(slow.max()!, fast.max() ?? 0))
        #expect(summary.staleness?.gradients == 24)
    }

    @Test(arguments: [1, 2])
    func boundedStalenessNeverExceedsKWithASlowWorker(k: Int) throws {
        let path = tracePath("bounded")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let run = try Run(config("sync: bounded, staleness: \(k)"), workers: 2, options: RunOptions(tracePath: path))
        try turn(run, every: [1, 3])
        let summary = try run.shell.complete()
        let trace = try records(path)
        #expect(trace.map { $0["step"] as! Int } == Array(0..<12))
        for record in trace {
            let step = record["step"] as! Int
            #expect(Float(record["rate"] as! Double) == Self.expectedRate(step))
            #expect(record["ranks"] as! [Int] == [0, 1] && record["samples"] as! Int == 16)
            let perRank = (record["param_steps"] as! [Int]).map { step - $0 }
            #expect(perRank.allSatisfy { $0 >= 0 && $0 <= k } && record["staleness"] as! Int == perRank.max())
        }
        // The fast worker did run ahead.
        #expect(summary.staleness!.max >= 1 && summary.staleness!.max <= k)
    }

    @Test func theStalenessAwareRateDividesEachGradientByItsStalenessPlusOne() throws {
        // Same run and turn order with and without the option: the first update (staleness 0)
        // agrees; a run with stale gradients ends elsewhere.
        let plain = try Run(config("sync: async"), workers: 2)
        try turn(plain, every: [1, 4])
        let plainSummary = try plain.shell.complete()
        let aware = try Run(config("sync: async", stalenessAware: true), workers: 2)
        try turn(aware, every: [1, 4])
        let awareSummary = try aware.shell.complete()
        #expect(plainSummary.staleness == awareSummary.staleness && plainSummary.staleness!.max > 0)
        #expect(plainSummary.parameters != awareSummary.parameters)
        // With no staleness at all (bounded 0), the option changes nothing, bit for bit.
        let zero = try Run(config("sync: bounded, staleness: 0"), workers: 2)
        try zero.turn()
        let zeroAware = try Run(config("sync: bounded, staleness: 0", stalenessAware: true), workers: 2)
        try zeroAware.turn()
        #expect(try zero.shell.complete().parameters.map(\.bitPattern) == zeroAware.shell.complete().parameters.map(\.bitPattern))
    }

    @Test func aWorkerCutOffInAsyncModeHasItsBatchDealtAgainAndTheRunFinishes() throws {
        let path = tracePath("lost")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let run = try Run(config("sync: async"), workers: 3, silence: 0.3, options: RunOptions(tracePath: path))
        try run.turn(until: { run.workers[2].computedSteps >= 2 })
        run.network.cutOff(PeerID([2]))
        // Turns until the run ends, however fast they are: the re-deal waits for the 0.3 s
        // silence limit, which 100,000 turns of a fast machine did not always span.
        let deadline = Date().addingTimeInterval(30)
        try run.turn(maxTurns: .max, until: { Date() > deadline })
        #expect(run.shell.isFinished, "the run did not finish within 30 s")
        let summary = try run.shell.complete()
        // 96 samples, batch 16 / 3 workers = 5 per update: 20 batches an epoch, 40 steps, each applied once.
        #expect(summary.steps == 40)
        let trace = try records(path)
        #expect(trace.map { $0["step"] as! Int } == Array(0..<40))
        #expect(trace.map { $0["samples"] as! Int }.reduce(0, +) == 2 * 96)
        // Rank 2's gradients stop at the cut; the last ones come from the survivors.
        let lastOfRank2 = trace.lastIndex { ($0["ranks"] as! [Int]) == [2] } ?? -1
        #expect(lastOfRank2 >= 1 && lastOfRank2 < 30)
    }
}
