import Foundation
import Testing

extension SystemTests {
    /// `launch --log-format json`: every line on standard error is one JSON object with level,
    /// time, role, rank and event, from the coordinator, each worker and launch itself; the run's
    /// events are there with their figures; standard output keeps its plain lines.
    @Test func jsonLogsAreOneObjectPerLineWithRoleRankAndEvent() throws {
        guard let sample = Paths.mnistSample else {
            print("skipped: the MNIST sample is missing")
            return
        }
        let dir = try Paths.temporaryDirectory("json-logs")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = Paths.packageRoot.appendingPathComponent("Config/mnist-seed.yaml").path
        let run = try Child("launch", ["launch", "--config", config, "--data", sample, "--workers", "2", "--max-steps", "200",
                                       "--log-format", "json"], directory: dir)
        #expect(run.wait(seconds: 180) == 0, "\(run.stderr.suffix(2000))")
        let lines = run.stderr.split(separator: "\n")
        #expect(lines.count >= 8)
        var records: [[String: Any]] = []
        for line in lines {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                Issue.record("not a JSON object: \(line)")
                continue
            }
            for key in ["level", "time", "role", "event", "message"] { #expect(object[key] != nil, "\(key) missing in \(line)") }
            #expect(object.keys.contains("rank"), "rank missing in \(line)")
            records.append(object)
        }
        func events(_ role: String) -> [String] { records.filter { $0["role"] as? String == role }.compactMap { $0["event"] as? String } }
        #expect(events("coordinator").contains("run_started"))
        #expect(events("coordinator").filter { $0 == "worker_joined" }.count == 2)
        #expect(events("coordinator").filter { $0 == "epoch_finished" }.count == 2)
        #expect(events("coordinator").last == "run_finished")
        #expect(events("launch").count >= 3)  // "coordinator exited with status 0", one per worker
        let workerRanks = Set(records.filter { $0["role"] as? String == "worker" }.compactMap { $0["rank"] as? Int })
        #expect(workerRanks == [0, 1])
        let finished = try #require(records.first { $0["event"] as? String == "run_finished" })
        #expect(finished["steps"] as? Double == 200)
        let epoch = try #require(records.first { $0["event"] as? String == "epoch_finished" })
        let printed = try #require(run.stdout.split(separator: "\n").first { $0.hasPrefix("[coordinator] Epoch 01/15 - 157 steps") })
        #expect(printed.hasSuffix(String(format: "test_accuracy: %.4f", epoch["test_accuracy"] as? Double ?? -1)))
        #expect(run.stdout.contains("[coordinator] Epoch 01: learning rate = 0.10000\n"))
    }
}
