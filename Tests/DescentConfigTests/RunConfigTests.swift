import Foundation
import Testing
@testable import DescentConfig
import DescentCore

@Suite struct RunConfigTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func referenceConfigFileLoadsWithTheSeedSettings() throws {
        let config = try RunConfig.load(path: Self.root.appendingPathComponent("Config/mnist-seed.yaml").path)
        #expect(config.model.hidden == [128])
        #expect(config.training.epochs == 15)
        #expect(config.globalBatch(workers: 1) == 32)
        #expect(config.globalBatch(workers: 4) == 32)
        #expect(config.training.threads == 1)
        #expect(config.training.backend == .onednn)
        #expect(config.training.wireEncoding == .float32)
        #expect(config.data.trainRepeat == 1)
    }

    @Test(arguments: [("openblas", ComputeBackend.openblas), ("onednn", ComputeBackend.onednn)])
    func backendKeyChoosesTheLibrary(name: String, backend: ComputeBackend) throws {
        let config = try RunConfig.parse(yaml: "training:\n  backend: \(name)\n")
        #expect(config.training.backend == backend)
    }

    @Test(arguments: [("float32", WireEncoding.float32), ("bf16", WireEncoding.bf16)])
    func wireEncodingKeyChoosesTheEncoding(name: String, encoding: WireEncoding) throws {
        let config = try RunConfig.parse(yaml: "training:\n  wire_encoding: \(name)\n")
        #expect(config.training.wireEncoding == encoding)
    }

    @Test func batchPerWorkerMultipliesByTheWorkerCount() throws {
        let config = try RunConfig.parse(yaml: "training:\n  batch_per_worker: 16\n")
        #expect(config.globalBatch(workers: 1) == 16)
        #expect(config.globalBatch(workers: 4) == 64)
    }

    @Test func emptyDocumentGivesTheDefaults() throws {
        #expect(try RunConfig.parse(yaml: "") == RunConfig())
    }

    @Test(arguments: [
        ("trainig:\n  epochs: 3\n", "config key 'trainig': unknown key"),
        ("training:\n  epoch: 3\n", "config key 'training.epoch': unknown key"),
        ("training:\n  batch_size: 0\n", "config key 'training.batch_size': must be a positive integer (got 0)"),
        ("training:\n  batch_size: -4\n", "config key 'training.batch_size': must be a positive integer (got -4)"),
        ("training:\n  batch_size: 32\n  batch_per_worker: 8\n", "config key 'training.batch_per_worker': give either batch_size"),
        ("training:\n  epochs: 0\n", "config key 'training.epochs': must be 1 or more (got 0)"),
        ("training:\n  epochs: many\n", "config key 'training.epochs': expected an integer"),
        ("training:\n  threads: 0\n", "config key 'training.threads'"),
        ("training:\n  backend: mkl\n", "config key 'training.backend': must be one of openblas, onednn (got 'mkl')"),
        ("training:\n  wire_encoding: fp16\n", "config key 'training.wire_encoding': must be one of float32, bf16 (got 'fp16')"),
        ("model:\n  hidden: [128, 0]\n", "config key 'model.hidden[1]': layer width must be positive (got 0)"),
        ("optimizer:\n  momentum: 1.5\n", "config key 'optimizer.momentum': must be in [0, 1)"),
        ("optimizer:\n  nesterov: true\n", "config key 'optimizer.nesterov': needs momentum > 0"),
        ("seed: -1\n", "config key 'seed': must be a non-negative integer"),
        ("data:\n  train_limit: 0\n", "config key 'data.train_limit'"),
        ("schedule:\n  type: exponential\n  initial_rate: 0\n  decay_steps: 1000\n  decay_rate: 0.96\n", "config key 'schedule.initial_rate'"),
        ("schedule:\n  type: exponential\n  initial_rate: -0.1\n  decay_steps: 1000\n  decay_rate: 0.96\n", "config key 'schedule.initial_rate'"),
        ("schedule:\n  type: exponential\n  initial_rate: 0.1\n  decay_steps: 0\n  decay_rate: 0.96\n", "config key 'schedule.decay_steps'"),
        ("schedule:\n  type: exponential\n  initial_rate: 0.1\n  decay_rate: 0.96\n", "config key 'schedule.decay_steps': is required but missing"),
        ("schedule:\n  type: warp\n", "config key 'schedule.type'"),
        ("training: [1, 2\n", "config: not valid YAML"),
        // Past these limits a run's own arithmetic trapped (SIGILL) instead of saying why.
        ("training:\n  epochs: 1000000000000000000\n", "config key 'training.epochs': must be at most 1000000 (got 1000000000000000000)"),
        ("training:\n  batch_size: 9223372036854775807\n", "config key 'training.batch_size': must be at most 1048576"),
        ("training:\n  batch_per_worker: 1048577\n", "config key 'training.batch_per_worker': must be at most 1048576 (got 1048577)"),
        ("training:\n  threads: 100000000000\n", "config key 'training.threads': must be at most 1024"),
        ("data:\n  train_repeat: 10000000000000000\n", "config key 'data.train_repeat': must be from 1 to 1000000"),
        ("model:\n  hidden: [9223372036854775807]\n", "config key 'model.hidden[0]': layer width must be at most 65536"),
        ("model:\n  hidden: [65536, 65536]\n", "config key 'model.hidden': these layers make an MLP of more than 268435456 parameters"),
        ("model:\n  hidden: [\(Array(repeating: "2", count: 65).joined(separator: ", "))]\n", "config key 'model.hidden': at most 64 hidden layers (got 65)"),
    ])
    func invalidConfigsAreRefusedNamingTheKey(yaml: String, message: String) {
        do {
            _ = try RunConfig.parse(yaml: yaml)
            Issue.record("expected an error containing \(message)")
        } catch {
            #expect(String(describing: error).contains(message), "got: \(error)")
        }
    }

    /// The limits themselves are usable: the largest values each key takes are accepted.
    @Test func theLargestValuesWithinTheLimitsAreAccepted() throws {
        let config = try RunConfig.parse(yaml: """
            training:
              epochs: 1000000
              batch_size: 1048576
              threads: 1024
            data:
              train_repeat: 1000000
            model:
              hidden: [65536]
            """)
        #expect(config.training.epochs == 1_000_000 && config.training.batchSize == 1_048_576 && config.training.threads == 1024)
        #expect(config.data.trainRepeat == 1_000_000 && config.model.hidden == [65536])
    }

    @Test func missingFileSaysWhichPathAndWhatToDo() {
        do {
            _ = try RunConfig.load(path: "/nonexistent/descent.yaml")
            Issue.record("expected an error")
        } catch {
            let text = String(describing: error)
            #expect(text.contains("/nonexistent/descent.yaml"))
            #expect(text.contains("--config"))
        }
    }
}
