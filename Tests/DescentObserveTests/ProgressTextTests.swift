import DescentProgress
import DescentTraining
import Testing

@Suite struct ProgressTextTests {
    let run = RunDescription(role: "coordinator", workers: 2, epochs: 15, stepsPerEpoch: 157, totalSteps: 2355, globalBatch: 32,
                             schedule: "x")

    @Test func lineShowsEveryFigure() {
        // Step 313 done (index 313 -> 314 of 2355) after 2 s: 2041 steps left at 2/314 s each = 13 s.
        let record = StepRecord(step: 313, epoch: 1, rate: 0.1, ranks: [0, 1], samples: 32, loss: 0.5,
                                gradientNorm: 1, slowestRank: 1, slowestLatencyMs: 0.734, timeMs: 2000)
        let line = ProgressText.line(run: run, record: record, meanLoss: 0.43219, samplesPerSecond: 12345.6,
                                     membership: Membership(expected: 2, registered: 2, alive: 2))
        #expect(line == "epoch 2/15 | step 314/2355 (13%) | 12,346 samples/s | loss 0.4322 | rate 0.10000 | ETA 0:13 | workers 2/2, slowest 1 (0.73 ms)")
    }

    @Test func oneProcessHasNoWorkerPart() {
        let record = StepRecord(step: 0, epoch: 0, rate: 0.05, ranks: [0], samples: 32, loss: 2.3, gradientNorm: 1, timeMs: 1)
        let line = ProgressText.line(run: run, record: record, meanLoss: 2.3, samplesPerSecond: 0, membership: nil)
        #expect(!line.contains("workers"))
        #expect(line.hasPrefix("epoch 1/15 | step 1/2355 (0%) | 0 samples/s | loss 2.3000 | rate 0.05000 | ETA "))
    }

    @Test(arguments: [(0.0, "0:00"), (59.4, "0:59"), (61, "1:01"), (3_725, "1:02:05")])
    func durations(seconds: Double, text: String) {
        #expect(ProgressText.duration(seconds) == text)
    }

    @Test(arguments: [(0, "0"), (999, "999"), (1000, "1,000"), (1_234_567, "1,234,567"), (-4200, "-4,200")])
    func groupedThousands(value: Int, text: String) {
        #expect(ProgressText.grouped(value) == text)
    }

    @Test(arguments: [(0.1, 5, "0.10000"), (2.30258, 4, "2.3026"), (-0.5, 2, "-0.50"), (0.00004, 4, "0.0000"), (12.0, 0, "12")])
    func fixedDecimals(value: Double, decimals: Int, text: String) {
        #expect(ProgressText.fixed(value, decimals) == text)
    }

    /// A clock that moves 40 ms a step and 10 redraws a second: steps 0, 3, 6, ... are drawn
    /// (0.12 s apart, the first step past each 0.1 s), so 100 steps give 34 lines; the loss
    /// shown is the mean since the last line (steps 1..3 -> (1+2+3)/3 = 2 at the second line).
    @Test func redrawsAreRateLimitedAndAverageTheLoss() {
        final class Box: @unchecked Sendable { var now = 0.0; var lines: [String] = [] }
        let box = Box()
        let progress = LiveProgress(output: .function { box.lines.append($0) }, maximumRedrawsPerSecond: 10, clock: { box.now })
        progress.runStarted(run)
        for step in 0..<100 {
            box.now = Double(step) * 0.04
            progress.stepApplied(StepRecord(step: step, epoch: 0, rate: 0.1, ranks: [0], samples: 32, loss: Double(step),
                                            gradientNorm: 1, timeMs: box.now * 1000), workerLatencies: [])
        }
        #expect(box.lines.count == 34)
        #expect(box.lines[0].contains("step 1/2355"))
        #expect(box.lines[1].contains("step 4/2355"))
        #expect(box.lines[1].contains("loss 2.0000"))
        // 3 steps x 32 samples over 0.12 s = 800 samples/s.
        #expect(box.lines[1].contains("800 samples/s"))
        progress.runFinished(RunSummary(steps: 100, testLoss: 0, testAccuracy: 0, finalRate: 0, parameters: [], seconds: 1))
        progress.stepApplied(StepRecord(step: 100, epoch: 0, rate: 0.1, ranks: [0], samples: 32, loss: 0, gradientNorm: 1), workerLatencies: [])
        #expect(box.lines.count == 34)
    }
}
