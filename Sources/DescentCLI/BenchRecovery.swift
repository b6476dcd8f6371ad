import ArgumentParser
import DescentCore
import DescentTraining
import Foundation

/// `descent bench recovery`: what a fault costs in training time, measured on real processes:
/// a local worker SIGKILLed (noticed through its pid), a worker frozen with SIGSTOP (noticed only
/// by silence, as a worker on another host is), a coordinator SIGKILLed and resumed from its
/// checkpoint by `launch --max-restarts`; with `--soak`, many kills of both in one run, checked
/// against a clean run.
struct BenchRecovery: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recovery",
        abstract: "Training time lost to a lost worker, a silent worker and a killed coordinator (and a chaos soak).")

    @Option(help: "MNIST directory (default: $DESCENT_MNIST_SAMPLE, else ../shared/data/mnist-sample).")
    var data: String?

    @Option(help: "Epochs of the reference config per run.")
    var epochs: Int = 10

    @Option(help: "--silence-limit of the coordinator in the silent-worker case (seconds).")
    var silenceLimit: Double = 3

    @Flag(help: "Also run the soak: --worker-kills and --coordinator-kills SIGKILLs in one run, checked against a clean run.")
    var soak = false

    @Option(help: "Worker SIGKILLs in the soak.")
    var workerKills: Int = 20

    @Option(help: "Coordinator SIGKILLs in the soak.")
    var coordinatorKills: Int = 5

    func validate() throws {
        guard (1...100).contains(epochs) else { throw ValidationError("--epochs must be between 1 and 100") }
        guard silenceLimit > 0 && silenceLimit <= 60 else { throw ValidationError("--silence-limit must be in (0, 60]") }
        guard (0...200).contains(workerKills), (0...50).contains(coordinatorKills) else {
            throw ValidationError("--worker-kills must be 0...200 and --coordinator-kills 0...50")
        }
    }

    func run() throws {
        let sample = data ?? ProcessInfo.processInfo.environment["DESCENT_MNIST_SAMPLE"] ?? "../shared/data/mnist-sample"
        let executable = try Launch.currentExecutable()
        let directory = NSTemporaryDirectory() + "descent-bench-recovery-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = directory + "/reference.yaml"
        try """
            data:
              dir: \(sample)
            training:
              epochs: \(epochs)
              batch_size: 32
            """.write(toFile: config, atomically: true, encoding: .utf8)
        print("descent bench recovery: reference config, \(epochs) epochs of \(sample), 2 workers, debug/release as built")
        func launch(_ name: String, _ extra: [String]) throws -> LaunchRun {
            try LaunchRun(executable: executable, directory: "\(directory)/\(name)",
                          arguments: ["launch", "--config", config, "--workers", "2", "--trace-dir", "\(directory)/\(name)/trace",
                                      "--save", "\(directory)/\(name)/final.bin"] + extra)
        }

        let clean = try launch("clean", [])
        let cleanSeconds = try clean.finish()
        let cleanGap = try clean.stepGaps()
        print(String(format: "clean run: %.2f s, median step %.3f ms", cleanSeconds, cleanGap.median * 1000))

        let lost = try launch("lost", ["--max-restarts", "1"])
        try lost.afterTraining(seconds: 2) { try lost.signal(role: "worker", SIGKILL) }
        let lostSeconds = try lost.finish()
        let lostGap = try lost.stepGaps()
        print(String(format: "local worker SIGKILL: longest step %.3f s (%.3f s lost to detection and re-dealing); run %.2f s (+%.2f s)",
                     lostGap.longest, lostGap.longest - lostGap.median, lostSeconds, lostSeconds - cleanSeconds))

        let silent = try launch("silent", ["--silence-limit", "\(silenceLimit)"])
        try silent.afterTraining(seconds: 2) { try silent.signal(role: "worker", SIGSTOP) }
        let silentSeconds = try silent.finish(continueStopped: true)
        let silentGap = try silent.stepGaps()
        print(String(format: "worker frozen (SIGSTOP, as a lost remote host): longest step %.3f s with --silence-limit %.0f; run %.2f s (+%.2f s)",
                     silentGap.longest, silenceLimit, silentSeconds, silentSeconds - cleanSeconds))

        let resumed = try launch("resume", ["--max-restarts", "1", "--checkpoint-every", "100"])
        try resumed.afterTraining(seconds: 2) { try resumed.signal(role: "coordinator", SIGKILL) }
        let resumedSeconds = try resumed.finish()
        print(String(format: "coordinator SIGKILL, resumed from its checkpoint (every 100 steps): run %.2f s (+%.2f s over the clean run)",
                     resumedSeconds, resumedSeconds - cleanSeconds))
        print(String(format: "bench=recovery clean_s=%.2f local_worker_lost_s=%.3f silent_worker_lost_s=%.3f silence_limit_s=%.1f coordinator_resume_overhead_s=%.2f",
                     cleanSeconds, lostGap.longest - lostGap.median, silentGap.longest - silentGap.median, silenceLimit, resumedSeconds - cleanSeconds))

        guard soak else { return }
        let chaos = try launch("soak", ["--max-restarts", "\(workerKills + coordinatorKills + 5)", "--checkpoint-every", "50"])
        var generator = SeededGenerator(seed: 5)
        var targets = Array(repeating: "worker", count: workerKills) + Array(repeating: "coordinator", count: coordinatorKills)
        targets.shuffle(using: &generator)
        var kills = 0
        try chaos.afterTraining(seconds: 0.5) {
            for target in targets where chaos.isRunning {
                usleep(UInt32(300_000 + Int(generator.next() % 700_000)))
                if (try? chaos.signal(role: target, SIGKILL)) != nil { kills += 1 }
            }
        }
        let chaosSeconds = try chaos.finish()
        let steps = try chaos.appliedSteps()
        let difference = try maxDifference("\(directory)/clean/final.bin", "\(directory)/soak/final.bin")
        print(String(format: "soak: %d kills (%d workers, %d coordinators planned) in %.2f s (+%.2f s over the clean run); steps applied once each: %@; max parameter difference to the clean run %.2g",
                     kills, workerKills, coordinatorKills, chaosSeconds, chaosSeconds - cleanSeconds,
                     steps == Array(0..<steps.count) ? "yes (\(steps.count))" : "NO", difference))
    }

    private func maxDifference(_ a: String, _ b: String) throws -> Double {
        let x = try ParameterFile.read(from: a), y = try ParameterFile.read(from: b)
        guard x.count == y.count else { return .infinity }
        return zip(x, y).map { Double(abs($0 - $1)) }.max() ?? .infinity
    }
}

