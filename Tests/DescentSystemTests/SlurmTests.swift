import Foundation
import Testing

/// A real one-node Slurm cluster (munged, slurmctld and slurmd from Debian's packages, started by
/// Deploy/slurm/one-node-cluster.sh with a generated slurm.conf, ports and paths of its own, over
/// 127.0.0.1), to which Deploy/slurm/descent.sbatch is submitted with the real sbatch; srun starts
/// the coordinator and two workers on the real MNIST sample.
final class SlurmCluster {
    let directory: String
    let environment: [String: String]

    /// Why a cluster cannot be started here, or nil when it can be tried.
    static var unavailableReason: String? {
        if getuid() != 0 { return "needs root to start munged, slurmctld and slurmd" }
        for tool in ["munged", "slurmctld", "slurmd", "sbatch", "srun", "scontrol"] where !Command.exists(tool) {
            return "\(tool) is not installed (Debian's slurm-wlm and munge packages; .ci/run installs them)"
        }
        if Paths.mnistSample == nil { return "the MNIST sample is not in ../shared/data/mnist-sample" }
        return nil
    }

    static let script = Paths.packageRoot.appendingPathComponent("Deploy/slurm/one-node-cluster.sh").path

    init() throws {
        directory = try Paths.temporaryDirectory("slurm")
        let base = 30_000 + Int(UInt16.random(in: 0..<10_000)) * 2
        let start = try Command.run(["bash", Self.script, "start", "\(directory)/cluster", "\(base)", "\(base + 1)"])
        guard start.status == 0 else {
            try? FileManager.default.removeItem(atPath: directory)
            throw SlurmUnavailable(reason: "the one-node cluster did not start: \(start.output)")
        }
        var environment = ProcessInfo.processInfo.environment
        environment["SLURM_CONF"] = "\(directory)/cluster/slurm.conf"
        environment["PATH"] = (environment["PATH"] ?? "/usr/bin:/bin") + ":/usr/sbin:/sbin"
        environment["DESCENT"] = Paths.descent
        environment["DESCENT_DATA"] = Paths.mnistSample
        // Workers reach the coordinator by its node's name; where this machine's own name does
        // not resolve, by the address slurm.conf gives the node.
        let name = (try? Command.run(["hostname", "-s"]).output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? ""
        if (try? Command.run(["getent", "hosts", name]).status) != 0 { environment["DESCENT_COORDINATOR_ADDRESS"] = "127.0.0.1" }
        self.environment = environment
    }

    func stop() {
        _ = try? Command.run(["scancel", "--user=root"], environment: environment)
        _ = try? Command.run(["bash", Self.script, "stop", "\(directory)/cluster"])
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Submits the batch script; returns the job id.
    func submit(_ arguments: [String], sbatchOptions: [String] = []) throws -> String {
        let script = Paths.packageRoot.appendingPathComponent("Deploy/slurm/descent.sbatch").path
        let result = try Command.run(["sbatch", "--parsable", "--ntasks=3", "--output=\(directory)/job-%j.out"] + sbatchOptions
                                     + [script] + arguments, environment: environment, directory: directory)
        guard result.status == 0 else { throw SlurmUnavailable(reason: "sbatch failed: \(result.output)") }
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ";")[0].description
    }

    func scontrol(_ arguments: [String]) throws -> String { try Command.run(["scontrol"] + arguments, environment: environment).output }

    /// The job's state (COMPLETED, FAILED, PENDING, ...) and exit code field.
    func state(of job: String) throws -> (state: String, exitCode: String) {
        let text = try scontrol(["show", "job", job])
        func field(_ name: String) -> String {
            guard let range = text.range(of: name + "=") else { return "" }
            return String(text[range.upperBound...].prefix { !$0.isWhitespace })
        }
        return (field("JobState"), field("ExitCode"))
    }

    /// Waits until the job has ended (or the deadline); returns its last state.
    func waitForEnd(of job: String, seconds: Double = 180) throws -> (state: String, exitCode: String) {
        let deadline = Date().addingTimeInterval(seconds)
        var last = try state(of: job)
        while Date() < deadline {
            last = try state(of: job)
            if ["COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY"].contains(last.state) { return last }
            usleep(300_000)
        }
        return last
    }

    /// A requeued job waits about two minutes before it may start again; once it is pending, let
    /// it start now.
    func startNowWhenRequeued(_ job: String) throws {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, try state(of: job).state != "PENDING" { usleep(200_000) }
        _ = try scontrol(["update", "jobid=\(job)", "StartTime=now"])
    }

    func output(of job: String) -> String { (try? String(contentsOfFile: "\(directory)/job-\(job).out", encoding: .utf8)) ?? "" }

    /// Waits until the job's output contains `text`.
    func waitFor(_ text: String, in job: String, seconds: Double = 60) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if output(of: job).contains(text) { return true }
            usleep(200_000)
        }
        return false
    }

    func trace(of job: String) throws -> [[String: Any]] { try jsonLines("\(directory)/runs/slurm-\(job)/trace.jsonl") }
}

