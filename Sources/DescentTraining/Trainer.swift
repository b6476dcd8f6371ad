import DescentConfig
import DescentCore
import DescentData
import DescentModel
import DescentSchedules

/// Options of a run that are not part of the model's config: where to write, when to stop early.
public struct RunOptions: Sendable {
    /// Stop after this many applied updates (nil: train every epoch of the config).
    public var maxSteps: Int?
    /// Write one JSON line per step here.
    public var tracePath: String?
    /// Save the final parameters here (see `ParameterFile`).
    public var savePath: String?
    /// Evaluate on the test set at every epoch end (always at the end of the run).
    public var evaluateEachEpoch = true
    /// Write checkpoints into this directory (see `CheckpointStore`).
    public var checkpointDirectory: String?
    /// Checkpoint every this many applied steps (nil: only when stopped or failing).
    public var checkpointEverySteps: Int?
    /// ... and/or every this many seconds.
    public var checkpointEverySeconds: Double?
    /// Continue from the newest good checkpoint in this directory.
    public var resumeDirectory: String?
    /// Continue from this directory's newest good checkpoint when it holds one, else start afresh
    /// (for supervisors that restart a run: launch, systemd, Slurm's requeue).
    public var autoResumeDirectory: String? {
        guard autoResume, let directory = checkpointDirectory, !CheckpointStore(directory: directory).files().isEmpty else { return nil }
        return directory
    }
    /// See `autoResumeDirectory`.
    public var autoResume = false
    /// Checked between steps: a posted signal stops the run (with a checkpoint when it keeps them).
    public var stop: StopRequest?
    /// The config's digest, written into checkpoints and checked when resuming.
    public var configDigest: UInt64 = 0
    /// Told about every step, epoch and event of the run (progress, metrics, TensorBoard, logs).
    public var observer: (any RunObserver)?

    public init(maxSteps: Int? = nil, tracePath: String? = nil, savePath: String? = nil) {
        self.maxSteps = maxSteps
        self.tracePath = tracePath
        self.savePath = savePath
    }
}

/// The training samples of a run: the config's limit applied, then the set repeated
/// `train_repeat` times (sample `i` is image `i % images.count`).
public struct TrainingSet: Sendable {
    public let images: LabeledImages
    public let repeats: Int
    public var count: Int { images.count * repeats }

    public init(images: LabeledImages, config: RunConfig) {
        self.images = images.prefix(config.data.trainLimit)
        self.repeats = config.data.trainRepeat
    }

    /// Throws when there is nothing to train on (an empty training file).
    public func checkNotEmpty() throws {
        guard count > 0 else { throw EmptyTrainingSet() }
    }
}

/// A training set without a single image.
public struct EmptyTrainingSet: Error, CustomStringConvertible {
    public var description: String { "the training set holds no images; check the training files in the data directory" }
}

/// What a finished run measured.
public struct RunSummary: Sendable {
    public var steps: Int
    public var testLoss: Double
    public var testAccuracy: Double
    public var finalRate: Float
    public var parameters: [Float]
    public var seconds: Double
    /// Async and bounded modes: the mean and largest staleness over every applied gradient (nil in sync mode).
    public var staleness: StalenessTally?

    public init(steps: Int, testLoss: Double, testAccuracy: Double, finalRate: Float, parameters: [Float], seconds: Double,
                staleness: StalenessTally? = nil) {
        self.staleness = staleness
        self.steps = steps
        self.testLoss = testLoss
        self.testAccuracy = testAccuracy
        self.finalRate = finalRate
        self.parameters = parameters
        self.seconds = seconds
    }
}

/// Trains the MLP in one process: the reference program, and the baseline every distributed
/// run must reproduce (its global batches are exactly those `EpochPlan` deals to workers).
public final class Trainer {
    public let config: RunConfig
    public let shape: MLPShape

    public init(config: RunConfig, featureCount: Int = 784) {
        self.config = config
        self.shape = MLPShape(inputs: featureCount, hidden: config.model.hidden, classes: 10)
    }

