import DescentConfig
import DescentCore
import DescentData
import DescentTraining
import Foundation
import Testing

/// The processes `pid` started, with their command lines (from /proc).
func childProcesses(of pid: Int32) -> [(pid: Int32, arguments: [String])] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { entry -> (Int32, [String])? in
        guard let child = Int32(entry),
              let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 2, Int32(fields[1]) == pid, fields[0] != "Z",
              let raw = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return nil }
        return (child, raw.split(separator: 0).map { String(decoding: $0, as: UTF8.self) })
    }
}

extension SystemTests {
    static func referenceConfig(dataDir: String, epochs: Int) -> String {
        """
        data:
          dir: \(dataDir)
        training:
          epochs: \(epochs)
          batch_size: 32
        schedule:
          type: exponential
          initial_rate: 0.1
          decay_steps: 1000
          decay_rate: 0.96
          staircase: true
        """
    }

    /// ExponentialDecay(0.1, 1000, 0.96, staircase) written out in float32 as Keras computes it.
    static func referenceRate(_ step: Int) -> Float {
        Float(Double(Float(0.1)) * pow(Double(Float(0.96)), Double(step / 1000)))
    }

    @Test(.enabled(if: Paths.mnistSample != nil, "needs ../shared/data/mnist-sample"))
    func chaosKillsOfWorkersAndTheCoordinatorCostNoStep() throws {
        let sample = try #require(Paths.mnistSample)
        let dir = try Paths.temporaryDirectory("chaos")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Long enough that the run outlasts the kills: 100 epochs with a checkpoint every 50 steps
        // take about 13 s uninterrupted (debug build), the kills about 4 s plus the waits for
        // restarts (15 epochs once ended before them).
        let epochs = 100
        let config = try writeConfig(Self.referenceConfig(dataDir: sample, epochs: epochs), in: dir)
        let launch = try Child("launch", [
            "launch", "--config", config, "--workers", "2", "--max-restarts", "30", "--checkpoint-dir", "\(dir)/ckpt",
            "--checkpoint-every", "50", "--trace-dir", "\(dir)/trace", "--save", "\(dir)/chaos.bin",
        ], directory: dir)
        defer { launch.stop() }
        #expect(launch.waitFor("training starts", seconds: 60), "\(launch.stdout)")
        // A seeded schedule: 10 worker kills and 3 coordinator kills in a shuffled order, apart
        // by 0.15 to 0.45 s; each waits for its target to be running again.
        var generator = SeededGenerator(seed: 2026)
        var targets = Array(repeating: "worker", count: 10) + Array(repeating: "coordinator", count: 3)
        targets.shuffle(using: &generator)
        var kills: [String: Int] = [:]
        var checkpointAtLastCoordinatorKill = ""
        for target in targets {
            usleep(UInt32(150_000 + Int(generator.next() % 300_000)))
            let deadline = Date().addingTimeInterval(30)
            if target == "coordinator" {
                // Kill a coordinator only once it has written a newer checkpoint, so each kill tests a resume.
                while Date() < deadline && launch.process.isRunning
                        && (CheckpointStore(directory: "\(dir)/ckpt").files().first ?? "") <= checkpointAtLastCoordinatorKill {
                    usleep(50_000)
                }
                checkpointAtLastCoordinatorKill = CheckpointStore(directory: "\(dir)/ckpt").files().first ?? ""
            }
            var victim: Int32?
            while victim == nil && Date() < deadline && launch.process.isRunning {
                let candidates = childProcesses(of: launch.process.processIdentifier).filter { $0.arguments.dropFirst().first == target }
                if !candidates.isEmpty { victim = candidates[Int(generator.next() % UInt64(candidates.count))].pid } else { usleep(50_000) }
            }
            guard let victim, launch.process.isRunning else { break }
            kill(victim, SIGKILL)
            kills[target, default: 0] += 1
        }
        #expect(kills["worker"] == 10 && kills["coordinator"] == 3, "\(kills): the run ended before every kill")
        #expect(launch.wait(seconds: 900) == 0, "\(launch.stdout.suffix(4000))\n\(launch.stderr.suffix(2000))")
        let out = launch.stdout, log = launch.stdout + launch.stderr
        #expect(log.components(separatedBy: "killed by signal 9 (SIGKILL); restarting it").count - 1 == 13, "\(log.suffix(3000))")
        #expect(out.contains("training resumes at step"), "\(out.suffix(3000))")

        // Every step 0..N-1 applied exactly once, at the schedule's rate.
        let steps = epochs * 157
        let trace = try jsonLines("\(dir)/trace/coordinator.jsonl")
        let applied = trace.map { $0["step"] as! Int }
        #expect(applied.count == steps && applied == Array(0..<steps),
                "\(applied.count) records; first out of place at index \(Array(zip(applied, 0..<steps)).firstIndex { $0.0 != $0.1 } ?? -1)")
        for record in trace {
            let step = record["step"] as! Int
            #expect(Float(record["rate"] as! Double) == Self.referenceRate(step), "step \(step)")
        }
        // Exactly the model those steps make, each computed by the ranks the trace names. (Not
        // "the model of a run without kills": a share computed by the other rank rounds
        // differently, on this config that tips a ReLU at step 674, and the models end 0.0065 apart.)
        let replay = SyncReplay(config: try RunConfig.load(path: config), slots: 2)
        let (expected, firstLossMismatch) = try replay.run(train: MNIST.load(directory: sample).train,
                                                           steps: SyncReplay.steps(fromTrace: trace))
        let chaosParameters = try readParameters("\(dir)/chaos.bin")
        let differing = zip(expected, chaosParameters).filter { $0.bitPattern != $1.bitPattern }.count
        #expect(chaosParameters.count == expected.count && differing == 0,
                "\(differing) of \(expected.count) parameters differ from the replay; the losses first differ at step \(firstLossMismatch.map(String.init) ?? "none")")
        #expect(firstLossMismatch == nil, "the replay's loss first differs from the trace's at step \(firstLossMismatch ?? -1)")
    }

    @Test(.enabled(if: Paths.mnistSample != nil, "needs ../shared/data/mnist-sample"))
    func aRunStoppedBySIGTERMAndResumedEndsBitIdentical() throws {
        let sample = try #require(Paths.mnistSample)
        let dir = try Paths.temporaryDirectory("resume")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // 10 epochs, stopped at the start of the second: 1,400 steps and 9 test-set evaluations
        // after the signal is sent (with 3 the run could end before it arrived).
        let config = try writeConfig(Self.referenceConfig(dataDir: sample, epochs: 10), in: dir)
        for (name, command) in [("train", ["train"]), ("launch", ["launch", "--workers", "2"])] {
            let whole = try Child("\(name)-whole", command + ["--config", config, "--save", "\(dir)/\(name)-whole.bin"], directory: dir)
            #expect(whole.wait(seconds: 300) == 0, "\(whole.stderr)")
            let first = try Child("\(name)-first", command + ["--config", config, "--checkpoint-dir", "\(dir)/\(name)-ckpt"], directory: dir)
            #expect(first.waitFor("Epoch 02:", seconds: 120), "\(first.stdout)")
            kill(first.process.processIdentifier, SIGTERM)
            #expect(first.wait(seconds: 60) != 0)
            #expect((first.stdout + first.stderr).contains("saved a checkpoint of step"), "\(first.stderr)")
            let second = try Child("\(name)-second", command + ["--config", config, "--resume", "\(dir)/\(name)-ckpt",
                                                                 "--save", "\(dir)/\(name)-resumed.bin"], directory: dir)
            #expect(second.wait(seconds: 300) == 0, "\(second.stderr)")
            #expect(second.stdout.contains("Resuming"), "\(second.stdout)")
            let whole1 = try readParameters("\(dir)/\(name)-whole.bin"), resumed = try readParameters("\(dir)/\(name)-resumed.bin")
            #expect(whole1.map(\.bitPattern) == resumed.map(\.bitPattern), "\(name): resumed parameters differ")
        }
    }
}

