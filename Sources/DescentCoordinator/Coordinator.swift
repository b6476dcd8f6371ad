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
    public var workers: Int
    public var run: RunOptions
    /// Seconds between application heartbeats.
    public var heartbeatSeconds: Double = 1
    /// A worker silent this long is declared lost and the run fails.
    public var silenceLimitSeconds: Double = 30
    /// Give up when the workers have not all registered after this long (nil: wait forever).
    public var registrationTimeoutSeconds: Double? = nil
    /// Digest of the config file, to refuse workers started with another one.
    public var configHash: UInt64 = 0
    /// When set, the coordinator writes the endpoint it bound to this file (after binding).
    public var endpointFile: String?
    /// Pass parameters and gradients through shared memory with workers on this host.
    public var sharedMemory = true
    /// CURVE keys and the workers' allow-list, or plaintext (see `SocketSecurity`).
    public var security: ServerSecurity = .insecure

    public init(bind: String, workers: Int, run: RunOptions) {
        self.bind = bind
        self.workers = workers
        self.run = run
    }
}

/// Why a coordinator stopped without finishing the run.
public enum CoordinatorError: Error, CustomStringConvertible {
    case workerLost(rank: Int, host: String, seconds: Double)
    case registrationTimedOut(missing: Int, seconds: Double)
    case cannotBind(endpoint: String, reason: String)
    case interrupted

    public var description: String {
        switch self {
        case let .workerLost(rank, host, seconds):
            return "worker rank \(rank) (\(host)) has been silent for \(Int(seconds)) s; synchronous training cannot go on without it. Restart the run (or the worker) and check that host."
        case let .registrationTimedOut(missing, seconds):
            return "\(missing) worker(s) had not registered after \(Int(seconds)) s. Start them with 'descent worker --connect <this coordinator's address>', and check the address and firewall."
        case let .cannotBind(endpoint, reason):
            return "cannot bind \(endpoint): \(reason). Pick another port or address with --bind."
        case .interrupted:
            return "interrupted"
        }
    }
}

/// The coordinator process: owns the global step, the schedule and the model; sends each step's
/// (step, rate, parameters) to every worker over one ROUTER socket (and, for workers on this host,
/// through shared memory), averages their gradients (weighted by samples) and applies SGD with the
/// rate of that step. Protocol decisions are the `CoordinatorMachine`'s; `CoordinatorRun` does the
/// I/O, the arithmetic and the reporting.
public final class Coordinator {
    public let config: RunConfig
    public let options: CoordinatorOptions
    private let shape: MLPShape
    private let train: TrainingSet
    private let test: LabeledImages
    private let runID: UInt64

    /// Set from a signal handler to ask the loop to stop.
    nonisolated(unsafe) public static var stopRequested: Int32 = 0

    public init(config: RunConfig, train: TrainingSet, test: LabeledImages, options: CoordinatorOptions) {
        self.config = config
        self.options = options
        self.train = train
        self.test = test
        shape = MLPShape(inputs: train.images.featureCount, hidden: config.model.hidden, classes: 10)
        var generator = SeededGenerator(seed: UInt64(UInt32(truncatingIfNeeded: getpid())) ^ UInt64(Date().timeIntervalSince1970 * 1e6))
        runID = generator.next() | 1
    }

    /// Binds, waits for the workers, trains, and returns what the run measured. Throws when the
    /// run cannot go on (a worker lost, no workers, interrupted), after telling the workers to stop.
    public func run() throws -> RunSummary {
        BLASThreads.set(config.training.threads)
        return try CoordinatorRun(config: config, options: options, train: train, test: test, shape: shape, runID: runID).run()
    }
}
