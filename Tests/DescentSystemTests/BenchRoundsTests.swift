import Foundation
import Testing

extension SystemTests {
    /// `bench distributed --baseline-rounds 2`: the one-host ratio is the median of two rounds, each
    /// a run of the workers and a measurement of the one-core trainer back to back. Round 0 is the
    /// main table's pair, so its ratio must be that pair's figures divided; the median of two is
    /// their mean.
    @Test func baselineRoundsGiveTheMedianOfEachRoundsOwnRatio() throws {
        guard let sample = Paths.mnistSample else {
            print("skipped: the MNIST sample is missing")
            return
        }
        let dir = try Paths.temporaryDirectory("bench-rounds")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let bench = try Child("bench", ["bench", "distributed", "--workers", "2", "--batch", "8", "--repeat", "1", "--epochs", "1",
                                        "--min-steps", "50", "--steps", "60", "--baseline-rounds", "2", "--peer-python", "none",
                                        "--data", sample], directory: dir)
        #expect(bench.wait(seconds: 300) == 0, "\(bench.stdout) \(bench.stderr)")
        let line = try #require(bench.stdout.split(separator: "\n").first { $0.hasPrefix("bench=distributed_one_host ") })
        func field(_ name: String) -> String? {
            line.split(separator: " ").first { $0.hasPrefix(name + "=") }.map { String($0.dropFirst(name.count + 1)) }
        }
        #expect(field("rounds") == "2", "\(line)")
        let ratios = try #require(field("round_ratios")).split(separator: ",").compactMap { Double($0) }
        try #require(ratios.count == 2, "\(line)")
        #expect(ratios.allSatisfy { $0.isFinite && $0 > 0 }, "\(line)")
        let workers = try #require(field("workers_samples_per_s").flatMap(Double.init))
        let oneCore = try #require(field("one_core_samples_per_cpu_s").flatMap(Double.init))
        // Figures are printed to 3 decimals (ratios) and whole samples (rates).
        #expect(abs(ratios[0] - workers / oneCore) <= 0.0006 + 0.5 * workers / oneCore / min(workers, oneCore), "\(line)")
        let median = try #require(field("over_one_core").flatMap(Double.init))
        #expect(abs(median - (ratios[0] + ratios[1]) / 2) <= 0.0011, "\(line)")
        #expect(bench.stdout.contains("rounds: range"), "\(bench.stdout)")
    }
}
