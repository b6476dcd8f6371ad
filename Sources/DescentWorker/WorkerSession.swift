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
    /// coordinator's shared-memory segment (then nothing is copied: the parameters are in one of
    /// its buffers, the one each step names).
    private let parameters: UnsafeMutableBufferPointer<Float>
    private let sharedParameters: [UnsafeMutableBufferPointer<Float>]
    let gradient: UnsafeMutableBufferPointer<Float>
    private let ownBuffers: Bool
    private var order: [Int] = []
    private var orderEpoch = -1

    init(settings: RunSettings, train: LabeledImages, shared: SharedBuffers?) throws {
        // Every number is the coordinator's: within the limits a config may give before any
        // arithmetic on it (a foreign coordinator must not make this worker trap).
        guard (1...RunLimits.workers).contains(settings.workers), (0..<settings.workers).contains(settings.rank),
              (1...RunLimits.batch * RunLimits.workers).contains(settings.globalBatch),
              settings.sampleCount >= 1, (1...RunLimits.trainRepeat).contains(settings.trainRepeat), (1...RunLimits.threads).contains(settings.threads),
              settings.hidden.count <= RunLimits.hiddenLayers, settings.hidden.allSatisfy({ (1...RunLimits.layerWidth).contains($0) }),
              RunLimits.parameterCount(inputs: train.featureCount, hidden: settings.hidden, classes: 10) != nil,
              (settings.trainLimit ?? 1) >= 1 else {
            throw WorkerError.dataMismatch("the coordinator's run settings are impossible (\(settings)); it may be a broken or foreign coordinator")
        }
        let images = train.prefix(settings.trainLimit)
        let (samples, overflow) = images.count.multipliedReportingOverflow(by: settings.trainRepeat)
        guard !overflow, samples == settings.sampleCount else {
            throw WorkerError.dataMismatch("the coordinator trains on \(settings.sampleCount) samples per epoch, this worker's data gives \(images.count) x \(settings.trainRepeat)")
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
        // A worker may be dealt the slots of lost ones, up to the whole global batch.
        engine = GradientEngine(shape: shape, maxBatch: settings.globalBatch, backend: settings.backend)
        buffer = BatchBuffer(capacity: settings.globalBatch, featureCount: shape.inputs)
        if let shared {
            guard !shared.parameters.isEmpty, shared.parameters.allSatisfy({ $0.count == shape.parameterCount }),
                  shared.gradient.count == shape.parameterCount else {
                throw WorkerError.sharedMemory("the segment's buffers do not fit the model")
            }
            parameters = shared.parameters[0]
            sharedParameters = shared.parameters
            gradient = shared.gradient
            ownBuffers = false
        } else {
            parameters = .allocate(capacity: shape.parameterCount)
            parameters.initialize(repeating: 0)
            gradient = .allocate(capacity: shape.parameterCount)
            gradient.initialize(repeating: 0)
            sharedParameters = []
            ownBuffers = true
        }
    }

    deinit {
        if ownBuffers {
            parameters.deallocate()
            gradient.deallocate()
        }
    }

    var hasSharedMemory: Bool { !ownBuffers }

    /// Global batches in an epoch of this run.
    var batchesPerEpoch: Int { plan.stepsPerEpoch }

    /// Whether `batch` is a batch index of an epoch of this run.
    func holds(batch: Int) -> Bool { batch >= 0 && batch < plan.stepsPerEpoch }

    struct Result {
        var samples: Int
        var lossSum: Double
        var correct: Int
    }

    /// The gradient of this worker's slots of global batch `batch` of `epoch`, at the parameters
    /// the step carried.
    func compute(_ input: StepParameters, epoch: Int, batch: Int, slots: [Int]) throws -> Result {
        var parameters = self.parameters
        if case .inPlace = input {} else if hasSharedMemory {
            throw WorkerError.sharedMemory("a step carried its parameters in a message, but this worker reads them from the shared segment")
        }
        switch input {
        case .frame(let payload): try payload.copyFloats(into: parameters)
        case .bfloat16Frame(let payload):
            guard payload.count == parameters.count * 2 else {
                throw WorkerError.dataMismatch("a step carried \(payload.count) bytes of bfloat16 parameters, the model has \(parameters.count) parameters")
            }
            payload.withUnsafeBytes { BFloat16Coding.decode($0, into: parameters) }
        case .floats(let values):
            guard values.count == parameters.count else { throw WorkerError.dataMismatch("a step carried \(values.count) parameters") }
            _ = parameters.update(fromContentsOf: values)
        case .inPlace(let buffer):
            guard hasSharedMemory else { throw WorkerError.sharedMemory("a shared-memory step arrived without a segment") }
            guard let index = Int(exactly: buffer), sharedParameters.indices.contains(index) else {
                throw WorkerError.sharedMemory("a step named parameter buffer \(buffer) of the segment, which has \(sharedParameters.count)")
            }
            parameters = sharedParameters[index]
        }
        if epoch != orderEpoch {
            plan.shuffle(epoch: epoch, into: &order)
            orderEpoch = epoch
        }
        var count = 0
        for slot in slots {
            count += plan.share(batch: batch, rank: slot, workers: settings.workers, order: order,
                                into: UnsafeMutableBufferPointer(rebasing: buffer.indices[count...]))
        }
        var stats = BatchStats(loss: 0, correct: 0, samples: 0)
        if count > 0 {
            buffer.fill(from: images, count: count)
            stats = engine.lossAndGradient(parameters: UnsafeBufferPointer(parameters), features: buffer.features,
                                           labels: buffer.labels, batch: count, gradient: gradient)
        } else {
            gradient.update(repeating: 0)
        }
        return Result(samples: count, lossSum: stats.loss * Double(count), correct: stats.correct)
    }
}