    /// The progress of a fresh run of this config on `train`.
    /// `mode`: a distributed run's (`async` makes one worker's batch an update); the
    /// single-process trainer has no staleness, so it trains as `sync` whatever the config says.
    public func freshProgress(train: TrainingSet, maxSteps: Int?, workers: Int = 1, mode: SyncMode = .sync) -> TrainingProgress {
        let batch = mode == .async ? config.workerBatch(workers: workers) : config.globalBatch(workers: workers)
        let plan = EpochPlan(sampleCount: train.count, globalBatch: batch, seed: config.seed)
        return TrainingProgress(
            plan: plan, totalSteps: min(config.training.epochs * plan.stepsPerEpoch, maxSteps ?? Int.max),
            policy: LearningRatePolicy(schedule: config.schedule, stepsPerEpoch: plan.stepsPerEpoch, globalBatch: batch),
            optimizer: SGD(config.optimizer, parameterCount: shape.parameterCount), now: monotonicSeconds())
    }

    public func run(train: TrainingSet, test: LabeledImages, options: RunOptions = RunOptions()) throws -> RunSummary {
        try train.checkNotEmpty()
        BLASThreads.set(config.training.threads)
        let fresh = freshProgress(train: train, maxSteps: options.maxSteps)
        var progress = fresh
        var parameters = shape.initialParameters(seed: config.seed)
        if let directory = options.autoResumeDirectory ?? options.resumeDirectory {
            let checkpoint = try Checkpoint.resume(from: directory, expecting: fresh, parameterCount: shape.parameterCount,
                                                   configDigest: options.configDigest)
            progress = try Checkpoint.progress(resuming: checkpoint, from: directory, fresh: fresh, maxSteps: options.maxSteps)
            parameters = checkpoint.parameters
            Console.out("Resuming at step \(progress.step) of \(progress.totalSteps) from \(directory) (rate \(progress.rate))")
        }
        let driver = try ProgressDriver(progress: progress, shape: shape, test: test, epochs: config.training.epochs, options: options,
                                        identity: Checkpoint.Identity(runID: 0, generation: 0, configDigest: options.configDigest),
                                        backend: config.training.backend, now: monotonicSeconds())
        let plan = driver.progress.plan
        var gradient = [Float](repeating: 0, count: shape.parameterCount)
        let engine = GradientEngine(shape: shape, maxBatch: plan.globalBatch, backend: config.training.backend)
        let buffer = BatchBuffer(capacity: plan.globalBatch, featureCount: shape.inputs)
        var order: [Int] = []
        var orderEpoch = -1

        driver.begin(now: monotonicSeconds(), role: "train", workers: 1)
        var stopPolling = StopPolling(options.stop)
        do {
            while !driver.progress.isFinished {
                if stopPolling.asked() { throw TrainingInterrupted(step: driver.progress.step) }
                let (epoch, batchIndex) = driver.progress.position
                if epoch != orderEpoch {
                    plan.shuffle(epoch: epoch, into: &order)
                    orderEpoch = epoch
                }
                let count = plan.share(batch: batchIndex, rank: 0, workers: 1, order: order, into: buffer.indices)
                buffer.fill(from: train.images, count: count)
                try parameters.withUnsafeMutableBufferPointer { p in
                    try gradient.withUnsafeMutableBufferPointer { g in
                        let stats = engine.lossAndGradient(parameters: UnsafeBufferPointer(p), features: buffer.features,
                                                           labels: buffer.labels, batch: count, gradient: g)
                        try driver.apply(parameters: p, meanGradient: UnsafeBufferPointer(g), gradientNorm: norm(g),
                                         lossSum: stats.loss * Double(count), correct: stats.correct, samples: count)
                    }
                }
            }
        } catch {
            options.observer?.runFailed("\(error)")
            driver.flush()
            if let path = try parameters.withUnsafeBufferPointer({ try driver.checkpoint(parameters: $0) }) {
                Console.error("train: saved a checkpoint of step \(driver.progress.step) at \(path); continue with --resume \(options.checkpointDirectory ?? "")")
            }
            throw error
        }
        return try parameters.withUnsafeBufferPointer { try driver.finish(parameters: $0, savePath: options.savePath) }
    }
}

