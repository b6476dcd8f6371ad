import ArgumentParser

/// The `descent` command: one root, a subcommand for each job.
@main
struct Descent: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "descent",
        abstract: "Distributed data-parallel training of an MLP on MNIST over ZeroMQ.",
        subcommands: [Bench.self])
}
