import DescentReport
import Foundation
import Testing

extension SystemTests {
    /// A staircase that drops 3 times in 400 steps: 0.1 * 0.5^floor(t / 100), written out here.
    static let reportConfig = """
        seed: 42
        training:
          epochs: 15
          batch_size: 32
        schedule:
          type: exponential
          initial_rate: 0.1
          decay_steps: 100
          decay_rate: 0.5
          staircase: true
        """

    static func reportExpectedRate(_ step: Int) -> Float {
        Float(Double(Float(0.1)) * pow(Double(Float(0.5)), Double(step / 100)))
    }

    /// Three real runs of the sample: one process, two workers, and two workers where one is
    /// killed (the coordinator reports it lost and fails). `descent report` makes one page of
    /// them: the charts, the summary rows, the lost worker marked; the schedule it draws from
    /// the config equals the formula and the applied rates; headless Chromium loads the page
    /// (its DOM holds every chart), screenshots it, and logs no console error.
    @Test func reportOfRealRunsHasEveryChartAndLoadsInChromium() throws {
        guard let sample = Paths.mnistSample else {
            print("skipped: the MNIST sample is missing")
            return
        }
        let dir = try Paths.temporaryDirectory("report")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = try writeConfig(Self.reportConfig, in: dir)

        let one = try Child("one", ["train", "--config", config, "--data", sample, "--max-steps", "400", "--run-dir", "\(dir)/one-process"], directory: dir)
        #expect(one.wait() == 0, "\(one.stderr)")
        let two = try Child("two", ["launch", "--config", config, "--data", sample, "--workers", "2", "--max-steps", "400",
                                    "--trace-dir", "\(dir)/two-workers"], directory: dir)
        #expect(two.wait(seconds: 180) == 0, "\(two.stderr)")

        // The third run: worker 1 dies at step 60 (`exit:step=60` is `_exit(70)` when step 60
        // arrives: no word to the coordinator, as a killed process); the coordinator notices,
        // deals its share to worker 0, and the run finishes.
        let endpoint = "ipc://\(dir)/lost.sock"
        let coordinator = try Child("coordinator", ["coordinator", "--config", config, "--data", sample, "--workers", "2", "--max-steps", "400",
                                                    "--bind", endpoint, "--silence-limit", "2", "--run-dir", "\(dir)/worker-lost"], directory: dir)
        let workers = try (0..<2).map { rank in
            try Child("worker-\(rank)", ["worker", "--connect", endpoint, "--data", sample, "--rank", "\(rank)"]
                      + (rank == 1 ? ["--fault", "exit:step=60"] : []), directory: dir)
        }
        defer { workers.forEach { $0.stop() } }
        #expect(coordinator.wait(seconds: 120) == 0, "\(coordinator.stderr.suffix(1000))")
        #expect(coordinator.stdout.contains("Worker rank 1 (") && coordinator.stdout.contains("lost: its process exited"), "\(coordinator.stdout.suffix(1000))")

        // The schedule drawn from the config: the formula, and the rates applied.
        let oneProcess = try RunDirectory(path: "\(dir)/one-process")
        let scheduled = try #require(oneProcess.scheduledRates())
        #expect(scheduled.count == 400)
        #expect(scheduled == (0..<400).map(Self.reportExpectedRate))
        #expect(oneProcess.steps.map(\.rate) == scheduled)
        let lost = try RunDirectory(path: "\(dir)/worker-lost")
        #expect(lost.events.contains { $0.kind == .workerLost && $0.rank == 1 })
        #expect(lost.failure == nil)

        let output = "\(dir)/report.html"
        let report = try Child("report", ["report", "\(dir)/one-process", "\(dir)/two-workers", "\(dir)/worker-lost", "-o", output], directory: dir)
        #expect(report.wait() == 0, "\(report.stderr)")
        // An output path that cannot be written says why in plain words.
        let unwritable = try Child("report-unwritable", ["report", "\(dir)/one-process", "-o", "/proc/nope/report.html"], directory: dir)
        #expect(unwritable.wait() != 0)
        #expect(unwritable.stderr.contains("cannot write /proc/nope/report.html (create the directory /proc/nope failed"), "\(unwritable.stderr)")
        let html = try String(contentsOfFile: output, encoding: .utf8)
        for id in ["rate", "loss", "accuracy", "throughput", "latency"] { #expect(html.contains("<svg id=\"\(id)\""), "chart \(id)") }
        for name in ["one-process", "two-workers", "worker-lost"] { #expect(html.contains("<td class=\"name\">\(name)</td>")) }
        #expect(html.contains(">worker lost 1</text>"))
        #expect(html.contains("two-workers schedule (config)"))
        for outside in ["<script", "<link", "src=", "href=", "url(", "@import"] {
            #expect(!html.contains(outside), "the page must be self-contained: \(outside)")
        }
        #expect(html.hasPrefix("<!DOCTYPE html>") && html.hasSuffix("</html>\n"))

        guard let chromium = ObserveSupport.tool("chromium", "chromium-browser", "google-chrome") else {
            print("skipped the browser part: chromium is not installed (apt-get install chromium)")
            return
        }
        let flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--user-data-dir=\(dir)/chromium-profile"]
        let dom = try ObserveSupport.run(chromium, flags + ["--dump-dom", "file://\(output)"])
        #expect(dom.status == 0, "\(dom.err.suffix(1500))")
        for id in ["rate", "loss", "accuracy", "throughput", "latency"] { #expect(dom.out.contains("<svg id=\"\(id)\""), "DOM: chart \(id)") }
        let screenshot = "\(dir)/report.png"
        let shot = try ObserveSupport.run(chromium, flags + ["--enable-logging=stderr", "--v=0", "--window-size=940,2400",
                                                             "--screenshot=\(screenshot)", "file://\(output)"])
        #expect(shot.status == 0, "\(shot.err.suffix(1500))")
        let png = [UInt8](try Data(contentsOf: URL(fileURLWithPath: screenshot)))
        #expect(png.count > 20_000 && Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        let consoleErrors = shot.err.split(separator: "\n").filter {
            $0.contains("CONSOLE") || $0.contains("Uncaught") || $0.contains("ERR_FILE_NOT_FOUND") || $0.contains("Refused to")
        }
        #expect(consoleErrors.isEmpty, "\(consoleErrors)")
        if let keep = ProcessInfo.processInfo.environment["DESCENT_REPORT_SCREENSHOT"] {
            try? FileManager.default.removeItem(atPath: keep)
            try FileManager.default.copyItem(atPath: screenshot, toPath: keep)
        }
    }

    /// A reduce-on-plateau schedule depends on the test losses: the report replays it from the
    /// recorded epochs and finds the rates the run applied, reductions included.
    @Test func reportReplaysAPlateauScheduleFromTheRecordedEpochs() throws {
        let dir = try Paths.temporaryDirectory("report-plateau")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticMNIST.write(to: dir, train: 200, test: 50)
        let config = try writeConfig("""
            seed: 3
            data:
              dir: \(dir)
            training:
              epochs: 12
              batch_size: 20
            schedule:
              type: reduce_on_plateau
              initial_rate: 0.5
              factor: 0.5
              patience: 0
              threshold: 0.5
            """, in: dir)
        let run = try Child("train", ["train", "--config", config, "--run-dir", "\(dir)/run"], directory: dir)
        #expect(run.wait() == 0, "\(run.stderr)")
        let directory = try RunDirectory(path: "\(dir)/run")
        let applied = directory.steps.map(\.rate)
        #expect(applied.count == 120)
        #expect(Set(applied).count >= 3, "the plateau schedule should have reduced the rate: \(Set(applied))")
        #expect(directory.scheduledRates() == applied)
        #expect(directory.epochs.count == 12)
    }
}
