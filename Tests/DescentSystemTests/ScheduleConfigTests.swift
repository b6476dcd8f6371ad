import Foundation
import Testing

extension SystemTests {
    /// Every example under Config/schedules trains: `descent train` takes each family from its config.
    @Test func everyExampleScheduleConfigTrains() throws {
        let dir = try Paths.temporaryDirectory("schedules")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticMNIST.write(to: dir, train: 64, test: 10)
        let examples = Paths.packageRoot.appendingPathComponent("Config/schedules")
        let files = try FileManager.default.contentsOfDirectory(atPath: examples.path).filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(files.count >= 11)
        for file in files {
            let child = try Child("train-\(file)", ["train", "--config", examples.appendingPathComponent(file).path,
                                                     "--data", dir, "--max-steps", "3"], directory: dir)
            #expect(child.wait(seconds: 60) == 0, "\(file): \(child.stderr)")
            #expect(child.stdout.contains("Epoch 01: learning rate = "), "\(file): \(child.stdout)")
            #expect(child.stdout.contains("Trained 3 steps"), "\(file): \(child.stdout)")
        }
    }
}
