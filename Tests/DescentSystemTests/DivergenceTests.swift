import DescentProtocol
import DescentTransport
import Foundation
import Testing

extension SystemTests {
    /// A schedule whose first rate is far too high.
    func divergingConfig(in dir: String) throws -> String {
        try writeConfig("""
            data:
              dir: \(dir)
            training:
              epochs: 3
              batch_size: 16
            schedule: {type: constant, rate: 1.0e+30}
            """, in: dir)
    }

    @Test func aDivergingTrainStopsWithinSecondsWithTheMessageAndACheckpoint() throws {
        let dir = try Paths.temporaryDirectory("diverge-train")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticMNIST.write(to: dir, train: 64, test: 10)
        let config = try divergingConfig(in: dir)
        let train = try Child("train", ["train", "--config", config, "--checkpoint-dir", "\(dir)/ckpt"], directory: dir)
        #expect(train.wait(seconds: 30) != 0)
        #expect(train.stderr.contains("training diverged at step"), "\(train.stderr)")
        #expect(train.stderr.contains("Lower the learning rate"), "\(train.stderr)")
        let saved = (try? FileManager.default.contentsOfDirectory(atPath: "\(dir)/ckpt")) ?? []
        #expect(saved.contains { $0.hasPrefix("checkpoint-") }, "\(saved)")
        #expect(!train.stdout.contains("nan"), "\(train.stdout)")
    }

    @Test func aDivergingDistributedRunStopsEveryProcessWithTheMessage() throws {
        let dir = try Paths.temporaryDirectory("diverge-launch")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticMNIST.write(to: dir, train: 64, test: 10)
        let config = try divergingConfig(in: dir)
        let launch = try Child("launch", ["launch", "--config", config, "--workers", "2", "--checkpoint-dir", "\(dir)/ckpt"], directory: dir)
        #expect(launch.wait(seconds: 60) != 0)
        let output = launch.stdout + launch.stderr
        #expect(output.contains("training diverged at step"), "\(output)")
        // Every worker was told why and exited with a failure too.
        #expect(output.components(separatedBy: "the run did not finish").count - 1 == 2, "\(output)")
    }
}
