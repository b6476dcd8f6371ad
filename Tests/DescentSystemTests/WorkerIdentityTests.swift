import DescentTransport
import Foundation
import Testing

extension SystemTests {
    /// A worker is its CURVE key: a second `descent worker` process started with the key of a
    /// worker that is training takes its rank over real TCP (the coordinator names it by the
    /// key's file), the first process is told why and stops, and the run ends bit-identical to a
    /// run with one undisturbed worker.
    @Test func aSecondProcessWithAWorkersKeyTakesItsRankAndTheFirstStops() throws {
        let dir = try Paths.temporaryDirectory("identity")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticMNIST.write(to: dir, train: 512, test: 32)
        let config = try writeConfig("data:\n  dir: \(dir)\ntraining:\n  epochs: 10\n  batch_size: 32\n", in: dir)
        try CurveKeyDirectory.generate(in: "\(dir)/keys", workers: 1)

        func coordinator(_ name: String, port: UInt16) throws -> Child {
            try Child("coordinator-\(name)", [
                "coordinator", "--config", config, "--workers", "1", "--bind", "tcp://127.0.0.1:\(port)",
                "--curve-dir", "\(dir)/keys", "--save", "\(dir)/\(name).bin", "--no-shared-memory",
            ], directory: dir)
        }
        func worker(_ name: String, port: UInt16, _ extra: [String] = []) throws -> Child {
            try Child(name, ["worker", "--connect", "tcp://127.0.0.1:\(port)", "--config", config,
                             "--curve-dir", "\(dir)/keys", "--no-shared-memory"] + extra, directory: dir)
        }
        let base = UInt16(20_000 + (Int(getpid()) + 7_000) % 20_000)

        let clean = try coordinator("clean", port: base)
        defer { clean.stop() }
        let cleanWorker = try worker("worker-clean", port: base)
        #expect(clean.wait(seconds: 180) == 0, "\(clean.stdout)\n\(clean.stderr.suffix(2000))")
        #expect(cleanWorker.wait(seconds: 30) == 0, "\(cleanWorker.stderr)")

        // 160 steps, each gradient of the first process 30 ms late: the second one joins mid-run.
        let run = try coordinator("takeover", port: base + 1)
        defer { run.stop() }
        let first = try worker("worker-first", port: base + 1, ["--fault", "delay:ms=30"])
        defer { first.stop() }
        #expect(run.waitFor("joined from"), "\(run.stdout)\n\(run.stderr)")
        usleep(1_000_000)
        let second = try worker("worker-second", port: base + 1)
        defer { second.stop() }
        #expect(run.wait(seconds: 180) == 0, "\(run.stdout)\n\(run.stderr.suffix(3000))")
        #expect(second.wait(seconds: 30) == 0, "\(second.stderr)")
        #expect(first.wait(seconds: 30) != 0, "the first process went on: \(first.stderr)")
        #expect(first.stderr.contains("took its place"), "\(first.stderr)")
        #expect(run.stderr.contains("coordinator: worker-0 (key "), "\(run.stderr)")
        #expect(run.stderr.contains("connected again from 127.0.0.1"), "\(run.stderr)")
        #expect(run.stdout.contains("key worker-0"), "\(run.stdout)")
        #expect(try readParameters("\(dir)/takeover.bin") == readParameters("\(dir)/clean.bin"))
    }
}
