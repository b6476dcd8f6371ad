import DescentCore
import Testing
@testable import DescentProtocol

/// The coordinator's machine in `async` and `bounded` modes, driven with events, no sockets.
/// Expected orders and staleness are worked out by hand in each test's comments.
@Suite struct PipelinedMachineTests {
    typealias M = CoordinatorMachine
    static let runID: UInt64 = 5
    let peers = (0..<4).map { PeerID([UInt8($0 + 1)]) }

    /// 10 samples; `batch` per update (async: one worker's batch; bounded: the global batch).
    func machine(_ mode: SyncMode, slots: Int = 2, batch: Int, epochs: Int = 2) -> M {
        let plan = EpochPlan(sampleCount: 10, globalBatch: batch, seed: 1)
        var m = M(settings: .init(runID: Self.runID, plan: plan, totalSteps: epochs * plan.stepsPerEpoch, slots: slots,
                                  configHash: 0, mode: mode), now: 0)
        m.prepare(firstRate: 0.1)
        return m
    }

    func hello(_ rank: Int) -> WireMessage {
        .hello(.init(runID: 0, generation: 0, requestedRank: UInt32(rank), configHash: 0, processID: 1,
                     introduction: WorkerIntroduction(host: "h", pid: 1, requestedRank: rank)))
    }

    func gradient(rank: Int, step: Int, samples: Int, round: UInt16 = 0) -> WireMessage {
        .gradient(.init(runID: Self.runID, generation: 0, rank: UInt32(rank), step: UInt64(step), round: round,
                        samples: UInt64(samples), lossSum: 1, correct: 0, count: 5, location: .frame))
    }

    func orders(_ directives: [M.Directive]) -> [(step: Int, round: UInt16, participants: UInt64, ranks: [Int])] {
        directives.compactMap {
            if case let .sendStep(order, to) = $0 { return (order.step, order.round, order.participants, to.map(\.rank)) } else { return nil }
        }
    }

    func applies(_ directives: [M.Directive]) -> [(step: Int, ranks: [Int], paramSteps: [Int])] {
        directives.compactMap {
            if case let .applyUpdate(step, _, ranks, _, paramSteps) = $0 { return (step, ranks, paramSteps) } else { return nil }
        }
    }

    func rejections(_ directives: [M.Directive]) -> [Rejection] {
        directives.compactMap { if case .log(.rejected(let kind, _)) = $0 { return kind } else { return nil } }
    }

    // MARK: async

    @Test func asyncAppliesEachGradientAsItArrivesAtTheStepOfApplicationAndDealsThatWorkerTheNextBatch() {
        // Batches of 2 samples: 5 an epoch, 10 steps. Rank 0 gets batch 0, rank 1 batch 1, both at the parameters of step 0.
        var m = machine(.async, batch: 2)
        _ = m.receive(hello(0), from: peers[0], now: 0)
        let start = m.receive(hello(1), from: peers[1], now: 0)
        #expect(start.contains(.trainingStarted))
        let first = orders(start)
        #expect(first.map(\.step) == [0, 1] && first.map(\.ranks) == [[0], [1]] && first.map(\.participants) == [0b01, 0b10])

        // Rank 1 answers first: its gradient is update 0 (staleness 0), and it gets batch 2 at the parameters of step 1.
        let one = m.receive(gradient(rank: 1, step: 1, samples: 2), from: peers[1], now: 1)
        #expect(one.first == .accumulateGradient(rank: 1, samples: 2, lossSum: 1, correct: 0, buffer: 0, staleness: 0))
        #expect(applies(one).map(\.step) == [0] && applies(one).map(\.paramSteps) == [[0]])
        let next = orders(m.stepApplied(nextRate: 0.05, now: 1))
        #expect(next.map(\.step) == [2] && next.map(\.ranks) == [[1]])

        // Rank 0's gradient (parameters of step 0) is applied as update 1: staleness 1.
        let two = m.receive(gradient(rank: 0, step: 0, samples: 2), from: peers[0], now: 2)
        #expect(two.first == .accumulateGradient(rank: 0, samples: 2, lossSum: 1, correct: 0, buffer: 0, staleness: 1))
        #expect(applies(two).map(\.step) == [1] && applies(two).map(\.paramSteps) == [[0]])
        #expect(orders(m.stepApplied(nextRate: 0.05, now: 2)).map(\.step) == [3])

        // The same gradient again is not applied twice.
        #expect(rejections(m.receive(gradient(rank: 1, step: 1, samples: 2), from: peers[1], now: 3)) == [.pastStep])
        // Nor is a gradient of the wrong size.
        #expect(rejections(m.receive(gradient(rank: 1, step: 2, samples: 1), from: peers[1], now: 3)) == [.wrongSamples])
    }

