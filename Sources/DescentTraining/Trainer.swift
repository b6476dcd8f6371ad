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

    public init(steps: Int, testLoss: Double, testAccuracy: Double, finalRate: Float, parameters: [Float], seconds: Double) {
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
    /// The one rank of a single-process run, made once rather than at every step's record.
    private static let rankZero = [0]

    public init(config: RunConfig, featureCount: Int = 784) {
        self.config = config
        self.shape = MLPShape(inputs: featureCount, hidden: config.model.hidden, classes: 10)
    }

    public func run(train: TrainingSet, test: LabeledImages, options: RunOptions = RunOptions()) throws -> RunSummary {
        try train.checkNotEmpty()
        BLASThreads.set(config.training.threads)
        let batch = config.globalBatch(workers: 1)
        let plan = EpochPlan(sampleCount: train.count, globalBatch: batch, seed: config.seed)
        var policy = LearningRatePolicy(schedule: config.schedule, stepsPerEpoch: plan.stepsPerEpoch, globalBatch: batch)
        let totalSteps = min(config.training.epochs * plan.stepsPerEpoch, options.maxSteps ?? Int.max)

        var parameters = shape.initialParameters(seed: config.seed)
        var gradient = [Float](repeating: 0, count: shape.parameterCount)
        var optimizer = SGD(config.optimizer, parameterCount: shape.parameterCount)
        let engine = GradientEngine(shape: shape, maxBatch: batch)
        let buffer = BatchBuffer(capacity: batch, featureCount: shape.inputs)
        let evaluator = Evaluator(shape: shape)
        let trace = try options.tracePath.map { try JSONLinesWriter(path: $0) }
        var reporter = RunReporter(epochs: config.training.epochs, stepsPerEpoch: plan.stepsPerEpoch)
        var order: [Int] = []
        let observer = options.observer
        observer?.runStarted(RunDescription(role: "train", workers: 1, epochs: config.training.epochs, stepsPerEpoch: plan.stepsPerEpoch,
                                            totalSteps: totalSteps, globalBatch: batch, schedule: policy.schedule.summary))

        let start = monotonicSeconds()
        var step = 0
        var epoch = 0
        while step < totalSteps {
            plan.shuffle(epoch: epoch, into: &order)
            reporter.epochStarted(epoch, rate: policy.rate(at: step))
            var tally = EpochTally(started: monotonicSeconds())
            let lastBatch = min(plan.stepsPerEpoch, totalSteps - step)
            for batchIndex in 0..<lastBatch {
                let rate = policy.rate(at: step)
                let count = plan.share(batch: batchIndex, rank: 0, workers: 1, order: order, into: buffer.indices)
                buffer.fill(from: train.images, count: count)
                let stats = parameters.withUnsafeBufferPointer { p in
                    gradient.withUnsafeMutableBufferPointer { g in
                        engine.lossAndGradient(parameters: p, features: buffer.features, labels: buffer.labels, batch: count, gradient: g)
                    }
                }
                if trace != nil || observer != nil {
                    let record = StepRecord(
                        step: step, epoch: epoch, rate: rate, ranks: Self.rankZero, samples: count, loss: stats.loss,
                        gradientNorm: norm(gradient), timeMs: (monotonicSeconds() - start) * 1000)
                    try trace?.append(record)
                    observer?.stepApplied(record, workerLatencies: [])
                }
                parameters.withUnsafeMutableBufferPointer { p in
                    gradient.withUnsafeBufferPointer { g in optimizer.step(parameters: p, gradient: g, rate: rate) }
                }
                tally.add(lossSum: stats.loss * Double(count), correct: stats.correct, samples: count)
                step += 1
                reporter.stepFinished(step: step - 1, lossSoFar: tally.meanLoss, samplesPerSecond: tally.samplesPerSecond(now: monotonicSeconds()))
            }
            let isLast = step >= totalSteps
            if options.evaluateEachEpoch || isLast {
                let (testLoss, testAccuracy) = evaluator.evaluate(parameters: parameters, on: test)
                tally.report(epoch: epoch, to: &reporter, testLoss: testLoss, testAccuracy: testAccuracy, now: monotonicSeconds())
                observer?.epochFinished(tally.epochReport(epoch: epoch, step: step, testLoss: testLoss, testAccuracy: testAccuracy, now: monotonicSeconds()))
                policy.observe(validationLoss: testLoss)
            }
            epoch += 1
        }
        try trace?.close()
        let (testLoss, testAccuracy) = evaluator.evaluate(parameters: parameters, on: test)
        let seconds = monotonicSeconds() - start
        let finalRate = policy.rate(at: step)
        reporter.finished(testLoss: testLoss, testAccuracy: testAccuracy, finalRate: finalRate, steps: step, seconds: seconds)
        if let path = options.savePath { try ParameterFile.write(parameters, to: path) }
        let summary = RunSummary(steps: step, testLoss: testLoss, testAccuracy: testAccuracy, finalRate: finalRate,
                                 parameters: parameters, seconds: seconds)
        observer?.runFinished(summary)
        return summary
    }
}

/// The L2 norm of a vector, accumulated in Double.
public func norm(_ values: [Float]) -> Double {
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
