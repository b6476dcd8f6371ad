import DescentConfig
import DescentCore
import DescentData
import DescentModel
import DescentProtocol
import DescentSchedules
import DescentTraining
import DescentTransport
import Foundation

/// One run of the coordinator: the socket, the protocol machine, the model and the reports.
/// `CoordinatorMachine` decides; this class carries its decisions out.
final class CoordinatorRun {
    private let config: RunConfig
    private let options: CoordinatorOptions
    private let train: TrainingSet
    private let test: LabeledImages
    private let runID: UInt64
    private let generation: UInt32 = 0
    private let workers: Int
    private let globalBatch: Int
    private let parameterCount: Int
    private let labelsDigest: UInt64

    private var machine: CoordinatorMachine
    private var policy: LearningRatePolicy
    private var optimizer: SGD
    private let averager: GradientAverager
    private let evaluator: Evaluator
    private let trace: JSONLinesWriter?
    private var reporter: RunReporter
    private var log = RateLimitedLog()

    private let local: LocalWorkers?
    private let ownParameters: UnsafeMutableBufferPointer<Float>?
    /// The model: in the shared segment when there is one, else owned here.
    private let parameters: UnsafeMutableBufferPointer<Float>

    private let socket: ZMQSocket
    private let handshakes: ServerHandshakeGuard
    private let endpoint: String
    private var header = [UInt8](repeating: 0, count: WireHeader.size)
    /// The step in flight's parameters as a frame, for workers on other hosts (shared by reference).
    private var stepMessage: ZMQMessage?

    private var epoch: EpochTally
    private let started: Double
    private var trainingStarted: Double
    private var finished = false

    init(config: RunConfig, options: CoordinatorOptions, train: TrainingSet, test: LabeledImages, shape: MLPShape, runID: UInt64) throws {
        self.config = config
        self.options = options
        self.train = train
        self.test = test
        self.runID = runID
        workers = options.workers
        globalBatch = config.globalBatch(workers: workers)
        parameterCount = shape.parameterCount
        labelsDigest = RunData.labelsDigest(train.images)
        try train.checkNotEmpty()

        let plan = EpochPlan(sampleCount: train.count, globalBatch: globalBatch, seed: config.seed)
        let totalSteps = min(config.training.epochs * plan.stepsPerEpoch, options.run.maxSteps ?? Int.max)
        started = monotonicSeconds()
        trainingStarted = started
        epoch = EpochTally(started: started)
        machine = CoordinatorMachine(
            settings: .init(workers: workers, runID: runID, generation: generation, plan: plan, totalSteps: totalSteps,
                            configHash: options.configHash, silenceLimit: options.silenceLimitSeconds),
            now: started, heartbeatInterval: options.heartbeatSeconds)
        policy = LearningRatePolicy(schedule: config.schedule, stepsPerEpoch: plan.stepsPerEpoch, globalBatch: globalBatch)
        optimizer = SGD(config.optimizer, parameterCount: parameterCount)
        averager = GradientAverager(count: parameterCount)
        evaluator = Evaluator(shape: shape)
        trace = try options.run.tracePath.map { try JSONLinesWriter(path: $0) }
        reporter = RunReporter(epochs: config.training.epochs, stepsPerEpoch: plan.stepsPerEpoch)

        local = options.sharedMemory ? LocalWorkers.create(runID: runID, parameterCount: parameterCount, workers: workers) : nil
        ownParameters = local == nil ? .allocate(capacity: parameterCount) : nil
        parameters = local?.parameters ?? ownParameters!
        _ = parameters.initialize(from: shape.initialParameters(seed: config.seed))

        let context = try ZMQContext(ioThreads: SocketSecurity.coordinatorIOThreads(options.security, workers: workers))
        socket = try ZMQSocket(context, kind: .router)
        try socket.setRouterMandatory(true)
        try socket.setHeartbeat(interval: 1000, timeout: 10_000, ttl: 20_000)
        try socket.setSendHighWaterMark(100)
        try SocketLimits.configureCoordinator(socket, parameterCount: parameterCount)
        handshakes = try SocketSecurity.secureServer(socket, options.security, limits: HandshakeLimits(workers: workers))
        do {
            try socket.bind(options.bind)
        } catch {
            throw CoordinatorError.cannotBind(endpoint: options.bind, reason: error.message)
        }
        endpoint = (try? socket.lastEndpoint) ?? options.bind
        if let file = options.endpointFile { try AtomicFile.write(Data(endpoint.utf8), to: file) }
        Console.out("Coordinator listening on \(endpoint) (run \(runID)), waiting for \(workers) worker(s); "
                    + "\(plan.stepsPerEpoch) steps per epoch, global batch \(globalBatch), \(totalSteps) steps")
        Console.out("Schedule: \(policy.schedule.summary)")
    }

