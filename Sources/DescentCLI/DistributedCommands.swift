import ArgumentParser
import DescentConfig
import DescentCoordinator
import DescentLaunch
import DescentCore
import DescentLogging
import DescentMetrics
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
    @OptionGroup var observe: ObserverArguments

    @OptionGroup var security: ServerSecurityArguments
    @OptionGroup var wire: WireArguments

    @Option(help: "The ZeroMQ endpoint to bind: tcp://0.0.0.0:5555 for other hosts, ipc:///PATH on one machine.")
    var bind: String = "tcp://0.0.0.0:5555"

    @Option(parsing: .unconditional, help: "How many workers to wait for before the first step.")
    var workers: Int

    @Option(parsing: .unconditional, help: "The most workers at once (ranks of the run; the global batch is dealt to this many slots). Default: --workers.")
    var maxWorkers: Int?

    @Option(parsing: .unconditional, help: "Below this many workers the run pauses; after --min-workers-timeout it stops with a checkpoint.")
    var minWorkers: Int = 1

    @Option(parsing: .unconditional, help: "Seconds to wait below --min-workers before stopping.")
    var minWorkersTimeout: Double = 120

    @Option(parsing: .unconditional, help: "Seconds a worker may stay silent before it is treated as lost (its share goes to the others).")
    var silenceLimit: Double = 30

    @Option(parsing: .unconditional, help: "Seconds a worker may take for its gradient of a step before it is treated as lost.")
    var progressDeadline: Double = 60

    @Option(parsing: .unconditional, help: "Give up when the workers have not all joined after this many seconds (default: wait).")
    var registrationTimeout: Double?

    @Option(help: "Write the bound endpoint (with the real port when --bind used '*') to this file.")
    var endpointFile: String?

    @Flag(help: "Send parameters and gradients through the socket even to workers on this host (default: shared memory for them).")
    var noSharedMemory = false

    @Option(help: "Microseconds the coordinator spins for a local worker's gradient, while a CPU is idle anyway, before it sleeps (0: never spin; for hosts shared with other work).")
    var spinMicroseconds: Int = 500

    @Option(help: "Inject a fault, for testing: exit:step=N, hang:step=N, drop:p=P[,seed=S], delay:ms=M[,step=N] (repeatable).")
    var fault: [String] = []

    @Flag(help: "Also be a worker: compute one worker's share (it asks for rank 0) in this process, between sending a step and waiting for the other gradients. It counts toward --workers: start one worker process fewer.")
    var localWorker = false

    @Option(help: "Write the --local-worker's step trace (as 'descent worker --trace' does) to this file.")
    var localWorkerTrace: String?

    @Option(parsing: .unconditional, help: "Pin the coordinator to this CPU (with --local-worker, give the worker processes the other CPUs).")
    var cpu: Int?

    func validate() throws {
        guard workers >= 1 else { throw ValidationError("--workers must be 1 or more (got \(workers))") }
        try FlagRange.check("--cpu", cpu, 0...1023)
        if localWorkerTrace != nil && !localWorker { throw ValidationError("--local-worker-trace needs --local-worker") }
        guard (0...1_000_000).contains(spinMicroseconds) else {
            throw ValidationError("--spin-microseconds must be between 0 and 1000000 (got \(spinMicroseconds))")
        }
        try run.checkCheckpointDirectory()
        do { _ = try FaultPlan.parse(fault) } catch { throw ValidationError("\(error)") }
        try FlagRange.seconds("--silence-limit", silenceLimit)
        try FlagRange.seconds("--progress-deadline", progressDeadline)
        try FlagRange.seconds("--min-workers-timeout", minWorkersTimeout)
        try FlagRange.seconds("--registration-timeout", registrationTimeout)
        if let maxWorkers, !(workers...RunLimits.workers).contains(maxWorkers) {
            throw ValidationError("--max-workers must be between --workers (\(workers)) and \(RunLimits.workers) (got \(maxWorkers))")
        }
        guard workers <= RunLimits.workers else { throw ValidationError("--workers must be at most \(RunLimits.workers) (got \(workers))") }
        guard (1...workers).contains(minWorkers) else { throw ValidationError("--min-workers must be between 1 and --workers (\(workers)) (got \(minWorkers))") }
        if let problem = EndpointCheck.problem(with: bind, use: .bind) {
            throw ValidationError("--bind '\(bind)' \(problem); use e.g. tcp://0.0.0.0:5555 or ipc:///tmp/descent.sock")
        }
        try security.validate(endpoint: bind)
        try OutputPaths.check([("--endpoint-file", endpointFile), ("--local-worker-trace", localWorkerTrace)])
    }

    func run() async throws {
        let serverSecurity = try security.load(endpoint: bind)  // bad keys fail before the data is loaded
        var config = try run.loadConfig()
        wire.apply(to: &config)
        let watching = try observe.startObservers(role: "coordinator", configPath: run.config)
        defer { withExtendedLifetime(watching) {} }
        let mnist = try await RunData.load(RunData.location(commandLine: run.data, config: config))
        var options = CoordinatorOptions(bind: bind, workers: workers, run: run.options)
        options.run.tracePath = observe.tracePath(given: run.trace, name: "coordinator.jsonl")
        options.run.observer = watching.observers
        options.configHash = ConfigDigest.of(config)
        options.silenceLimitSeconds = silenceLimit
        options.progressDeadlineSeconds = progressDeadline
        options.maxWorkers = maxWorkers
        options.minWorkers = minWorkers
        options.minWorkersTimeoutSeconds = minWorkersTimeout
        options.registrationTimeoutSeconds = registrationTimeout
        options.endpointFile = endpointFile
        options.sharedMemory = !noSharedMemory
        options.gradientSpinSeconds = Double(spinMicroseconds) / 1_000_000
        options.security = serverSecurity
        options.stop = try StopRequest(forwardingSignals: true)
        options.faults = try FaultPlan.parse(fault)
        try ParentDeathCheck.arm()
        let coordinator = Coordinator(config: config, train: TrainingSet(images: mnist.train, config: config), test: mnist.test, options: options)
        var colocated: InProcessWorker?
        if localWorker {
            var worker = WorkerOptions(connect: "this coordinator (in process)", requestedRank: 0)
            worker.configHash = options.configHash
            worker.tracePath = localWorkerTrace
            worker.sharedMemory = !noSharedMemory
            colocated = try InProcessWorker(train: mnist.train, options: worker)
        }
        if let cpu {
            // Before the transport's ZeroMQ context, so its I/O thread stays on the same CPU.
            do { try CPUPinning.pin(toCPU: cpu) } catch { Console.error("coordinator: \(error); running unpinned") }
        }
        _ = try coordinator.run(colocated: colocated)
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
    @OptionGroup var wire: WireArguments

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

    @Option(help: "Once admitted, keep trying to rejoin a coordinator that went away (restarted with --resume) for this many seconds.")
    var rejoinTimeout: Double = 120

    @Flag(help: "Refuse the coordinator's shared memory; parameters and gradients go through the socket.")
    var noSharedMemory = false

    @Option(parsing: .unconditional, help: "Pin the worker to this CPU (descent launch gives worker r CPU r when there are enough).")
    var cpu: Int?

    @Option(parsing: .unconditional, help: "On shared memory: microseconds to spin for the next step after sending a gradient, before sleeping (0: sleep at once). For a worker with a CPU to itself; launch --local-worker passes \(LocalWorkerSpin.microseconds) when each process has one.")
    var spinMicroseconds: Int = 0

    @Option(help: "Refuse a coordinator that computes on another backend (onednn or openblas); without it the worker uses the coordinator's.",
            transform: ComputeBackend.parse)
    var backend: ComputeBackend?

    @Option(help: "Inject a fault, for testing: exit:step=N, hang:step=N, drop:p=P[,seed=S], delay:ms=M[,step=N] (repeatable).")
    var fault: [String] = []

    @Option(help: "Log records on standard error: human (default) or json (one object per line).")
    var logFormat: LogFormat = .human

    @Option(help: "Serve this worker's Prometheus metrics at http://HOST:PORT/metrics.")
    var metricsAddress: String?

    func validate() throws {
        if let problem = EndpointCheck.problem(with: connect, use: .connect) {
            throw ValidationError("--connect '\(connect)' \(problem); use e.g. tcp://HOST:5555")
        }
        if let rank, rank < 0 { throw ValidationError("--rank must be 0 or more (got \(rank))") }
        try FlagRange.check("--rank", rank, 0...4095)
        if let cpu, cpu < 0 { throw ValidationError("--cpu must be 0 or more (got \(cpu))") }
        try FlagRange.check("--cpu", cpu, 0...1023)
        try FlagRange.check("--spin-microseconds", spinMicroseconds, 0...1_000_000)
        try FlagRange.seconds("--join-timeout", joinTimeout)
        try FlagRange.seconds("--rejoin-timeout", rejoinTimeout)
        try security.validate(endpoint: connect)
        try OutputPaths.check([("--trace", trace)])
        do { _ = try FaultPlan.parse(fault) } catch { throw ValidationError("\(error)") }
        if let metricsAddress {
            do { _ = try MetricsAddress(parsing: metricsAddress) } catch { throw ValidationError(error.description) }
        }
    }

    func run() async throws {
        if logFormat == .json {
            let logger = ObserverArguments.logger(format: .json, role: "worker", rank: rank)
            Console.redirectErrors { line in logger.notice("\(line)", metadata: ["event": "message"]) }
        }
        let clientSecurity = try security.load(endpoint: connect)
        let runConfig = try config.map { path in
            var loaded = try RunConfig.load(path: path)
            if let backend { loaded.training.backend = backend }  // as the coordinator's --backend does
            wire.apply(to: &loaded)
            return loaded
        }
        let location = RunData.location(commandLine: data, config: runConfig ?? RunConfig())
        let train = try await RunData.loadTraining(location)
        var options = WorkerOptions(connect: connect, requestedRank: rank)
        options.configHash = runConfig.map(ConfigDigest.of) ?? 0
        options.tracePath = trace
        options.joinTimeoutSeconds = joinTimeout
        options.sharedMemory = !noSharedMemory
        options.cpu = cpu
        options.stepSpinSeconds = Double(spinMicroseconds) / 1_000_000
        options.security = clientSecurity
        options.backend = backend
        options.wireEncoding = wire.wireEncoding
        options.faults = try FaultPlan.parse(fault)
        options.rejoinTimeoutSeconds = rejoinTimeout
        options.stop = try StopRequest(forwardingSignals: true)
        var server: MetricsServer?
        if let metricsAddress {
            let metrics = WorkerPrometheusObserver()
            server = try MetricsServer(address: try MetricsAddress(parsing: metricsAddress)) { metrics.exposition() }
            Console.out("Metrics at http://\(server!.address)/metrics")
            options.observer = metrics
        }
        defer { server?.stop() }
        try ParentDeathCheck.arm()
        try Worker(train: train, options: options).run()
    }
}

extension InProcessWorker: ColocatedWorker {}

/// A digest of a parsed config: the same settings give the same digest whatever the comments.
public enum ConfigDigest {
    public static func of(_ config: RunConfig) -> UInt64 {
        max(1, FNV1a.digest(Array(String(describing: config).utf8)))
    }
}

/// `launch`'s children stop when it dies, and a `launch` started by `descent experiment` when
/// that dies (see `ParentDeath`); the signal (SIGHUP) reaches the process's stop request like SIGTERM.
enum ParentDeathCheck {
    static func arm() throws {
        guard ParentDeath.armFromEnvironment() else {
            throw ValidationError("the 'descent launch' that started this process has exited; stopping")
        }
    }
}
