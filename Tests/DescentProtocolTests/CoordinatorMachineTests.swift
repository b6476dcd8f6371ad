import DescentCore
import Testing
@testable import DescentProtocol

/// The coordinator's machine, driven with events and checked on the directives it returns.
/// Plan: 10 samples, global batch 4 -> batches of 4, 4, 2 (3 steps an epoch). With 2 slots,
/// round-robin dealing gives each rank 2, 2 and 1 samples (by hand: positions r, r + 2, ...).
@Suite struct CoordinatorMachineTests {
    static let runID: UInt64 = 77
    typealias M = CoordinatorMachine
    let a = PeerID([1]), b = PeerID([2]), c = PeerID([3])

    func machine(slots: Int = 2, initial: Int? = nil, minWorkers: Int = 1, epochs: Int = 2, silence: Double = 30,
                 deadline: Double = 60, minTimeout: Double? = 120) -> M {
        let plan = EpochPlan(sampleCount: 10, globalBatch: 4, seed: 1)
        var m = M(settings: .init(runID: Self.runID, plan: plan, totalSteps: epochs * plan.stepsPerEpoch, slots: slots,
                                  initialWorkers: initial, minWorkers: minWorkers, configHash: 99, silenceLimit: silence,
                                  progressDeadline: deadline, minWorkersTimeout: minTimeout), now: 0)
        m.prepare(firstRate: 0.1)
        return m
    }

    func hello(_ rank: Int? = nil, run: UInt64 = 0, config: UInt64 = 0) -> WireMessage {
        .hello(.init(runID: run, generation: 0, requestedRank: rank.map(UInt32.init) ?? WireHeader.unassignedRank, configHash: config,
                     processID: 1, introduction: WorkerIntroduction(host: "h", pid: 1, requestedRank: rank)))
    }

    func gradient(rank: Int, step: Int, samples: UInt64, round: UInt16 = 0, run: UInt64 = runID, generation: UInt32 = 0,
                  correct: UInt64 = 0) -> WireMessage {
        .gradient(.init(runID: run, generation: generation, rank: UInt32(rank), step: UInt64(step), round: round,
                        samples: samples, lossSum: 1, correct: correct, count: 5, location: .frame))
    }

    func registered() -> M {
        var m = machine()
        _ = m.receive(hello(), from: a, now: 0)
        _ = m.receive(hello(), from: b, now: 0)
        return m
    }

    /// The step orders among directives.
    func orders(_ directives: [M.Directive]) -> [(WireMessage.StepOrder, [Int])] {
        directives.compactMap { if case let .sendStep(order, to) = $0 { return (order, to.map(\.rank)) } else { return nil } }
    }

    func rejections(_ directives: [M.Directive]) -> [Rejection] {
        directives.compactMap { if case .log(.rejected(let kind, _)) = $0 { return kind } else { return nil } }
    }

    @Test func trainingStartsWhenTheInitialWorkersHaveJoinedAndStepZeroGoesToAll() {
        var m = machine()
        let first = m.receive(hello(), from: a, now: 0)
        #expect(first.contains(.admit(rank: 0, peer: a, introduction: WorkerIntroduction(host: "h", pid: 1, requestedRank: nil), rejoined: false)))
        #expect(orders(first).isEmpty && m.phase == .registering)
        let second = m.receive(hello(config: 99), from: b, now: 1)
        #expect(second.contains(.trainingStarted))
        let sent = orders(second)
        #expect(sent.count == 1 && sent[0].1 == [0, 1])
        #expect(sent[0].0.step == 0 && sent[0].0.batch == 0 && sent[0].0.rate == 0.1 && sent[0].0.participants == 0b11)
    }

    @Test func aRequestedFreeRankIsGrantedAndAnotherConfigIsRefused() {
        var m = machine()
        #expect(m.receive(hello(1), from: a, now: 0).contains { if case .admit(1, _, _, _) = $0 { return true } else { return false } })
        let refused = m.receive(hello(config: 5), from: b, now: 0)
        #expect(rejections(refused) == [.configMismatch])
        #expect(refused.contains { if case .send(.reject, to: b) = $0 { return true } else { return false } })
    }