    deinit { ownParameters?.deallocate() }

    // MARK: The loop

    func run() throws -> RunSummary {
        let items = [ZMQPollItem(socket)]
        do {
            while !finished {
                if Coordinator.stopRequested != 0 { throw CoordinatorError.interrupted }
                if machine.phase == .training, let local, local.any {
                    // Sleep on the futex the workers on this host bump; look at the socket between naps.
                    local.waitForGradients(timeout: local.all ? 0.005 : 0.0005)
                    try collectLocalGradients(local)
                    try receiveAll()
                } else if try poll(items: items, timeout: 100)[0].contains(.readable) {
                    try receiveAll()
                }
                try tick()
            }
        } catch {
            stopWorkers("the coordinator stopped: \(error)")
            try? trace?.close()
            reportRejections()
            throw error
        }
        stopWorkers("training finished")
        try trace?.close()
        let (testLoss, testAccuracy) = evaluator.evaluate(parameters: UnsafeBufferPointer(parameters), on: test)
        let seconds = monotonicSeconds() - started
        let finalRate = policy.rate(at: machine.step)
        reporter.finished(testLoss: testLoss, testAccuracy: testAccuracy, finalRate: finalRate, steps: machine.step, seconds: seconds)
        reportRejections()
        let finalParameters = Array(parameters)
        if let path = options.run.savePath { try ParameterFile.write(finalParameters, to: path) }
        return RunSummary(steps: machine.step, testLoss: testLoss, testAccuracy: testAccuracy, finalRate: finalRate,
                          parameters: finalParameters, seconds: seconds)
    }

    private func receiveAll() throws {
        while !finished {
            switch try socket.receiveMultipart(maxFrames: 3, mode: .dontWait) {
            case .message(let frames): try handle(frames)
            case .wouldBlock: return
            case .tooManyFrames(let count):
                machine.count(.malformed)
                log.log(kind: "malformed", "coordinator: rejected a message of \(count) frames")
            }
        }
    }

    // MARK: Messages

