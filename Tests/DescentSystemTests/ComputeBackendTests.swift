import Foundation
import Testing

extension SystemTests {
    /// The coordinator's backend travels to its workers in the run settings: a distributed run on
    /// OpenBLAS (not the default) equals one process on OpenBLAS, its workers say which backend
    /// they compute on, and a worker told to insist on another backend stops, saying why.
    @Test func workersComputeOnTheCoordinatorsBackendAndOneThatInsistsOnAnotherStops() throws {
        let dir = try Paths.temporaryDirectory("backend")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticMNIST.write(to: dir, train: 400, test: 50)
        let single = try writeConfig(Self.config(dataDir: dir, batch: "batch_size: 16"), in: dir, name: "single.yaml")
        let distributed = try writeConfig(Self.config(dataDir: dir, batch: "batch_per_worker: 8"), in: dir, name: "distributed.yaml")

        let train = try Child("train", [
            "train", "--config", single, "--backend", "openblas", "--max-steps", "60", "--save", "\(dir)/single.bin",
        ], directory: dir)
        #expect(train.wait() == 0, "\(train.stderr)")
        let endpoint = "ipc://\(dir)/openblas.sock"
        let coordinator = try Child("coordinator", [
            "coordinator", "--config", distributed, "--backend", "openblas", "--workers", "2", "--bind", endpoint,
            "--max-steps", "60", "--save", "\(dir)/distributed.bin",
        ], directory: dir)
        let workers = try (0..<2).map { rank in
            try Child("worker-\(rank)", ["worker", "--connect", endpoint, "--rank", "\(rank)", "--data", dir], directory: dir)
        }
        #expect(coordinator.wait() == 0, "\(coordinator.stdout)\n\(coordinator.stderr)")
        for worker in workers {
            #expect(worker.wait(seconds: 30) == 0, "\(worker.stderr)")
            #expect(worker.stdout.contains("openblas backend"), "\(worker.stdout)")
        }
        let reference = try readParameters("\(dir)/single.bin")
        let parallel = try readParameters("\(dir)/distributed.bin")
        let scale = reference.map { abs($0) }.max()!
        let difference = zip(reference, parallel).map { abs($0 - $1) }.max()! / scale
        #expect(difference <= 1e-5, "max relative difference \(difference)")

        // A coordinator on the default backend (oneDNN) and a worker that insists on OpenBLAS.
        let mismatchEndpoint = "ipc://\(dir)/mismatch.sock"
        let other = try Child("coordinator-onednn", [
            "coordinator", "--config", distributed, "--workers", "1", "--bind", mismatchEndpoint, "--max-steps", "5",
        ], directory: dir)
        let insisting = try Child("worker-openblas", [
            "worker", "--connect", mismatchEndpoint, "--data", dir, "--backend", "openblas",
        ], directory: dir)
        #expect(insisting.wait(seconds: 30) != 0)
        #expect(insisting.stderr.contains("this worker was started with --backend openblas, but the coordinator computes on onednn"),
                "\(insisting.stderr)")
        other.terminate()  // it waits for a worker that will not come; what it does then is not this test's subject
    }
}