extension SystemTests {
    /// `--max-steps` given with `--resume` says where the resumed run ends: further than the
    /// checkpoint's run (the result is an uninterrupted run of that length, bit for bit), or
    /// refused when the checkpoint is already past it. Without it the run ends where it was to.
    @Test(.enabled(if: Paths.mnistSample != nil, "needs ../shared/data/mnist-sample"))
    func maxStepsOnResumeSetsWhereTheResumedRunEnds() throws {
        let sample = try #require(Paths.mnistSample)
        let dir = try Paths.temporaryDirectory("resume-max-steps")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = try writeConfig(Self.referenceConfig(dataDir: sample, epochs: 3), in: dir)
        func run(_ name: String, _ arguments: [String]) throws -> (exitCode: Int32, stdout: String, stderr: String) {
            let child = try Child(name, arguments + ["--config", config, "--progress", "never"], directory: dir)
            let status = child.wait(seconds: 300)
            return (status, child.stdout, child.stderr)
        }
        let first = try run("first", ["train", "--max-steps", "200", "--checkpoint-dir", "\(dir)/ckpt", "--checkpoint-every", "100",
                                      "--save", "\(dir)/whole-200.bin"])
        #expect(first.exitCode == 0, "\(first.stderr)")
        let whole = try run("whole", ["train", "--max-steps", "300", "--save", "\(dir)/whole-300.bin"])
        #expect(whole.exitCode == 0, "\(whole.stderr)")
        let expected300 = try readParameters("\(dir)/whole-300.bin").map(\.bitPattern)
        for (name, command) in [("train", ["train"]), ("launch", ["launch", "--workers", "2"])] {
            let longer = try run("\(name)-longer", command + ["--max-steps", "300", "--resume", "\(dir)/ckpt", "--save", "\(dir)/\(name)-300.bin"])
            #expect(longer.exitCode == 0, "\(longer.stderr)")
            #expect(longer.stdout.contains("--max-steps: the resumed run ends at step 300 (the checkpoint's run was to end at step 200)"), "\(longer.stdout)")
            // The last checkpoint is of step 100 (none is written at a run's end): this process
            // trained the run's steps 100 to 300, and says so.
            #expect(longer.stdout.contains("Trained 200 steps in"), "\(longer.stdout)")
            #expect(longer.stdout.contains("(resumed at step 100; the run is at step 300)"), "\(longer.stdout)")
            if name == "train" {  // one process: the same bits as the uninterrupted 300 steps
                #expect(try readParameters("\(dir)/train-300.bin").map(\.bitPattern) == expected300)
            }
        }
        let unchanged = try run("unchanged", ["train", "--resume", "\(dir)/ckpt", "--save", "\(dir)/resumed-200.bin"])
        #expect(unchanged.exitCode == 0, "\(unchanged.stderr)")
        #expect(unchanged.stdout.contains("Trained 100 steps in"), "\(unchanged.stdout)")
        #expect(unchanged.stdout.contains("(resumed at step 100; the run is at step 200)"), "\(unchanged.stdout)")
        #expect(try readParameters("\(dir)/resumed-200.bin").map(\.bitPattern) == readParameters("\(dir)/whole-200.bin").map(\.bitPattern))
        let past = try run("past", ["train", "--max-steps", "50", "--resume", "\(dir)/ckpt"])
        #expect(past.exitCode != 0)
        #expect(past.stderr.contains("holds step 100, past --max-steps 50; give a larger --max-steps, or none to end where that run was to end (step 200)"),
                "\(past.stderr)")
    }
}
