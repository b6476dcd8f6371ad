import DescentCore
import Testing
@testable import DescentProtocol

@Suite struct CoordinatorMachineTests {
    static let runID: UInt64 = 77
    let a = PeerID([1]), b = PeerID([2]), c = PeerID([3])

    /// 2 workers, 10 samples, global batch 4: batches of 4, 4, 2 -> 3 steps an epoch.
    func machine(workers: Int = 2, epochs: Int = 2) -> CoordinatorMachine {
        let plan = EpochPlan(sampleCount: 10, globalBatch: 4, seed: 1)
        return CoordinatorMachine(
            settings: .init(workers: workers, runID: Self.runID, generation: 0, plan: plan,
                            totalSteps: epochs * plan.stepsPerEpoch, configHash: 99, silenceLimit: 30, waitReportInterval: 5),
            now: 0)
    }

    func intro(_ rank: Int? = nil) -> WorkerIntroduction { WorkerIntroduction(host: "h", pid: 1, requestedRank: rank) }

    func report(_ peer: PeerID, rank: Int, step: Int, samples: Int, run: UInt64 = runID, generation: UInt32 = 0,
                countMatches: Bool = true, finite: Bool = true) -> CoordinatorMachine.GradientReport {
        .init(peer: peer, runID: run, generation: generation, rank: rank, step: step, samples: samples,
              countMatches: countMatches, finite: finite)
    }

    func registered() -> CoordinatorMachine {
        var m = machine()
        _ = m.hello(from: a, configHash: 0, introduction: intro(), now: 0)
        _ = m.hello(from: b, configHash: 0, introduction: intro(), now: 0)
        return m
    }

    @Test func trainingStartsWhenTheLastRankRegisters() {
        var m = machine()
        #expect(m.hello(from: a, configHash: 0, introduction: intro(), now: 0) == .welcome(rank: 0, startsTraining: false, resendStep: false))
        #expect(m.phase == .registering)
        #expect(m.hello(from: b, configHash: 99, introduction: intro(), now: 1) == .welcome(rank: 1, startsTraining: true, resendStep: false))
        #expect(m.phase == .training)
        #expect(m.step == 0)
    }

    @Test func requestedRanksAreHonouredWhenFree() {
        var m = machine(workers: 3)
        #expect(m.hello(from: a, configHash: 0, introduction: intro(2), now: 0) == .welcome(rank: 2, startsTraining: false, resendStep: false))
        #expect(m.hello(from: b, configHash: 0, introduction: intro(2), now: 0) == .welcome(rank: 0, startsTraining: false, resendStep: false))
        #expect(m.hello(from: c, configHash: 0, introduction: intro(9), now: 0) == .welcome(rank: 1, startsTraining: true, resendStep: false))
    }

    @Test func mismatchedConfigAndLateWorkersAreRefusedAndCounted() {
        var m = machine()
        if case .reject(.configMismatch, _) = m.hello(from: a, configHash: 5, introduction: intro(), now: 0) {} else { Issue.record("expected config mismatch") }
        _ = m.hello(from: a, configHash: 0, introduction: intro(), now: 0)
        _ = m.hello(from: b, configHash: 0, introduction: intro(), now: 0)
        if case .reject(.runFull, _) = m.hello(from: c, configHash: 0, introduction: intro(), now: 0) {} else { Issue.record("expected run full") }
        #expect(m.rejections == [.configMismatch: 1, .runFull: 1])
    }

    @Test func aRegisteredWorkerSayingHelloAgainKeepsItsRankAndGetsTheStepAgain() {
        var m = registered()
        #expect(m.hello(from: b, configHash: 0, introduction: intro(), now: 2) == .welcome(rank: 1, startsTraining: false, resendStep: true))
        _ = m.gradient(report(b, rank: 1, step: 0, samples: 2), now: 3)
        #expect(m.hello(from: b, configHash: 0, introduction: intro(), now: 4) == .welcome(rank: 1, startsTraining: false, resendStep: false))
    }

    @Test func theStepAdvancesOnlyWhenEveryRankHasContributed() {
        var m = registered()
        // Step 0 = batch 0 of 4 samples: 2 for each of the 2 ranks.
        #expect(m.gradient(report(a, rank: 0, step: 0, samples: 2), now: 1) == .accepted(rank: 0, stepComplete: false))
        #expect(m.waitingFor == [1])
        #expect(m.gradient(report(b, rank: 1, step: 0, samples: 2), now: 2) == .accepted(rank: 1, stepComplete: true))
        #expect(m.advance(now: 2) == .next(step: 1, epoch: 0, batch: 1, finishedEpoch: nil))
        #expect(m.waitingFor == [0, 1])
    }