    @Test func aStepIsAppliedOnceAfterEveryShareAndTheNextGoesOut() {
        var m = registered()
        let one = m.receive(gradient(rank: 0, step: 0, samples: 2), from: a, now: 1)
        #expect(one == [.accumulate(rank: 0, samples: 2, lossSum: 1, correct: 0)])
        let two = m.receive(gradient(rank: 1, step: 0, samples: 2), from: b, now: 2)
        #expect(two.count == 2)
        guard case let .applyStep(step, ranks, latencies) = two[1] else { Issue.record("no apply"); return }
        #expect(step == 0 && ranks == [0, 1] && latencies == [1, 2])
        #expect(rejections(m.receive(gradient(rank: 1, step: 0, samples: 2), from: b, now: 2)) == [.unexpected])
        let next = orders(m.stepApplied(nextRate: 0.05, now: 3))
        #expect(next.count == 1 && next[0].0.step == 1 && next[0].0.rate == 0.05 && next[0].0.batch == 1)
    }

    @Test func theRunFinishesAfterTheLastStep() {
        var m = registered()
        for step in 0..<6 {
            let share: UInt64 = step % 3 == 2 ? 1 : 2
            _ = m.receive(gradient(rank: 0, step: step, samples: share), from: a, now: 1)
            _ = m.receive(gradient(rank: 1, step: step, samples: share), from: b, now: 1)
            let after = m.stepApplied(nextRate: 0.1, now: 2)
            #expect(after == (step == 5 ? [.finish] : after))
        }
        #expect(m.phase == .finished && m.step == 6)
    }

    @Test(arguments: [
        ("wrong run", 0, UInt64(2), UInt16(0), UInt64(5), UInt32(0), Rejection.wrongRun),
        ("wrong generation", 0, UInt64(2), UInt16(0), runID, UInt32(1), .wrongGeneration),
        ("future step", 1, UInt64(2), UInt16(0), runID, UInt32(0), .futureStep),
        ("stale round", 0, UInt64(2), UInt16(3), runID, UInt32(0), .staleRound),
        ("wrong samples", 0, UInt64(3), UInt16(0), runID, UInt32(0), .wrongSamples),
        ("2^64-1 samples", 0, UInt64.max, UInt16(0), runID, UInt32(0), .wrongSamples),
    ])
    func badGradientsAreRejectedAndCounted(name: String, step: Int, samples: UInt64, round: UInt16, run: UInt64, generation: UInt32,
                                           expected: Rejection) {
        var m = registered()
        let directives = m.receive(gradient(rank: 0, step: step, samples: samples, round: round, run: run, generation: generation), from: a, now: 1)
        #expect(rejections(directives) == [expected], "\(name)")
        #expect(m.rejections[expected] == 1)
    }

    @Test func moreCorrectThanSamplesAndDuplicatesAndStrangersAreRefused() {
        var m = registered()
        #expect(rejections(m.receive(gradient(rank: 0, step: 0, samples: 2, correct: 3), from: a, now: 1)) == [.wrongSamples])
        _ = m.receive(gradient(rank: 0, step: 0, samples: 2), from: a, now: 1)
        #expect(rejections(m.receive(gradient(rank: 0, step: 0, samples: 2), from: a, now: 1)) == [.duplicate])
        #expect(rejections(m.receive(gradient(rank: 1, step: 0, samples: 2), from: a, now: 1)) == [.wrongRank])
        let stranger = m.receive(gradient(rank: 0, step: 0, samples: 2), from: c, now: 1)
        #expect(rejections(stranger) == [.unknownSender])
        #expect(stranger.contains(.send(.registerAgain(.init(runID: Self.runID, generation: 0)), to: c)))
    }

