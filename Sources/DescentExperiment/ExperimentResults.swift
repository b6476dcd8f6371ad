import DescentCore
import DescentReport
import Foundation

/// How one run of an experiment ended.
public enum RunOutcome: Sendable, Equatable {
    case finished
    /// The run's process exited non-zero (or was killed); `reason` is its last error line.
    case failed(exitCode: Int32, reason: String)
    /// Stopped by Ctrl-C or SIGTERM sent to the experiment.
    case interrupted
    /// Not started: the experiment was stopped before it.
    case notRun

    /// As the table says it.
    public var text: String {
        switch self {
        case .finished: "ok"
        case let .failed(code, reason): reason.isEmpty ? "failed (exit \(code))" : "failed (exit \(code)): \(reason)"
        case .interrupted: "interrupted"
        case .notRun: "not run"
        }
    }
}

/// The figures of one run, all read from its own run directory: the final test loss and
/// accuracy, steps and seconds from the run's summary (`run_finished` in `events.jsonl`),
/// samples/s as the report computes it from the trace, and the mean and largest staleness of the
/// applied gradients from the summary's `mean_staleness` / `max_staleness`, else from the trace
/// (nil in sync mode, where neither has them).
public struct RunFigures: Sendable, Equatable {
    public var steps: Int?
    public var testAccuracy: Double?
    public var testLoss: Double?
    public var samplesPerSecond: Double?
    public var meanStaleness: Double?
    public var maxStaleness: Int?
    public var seconds: Double?

    public init(steps: Int? = nil, testAccuracy: Double? = nil, testLoss: Double? = nil, samplesPerSecond: Double? = nil,
                meanStaleness: Double? = nil, maxStaleness: Int? = nil, seconds: Double? = nil) {
        self.steps = steps
        self.testAccuracy = testAccuracy
        self.testLoss = testLoss
        self.samplesPerSecond = samplesPerSecond
        self.meanStaleness = meanStaleness
        self.maxStaleness = maxStaleness
        self.seconds = seconds
    }

    /// The figures of a run directory read by `RunDirectory`. A run that did not finish has steps
    /// (those in its trace) but no final test figures.
    public init(run: RunDirectory) {
        self.init()
        steps = run.end?.steps ?? run.steps.count
        testAccuracy = run.end?.testAccuracy
        testLoss = run.end?.testLoss
        seconds = run.end?.seconds
        samplesPerSecond = run.meanSamplesPerSecond
        if run.end != nil, let summary = Self.summaryStaleness(eventsPath: "\(run.path)/\(RunDirectory.eventsName)") {
            meanStaleness = summary.mean
            maxStaleness = summary.max
        } else if let trace = RunDirectory.traceNames.map({ "\(run.path)/\($0)" }).first(where: { FileManager.default.fileExists(atPath: $0) }),
                  let staleness = Self.staleness(tracePath: trace) {
            meanStaleness = staleness.mean
            maxStaleness = staleness.max
        }
    }

    /// `mean_staleness` and `max_staleness` of the run summary (`run_finished`), nil when absent.
    public static func summaryStaleness(eventsPath: String) -> (mean: Double, max: Int)? {
        guard let text = try? String(contentsOfFile: eventsPath, encoding: .utf8) else { return nil }
        let decoder = JSONDecoder()
        for line in text.split(separator: "\n", omittingEmptySubsequences: true).reversed() {
            guard let record = try? decoder.decode(SummaryLine.self, from: Data(line.utf8)), record.type == "run_finished" else { continue }
            guard let mean = record.meanStaleness, let max = record.maxStaleness else { return nil }
            return (mean, max)
        }
        return nil
    }

