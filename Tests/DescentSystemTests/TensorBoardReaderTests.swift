import Foundation
import Testing

extension SystemTests {
    /// TensorBoard's own reader (`EventAccumulator`, from the `tensorboard` package in a virtual
    /// environment) reads the event file of a real two-worker run: every tag, one scalar per
    /// step, and the values the trace holds (as float32), the latency of the slowest rank equal
    /// to the trace's, the epoch figures equal to the printed epoch lines.
    @Test func tensorboardReaderFindsTheTracesScalars() throws {
        guard let python = ObserveSupport.tensorboardPython else {
            print("skipped: no Python with tensorboard (set DESCENT_TENSORBOARD_PYTHON or run .ci/run, which makes ~/.cache/descent-venv)")
            return
        }
        guard let sample = Paths.mnistSample else {
            print("skipped: the MNIST sample is missing")
            return
        }
        let dir = try Paths.temporaryDirectory("tensorboard")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = Paths.packageRoot.appendingPathComponent("Config/mnist-seed.yaml").path
        let run = try Child("launch", ["launch", "--config", config, "--data", sample, "--workers", "2", "--max-steps", "200",
                                       "--tensorboard", "\(dir)/tb", "--trace-dir", "\(dir)/run"], directory: dir)
        #expect(run.wait(seconds: 180) == 0, "\(run.stderr.suffix(2000))")

        let script = """
            import json, sys
            from tensorboard.backend.event_processing import event_accumulator as ea
            acc = ea.EventAccumulator(sys.argv[1], size_guidance={ea.SCALARS: 0})
            acc.Reload()
            print(json.dumps({tag: [[e.step, e.value] for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}))
            """
        let read = try ObserveSupport.run(python, ["-c", script, "\(dir)/tb"])
        #expect(read.status == 0, "\(read.err)")
        let scalars = try #require(try JSONSerialization.jsonObject(with: Data(read.out.utf8)) as? [String: [[Double]]])
        let expectedTags: Set<String> = [
            "step/loss", "step/learning_rate", "step/gradient_norm", "step/samples_per_second",
            "step/latency_ms/rank_0", "step/latency_ms/rank_1",
            "epoch/loss", "epoch/accuracy", "epoch/test_loss", "epoch/test_accuracy", "epoch/samples_per_second",
        ]
        #expect(Set(scalars.keys) == expectedTags)

        let trace = try jsonLines("\(dir)/run/coordinator.jsonl")
        #expect(trace.count == 200)
        // As float32 (what the event file holds). Python prints each float32 exactly, so reading
        // its text an ulp off cannot change the float32; the trace's doubles are read exactly.
        func values(_ tag: String) -> [Float] { (scalars[tag] ?? []).map { Float($0[1]) } }
        for tag in expectedTags where tag.hasPrefix("step/") {
            #expect(scalars[tag]?.map { Int($0[0]) } == Array(0..<200), "\(tag): steps")
        }
        func float(_ key: String) throws -> [Float] {
            try exactNumbers(key, in: "\(dir)/run/coordinator.jsonl").map { Float($0 ?? .nan) }
        }
        #expect(try float("loss") == values("step/loss"))
        #expect(try float("rate") == values("step/learning_rate"))
        #expect(try float("gradient_norm") == values("step/gradient_norm"))
        let slowest = zip(values("step/latency_ms/rank_0"), values("step/latency_ms/rank_1")).map { max($0, $1) }
        #expect(try float("slowest_latency_ms") == slowest)
        #expect(values("step/samples_per_second").allSatisfy { $0 > 0 })

        // Epochs: 157 steps and 43; their printed lines carry the same figures to 4 decimals.
        #expect(scalars["epoch/test_accuracy"]?.map { Int($0[0]) } == [0, 1])
        let printed = run.stdout.split(separator: "\n").filter { $0.contains("- test_accuracy: ") }
        #expect(printed.count == 2)
        for (line, value) in zip(printed, values("epoch/test_accuracy")) {
            #expect(line.hasSuffix(String(format: "test_accuracy: %.4f", Double(value))), "\(line) vs \(value)")
        }
        for (line, value) in zip(printed, values("epoch/loss")) {
            #expect(line.contains(String(format: "- loss: %.4f -", Double(value))), "\(line) vs \(value)")
        }
    }
}