    @Test func epochsCloseAndTheRunFinishesAtTheLastStep() {
        var m = registered()
        var outcomes: [CoordinatorMachine.Advance] = []
        // Shares by hand: batches hold 4, 4, 2 samples -> 2+2, 2+2, 1+1 for ranks 0 and 1.
        let shares = [2, 2, 1]
        for step in 0..<6 {
            let share = shares[step % 3]
            _ = m.gradient(report(a, rank: 0, step: step, samples: share), now: 1)
            #expect(m.gradient(report(b, rank: 1, step: step, samples: share), now: 1) == .accepted(rank: 1, stepComplete: true))
            outcomes.append(m.advance(now: 1))
        }
        #expect(outcomes == [
            .next(step: 1, epoch: 0, batch: 1, finishedEpoch: nil),
            .next(step: 2, epoch: 0, batch: 2, finishedEpoch: nil),
            .next(step: 3, epoch: 1, batch: 0, finishedEpoch: 0),
            .next(step: 4, epoch: 1, batch: 1, finishedEpoch: nil),
            .next(step: 5, epoch: 1, batch: 2, finishedEpoch: nil),
            .finished(finishedEpoch: 1),
        ])
        #expect(m.phase == .finished)
    }

    @Test func badGradientsAreRejectedCountedAndNeverCompleteAStep() {
        var m = registered()
        let cases: [(CoordinatorMachine.GradientReport, Rejection)] = [
            (report(c, rank: 0, step: 0, samples: 2), .unknownSender),
            (report(a, rank: 0, step: 0, samples: 2, run: 5), .wrongRun),
            (report(a, rank: 0, step: 0, samples: 2, generation: 3), .wrongGeneration),
            (report(a, rank: 1, step: 0, samples: 2), .wrongRank),
            (report(a, rank: 0, step: 1, samples: 2), .futureStep),
            (report(a, rank: 0, step: 0, samples: 2, countMatches: false), .wrongCount),
            (report(a, rank: 0, step: 0, samples: 3), .wrongSamples),
            (report(a, rank: 0, step: 0, samples: 2, finite: false), .nonFinite),
        ]
        for (bad, reason) in cases {
            let decision = m.gradient(bad, now: 1)
            guard case .rejected(let got, _) = decision else { Issue.record("accepted \(bad)"); continue }
            #expect(got == reason)
        }
        #expect(m.waitingFor == [0, 1])
        #expect(m.gradient(report(a, rank: 0, step: 0, samples: 2), now: 1) == .accepted(rank: 0, stepComplete: false))
        if case .rejected(.duplicate, _) = m.gradient(report(a, rank: 0, step: 0, samples: 2), now: 1) {} else { Issue.record("duplicate accepted") }
        _ = m.gradient(report(b, rank: 1, step: 0, samples: 2), now: 1)
        _ = m.advance(now: 1)
        if case .rejected(.pastStep, _) = m.gradient(report(a, rank: 0, step: 0, samples: 2), now: 1) {} else { Issue.record("past step accepted") }
        #expect(m.rejections.values.reduce(0, +) == cases.count + 2)
        #expect(m.rejections[.duplicate] == 1 && m.rejections[.pastStep] == 1 && m.rejections[.unknownSender] == 1)
    }

    @Test func aSilentWorkerIsDeclaredLostAndTheWaitIsReported() {
        var m = registered()
        _ = m.gradient(report(a, rank: 0, step: 0, samples: 2), now: 1)
        #expect(m.tick(now: 6) == .waitingForGradients(step: 0, ranks: [1], seconds: 6))
        m.heard(from: a, now: 25)
        #expect(m.tick(now: 31) == .lost(rank: 1, seconds: 31))
    }

    @Test func registrationWaitReportsHowManyWorkersAreMissing() {
        var m = machine(workers: 3)
        _ = m.hello(from: a, configHash: 0, introduction: intro(), now: 1)
        #expect(m.tick(now: 2) == .heartbeat)
        #expect(m.tick(now: 5) == .waitingForWorkers(missing: 2, seconds: 5))
    }
}