/// One `descent launch` for the recovery bench: its output in files, its children found in /proc.
final class LaunchRun {
    let process = Process()
    let directory: String
    let started = Date()

    init(executable: String, directory: String, arguments: [String]) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: "\(directory)/out", contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle(forWritingAtPath: "\(directory)/out")
        process.standardError = FileHandle(forWritingAtPath: "\(directory)/out")
        try process.run()
    }

    var isRunning: Bool { process.isRunning }
    var output: String { (try? String(contentsOfFile: "\(directory)/out", encoding: .utf8)) ?? "" }

    /// Runs `body` `seconds` after training started.
    func afterTraining(seconds: Double, _ body: () throws -> Void) throws {
        let deadline = Date().addingTimeInterval(120)
        while !output.contains("training starts") && process.isRunning && Date() < deadline { usleep(20_000) }
        usleep(UInt32(seconds * 1_000_000))
        try body()
    }

    /// Sends `signal` to one running child of this launch in `role` (worker or coordinator).
    func signal(role: String, _ signal: Int32) throws {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline && process.isRunning {
            if let pid = children(role: role).last { kill(pid, signal); return }
            usleep(50_000)
        }
        throw ValidationError("no running \(role) to signal")
    }

    private func children(role: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry in
            guard let pid = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 2, Int32(fields[1]) == process.processIdentifier, fields[0] != "Z",
                  let raw = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return nil }
            return raw.split(separator: 0).dropFirst().first.map { String(decoding: $0, as: UTF8.self) } == role ? pid : nil
        }.sorted()
    }

    /// Waits for the launch to end; its wall time. `continueStopped`: resume SIGSTOPped children first when it hangs.
    func finish(continueStopped: Bool = false) throws -> Double {
        let deadline = Date().addingTimeInterval(900)
        while process.isRunning && Date() < deadline {
            usleep(50_000)
            if continueStopped, output.contains("Worker stopping: training finished") || output.contains("Test loss:") {
                for pid in children(role: "worker") { kill(pid, SIGCONT) }
            }
        }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            throw ValidationError("the launch in \(directory) did not finish in 900 s")
        }
        let seconds = Date().timeIntervalSince(started)
        guard process.terminationStatus == 0 || continueStopped else {
            throw ValidationError("the launch in \(directory) failed:\n\(output.suffix(3000))")
        }
        return seconds
    }

    func appliedSteps() throws -> [Int] {
        let text = try String(contentsOfFile: "\(directory)/trace/coordinator.jsonl", encoding: .utf8)
        return text.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["step"] as? Int
        }
    }

    /// The longest and the median interval between consecutive applied steps (seconds).
    func stepGaps() throws -> (longest: Double, median: Double) {
        let text = try String(contentsOfFile: "\(directory)/trace/coordinator.jsonl", encoding: .utf8)
        let times = text.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["time_ms"] as? Double
        }
        let gaps = zip(times.dropFirst(), times).map { ($0 - $1) / 1000 }.filter { $0 >= 0 }.sorted()
        guard !gaps.isEmpty else { return (0, 0) }
        return (gaps.last!, gaps[gaps.count / 2])
    }
}