    @Test func aParticipantsNonFiniteGradientOfTheStepInFlightMeansDivergence() {
        var m = registered()
        let stale = m.nonFiniteGradient(.init(runID: Self.runID, generation: 0, rank: 0, step: 5, round: 0, samples: 2, lossSum: .nan,
                                              correct: 0, count: 5, location: .frame), from: a, now: 1)
        #expect(rejections(stale) == [.futureStep])
        let current = m.nonFiniteGradient(.init(runID: Self.runID, generation: 0, rank: 1, step: 0, round: 0, samples: 2, lossSum: .nan,
                                                correct: 0, count: 5, location: .frame), from: b, now: 1)
        #expect(rejections(current) == [.nonFinite])
        #expect(current.contains(.fail(.diverged(step: 0, rank: 1))))
        #expect(m.phase == .finished)
    }

    /// The coordinator's own worker's gradient is checked by the sweep that completes the step,
    /// after the machine took it: a NaN found then fails the run naming that rank, as a check on
    /// arrival would have. A rank whose gradient was not taken changes nothing.
    @Test func anAcceptedGradientFoundNonFiniteLaterMeansDivergenceNamingItsRank() {
        var m = registered()
        #expect(m.acceptedGradientNonFinite(rank: 0, now: 1).isEmpty, "rank 0's gradient was not taken yet")
        _ = m.receive(gradient(rank: 0, step: 0, samples: 2), from: a, now: 1)
        #expect(m.acceptedGradientNonFinite(rank: 1, now: 1).isEmpty, "rank 1's gradient was not taken")
        #expect(m.acceptedGradientNonFinite(rank: 64, now: 1).isEmpty)
        #expect(m.acceptedGradientNonFinite(rank: -1, now: 1).isEmpty)
        #expect(m.phase == .training)
        let found = m.acceptedGradientNonFinite(rank: 0, now: 1)
        #expect(rejections(found) == [.nonFinite])
        #expect(found.contains(.fail(.diverged(step: 0, rank: 0))))
        #expect(m.phase == .finished)
        #expect(m.acceptedGradientNonFinite(rank: 0, now: 1).isEmpty, "once")
    }

    @Test func aLostWorkersShareIsDealtAgainToTheSurvivorInANewRound() {
        var m = registered()
        _ = m.receive(gradient(rank: 0, step: 0, samples: 2), from: a, now: 1)
        let lost = m.lost(b, reason: "its process exited", now: 2)
        #expect(lost.contains(.discardPartialStep))
        let again = orders(lost)
        #expect(again.count == 1 && again[0].1 == [0] && again[0].0.step == 0 && again[0].0.round == 1 && again[0].0.participants == 0b01)
        // The survivor's round-0 gradient is stale now; its share is the whole batch of 4.
        #expect(rejections(m.receive(gradient(rank: 0, step: 0, samples: 2), from: a, now: 3)) == [.staleRound])
        let redone = m.receive(gradient(rank: 0, step: 0, samples: 4, round: 1), from: a, now: 3)
        #expect(redone.contains { if case .applyStep(0, [0], _) = $0 { return true } else { return false } })
    }

    @Test func aWorkerJoiningMidStepTakesPartFromTheNextStep() {
        var m = machine(slots: 3, initial: 2)
        _ = m.receive(hello(), from: a, now: 0)
        _ = m.receive(hello(), from: b, now: 0)
        let joined = m.receive(hello(), from: c, now: 1)
        #expect(orders(joined).isEmpty)
        // With 3 slots and ranks {0, 1}, orphan slot 2 goes to rank 0: 4 samples at positions 0..3
        // -> slot 0: {0, 3}, slot 1: {1}, slot 2: {2}; rank 0 computes slots 0 and 2 (3 samples).
        _ = m.receive(gradient(rank: 0, step: 0, samples: 3), from: a, now: 1)
        _ = m.receive(gradient(rank: 1, step: 0, samples: 1), from: b, now: 1)
        let next = orders(m.stepApplied(nextRate: 0.1, now: 2))
        #expect(next.count == 1 && next[0].1 == [0, 1, 2] && next[0].0.participants == 0b111)
    }

