import DescentConfig
import DescentCore
import DescentData
import DescentProtocol
import DescentTraining
import Foundation
import Testing
@testable import DescentCoordinator
@testable import DescentWorker

/// The coordinator's and the workers' shells, connected by an `InMemoryNetwork` in one process
/// and turned by hand: no sockets, no processes, no clocks but the shells' own.
@Suite struct InMemoryShellTests {
    /// 96 learnable images (a class-dependent stripe plus noise), 40 test images.
    static let train = images(count: 96, seed: 3)
    static let test = images(count: 40, seed: 4)

    static func images(count: Int, seed: UInt64) -> LabeledImages {
        var generator = SeededGenerator(seed: seed)
        var pixels = [UInt8](repeating: 0, count: count * 784)
        var labels = [UInt8](repeating: 0, count: count)
        for i in 0..<count {
            let label = Int(generator.next() % 10)
            labels[i] = UInt8(label)
            for p in 0..<784 { pixels[i * 784 + p] = UInt8((p / 84 == label ? 180 : 0) + Int(generator.next() % 50)) }
        }
        return LabeledImages(pixels: pixels, labels: labels, rows: 28, columns: 28)
    }

    func config(epochs: Int = 2, batch: Int = 16, rate: Double = 0.1) throws -> RunConfig {
        try RunConfig.parse(yaml: """
            seed: 11
            model: {hidden: [16]}
            training: {epochs: \(epochs), batch_size: \(batch)}
            schedule: {type: exponential, initial_rate: \(rate), decay_steps: 4, decay_rate: 0.5, staircase: true}
            """)
    }

    /// What one process computes for the same config: the reference.
    func oneProcess(_ config: RunConfig) throws -> RunSummary {
        try Trainer(config: config).run(train: TrainingSet(images: Self.train, config: config), test: Self.test)
    }

    struct Run {
        let network = InMemoryNetwork()
        let shell: CoordinatorShell
        var workers: [WorkerShell] = []

        init(_ config: RunConfig, workers count: Int, maxWorkers: Int? = nil, silence: Double = 30, options: RunOptions = RunOptions()) throws {
            var coordinatorOptions = CoordinatorOptions(bind: "inmemory://", workers: count, run: options)
            coordinatorOptions.maxWorkers = maxWorkers
            coordinatorOptions.silenceLimitSeconds = silence
            coordinatorOptions.heartbeatSeconds = 0.05
            let network = self.network
            shell = try Coordinator(config: config, train: TrainingSet(images: InMemoryShellTests.train, config: config),
                                    test: InMemoryShellTests.test, options: coordinatorOptions)
                .makeShell { _, _, parameterCount, _ in InMemoryCoordinatorTransport(network: network, parameterCount: parameterCount) }
            for rank in 0..<count { try addWorker(rank: rank) }
        }

        mutating func addWorker(rank: Int) throws {
            var options = WorkerOptions(connect: "inmemory://", requestedRank: rank)
            options.sharedMemory = false
            workers.append(try WorkerShell(options: options, train: InMemoryShellTests.train,
                                           transport: InMemoryWorkerTransport(network: network, peer: PeerID([UInt8(rank)])),
                                           hostName: "worker-\(rank)"))
        }

        /// Turns every shell until the coordinator has applied every step (or `until` says stop).
        func turn(maxTurns: Int = 100_000, until: () -> Bool = { false }) throws {
            var turns = 0
            while !shell.isFinished && !until() && turns < maxTurns {
                try shell.turn(timeout: 0)
                for worker in workers where worker.ending == nil { try worker.turn(timeout: 0) }
                turns += 1
            }
        }
    }

    func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
    }

    @Test func twoWorkersInMemoryEqualOneProcessAndAreToldTheRunFinished() throws {
        let config = try config()
        var run = try Run(config, workers: 2)
        try run.turn()
        let summary = try run.shell.complete()
        let reference = try oneProcess(config)
        #expect(summary.steps == reference.steps)
        #expect(maxDifference(summary.parameters, reference.parameters) < 1e-5)
        for worker in run.workers { try worker.turn(timeout: 0) }
        #expect(run.workers.allSatisfy { $0.ending == .stopped(reason: "training finished") })
        _ = run
    }

    @Test func aWorkerCutOffMidRunIsLostAndTheSurvivorsFinishTheSameModel() throws {
        let config = try config()
        let run = try Run(config, workers: 3, silence: 0.3)
        try run.turn(until: { run.workers[2].computedSteps >= 3 })
        run.network.cutOff(PeerID([2]))
        // Turns until the run ends, however fast they are (the loss waits for the 0.3 s silence limit).
        let deadline = Date().addingTimeInterval(30)
        try run.turn(maxTurns: .max, until: { Date() > deadline })
        #expect(run.shell.isFinished, "the run did not finish within 30 s")
        let summary = try run.shell.complete()
        let reference = try oneProcess(config)
        #expect(summary.steps == reference.steps)
        // The same global batches, summed in another order: equal to float rounding.
        #expect(maxDifference(summary.parameters, reference.parameters) < 1e-5)
        #expect(run.workers[0].computedSteps > run.workers[2].computedSteps)
        _ = run
    }

    @Test func aWorkerJoiningARunningJobTakesAShareFromTheNextStep() throws {
        let config = try config()
        var run = try Run(config, workers: 1, maxWorkers: 2)
        try run.turn(until: { run.workers[0].computedSteps >= 2 })
        try run.addWorker(rank: 1)
        try run.turn()
        let summary = try run.shell.complete()
        #expect(run.workers[1].computedSteps > 0)
        #expect(run.workers[1].computedSteps < run.workers[0].computedSteps)
        let reference = try oneProcess(config)
        #expect(maxDifference(summary.parameters, reference.parameters) < 1e-5)
    }

    @Test func aDivergingRunStopsWithAnErrorAndACheckpointOfTheLastGoodStep() throws {
        let config = try config(rate: 1e30)
        let directory = NSTemporaryDirectory() + "descent-diverge-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var options = RunOptions()
        options.checkpointDirectory = directory
        let run = try Run(config, workers: 2, options: options)
        var failure: Error?
        do { try run.turn() } catch { failure = error }
        let divergence = try #require(failure as? DivergenceError)
        #expect(divergence.description.contains("Lower the learning rate"))
        run.shell.abandon(divergence)
        let checkpoint = try CheckpointStore(directory: directory).latest(warn: { _ in }, accept: { _, _ in })
        #expect(checkpoint.step == divergence.step)
        #expect(checkpoint.parameters.allSatisfy { $0.isFinite })
    }
}
