@testable import DescentCLI
import XCTest

/// `bench distributed`'s samples/s from a step trace: the intervals between records, without the
/// warm-up and without the one in which an epoch ended (its test-set evaluation). Expected values
/// worked out by hand.
final class TrainingRateTests: XCTestCase {
    private func record(_ timeMs: Double, epoch: Int, samples: Int) -> [String: Any] {
        ["time_ms": timeMs, "epoch": epoch, "samples": samples]
    }

    private var trace: [[String: Any]] {
        // Steps 1 and 2 take 1 ms and 2 ms; the epoch ends after step 2 and its evaluation makes
        // step 3's interval 10 ms; step 4 (a short batch of 32) takes 1 ms.
        [record(0, epoch: 0, samples: 64), record(1, epoch: 0, samples: 64), record(3, epoch: 0, samples: 64),
         record(13, epoch: 1, samples: 64), record(14, epoch: 1, samples: 32)]
    }

    func testTheIntervalInWhichAnEpochEndedIsLeftOut() {
        // Kept: 1 ms (64), 2 ms (64), 1 ms (32): 160 samples in 4 ms.
        let rate = TrainingRate(records: trace, warmup: 1)
        XCTAssertEqual(rate.samplesPerSecond, 40_000, accuracy: 1e-6)
        XCTAssertEqual(rate.stepMs, 4.0 / 3.0, accuracy: 1e-12)
        XCTAssertEqual(rate.steps, 3)
        XCTAssertEqual(rate.epochEnds, 1)
        // With the epoch's end counted the figure would be 224 samples in 14 ms: 16,000.
    }

    func testTheWarmUpStepsAreNotMeasured() {
        // Warm-up 2: kept 2 ms (64) and 1 ms (32): 96 samples in 3 ms.
        let rate = TrainingRate(records: trace, warmup: 2)
        XCTAssertEqual(rate.samplesPerSecond, 32_000, accuracy: 1e-6)
        XCTAssertEqual(rate.steps, 2)
    }

    func testRecordsWithoutATimeOrGoingBackInTimeAreSkippedAndNothingGivesZero() {
        var broken = trace
        broken[1]["time_ms"] = "soon"  // neither interval touching it counts
        broken[4]["time_ms"] = 12.0  // before its predecessor
        // Kept: none of 0→1, 1→2; 2→3 is an epoch's end; 3→4 goes back: nothing.
        let rate = TrainingRate(records: broken, warmup: 1)
        XCTAssertEqual(rate.samplesPerSecond, 0)
        XCTAssertEqual(rate.steps, 0)
        XCTAssertEqual(TrainingRate(records: [], warmup: 20).samplesPerSecond, 0)
        XCTAssertEqual(TrainingRate(records: [record(5, epoch: 0, samples: 64)], warmup: 0).stepMs, 0)
    }

    func testTheWarmUpIsTheFirstStepsAndEveryStepOfTheFirstSecondsButAtMostHalf() {
        // One record a millisecond from 1,000 ms on: records 0...9 lie within 10 ms of the first.
        let steady = (0..<100).map { record(1_000 + Double($0), epoch: 0, samples: 64) }
        XCTAssertEqual(TrainingRate.warmupSteps(records: steady, minimum: 3, seconds: 0.010), 10)
        // A minimum above what the seconds cover wins.
        XCTAssertEqual(TrainingRate.warmupSteps(records: steady, minimum: 30, seconds: 0.010), 30)
        // Never more than half the records: 0.2 s would cover all 100.
        XCTAssertEqual(TrainingRate.warmupSteps(records: steady, minimum: 3, seconds: 0.2), 50)
        // A record without a time ends the timed part there (record 5), the minimum still holds.
        var gap = steady
        gap[5]["time_ms"] = "soon"
        XCTAssertEqual(TrainingRate.warmupSteps(records: gap, minimum: 3, seconds: 0.010), 5)
        XCTAssertEqual(TrainingRate.warmupSteps(records: [], minimum: 20, seconds: 0.15), 0)
    }
}
