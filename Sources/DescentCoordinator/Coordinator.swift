import DescentConfig
import DescentCore
import DescentData
import DescentModel
import DescentProtocol
import DescentSchedules
import DescentTraining
import DescentTransport
import Foundation

/// How a coordinator process runs, beyond the run's config.
public struct CoordinatorOptions: Sendable {
    /// The endpoint to bind, e.g. `tcp://0.0.0.0:5555` or `ipc:///tmp/descent.sock`.
    public var bind: String
    /// Workers to wait for before the first step.
    public var workers: Int
    /// Ranks of the run: the most workers at once (the global batch is dealt to this many slots).
    public var maxWorkers: Int?
    /// Below this many workers the run pauses, and stops with a checkpoint after `minWorkersTimeoutSeconds`.
    public var minWorkers: Int = 1
    public var minWorkersTimeoutSeconds: Double? = 120
    public var run: RunOptions
    /// Seconds between application heartbeats.
    public var heartbeatSeconds: Double = 1
    /// A worker silent this long is declared lost (its share goes to the others).
    public var silenceLimitSeconds: Double = 30
    /// A worker that has not sent its gradient this long after a step went out is declared lost.
    public var progressDeadlineSeconds: Double = 60
    /// Give up when the workers have not all registered after this long (nil: wait forever).
    public var registrationTimeoutSeconds: Double? = nil
    /// Digest of the config file, to refuse workers started with another one.
    public var configHash: UInt64 = 0
    /// When set, the coordinator writes the endpoint it bound to this file (after binding).
    public var endpointFile: String?
    /// Pass parameters and gradients through shared memory with workers on this host.
    public var sharedMemory = true
    /// How long the coordinator spins for a local worker's gradient before sleeping on the futex,
    /// when fewer local workers compute than there are CPUs (0: never).
    public var gradientSpinSeconds = 0.0005
    /// SIGINT/SIGTERM arrive here; the coordinator then stops with a checkpoint.
    public var stop: StopRequest?
    /// Faults to inject (a testing tool; see `FaultPlan`).
    public var faults = FaultPlan()
    /// CURVE keys and the workers' allow-list, or plaintext (see `SocketSecurity`).
    public var security: ServerSecurity = .insecure

    public init(bind: String, workers: Int, run: RunOptions) {
        self.bind = bind
        self.workers = workers
        self.run = run
    }

    /// The ranks of the run.
    public var slots: Int { max(maxWorkers ?? workers, workers) }
}

/// Why a coordinator stopped without finishing the run.
public enum CoordinatorError: Error, CustomStringConvertible {
    case tooFewWorkers(have: Int, need: Int, seconds: Double)
    case registrationTimedOut(missing: Int, seconds: Double)
    case cannotBind(endpoint: String, reason: String)
    case diverged(step: Int, rank: Int)
    /// The worker of `--local-worker` could not go on.
    case localWorker(String)
    case interrupted

    init(_ failure: CoordinatorMachine.Failure) {
        switch failure {
        case let .registrationTimedOut(missing, seconds): self = .registrationTimedOut(missing: missing, seconds: seconds)
        case let .tooFewWorkers(have, need, seconds): self = .tooFewWorkers(have: have, need: need, seconds: seconds)
        case let .diverged(step, rank): self = .diverged(step: step, rank: rank)
        }
    }

    public var description: String {
        switch self {
        case let .tooFewWorkers(have, need, seconds):
            return "only \(have) worker(s) after waiting \(Int(seconds)) s for at least \(need) (--min-workers). Start more workers with 'descent worker --connect <this coordinator's address>' and resume with --resume."
        case let .registrationTimedOut(missing, seconds):
            return "\(missing) worker(s) had not registered after \(Int(seconds)) s. Start them with 'descent worker --connect <this coordinator's address>', and check the address and firewall."
        case let .cannotBind(endpoint, reason):
            return "cannot bind \(endpoint): \(reason). Pick another port or address with --bind."
        case let .diverged(step, rank):
            return "training diverged at step \(step): the gradient of rank \(rank) is NaN or infinite. Lower the learning rate or add warmup."
        case .localWorker(let reason):
            return "the coordinator's own worker (--local-worker) stopped: \(reason)"
        case .interrupted:
            return "interrupted"
        }
    }
}

