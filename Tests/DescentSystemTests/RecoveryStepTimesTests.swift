@testable import DescentCLI
import XCTest

/// `bench recovery`'s measure of a fault, worked out by hand on made-up traces (epoch, time in ms).
final class RecoveryStepTimesTests: XCTestCase {
    /// Steps 1 ms apart, evaluations 100 ms; one step took 500 ms: 0.499 s lost.
    func testAFaultWithinAnEpochCostsItsStepsExcessOverTheMedianStep() {
        let times = StepTimes(records: [(0, 0), (0, 1), (0, 2), (0, 3), (0, 503), (0, 504),
                                        (1, 604), (1, 605), (1, 606), (2, 706), (2, 707)])
        XCTAssertEqual(times.lost, 0.499, accuracy: 1e-9)
        XCTAssertEqual(times.medianStep, 0.001, accuracy: 1e-9)
    }

    /// A worker frozen during an evaluation shows in the interval that spans the epoch's end: 2.1 s
    /// against evaluations of 0.1 s, so 2 s lost (an earlier version left such intervals out and
    /// reported nothing).
    func testAFaultDuringAnEvaluationCostsItsIntervalsExcessOverTheMedianEvaluation() {
        let times = StepTimes(records: [(0, 0), (0, 1), (1, 101), (1, 102), (2, 202), (2, 203), (3, 2303), (3, 2304)])
        XCTAssertEqual(times.lost, 2.0, accuracy: 1e-9)
        XCTAssertEqual(times.medianStep, 0.001, accuracy: 1e-9)
    }

    /// Time going backwards (a restarted coordinator's clock) is left out; no records, nothing lost.
    func testBackwardsIntervalsAreLeftOutAndNoRecordsCostNothing() {
        let times = StepTimes(records: [(0, 10), (0, 11), (0, 5), (0, 6), (0, 7)])
        XCTAssertEqual(times.lost, 0, accuracy: 1e-9)
        XCTAssertEqual(times.medianStep, 0.001, accuracy: 1e-9)
        XCTAssertEqual(StepTimes(records: []).lost, 0)
    }
}