struct SlurmUnavailable: Error, CustomStringConvertible {
    var reason: String
    var description: String { reason }
}

/// The run's closing line, `Test loss: L - test accuracy: A`, as numbers.
func finalTestAccuracy(in output: String) -> Double? {
    guard let line = output.split(separator: "\n").last(where: { $0.hasPrefix("Test loss:") }),
          let range = line.range(of: "test accuracy: ") else { return nil }
    return Double(line[range.upperBound...].prefix { !$0.isWhitespace })
}

extension SystemTests {
    @Test(.enabled(if: SlurmCluster.unavailableReason == nil,
                   "Slurm test skipped: \(SlurmCluster.unavailableReason ?? "")"))
    func slurmBatchScriptTrainsStopsOnItsSignalAndRestartsWhenRequeued() throws {
        let cluster: SlurmCluster
        do { cluster = try SlurmCluster() } catch {
            print("Slurm test skipped: \(error)")
            return
        }
        defer { cluster.stop() }
        let config = try writeConfig("training:\n  epochs: 1\n  batch_per_worker: 16\n", in: cluster.directory)

        // 1. A whole run: 5,000 samples, global batch 32 (2 workers x 16): 157 steps, every step once.
        let job = try cluster.submit([config])
        let end = try cluster.waitForEnd(of: job)
        let out = cluster.output(of: job)
        #expect(end.state == "COMPLETED" && end.exitCode == "0:0", "\(end)\n\(out)")
        #expect(out.contains("descent.sbatch: job \(job) (start 1): coordinator on"), "\(out)")
        #expect(out.contains("All 2 workers registered; training starts"), "\(out)")
        // Workers' lines carry their rank (srun --label), both ranks joined.
        #expect(out.contains("0: Worker rank 0 of 2 joined") && out.contains("1: Worker rank 1 of 2 joined"), "\(out)")
        #expect(out.contains("descent.sbatch: finished after step 156 (coordinator exit 0, workers exit 0)"), "\(out)")
        #expect(try cluster.trace(of: job).map { $0["step"] as? Int } == Array(0..<157))
        // The same training in one process with the same global batch (2 x 16; distributed runs
        // equal it) gives the same accuracy.
        let single = try writeConfig("training:\n  epochs: 1\n  batch_size: 32\n", in: cluster.directory, name: "single.yaml")
        let reference = try Command.run([Paths.descent, "train", "--config", single, "--data", Paths.mnistSample!, "--threads", "1"],
                                        directory: cluster.directory)
        let expected = try #require(finalTestAccuracy(in: reference.output), "\(reference.output)")
        let accuracy = try #require(finalTestAccuracy(in: out), "no accuracy line in:\n\(out)")
        #expect(abs(accuracy - expected) <= 0.002, "Slurm run \(accuracy), one process \(expected)")
        #expect(accuracy > 0.7)

        // The script checkpoints and resumes when the binary can (issue 5's flags).
        let help = try Command.run([Paths.descent, "coordinator", "--help"]).output
        let checkpoints = help.contains("--checkpoint-dir") && help.contains("--auto-resume")
        print("Slurm test: this descent \(checkpoints ? "checkpoints and resumes" : "has no checkpoints: stops and restarts from step 0")")

        // 2. The time-limit signal (SIGUSR1 to the batch script, as --signal=B:USR1@120 sends it):
        //    the coordinator stops after its step (checkpointing when it can), every process ends.
        let longConfig = try writeConfig("training:\n  epochs: 200\n  batch_per_worker: 16\n", in: cluster.directory, name: "long.yaml")
        // 3,000 steps, each order held 1 ms by the coordinator (`--fault delay:ms=1`): over 3 s
        // however fast the steps are, so the signal lands mid-run.
        let stopped = try cluster.submit([longConfig, "--max-steps", "3000", "--fault", "delay:ms=1"])
        #expect(cluster.waitFor("training starts", in: stopped), "\(cluster.output(of: stopped))")
        #expect(cluster.waitFor("  1/157 steps", in: stopped, seconds: 30), "\(cluster.output(of: stopped))")
        let signal = try Command.run(["scancel", "--signal=USR1", "--batch", stopped], environment: cluster.environment)
        #expect(signal.status == 0, "\(signal.output)")
        if checkpoints {
            // Stopped, checkpointed, requeued by the script; the second start resumes and finishes.
            #expect(cluster.waitFor("descent.sbatch: requeueing job \(stopped)", in: stopped, seconds: 60), "\(cluster.output(of: stopped))")
            try cluster.startNowWhenRequeued(stopped)
            let end = try cluster.waitForEnd(of: stopped, seconds: 180)
            let out = cluster.output(of: stopped)
            #expect(end.state == "COMPLETED", "\(end)\n\(out)")
            #expect(out.contains("descent.sbatch: SIGUSR1 received: stopping the run"), "\(out)")
            #expect(out.contains("descent.sbatch: job \(stopped) (start 2)") && out.contains("training resumes at step"), "\(out)")
            // Every step once across the two starts, and the same model as one uninterrupted process.
            #expect(try cluster.trace(of: stopped).map { $0["step"] as? Int } == Array(0..<3000))
            let single = try writeConfig("training:\n  epochs: 200\n  batch_size: 32\n", in: cluster.directory, name: "long-single.yaml")
            let reference = try Command.run([Paths.descent, "train", "--config", single, "--data", Paths.mnistSample!, "--threads", "1",
                                             "--max-steps", "3000"], directory: cluster.directory)
            let referenceAccuracy = try #require(finalTestAccuracy(in: reference.output), "\(reference.output)")
            let resumedAccuracy = try #require(finalTestAccuracy(in: out), "\(out)")
            #expect(abs(resumedAccuracy - referenceAccuracy) <= 0.002, "resumed \(resumedAccuracy), one process \(referenceAccuracy)")
        } else {
            let end = try cluster.waitForEnd(of: stopped, seconds: 60)
            let out = cluster.output(of: stopped)
            #expect(out.contains("descent.sbatch: SIGUSR1 received: stopping the run"), "\(out)")
            #expect(out.contains("Worker stopping: the coordinator stopped: interrupted"), "\(out)")
            #expect(out.contains("every process has ended"), "\(out)")
            // Without checkpoints the script says so and exits 143 (not requeued).
            #expect(end.exitCode == "143:0", "\(end)\n\(out)")
            let steps = try cluster.trace(of: stopped).compactMap { $0["step"] as? Int }
            #expect(!steps.isEmpty && steps.count < 3000 && steps == Array(0..<steps.count))
            #expect(out.contains("stopped on SIGUSR1 after step \(steps.last ?? -1);"), "\(out)")
        }

        // 3. Requeue (what pre-emption with PreemptMode=REQUEUE does): Slurm sends SIGTERM, the run
        //    stops, and the job starts again: from its checkpoint, or else from step 0, saying so.
        //    A run of 3,000 steps held 1 ms each, as above (the 157 steps of one epoch took 0.3 s,
        //    done before the requeue reached them).
        let requeueSteps = 3000
        let requeued = try cluster.submit([longConfig, "--max-steps", "\(requeueSteps)", "--fault", "delay:ms=1"])
        #expect(cluster.waitFor("  1/157 steps", in: requeued, seconds: 60), "\(cluster.output(of: requeued))")
        let requeue = try Command.run(["scontrol", "requeue", requeued], environment: cluster.environment)
        #expect(requeue.status == 0, "\(requeue.output)")
        try cluster.startNowWhenRequeued(requeued)
        let requeuedEnd = try cluster.waitForEnd(of: requeued, seconds: 120)
        let requeuedOut = cluster.output(of: requeued)
        #expect(requeuedEnd.state == "COMPLETED", "\(requeuedEnd)\n\(requeuedOut)")
        #expect(requeuedOut.contains("descent.sbatch: SIGTERM received: stopping the run"), "\(requeuedOut)")
        #expect(requeuedOut.contains("descent.sbatch: job \(requeued) (start 2)"), "\(requeuedOut)")
        #expect(requeuedOut.contains(checkpoints ? "training resumes at step" : "restarted by Slurm: the run starts again from step 0"),
                "\(requeuedOut)")
        #expect(try cluster.trace(of: requeued).map { $0["step"] as? Int } == Array(0..<requeueSteps))
        let requeueSingle = try writeConfig("training:\n  epochs: 200\n  batch_size: 32\n", in: cluster.directory, name: "requeue-single.yaml")
        let requeueReference = try Command.run([Paths.descent, "train", "--config", requeueSingle, "--data", Paths.mnistSample!, "--threads", "1",
                                                "--max-steps", "\(requeueSteps)"], directory: cluster.directory)
        let requeueExpected = try #require(finalTestAccuracy(in: requeueReference.output), "\(requeueReference.output)")
        let requeuedAccuracy = try #require(finalTestAccuracy(in: requeuedOut), "\(requeuedOut)")
        #expect(abs(requeuedAccuracy - requeueExpected) <= 0.002, "requeued \(requeuedAccuracy), one process \(requeueExpected)")
    }
}
