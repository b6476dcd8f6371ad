import Foundation
import Testing

extension SystemTests {
    /// The reference config on the real sample, coordinator and 2 workers as separate processes over
    /// loopback TCP (no shared memory), once in float32 and once with `--wire-encoding bf16`: the
    /// bf16 run trains to within 0.3 points of float32's test accuracy, and each worker's bytes per
    /// step are the header plus 4 (float32) or 2 (bf16) bytes a parameter, as the wire format says.
    @Test(.enabled(if: Paths.mnistSample != nil, "needs the real MNIST sample at ../shared/data/mnist-sample (or $DESCENT_MNIST_SAMPLE); skipped"))
    func bf16OnTheWireTrainsTheSampleWithinThreeTenthsOfAPointOfFloat32OverTCP() throws {
        let sample = try #require(Paths.mnistSample)
        let dir = try Paths.temporaryDirectory("wire-bf16")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = Paths.packageRoot.appendingPathComponent("Config/mnist-seed.yaml").path
        let parameters = 784 * 128 + 128 + 128 * 10 + 10

        func run(_ encoding: String, port: Int) throws -> (accuracy: Double, workerBytes: [Int]) {
            let endpoint = "tcp://127.0.0.1:\(port)"
            let coordinator = try Child("coordinator-\(encoding)", [
                "coordinator", "--config", config, "--data", sample, "--workers", "2", "--bind", endpoint, "--insecure",
                "--no-shared-memory", "--wire-encoding", encoding,
            ], directory: dir)
            defer { coordinator.stop() }
            #expect(coordinator.waitFor("Coordinator listening"), "\(coordinator.stderr)")
            let workers = try (0..<2).map { rank in
                try Child("worker-\(encoding)-\(rank)", [
                    "worker", "--connect", endpoint, "--insecure", "--data", sample, "--rank", "\(rank)", "--no-shared-memory",
                ], directory: dir)
            }
            #expect(coordinator.wait(seconds: 300) == 0, "\(coordinator.stdout.suffix(2000))\n\(coordinator.stderr.suffix(2000))")
            var bytes: [Int] = []
            for worker in workers {
                #expect(worker.wait(seconds: 30) == 0, "\(worker.stderr)")
                #expect(worker.stdout.contains(encoding == "bf16" ? ", bf16 on the wire" : "onednn backend\n"), "\(worker.stdout)")
                let field = worker.stdout.split(separator: " ").first { $0.hasPrefix("wire_bytes_per_step_sent=") }
                bytes.append(field.flatMap { Int($0.dropFirst("wire_bytes_per_step_sent=".count)) } ?? -1)
            }
            let line = coordinator.stdout.split(separator: "\n").first { $0.hasPrefix("Test loss:") }
            let accuracy = line.flatMap { Double($0.components(separatedBy: "test accuracy: ").last ?? "") } ?? 0
            return (accuracy, bytes)
        }
        let base = 21_000 + Int(getpid()) % 20_000
        let float32 = try run("float32", port: base)
        let bf16 = try run("bf16", port: base + 1)
        // A worker sends one gradient a step: the 64-byte header and the payload (heartbeats go only while idle).
        // (Its hello and idle heartbeats, 64 bytes each, add a fraction of a byte a step.)
        for bytes in float32.workerBytes { #expect((64 + 4 * parameters)...(64 + 4 * parameters + 16) ~= bytes, "\(float32.workerBytes)") }
        for bytes in bf16.workerBytes { #expect((64 + 2 * parameters)...(64 + 2 * parameters + 16) ~= bytes, "\(bf16.workerBytes)") }
        #expect(float32.accuracy > 0.92, "float32 reached \(float32.accuracy)")
        #expect(abs(bf16.accuracy - float32.accuracy) <= 0.003, "float32 \(float32.accuracy), bf16 \(bf16.accuracy)")
    }

    /// Workers on the coordinator's host share memory in float32 whatever the wire encoding, so a
    /// bf16 run through shared memory is bit for bit the float32 run; a worker that insists on
    /// another encoding than its coordinator's stops and says which flag to change.
    @Test func sharedMemoryStaysFloat32AndAWorkerThatInsistsOnAnotherEncodingStops() throws {
        let dir = try Paths.temporaryDirectory("wire-shm")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticMNIST.write(to: dir, train: 400, test: 50)
        let config = try writeConfig(Self.config(dataDir: dir, batch: "batch_per_worker: 8"), in: dir)
        for encoding in ["float32", "bf16"] {
            let endpoint = "ipc://\(dir)/\(encoding).sock"
            let coordinator = try Child("coordinator-\(encoding)", [
                "coordinator", "--config", config, "--workers", "2", "--bind", endpoint, "--max-steps", "60",
                "--save", "\(dir)/\(encoding).bin", "--wire-encoding", encoding,
            ], directory: dir)
            let workers = try (0..<2).map { rank in
                try Child("worker-\(encoding)-\(rank)", ["worker", "--connect", endpoint, "--rank", "\(rank)", "--data", dir], directory: dir)
            }
            #expect(coordinator.wait() == 0, "\(coordinator.stdout)\n\(coordinator.stderr)")
            #expect(coordinator.stdout.components(separatedBy: ", shared memory)").count - 1 == 2, "\(coordinator.stdout)")
            for worker in workers { #expect(worker.wait(seconds: 30) == 0, "\(worker.stderr)") }
        }
        #expect(try readParameters("\(dir)/float32.bin") == readParameters("\(dir)/bf16.bin"))

        let endpoint = "ipc://\(dir)/mismatch.sock"
        let coordinator = try Child("coordinator-mismatch", [
            "coordinator", "--config", config, "--workers", "1", "--bind", endpoint, "--max-steps", "5", "--wire-encoding", "bf16",
        ], directory: dir)
        let insisting = try Child("worker-float32", ["worker", "--connect", endpoint, "--data", dir, "--wire-encoding", "float32"], directory: dir)
        #expect(insisting.wait(seconds: 30) != 0)
        #expect(insisting.stderr.contains("this worker was started with --wire-encoding float32, but the coordinator sends bf16"),
                "\(insisting.stderr)")
        coordinator.terminate()  // it waits for a worker that will not come
    }
}
