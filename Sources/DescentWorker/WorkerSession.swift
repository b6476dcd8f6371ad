import DescentCore
import DescentModel
import DescentProtocol
import DescentTraining
import DescentTransport
import DescentData

/// What a worker holds once admitted: the model shape, its share of each batch, the buffers.
final class WorkerSession {
    let settings: RunSettings
    let shape: MLPShape
    private let images: LabeledImages
    private let plan: EpochPlan
    private let engine: GradientEngine
    private let buffer: BatchBuffer
    /// Where this worker reads parameters and writes gradients: its own buffers, or the
    /// coordinator's shared-memory segment (then nothing is copied).
    private let parameters: UnsafeMutableBufferPointer<Float>
    private let gradient: UnsafeMutableBufferPointer<Float>
    private let ownBuffers: Bool
    private let segment: SharedMemorySegment?
    private let layout: SharedStepLayout?
    private let signals: (step: SharedWord, completions: SharedWord, done: SharedWord)?
    private var order: [Int] = []
    private var orderEpoch = -1

    init(settings: RunSettings, train: LabeledImages) throws {
        guard settings.workers >= 1, (0..<settings.workers).contains(settings.rank), settings.globalBatch >= 1,
              settings.sampleCount >= 1, settings.trainRepeat >= 1, settings.threads >= 1,
              settings.hidden.allSatisfy({ $0 > 0 }), (settings.trainLimit ?? 1) >= 1 else {
            throw WorkerError.dataMismatch("the coordinator's run settings are impossible (\(settings)); it may be a broken or foreign coordinator")
        }
        let images = train.prefix(settings.trainLimit)
        guard images.count * settings.trainRepeat == settings.sampleCount else {
            throw WorkerError.dataMismatch("the coordinator trains on \(settings.sampleCount) samples per epoch, this worker's data gives \(images.count * settings.trainRepeat)")
        }
        guard RunData.labelsDigest(images) == settings.labelsDigest else {
            throw WorkerError.dataMismatch("the training labels differ (digest \(RunData.labelsDigest(images)), coordinator \(settings.labelsDigest))")
        }
        let shape = MLPShape(inputs: images.featureCount, hidden: settings.hidden, classes: 10)
        guard shape.parameterCount == settings.parameterCount else {
            throw WorkerError.dataMismatch("the model has \(shape.parameterCount) parameters here, \(settings.parameterCount) at the coordinator")
        }
        BLASThreads.set(settings.threads)
        self.settings = settings
        self.shape = shape
        self.images = images
        plan = EpochPlan(sampleCount: settings.sampleCount, globalBatch: settings.globalBatch, seed: settings.seed)
        let share = (settings.globalBatch + settings.workers - 1) / settings.workers
        engine = GradientEngine(shape: shape, maxBatch: share)
        buffer = BatchBuffer(capacity: share, featureCount: shape.inputs)
        if let name = settings.sharedMemoryName {
            let layout = SharedStepLayout(parameterCount: shape.parameterCount, slots: settings.workers)
            let segment: SharedMemorySegment
            do {
                segment = try SharedMemorySegment.open(name: name, byteCount: layout.byteCount, readOnly: layout.readOnlyRanges(forRank: settings.rank))
            } catch {
                throw WorkerError.sharedMemory("\(error)")
            }
            self.segment = segment
            self.layout = layout
            signals = (SharedWord(segment, offset: layout.stepSequenceOffset), SharedWord(segment, offset: layout.completionsOffset),
                       SharedWord(segment, offset: layout.doneSequenceOffset(rank: settings.rank)))
            parameters = segment.floats(at: layout.parametersOffset, count: shape.parameterCount)
            gradient = segment.floats(at: layout.gradientOffset(rank: settings.rank), count: shape.parameterCount)
            ownBuffers = false
        } else {
            segment = nil
            layout = nil
            signals = nil
            parameters = .allocate(capacity: shape.parameterCount)
            parameters.initialize(repeating: 0)
            gradient = .allocate(capacity: shape.parameterCount)
            gradient.initialize(repeating: 0)
            ownBuffers = true
        }
    }

    deinit {
        if ownBuffers {
            parameters.deallocate()
            gradient.deallocate()
        }
    }

    var hasSharedMemory: Bool { segment != nil }

    /// Global batches in an epoch of this run.
    var batchesPerEpoch: Int { plan.stepsPerEpoch }

    /// Whether `batch` is a batch index of an epoch of this run.
    func holds(batch: Int) -> Bool { batch >= 0 && batch < plan.stepsPerEpoch }

    /// Sleeps until the coordinator publishes a step sequence other than `seen` (or `timeout`
    /// seconds pass); returns the sequence now published.
    func waitForStep(after seen: UInt32, timeout: Double) -> UInt32 {
        guard let signals else { return seen }
        return signals.step.wait(whileEquals: seen, timeout: timeout)
    }

    /// The step header the coordinator published in the segment, validated.
    func publishedStep() throws(WireError) -> WireHeader {
        guard let segment, let layout else { throw WireError.missingPayload(type: .stepShared) }
        let header = try WireHeader.decode(UnsafeRawBufferPointer(segment.bytes(at: layout.stepHeaderOffset, count: WireHeader.size)),
                                           payloadByteCount: nil)
        guard header.type == .stepShared else { throw WireError.unknownType(header.type.rawValue) }
        return header
    }

    /// Publishes this worker's gradient header for `step` (the floats are already in its slot)
    /// and wakes the coordinator.
    func announce(_ header: WireHeader, step: Int) {
        guard let segment, let layout, let signals else { return }
        header.encode(into: segment.bytes(at: layout.gradientHeaderOffset(rank: settings.rank), count: WireHeader.size))
        signals.done.store(SharedStepLayout.sequence(ofStep: step))
        signals.completions.add(1)
        signals.completions.wake(all: false)
    }

    /// Where a step's parameters are.
    enum Input {
        case frame(ZMQMessage)
        case sharedMemory
    }

    struct Result {
        var samples: Int
        var lossSum: Double
        var correct: Int
        /// The gradient as a payload frame; nil when it was written to the shared segment.
        var gradient: ZMQMessage?
    }

    /// The gradient of this worker's share of global batch `batch` of `epoch`, at the parameters
    /// the step carried.
    func compute(_ input: Input, epoch: Int, batch: Int) throws -> Result {
        if case .frame(let payload) = input { try payload.copyFloats(into: parameters) }
        if epoch != orderEpoch {
            plan.shuffle(epoch: epoch, into: &order)
            orderEpoch = epoch
        }
        let count = plan.share(batch: batch, rank: settings.rank, workers: settings.workers, order: order, into: buffer.indices)
        var stats = BatchStats(loss: 0, correct: 0, samples: 0)
        if count > 0 {
            buffer.fill(from: images, count: count)
            stats = engine.lossAndGradient(parameters: UnsafeBufferPointer(parameters), features: buffer.features,
                                           labels: buffer.labels, batch: count, gradient: gradient)
        } else {
            gradient.update(repeating: 0)
        }
        let message = segment != nil ? nil : try ZMQMessage(copyingFloats: UnsafeBufferPointer(gradient))
        return Result(samples: count, lossSum: stats.loss * Double(count), correct: stats.correct, gradient: message)
    }
}
