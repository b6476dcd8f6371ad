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

    @Option(help: "Epochs of the reference config per run (long enough that the run outlasts its fault: about 15,700 steps).")
    var epochs: Int = 100

    @Option(help: "--silence-limit of the coordinator in the silent-worker case (seconds).")
    var silenceLimit: Double = 3

    @Flag(help: "Also run the soak: --worker-kills and --coordinator-kills SIGKILLs in one run, checked against a clean run.")
    var soak = false

    @Option(help: "Epochs of the soak run (long enough for every kill: 25 kills take about 20 s).")
    var soakEpochs: Int = 400

    @Option(help: "Worker SIGKILLs in the soak.")
    var workerKills: Int = 20

    @Option(help: "Coordinator SIGKILLs in the soak.")
    var coordinatorKills: Int = 5

    func validate() throws {
        guard (1...10_000).contains(epochs) else { throw ValidationError("--epochs must be between 1 and 10000 (got \(epochs))") }
        guard (1...10_000).contains(soakEpochs) else { throw ValidationError("--soak-epochs must be between 1 and 10000 (got \(soakEpochs))") }
        guard silenceLimit > 0 && silenceLimit <= 60 else { throw ValidationError("--silence-limit must be in (0, 60]") }
        guard (0...200).contains(workerKills), (0...50).contains(coordinatorKills) else {
            throw ValidationError("--worker-kills must be 0...200 and --coordinator-kills 0...50")
        }
    }

    func run() throws {
        let sample = data ?? ProcessInfo.processInfo.environment["DESCENT_MNIST_SAMPLE"] ?? "../shared/data/mnist-sample"
        let executable = try Launch.currentExecutable()
        let directory = try ScratchDirectory.make("bench-recovery")
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
        func launch(_ name: String, _ extra: [String], config: String = config) throws -> LaunchRun {
            try LaunchRun(executable: executable, directory: "\(directory)/\(name)",
                          arguments: ["launch", "--config", config, "--workers", "2", "--trace-dir", "\(directory)/\(name)/trace",
                                      "--save", "\(directory)/\(name)/final.bin"] + extra)
        }
        func lostToOneFault(_ name: String, _ extra: [String], signal: Int32 = SIGKILL) throws -> StepTimes {
            let run = try launch(name, extra)
            try run.afterTraining(seconds: 1) { try run.signal(role: "worker", signal) }
            _ = try run.finish(continueStopped: signal == SIGSTOP)
            return try run.stepTimes()
        }

        let local = try lostToOneFault("lost", ["--max-restarts", "1"])
        print(String(format: "local worker SIGKILL, shared memory: %.3f s lost to detection and re-dealing (median step %.3f ms)",
                     local.lost, local.medianStep * 1000))
        let tcpPort = 30_000 + Int(getpid()) % 20_000
        let tcp = try lostToOneFault("lost-tcp", ["--max-restarts", "1", "--no-shared-memory", "--bind", "tcp://127.0.0.1:\(tcpPort)"])
        print(String(format: "local worker SIGKILL, frames over TCP: %.3f s lost (median step %.3f ms)", tcp.lost, tcp.medianStep * 1000))
        let silent = try lostToOneFault("silent", ["--silence-limit", "\(silenceLimit)"], signal: SIGSTOP)
        print(String(format: "worker frozen (SIGSTOP: silent, as a lost remote host is): %.3f s lost with --silence-limit %.0f",
                     silent.lost, silenceLimit))

        let resumed = try launch("resume", ["--max-restarts", "1", "--checkpoint-every", "100"])
        var resumeLatency = 0.0
        try resumed.afterTraining(seconds: 1) {
            try resumed.signal(role: "coordinator", SIGKILL)
            let killed = Date()
            while !resumed.output.contains("training resumes at step") && resumed.isRunning && Date().timeIntervalSince(killed) < 120 {
                usleep(5_000)
            }
            resumeLatency = Date().timeIntervalSince(killed)
        }
        _ = try resumed.finish()
        let resumedSteps = try resumed.stepTimes()
        print(String(format: "coordinator SIGKILL: resumed from its checkpoint %.3f s after the kill (restart, load, workers rejoin); "
                     + "at most 100 steps (%.3f s at the median step) applied again from the checkpoint",
                     resumeLatency, 100 * resumedSteps.medianStep))
        print(String(format: "bench=recovery local_worker_lost_s=%.3f tcp_worker_lost_s=%.3f silent_worker_lost_s=%.3f silence_limit_s=%.1f coordinator_resume_s=%.3f",
                     local.lost, tcp.lost, silent.lost,
                     silenceLimit, resumeLatency))

        guard soak else { return }
        let soakConfig = directory + "/soak.yaml"
        try """
            data:
              dir: \(sample)
            training:
              epochs: \(soakEpochs)
              batch_size: 32
            """.write(toFile: soakConfig, atomically: true, encoding: .utf8)
        let soakClean = try launch("soak-clean", [], config: soakConfig)
        let soakCleanSeconds = try soakClean.finish()
        let chaos = try launch("soak", ["--max-restarts", "\(workerKills + coordinatorKills + 5)", "--checkpoint-every", "50"], config: soakConfig)
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
        let difference = try maxDifference("\(directory)/soak-clean/final.bin", "\(directory)/soak/final.bin")
        print(String(format: "soak: %d kills (%d workers, %d coordinators planned) in %.2f s (+%.2f s over the clean run); steps applied once each: %@; max parameter difference to the clean run %.2g",
                     kills, workerKills, coordinatorKills, chaosSeconds, chaosSeconds - soakCleanSeconds,
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
        throw ValidationError(process.isRunning ? "no running \(role) to signal after 30 s"
                              : "the run ended before its \(role) could be signalled: give a longer one (--epochs)")
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

    /// The run's step times from its coordinator trace (see `StepTimes`).
    func stepTimes() throws -> StepTimes {
        let text = try String(contentsOfFile: "\(directory)/trace/coordinator.jsonl", encoding: .utf8)
        return StepTimes(records: text.split(separator: "\n").compactMap { line -> (epoch: Int, timeMs: Double)? in
            guard let record = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let epoch = record["epoch"] as? Int, let time = record["time_ms"] as? Double else { return nil }
            return (epoch, time)
        })
    }
}

/// What one fault cost a run, from the intervals between its consecutive applied steps. An
/// interval that spans an epoch's end holds the test-set evaluation, so it is compared with the
/// other such intervals, and one within an epoch with the other steps: the time lost is the larger
/// excess of the longest over the median of its kind (a fault that lands during an evaluation
/// shows in the interval that spans it).
struct StepTimes {
    /// Seconds the fault cost.
    let lost: Double
    /// The median interval within an epoch (seconds).
    let medianStep: Double

    init(records: [(epoch: Int, timeMs: Double)]) {
        var within: [Double] = [], across: [Double] = []
        for (next, previous) in zip(records.dropFirst(), records) where next.timeMs >= previous.timeMs {
            let seconds = (next.timeMs - previous.timeMs) / 1000
            if next.epoch == previous.epoch { within.append(seconds) } else { across.append(seconds) }
        }
        func excess(_ intervals: [Double]) -> (excess: Double, median: Double) {
            let sorted = intervals.sorted()
            guard let longest = sorted.last else { return (0, 0) }
            return (longest - sorted[sorted.count / 2], sorted[sorted.count / 2])
        }
        let steps = excess(within), evaluations = excess(across)
        lost = max(steps.excess, evaluations.excess)
        medianStep = steps.median
    }
}
