import Foundation
import DescentCore
import DescentSchedules
import Yams

/// Everything a training run is told by its YAML file. Every key is documented in
/// `Config/mnist-seed.yaml`; unknown keys and impossible values are refused with the key's name.
public struct RunConfig: Sendable, Equatable {
    /// The seed of every random source: weights, epoch shuffles.
    public var seed: UInt64 = 42
    public var model = Model()
    public var data = DataSection()
    public var training = Training()
    public var optimizer = Optimizer()
    public var schedule: Schedule = .exponential(initialRate: 0.1, decaySteps: 1000, decayRate: 0.96, staircase: true)

    public struct Model: Sendable, Equatable {
        /// Hidden layer widths, input first.
        public var hidden: [Int] = [128]
    }

    public struct DataSection: Sendable, Equatable {
        /// Where the MNIST files are; `--data` and `$DESCENT_DATA` take precedence.
        public var dir: String? = nil
        /// Train on the first N training images only (nil: all).
        public var trainLimit: Int? = nil
        /// Repeat the training set this many times per epoch (tiling, for benchmarks).
        public var trainRepeat: Int = 1
    }

    public struct Training: Sendable, Equatable {
        public var epochs: Int = 15
        /// The global batch: samples per applied update, across all workers.
        public var batchSize: Int? = 32
        /// Alternative to `batchSize` for distributed runs: samples per worker per step.
        public var batchPerWorker: Int? = nil
        /// OpenBLAS threads per process.
        public var threads: Int = 1
        /// The library that runs the matrix products (the same in every process of a run).
        public var backend: ComputeBackend = .default
        /// When gradients are applied: `sync`, `async`, or `bounded` with `staleness` (see `SyncMode`).
        public var sync: SyncMode = .sync
        /// Scale each gradient's rate by 1 / (staleness + 1) (Zhang et al. 2016, "Staleness-aware
        /// async-SGD"): the config's `schedule.staleness_aware`.
        public var stalenessAwareRate = false
        /// How parameters and gradients travel in socket frames between coordinator and workers.
        public var wireEncoding: WireEncoding = .default
    }

    public struct Optimizer: Sendable, Equatable {
        public var momentum: Double = 0
        public var nesterov: Bool = false
        public var weightDecay: Double = 0
    }

    public init() {}

    /// The global batch for `workers` workers.
    public func globalBatch(workers: Int) -> Int {
        if let perWorker = training.batchPerWorker { return perWorker * workers }
        return training.batchSize ?? 32
    }

    /// One worker's batch with `workers` workers: `batch_per_worker`, else `batch_size / workers`
    /// (rounded down, at least 1). In `async` mode every update is one such batch.
    public func workerBatch(workers: Int) -> Int {
        training.batchPerWorker ?? max(1, (training.batchSize ?? 32) / max(workers, 1))
    }
}

extension RunConfig {
    /// Reads and validates a YAML config file.
    public static func load(path: String) throws -> RunConfig {
        let text: String
        do {
            text = try FileReading.text(of: path, maxBytes: 1 << 20)
        } catch {
            throw ConfigError(key: "", "cannot read config file '\(path)': \(error.problem). Pass --config with the path of a YAML file (see Config/).")
        }
        do {
            return try parse(yaml: text)
        } catch let error as ConfigError {
            throw ConfigFileError(path: path, error: error)
        }
    }

    /// Parses and validates YAML text.
    public static func parse(yaml: String) throws -> RunConfig {
        do {
            if yaml.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return RunConfig() }
            try BaseSixtyGuard.check(yaml)
            return try YAMLDecoder().decode(RunConfig.self, from: yaml)
        } catch let error as ConfigError {
            throw error
        } catch DecodingError.dataCorrupted(let context) where context.codingPath.isEmpty {
            if let inner = context.underlyingError as? ConfigError { throw inner }
            let detail = context.underlyingError.map { "\($0)" } ?? context.debugDescription
            throw ConfigError(key: "", "not valid YAML: \(detail)")
        } catch let error as DecodingError {
            throw ConfigError.from(error)
        } catch {
            throw ConfigError(key: "", "not valid YAML: \(error)")
        }
    }
}