    @Test func silenceAndMissingProgressMakeAWorkerLost() {
        var m = machine(silence: 10, deadline: 20)
        _ = m.receive(hello(), from: a, now: 0)
        _ = m.receive(hello(), from: b, now: 0)
        _ = m.receive(.heartbeat(.init(runID: Self.runID, generation: 0)), from: a, now: 9)
        let silent = m.tick(now: 10.5)
        #expect(silent.contains { if case .log(.lost(rank: 1, _, _, _)) = $0 { return true } else { return false } })
        // Rank 0 keeps sending heartbeats but never its gradient: lost at the progress deadline.
        _ = m.receive(.heartbeat(.init(runID: Self.runID, generation: 0)), from: a, now: 19)
        _ = m.receive(.heartbeat(.init(runID: Self.runID, generation: 0)), from: a, now: 29)
        let stuck = m.tick(now: 31)
        #expect(stuck.contains { if case .log(.lost(rank: 0, _, _, _)) = $0 { return true } else { return false } })
        #expect(m.phase == .paused(since: 31))
    }

    @Test func belowMinWorkersTheRunPausesThenFails() {
        var m = machine(minWorkers: 2, minTimeout: 30)
        _ = m.receive(hello(), from: a, now: 0)
        _ = m.receive(hello(), from: b, now: 0)
        _ = m.lost(b, reason: "gone", now: 1)
        #expect(m.phase == .paused(since: 1))
        // A replacement resumes the step in flight in a new round.
        let back = orders(m.receive(hello(), from: c, now: 5))
        #expect(back.count == 1 && back[0].0.round == 1 && back[0].1 == [0, 1])
        _ = m.lost(c, reason: "gone", now: 6)
        #expect(!m.tick(now: 35).contains { if case .fail = $0 { return true } else { return false } })
        #expect(m.tick(now: 37).contains(.fail(.tooFewWorkers(have: 1, need: 2, seconds: 31))))
    }

    @Test func registrationTimesOut() {
        let plan = EpochPlan(sampleCount: 10, globalBatch: 4, seed: 1)
        var m = M(settings: .init(runID: 1, plan: plan, totalSteps: 3, slots: 2, configHash: 0, registrationTimeout: 5), now: 0)
        #expect(m.tick(now: 6).contains(.fail(.registrationTimedOut(missing: 2, seconds: 6))))
    }
}

@Suite struct SlotAssignmentTests {
    @Test func everySlotIsComputedByExactlyOneParticipant() {
        for slots in 1...8 {
            for mask in 1..<(UInt64(1) << UInt64(slots)) {
                var owners = [Int](repeating: 0, count: slots)
                for rank in 0..<slots {
                    let mine = SlotAssignment.slots(of: rank, participants: mask, slotCount: slots)
                    #expect(mine.isEmpty == (mask & (1 << UInt64(rank)) == 0))
                    for slot in mine { owners[slot] += 1 }
                }
                #expect(owners == [Int](repeating: 1, count: slots), "slots \(slots) mask \(mask)")
            }
        }
    }

    @Test func orphansGoRoundRobinToTheParticipantsInOrder() {
        // 4 slots, ranks 1 and 3 alive: orphans 0 and 2 go to 1 and 3 in that order.
        #expect(SlotAssignment.slots(of: 1, participants: 0b1010, slotCount: 4) == [0, 1])
        #expect(SlotAssignment.slots(of: 3, participants: 0b1010, slotCount: 4) == [2, 3])
        #expect(SlotAssignment.slots(of: 0, participants: 0b1111, slotCount: 4) == [0])
    }

    @Test func expectedSamplesOfAllParticipantsCoverTheGlobalBatch() {
        let plan = EpochPlan(sampleCount: 10, globalBatch: 4, seed: 1)
        for mask in UInt64(1)..<8 {
            for batch in 0..<3 {
                let total = (0..<3).reduce(0) { $0 + SlotAssignment.expectedSamples(plan: plan, batch: batch, rank: $1, participants: mask, slotCount: 3) }
                #expect(total == plan.batchRange(batch).count)
            }
        }
    }
}
