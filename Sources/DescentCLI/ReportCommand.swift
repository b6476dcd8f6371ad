import ArgumentParser
import DescentCore
import DescentReport
import Foundation

/// `descent report`: one self-contained HTML page about one or several run directories.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Turn run directories (--run-dir or launch --trace-dir) into one HTML page with SVG charts.",
        discussion: """
            Charts: the rate at every step (the config's schedule beside the rates applied), loss and accuracy \
            per epoch, samples/s over time, per-worker latency, with marks where workers joined or were lost \
            and faults or restarts happened; a summary table. Several directories are overlaid, one color each.
            """)

    @Argument(help: "Run directories.")
    var runDirectories: [String]

    @Option(name: [.short, .customLong("output")], help: "The HTML file to write.")
    var output: String = "report.html"

    @Option(help: "The page's title.")
    var title: String = "Descent run report"

    func validate() throws {
        guard !runDirectories.isEmpty else { throw ValidationError("name at least one run directory") }
    }

    func run() throws {
        let runs = try runDirectories.map { path in
            do { return try RunDirectory(path: path) } catch let error as ReportError { throw ValidationError(error.description) }
        }
        let html = RunReport(runs: runs, title: title).html()
        do {
            try AtomicFile.write(html, to: output)
        } catch {
            throw ValidationError(error.description)
        }
        print("Wrote \(output) (\(runs.count) run(s), \(runs.reduce(0) { $0 + $1.steps.count }) steps)")
    }
}
