import DescentCore

/// What a coordinator tells a worker when it admits it (the welcome message's JSON payload):
/// everything the worker needs to compute its share of each step, and what it must check
/// against its own copy of the data.
public struct RunSettings: Codable, Sendable, Equatable {
    public var rank: Int
    /// Ranks (slots) of the run: the global batch is dealt to this many (see `SlotAssignment`).
    public var workers: Int
    public var seed: UInt64
    /// Hidden layer widths of the MLP.
    public var hidden: [Int]
    public var parameterCount: Int
    /// Samples per applied update, across all workers.
    public var globalBatch: Int
    /// Training samples per epoch (after the limit and the repeats).
    public var sampleCount: Int
    public var trainLimit: Int?
    public var trainRepeat: Int
    /// OpenBLAS threads the worker should use.
    public var threads: Int
    /// The library the worker must run its matrix products on: the coordinator's, so the run
    /// rounds as one process on that backend would.
    public var backend: ComputeBackend
    /// A digest of the training labels (after the limit), so a worker with other data is refused.
    public var labelsDigest: UInt64
    /// Seconds between application heartbeats, and how long silence may last before a peer is
    /// declared lost.
    public var heartbeatSeconds: Double
    public var silenceLimitSeconds: Double
    /// The shared-memory segment holding the parameters and this worker's gradient slot, when
    /// the worker runs on the coordinator's host (see `SharedStepLayout`); nil: payload frames.
    public var sharedMemoryName: String?
    /// The coordinator's process id, for a worker on its host to notice at once when it dies.
    public var coordinatorPID: Int?
    /// How steps and gradients travel in frames (`bf16`: half the bytes); nil, as an older
    /// coordinator sends it, means float32. Shared memory always carries float32.
    public var wireEncoding: WireEncoding?

    public init(rank: Int, workers: Int, seed: UInt64, hidden: [Int], parameterCount: Int, globalBatch: Int,
                sampleCount: Int, trainLimit: Int?, trainRepeat: Int, threads: Int, backend: ComputeBackend = .default, labelsDigest: UInt64,
                heartbeatSeconds: Double, silenceLimitSeconds: Double, sharedMemoryName: String? = nil, coordinatorPID: Int? = nil) {
        self.coordinatorPID = coordinatorPID
        self.rank = rank
        self.workers = workers
        self.seed = seed
        self.hidden = hidden
        self.parameterCount = parameterCount
        self.globalBatch = globalBatch
        self.sampleCount = sampleCount
        self.trainLimit = trainLimit
        self.trainRepeat = trainRepeat
        self.threads = threads
        self.backend = backend
        self.labelsDigest = labelsDigest
        self.heartbeatSeconds = heartbeatSeconds
        self.silenceLimitSeconds = silenceLimitSeconds
        self.sharedMemoryName = sharedMemoryName
    }
}

extension RunSettings {
    /// The run's wire encoding (float32 when the coordinator named none).
    public var encoding: WireEncoding { wireEncoding ?? .float32 }
}

/// What a worker says about itself when it asks to join (the hello message's JSON payload).
public struct WorkerIntroduction: Codable, Sendable, Equatable {
    public var host: String
    public var pid: Int
    /// The rank the worker would like (`descent launch` numbers its workers); nil: any.
    public var requestedRank: Int?
    /// Which host and network namespace the worker runs in (see `HostIdentity`), so a coordinator
    /// on the same one can offer shared memory.
    public var hostIdentity: String?
    /// The worker can use a shared-memory segment.
    public var sharedMemory: Bool?
    /// The wire encodings (`WireEncoding` names) the worker reads and writes; nil, as an older
    /// worker sends it, means float32 only.
    public var wireEncodings: [String]?

    public init(host: String, pid: Int, requestedRank: Int?, hostIdentity: String? = nil, sharedMemory: Bool? = nil,
                wireEncodings: [String]? = nil) {
        self.wireEncodings = wireEncodings
        self.host = host
        self.pid = pid
        self.requestedRank = requestedRank
        self.hostIdentity = hostIdentity
        self.sharedMemory = sharedMemory
    }
}
