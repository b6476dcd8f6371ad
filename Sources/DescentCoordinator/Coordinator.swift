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
/// (step, rate, parameters) to every worker over one ROUTER socket, averages their gradients
/// (weighted by samples) and applies SGD with the rate of that step. Protocol decisions are the
/// `CoordinatorMachine`'s; this class does the I/O, the arithmetic and the reporting.
public final class Coordinator {
    public let config: RunConfig
    public let options: CoordinatorOptions
    private let shape: MLPShape
    private let train: TrainingSet
    private let test: LabeledImages
    private let runID: UInt64
    private let generation: UInt32 = 0

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

    public func run() throws -> RunSummary {
        BLASThreads.set(config.training.threads)
        let workers = options.workers
        let globalBatch = config.globalBatch(workers: workers)
        let plan = EpochPlan(sampleCount: train.count, globalBatch: globalBatch, seed: config.seed)
        let totalSteps = min(config.training.epochs * plan.stepsPerEpoch, options.run.maxSteps ?? Int.max)
        var policy = LearningRatePolicy(schedule: config.schedule, stepsPerEpoch: plan.stepsPerEpoch, globalBatch: globalBatch)
        var machine = CoordinatorMachine(
            settings: .init(workers: workers, runID: runID, generation: generation, plan: plan, totalSteps: totalSteps,
                            configHash: options.configHash, silenceLimit: options.silenceLimitSeconds),
            now: monotonicSeconds(), heartbeatInterval: options.heartbeatSeconds)

        let parameterCount = shape.parameterCount
        let layout = SharedStepLayout(parameterCount: parameterCount, slots: workers)
        let hostIdentity = HostIdentity.current()
        var segment: SharedMemorySegment? = nil
        if options.sharedMemory && hostIdentity != nil {
            do {
                segment = try SharedMemorySegment.create(name: "/descent-\(runID)", byteCount: layout.byteCount)
            } catch {
                Console.error("coordinator: no shared memory for local workers (\(error)); parameters go through the sockets")
            }
        }
        let ownParameters = segment == nil ? UnsafeMutableBufferPointer<Float>.allocate(capacity: parameterCount) : nil
        defer { ownParameters?.deallocate() }
        let parameters = segment?.floats(at: layout.parametersOffset, count: parameterCount) ?? ownParameters!
        _ = parameters.initialize(from: shape.initialParameters(seed: config.seed))
        var sharedRanks = [Bool](repeating: false, count: workers)
        // Step and completion signals for the workers on this host (futexes in the segment).
        let stepSequence = segment.map { SharedWord($0, offset: layout.stepSequenceOffset) }
        let completions = segment.map { SharedWord($0, offset: layout.completionsOffset) }
        let doneSequences = segment.map { s in (0..<workers).map { SharedWord(s, offset: layout.doneSequenceOffset(rank: $0)) } }
        var seenDone = [UInt32](repeating: 0, count: workers)
        var seenCompletions: UInt32 = 0
        var optimizer = SGD(parameterCount: shape.parameterCount, momentum: Float(config.optimizer.momentum),
                            nesterov: config.optimizer.nesterov, weightDecay: Float(config.optimizer.weightDecay))
        let averager = GradientAverager(count: shape.parameterCount)
        let evaluator = Evaluator(shape: shape)
        let trace = try options.run.tracePath.map { try JSONLinesWriter(path: $0) }
        var reporter = RunReporter(epochs: config.training.epochs, stepsPerEpoch: plan.stepsPerEpoch)
        var log = RateLimitedLog()
        let labelsDigest = RunData.labelsDigest(train.images)

        let context = try ZMQContext()
        let socket = try ZMQSocket(context, kind: .router)
        try socket.setRouterMandatory(true)
        try socket.setHeartbeat(interval: 1000, timeout: 10_000, ttl: 20_000)
        try socket.setMaxMessageSize(Int64(parameterCount * 4 + 65_536))
        try socket.setSendHighWaterMark(100)
        try socket.setReceiveHighWaterMark(10_000)
        do {
            try socket.bind(options.bind)
        } catch {
            throw CoordinatorError.cannotBind(endpoint: options.bind, reason: error.message)
        }
        let endpoint = (try? socket.lastEndpoint) ?? options.bind
        if let file = options.endpointFile { try AtomicFile.write(Data(endpoint.utf8), to: file) }
        Console.out("Coordinator listening on \(endpoint) (run \(runID)), waiting for \(workers) worker(s); "
                    + "\(plan.stepsPerEpoch) steps per epoch, global batch \(globalBatch), \(totalSteps) steps")
        Console.out("Schedule: \(policy.schedule.summary)")

        var header = [UInt8](repeating: 0, count: WireHeader.size)
        var stepMessage: ZMQMessage? = nil
        var epochStart = monotonicSeconds(), epochLoss = 0.0, epochCorrect = 0, epochSamples = 0, epochSteps = 0
        let start = monotonicSeconds()
        var finished = false
        let registrationStart = monotonicSeconds()
        var trainingStart = registrationStart

        func send(_ header: WireHeader, to peer: PeerID, payload: ZMQMessage? = nil) {
            do {
                let outcome = try withHeaderBytes(header) { try socket.send(to: peer.bytes, header: $0, payload: payload, mode: .dontWait) }
                if outcome == .wouldBlock { log.log(kind: "blocked", "coordinator: send to \(peer) would block; the peer is not reading") }
            } catch let error as ZMQError where error.kind == .hostUnreachable {
                log.log(kind: "unreachable", "coordinator: peer \(peer) is unreachable (disconnected)")
            } catch {
                log.log(kind: "send", "coordinator: send to \(peer) failed: \(error)")
            }
        }

        func withHeaderBytes<R>(_ value: WireHeader, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
            try header.withUnsafeMutableBytes { bytes in
                value.encode(into: bytes)
                return try body(UnsafeRawBufferPointer(bytes))
            }
        }

        func sendText(_ make: (UInt32) -> WireHeader, _ text: [UInt8], to peer: PeerID) {
            do {
                let payload = try ZMQMessage(copying: text)
                send(make(UInt32(text.count)), to: peer, payload: payload)
            } catch {
                log.log(kind: "send", "coordinator: cannot build a message for \(peer): \(error)")
            }
        }

        func broadcastStep() throws {
            let step = machine.step
            let (epoch, batch) = machine.position
            let rate = policy.rate(at: step)
            stepMessage = sharedRanks.allSatisfy({ $0 }) ? nil : try ZMQMessage(copyingFloats: UnsafeBufferPointer(parameters))
            let stepHeader = WireHeader.step(
                runID: runID, generation: generation, rank: WireHeader.unassignedRank, step: UInt64(step),
                epoch: UInt64(epoch), batchIndex: UInt64(batch), rate: Double(rate), parameterCount: UInt32(parameterCount))
            if let segment, let stepSequence, sharedRanks.contains(true) {
                // Workers on this host: the header goes into the segment, then one futex wakes them all.
                stepHeader.inSharedMemory().encode(into: segment.bytes(at: layout.stepHeaderOffset, count: WireHeader.size))
                stepSequence.store(SharedStepLayout.sequence(ofStep: step))
                stepSequence.wake()
            }
            for (rank, peer) in machine.peers.enumerated() where !sharedRanks[rank] {
                guard let peer else { continue }
                send(stepHeader, to: peer, payload: stepMessage)
            }
        }

        /// Takes the gradients the workers on this host have announced in the segment.
        func collectSharedGradients() throws {
            guard let segment, let doneSequences else { return }
            for rank in 0..<workers where sharedRanks[rank] {
                let done = doneSequences[rank].load()
                guard done != seenDone[rank], let peer = machine.peers[rank] else { continue }
                seenDone[rank] = done
                let decoded: WireHeader
                do {
                    decoded = try WireHeader.decode(UnsafeRawBufferPointer(segment.bytes(at: layout.gradientHeaderOffset(rank: rank), count: WireHeader.size)),
                                                    payloadByteCount: nil)
                } catch {
                    machine.count(.malformed)
                    log.log(kind: "malformed", "coordinator: rejected the shared-memory gradient header of rank \(rank): \(error)")
                    continue
                }
                guard decoded.type == .gradientShared else {
                    machine.count(.unexpected)
                    log.log(kind: "unexpected", "coordinator: rejected a \(decoded.type) header in rank \(rank)'s gradient slot")
                    continue
                }
                try handleGradient(from: peer, decoded, payload: nil)
                if finished { return }
            }
        }

        func resendStep(to peer: PeerID, rank: Int) throws {
            let (epoch, batch) = machine.position
            let header = WireHeader.step(runID: runID, generation: generation, rank: WireHeader.unassignedRank, step: UInt64(machine.step),
                                         epoch: UInt64(epoch), batchIndex: UInt64(batch), rate: Double(policy.rate(at: machine.step)),
                                         parameterCount: UInt32(parameterCount))
            if sharedRanks[rank] {
                stepSequence?.wake()
            } else {
                if stepMessage == nil { stepMessage = try ZMQMessage(copyingFloats: UnsafeBufferPointer(parameters)) }
                send(header, to: peer, payload: stepMessage)
            }
        }

        func closeEpoch(_ epoch: Int) {
            let (testLoss, testAccuracy) = evaluator.evaluate(parameters: UnsafeBufferPointer(parameters), on: test)
            reporter.epochFinished(epoch, steps: epochSteps, loss: epochLoss / Double(max(epochSamples, 1)),
                                   accuracy: Double(epochCorrect) / Double(max(epochSamples, 1)),
                                   testLoss: testLoss, testAccuracy: testAccuracy, seconds: monotonicSeconds() - epochStart)
            policy.observe(validationLoss: testLoss)
            epochStart = monotonicSeconds()
            epochLoss = 0; epochCorrect = 0; epochSamples = 0; epochSteps = 0
        }

        func applyStep() throws {
            let updateStart = monotonicSeconds()
            let step = machine.step
            let (epoch, _) = machine.position
            let rate = policy.rate(at: step)
            let norm = averager.average()
            averager.sum.withUnsafeBufferPointer { g in optimizer.step(parameters: parameters, gradient: g, rate: rate) }
            let samples = averager.samples
            let loss = averager.lossSum / Double(max(samples, 1))
            if let trace {
                let latencies = machine.latencies
                let slowest = latencies.indices.max { latencies[$0] < latencies[$1] } ?? 0
                let now = monotonicSeconds()
                try trace.append(StepRecord(step: step, epoch: epoch, rate: rate, ranks: Array(0..<workers), samples: samples,
                                            loss: loss, gradientNorm: norm, slowestRank: slowest,
                                            slowestLatencyMs: latencies[slowest] * 1000,
                                            fastestLatencyMs: (latencies.min() ?? 0) * 1000,
                                            timeMs: (now - trainingStart) * 1000, updateMs: (now - updateStart) * 1000,
                                            rssMB: step % 100 == 0 ? residentMemoryMB() : nil))
            }
            epochLoss += averager.lossSum; epochCorrect += averager.correct; epochSamples += samples; epochSteps += 1
            averager.reset()
            reporter.stepFinished(step: step, lossSoFar: epochLoss / Double(max(epochSamples, 1)),
                                  samplesPerSecond: Double(epochSamples) / max(monotonicSeconds() - epochStart, 1e-9))
            switch machine.advance(now: monotonicSeconds()) {
            case let .next(next, nextEpoch, batch, finishedEpoch):
                if let finishedEpoch { closeEpoch(finishedEpoch) }
                if batch == 0 { reporter.epochStarted(nextEpoch, rate: policy.rate(at: next)) }
                try broadcastStep()
            case let .finished(finishedEpoch):
                closeEpoch(finishedEpoch)
                finished = true
            }
        }

        func handle(_ frames: [ZMQMessage]) throws {
            let peer = PeerID(frames[0].bytes)
            let body = frames.dropFirst()
            let decoded: WireHeader
            do {
                try WireHeader.checkFrameCount(body.count)
                let payloadBytes = body.count == 2 ? body[body.startIndex + 1].count : nil
                decoded = try body[body.startIndex].withUnsafeBytes { (bytes) throws(WireError) -> WireHeader in
                    try WireHeader.decode(bytes, payloadByteCount: payloadBytes)
                }
            } catch {
                machine.count(.malformed)
                log.log(kind: "malformed", "coordinator: rejected a message from \(peer): \(error)")
                return
            }
            let payload = body.count == 2 ? body[body.startIndex + 1] : nil
            switch decoded.type {
            case .hello:
                let introduction: WorkerIntroduction
                do {
                    introduction = try payload!.withUnsafeBytes { (bytes) throws(WireError) -> WorkerIntroduction in
                        try WireText.decodeJSON(WorkerIntroduction.self, from: Array(bytes), in: .hello)
                    }
                } catch {
                    machine.count(.malformed)
                    log.log(kind: "malformed", "coordinator: rejected a hello from \(peer): \(error)")
                    return
                }
                switch machine.hello(from: peer, configHash: decoded.configHash, introduction: introduction, now: monotonicSeconds()) {
                case let .welcome(rank, startsTraining, resend):
                    sharedRanks[rank] = segment != nil && introduction.sharedMemory == true
                        && introduction.hostIdentity != nil && introduction.hostIdentity == hostIdentity
                    let settings = RunSettings(
                        rank: rank, workers: workers, seed: config.seed, hidden: config.model.hidden,
                        parameterCount: shape.parameterCount, globalBatch: globalBatch, sampleCount: train.count,
                        trainLimit: config.data.trainLimit, trainRepeat: config.data.trainRepeat, threads: config.training.threads,
                        labelsDigest: labelsDigest, heartbeatSeconds: options.heartbeatSeconds,
                        silenceLimitSeconds: options.silenceLimitSeconds,
                        sharedMemoryName: sharedRanks[rank] ? segment?.name : nil)
                    let json = try WireText.encodeJSON(settings)
                    sendText({ WireHeader.welcome(runID: runID, generation: generation, rank: UInt32(rank),
                                                  worldSize: UInt64(workers), jsonByteCount: $0) }, json, to: peer)
                    let address = body[body.startIndex].metadata("Peer-Address").map { ", address \($0)" } ?? ""
                    let path = sharedRanks[rank] ? ", shared memory" : ""
                    Console.out("Worker rank \(rank) joined from \(introduction.host) (pid \(introduction.pid)\(address)\(path)); "
                                + "\(machine.registeredCount) of \(workers) registered")
                    if startsTraining {
                        Console.out("All \(workers) workers registered; training starts")
                        epochStart = monotonicSeconds()
                        trainingStart = epochStart
                        reporter.epochStarted(0, rate: policy.rate(at: 0))
                        if machine.phase == .finished { finished = true } else { try broadcastStep() }
                    } else if resend {
                        try resendStep(to: peer, rank: rank)
                    }
                case let .reject(kind, reason):
                    log.log(kind: kind.rawValue, "coordinator: refused worker \(introduction.host) pid \(introduction.pid): \(reason)")
                    sendText({ WireHeader.reject(runID: runID, generation: generation, reasonByteCount: $0) }, Array(reason.utf8), to: peer)
                }
            case .gradient, .gradientShared:
                try handleGradient(from: peer, decoded, payload: payload)
            case .heartbeat:
                if !machine.heard(from: peer, now: monotonicSeconds()) {
                    send(WireHeader.registerAgain(runID: runID, generation: generation), to: peer)
                }
            default:
                machine.count(.unexpected)
                log.log(kind: "unexpected", "coordinator: rejected a \(decoded.type) message from \(peer): coordinators do not take them")
            }
        }

        /// A gradient (its floats in `payload`, or in the sender's slot of the segment) checked,
        /// then added to the step's average; the last one of a step applies the update.
        func handleGradient(from peer: PeerID, _ decoded: WireHeader, payload: ZMQMessage?) throws {
            // The gradient's floats: the payload frame, or the sender's slot of the shared segment.
            let slot: UnsafeRawBufferPointer?
            if decoded.type == .gradientShared {
                guard let rank = machine.rank(of: peer), sharedRanks[rank], let segment else {
                    machine.count(.unexpected)
                    log.log(kind: "unexpected", "coordinator: rejected a shared-memory gradient from \(peer), which was given no shared memory")
                    return
                }
                slot = UnsafeRawBufferPointer(segment.floats(at: layout.gradientOffset(rank: rank), count: parameterCount))
            } else {
                slot = nil
            }
            func withGradientBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
                if let slot { return body(slot) }
                return payload!.withUnsafeBytes(body)
            }
            let countMatches = Int(decoded.count) == parameterCount
            let finite = countMatches && withGradientBytes { WirePayload.firstNonFiniteIndex(floatBytes: $0) == nil }
            let report = CoordinatorMachine.GradientReport(
                peer: peer, runID: decoded.runID, generation: decoded.generation, rank: Int(decoded.rank),
                step: Int(clamping: decoded.step), samples: Int(clamping: decoded.samples),
                countMatches: countMatches, finite: finite)
            switch machine.gradient(report, now: monotonicSeconds()) {
            case let .accepted(_, complete):
                withGradientBytes {
                    averager.add(floatBytes: $0, samples: Int(decoded.samples), lossSum: decoded.lossSum, correct: Int(decoded.correct))
                }
                if complete { try applyStep() }
            case let .rejected(kind, reason):
                log.log(kind: kind.rawValue, "coordinator: rejected \(reason) [\(kind.rawValue)]")
                if kind == .unknownSender {
                    send(WireHeader.registerAgain(runID: runID, generation: generation), to: peer)
                }
            }
        }

