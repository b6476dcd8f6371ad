import Foundation
import Testing

extension SystemTests {
    /// `descent schedule --format json` gives, per step, the float32 rate SGD applies and the
    /// schedule's float64 rate, both with 17 significant digits that read back exactly.
    /// Expected: torch ExponentialLR's closed form 0.1 * 0.999999^t in Python float64
    /// (DescentSchedulesTests/Fixtures/torch_float64.py).
    @Test func scheduleJSONGivesTheExactDoubleOfTheTorchStyleRate() throws {
        let dir = try Paths.temporaryDirectory("schedule-json")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = try writeConfig("""
            schedule: {type: exponential, style: torch, initial_rate: 0.1, decay_steps: 1, decay_rate: 0.999999}
            """, in: dir)
        let child = try Child("json", ["schedule", "--config", config, "--steps", "1000000:2500001:1500001", "--format", "json"], directory: dir)
        #expect(child.wait(seconds: 30) == 0, "\(child.stderr)")
        // 17 significant digits, as written.
        #expect(child.stdout.contains("\"exact_rate\": 0.036787925722106644"), "\(child.stdout)")
        // Valid JSON; the numbers are read back with Swift's correctly rounded Double(String)
        // (Foundation's JSONSerialization on Linux can land one ulp off).
        let document = try #require(try JSONSerialization.jsonObject(with: Data(child.stdout.utf8)) as? [String: Any])
        #expect((document["rates"] as? [Any])?.count == 2)
        func number(_ key: String, in line: Substring) -> Double? {
            guard let range = line.range(of: "\"\(key)\": ") else { return nil }
            return Double(line[range.upperBound...].prefix { $0 != "," && $0 != "}" })
        }
        let rows = child.stdout.split(separator: "\n").filter { $0.contains("\"step\":") }
        let expected: [(Int, Double)] = [(1_000_000, 0.036787925722106644), (2_500_001, 0.008208481392684921)]
        #expect(rows.count == expected.count)
        for (row, (step, exact)) in zip(rows, expected) {
            #expect(number("step", in: row) == Double(step), "\(row)")
            #expect(number("exact_rate", in: row) == exact, "\(row)")
            #expect(number("rate", in: row) == Double(Float(exact)), "\(row)")
        }
    }

    /// `--steps 0:100000000:1` streams: rows arrive while the command is still running, and its
    /// peak resident memory stays small (an array of 10^8 rows alone would take 2.4 GB).
    @Test func aHundredMillionStepRangeIsStreamedInConstantMemory() throws {
        let dir = try Paths.temporaryDirectory("schedule-stream")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = Paths.packageRoot.appendingPathComponent("Config/mnist-seed.yaml").path
        let child = try Child("stream", ["schedule", "--config", config, "--steps", "0:100000000:1", "--format", "csv"], directory: dir)
        defer { child.stop() }
        let deadline = Date().addingTimeInterval(60)
        var size = 0
        while Date() < deadline, child.process.isRunning {
            size = ((try? FileManager.default.attributesOfItem(atPath: child.outPath))?[.size] as? NSNumber)?.intValue ?? 0
            if size > 8 << 20 { break }
            usleep(50_000)
        }
        #expect(child.process.isRunning, "the command finished (or died) before writing 8 MB: \(child.stderr)")
        #expect(size > 8 << 20, "only \(size) bytes after 60 s")
        let status = (try? String(contentsOfFile: "/proc/\(child.process.processIdentifier)/status", encoding: .utf8)) ?? ""
        let peakLine = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }
        let peakKB = peakLine.flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true)[1]) }
        let peak = try #require(peakKB, "no VmHWM in /proc status")
        #expect(peak < 150 * 1024, "peak resident memory \(peak) kB while streaming")
        child.stop()
        let lines = child.stdout.prefix(200).split(separator: "\n")
        #expect(lines.first == "step,epoch,rate,exact_rate")
        #expect(lines.dropFirst().first == "0,0.000000,0.10000000149011612,0.10000000149011612")
    }

    /// `--losses FILE` replays reduce_on_plateau (torch ReduceLROnPlateau, mode min) epoch by epoch.
    @Test func scheduleLossesReplaysReduceOnPlateau() throws {
        let dir = try Paths.temporaryDirectory("schedule-losses")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = try writeConfig("""
            schedule: {type: reduce_on_plateau, initial_rate: 0.05, factor: 0.5, patience: 1, threshold: 0.0, cooldown: 0}
            """, in: dir)
        try "1.0\n0.9\n0.95\n0.97\n0.8\n# a comment\n\n0.85\n0.86\n".write(toFile: "\(dir)/losses.txt", atomically: true, encoding: .utf8)
        let child = try Child("losses", ["schedule", "--config", config, "--losses", "\(dir)/losses.txt", "--format", "csv"], directory: dir)
        #expect(child.wait(seconds: 30) == 0, "\(child.stderr)")
        // patience 1: a reduction after 2 bad epochs in a row. Losses 1.0, 0.9 (best), 0.95 (bad 1),
        // 0.97 (bad 2 -> 0.025), 0.8 (best), 0.85 (bad 1), 0.86 (bad 2 -> 0.0125).
        let rows = child.stdout.split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        let rates = rows.map { Double($0[3]) }                 // exact_rate during the epoch
        let next = rows.map { Double($0[7]) }                  // next_rate after its loss
        #expect(rates == [0.05, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025], "\(child.stdout)")
        #expect(next == [0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125], "\(child.stdout)")
        #expect(rows.map { String($0[8]) } == ["false", "false", "false", "true", "false", "false", "true"])
    }

    @Test(arguments: [
        ("1.0\nfast\n", "losses.txt line 2: 'fast' is not a number"),
        ("# nothing\n", "holds no losses"),
    ])
    func aBadLossesFileIsRefusedNamingTheLine(text: String, message: String) throws {
        let dir = try Paths.temporaryDirectory("schedule-badlosses")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = try writeConfig("schedule: {type: reduce_on_plateau, initial_rate: 0.05}\n", in: dir)
        try text.write(toFile: "\(dir)/losses.txt", atomically: true, encoding: .utf8)
        let child = try Child("badlosses", ["schedule", "--config", config, "--losses", "\(dir)/losses.txt"], directory: dir)
        #expect(child.wait(seconds: 30) != 0)
        #expect(child.stderr.contains(message), "\(child.stderr)")
    }

    /// A losses file that cannot be read says why in plain words, and an endless one is refused
    /// rather than read into memory.
    @Test(arguments: [
        ("/nonexistent/losses.txt", "cannot read --losses file /nonexistent/losses.txt: No such file or directory"),
        ("/dev/zero", "cannot read --losses file /dev/zero: is larger than"),
        ("/", "cannot read --losses file /: is a directory, not a file"),
    ])
    func anUnreadableLossesFileIsRefusedSayingWhy(path: String, message: String) throws {
        let dir = try Paths.temporaryDirectory("schedule-unreadable")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = try writeConfig("schedule: {type: reduce_on_plateau, initial_rate: 0.05}\n", in: dir)
        let child = try Child("unreadable", ["schedule", "--config", config, "--losses", path], directory: dir)
        #expect(child.wait(seconds: 30) != 0)
        #expect(child.stderr.contains(message), "\(child.stderr)")
    }

    @Test func lossesWithANonPlateauScheduleIsRefused() throws {
        let dir = try Paths.temporaryDirectory("schedule-notplateau")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "0.5\n".write(toFile: "\(dir)/losses.txt", atomically: true, encoding: .utf8)
        let config = Paths.packageRoot.appendingPathComponent("Config/mnist-seed.yaml").path
        let child = try Child("notplateau", ["schedule", "--config", config, "--losses", "\(dir)/losses.txt"], directory: dir)
        #expect(child.wait(seconds: 30) != 0)
        #expect(child.stderr.contains("--losses replays reduce_on_plateau"), "\(child.stderr)")
    }
}