/// The coordinator process: owns the global step, the schedule and the model; sends each step's
/// (step, rate, parameters) to the workers over one ROUTER socket (and, for workers on this host,
/// through shared memory), averages their gradients (weighted by samples) and applies SGD with the
/// rate of that step. Decisions are the `CoordinatorMachine`'s; `CoordinatorShell` executes them.
public final class Coordinator {
    public let config: RunConfig
    public let options: CoordinatorOptions
    private let shape: MLPShape
    private let train: TrainingSet
    private let test: LabeledImages

    public init(config: RunConfig, train: TrainingSet, test: LabeledImages, options: CoordinatorOptions) {
        self.config = config
        self.options = options
        self.train = train
        self.test = test
        shape = MLPShape(inputs: train.images.featureCount, hidden: config.model.hidden, classes: 10)
    }

    /// Binds, waits for the workers, trains, and returns what the run measured. Throws when the
    /// run cannot go on (too few workers, divergence, interrupted), after telling the workers to
    /// stop and saving a checkpoint when the run keeps them.
    /// `colocated`: a worker this coordinator's thread runs too (`--local-worker`).
    public func run(colocated: ColocatedWorker? = nil) throws -> RunSummary {
        // The shared segment holds one step's parameters for every local rank; async and bounded
        // modes send each worker the parameters of its own moment, so they go in frames.
        let sharedMemory = options.sharedMemory && config.training.sync == .sync
        if options.sharedMemory && !sharedMemory {
            Console.out("\(config.training.sync) mode: parameters and gradients go through the socket (shared memory serves sync mode only)")
        }
        let shell = try makeShell(colocated: colocated) { runID, generation, parameterCount, slots in
            sharedMemory
                ? try SharedMemoryTransport.make(bind: options.bind, runID: runID, generation: generation, parameterCount: parameterCount, slots: slots,
                                                 security: options.security, spinSeconds: options.gradientSpinSeconds,
                                                 wireEncoding: config.training.wireEncoding)
                : try SocketTransport(bind: options.bind, parameterCount: parameterCount, security: options.security, workers: slots,
                                      wireEncoding: config.training.wireEncoding)
        }
        return try shell.run()
    }

