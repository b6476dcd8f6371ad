import DescentCore
import DescentExperiment
import DescentReport
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
        // param_steps, one per gradient, come first: step 5 averaged gradients of steps 5, 3 and 4.
        try """
            {"step":4,"loss":2.0,"param_step":4,"staleness":0,"param_steps":[4]}
            {"step":5,"loss":1.9,"param_step":3,"staleness":2,"param_steps":[5,3,4]}

            """.write(toFile: trace, atomically: true, encoding: .utf8)
        let perGradient = try #require(RunFigures.staleness(tracePath: trace))
        #expect(perGradient.mean == 0.75)  // (0 + 0 + 2 + 1) / 4
        #expect(perGradient.max == 2)
        try "{\"step\":0,\"loss\":2.3}\n".write(toFile: trace, atomically: true, encoding: .utf8)
        #expect(RunFigures.staleness(tracePath: trace) == nil)
    }

    /// A run directory written by hand: the figures are those of its summary line and its trace.
    @Test func figuresOfARunDirectoryAreItsSummarysAndItsTraces() throws {
        let directory = NSTemporaryDirectory() + "descent-figures-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try """
            {"epoch":0,"rate":0.1,"ranks":[0,1],"samples":32,"loss":2.3,"gradient_norm":1.0,"time_ms":500,"param_step":0,"staleness":0,"param_steps":[0,0]}
            {"epoch":0,"rate":0.1,"ranks":[0,1],"samples":32,"loss":2.2,"gradient_norm":1.0,"time_ms":1000,"param_step":0,"staleness":1,"param_steps":[1,0]}
            {"epoch":0,"rate":0.1,"ranks":[0,1],"samples":16,"loss":2.1,"gradient_norm":1.0,"time_ms":2000,"param_step":1,"staleness":1,"param_steps":[2,1]}

            """.replacingOccurrences(of: "{\"epoch\":0", with: "{\"step\":STEP,\"epoch\":0")
            .split(separator: "\n").enumerated().map { $0.element.replacingOccurrences(of: "STEP", with: String($0.offset)) + "\n" }.joined()
            .write(toFile: directory + "/coordinator.jsonl", atomically: true, encoding: .utf8)
        let finished = #"{"type":"run_finished","steps":3,"test_loss":0.5,"test_accuracy":0.875,"final_rate":0.1,"seconds":2.5"#
        try (finished + #","mean_staleness":0.25,"max_staleness":3}"# + "\n").write(toFile: directory + "/events.jsonl", atomically: true, encoding: .utf8)
        var figures = RunFigures(run: try RunDirectory(path: directory))
        #expect(figures == RunFigures(steps: 3, testAccuracy: 0.875, testLoss: 0.5, samplesPerSecond: 80.0 / 2.0,
                                      meanStaleness: 0.25, maxStaleness: 3, seconds: 2.5))
        // Without the summary's staleness, the trace's: gradients of staleness 0, 0, 0, 1, 0, 1.
        try (finished + "}\n").write(toFile: directory + "/events.jsonl", atomically: true, encoding: .utf8)
        figures = RunFigures(run: try RunDirectory(path: directory))
        #expect(figures.meanStaleness == 2.0 / 6.0)
        #expect(figures.maxStaleness == 1)
    }
}