    private func handle(_ frames: [ZMQMessage]) throws {
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
            if case .unsupportedVersion(let version) = error {
                // Tell a worker of another version why it is not admitted, instead of letting it wait.
                let reason = "this coordinator speaks protocol version \(WireHeader.protocolVersion), the worker \(version); run the same Descent version on every host"
                sendText({ WireHeader.reject(runID: runID, generation: generation, reasonByteCount: $0) }, Array(reason.utf8), to: peer)
            }
            return
        }
        let payload = body.count == 2 ? body[body.startIndex + 1] : nil
        switch decoded.type {
        case .hello:
            try handleHello(from: peer, decoded, payload: payload!, address: body[body.startIndex].metadata("Peer-Address"))
        case .gradient:
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

    private func handleHello(from peer: PeerID, _ decoded: WireHeader, payload: ZMQMessage, address: String?) throws {
        var introduction: WorkerIntroduction
        do {
            introduction = try payload.withUnsafeBytes { (bytes) throws(WireError) -> WorkerIntroduction in
                try WireText.decodeJSON(WorkerIntroduction.self, from: Array(bytes), in: .hello)
            }
            introduction.host = introduction.host.sanitizedForDisplay()  // printed in many lines; peer-supplied
        } catch {
            machine.count(.malformed)
            log.log(kind: "malformed", "coordinator: rejected a hello from \(peer): \(error)")
            return
        }
        switch machine.hello(from: peer, configHash: decoded.configHash, introduction: introduction, now: monotonicSeconds()) {
        case let .welcome(rank, startsTraining, resend):
            let shared = local?.admit(rank: rank, introduction) ?? false
            let settings = RunSettings(
                rank: rank, workers: workers, seed: config.seed, hidden: config.model.hidden,
                parameterCount: parameterCount, globalBatch: globalBatch, sampleCount: train.count,
                trainLimit: config.data.trainLimit, trainRepeat: config.data.trainRepeat, threads: config.training.threads,
                labelsDigest: labelsDigest, heartbeatSeconds: options.heartbeatSeconds,
                silenceLimitSeconds: options.silenceLimitSeconds, sharedMemoryName: shared ? local?.segment.name : nil)
            sendText({ WireHeader.welcome(runID: runID, generation: generation, rank: UInt32(rank),
                                          worldSize: UInt64(workers), jsonByteCount: $0) }, try WireText.encodeJSON(settings), to: peer)
            Console.out("Worker rank \(rank) joined from \(introduction.host) (pid \(introduction.pid)"
                        + (address.map { ", address \($0)" } ?? "") + (shared ? ", shared memory" : "") + "); "
                        + "\(machine.registeredCount) of \(workers) registered")
            if startsTraining {
                Console.out("All \(workers) workers registered; training starts")
                trainingStarted = monotonicSeconds()
                epoch = EpochTally(started: trainingStarted)
                reporter.epochStarted(0, rate: policy.rate(at: 0))
                if machine.phase == .finished { finished = true } else { try broadcastStep() }
            } else if resend {
                try resendStep(to: peer, rank: rank)
            }
        case let .reject(kind, reason):
            log.log(kind: kind.rawValue, "coordinator: refused worker \(introduction.host) pid \(introduction.pid): \(reason)")
            sendText({ WireHeader.reject(runID: runID, generation: generation, reasonByteCount: $0) }, Array(reason.utf8), to: peer)
        }
    }

    /// The gradients the workers on this host announced in the segment.
    private func collectLocalGradients(_ local: LocalWorkers) throws {
        try local.forEachAnnouncement { rank, announced in
            guard !finished, let peer = machine.peers[rank] else { return }
            switch announced {
            case .failure(let error):
                machine.count(.malformed)
                log.log(kind: "malformed", "coordinator: rejected the shared-memory gradient header of rank \(rank): \(error)")
            case .success(let decoded) where decoded.type != .gradientShared:
                machine.count(.unexpected)
                log.log(kind: "unexpected", "coordinator: rejected a \(decoded.type) header in rank \(rank)'s gradient slot")
            case .success(let decoded):
                try handleGradient(from: peer, decoded, payload: nil, localRank: rank)
            }
        }
    }

    /// A gradient, its floats in `payload` or (for a local rank) in its slot of the segment:
    /// checked, then added to the step's average; the last one of a step applies the update.
    private func handleGradient(from peer: PeerID, _ decoded: WireHeader, payload: ZMQMessage?, localRank: Int? = nil) throws {
        // A local worker's gradient is copied out of the segment once, then checked and averaged.
        let localCopy = localRank.flatMap { local?.copyGradient(rank: $0) }
        func withGradientBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
            if let localCopy { return body(localCopy) }
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
                averager.add(floatBytes: $0, samples: Int(clamping: decoded.samples), lossSum: decoded.lossSum,
                             correct: Int(clamping: decoded.correct))
            }
            if complete { try applyStep() }
        case let .rejected(kind, reason):
            log.log(kind: kind.rawValue, "coordinator: rejected \(reason) [\(kind.rawValue)]")
            if kind == .unknownSender {
                send(WireHeader.registerAgain(runID: runID, generation: generation), to: peer)
            }
        }
    }

    // MARK: Steps

    private func stepHeader() -> WireHeader {
        let (epoch, batch) = machine.position
        return WireHeader.step(runID: runID, generation: generation, rank: WireHeader.unassignedRank, step: UInt64(machine.step),
                               epoch: UInt64(epoch), batchIndex: UInt64(batch), rate: Double(policy.rate(at: machine.step)),
                               parameterCount: UInt32(parameterCount))
    }

    /// Sends the step in flight: through the segment to local workers, in frames to the others.
    private func broadcastStep() throws {
        let header = stepHeader()
        if let local, local.any { local.publish(header.inSharedMemory(), step: machine.step) }
        stepMessage = local?.all == true ? nil : try ZMQMessage(copyingFloats: UnsafeBufferPointer(parameters))
        for (rank, peer) in machine.peers.enumerated() where local?.ranks[rank] != true {
            guard let peer else { continue }
            send(header, to: peer, payload: stepMessage)
        }
    }

    private func resendStep(to peer: PeerID, rank: Int) throws {
        if let local, local.ranks[rank] {
            local.wakeAll()
        } else {
            if stepMessage == nil { stepMessage = try ZMQMessage(copyingFloats: UnsafeBufferPointer(parameters)) }
            send(stepHeader(), to: peer, payload: stepMessage)
        }
    }

    /// Averages the step's gradients, applies SGD with the step's rate, records it, and moves on.
    private func applyStep() throws {
        let updateStarted = monotonicSeconds()
        let step = machine.step
        let rate = policy.rate(at: step)
        let norm = averager.average()
        averager.sum.withUnsafeBufferPointer { optimizer.step(parameters: parameters, gradient: $0, rate: rate) }
        if let trace {
            let latencies = machine.latencies
            let slowest = latencies.indices.max { latencies[$0] < latencies[$1] } ?? 0
            let now = monotonicSeconds()
            try trace.append(StepRecord(
                step: step, epoch: machine.position.epoch, rate: rate, ranks: Array(0..<workers), samples: averager.samples,
                loss: averager.lossSum / Double(max(averager.samples, 1)), gradientNorm: norm, slowestRank: slowest,
                slowestLatencyMs: latencies[slowest] * 1000, fastestLatencyMs: (latencies.min() ?? 0) * 1000,
                timeMs: (now - trainingStarted) * 1000, updateMs: (now - updateStarted) * 1000,
                rssMB: step % 100 == 0 ? residentMemoryMB() : nil))
        }
        epoch.add(lossSum: averager.lossSum, correct: averager.correct, samples: averager.samples)
        averager.reset()
        reporter.stepFinished(step: step, lossSoFar: epoch.meanLoss, samplesPerSecond: epoch.samplesPerSecond(now: monotonicSeconds()))
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

    private func closeEpoch(_ index: Int) {
        let (testLoss, testAccuracy) = evaluator.evaluate(parameters: UnsafeBufferPointer(parameters), on: test)
        epoch.report(epoch: index, to: &reporter, testLoss: testLoss, testAccuracy: testAccuracy, now: monotonicSeconds())
        policy.observe(validationLoss: testLoss)
        epoch = EpochTally(started: monotonicSeconds())
    }

    // MARK: Time

    private func tick() throws {
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
            if let limit = options.registrationTimeoutSeconds, now - started >= limit {
                throw CoordinatorError.registrationTimedOut(missing: missing, seconds: seconds)
            }
        case let .waitingForGradients(step, ranks, seconds):
            let names = ranks.map { rank in "\(rank) (\(machine.introductions[rank]?.host ?? "?"))" }.joined(separator: ", ")
            Console.error("coordinator: step \(step) waiting \(String(format: "%.1f", seconds)) s for rank(s) \(names)")
        case let .lost(rank, seconds):
            throw CoordinatorError.workerLost(rank: rank, host: machine.introductions[rank]?.host ?? "?", seconds: seconds)
        }
    }

    // MARK: Sending

    private func send(_ value: WireHeader, to peer: PeerID, payload: ZMQMessage? = nil) {
        do {
            let outcome = try header.withUnsafeMutableBytes { bytes in
                value.encode(into: bytes)
                return try socket.send(to: peer.bytes, header: UnsafeRawBufferPointer(bytes), payload: payload, mode: .dontWait)
            }
            if outcome == .wouldBlock { log.log(kind: "blocked", "coordinator: send to \(peer) would block; the peer is not reading") }
        } catch let error as ZMQError where error.kind == .hostUnreachable {
            log.log(kind: "unreachable", "coordinator: peer \(peer) is unreachable (disconnected)")
        } catch {
            log.log(kind: "send", "coordinator: send to \(peer) failed: \(error)")
        }
    }

    private func sendText(_ make: (UInt32) -> WireHeader, _ text: [UInt8], to peer: PeerID) {
        do {
            send(make(UInt32(text.count)), to: peer, payload: try ZMQMessage(copying: text))
        } catch {
            log.log(kind: "send", "coordinator: cannot build a message for \(peer): \(error)")
        }
    }

    private func stopWorkers(_ reason: String) {
        for (rank, peer) in machine.peers.enumerated() {
            guard let peer else { continue }
            sendText({ WireHeader.stop(runID: runID, generation: generation, rank: UInt32(rank), step: UInt64(machine.step),
                                       reasonByteCount: $0) }, Array(reason.utf8), to: peer)
        }
        // The process exits next, so the stops must leave first. Measured here with libzmq 4.3.4:
        // messages queued on a ROUTER just before zmq_close were dropped despite LINGER unless its
        // I/O thread had a moment to take them, so give it 100 ms, then close and wait (at most
        // LINGER, 2 s) for what is still queued.
        try? socket.setLinger(milliseconds: 2000)
        usleep(100_000)
        socket.close()
        socket.context.terminate()
    }

    private func reportRejections() {
        if let refused = handshakes.summary { Console.out(refused) }
        let rejections = machine.rejections
        guard !rejections.isEmpty else { return }
        let text = rejections.sorted { $0.key < $1.key }.map { "\($0.key.rawValue)=\($0.value)" }.joined(separator: " ")
        Console.out("Rejected messages: \(text)")
    }
}
