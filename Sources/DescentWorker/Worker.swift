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

    public init(connect: String, requestedRank: Int? = nil) {
        self.connect = connect
        self.requestedRank = requestedRank
    }
}

/// Why a worker stopped without being told to.
public enum WorkerError: Error, CustomStringConvertible {
    case refused(reason: String)
    case gaveUp(endpoint: String, reason: String, connected: Bool)
    case dataMismatch(String)
    case cannotConnect(endpoint: String, reason: String)
    case sharedMemory(String)
    case interrupted

    public var description: String {
        switch self {
        case let .refused(reason):
            return "the coordinator refused this worker: \(reason)"
        case let .gaveUp(endpoint, reason, connected):
            let state = connected ? "connected, but the coordinator never admitted this worker" : "no connection could be made"
            return "gave up on the coordinator at \(endpoint): \(reason) (\(state)). Check that 'descent coordinator' runs and that --connect names its address and port."
        case let .dataMismatch(detail):
            return "this worker's training data differs from the coordinator's: \(detail). Point --data at the same MNIST files and use the same config."
        case let .cannotConnect(endpoint, reason):
            return "cannot connect to \(endpoint): \(reason). Use an address like tcp://HOST:5555."
        case let .sharedMemory(detail):
            return "cannot use the coordinator's shared memory: \(detail). Start the worker with --no-shared-memory to use the socket instead."
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

    enum CodingKeys: String, CodingKey {
        case step, rank, epoch, batch, rate, samples
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

    /// Set from a signal handler to ask the loop to stop.
    nonisolated(unsafe) public static var stopRequested: Int32 = 0

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
        let context = try ZMQContext()
        let socket = try ZMQSocket(context, kind: .dealer)
        var identity = SeededGenerator(seed: UInt64(getpid()) ^ UInt64(Date().timeIntervalSince1970 * 1e6))
        try socket.setRoutingID((0..<16).map { _ in UInt8(truncatingIfNeeded: identity.next()) })
        try socket.setImmediate(true)
        try socket.setHeartbeat(interval: 1000, timeout: 10_000, ttl: 20_000)
        try socket.setReconnect(interval: 100, maximum: 2000)
        try socket.setMaxMessageSize(64 << 20)
        do {
            try socket.connect(options.connect)
        } catch {
            throw WorkerError.cannotConnect(endpoint: options.connect, reason: error.message)
        }
        let host = ProcessInfo.processInfo.hostName
        let introduction = try WireText.encodeJSON(WorkerIntroduction(
            host: host, pid: Int(getpid()), requestedRank: options.requestedRank,
            hostIdentity: HostIdentity.current(), sharedMemory: options.sharedMemory))
        var machine = WorkerMachine(timing: .init(joinTimeout: options.joinTimeoutSeconds), now: monotonicSeconds())
        var header = [UInt8](repeating: 0, count: WireHeader.size)
        var session: Session? = nil
        var connected = false
        var lastGradientSent: Double? = nil
        let trace = try options.tracePath.map { try JSONLinesWriter(path: $0) }
        defer { try? trace?.close() }
        Console.error("worker: connecting to \(options.connect)")

        func send(_ value: WireHeader, payload: ZMQMessage? = nil) throws -> Bool {
            try header.withUnsafeMutableBytes { bytes in
                value.encode(into: bytes)
                return try socket.send(header: UnsafeRawBufferPointer(bytes), payload: payload, mode: .dontWait) == .sent
            }
        }

        func handle(_ frames: [ZMQMessage]) throws -> Bool {
            let decoded: WireHeader
            do {
                try WireHeader.checkFrameCount(frames.count)
                let payloadBytes = frames.count == 2 ? frames[1].count : nil
                decoded = try frames[0].withUnsafeBytes { (bytes) throws(WireError) -> WireHeader in
                    try WireHeader.decode(bytes, payloadByteCount: payloadBytes)
                }
            } catch {
                Console.error("worker: ignored a malformed message: \(error)")
                return true
            }
            let now = monotonicSeconds()
            machine.heard(now: now)
            let payload = frames.count == 2 ? frames[1] : nil
            switch decoded.type {
            case .welcome:
                let settings = try payload!.withUnsafeBytes { (bytes) throws(WireError) -> RunSettings in
                    try WireText.decodeJSON(RunSettings.self, from: Array(bytes), in: .welcome)
                }
                if session == nil || session!.settings != settings {
                    session = try Session(settings: settings, train: train)
                }
                machine.welcomed(rank: settings.rank, runID: decoded.runID, generation: decoded.generation,
                                 heartbeatInterval: settings.heartbeatSeconds, silenceLimit: settings.silenceLimitSeconds, now: now)
                Console.out("Worker rank \(settings.rank) of \(settings.workers) joined run \(decoded.runID): "
                            + "\(settings.sampleCount) samples per epoch, global batch \(settings.globalBatch)"
                            + (settings.sharedMemoryName != nil ? ", parameters through shared memory" : ""))
            case .step:
                guard let session, let payload else { return true }
                try computeStep(decoded, session: session, input: .frame(payload), now: now)
            case .stepShared:
                Console.error("worker: ignored a shared-memory step sent through the socket; such steps are announced in the segment")
            case .reject:
                let reason = (try? payload.map { p in try p.withUnsafeBytes { (b) throws(WireError) -> String in try WireText.decodeText(b, in: .reject) } }) ?? nil
                machine.finish()
                throw WorkerError.refused(reason: reason ?? "no reason given")
            case .stop:
                let reason = (try? payload.map { p in try p.withUnsafeBytes { (b) throws(WireError) -> String in try WireText.decodeText(b, in: .stop) } }) ?? nil
                Console.out("Worker stopping: \(reason ?? "the coordinator said stop")")
                machine.finish()
                return false
            case .registerAgain:
                Console.error("worker: the coordinator does not know this worker; joining again")
                machine.mustRegisterAgain(now: now)
            case .heartbeat:
                break
            default:
                Console.error("worker: ignored an unexpected \(decoded.type) message")
            }
            return true
        }

        /// Computes one step and hands the gradient back: in a frame, or in this worker's slot of
        /// the shared segment with a futex wake.
        func computeStep(_ decoded: WireHeader, session: Session, input: Session.Input, now: Double) throws {
            switch machine.step(Int(decoded.step), runID: decoded.runID, generation: decoded.generation, now: now) {
            case .ignore(let reason):
                Console.error("worker: ignored a step: \(reason)")
            case .compute:
                let arrived = monotonicSeconds()
                guard Int(decoded.count) == session.shape.parameterCount else {
                    Console.error("worker: ignored step \(decoded.step): \(decoded.count) parameters, the model has \(session.shape.parameterCount)")
                    return
                }
                let result = try session.compute(input, epoch: Int(decoded.epoch), batch: Int(decoded.batchIndex))
                let gradientHeader = WireHeader.gradient(
                    runID: decoded.runID, generation: decoded.generation, rank: UInt32(session.settings.rank), step: decoded.step,
                    samples: UInt64(result.samples), lossSum: result.lossSum, correct: UInt64(result.correct),
                    parameterCount: UInt32(session.shape.parameterCount))
                if let message = result.gradient {
                    if try !send(gradientHeader, payload: message) {
                        Console.error("worker: could not send the gradient of step \(decoded.step): no connection to the coordinator")
                    }
                } else {
                    session.announce(gradientHeader.inSharedMemory(), step: Int(decoded.step))
                }
                let done = monotonicSeconds()
                machine.sent(now: done)
                try trace?.append(WorkerStepRecord(step: Int(decoded.step), rank: session.settings.rank, epoch: Int(decoded.epoch),
                                                   batch: Int(decoded.batchIndex), rate: decoded.rate, samples: result.samples,
                                                   computeMs: (done - arrived) * 1000,
                                                   idleMs: lastGradientSent.map { (arrived - $0) * 1000 },
                                                   rssMB: decoded.step % 100 == 0 ? residentMemoryMB() : nil))
                lastGradientSent = done
            }
        }

        var seenStepSequence: UInt32 = 0
        let items = [ZMQPollItem(socket)]
        while true {
            if Worker.stopRequested != 0 { throw WorkerError.interrupted }
            switch machine.tick(now: monotonicSeconds()) {
            case .idle:
                break
            case .sendHello:
                let message = try ZMQMessage(copying: introduction)
                let queued = try send(WireHeader.hello(rank: options.requestedRank.map(UInt32.init) ?? WireHeader.unassignedRank,
                                                       configHash: options.configHash, processID: UInt64(getpid()),
                                                       jsonByteCount: UInt32(introduction.count)), payload: message)
                connected = connected || queued
            case .reportUnreachable(let seconds):
                let state = connected ? "connected, waiting to be admitted" : "no connection yet"
                Console.error("worker: still trying to join the coordinator at \(options.connect) after \(Int(seconds)) s (\(state))")
            case .sendHeartbeat:
                if let session {
                    _ = try send(WireHeader.heartbeat(runID: machine.registration?.runID ?? 0, generation: machine.registration?.generation ?? 0,
                                                      rank: UInt32(session.settings.rank)))
                }
            case .giveUp(let reason):
                throw WorkerError.gaveUp(endpoint: options.connect, reason: reason, connected: connected)
            }
            var timeout = 100
            if let session, session.hasSharedMemory {
                // Sleep on the segment's step word; look at the socket between naps.
                let sequence = session.waitForStep(after: seenStepSequence, timeout: 0.005)
                if sequence != seenStepSequence {
                    seenStepSequence = sequence
                    machine.heard(now: monotonicSeconds())
                    do {
                        let decoded = try session.publishedStep()
                        try computeStep(decoded, session: session, input: .sharedMemory, now: monotonicSeconds())
                    } catch let error as WireError {
                        Console.error("worker: ignored a malformed step header in the segment: \(error)")
                    }
                }
                timeout = 0
            }
            let events = try poll(items: items, timeout: timeout)
            guard events[0].contains(.readable) else { continue }
            while case .message(let frames) = try socket.receiveMultipart(maxFrames: 2, mode: .dontWait) {
                if try !handle(frames) { try? socket.setLinger(milliseconds: 1000); return }
            }
        }
    }
}

/// What a worker holds once admitted: the model shape, its share of each batch, the buffers.
final class Session {
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
                segment = try SharedMemorySegment.open(name: name, byteCount: layout.byteCount)
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
