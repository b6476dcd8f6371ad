import DescentExperiment
import Foundation
import Testing

@Suite struct ResultsTableTests {
    static func run(_ index: Int, _ mode: SyncMode, workers: Int = 2) -> PlannedRun {
        PlannedRun(index: index, schedule: "exp", workers: workers, mode: mode, seed: 9, configYAML: "", name: "\(index)-exp")
    }

    static let results = [
        RunResult(run: run(1, .sync, workers: 1), outcome: .finished,
                  figures: RunFigures(steps: 157, testAccuracy: 0.8125, testLoss: 0.53125, samplesPerSecond: 12345.5, seconds: 2.25),
                  directory: "runs/1-exp"),
        RunResult(run: run(2, .bounded(staleness: 2)), outcome: .finished,
                  figures: RunFigures(steps: 157, testAccuracy: 0.75, testLoss: 0.625, samplesPerSecond: 9000, meanStaleness: 1.25, maxStaleness: 2, seconds: 3),
                  directory: "runs/2-exp"),
        RunResult(run: run(3, .async), outcome: .failed(exitCode: 1, reason: "Error: bad, \"quoted\" | piped"),
                  figures: RunFigures(steps: 4), directory: "runs/3-exp"),
        RunResult(run: run(4, .async, workers: 4), outcome: .notRun, directory: "runs/4-exp"),
    ]

    @Test func csvHasEveryFigureInFullAndQuotesWhatNeedsIt() {
        let lines = ResultsTable.csv(Self.results).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines == [
            "run,schedule,workers,sync,staleness_bound,seed,status,steps,test_accuracy,test_loss,samples_per_second,mean_staleness,max_staleness,seconds,run_dir",
            "1,exp,1,sync,,9,ok,157,0.8125,0.53125,12345.5,,,2.25,runs/1-exp",
            "2,exp,2,bounded,2,9,ok,157,0.75,0.625,9000.0,1.25,2,3.0,runs/2-exp",
            "3,exp,2,async,,9,\"failed (exit 1): Error: bad, \"\"quoted\"\" | piped\",4,,,,,,,runs/3-exp",
            "4,exp,4,async,,9,not run,,,,,,,,runs/4-exp",
            "",
        ])
    }

    @Test func markdownRoundsForReadingAndSaysNotAvailable() {
        let lines = ResultsTable.markdown(Self.results, title: "T").split(separator: "\n").map(String.init)
        #expect(lines[0] == "# T")
        #expect(lines[1].hasPrefix("| # | schedule | workers | sync | seed | status | steps | test accuracy | test loss | samples/s | mean staleness | max staleness | seconds |"))
        #expect(lines[3] == "| 1 | exp | 1 | sync | 9 | ok | 157 | 0.8125 | 0.5312 | 12346 | n/a | n/a | 2.2 |"
            || lines[3] == "| 1 | exp | 1 | sync | 9 | ok | 157 | 0.8125 | 0.5313 | 12346 | n/a | n/a | 2.2 |")
        #expect(lines[4] == "| 2 | exp | 2 | bounded k=2 | 9 | ok | 157 | 0.7500 | 0.6250 | 9000 | 1.25 | 2 | 3.0 |")
        #expect(lines[5] == "| 3 | exp | 2 | async | 9 | failed (exit 1): Error: bad, \"quoted\" \\| piped | 4 | - | - | - | n/a | n/a | - |")
        #expect(lines[6] == "| 4 | exp | 4 | async | 9 | not run | - | - | - | - | n/a | n/a | - |")
        #expect(lines.count == 7)
    }

    @Test func stalenessIsTheMeanAndMaximumOverEveryAppliedGradient() throws {
        let directory = NSTemporaryDirectory() + "descent-staleness-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let trace = directory + "/coordinator.jsonl"
        // One value per line, a list per step of several gradients, and lines without the field.
        try """
            {"step":0,"loss":2.3,"param_step":0,"staleness":0}
            {"step":1,"loss":2.2,"param_step":0,"staleness":1}
            {"step":2,"loss":2.1,"staleness":[0,3]}
            {"step":3,"loss":2.0}

            """.write(toFile: trace, atomically: true, encoding: .utf8)
        let figures = try #require(RunFigures.staleness(tracePath: trace))
        // (0 + 1 + 0 + 3) / 4 gradients.
        #expect(figures.mean == 1.0)
        #expect(figures.max == 3)
        try "{\"step\":0,\"loss\":2.3}\n".write(toFile: trace, atomically: true, encoding: .utf8)
        #expect(RunFigures.staleness(tracePath: trace) == nil)
    }
}
