import DescentCore
import DescentLaunch
import DescentReport
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Runs the runs of an `ExperimentPlan` one after another, each a real `descent launch` child
/// process with its own config file, run directory and log under the output directory:
///
/// ```
/// OUT/configs/NN-NAME.yaml   OUT/runs/NN-NAME/ (launch --trace-dir)   OUT/logs/NN-NAME.log
/// OUT/results.md   OUT/results.csv   OUT/report.html
/// ```
///
/// A run that fails is a row of the table saying so, and the next run starts. The tables are
/// rewritten after every run, so a stopped experiment leaves the rows of the runs it finished.
public final class ExperimentRunner {
    /// What every run of the experiment gets besides its config: the binary, data, backend, time limit.
    public struct Options: Sendable {
        /// The `descent` binary every run is a child of.
        public var executable: String
        /// `--data` for every run (nil: each config's `data.dir`, `$DESCENT_DATA`, ./data/mnist).
        public var data: String?
        /// `--backend` for every run.
        public var backend: String?
        /// Seconds a run may take before it is stopped and reported as failed (nil: no limit).
        public var runTimeout: Double?

        public init(executable: String, data: String? = nil, backend: String? = nil, runTimeout: Double? = nil) {
            self.executable = executable
            self.data = data
            self.backend = backend
            self.runTimeout = runTimeout
        }
    }

    public let plan: ExperimentPlan
    public let output: String
    public let options: Options
    public private(set) var results: [RunResult] = []

    public static let markdownName = "results.md"
    public static let csvName = "results.csv"
    public static let reportName = "report.html"

    public init(plan: ExperimentPlan, output: String, options: Options) {
        self.plan = plan
        self.output = output
        self.options = options
    }

    public func configPath(_ run: PlannedRun) -> String { "\(output)/configs/\(run.name).yaml" }
    public func runDirectory(_ run: PlannedRun) -> String { "\(output)/runs/\(run.name)" }
    public func logPath(_ run: PlannedRun) -> String { "\(output)/logs/\(run.name).log" }

    /// The arguments of one run's `descent` child.
    public func arguments(_ run: PlannedRun) -> [String] {
        var arguments = ["launch", "--config", configPath(run), "--workers", String(run.workers),
                         "--trace-dir", runDirectory(run), "--progress", "never"]
        if let data = options.data { arguments += ["--data", data] }
        if let backend = options.backend { arguments += ["--backend", backend] }
        if let steps = plan.matrix.maxSteps { arguments += ["--max-steps", String(steps)] }
        return arguments
    }

