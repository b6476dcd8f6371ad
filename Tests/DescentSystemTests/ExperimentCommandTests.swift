import Foundation
import Testing

extension SystemTests {
    /// Splits CSV text written by the command into rows of fields (quoted fields with "" inside),
    /// parsed here independently of the writer.
    static func csvRows(_ text: String) -> [[String]] {
        var rows: [[String]] = [], row: [String] = [], field = ""
        var quoted = false, iterator = Array(text).makeIterator(), pending: Character?
        while let c = pending ?? iterator.next() {
            pending = nil
            if quoted {
                if c == "\"" {
                    let next = iterator.next()
                    if next == "\"" { field.append("\"") } else { quoted = false; pending = next }
                } else { field.append(c) }
            } else if c == "\"" { quoted = true }
            else if c == "," { row.append(field); field = "" }
            else if c == "\n" { row.append(field); rows.append(row); row = []; field = "" }
            else { field.append(c) }
        }
        return rows
    }

    /// The number text after `"key":` in a JSON line, read with `Double(String)` (exact; Foundation's
    /// JSONSerialization may be off by an ulp).
    static func jsonNumber(_ line: String, _ key: String) -> Double? {
        guard let start = line.range(of: "\"\(key)\":") else { return nil }
        return Double(String(line[start.upperBound...].prefix { $0 != "," && $0 != "}" }))
    }

    /// `descent experiment Config/experiments/tiny.yaml` on the real sample: 2 schedules x 1 and 2
    /// workers, one epoch of 1,600 images each, as 4 real `launch` children. Every row of the CSV
    /// equals its run directory's own figures, read here from the JSON files: the steps in the
    /// trace (1,600 / 32 = 50) and in the run summary, the final test accuracy and loss of the
    /// summary, samples/s as the trace's samples over its last step's clock; each run's config
    /// has the matrix's seed and schedule; the report names every run.
    @Test func experimentTableEqualsTheRunsOwnFigures() throws {
        guard let sample = Paths.mnistSample else {
            print("skipped: the MNIST sample is missing")
            return
        }
        let dir = try Paths.temporaryDirectory("experiment")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = "\(dir)/out"
        let file = Paths.packageRoot.appendingPathComponent("Config/experiments/tiny.yaml").path
        let experiment = try Child("experiment", ["experiment", file, "--data", sample, "-o", out], directory: dir)
        #expect(experiment.wait(seconds: 300) == 0, "\(experiment.stdout.suffix(2000)) \(experiment.stderr.suffix(2000))")
        let labels = ["exponential, 1 worker, sync, seed 7", "exponential, 2 workers, sync, seed 7",
                      "constant, 1 worker, sync, seed 7", "constant, 2 workers, sync, seed 7"]
        for (i, label) in labels.enumerated() {
            #expect(experiment.stdout.contains("run \(i + 1)/4: \(label)\n"), "\(experiment.stdout)")
        }

        let rows = Self.csvRows(try String(contentsOfFile: "\(out)/results.csv", encoding: .utf8))
        let header = try #require(rows.first)
        #expect(rows.count == 5)
        func column(_ name: String) throws -> Int { try #require(header.firstIndex(of: name), "no column \(name)") }
        let markdown = try String(contentsOfFile: "\(out)/results.md", encoding: .utf8)
        for (i, row) in rows.dropFirst().enumerated() {
            #expect(row.count == header.count)
            let runDir = "\(out)/\(row[try column("run_dir")])"
            #expect(row[try column("status")] == "ok")
            #expect(row[try column("workers")] == (i % 2 == 0 ? "1" : "2"))
            #expect(row[try column("schedule")] == (i < 2 ? "exponential" : "constant"))
            #expect(row[try column("sync")] == "sync")
            #expect(row[try column("seed")] == "7")

            let trace = try jsonLines("\(runDir)/coordinator.jsonl")
            let events = try jsonLines("\(runDir)/events.jsonl")
            let finished = try #require(events.first { $0["type"] as? String == "run_finished" })
            #expect(trace.count == 1_600 / 32)
            #expect(row[try column("steps")] == "\(trace.count)")
            #expect(finished["steps"] as? Int == trace.count)
            let finishedLine = try #require(try String(contentsOfFile: "\(runDir)/events.jsonl", encoding: .utf8)
                .split(separator: "\n").map(String.init).first { $0.contains("\"type\":\"run_finished\"") })
            for (csvName, jsonName) in [("test_accuracy", "test_accuracy"), ("test_loss", "test_loss"), ("seconds", "seconds")] {
                let shown = Double(row[try column(csvName)])
                #expect(shown != nil && shown == Self.jsonNumber(finishedLine, jsonName), "\(csvName): \(row) vs \(finishedLine)")
            }
            let samples = trace.reduce(0) { $0 + ($1["samples"] as! Int) }
            #expect(samples == 1_600)
            let lastMs = try #require(trace.last?["time_ms"] as? Double)
            let expected = Double(samples) / (lastMs / 1000)
            let shown = try #require(Double(row[try column("samples_per_second")]))
            #expect(abs(shown - expected) <= 1e-9 * expected)
            // This build's traces carry no staleness: the cells are empty, the Markdown says n/a.
            #expect(row[try column("mean_staleness")] == "")
            #expect(row[try column("max_staleness")] == "")
            let accuracy = String(format: "%.4f", finished["test_accuracy"] as! Double)
            #expect(markdown.contains("| \(i + 1) | \(row[1]) | \(row[2]) | sync | 7 | ok | 50 | \(accuracy) |"), "\(markdown)")

            let config = try String(contentsOfFile: "\(runDir)/config.yaml", encoding: .utf8)
            #expect(config.contains("seed: 7\n"))
            #expect(config.contains(i < 2 ? "type: exponential" : "type: constant"))
            #expect(config.contains("train_limit: 1600"))
        }
        let report = try String(contentsOfFile: "\(out)/report.html", encoding: .utf8)
        for row in rows.dropFirst() {
            #expect(report.contains(URL(fileURLWithPath: row[row.count - 1]).lastPathComponent))
        }
        #expect(markdown.contains("n/a"))
    }

