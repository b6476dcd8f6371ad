import DescentCore
import Testing

@Suite struct FaultPlanTests {
    @Test func specsParseIntoFaults() throws {
        let plan = try FaultPlan.parse(["exit:step=120", "hang:step=7", "drop:p=0.25,seed=9", "delay:ms=30,step=4"])
        #expect(plan.faults == [.exit(step: 120), .hang(step: 7), .drop(probability: 0.25, seed: 9), .delay(seconds: 0.03, fromStep: 4)])
    }

    @Test(arguments: [
        ("exit", "expected KIND:KEY=VALUE"), ("exit:step=-1", "whole number"), ("exit:steps=3", "needs step=N"),
        ("drop:p=1.5", "between 0 and 1"), ("drop:p=nan", "between 0 and 1"), ("boom:step=1", "unknown kind 'boom'"),
        ("delay:ms=1e9", "between 0 and 600000"), ("hang:step", "is not KEY=VALUE"),
    ])
    func badSpecsAreRefusedNamingTheProblem(spec: String, phrase: String) {
        do {
            _ = try FaultPlan.parse([spec])
            Issue.record("\(spec) was accepted")
        } catch {
            #expect("\(error)".contains(phrase), "\(error)")
            #expect("\(error)".contains(spec))
        }
    }

    @Test func exitAndHangStartAtTheirStepAndDelayFromItsStep() throws {
        var plan = try FaultPlan.parse(["delay:ms=5,step=2", "exit:step=4"])
        #expect((0..<6).map { plan.action(step: $0) } == [.proceed, .proceed, .delay(seconds: 0.005), .delay(seconds: 0.005), .exit, .exit])
        var hang = try FaultPlan.parse(["hang:step=1"])
        #expect(hang.action(step: 0) == .proceed && hang.action(step: 1) == .hang)
    }

    @Test func dropsAreSeededAndNearTheirProbability() throws {
        var a = try FaultPlan.parse(["drop:p=0.2,seed=5"]), b = try FaultPlan.parse(["drop:p=0.2,seed=5"])
        let first = (0..<10_000).map { a.action(step: $0) == .drop }
        #expect(first == (0..<10_000).map { b.action(step: $0) == .drop })
        let share = Double(first.filter { $0 }.count) / 10_000
        // Binomial(10000, 0.2): standard deviation 0.004; 5 of them either way.
        #expect(abs(share - 0.2) < 0.02, "dropped \(share)")
    }
}
