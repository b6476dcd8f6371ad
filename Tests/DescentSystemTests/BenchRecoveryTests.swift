import Foundation
import Testing

extension SystemTests {
    /// `bench recovery` runs each fault on a real launch and reports what it cost: a frozen worker
    /// costs the silence limit (it is noticed only by its silence), a killed one much less (its pid
    /// is watched, or its socket closes), and a killed coordinator is back from its checkpoint. Its
    /// runs must outlast their faults: with 10 epochs they ended first ("no running worker to
    /// signal") once steps were fast.
    @Test func recoveryBenchMeasuresEachFault() throws {
        guard let sample = Paths.mnistSample else {
            print("skipped: the MNIST sample is missing")
            return
        }
        let dir = try Paths.temporaryDirectory("bench-recovery")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let bench = try Child("bench", ["bench", "recovery", "--data", sample, "--silence-limit", "2"], directory: dir)
        #expect(bench.wait(seconds: 600) == 0, "\(bench.stdout.suffix(2000)) \(bench.stderr.suffix(2000))")
        let line = try #require(bench.stdout.split(separator: "\n").first { $0.hasPrefix("bench=recovery ") }, "\(bench.stdout)")
        func seconds(_ name: String) -> Double? {
            line.split(separator: " ").first { $0.hasPrefix(name + "=") }.flatMap { Double($0.dropFirst(name.count + 1)) }
        }
        let silent = try #require(seconds("silent_worker_lost_s"), "\(line)")
        #expect(seconds("silence_limit_s") == 2)
        #expect(silent >= 2 - 0.05 && silent < 2 + 1, "a frozen worker should cost about the silence limit: \(line)")
        for name in ["local_worker_lost_s", "tcp_worker_lost_s"] {
            let lost = try #require(seconds(name), "\(line)")
            #expect(lost >= 0 && lost < 2, "\(name): a killed worker is noticed before the silence limit: \(line)")
        }
        let resumed = try #require(seconds("coordinator_resume_s"), "\(line)")
        #expect(resumed > 0 && resumed < 60, "\(line)")
    }

    /// A run too short for its fault says what to do instead of a puzzle.
    @Test func recoveryBenchRefusesAnImpossibleEpochCount() throws {
        let dir = try Paths.temporaryDirectory("bench-recovery-epochs")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (value, message) in [("0", "--epochs must be between 1 and 10000 (got 0)"), ("10001", "--epochs must be between 1 and 10000 (got 10001)")] {
            let bench = try Child("bench", ["bench", "recovery", "--epochs", value], directory: dir)
            #expect(bench.wait(seconds: 30) != 0)
            #expect(bench.stderr.contains(message), "\(bench.stderr)")
        }
        let soak = try Child("bench", ["bench", "recovery", "--soak-epochs=-1"], directory: dir)
        #expect(soak.wait(seconds: 30) != 0)
        #expect(soak.stderr.contains("--soak-epochs must be between 1 and 10000 (got -1)"), "\(soak.stderr)")
    }
}
