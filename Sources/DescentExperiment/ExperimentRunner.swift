import DescentCore
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

    /// Makes the output directory (it must not exist or be empty: runs of two experiments are
    /// never mixed) and writes every run's config file, before any run starts.
    public func prepare() throws(ExperimentError) {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        if manager.fileExists(atPath: output, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw failure("\(output) is a file; give -o a new directory") }
            let entries = (try? manager.contentsOfDirectory(atPath: output)) ?? []
            guard entries.isEmpty else {
                throw failure("\(output) already holds files (\(entries.sorted().prefix(3).joined(separator: ", "))); give -o a new or empty directory, or remove it")
            }
        }
        for directory in ["configs", "runs", "logs"] {
            do { try manager.createDirectory(atPath: "\(output)/\(directory)", withIntermediateDirectories: true) } catch {
                throw failure("cannot make \(output)/\(directory): \(error.localizedDescription); pick a directory you can write")
            }
        }
        for run in plan.runs {
            do { try AtomicFile.write(run.configYAML, to: configPath(run)) } catch {
                throw failure("cannot write \(configPath(run)): \(error)")
            }
        }
        results = plan.runs.map { RunResult(run: $0, outcome: .notRun, directory: "runs/\($0.name)") }
        try writeTables()
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
