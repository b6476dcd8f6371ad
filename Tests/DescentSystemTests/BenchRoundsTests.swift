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

extension SystemTests {
    /// `bench distributed --local-worker-rounds 2`: each round runs 2 worker processes and the
    /// coordinator's worker + 1 process back to back; each round's ratio is its own two figures
    /// divided (recomputed here from the printed rates), and the median of two is their mean.
    @Test func localWorkerRoundsGiveTheMedianOfEachRoundsOwnRatio() throws {
        let dir = try Paths.temporaryDirectory("bench-local")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticMNIST.write(to: dir, train: 1000, test: 100)
        let bench = try Child("bench", ["bench", "distributed", "--workers", "2", "--batch", "8", "--repeat", "1", "--epochs", "1",
                                        "--min-steps", "50", "--steps", "60", "--no-baselines", "--local-worker-rounds", "2",
                                        "--peer-python", "none", "--data", dir], directory: dir)
        #expect(bench.wait(seconds: 300) == 0, "\(bench.stdout) \(bench.stderr)")
        let summary = try #require(bench.stdout.split(separator: "\n").first { $0.hasPrefix("2 x 8: 2 processes ") }, "\(bench.stdout)")
        func rates(after label: String) -> [Double] {
            guard let start = summary.range(of: label)?.upperBound else { return [] }
            return summary[start...].prefix { $0 != ";" }.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        }
        let processes = rates(after: "2 processes "), local = rates(after: "local worker + 1 ")
        try #require(processes.count == 2 && local.count == 2, "\(summary)")
        let line = try #require(bench.stdout.split(separator: "\n").first { $0.hasPrefix("bench=distributed_local_worker ") }, "\(bench.stdout)")
        func field(_ name: String) -> String? {
            line.split(separator: " ").first { $0.hasPrefix(name + "=") }.map { String($0.dropFirst(name.count + 1)) }
        }
        #expect(field("rounds") == "2", "\(line)")
        let ratios = try #require(field("round_ratios")).split(separator: ",").compactMap { Double($0) }
        try #require(ratios.count == 2, "\(line)")
        for round in 0..<2 {
            // Rates are printed whole, ratios to 3 decimals.
            let expected = local[round] / processes[round]
            #expect(abs(ratios[round] - expected) <= 0.0006 + expected / min(local[round], processes[round]), "round \(round): \(line)")
        }
        let median = try #require(field("local_over_processes").flatMap(Double.init))
        #expect(abs(median - (ratios[0] + ratios[1]) / 2) <= 0.0011, "\(line)")
    }
}
