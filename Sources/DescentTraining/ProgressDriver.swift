import DescentCore
import DescentData
import DescentModel
import DescentSchedules

/// Why training cannot go on from the step in flight: the update would leave the model
/// non-finite. The parameters are those of the last good step.
public struct DivergenceError: Error, CustomStringConvertible, Equatable {
    public var step: Int
    public var rate: Float
    public var detail: String

    public init(step: Int, rate: Float, detail: String) {
        self.step = step
        self.rate = rate
        self.detail = detail
    }

    public var description: String {
        "training diverged at step \(step) (rate \(rate)): \(detail). The model is kept as it was before this step. "
            + "Lower the learning rate (schedule.initial_rate), add warmup, or check the data."
    }
}

/// The part of a run that `descent train` and the coordinator share, driven the same way by
/// both: the `TrainingProgress` value, the epoch banners, evaluation at epoch ends, the step
/// trace, the update guard, and the closing summary. The drivers only produce mean gradients.
public final class ProgressDriver {
    public private(set) var progress: TrainingProgress
    private let evaluator: Evaluator
    private let test: LabeledImages
    private var reporter: RunReporter
    private let trace: JSONLinesWriter?
    private let evaluateEachEpoch: Bool
    private var guardBounds: UpdateGuard
    private let checkpoints: CheckpointSchedule?
    private let observer: (any RunObserver)?
    private let epochs: Int
    public let started: Double
    /// The step this process started at (above 0: it resumed from a checkpoint).
    private let resumedAt: Int
    /// Async and bounded modes: the staleness of every applied gradient so far.
    public private(set) var staleness: StalenessTally?
    /// Whether a step's record (its trace line and what the observers are told) waits for
    /// `writeDeferredRecord()` instead of being written before the next step goes out. The
    /// coordinator sets it and writes the record while a gradient of the next step is still
    /// outstanding, when a CPU idles anyway (see `CoordinatorShell`).
    public var defersRecords = false
    /// The applied step whose record waits.
    private var deferred: (record: StepRecord, latencies: [Double])?

    public init(progress: TrainingProgress, shape: MLPShape, test: LabeledImages, epochs: Int, options: RunOptions,
                identity: Checkpoint.Identity? = nil, backend: ComputeBackend = .default, now: Double) throws {
        self.progress = progress
        self.test = test
        evaluator = Evaluator(shape: shape, backend: backend)
        reporter = RunReporter(epochs: epochs, stepsPerEpoch: progress.plan.stepsPerEpoch)
        if let path = options.tracePath, progress.step > 0 { try JSONLinesWriter.truncate(path, toStepsBefore: progress.step) }
        trace = try options.tracePath.map { try JSONLinesWriter(path: $0, append: progress.step > 0) }
        evaluateEachEpoch = options.evaluateEachEpoch
        guardBounds = UpdateGuard()
        observer = options.observer
        self.epochs = epochs
        checkpoints = try options.checkpointDirectory.map { directory in
            let store = CheckpointStore(directory: directory)
            try store.prepare()
            return CheckpointSchedule(store: store, identity: identity ?? Checkpoint.Identity(runID: 0, generation: 0, configDigest: 0),
                                      everySteps: options.checkpointEverySteps, everySeconds: options.checkpointEverySeconds, now: now)
        }
        started = now
        resumedAt = progress.step
    }

    /// Saves a checkpoint of the last applied step now (stopped, failing, or finished), if the
    /// run keeps checkpoints; returns its path.
    @discardableResult
    public func checkpoint(parameters: UnsafeBufferPointer<Float>) throws -> String? {
        guard let checkpoints else { return nil }
        // The trace on disk covers at least the steps the checkpoint holds, where it can be
        // written. A trace that cannot be (its disk is full) does not keep the training state
        // from being saved: the trace then misses its last steps, and says so.
        let traceFailure = writeOutTrace(closing: false)
        let path = try checkpoints.save(progress: progress, parameters: parameters, now: monotonicSeconds())
        observer?.event(RunEvent(.checkpoint, step: progress.step, detail: path))
        if let traceFailure {
            Console.error("the checkpoint of step \(progress.step) is saved, but the trace misses its last steps: \(traceFailure)")
        }
        return path
    }