    /// A run that fails (a rate that makes the gradient infinite: launch exits 1) is a row saying
    /// so, with the run's own error line, and the next run still runs; the command exits 1.
    @Test func experimentReportsAFailedRunAndGoesOn() throws {
        guard let sample = Paths.mnistSample else {
            print("skipped: the MNIST sample is missing")
            return
        }
        let dir = try Paths.temporaryDirectory("experiment-fail")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = "\(dir)/matrix.yaml"
        try """
            base: \(Paths.packageRoot.appendingPathComponent("Config/mnist-seed.yaml").path)
            schedules:
              - name: diverging
                schedule: {type: constant, rate: 1.0e30}
              - name: fine
                schedule: {type: constant, rate: 0.05}
            workers: [1]
            sync: [sync]
            seeds: [3]
            epochs: 1
            train_limit: 320
            """.write(toFile: file, atomically: true, encoding: .utf8)
        let experiment = try Child("experiment", ["experiment", file, "--data", sample, "-o", "\(dir)/out"], directory: dir)
        #expect(experiment.wait(seconds: 180) == 1, "\(experiment.stdout) \(experiment.stderr)")
        let rows = Self.csvRows(try String(contentsOfFile: "\(dir)/out/results.csv", encoding: .utf8))
        #expect(rows.count == 3)
        let status = rows[1][6]
        #expect(status.hasPrefix("failed (exit 1): ") && status.contains("training diverged at step"), "\(status)")
        #expect(rows[1][8] == "")  // no final test accuracy
        #expect(rows[2][6] == "ok")
        #expect(experiment.stdout.contains("run 2/2: fine, 1 worker, sync, seed 3"))
        #expect(experiment.stdout.contains("1 of 2 run(s) finished"))
    }