        func tick() throws {
            let now = monotonicSeconds()
            switch machine.tick(now: now) {
            case .idle:
                break
            case .heartbeat:
                for (rank, peer) in machine.peers.enumerated() {
                    guard let peer else { continue }
                    send(WireHeader.heartbeat(runID: runID, generation: generation, rank: UInt32(rank), step: UInt64(machine.step)), to: peer)
                }
            case let .waitingForWorkers(missing, seconds):
                Console.error("coordinator: waiting for \(missing) of \(workers) worker(s) to register at \(endpoint) (\(Int(seconds)) s)")
                if let limit = options.registrationTimeoutSeconds, now - registrationStart >= limit {
                    throw CoordinatorError.registrationTimedOut(missing: missing, seconds: seconds)
                }
            case let .waitingForGradients(step, ranks, seconds):
                let names = ranks.map { rank in "\(rank) (\(machine.introductions[rank]?.host ?? "?"))" }.joined(separator: ", ")
                Console.error("coordinator: step \(step) waiting \(String(format: "%.1f", seconds)) s for rank(s) \(names)")
            case let .lost(rank, seconds):
                throw CoordinatorError.workerLost(rank: rank, host: machine.introductions[rank]?.host ?? "?", seconds: seconds)
            }
        }

        func stopWorkers(_ reason: String) {
            let text = Array(reason.utf8)
            for (rank, peer) in machine.peers.enumerated() {
                guard let peer else { continue }
                sendText({ WireHeader.stop(runID: runID, generation: generation, rank: UInt32(rank), step: UInt64(machine.step),
                                           reasonByteCount: $0) }, text, to: peer)
            }
            try? socket.setLinger(milliseconds: 2000)
        }

