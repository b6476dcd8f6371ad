import Testing
@testable import DescentTraining

/// The last line of a run says how many steps this process trained, not where the run is.
@Suite struct TrainedLineTests {
    @Test func aFreshRunCountsItsSteps() {
        #expect(RunReporter.trainedLine(steps: 300, resumedAt: 0, seconds: 1.24) == "Trained 300 steps in 1.2s")
        #expect(RunReporter.trainedLine(steps: 1, resumedAt: 0, seconds: 0) == "Trained 1 step in 0.0s")
    }

    @Test func aResumedRunCountsOnlyWhatItTrained() {
        // Resumed at 200, now at 300: 300 - 200 = 100 trained here.
        #expect(RunReporter.trainedLine(steps: 300, resumedAt: 200, seconds: 2)
                == "Trained 100 steps in 2.0s (resumed at step 200; the run is at step 300)")
    }

    @Test func aRunResumedAtItsEndSaysThereWasNothingLeft() {
        let line = RunReporter.trainedLine(steps: 200, resumedAt: 200, seconds: 0.01)
        #expect(line.hasPrefix("Trained 0 steps in 0.0s"))
        #expect(line.contains("the checkpoint's step 200 is where the run ends"))
    }
}