/// A `ConfigError` together with the file it came from.
public struct ConfigFileError: Error, CustomStringConvertible {
    public var path: String
    public var error: ConfigError
    public var description: String { "\(path): \(error)" }
}

extension RunConfig: Decodable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(allowing: ["seed", "model", "data", "training", "optimizer", "schedule"])
        self.init()
        if let seed: Int = try c.optional("seed") {
            guard seed >= 0 else { throw c.invalid("seed", "must be a non-negative integer (got \(seed))") }
            self.seed = UInt64(seed)
        }
        model = try c.section("model") ?? model
        data = try c.section("data") ?? data
        training = try c.section("training") ?? training
        optimizer = try c.section("optimizer") ?? optimizer
        schedule = try c.section("schedule", example: "{type: constant, rate: 0.05} (every family: docs/schedules.md)") ?? schedule
        if let options: ScheduleOptions = try c.optional("schedule") { training.stalenessAwareRate = options.stalenessAware }
    }
}

/// The keys of the `schedule:` section that say how the trainer uses the schedule's rate rather
/// than what the rate is (the schedule itself allows and ignores them).
struct ScheduleOptions: Decodable {
    var stalenessAware = false

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: AnyCodingKey.self)
        stalenessAware = try c.value("staleness_aware", default: false)
    }
}

extension KeyedDecodingContainer where Key == AnyCodingKey {
    /// A section of the config, nil when its key is absent. A key present with nothing under it
    /// (`schedule:` followed by no keys) is refused: it reads like a section whose lines were lost,
    /// and a silent default would train with settings nobody wrote.
    func section<T: Decodable>(_ key: String, example: String? = nil) throws -> T? {
        guard contains(AnyCodingKey(key)) else { return nil }
        if (try? decodeNil(forKey: AnyCodingKey(key))) == true {
            let hint = example.map { "; give it keys, e.g. \(key): \($0)," } ?? "; give it keys (see Config/mnist-seed.yaml)"
            throw invalid(key, "is empty\(hint) or remove the line to use the defaults")
        }
        return try optional(key)
    }
}

extension RunConfig.Model: Decodable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(allowing: ["hidden"])
        hidden = try c.value("hidden", default: [128])
        for (i, width) in hidden.enumerated() where !(1...RunLimits.layerWidth).contains(width) {
            throw ConfigError(path: decoder.codingPath + [AnyCodingKey("hidden"), AnyCodingKey(intValue: i)!],
                              width <= 0 ? "layer width must be positive (got \(width))" : "layer width must be at most \(RunLimits.layerWidth) (got \(width))")
        }
        guard hidden.count <= RunLimits.hiddenLayers else {
            throw c.invalid("hidden", "at most \(RunLimits.hiddenLayers) hidden layers (got \(hidden.count))")
        }
        guard RunLimits.parameterCount(inputs: 784, hidden: hidden, classes: 10) != nil else {
            throw c.invalid("hidden", "these layers make an MLP of more than \(RunLimits.parameters) parameters (on 784 inputs and 10 classes); use narrower or fewer layers")
        }
    }
}

extension RunConfig.DataSection: Decodable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(allowing: ["dir", "train_limit", "train_repeat"])
        dir = try c.optional("dir")
        trainLimit = try c.optional("train_limit")
        trainRepeat = try c.value("train_repeat", default: 1)
        if let limit = trainLimit, limit <= 0 { throw c.invalid("train_limit", "must be a positive integer (got \(limit))") }
        guard (1...RunLimits.trainRepeat).contains(trainRepeat) else {
            throw c.invalid("train_repeat", "must be from 1 to \(RunLimits.trainRepeat) (got \(trainRepeat))")
        }
    }
}

