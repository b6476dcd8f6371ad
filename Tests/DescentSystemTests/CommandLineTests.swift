import Foundation
import Testing

extension SystemTests {
    /// Bad command lines are refused before anything runs, with a message that names the option.
    @Test(arguments: [
        (["coordinator", "--workers", "0"], "--workers must be 1 or more (got 0)"),
        (["coordinator", "--workers", "2", "--bind", "localhost:5555"], "--bind 'localhost:5555' is not a ZeroMQ endpoint"),
        (["worker", "--connect", "10.0.0.1:5555"], "--connect '10.0.0.1:5555' is not a ZeroMQ endpoint"),
        (["launch", "--workers", "0"], "--workers must be between 1 and 64 (got 0)"),
        (["launch", "--workers", "65"], "--workers must be between 1 and 64 (got 65)"),
        (["coordinator", "--workers", "2", "--max-workers", "65"], "--max-workers must be between --workers (2) and 64 (got 65)"),
        (["train", "--max-steps", "0"], "--max-steps must be 1 or more (got 0)"),
        (["train", "--backend", "cuda"], "'cuda' is not a compute backend; use one of openblas, onednn"),
        (["worker", "--connect", "tcp://127.0.0.1:1", "--backend", "mkl"], "'mkl' is not a compute backend"),
        (["coordinator", "--workers", "1", "--wire-encoding", "fp8"], "'fp8' is not a wire encoding; use one of float32, bf16"),
        (["bench", "compute", "--batch", "32,x"], "'x' is not a batch size"),
        (["bench", "distributed", "--workers", "2,0"], "'0' is not a worker count; give comma-separated integers in 1...64"),
        (["bench", "distributed", "--workers", "65"], "'65' is not a worker count"),
        (["bench", "distributed", "--observer-rounds", "-3"], "--observer-rounds must be between 0 and 1000 (got -3)"),
        (["bench", "distributed", "--observer-rounds", "9223372036854775807"], "--observer-rounds must be between 0 and 1000"),
        (["bench", "distributed", "--repeat", "9223372036854775807"], "--repeat must be between 1 and 1000000"),
        (["bench", "distributed", "--steps", "9223372036854775807"], "--steps must be between 50 and 100000000"),
        (["bench", "distributed", "--steps", "49"], "--steps must be between 50 and 100000000 (got 49)"),
        (["bench", "distributed", "--min-steps", "9223372036854775807"], "--min-steps must be between 1 and 100000000"),
        (["bench", "distributed", "--min-steps=-3"], "--min-steps must be between 1 and 100000000 (got -3)"),
        (["bench", "distributed", "--epochs", "0"], "--epochs must be between 1 and 1000000 (got 0)"),
        (["bench", "distributed", "--baseline-rounds", "0"], "--baseline-rounds must be between 1 and 100 (got 0)"),
        (["bench", "distributed", "--baseline-rounds", "101"], "--baseline-rounds must be between 1 and 100 (got 101)"),
        (["bench", "distributed", "--baseline-rounds", "3", "--no-baselines"], "--no-baselines measures no such baseline"),
        (["bench", "distributed", "--baseline-rounds", "3", "--workers", "1"], "--workers 1 measures no such baseline"),
        (["train", "--config", "/nonexistent/run.yaml"], "cannot read config file '/nonexistent/run.yaml'"),
        (["coordinator", "--workers", "2", "--local-worker-trace", "t.jsonl"], "--local-worker-trace needs --local-worker"),
        (["coordinator", "--workers", "2", "--cpu", "-1"], "--cpu must be between 0 and 1023 (got -1)"),
        (["launch", "--workers", "2", "--local-worker", "--worker-fault", "0=exit:step=3"], "rank 0 is the coordinator's own worker with --local-worker"),
        (["bench", "distributed", "--local-worker-rounds", "101"], "--local-worker-rounds must be between 0 and 100 (got 101)"),
        (["bench", "distributed", "--local-worker-rounds", "2", "--local-worker"], "drop --local-worker or the rounds"),
        (["bench", "distributed", "--local-worker-rounds", "2", "--workers", "1"], "drop --workers 1 or the rounds"),
        (["worker", "--connect", "tcp://127.0.0.1:1", "--spin-microseconds", "-5"], "--spin-microseconds must be between 0 and 1000000 (got -5)"),
        (["worker", "--connect", "tcp://127.0.0.1:1", "--spin-microseconds", "1000001"], "--spin-microseconds must be between 0 and 1000000 (got 1000001)"),
    ])
    func badCommandLinesAreRefusedNamingTheOption(arguments: [String], message: String) throws {
        let dir = try Paths.temporaryDirectory("cli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let child = try Child("descent", arguments, directory: dir)
        #expect(child.wait(seconds: 30) != 0)
        #expect(child.stderr.contains(message), "\(child.stderr)")
    }

    @Test func aBadConfigFileIsRefusedNamingTheFileAndTheKey() throws {
        let dir = try Paths.temporaryDirectory("badconfig")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = try writeConfig("training:\n  batch_size: 0\n", in: dir)
        let child = try Child("train", ["train", "--config", config], directory: dir)
        #expect(child.wait(seconds: 30) != 0)
        #expect(child.stderr.contains("\(config): config key 'training.batch_size': must be a positive integer (got 0)"), "\(child.stderr)")
    }

    @Test func aFetchThatNoMirrorCanServeListsWhatWasTriedAndLeavesNothingBehind() throws {
        let dir = try Paths.temporaryDirectory("nodata")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A mirror that cannot serve: a file:// directory with nothing in it.
        try FileManager.default.createDirectory(atPath: "\(dir)/mirror", withIntermediateDirectories: true)
        let fetch = try Child("fetch", ["data", "fetch", "--dir", "\(dir)/mnist", "--mirror", "file://\(dir)/mirror/"], directory: dir)
        #expect(fetch.wait(seconds: 60) != 0)
        #expect(fetch.stderr.contains("file://\(dir)/mirror/train-images-idx3-ubyte.gz"), "\(fetch.stderr)")
        #expect(fetch.stderr.contains("--data") || fetch.stderr.contains("DESCENT_DATA"), "\(fetch.stderr)")
        // Nothing half-written is left behind.
        let left = (try? FileManager.default.contentsOfDirectory(atPath: "\(dir)/mnist")) ?? []
        #expect(left.isEmpty, "\(left)")
    }

    @Test func scheduleCommandPrintsTheRatesOfTheReferenceConfigAndDrawsThem() throws {
        let dir = try Paths.temporaryDirectory("schedule")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = Paths.packageRoot.appendingPathComponent("Config/mnist-seed.yaml").path
        let child = try Child("schedule", [
            "schedule", "--config", config, "--steps", "0:3000:1000", "--format", "csv", "--plot", "\(dir)/rates.svg",
        ], directory: dir)
        #expect(child.wait(seconds: 30) == 0, "\(child.stderr)")
        // 0.1 * 0.96^k in float32 for k = 0, 1, 2, 3 (steps 0, 1000, 2000, 3000).
        for k in 0...3 {
            let rate = Float(Double(Float(0.1)) * pow(Double(Float(0.96)), Double(k)))
            #expect(child.stdout.contains("\(k * 1000),"), "\(child.stdout)")
            let line = child.stdout.split(separator: "\n").first { $0.hasPrefix("\(k * 1000),") }
            let value = line.flatMap { Double($0.split(separator: ",")[2]) }  // step,epoch,rate
            #expect(value.map { Float($0) } == rate, "step \(k * 1000): \(String(describing: line))")
        }
        let svg = try String(contentsOfFile: "\(dir)/rates.svg", encoding: .utf8)
        #expect(svg.hasPrefix("<svg") || svg.hasPrefix("<?xml"))
        #expect(svg.contains("exponential") && svg.contains("</svg>"))
    }
}

extension SystemTests {
    @Test func anEmptyTrainingSetIsRefusedNotCrashedOn() throws {
        let dir = try Paths.temporaryDirectory("empty")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticMNIST.write(to: dir, train: 0, test: 10)
        let config = try writeConfig("data:\n  dir: \(dir)\n", in: dir)
        for command in [["train"], ["coordinator", "--workers", "1", "--bind", "ipc://\(dir)/c.sock"]] {
            let child = try Child(command[0], command + ["--config", config], directory: dir)
            #expect(child.wait(seconds: 30) == 1, "\(child.stderr)")
            #expect(child.stderr.contains("the training set holds no images"), "\(child.stderr)")
        }
    }
}
