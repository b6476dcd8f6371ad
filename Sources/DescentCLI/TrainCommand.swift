import ArgumentParser
import DescentCore
import DescentTraining

/// `descent train`: the whole run in one process.
struct Train: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train in one process (the reference program, and the baseline of distributed runs).")

    @OptionGroup var run: RunArguments

    func validate() throws { try run.checkCheckpointDirectory() }

    func run() async throws {
        let config = try run.loadConfig()
        let mnist = try await RunData.load(RunData.location(commandLine: run.data, config: config))
        let trainer = Trainer(config: config)
        var options = run.options
        options.stop = try StopRequest(forwardingSignals: true)
        options.configDigest = ConfigDigest.of(config)
        _ = try trainer.run(train: TrainingSet(images: mnist.train, config: config), test: mnist.test, options: options)
    }
}
