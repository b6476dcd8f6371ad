import ArgumentParser
import DescentCore
import DescentExperiment
import Foundation

/// `descent experiment`: a matrix of real runs, one after another, and its results table.
struct ExperimentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experiment",
        abstract: "Run a matrix of runs (schedules x worker counts x sync modes x seeds) and write a results table and report.",
        discussion: """
            Each run is a 'descent launch' child with its own config (OUT/configs), run directory (OUT/runs) and \
            log (OUT/logs); a run that fails is a row saying so and the next run starts. OUT/results.md and \
            OUT/results.csv (final test accuracy and loss, steps, samples/s, staleness) are rewritten after \
            every run; OUT/report.html overlays the runs' charts at the end. The file's format: Config/experiments/.
            """)

    @Argument(help: "The experiment file (YAML).")
    var file: String

    @Option(name: [.short, .customLong("output")], help: "The directory for the runs and results (new or empty; default: experiments/NAME).")
    var output: String?

    @Option(help: "The directory of the MNIST files, for every run.")
    var data: String?

    @Option(help: "The library for the matrix products of every run: onednn or openblas.")
    var backend: String?

    @Option(help: "Seconds one run may take before it is stopped and counted as failed.")
    var runTimeout: Double?

    @Flag(help: "Check the file and write the runs' configs, then list the runs without starting them.")
    var dryRun = false

    func validate() throws {
        if let backend { _ = try ComputeBackend.parse(backend) }
        try FlagRange.seconds("--run-timeout", runTimeout)
    }

    func run() throws {
        let plan: ExperimentPlan
        do { plan = try ExperimentPlan(matrix: try ExperimentMatrix.load(path: file)) } catch { throw ValidationError(error.description) }
        let name = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        let directory = output ?? "experiments/\(name)"
        let runner = ExperimentRunner(plan: plan, output: directory,
                                      options: .init(executable: try Launch.currentExecutable(), data: data, backend: backend, runTimeout: runTimeout))
        do { try runner.prepare() } catch { throw ValidationError(error.description) }
        let matrix = plan.matrix
        Console.out("descent experiment \(file): \(plan.runs.count) run(s) = \(matrix.schedules.count) schedule(s) x \(matrix.workers.count) worker count(s) x \(matrix.modes.count) sync mode(s) x \(matrix.seeds.count) seed(s), into \(directory)")
        if dryRun {
            for run in plan.runs { Console.out("run \(run.index)/\(plan.runs.count): \(run.label)  (\(runner.configPath(run)))") }
            return
        }
        let stop = try StopRequest(forwardingSignals: true)
        let results: [RunResult]
        do { results = try runner.runAll(stop: stop) { Console.out($0) } } catch { throw ValidationError(error.description) }
        let finished = results.filter { $0.outcome == .finished }.count
        Console.out("\(finished) of \(results.count) run(s) finished. Results: \(directory)/\(ExperimentRunner.markdownName), \(directory)/\(ExperimentRunner.csvName); charts: \(directory)/\(ExperimentRunner.reportName)")
        if results.contains(where: { $0.outcome == .interrupted || $0.outcome == .notRun }) { throw ExitCode(130) }
        if finished < results.count { throw ExitCode(1) }
    }
}