    /// Makes the output directory and writes every run's config file, before any run starts. The
    /// directory must be new, empty, or this same experiment's from an earlier start (every config
    /// it holds equal to the plan's): then the runs that finished there are kept, and the others
    /// (failed, stopped, not run) are started again from scratch. Runs of two experiments are
    /// never mixed.
    public func prepare() throws(ExperimentError) {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        var kept: Set<String> = []
        if manager.fileExists(atPath: output, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw failure("\(output) is a file; give -o a new directory") }
            let entries = (try? manager.contentsOfDirectory(atPath: output)) ?? []
            if !entries.isEmpty {
                guard let earlier = try earlierStart(entries: entries) else {
                    throw failure("\(output) already holds files (\(entries.sorted().prefix(3).joined(separator: ", "))); give -o a new or empty directory, or remove it")
                }
                kept = earlier
            }
        }
        if let problem = AtomicFile.problemWriting("\(output)/\(Self.csvName)") {
            throw failure("cannot write the experiment into \(output): \(problem); pick a directory you can write")
        }
        for directory in ["configs", "runs", "logs"] {
            do { try AtomicFile.createDirectories("\(output)/\(directory)") } catch {
                throw failure("\(error)")
            }
        }
        for run in plan.runs where !kept.contains(run.name) {
            // A run started again starts clean: nothing of its earlier attempt is mixed in.
            try? manager.removeItem(atPath: runDirectory(run))
            try? manager.removeItem(atPath: logPath(run))
            do { try AtomicFile.write(run.configYAML, to: configPath(run)) } catch {
                throw failure("cannot write \(configPath(run)): \(error)")
            }
        }
        results = plan.runs.map { run in
            guard kept.contains(run.name), let directory = try? RunDirectory(path: runDirectory(run)) else {
                return RunResult(run: run, outcome: .notRun, directory: "runs/\(run.name)")
            }
            return RunResult(run: run, outcome: .finished, figures: RunFigures(run: directory), directory: "runs/\(run.name)")
        }
        try writeTables()
    }

    /// The names of the runs that finished in an earlier start of this experiment in `output`, or
    /// nil when `output` is not such a start (no `configs/`, or a file there that is not one of
    /// the plan's configs as it is now).
    private func earlierStart(entries: [String]) throws(ExperimentError) -> Set<String>? {
        let known: Set<String> = ["configs", "runs", "logs", Self.markdownName, Self.csvName, Self.reportName]
        guard entries.contains("configs"), entries.allSatisfy(known.contains) else { return nil }
        let planned = Dictionary(uniqueKeysWithValues: plan.runs.map { (URL(fileURLWithPath: configPath($0)).lastPathComponent, $0) })
        for file in (try? FileManager.default.contentsOfDirectory(atPath: "\(output)/configs")) ?? [] {
            guard let run = planned[file], (try? String(contentsOfFile: configPath(run), encoding: .utf8)) == run.configYAML else {
                throw failure("\(output) holds another experiment's runs (configs/\(file) is not this file's); give -o a new directory, or remove it")
            }
        }
        return Set(plan.runs.filter { run in
            guard let directory = try? RunDirectory(path: runDirectory(run)) else { return false }
            return directory.end != nil && directory.failure == nil
        }.map(\.name))
    }

    /// Runs every run in order; `progress` gets a line as each starts and ends. Stops early, with
    /// the run in flight told to stop (SIGTERM, which `launch` forwards), when `stop` has a request.
    /// Returns the results (also written to the tables and the report).
    @discardableResult
    public func runAll(stop: StopRequest?, progress: (String) -> Void) throws(ExperimentError) -> [RunResult] {
        let total = plan.runs.count
        var stopped = false
        for (position, run) in plan.runs.enumerated() {
            if stopped || !(stop?.pending().isEmpty ?? true) {
                stopped = true
                break
            }
            if results[position].outcome == .finished {
                progress("run \(run.index)/\(total): \(run.label): finished in an earlier start, kept")
                continue
            }
            progress("run \(run.index)/\(total): \(run.label)")
            let started = Date()
            let (outcome, stopAsked) = execute(run, stop: stop)
            if stopAsked { stopped = true }
            var figures = RunFigures()
            if let directory = try? RunDirectory(path: runDirectory(run)) { figures = RunFigures(run: directory) }
            results[position] = RunResult(run: run, outcome: outcome, figures: figures, directory: "runs/\(run.name)")
            progress("  " + Self.summary(results[position], wallSeconds: Date().timeIntervalSince(started), log: logPath(run)))
            try writeTables()
        }
        try writeReport()
        return results
    }

    /// `ok in 4.2 s: test accuracy 0.9123, test loss 0.2931, 12,345 samples/s` or the failure.
    static func summary(_ result: RunResult, wallSeconds: Double, log: String) -> String {
        let f = result.figures
        switch result.outcome {
        case .finished:
            var text = String(format: "ok in %.1f s", wallSeconds)
            if let accuracy = f.testAccuracy, let loss = f.testLoss { text += String(format: ": test accuracy %.4f, test loss %.4f", accuracy, loss) }
            if let rate = f.samplesPerSecond { text += String(format: ", %.0f samples/s", rate) }
            if let mean = f.meanStaleness, let max = f.maxStaleness { text += String(format: ", staleness mean %.2f max %d", mean, max) }
            return text
        default:
            return "\(result.outcome.text) (log: \(log))"
        }
    }

    /// Runs one child to its end; its standard output and error go to the run's log. Also says
    /// whether a stop was asked for meanwhile (a run that still finished is `.finished`).
    func execute(_ run: PlannedRun, stop: StopRequest?) -> (RunOutcome, stopAsked: Bool) {
        let log = logPath(run)
        guard FileManager.default.createFile(atPath: log, contents: nil), let handle = FileHandle(forWritingAtPath: log) else {
            return (.failed(exitCode: -1, reason: "cannot write its log \(log)"), false)
        }
        defer { try? handle.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: options.executable)
        process.arguments = arguments(run)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        // The run dies with the experiment, even a killed one (SIGKILL forwards nothing): its
        // `launch` asks for the parent-death signal and stops its processes as on SIGTERM.
        process.environment = ProcessInfo.processInfo.environment.merging([ParentDeath.environmentVariable: "\(getpid())"]) { _, own in own }
        do { try process.run() } catch {
            return (.failed(exitCode: -1, reason: "cannot start \(options.executable): \(error.localizedDescription)"), false)
        }
        let started = Date()
        var interrupted = false, timedOut = false
        // A Ctrl-C at a terminal reaches the child too (same process group): it gets 2 s to stop
        // by itself before the SIGTERM (which a second signal would turn into a kill); 30 s more
        // before SIGKILL.
        var stopAsked: Date?, termSent: Date?
        while process.isRunning {
            let now = Date()
            if stopAsked == nil {
                if !(stop?.pending().isEmpty ?? true) { interrupted = true; stopAsked = now }
                if let limit = options.runTimeout, now.timeIntervalSince(started) > limit { timedOut = true; stopAsked = now.addingTimeInterval(-2) }
            } else if termSent == nil, let asked = stopAsked, now.timeIntervalSince(asked) >= 2 {
                kill(process.processIdentifier, SIGTERM)
                termSent = now
            } else if let sent = termSent, now.timeIntervalSince(sent) > 30 {
                kill(process.processIdentifier, SIGKILL)
            }
            usleep(20_000)
        }
        process.waitUntilExit()
        let code = process.terminationStatus
        if process.terminationReason == .exit && code == 0 { return (.finished, interrupted) }
        if interrupted { return (.interrupted, true) }
        if timedOut { return (.failed(exitCode: code, reason: "stopped after the run timeout of \(Int(options.runTimeout ?? 0)) s"), false) }
        let reason = Self.lastError(inLog: log)
        if process.terminationReason == .uncaughtSignal {
            return (.failed(exitCode: 128 + code, reason: "killed by signal \(code)" + (reason.isEmpty ? "" : "; \(reason)")), false)
        }
        return (.failed(exitCode: code, reason: reason), false)
    }

    /// The last line of a log that speaks of an error (else its last line), made safe for a table.
    static func lastError(inLog path: String) -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return "" }
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let words = ["error", "diverged", "failed", "refused", "cannot"]
        let line = lines.last { line in words.contains { line.lowercased().contains($0) } } ?? lines.last ?? ""
        return line.isEmpty ? "" : line.sanitizedForDisplay(maxCharacters: 240)
    }

    func writeTables() throws(ExperimentError) {
        let title = "descent experiment \(URL(fileURLWithPath: plan.matrix.path).lastPathComponent)"
        for (name, text) in [(Self.markdownName, ResultsTable.markdown(results, title: title)), (Self.csvName, ResultsTable.csv(results))] {
            do { try AtomicFile.write(text, to: "\(output)/\(name)") } catch { throw failure("cannot write \(output)/\(name): \(error)") }
        }
    }

    /// The overlaid charts of every run whose directory can be read (failed runs included, with what they recorded).
    func writeReport() throws(ExperimentError) {
        let runs = results.compactMap { result -> RunDirectory? in
            guard result.outcome != .notRun, let run = try? RunDirectory(path: runDirectory(result.run)), !run.steps.isEmpty else { return nil }
            return run
        }
        guard !runs.isEmpty else { return }
        let html = RunReport(runs: runs, title: "descent experiment \(URL(fileURLWithPath: plan.matrix.path).lastPathComponent)").html()
        do { try AtomicFile.write(html, to: "\(output)/\(Self.reportName)") } catch { throw failure("cannot write \(output)/\(Self.reportName): \(error)") }
    }

    private func failure(_ message: String) -> ExperimentError { ExperimentError(file: plan.matrix.path, key: "", message) }
}