    /// Training starts (or resumes) now: restart the clock and print the epoch banner when the
    /// step in flight opens an epoch.
    public func begin(now: Double, role: String, workers: Int) {
        observer?.runStarted(RunDescription(role: role, workers: workers, epochs: epochs, stepsPerEpoch: progress.plan.stepsPerEpoch,
                                            totalSteps: progress.totalSteps, globalBatch: progress.plan.globalBatch,
                                            schedule: progress.policy.schedule.summary))
        progress.restartClock(now: now)
        if progress.startsEpoch { reporter.epochStarted(progress.position.epoch, rate: progress.rate) }
    }

    /// Applies the step in flight: `meanGradient` over `samples` samples with its loss sum and
    /// correct predictions. Throws `DivergenceError` (and changes nothing) when the loss or the
    /// gradient is not finite or the update could overflow a parameter. `details` fills in what
    /// only the caller knows (ranks, latencies) on the trace record.
    public func apply(
        parameters: UnsafeMutableBufferPointer<Float>, meanGradient: UnsafeBufferPointer<Float>, gradientNorm: Double,
        lossSum: Double, correct: Int, samples: Int, workerLatencies: [Double] = [],
        details: (inout StepRecord) -> Void = { _ in }
    ) throws {
        try apply(parameters: parameters, update: .descend(meanGradient: meanGradient), gradientNorm: gradientNorm, lossSum: lossSum,
                  correct: correct, samples: samples, workerLatencies: workerLatencies, details: details)
    }

    /// How a step's update reaches the parameters.
    public enum Update {
        /// The optimizer steps the parameters, in place, with this mean gradient.
        case descend(meanGradient: UnsafeBufferPointer<Float>)
        /// A plain SGD update (`SGD.isPlain`) with the step's rate was written into `updated`,
        /// beside the parameters, whose largest magnitude is `largest`; `adopt` makes it the model
        /// (called once the update passed the guard, before anything else reads the model).
        case written(updated: UnsafeMutableBufferPointer<Float>, largest: Float, adopt: () -> Void)
    }

    /// `apply` for an update given as an `Update`: the guard checks it against `parameters` (the
    /// model before the step) and it is made or adopted only when it passes.
    public func apply(
        parameters: UnsafeMutableBufferPointer<Float>, update: Update, gradientNorm: Double,
        lossSum: Double, correct: Int, samples: Int, workerLatencies: [Double] = [],
        details: (inout StepRecord) -> Void = { _ in }
    ) throws {
        try writeDeferredRecord()  // records stay in step order
        let step = progress.step, rate = progress.rate, epoch = progress.position.epoch
        guard lossSum.isFinite, gradientNorm.isFinite else {
            throw DivergenceError(step: step, rate: rate, detail: "the loss or the gradient is NaN or infinite")
        }
        try guardBounds.check(parameters: UnsafeBufferPointer(parameters), optimizer: progress.optimizer, rate: rate,
                              gradientNorm: gradientNorm, step: step)
        let advance: TrainingProgress.Advance
        var parameters = parameters
        switch update {
        case .descend(let meanGradient):
            advance = progress.advance(parameters: parameters, meanGradient: meanGradient, lossSum: lossSum,
                                       correct: correct, samples: samples)
        case let .written(updated, largest, adopt):
            // The bound above holds for it (|p - rate * mean| <= largest |p| + rate * |mean|), so
            // this check only catches an update the bound let through by rounding.
            guard largest.isFinite, Double(largest) < UpdateGuard.limit else {
                throw DivergenceError(step: step, rate: rate, detail: String(format: "the update made a parameter of magnitude %.3g", Double(largest)))
            }
            adopt()
            parameters = updated
            advance = progress.advanceAfterPlainUpdate(lossSum: lossSum, correct: correct, samples: samples)
        }
        if trace != nil || observer != nil {
            var record = StepRecord(step: step, epoch: epoch, rate: rate, ranks: Self.rankZero, samples: samples,
                                    loss: lossSum / Double(max(samples, 1)), gradientNorm: gradientNorm,
                                    timeMs: (monotonicSeconds() - started) * 1000, exactRate: progress.policy.exactRate(at: step))
            details(&record)
            deferred = (record, workerLatencies)
            // An epoch's last step is recorded before the epoch's report.
            if !defersRecords || advance.closedEpoch != nil { try writeDeferredRecord() }
        }
        let now = monotonicSeconds()
        reporter.stepFinished(step: step, lossSoFar: progress.tally.meanLoss, samplesPerSecond: progress.tally.samplesPerSecond(now: now))
        if let closed = advance.closedEpoch { closeEpoch(closed, parameters: UnsafeBufferPointer(parameters), now: now) }
        if progress.startsEpoch { reporter.epochStarted(progress.position.epoch, rate: progress.rate) }
        if let checkpoints, checkpoints.isDue(step: progress.step, now: now), !progress.isFinished {
            try writeDeferredRecord()
            try trace?.flush()
            let path = try checkpoints.save(progress: progress, parameters: UnsafeBufferPointer(parameters), now: now)
            observer?.event(RunEvent(.checkpoint, step: progress.step, detail: path))
        }
    }