    /// Config/experiments/tiny.yaml with 30 epochs (1,500 steps a run, not 50), so that a signal
    /// sent a few hundred milliseconds into a run lands while it trains, however fast its steps.
    static func slowTinyExperiment(in directory: String) throws -> String {
        let config = Paths.packageRoot.appendingPathComponent("Config").path
        return try editedPackageFile("Config/experiments/tiny.yaml",
                                     replacing: [("base: ../", "base: \(config)/"), ("from: ../", "from: \(config)/"), ("epochs: 1\n", "epochs: 30\n")],
                                     in: directory, name: "tiny-30-epochs.yaml")
    }

    /// SIGTERM to the experiment stops it: the run in flight is told to stop (or finishes first),
    /// the runs after it are rows saying "not run", the tables are written, the exit status is 130.
    @Test func experimentStopsOnSIGTERMAndKeepsTheTable() throws {
        guard let sample = Paths.mnistSample else {
            print("skipped: the MNIST sample is missing")
            return
        }
        let dir = try Paths.temporaryDirectory("experiment-stop")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = try Self.slowTinyExperiment(in: dir)
        let experiment = try Child("experiment", ["experiment", file, "--data", sample, "-o", "\(dir)/out"], directory: dir)
        defer { experiment.stop() }
        #expect(experiment.waitFor("run 1/4: "))
        usleep(500_000)
        kill(experiment.process.processIdentifier, SIGTERM)
        #expect(experiment.wait(seconds: 60) == 130, "\(experiment.stdout) \(experiment.stderr)")
        let rows = Self.csvRows(try String(contentsOfFile: "\(dir)/out/results.csv", encoding: .utf8))
        #expect(rows.count == 5)
        #expect(["ok", "interrupted"].contains(rows[1][6]), "\(rows)")
        #expect(rows[2...].allSatisfy { $0[6] == "not run" }, "\(rows)")
        #expect(!experiment.stdout.contains("run 2/4"))
        #expect(FileManager.default.fileExists(atPath: "\(dir)/out/results.md"))
    }

    /// Killed with SIGKILL mid-run, the experiment leaves no process behind (its run's `launch`
    /// stops on the parent-death signal); started again on the same directory, it keeps the runs
    /// that finished, untouched, and runs the others from scratch.
    @Test func experimentKilledThenStartedAgainKeepsFinishedRunsAndRunsTheRest() throws {
        guard let sample = Paths.mnistSample else {
            print("skipped: the MNIST sample is missing")
            return
        }
        let dir = try Paths.temporaryDirectory("experiment-again")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = try Self.slowTinyExperiment(in: dir)
        let first = try Child("first", ["experiment", file, "--data", sample, "-o", "\(dir)/out"], directory: dir)
        defer { first.stop() }
        #expect(first.waitFor("run 2/4: "))
        usleep(300_000)
        kill(first.process.processIdentifier, SIGKILL)
        _ = first.wait(seconds: 10)
        // Every process of the run in flight ends on its own (launch's config names this directory).
        var left: [String] = []
        for _ in 0..<100 {
            left = ((try? ObserveSupport.run("/usr/bin/pgrep", ["-f", "\(dir)/out/configs"]).out) ?? "").split(separator: "\n").map(String.init)
            if left.isEmpty { break }
            usleep(100_000)
        }
        #expect(left.isEmpty, "processes of the killed experiment's run are still running: \(left)")
        let firstRows = Self.csvRows(try String(contentsOfFile: "\(dir)/out/results.csv", encoding: .utf8))
        #expect(firstRows[1][6] == "ok", "\(firstRows)")
        let keptEvents = try String(contentsOfFile: "\(dir)/out/runs/\(firstRows[1][14].split(separator: "/").last!)/events.jsonl", encoding: .utf8)

        let again = try Child("again", ["experiment", file, "--data", sample, "-o", "\(dir)/out"], directory: dir)
        #expect(again.wait(seconds: 120) == 0, "\(again.stdout) \(again.stderr)")
        #expect(again.stdout.contains("run 1/4: exponential, 1 worker, sync, seed 7: finished in an earlier start, kept"), "\(again.stdout)")
        #expect(!again.stdout.contains("run 2/4: exponential, 2 workers, sync, seed 7: finished in an earlier start"), "\(again.stdout)")
        let rows = Self.csvRows(try String(contentsOfFile: "\(dir)/out/results.csv", encoding: .utf8))
        #expect(rows.count == 5 && rows[1...].allSatisfy { $0[6] == "ok" }, "\(rows)")
        #expect(rows[1] == firstRows[1])
        let events = try String(contentsOfFile: "\(dir)/out/runs/\(rows[1][14].split(separator: "/").last!)/events.jsonl", encoding: .utf8)
        #expect(events == keptEvents)
        // Each run directory holds one run: the one started again has a single run_finished.
        let redone = try String(contentsOfFile: "\(dir)/out/runs/\(rows[2][14].split(separator: "/").last!)/events.jsonl", encoding: .utf8)
        #expect(redone.components(separatedBy: "run_finished").count == 2, "\(redone)")

        // Another experiment's directory is not mixed with this one.
        let other = "\(dir)/other.yaml"
        try "base: \(Paths.packageRoot.path)/Config/mnist-seed.yaml\nschedules: [{name: exponential, schedule: {type: constant, rate: 0.2}}]\nworkers: [1]\nsync: [sync]\nseeds: [7]\nepochs: 1\ntrain_limit: 1600\n"
            .write(toFile: other, atomically: true, encoding: .utf8)
        let mixed = try Child("mixed", ["experiment", other, "--data", sample, "-o", "\(dir)/out"], directory: dir)
        #expect(mixed.wait(seconds: 60) != 0)
        #expect(mixed.stderr.contains("holds another experiment's runs"), "\(mixed.stderr)")
    }