extension RunConfig.Training: Decodable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(allowing: ["epochs", "batch_size", "batch_per_worker", "threads", "backend", "sync", "staleness",
                                                      "wire_encoding"])
        epochs = try c.value("epochs", default: 15)
        batchSize = try c.optional("batch_size")
        batchPerWorker = try c.optional("batch_per_worker")
        threads = try c.value("threads", default: 1)
        if let name: String = try c.optional("backend") {
            guard let chosen = ComputeBackend(rawValue: name) else {
                throw c.invalid("backend", "must be one of \(ComputeBackend.choices) (got '\(name)')")
            }
            backend = chosen
        }
        sync = try Self.syncMode(c)
        if let name: String = try c.optional("wire_encoding") {
            guard let chosen = WireEncoding(rawValue: name) else {
                throw c.invalid("wire_encoding", "must be one of \(WireEncoding.choices) (got '\(name)')")
            }
            wireEncoding = chosen
        }
        guard epochs >= 1 else { throw c.invalid("epochs", "must be 1 or more (got \(epochs))") }
        guard epochs <= RunLimits.epochs else { throw c.invalid("epochs", "must be at most \(RunLimits.epochs) (got \(epochs))") }
        if batchSize != nil && batchPerWorker != nil {
            throw c.invalid("batch_per_worker", "give either batch_size (the global batch) or batch_per_worker, not both")
        }
        if batchSize == nil && batchPerWorker == nil { batchSize = 32 }
        if let b = batchSize, b <= 0 { throw c.invalid("batch_size", "must be a positive integer (got \(b))") }
        if let b = batchPerWorker, b <= 0 { throw c.invalid("batch_per_worker", "must be a positive integer (got \(b))") }
        if let b = batchSize, b > RunLimits.batch { throw c.invalid("batch_size", "must be at most \(RunLimits.batch) (got \(b))") }
        if let b = batchPerWorker, b > RunLimits.batch { throw c.invalid("batch_per_worker", "must be at most \(RunLimits.batch) (got \(b))") }
        guard threads >= 1 else { throw c.invalid("threads", "must be 1 or more (got \(threads))") }
        guard threads <= RunLimits.threads else { throw c.invalid("threads", "must be at most \(RunLimits.threads) (got \(threads))") }
    }
}

extension RunConfig.Training {
    /// `sync` and `staleness`: `staleness` belongs to `bounded` only, and is a whole number >= 0.
    static func syncMode(_ c: KeyedDecodingContainer<AnyCodingKey>) throws -> SyncMode {
        let name: String = try c.value("sync", default: "sync")
        let staleness: ConfigValue? = try c.optional("staleness")
        switch name {
        case "sync", "async":
            if let staleness {
                throw c.invalid("staleness", "applies to sync: bounded only (got \(staleness) with sync: \(name)); remove it or set sync: bounded")
            }
            return name == "sync" ? .sync : .async
        case "bounded":
            guard let staleness else {
                throw c.invalid("staleness", "is required with sync: bounded: the most steps a worker may run ahead of the slowest (e.g. staleness: 2)")
            }
            guard let k: Int = try? c.optional("staleness"), k >= 0 else {
                throw c.invalid("staleness", "must be a whole number >= 0 (got \(staleness))")
            }
            guard k <= SyncMode.largestStaleness else {
                throw c.invalid("staleness", "must be at most \(SyncMode.largestStaleness) (got \(k)): the coordinator keeps a sum of the parameters for each step that may be in flight")
            }
            return .bounded(staleness: k)
        default:
            throw c.invalid("sync", "must be one of \(SyncMode.names.joined(separator: ", ")) (got '\(name)')")
        }
    }
}

extension RunConfig.Optimizer: Decodable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(allowing: ["momentum", "nesterov", "weight_decay"])
        momentum = try c.value("momentum", default: 0)
        nesterov = try c.value("nesterov", default: false)
        weightDecay = try c.value("weight_decay", default: 0)
        guard momentum >= 0, momentum < 1 else { throw c.invalid("momentum", "must be in [0, 1) (got \(momentum))") }
        guard weightDecay >= 0, weightDecay.isFinite else { throw c.invalid("weight_decay", "must be 0 or more (got \(weightDecay))") }
        if nesterov && momentum == 0 { throw c.invalid("nesterov", "needs momentum > 0") }
    }
}