    /// Async and bounded modes: the staleness of each gradient of the update just applied.
    public func recordStaleness(_ values: [Int]) {
        var tally = staleness ?? StalenessTally()
        for value in values { tally.add(value) }
        staleness = tally
    }

    /// The one rank of a single-process run, made once rather than at every step's record.
    private static let rankZero = [0]

    /// Writes the record of the last applied step if it waits (`defersRecords`): its trace line,
    /// and the observers are told.
    public func writeDeferredRecord() throws {
        guard let (record, latencies) = deferred else { return }
        deferred = nil
        try trace?.append(record)
        observer?.stepApplied(record, workerLatencies: latencies)
    }

    private func closeEpoch(_ epoch: Int, parameters: UnsafeBufferPointer<Float>, now: Double) {
        guard evaluateEachEpoch || progress.isFinished else {
            progress.observeEpochEnd(validationLoss: nil, now: now)
            return
        }
        let (testLoss, testAccuracy) = evaluator.evaluate(parameters: parameters, on: test)
        progress.tally.report(epoch: epoch, to: &reporter, testLoss: testLoss, testAccuracy: testAccuracy, now: monotonicSeconds())
        observer?.epochFinished(progress.tally.epochReport(epoch: epoch, step: progress.step, testLoss: testLoss,
                                                           testAccuracy: testAccuracy, now: monotonicSeconds()))
        progress.observeEpochEnd(validationLoss: testLoss, now: monotonicSeconds())
    }

    /// Writes the waiting record and the trace's buffer (and closes the trace at the end of a
    /// run); returns the failure, for the caller to report once what matters more is saved.
    /// The buffer is written even when the waiting record could not be.
    private func writeOutTrace(closing: Bool) -> Error? {
        var failure: Error?
        do { try writeDeferredRecord() } catch { failure = error }
        do {
            if closing { try trace?.close() } else { try trace?.flush() }
        } catch {
            failure = failure ?? error
        }
        return failure
    }

    /// Flushes the trace (the run stops early; what was applied stays recorded).
    public func flush() {
        _ = writeOutTrace(closing: false)
    }

