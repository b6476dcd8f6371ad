import Testing
@testable import DescentProtocol

@Suite struct WorkerMachineTests {
    typealias W = WorkerMachine

    func settings(workers: Int = 2) -> RunSettings {
        RunSettings(rank: 1, workers: workers, seed: 1, hidden: [4], parameterCount: 10, globalBatch: 4, sampleCount: 10,
                    trainLimit: nil, trainRepeat: 1, threads: 1, labelsDigest: 0, heartbeatSeconds: 1, silenceLimitSeconds: 10)
    }

    func welcome(rank: Int = 1, run: UInt64 = 7, generation: UInt32 = 0) -> WireMessage {
        .welcome(.init(runID: run, generation: generation, rank: rank, settings: settings()))
    }

    func step(_ step: Int, round: UInt16 = 0, participants: UInt64 = 0b11, run: UInt64 = 7, generation: UInt32 = 0) -> WireMessage {
        .step(.init(runID: run, generation: generation, step: step, round: round, batch: step % 3, rate: 0.1,
                    participants: participants, parameterCount: 10, parameters: .frame))
    }

    func computes(_ directives: [W.Directive]) -> [(Int, UInt16, [Int])] {
        directives.compactMap { if case let .compute(order, _, slots) = $0 { return (order.step, order.round, slots) } else { return nil } }
    }

    @Test func saysHelloUntilWelcomedThenComputesItsSlots() {
        var w = W(now: 0)
        #expect(w.tick(now: 0) == [.sendHello(runID: 0, generation: 0)])
        #expect(w.tick(now: 0.5) == [])
        #expect(w.tick(now: 1) == [.sendHello(runID: 0, generation: 0)])
        #expect(computes(w.receive(step(0), now: 1)).isEmpty)
        _ = w.receive(welcome(), now: 1)
        #expect(w.registration?.rank == 1)
        #expect(computes(w.receive(step(0), now: 2)).map(\.2) == [[1]])
        // The same step and round again is ignored; a new round (a lost peer) is computed with more slots.
        #expect(computes(w.receive(step(0), now: 2)).isEmpty)
        #expect(computes(w.receive(step(0, round: 1, participants: 0b10), now: 2)).map(\.2) == [[0, 1]])
        #expect(computes(w.receive(step(1, participants: 0b01), now: 3)).isEmpty)
    }

    @Test func aBatchDealtAgainInANewerRoundIsTakenAfterLaterStepsButOldOrdersAreNot() {
        // Async mode: this worker computed batch 7 in round 0; batch 5 of a lost worker comes in round 1.
        var w = W(now: 0)
        _ = w.receive(welcome(), now: 0)
        #expect(computes(w.receive(step(7, participants: 0b10), now: 1)).map(\.0) == [7])
        #expect(computes(w.receive(step(5, round: 1, participants: 0b10), now: 2)).map(\.0) == [5])
        // The same order again, or a later step of the older round, is not computed.
        #expect(computes(w.receive(step(5, round: 1, participants: 0b10), now: 3)).isEmpty)
        #expect(computes(w.receive(step(8, round: 0, participants: 0b10), now: 3)).isEmpty)
        #expect(computes(w.receive(step(8, round: 1, participants: 0b10), now: 4)).map(\.0) == [8])
    }

    @Test func stepsOfAnotherRunOrGenerationAreIgnored() {
        var w = W(now: 0)
        _ = w.receive(welcome(), now: 0)
        #expect(computes(w.receive(step(0, run: 8), now: 1)).isEmpty)
        #expect(computes(w.receive(step(0, generation: 1), now: 1)).isEmpty)
    }

    @Test func aSilentCoordinatorIsRejoinedAndGivenUpOnAfterTheRejoinTimeout() {
        var w = W(timing: .init(joinTimeout: 50, rejoinTimeout: 20), now: 0)
        _ = w.receive(welcome(), now: 0)
        let silent = w.tick(now: 10)
        #expect(w.phase == .joining && silent.count == 1)
        #expect(w.tick(now: 10.1) == [.sendHello(runID: 7, generation: 0)])
        // A restarted coordinator (next generation) admits it again.
        _ = w.receive(welcome(generation: 1), now: 15)
        #expect(w.registration?.generation == 1)
        #expect(computes(w.receive(step(5, generation: 1), now: 16)).count == 1)
        // Resumed from an older checkpoint, the new generation's steps are computed again.
        _ = w.receive(welcome(generation: 2), now: 17)
        #expect(computes(w.receive(step(3, generation: 2), now: 17)).count == 1)
        // Silent from 17: rejoining at 27, given up 20 s later.
        _ = w.tick(now: 27)
        #expect(w.tick(now: 47.5) == [.end(.gaveUp(reason: "the coordinator did not come back within 20 s", admitted: true))])
    }

    @Test func neverAdmittedGivesUpAfterTheJoinTimeout() {
        var w = W(timing: .init(joinTimeout: 5), now: 0)
        _ = w.tick(now: 0)
        #expect(w.tick(now: 5) == [.end(.gaveUp(reason: "not admitted after 5 s", admitted: false))])
    }

    @Test func stopAndRejectEndTheWorkerButAStaleGenerationsStopDoesNot() {
        var w = W(now: 0)
        _ = w.receive(welcome(generation: 2), now: 0)
        #expect(w.receive(.stop(.init(runID: 7, generation: 1), reason: "old"), now: 1) == [])
        #expect(w.receive(.stop(.init(runID: 7, generation: 2), reason: "done"), now: 1) == [.end(.stopped(reason: "done"))])
        var r = W(now: 0)
        #expect(r.receive(.reject(.init(runID: 0, generation: 0), reason: "full"), now: 0) == [.end(.refused(reason: "full"))])
    }

    @Test func heartbeatsGoOutWhenNothingElseWasSent() {
        var w = W(now: 0)
        _ = w.receive(welcome(), now: 0)
        w.sent(now: 0.5)
        #expect(w.tick(now: 1) == [])
        #expect(w.tick(now: 1.6) == [.sendHeartbeat(.init(runID: 7, generation: 0, rank: 1))])
    }
}