extension SystemTests {
    /// A trace line carries the rate SGD applied (float32) and the schedule's float64 `exact_rate`.
    /// Expected: torch ExponentialLR(0.9) on 0.1, 0.1 * 0.9^t in Python float64.
    @Test func theTraceRecordsTheExactRateBesideTheAppliedOne() throws {
        let dir = try Paths.temporaryDirectory("trace-exact")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticMNIST.write(to: dir, train: 64, test: 10)
        let config = try writeConfig("""
            training: {epochs: 1, batch_size: 8}
            schedule: {type: exponential, style: torch, initial_rate: 0.1, decay_steps: 1, decay_rate: 0.9}
            """, in: dir)
        let child = try Child("train", ["train", "--config", config, "--data", dir, "--max-steps", "5", "--trace", "\(dir)/trace.jsonl"], directory: dir)
        #expect(child.wait(seconds: 60) == 0, "\(child.stderr)")
        let lines = try String(contentsOfFile: "\(dir)/trace.jsonl", encoding: .utf8).split(separator: "\n")
        func number(_ key: String, in line: Substring) -> Double? {
            guard let range = line.range(of: "\"\(key)\":") else { return nil }
            return Double(line[range.upperBound...].prefix { $0 != "," && $0 != "}" })
        }
        let expected = [0.1, 0.09000000000000001, 0.08100000000000002, 0.0729, 0.06561]
        #expect(lines.count == expected.count)
        for (line, exact) in zip(lines, expected) {
            #expect(number("exact_rate", in: line) == exact, "\(line)")
            #expect(number("rate", in: line).map { Float($0) } == Float(exact), "\(line)")
        }
    }
}

extension SystemTests {
    /// Steps up to Int.max print and plot without overflowing.
    @Test func stepsUpToIntMaxPrintAndPlot() throws {
        let dir = try Paths.temporaryDirectory("schedule-intmax")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = Paths.packageRoot.appendingPathComponent("Config/schedules/cyclic.yaml").path
        for range in ["9223372036854775806:9223372036854775807:1", "9223372036854775807:9223372036854775807"] {
            let child = try Child("intmax", ["schedule", "--config", config, "--steps", range, "--format", "csv", "--plot", "\(dir)/rates.svg"], directory: dir)
            #expect(child.wait(seconds: 30) == 0, "\(range): \(child.stderr)")
            #expect(child.stdout.contains("9223372036854775807,"), "\(child.stdout)")
            let svg = (try? String(contentsOfFile: "\(dir)/rates.svg", encoding: .utf8)) ?? ""
            #expect(svg.contains("</svg>") && !svg.contains("nan"), "\(range)")
        }
    }
}