        let items = [ZMQPollItem(socket)]
        do {
            while !finished {
                if Coordinator.stopRequested != 0 { throw CoordinatorError.interrupted }
                var timeout = 100
                if machine.phase == .training, let completions, sharedRanks.contains(true) {
                    // Sleep on the futex the workers on this host bump; look at the socket between naps.
                    let naps = sharedRanks.contains(false) ? 0.0005 : 0.005
                    seenCompletions = completions.wait(whileEquals: seenCompletions, timeout: naps)
                    try collectSharedGradients()
                    timeout = 0
                }
                let events = try poll(items: items, timeout: timeout)
                if events[0].contains(.readable) {
                    receiving: while !finished {
                        switch try socket.receiveMultipart(maxFrames: 3, mode: .dontWait) {
                        case .message(let frames): try handle(frames)
                        case .wouldBlock: break receiving
                        case .tooManyFrames(let count):
                            machine.count(.malformed)
                            log.log(kind: "malformed", "coordinator: rejected a message of \(count) frames")
                        }
                    }
                }
                try tick()
            }
        } catch {
            stopWorkers("the coordinator stopped: \(error)")
            try? trace?.close()
            reportRejections(machine.rejections)
            throw error
        }
        stopWorkers("training finished")
        try trace?.close()
        let (testLoss, testAccuracy) = evaluator.evaluate(parameters: UnsafeBufferPointer(parameters), on: test)
        let seconds = monotonicSeconds() - start
        let finalRate = policy.rate(at: machine.step)
        reporter.finished(testLoss: testLoss, testAccuracy: testAccuracy, finalRate: finalRate, steps: machine.step, seconds: seconds)
        reportRejections(machine.rejections)
        let finalParameters = Array(parameters)
        if let path = options.run.savePath { try ParameterFile.write(finalParameters, to: path) }
        return RunSummary(steps: machine.step, testLoss: testLoss, testAccuracy: testAccuracy, finalRate: finalRate,
                          parameters: finalParameters, seconds: seconds)
    }

    private func reportRejections(_ rejections: [Rejection: Int]) {
        guard !rejections.isEmpty else { return }
        let text = rejections.sorted { $0.key < $1.key }.map { "\($0.key.rawValue)=\($0.value)" }.joined(separator: " ")
        Console.out("Rejected messages: \(text)")
    }
}