    /// The closing lines and what the run measured. A `--save` that fails (a full disk) leaves the
    /// trained parameters in a checkpoint when the run keeps checkpoints, and says how to write
    /// them out from there; a trace that could not be closed fails the run only after the save.
    public func finish(parameters: UnsafeBufferPointer<Float>, savePath: String?) throws -> RunSummary {
        let traceFailure = writeOutTrace(closing: true)
        let (testLoss, testAccuracy) = evaluator.evaluate(parameters: parameters, on: test)
        let seconds = monotonicSeconds() - started
        reporter.finished(testLoss: testLoss, testAccuracy: testAccuracy, finalRate: progress.rate, steps: progress.step, resumedAt: resumedAt, seconds: seconds)
        if let staleness {
            Console.out(String(format: "Staleness: mean %.3f, max %d over %d gradients", staleness.mean, staleness.max, staleness.gradients))
        }
        let final = Array(parameters)
        if let savePath {
            do {
                try ParameterFile.write(final, to: savePath)
            } catch {
                if let path = try? checkpoint(parameters: parameters) {
                    Console.error("the trained parameters are kept in the checkpoint \(path); once \(savePath) can be written, "
                                  + "run the same command with --resume \(checkpoints?.store.directory ?? "") to write them (nothing is trained again)")
                }
                throw error
            }
        }
        if let traceFailure { throw traceFailure }
        let summary = RunSummary(steps: progress.step, testLoss: testLoss, testAccuracy: testAccuracy, finalRate: progress.rate,
                                 parameters: final, seconds: seconds, staleness: staleness)
        observer?.runFinished(summary)
        return summary
    }
}

/// Refuses an update that could make a parameter (or the velocity) infinite, cheaply: it keeps
/// upper bounds of max|p| and max|v| that grow by what an update can add (|g_i| <= ||g||), and
/// measures the true maxima only when a bound grows large.
struct UpdateGuard {
    private var parameterBound = -1.0
    private var velocityBound = -1.0
    static let limit = Double(Float.greatestFiniteMagnitude) / 4

    mutating func check(parameters: UnsafeBufferPointer<Float>, optimizer: SGD, rate: Float, gradientNorm: Double, step: Int) throws {
        let r = abs(Double(rate)), m = abs(Double(optimizer.momentum))
        let shrink = max(1, abs(1 - r * Double(optimizer.weightDecay)))
        func projected() -> (p: Double, v: Double) {
            let v = m * max(velocityBound, 0) + r * gradientNorm + r * Double(optimizer.weightDecay) * parameterBound
            let p = shrink * parameterBound + (optimizer.momentum == 0 ? r * gradientNorm : v + m * v + r * gradientNorm)
            return (p, optimizer.momentum == 0 ? 0 : v)
        }
        if parameterBound < 0 || projected().p >= Self.limit || projected().v >= Self.limit {
            parameterBound = Self.maxMagnitude(parameters)
            velocityBound = optimizer.velocity.withUnsafeBufferPointer { Self.maxMagnitude($0) }
        }
        let (p, v) = projected()
        guard p.isFinite, v.isFinite, p < Self.limit, v < Self.limit else {
            throw DivergenceError(step: step, rate: rate, detail: String(
                format: "an update of norm %.3g would overflow the parameters (largest now %.3g)", r * gradientNorm, parameterBound))
        }
        parameterBound = p
        velocityBound = v
    }

    private static func maxMagnitude(_ values: UnsafeBufferPointer<Float>) -> Double {
        var m: Float = 0
        for x in values { m = max(m, abs(x)) }
        return m.isNaN ? .infinity : Double(m)
    }
}

/// When and where a run writes checkpoints.
final class CheckpointSchedule {
    let store: CheckpointStore
    let identity: Checkpoint.Identity
    let everySteps: Int?
    let everySeconds: Double?
    private var lastSaved: Double

    init(store: CheckpointStore, identity: Checkpoint.Identity, everySteps: Int?, everySeconds: Double?, now: Double) {
        self.store = store
        self.identity = identity
        self.everySteps = everySteps
        self.everySeconds = everySeconds
        lastSaved = now
    }

    func isDue(step: Int, now: Double) -> Bool {
        if let everySteps, everySteps > 0, step % everySteps == 0 { return true }
        if let everySeconds, now - lastSaved >= everySeconds { return true }
        return false
    }

    func save(progress: TrainingProgress, parameters: UnsafeBufferPointer<Float>, now: Double) throws -> String {
        let checkpoint = Checkpoint(identity: identity, progress: progress, parameters: Array(parameters))
        try store.save(checkpoint)
        lastSaved = now
        return store.path(step: checkpoint.step)
    }
}