    /// Everything of a run but the loop, on the transport `makeTransport(runID, generation, parameterCount, slots)` gives.
    func makeShell(colocated: ColocatedWorker? = nil, _ makeTransport: (UInt64, UInt32, Int, Int) throws -> CoordinatorTransport) throws -> CoordinatorShell {
        try train.checkNotEmpty()
        guard options.slots <= SlotAssignment.maxSlots else {
            throw ValidationFailure("a run has at most \(SlotAssignment.maxSlots) workers (got \(options.slots))")
        }
        BLASThreads.set(config.training.threads)
        let trainer = Trainer(config: config, featureCount: train.images.featureCount)
        let fresh = trainer.freshProgress(train: train, maxSteps: options.run.maxSteps, workers: options.workers,
                                          mode: config.training.sync)
        var progress = fresh
        var initialParameters = shape.initialParameters(seed: config.seed)
        var runID = Coordinator.newRunID()
        var generation: UInt32 = 0
        if let directory = options.run.autoResumeDirectory ?? options.run.resumeDirectory {
            let checkpoint = try Checkpoint.resume(from: directory, expecting: fresh, parameterCount: shape.parameterCount,
                                                   configDigest: options.configHash)
            progress = try Checkpoint.progress(resuming: checkpoint, from: directory, fresh: fresh, maxSteps: options.run.maxSteps)
            initialParameters = checkpoint.parameters
            runID = checkpoint.header.runID
            generation = checkpoint.header.generation &+ 1
            Console.out("Resuming run \(runID) at step \(progress.step) of \(progress.totalSteps) from \(directory) "
                        + "(generation \(generation), rate \(progress.rate))")
        }
        let base = try makeTransport(runID, generation, shape.parameterCount, options.slots)
        let transport: CoordinatorTransport = colocated.map { ColocatedTransport(base: base, network: $0.network) } ?? base
        _ = transport.parameters.update(fromContentsOf: initialParameters)
        if let file = options.endpointFile { try AtomicFile.write(Array(transport.endpoint.utf8), to: file) }

        let driver = try ProgressDriver(progress: progress, shape: shape, test: test, epochs: config.training.epochs,
                                        options: options.run,
                                        identity: Checkpoint.Identity(runID: runID, generation: generation, configDigest: options.configHash),
                                        backend: config.training.backend,
                                        now: monotonicSeconds())
        let machine = CoordinatorMachine(
            settings: .init(runID: runID, generation: generation, plan: progress.plan, totalSteps: progress.totalSteps,
                            slots: options.slots, initialWorkers: options.workers, minWorkers: options.minWorkers,
                            configHash: options.configHash, silenceLimit: options.silenceLimitSeconds,
                            progressDeadline: options.progressDeadlineSeconds, minWorkersTimeout: options.minWorkersTimeoutSeconds,
                            registrationTimeout: options.registrationTimeoutSeconds, heartbeatInterval: options.heartbeatSeconds,
                            mode: config.training.sync)
                .withWireEncoding(config.training.wireEncoding),
            step: progress.step, now: monotonicSeconds())
        let settings = RunSettings(
            rank: 0, workers: options.slots, seed: config.seed, hidden: config.model.hidden, parameterCount: shape.parameterCount,
            globalBatch: progress.plan.globalBatch, sampleCount: train.count, trainLimit: config.data.trainLimit,
            trainRepeat: config.data.trainRepeat, threads: config.training.threads, backend: config.training.backend,
            labelsDigest: RunData.labelsDigest(train.images),
            heartbeatSeconds: options.heartbeatSeconds, silenceLimitSeconds: options.silenceLimitSeconds,
            coordinatorPID: Int(getpid()))
            .withWireEncoding(config.training.wireEncoding)
        Console.out("Coordinator listening on \(transport.endpoint) (run \(runID)), waiting for \(options.workers) worker(s); "
                    + "\(progress.plan.stepsPerEpoch) steps per epoch, global batch \(progress.plan.globalBatch), \(progress.totalSteps) steps")
        Console.out("Schedule: \(progress.policy.schedule.summary)")
        if config.training.sync.isPipelined {
            Console.out("Synchronisation: \(config.training.sync)"
                        + (config.training.sync == .async ? ", one worker's batch of \(progress.plan.globalBatch) per update" : "")
                        + (config.training.stalenessAwareRate ? ", staleness-aware rate (rate / (staleness + 1))" : ""))
        }
        return CoordinatorShell(machine: machine, transport: transport, driver: driver, settings: settings,
                                options: options, stop: options.stop, stalenessAwareRate: config.training.stalenessAwareRate, colocated: colocated)
    }

    private static func newRunID() -> UInt64 {
        var generator = SystemRandomNumberGenerator()
        return generator.next() | 1
    }
}

extension CoordinatorMachine.Settings {
    /// These settings with `encoding` on the wire.
    func withWireEncoding(_ encoding: WireEncoding) -> Self {
        var settings = self
        settings.wireEncoding = encoding
        return settings
    }
}

extension RunSettings {
    /// These settings naming `encoding` (nil for float32, so a float32 welcome is as before).
    func withWireEncoding(_ encoding: WireEncoding) -> Self {
        var settings = self
        settings.wireEncoding = encoding == .float32 ? nil : encoding
        return settings
    }
}

/// A setting that cannot work, found before the run starts.
public struct ValidationFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
