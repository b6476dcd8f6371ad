import Foundation
import Testing

extension SystemTests {
    /// The same command gives the same model, bit for bit, with more than 2 workers too: the
    /// coordinator folds the gradients in rank order whatever order they arrive in (in arrival
    /// order, three runs of this command gave three different models).
    @Test(arguments: [true, false])
    func threeWorkersGiveTheSameBitsEveryRun(sharedMemory: Bool) throws {
        let dir = try Paths.temporaryDirectory("reproducible")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticMNIST.write(to: dir, train: 960, test: 96)
        let config = try writeConfig("data:\n  dir: \(dir)\ntraining:\n  epochs: 10\n  batch_size: 48\n", in: dir)
        var models: [[UInt32]] = []
        for run in 0..<3 {
            let launch = try Child("launch-\(run)", ["launch", "--config", config, "--workers", "3", "--save", "\(dir)/run-\(run).bin"]
                                   + (sharedMemory ? [] : ["--no-shared-memory"]), directory: dir)
            #expect(launch.wait(seconds: 300) == 0, "\(launch.stderr.suffix(2000))")
            models.append(try readParameters("\(dir)/run-\(run).bin").map(\.bitPattern))
        }
        #expect(models[0] == models[1] && models[1] == models[2])
    }
}