/// The L2 norm of a vector, accumulated in Double.
public func norm(_ values: [Float]) -> Double {
    values.withUnsafeBufferPointer { (buffer: UnsafeBufferPointer<Float>) in norm(buffer) }
}

/// The L2 norm of a buffer, accumulated in Double.
public func norm(_ values: UnsafeMutableBufferPointer<Float>) -> Double { norm(UnsafeBufferPointer<Float>(values)) }

/// The L2 norm of a buffer, accumulated in Double.
public func norm(_ values: UnsafeBufferPointer<Float>) -> Double {
    var sum = 0.0
    for v in values { sum += Double(v) * Double(v) }
    return sum.squareRoot()
}

extension SGD {
    /// SGD as the config's `optimizer` section describes it.
    public init(_ settings: RunConfig.Optimizer, parameterCount: Int) {
        self.init(parameterCount: parameterCount, momentum: Float(settings.momentum), nesterov: settings.nesterov,
                  weightDecay: Float(settings.weightDecay))
    }
}

/// The run was asked to stop (SIGINT/SIGTERM) before it finished.
public struct TrainingInterrupted: Error, CustomStringConvertible {
    public var step: Int
    public var description: String { "interrupted at step \(step)" }
}

extension Checkpoint {
    /// Where a resumed run goes on from: the checkpoint's progress, ending where the checkpoint's
    /// run was to end, unless this command names `--max-steps` (`fresh` was made with it): then
    /// there, which ends the run earlier or carries it further (within the config's epochs). The
    /// steps it trains are the ones an uninterrupted run of that length trains. Refused when the
    /// checkpoint is already past that step.
    public static func progress(resuming checkpoint: Checkpoint, from directory: String, fresh: TrainingProgress,
                                maxSteps: Int?) throws -> TrainingProgress {
        let saved = checkpoint.header.progress
        guard maxSteps != nil, fresh.totalSteps != saved.totalSteps else { return saved }
        guard let ending = saved.ending(after: fresh.totalSteps) else {
            throw CheckpointError(path: directory, problem: "its newest checkpoint holds step \(saved.step), past --max-steps \(fresh.totalSteps); "
                                  + "give a larger --max-steps, or none to end where that run was to end (step \(saved.totalSteps))")
        }
        Console.out("--max-steps: the resumed run ends at step \(ending.totalSteps) (the checkpoint's run was to end at step \(saved.totalSteps))")
        return ending
    }

    /// The newest good checkpoint in `directory` that continues a run of this geometry and config;
    /// anything else is refused with a message that names the problem.
    public static func resume(from directory: String, expecting fresh: TrainingProgress, parameterCount: Int,
                              configDigest: UInt64) throws -> Checkpoint {
        try CheckpointStore(directory: directory).latest(warn: { Console.error("resume: \($0)") }) { checkpoint, path in
            let saved = checkpoint.header.progress
            if configDigest != 0 && checkpoint.header.configDigest != 0 && checkpoint.header.configDigest != configDigest {
                throw CheckpointError(path: path, problem: "was written by another config (digest \(checkpoint.header.configDigest), this config \(configDigest)); resume with the config that wrote it")
            }
            guard saved.plan == fresh.plan else {
                throw CheckpointError(path: path, problem: "its data plan (\(saved.plan.sampleCount) samples, global batch \(saved.plan.globalBatch), seed \(saved.plan.seed)) differs from this run's (\(fresh.plan.sampleCount), \(fresh.plan.globalBatch), \(fresh.plan.seed))")
            }
            guard checkpoint.parameters.count == parameterCount else {
                throw CheckpointError(path: path, problem: "holds \(checkpoint.parameters.count) parameters, this model has \(parameterCount)")
            }
            guard saved.policy.schedule == fresh.policy.schedule else {
                throw CheckpointError(path: path, problem: "was written with another schedule")
            }
        }
    }
}
