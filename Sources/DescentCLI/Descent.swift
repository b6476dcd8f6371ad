import ArgumentParser

/// The `descent` command: one root, a subcommand for each job.
@main
struct Descent: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "descent",
        abstract: "Distributed data-parallel training of an MLP on MNIST over ZeroMQ.",
        subcommands: [
            Train.self, Launch.self, CoordinatorCommand.self, WorkerCommand.self,
            ScheduleCommand.self, DataCommand.self, KeysCommand.self, Bench.self, ReportCommand.self,
            ExperimentCommand.self,
        ])
}
