import ArgumentParser
import DescentConfig
import DescentCoordinator
import DescentCore
import DescentTraining
import DescentTransport
import DescentWorker
import Foundation

/// `descent coordinator`: owns the step, the schedule and the model; drives the workers.
struct CoordinatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coordinator",
        abstract: "Run the coordinator: it waits for the workers, then drives synchronous averaged SGD.")

    @OptionGroup var run: RunArguments

    @OptionGroup var security: ServerSecurityArguments

    @Option(help: "The ZeroMQ endpoint to bind: tcp://0.0.0.0:5555 for other hosts, ipc:///PATH on one machine.")
    var bind: String = "tcp://0.0.0.0:5555"

    @Option(parsing: .unconditional, help: "How many workers to wait for (1-4096).")
    var workers: Int

    @Option(parsing: .unconditional, help: "Seconds a worker may stay silent before the run fails.")
    var silenceLimit: Double = 30

    @Option(parsing: .unconditional, help: "Give up when the workers have not all joined after this many seconds (default: wait).")
    var registrationTimeout: Double?

    @Option(help: "Write the bound endpoint (with the real port when --bind used '*') to this file.")
    var endpointFile: String?

    @Flag(help: "Send parameters and gradients through the socket even to workers on this host (default: shared memory for them).")
    var noSharedMemory = false

    func validate() throws {
        guard workers >= 1 else { throw ValidationError("--workers must be 1 or more (got \(workers))") }
        try FlagRange.check("--workers", workers, 1...4096)
        try FlagRange.seconds("--silence-limit", silenceLimit)
        try FlagRange.seconds("--registration-timeout", registrationTimeout)
        if let problem = EndpointCheck.problem(with: bind, use: .bind) {
            throw ValidationError("--bind '\(bind)' \(problem); use e.g. tcp://0.0.0.0:5555 or ipc:///tmp/descent.sock")
        }
        try security.validate(endpoint: bind)
        try OutputPaths.check([("--endpoint-file", endpointFile)])
    }

    func run() async throws {
        let serverSecurity = try security.load(endpoint: bind)  // bad keys fail before the data is loaded
        let config = try run.loadConfig()
        let mnist = try await RunData.load(RunData.location(commandLine: run.data, config: config))
        var options = CoordinatorOptions(bind: bind, workers: workers, run: run.options)
        options.configHash = ConfigDigest.of(config)
        options.silenceLimitSeconds = silenceLimit
        options.registrationTimeoutSeconds = registrationTimeout
        options.endpointFile = endpointFile
        options.sharedMemory = !noSharedMemory
        options.security = serverSecurity
        StopSignals.install { Coordinator.stopRequested = 1 }
        let coordinator = Coordinator(config: config, train: TrainingSet(images: mnist.train, config: config), test: mnist.test, options: options)
        _ = try coordinator.run()
    }
}

/// `descent worker`: computes gradients for a coordinator.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run a worker: it joins the coordinator and computes the gradients of its share of every step.")

    @Option(help: "The coordinator's endpoint, e.g. tcp://HOST:5555.")
    var connect: String

    @OptionGroup var security: ClientSecurityArguments

    @Option(help: "Directory of the MNIST files (default: $DESCENT_DATA, else ./data/mnist; fetched there when missing).")
    var data: String?

    @Option(help: "The config file; when given, the coordinator refuses this worker if its config differs.")
    var config: String?

    @Option(parsing: .unconditional, help: "Ask for this rank (the coordinator gives another when it is taken).")
    var rank: Int?

    @Option(help: "Write one JSON line per computed step (step, rank, the rate received) to this file.")
    var trace: String?

    @Option(parsing: .unconditional, help: "Give up when not admitted after this many seconds.")
    var joinTimeout: Double = 120

    @Flag(help: "Refuse the coordinator's shared memory; parameters and gradients go through the socket.")
    var noSharedMemory = false

    @Option(parsing: .unconditional, help: "Pin the worker to this CPU (descent launch gives worker r CPU r when there are enough).")
    var cpu: Int?

    func validate() throws {
        if let problem = EndpointCheck.problem(with: connect, use: .connect) {
            throw ValidationError("--connect '\(connect)' \(problem); use e.g. tcp://HOST:5555")
        }
        if let rank, rank < 0 { throw ValidationError("--rank must be 0 or more (got \(rank))") }
        try FlagRange.check("--rank", rank, 0...4095)
        if let cpu, cpu < 0 { throw ValidationError("--cpu must be 0 or more (got \(cpu))") }
        try FlagRange.check("--cpu", cpu, 0...1023)
        try FlagRange.seconds("--join-timeout", joinTimeout)
        try security.validate(endpoint: connect)
        try OutputPaths.check([("--trace", trace)])
    }

    func run() async throws {
        let clientSecurity = try security.load(endpoint: connect)
        let runConfig = try config.map { try RunConfig.load(path: $0) }
        let location = RunData.location(commandLine: data, config: runConfig ?? RunConfig())
        let train = try await RunData.loadTraining(location)
        var options = WorkerOptions(connect: connect, requestedRank: rank)
        options.configHash = runConfig.map(ConfigDigest.of) ?? 0
        options.tracePath = trace
        options.joinTimeoutSeconds = joinTimeout
        options.sharedMemory = !noSharedMemory
        options.cpu = cpu
        options.security = clientSecurity
        StopSignals.install { Worker.stopRequested = 1 }
        try Worker(train: train, options: options).run()
    }
}

/// A digest of a parsed config: the same settings give the same digest whatever the comments.
enum ConfigDigest {
    static func of(_ config: RunConfig) -> UInt64 {
        max(1, FNV1a.digest(Array(String(describing: config).utf8)))
    }
}
