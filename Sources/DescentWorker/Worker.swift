import DescentCore
import DescentData
import DescentModel
import DescentProtocol
import DescentTraining
import DescentTransport
import Foundation

/// How a worker process runs.
public struct WorkerOptions: Sendable {
    /// The coordinator's endpoint, e.g. `tcp://10.0.0.1:5555`.
    public var connect: String
    /// The rank to ask for (`descent launch` numbers its workers); nil: any free rank.
    public var requestedRank: Int?
    /// Digest of the worker's config file, if it was given one (0: none).
    public var configHash: UInt64 = 0
    /// Write one JSON line per computed step (step, rank, rate received, samples).
    public var tracePath: String?
    /// Give up when not admitted after this many seconds (nil: never).
    public var joinTimeoutSeconds: Double? = 120
    /// Accept the coordinator's shared-memory segment when both run on the same host.
    public var sharedMemory = true
    /// Pin the worker's threads to this CPU.
    public var cpu: Int?
    /// On shared memory: after sending a gradient, spin this long for the next step before
    /// sleeping on the futex (0: sleep at once). For a worker with a CPU to itself.
    public var stepSpinSeconds: Double = 0
    /// Once admitted, how long to keep trying to rejoin a coordinator that went away.
    public var rejoinTimeoutSeconds: Double = 120
    /// SIGINT/SIGTERM arrive here.
    public var stop: StopRequest?
    /// Faults to inject (a testing tool; see `FaultPlan`).
    public var faults = FaultPlan()
    /// Refuse a coordinator that computes on another backend (nil: use the coordinator's).
    public var backend: ComputeBackend?
    /// Refuse a coordinator that uses another wire encoding (nil: use the coordinator's).
    public var wireEncoding: WireEncoding?
    /// Told about every computed step (the worker's metrics).
    public var observer: (any WorkerStepObserver)?
    /// The coordinator's public key and this worker's keys, or plaintext (see `SocketSecurity`).
    public var security: ClientSecurity = .insecure

    public init(connect: String, requestedRank: Int? = nil) {
        self.connect = connect
        self.requestedRank = requestedRank
    }
}

/// Why a worker stopped without being told to.
public enum WorkerError: Error, CustomStringConvertible {
    case refused(reason: String)
    /// `state`: how far the worker got (no connection; connected but not admitted; admitted).
    case gaveUp(endpoint: String, reason: String, state: String)
    case dataMismatch(String)
    case cannotConnect(endpoint: String, reason: String)
    case sharedMemory(String)
    /// The coordinator stopped the run because it failed (or dropped this worker).
    case runFailed(reason: String)
    case interrupted

    public var description: String {
        switch self {
        case let .refused(reason):
            return "the coordinator refused this worker: \(reason)"
        case let .gaveUp(endpoint, reason, state):
            return "gave up on the coordinator at \(endpoint): \(reason) (\(state)). Check that 'descent coordinator' runs and that --connect names its address and port."
        case let .dataMismatch(detail):
            return "this worker's training data differs from the coordinator's: \(detail). Point --data at the same MNIST files and use the same config."
        case let .cannotConnect(endpoint, reason):
            return "cannot connect to \(endpoint): \(reason). Use an address like tcp://HOST:5555."
        case let .sharedMemory(detail):
            return "cannot use the coordinator's shared memory: \(detail). Start the worker with --no-shared-memory to use the socket instead."
        case let .runFailed(reason):
            return "the run did not finish: \(reason)"
        case .interrupted:
            return "interrupted"
        }
    }
}

/// One step's record in a worker's trace: the rate it received with the parameters.
public struct WorkerStepRecord: Codable, Sendable, Equatable {
    public var step: Int
    public var rank: Int
    public var epoch: Int
    public var batch: Int
    public var rate: Double
    public var samples: Int
    /// Milliseconds from the step's arrival to its gradient being handed to the socket.
    public var computeMs: Double
    /// Milliseconds this worker waited between sending the previous gradient and this step arriving.
    public var idleMs: Double?
    /// Resident memory of the worker (MB), every 100 steps.
    public var rssMB: Double?
    /// The step's round (0 unless it was dealt again after a membership change) and the slots computed.
    public var round: UInt16 = 0
    public var slots: [Int] = []

    enum CodingKeys: String, CodingKey {
        case step, rank, epoch, batch, rate, samples, round, slots
        case computeMs = "compute_ms"
        case idleMs = "idle_ms"
        case rssMB = "rss_mb"
    }
}

/// The worker process: joins a coordinator, then for every step it is sent computes the
/// gradient of its share of that step's global batch at the parameters it received, and sends
/// it back. Protocol decisions are the `WorkerMachine`'s; this class does the I/O and the math.
public final class Worker {
    public let options: WorkerOptions
    private let train: LabeledImages

    /// `train` is the whole training set as loaded; the coordinator's settings say how much of
    /// it the run uses.
    public init(train: LabeledImages, options: WorkerOptions) {
        self.train = train
        self.options = options
    }

    /// Runs until the coordinator says stop (returns normally) or something fails (throws).
    public func run() throws {
        if let cpu = options.cpu {
            // Before the ZeroMQ context, so its I/O thread stays on the same CPU.
            do { try CPUPinning.pin(toCPU: cpu) } catch { Console.error("worker: \(error); running unpinned") }
        }
        let socket = try SocketWorkerTransport(connect: options.connect, security: options.security)
        let transport: WorkerTransport = options.sharedMemory ? SharedMemoryWorkerTransport(control: socket, stepSpinSeconds: options.stepSpinSeconds) : socket
        Console.error("worker: connecting to \(options.connect)")
        try WorkerShell(options: options, train: train, transport: transport).run()
    }
}

extension WorkerStepRecord: JSONLineRecord {
    public func writeJSON(into object: inout JSONObjectText) {
        object.add("batch", batch)
        object.add("compute_ms", computeMs)
        object.add("epoch", epoch)
        object.add("idle_ms", idleMs)
        object.add("rank", rank)
        object.add("rate", rate)
        object.add("round", Int(round))
        object.add("rss_mb", rssMB)
        object.add("samples", samples)
        object.add("slots", slots)
        object.add("step", step)
    }
}
