import Testing
@testable import DescentProtocol

@Suite struct WorkerMachineTests {
    let timing = WorkerMachine.Timing(helloInterval: 1, reportInterval: 5, joinTimeout: 20, heartbeatInterval: 1, silenceLimit: 10)

    @Test func saysHelloEverySecondAndReportsWhileNotAdmitted() {
        var m = WorkerMachine(timing: timing, now: 0)
        #expect(m.tick(now: 0) == .sendHello)
        #expect(m.tick(now: 0.5) == .idle)
        #expect(m.tick(now: 1.0) == .sendHello)
        // At 5 s a hello is due too; hellos come first, the report at the next tick.
        #expect(m.tick(now: 5.0) == .sendHello)
        #expect(m.tick(now: 5.1) == .reportUnreachable(seconds: 5.1))
        #expect(m.tick(now: 20) == .giveUp(reason: "not admitted after 20 s"))
        #expect(m.phase == .done)
    }

    @Test func computesEachStepOnceAndIgnoresOtherRuns() {
        var m = WorkerMachine(timing: timing, now: 0)
        #expect(m.step(0, runID: 1, generation: 0, now: 0) == .ignore(reason: "step 0 arrived before this worker was admitted"))
        m.welcomed(rank: 1, runID: 1, generation: 0, heartbeatInterval: 1, silenceLimit: 10, now: 0)
        #expect(m.step(0, runID: 1, generation: 0, now: 1) == .compute)
        #expect(m.step(0, runID: 1, generation: 0, now: 1) == .ignore(reason: "step 0 was already computed"))
        #expect(m.step(1, runID: 2, generation: 0, now: 1) == .ignore(reason: "step 1 is for run 2 generation 0, not this worker's run"))
        #expect(m.step(1, runID: 1, generation: 0, now: 1) == .compute)
    }

    @Test func givesUpWhenTheCoordinatorFallsSilent() {
        var m = WorkerMachine(timing: timing, now: 0)
        m.welcomed(rank: 0, runID: 1, generation: 0, heartbeatInterval: 1, silenceLimit: 10, now: 0)
        #expect(m.tick(now: 1) == .sendHeartbeat)
        m.sent(now: 1.5)
        #expect(m.tick(now: 2) == .idle)
        m.heard(now: 5)
        #expect(m.tick(now: 14.9) == .sendHeartbeat)
        #expect(m.tick(now: 15) == .giveUp(reason: "the coordinator has been silent for 10 s"))
    }

    @Test func registerAgainReturnsToJoining() {
        var m = WorkerMachine(timing: timing, now: 0)
        m.welcomed(rank: 0, runID: 1, generation: 0, heartbeatInterval: 1, silenceLimit: 10, now: 0)
        m.mustRegisterAgain(now: 3)
        #expect(m.phase == .joining)
        #expect(m.tick(now: 3) == .sendHello)
    }
}