    /// Drives an async run to its end: `pick` says which busy rank answers next.
    struct Drive {
        var applied: [(step: Int, batch: Int, staleness: Int)] = []
        var work: [Int: (step: Int, round: UInt16)] = [:]
    }

    @Test func asyncLostWorkersBatchIsDealtAgainOnceAndItsInFlightGradientIsNeverApplied() {
        // 3 ranks, batches of 2: 10 steps. Rank 2 is lost at its second batch; its gradient arrives afterwards.
        var m = machine(.async, slots: 3, batch: 2)
        var d = Drive()
        func take(_ directives: [M.Directive]) {
            for order in orders(directives) { for rank in order.ranks { d.work[rank] = (order.step, order.round) } }
        }
        for rank in 0..<3 { take(m.receive(hello(rank), from: peers[rank], now: 0)) }
        var lostWork: (step: Int, round: UInt16)?
        var turn = 0
        while m.phase != .finished && turn < 200 {
            turn += 1
            let busy = d.work.keys.sorted()
            guard !busy.isEmpty else { break }
            let rank = busy[turn % busy.count]
            let (step, round) = d.work[rank]!
            if rank == 2 && lostWork == nil && turn > 3 {
                lostWork = (step, round)
                d.work[2] = nil
                take(m.lost(peers[2], reason: "test", now: Double(turn)))
                continue
            }
            d.work[rank] = nil
            let answer = m.receive(gradient(rank: rank, step: step, samples: 2, round: round), from: peers[rank], now: Double(turn))
            #expect(rejections(answer).isEmpty, "turn \(turn)")
            for apply in applies(answer) {
                let staleness = answer.compactMap { if case let .accumulateGradient(_, _, _, _, _, s) = $0 { return s } else { return nil } }
                d.applied.append((apply.step, step, staleness.first ?? -1))
                #expect(apply.step - apply.paramSteps[0] == staleness.first)
                take(m.stepApplied(nextRate: 0.1, now: Double(turn)))
            }
        }
        #expect(m.phase == .finished)
        // Every update once, in order; every batch of the plan applied exactly once, the lost one included.
        #expect(d.applied.map(\.step) == Array(0..<10))
        #expect(d.applied.map(\.batch).sorted() == Array(0..<10))
        let lost = try! #require(lostWork)
        // The lost worker's gradient, arriving late: refused (its sender is no longer registered).
        #expect(rejections(m.receive(gradient(rank: 2, step: lost.step, samples: 2, round: lost.round), from: peers[2], now: 999))
                == [.unknownSender])
    }

    @Test func asyncRejoinedWorkersOldGradientIsRefused() {
        var m = machine(.async, batch: 2)
        _ = m.receive(hello(0), from: peers[0], now: 0)
        _ = m.receive(hello(1), from: peers[1], now: 0)
        // Rank 1 (batch 1, round 0) is lost and comes back on a new connection under the same rank.
        _ = m.lost(peers[1], reason: "test", now: 1)
        let back = orders(m.receive(hello(1), from: peers[2], now: 2))
        #expect(back.count == 1 && back[0].ranks == [1] && back[0].round == 1 && back[0].step == 1)  // its batch, dealt again
        // Its old gradient (round 0) is refused; the one for the new assignment is applied.
        #expect(rejections(m.receive(gradient(rank: 1, step: 1, samples: 2, round: 0), from: peers[2], now: 3)) == [.staleRound])
        #expect(applies(m.receive(gradient(rank: 1, step: 1, samples: 2, round: 1), from: peers[2], now: 3)).map(\.step) == [0])
    }

    // MARK: bounded

    @Test func boundedLetsAWorkerRunKStepsAheadAndAppliesUpdatesInStepOrder() {
        // Global batch 4 of 10 samples: 3 steps an epoch, 6 steps; 2 ranks get 2, 2 and 1 samples. k = 1.
        var m = machine(.bounded(staleness: 1), batch: 4)
        _ = m.receive(hello(0), from: peers[0], now: 0)
        let start = orders(m.receive(hello(1), from: peers[1], now: 0))
        #expect(start.map(\.step) == [0] && start[0].ranks == [0, 1] && start[0].participants == 0b11)

        // Rank 0 finishes step 0 and may start step 1 (1 <= 0 + k) at the parameters of step 0.
        let a0 = m.receive(gradient(rank: 0, step: 0, samples: 2), from: peers[0], now: 1)
        #expect(a0.first == .accumulateGradient(rank: 0, samples: 2, lossSum: 1, correct: 0, buffer: 0, staleness: 0))
        #expect(orders(a0).map(\.step) == [1] && orders(a0)[0].ranks == [0])
        // Rank 0 finishes step 1 (staleness 1 when applied at step 1); step 2 would be 2 steps ahead: it waits.
        let a1 = m.receive(gradient(rank: 0, step: 1, samples: 2), from: peers[0], now: 2)
        #expect(a1 == [.accumulateGradient(rank: 0, samples: 2, lossSum: 1, correct: 0, buffer: 1, staleness: 1)])
        // Rank 1 finishes step 0: update 0 (both shares at the parameters of step 0).
        let b0 = m.receive(gradient(rank: 1, step: 0, samples: 2), from: peers[1], now: 3)
        #expect(applies(b0).map(\.step) == [0] && applies(b0)[0].ranks == [0, 1] && applies(b0)[0].paramSteps == [0, 0])
        // After it, rank 0 starts step 2 and rank 1 step 1, both at the parameters of step 1.
        let after = orders(m.stepApplied(nextRate: 0.1, now: 3))
        #expect(after.map(\.step).sorted() == [1, 2])
        #expect(after.first { $0.step == 2 }?.ranks == [0] && after.first { $0.step == 1 }?.ranks == [1])
        let b1 = m.receive(gradient(rank: 1, step: 1, samples: 2), from: peers[1], now: 4)
        #expect(applies(b1).map(\.step) == [1] && applies(b1)[0].paramSteps == [0, 1])
    }

    /// A seeded interleaving of a bounded run with 3 ranks; returns each applied update.
    func boundedRun(k: Int, seed: UInt64) -> [(step: Int, ranks: [Int], paramSteps: [Int])] {
        var m = machine(.bounded(staleness: k), slots: 3, batch: 3, epochs: 4)  // 4 steps an epoch, 16 steps
        var work: [Int: Int] = [:]
        var result: [(step: Int, ranks: [Int], paramSteps: [Int])] = []
        func take(_ directives: [M.Directive]) {
            for order in orders(directives) { for rank in order.ranks { work[rank] = order.step } }
        }
        for rank in 0..<3 { take(m.receive(hello(rank), from: peers[rank], now: 0)) }
        var generator = SeededGenerator(seed: seed)
        var turns = 0
        while m.phase != .finished && !work.isEmpty && turns < 1000 {
            turns += 1
            let busy = work.keys.sorted()
            // Rank 2 is slow: it answers a third as often as the others.
            let weights = busy.map { $0 == 2 ? 1 : 3 }
            var pick = Int(generator.next() % UInt64(weights.reduce(0, +)))
            let rank = busy[busy.indices.first { pick -= weights[$0]; return pick < 0 }!]
            let step = work.removeValue(forKey: rank)!
            let samples = EpochPlan(sampleCount: 10, globalBatch: 3, seed: 1).shareCount(batch: step % 4, rank: rank, workers: 3)
            var answer = m.receive(gradient(rank: rank, step: step, samples: samples), from: peers[rank], now: Double(turns))
            take(answer)
            while let apply = applies(answer).first {
                result.append(apply)
                answer = m.stepApplied(nextRate: 0.1, now: Double(turns))
                take(answer)
            }
        }
        return result
    }

    @Test(arguments: [0, 1, 2, 3])
    func boundedStalenessNeverExceedsKAndEveryStepIsAppliedOnceInOrder(k: Int) {
        for seed: UInt64 in 1...5 {
            let updates = boundedRun(k: k, seed: seed)
            #expect(updates.map(\.step) == Array(0..<16), "k \(k) seed \(seed)")
            for update in updates {
                #expect(update.ranks == [0, 1, 2])
                #expect(update.paramSteps.allSatisfy { update.step - $0 >= 0 && update.step - $0 <= k }, "k \(k): \(update)")
            }
            if k == 0 { #expect(updates.allSatisfy { $0.paramSteps == [$0.step, $0.step, $0.step] }) }
        }
        // With k >= 1 and a slow rank, the fast ranks do run ahead.
        if k >= 1 {
            let ranAhead = (1...5 as ClosedRange<UInt64>).contains { seed in
                boundedRun(k: k, seed: seed).contains { update in update.paramSteps.contains { $0 < update.step } }
            }
            #expect(ranAhead)
        }
    }

    @Test func boundedZeroSendsTheOrdersAndUpdatesOfSync() {
        // The same events to a sync machine and a bounded(0) one: the same orders (step, batch,
        // participants, rate) go to the same ranks, and the same updates are applied.
        var sync = machine(.sync, batch: 4)
        var bounded = machine(.bounded(staleness: 0), batch: 4)
        func orderKey(_ directives: [M.Directive]) -> [String] {
            directives.compactMap {
                if case let .sendStep(o, to) = $0 { return "\(o.step)/\(o.batch)/\(o.participants)/\(o.rate)/\(o.round)->\(to.map(\.rank))" }
                return nil
            }
        }
        for rank in 0..<2 {
            #expect(orderKey(sync.receive(hello(rank), from: peers[rank], now: 0)) == orderKey(bounded.receive(hello(rank), from: peers[rank], now: 0)))
        }
        for step in 0..<6 {
            for rank in [1, 0] {
                let samples = EpochPlan(sampleCount: 10, globalBatch: 4, seed: 1).shareCount(batch: step % 3, rank: rank, workers: 2)
                let s = sync.receive(gradient(rank: rank, step: step, samples: samples), from: peers[rank], now: 1)
                let b = bounded.receive(gradient(rank: rank, step: step, samples: samples), from: peers[rank], now: 1)
                let syncApplied = s.compactMap { if case let .applyStep(st, ranks, _) = $0 { return "\(st)\(ranks)" } else { return nil } }
                #expect(syncApplied == applies(b).map { "\($0.step)\($0.ranks)" })
                if !syncApplied.isEmpty {
                    let rate = 0.1 / Double(step + 2)
                    #expect(orderKey(sync.stepApplied(nextRate: rate, now: 2)) == orderKey(bounded.stepApplied(nextRate: rate, now: 2)))
                }
            }
        }
        #expect(sync.phase == .finished && bounded.phase == .finished)
    }

    @Test func boundedLossDropsTheWindowAndDealsItAgainInANewRound() {
        var m = machine(.bounded(staleness: 2), slots: 3, batch: 6)
        for rank in 0..<3 { _ = m.receive(hello(rank), from: peers[rank], now: 0) }
        // Rank 0 runs ahead through steps 0 and 1; then rank 2 is lost.
        _ = m.receive(gradient(rank: 0, step: 0, samples: 2), from: peers[0], now: 1)
        _ = m.receive(gradient(rank: 0, step: 1, samples: 2), from: peers[0], now: 1)
        let lost = m.lost(peers[2], reason: "test", now: 2)
        #expect(lost.contains(.discardInFlight))
        let again = orders(lost)
        #expect(again.count == 1 && again[0].step == 0 && again[0].round == 1 && again[0].ranks == [0, 1] && again[0].participants == 0b011)
        // Rank 1's gradient of the dropped round is refused, never applied.
        #expect(rejections(m.receive(gradient(rank: 1, step: 0, samples: 2), from: peers[1], now: 3)) == [.staleRound])
    }
}
