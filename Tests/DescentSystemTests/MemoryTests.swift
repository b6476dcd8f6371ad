import Foundation
import Testing

extension SystemTests {
    /// The 60,000-image training set stays bytes in memory (47 MB, not 188 MB as floats), so a
    /// whole run of `descent train` peaks under 150 MB.
    @Test func trainingOnSixtyThousandImagesPeaksUnder150MB() throws {
        let dir = try Paths.temporaryDirectory("memory")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticMNIST.writeFullSize(to: dir)
        let config = try writeConfig("data:\n  dir: \(dir)\ntraining:\n  epochs: 1\n", in: dir)
        let train = try Child("train", ["train", "--config", config, "--max-steps", "300"], directory: dir)
        #expect(train.wait(seconds: 300) == 0, "\(train.stderr)")
        let line = try #require(train.stdout.split(separator: "\n").first { $0.hasPrefix("Peak memory: ") })
        let megabytes = try #require(Double(line.dropFirst("Peak memory: ".count).dropLast(" MB".count)))
        // The pixels alone are 47 MB: a peak below that would mean the set was not loaded.
        #expect(megabytes > 47)
        #expect(megabytes < 150, "\(line)")
    }
}