    /// A bad experiment file is refused with the key and what to do, before anything is written.
    @Test func experimentRefusesABadFileBeforeAnyRun() throws {
        let dir = try Paths.temporaryDirectory("experiment-bad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = "\(dir)/matrix.yaml"
        try "schedules: [{name: a}]\nworkers: [1, 2]\nsync: [bounded]\nseeds: [1]\n".write(toFile: file, atomically: true, encoding: .utf8)
        let experiment = try Child("experiment", ["experiment", file, "-o", "\(dir)/out"], directory: dir)
        #expect(experiment.wait() != 0)
        #expect(experiment.stderr.contains("key 'sync[0]': bounded needs its staleness bound K"), "\(experiment.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/out"))

        // --dry-run checks the file, writes the configs and lists the runs, and starts none.
        try "schedules: [{name: a}]\nworkers: [1, 2]\nsync: [sync, 'bounded:3']\nseeds: [1]\n".write(toFile: file, atomically: true, encoding: .utf8)
        let dry = try Child("dry", ["experiment", file, "-o", "\(dir)/dry", "--dry-run"], directory: dir)
        #expect(dry.wait() == 0, "\(dry.stderr)")
        #expect(dry.stdout.contains("run 4/4: a, 2 workers, bounded k=3, seed 1"), "\(dry.stdout)")
        let written = try FileManager.default.contentsOfDirectory(atPath: "\(dir)/dry/configs").sorted()
        #expect(written == ["1-a-w1-sync-s1.yaml", "2-a-w1-bounded3-s1.yaml", "3-a-w2-sync-s1.yaml", "4-a-w2-bounded3-s1.yaml"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(dir)/dry/runs").isEmpty)
        let bounded = try String(contentsOfFile: "\(dir)/dry/configs/4-a-w2-bounded3-s1.yaml", encoding: .utf8)
        #expect(bounded.contains("sync: bounded") && bounded.contains("staleness: 3"), "\(bounded)")

        // An output directory that already holds files is refused too.
        try "schedules: [{name: a}]\nworkers: [1]\nsync: [sync]\nseeds: [1]\n".write(toFile: file, atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: "\(dir)/full", withIntermediateDirectories: true)
        try "x".write(toFile: "\(dir)/full/old.txt", atomically: true, encoding: .utf8)
        let full = try Child("full", ["experiment", file, "-o", "\(dir)/full"], directory: dir)
        #expect(full.wait() != 0)
        #expect(full.stderr.contains("already holds files"), "\(full.stderr)")
    }
}