    /// Mean and maximum staleness over every applied gradient of a trace: per line, each entry of
    /// `param_steps` gives one gradient (`step - param_step`); without it, `staleness` (a number,
    /// or a list of one per gradient). Nil when no line has either.
    public static func staleness(tracePath: String) -> (mean: Double, max: Int)? {
        guard let text = try? String(contentsOfFile: tracePath, encoding: .utf8) else { return nil }
        let decoder = JSONDecoder()
        var count = 0, sum = 0, largest = Int.min
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            guard let record = try? decoder.decode(StalenessLine.self, from: Data(line.utf8)) else { continue }
            let values: [Int]
            if let paramSteps = record.paramSteps, let step = record.step {
                values = paramSteps.map { step - $0 }
            } else if let staleness = record.staleness {
                values = staleness.values
            } else {
                continue
            }
            for value in values {
                count += 1
                sum += value
                largest = Swift.max(largest, value)
            }
        }
        guard count > 0 else { return nil }
        return (Double(sum) / Double(count), largest)
    }

    private struct SummaryLine: Decodable {
        var type: String
        var meanStaleness: Double?
        var maxStaleness: Int?
        enum CodingKeys: String, CodingKey {
            case type
            case meanStaleness = "mean_staleness"
            case maxStaleness = "max_staleness"
        }
    }

    private struct StalenessLine: Decodable {
        var step: Int?
        var staleness: Staleness?
        var paramSteps: [Int]?
        enum CodingKeys: String, CodingKey {
            case step, staleness
            case paramSteps = "param_steps"
        }

        enum Staleness: Decodable {
            case one(Int)
            case each([Int])
            var values: [Int] {
                switch self {
                case .one(let value): [value]
                case .each(let values): values
                }
            }
            init(from decoder: any Decoder) throws {
                let single = try decoder.singleValueContainer()
                if let value = try? single.decode(Int.self) { self = .one(value) } else { self = .each(try single.decode([Int].self)) }
            }
        }
    }
}

/// One row of the results table.
public struct RunResult: Sendable, Equatable {
    public var run: PlannedRun
    public var outcome: RunOutcome
    public var figures: RunFigures
    /// The run directory, relative to the experiment's output directory.
    public var directory: String

    public init(run: PlannedRun, outcome: RunOutcome, figures: RunFigures = RunFigures(), directory: String) {
        self.run = run
        self.outcome = outcome
        self.figures = figures
        self.directory = directory
    }
}

/// The results table of an experiment, as Markdown and as CSV.
public enum ResultsTable {
    public static let csvHeader = [
        "run", "schedule", "workers", "sync", "staleness_bound", "seed", "status", "steps", "test_accuracy", "test_loss",
        "samples_per_second", "mean_staleness", "max_staleness", "seconds", "run_dir",
    ]

    /// One header line and one line per run; numbers in full (Swift's shortest round-trip form),
    /// empty cells for figures a run does not have.
    public static func csv(_ results: [RunResult]) -> String {
        var out = csvHeader.joined(separator: ",") + "\n"
        for result in results {
            let f = result.figures
            let cells: [String] = [
                String(result.run.index), result.run.schedule, String(result.run.workers), result.run.mode.configName,
                result.run.mode.staleness.map(String.init) ?? "", String(result.run.seed), result.outcome.text,
                f.steps.map(String.init) ?? "", f.testAccuracy.map { "\($0)" } ?? "", f.testLoss.map { "\($0)" } ?? "",
                f.samplesPerSecond.map { "\($0)" } ?? "", f.meanStaleness.map { "\($0)" } ?? "", f.maxStaleness.map(String.init) ?? "",
                f.seconds.map { "\($0)" } ?? "", result.directory,
            ]
            out += cells.map(csvField).joined(separator: ",") + "\n"
        }
        return out
    }

    /// A Markdown table (rounded for reading; the CSV has every digit).
    public static func markdown(_ results: [RunResult], title: String) -> String {
        var out = "# \(title)\n\n"
        out += "| # | schedule | workers | sync | seed | status | steps | test accuracy | test loss | samples/s | mean staleness | max staleness | seconds |\n"
        out += "|--:|---|--:|---|--:|---|--:|--:|--:|--:|--:|--:|--:|\n"
        for result in results {
            let f = result.figures
            let cells: [String] = [
                String(result.run.index), result.run.schedule, String(result.run.workers), result.run.mode.label,
                String(result.run.seed), result.outcome.text, f.steps.map(String.init) ?? "-",
                f.testAccuracy.map { String(format: "%.4f", $0) } ?? "-", f.testLoss.map { String(format: "%.4f", $0) } ?? "-",
                f.samplesPerSecond.map { String(format: "%.0f", $0) } ?? "-",
                f.meanStaleness.map { String(format: "%.2f", $0) } ?? "n/a", f.maxStaleness.map(String.init) ?? "n/a",
                f.seconds.map { String(format: "%.1f", $0) } ?? "-",
            ]
            out += "| " + cells.map(markdownCell).joined(separator: " | ") + " |\n"
        }
        return out
    }

    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func markdownCell(_ text: String) -> String {
        text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }
}
