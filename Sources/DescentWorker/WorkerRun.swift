import DescentCore
import DescentData
import DescentProtocol
import DescentTraining
import DescentTransport
import Foundation

/// One run of a worker: the socket, the protocol machine and, once admitted, the session that
/// computes. `WorkerMachine` decides; this class carries its decisions out.
final class WorkerRun {
    private let options: WorkerOptions
    private let train: LabeledImages
    private let socket: ZMQSocket
    private let handshakes: ClientHandshakeWatch
    private let introduction: [UInt8]
    private var machine: WorkerMachine
    private var header = [UInt8](repeating: 0, count: WireHeader.size)
    private var session: WorkerSession?
    private var connected = false
    private var lastGradientSent: Double?
    private var seenStepSequence: UInt32 = 0
    private let trace: JSONLinesWriter?

    init(options: WorkerOptions, train: LabeledImages) throws {
        self.options = options
        self.train = train
        let context = try ZMQContext()
        socket = try ZMQSocket(context, kind: .dealer)
        try socket.setRoutingID(randomRoutingID())
        try socket.setImmediate(true)
        try socket.setHeartbeat(interval: 1000, timeout: 10_000, ttl: 20_000)
        try socket.setReconnect(interval: 100, maximum: 2000)
        try SocketLimits.configureWorker(socket)
        handshakes = try SocketSecurity.secureClient(socket, options.security, endpoint: options.connect)
        do {
            try socket.connect(options.connect)
        } catch {
            throw WorkerError.cannotConnect(endpoint: options.connect, reason: error.message)
        }
        introduction = try WireText.encodeJSON(WorkerIntroduction(
            host: ProcessInfo.processInfo.hostName, pid: Int(getpid()), requestedRank: options.requestedRank,
            hostIdentity: HostIdentity.current(), sharedMemory: options.sharedMemory))
        machine = WorkerMachine(timing: .init(joinTimeout: options.joinTimeoutSeconds), now: monotonicSeconds())
        trace = try options.tracePath.map { try JSONLinesWriter(path: $0) }
        Console.error("worker: connecting to \(options.connect)")
    }

    deinit { try? trace?.close() }

    func run() throws {
        let items = [ZMQPollItem(socket)]
        while true {
            if Worker.stopRequested != 0 { throw WorkerError.interrupted }
            if let refusal = handshakes.refusal { throw WorkerError.refused(reason: refusal) }  // libzmq will not retry
            try tick()
            if let session, session.hasSharedMemory {
                // Sleep on the segment's step word; look at the socket between naps.
                try takePublishedStep(session)
            } else {
                guard try poll(items: items, timeout: 100)[0].contains(.readable) else { continue }
            }
            while case .message(let frames) = try socket.receiveMultipart(maxFrames: 2, mode: .dontWait) {
                if try !handle(frames) {
                    try? socket.setLinger(milliseconds: 1000)
                    return
                }
            }
        }
    }

    private func tick() throws {
        let admitted = machine.registration != nil
        switch machine.tick(now: monotonicSeconds()) {
        case .idle:
            break
        case .sendHello:
            let hello = WireHeader.hello(rank: options.requestedRank.map(UInt32.init) ?? WireHeader.unassignedRank,
                                         configHash: options.configHash, processID: UInt64(getpid()),
                                         jsonByteCount: UInt32(introduction.count))
            let queued = try send(hello, payload: try ZMQMessage(copying: introduction))
            connected = connected || queued
        case .reportUnreachable(let seconds):
            let state = connected ? "connected, waiting to be admitted" : "no connection yet"
            Console.error("worker: still trying to join the coordinator at \(options.connect) after \(Int(seconds)) s (\(state))")
        case .sendHeartbeat:
            if let session, let registration = machine.registration {
                _ = try send(WireHeader.heartbeat(runID: registration.runID, generation: registration.generation,
                                                  rank: UInt32(session.settings.rank)))
            }
        case .giveUp(let reason):
            let state = admitted ? "this worker had been admitted" : connected ? "connected, but the coordinator never admitted this worker" : "no connection could be made"
            throw WorkerError.gaveUp(endpoint: options.connect, reason: reason, state: state)
        }
    }

    /// Waits briefly for the coordinator to publish a step in the segment, and computes it.
    private func takePublishedStep(_ session: WorkerSession) throws {
        let sequence = session.waitForStep(after: seenStepSequence, timeout: 0.005)
        guard sequence != seenStepSequence else { return }
        seenStepSequence = sequence
        machine.heard(now: monotonicSeconds())
        do {
            let decoded = try session.publishedStep()
            try computeStep(decoded, session: session, input: .sharedMemory)
        } catch let error as WireError {
            Console.error("worker: ignored a malformed step header in the segment: \(error)")
        }
    }

    /// Handles one message; false when the worker is told to stop.
    private func handle(_ frames: [ZMQMessage]) throws -> Bool {
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
            try welcome(decoded, settings: try payload!.withUnsafeBytes { (bytes) throws(WireError) -> RunSettings in
                try WireText.decodeJSON(RunSettings.self, from: Array(bytes), in: .welcome)
            })
        case .step:
            guard let session, let payload else { return true }
            try computeStep(decoded, session: session, input: .frame(payload))
        case .reject:
            machine.finish()
            throw WorkerError.refused(reason: text(of: payload, in: .reject) ?? "no reason given")
        case .stop:
            Console.out("Worker stopping: \(text(of: payload, in: .stop) ?? "the coordinator said stop")")
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

    private func welcome(_ decoded: WireHeader, settings: RunSettings) throws {
        if session?.settings != settings { session = try WorkerSession(settings: settings, train: train) }
        machine.welcomed(rank: settings.rank, runID: decoded.runID, generation: decoded.generation,
                         heartbeatInterval: settings.heartbeatSeconds, silenceLimit: settings.silenceLimitSeconds, now: monotonicSeconds())
        Console.out("Worker rank \(settings.rank) of \(settings.workers) joined run \(decoded.runID): "
                    + "\(settings.sampleCount) samples per epoch, global batch \(settings.globalBatch)"
                    + (settings.sharedMemoryName != nil ? ", parameters through shared memory" : ""))
    }

    /// Computes one step and hands the gradient back: in a frame, or in this worker's slot of the
    /// shared segment with a futex wake.
    private func computeStep(_ decoded: WireHeader, session: WorkerSession, input: WorkerSession.Input) throws {
        let step = Int(clamping: decoded.step), epoch = Int(clamping: decoded.epoch), batch = Int(clamping: decoded.batchIndex)
        guard Int(decoded.count) == session.shape.parameterCount, session.holds(batch: batch) else {
            Console.error("worker: ignored step \(decoded.step): \(decoded.count) parameters for batch \(decoded.batchIndex); "
                          + "the model has \(session.shape.parameterCount) and an epoch \(session.batchesPerEpoch) batches")
            return
        }
        switch machine.step(step, runID: decoded.runID, generation: decoded.generation, now: monotonicSeconds()) {
        case .ignore(let reason):
            Console.error("worker: ignored a step: \(reason)")
        case .compute:
            let arrived = monotonicSeconds()
            let result = try session.compute(input, epoch: epoch, batch: batch)
            let gradient = WireHeader.gradient(
                runID: decoded.runID, generation: decoded.generation, rank: UInt32(session.settings.rank), step: decoded.step,
                samples: UInt64(result.samples), lossSum: result.lossSum, correct: UInt64(result.correct),
                parameterCount: UInt32(session.shape.parameterCount))
            if let message = result.gradient {
                if try !send(gradient, payload: message) {
                    Console.error("worker: could not send the gradient of step \(decoded.step): no connection to the coordinator")
                }
            } else {
                session.announce(gradient.inSharedMemory(), step: step)
            }
            let done = monotonicSeconds()
            machine.sent(now: done)
            try trace?.append(WorkerStepRecord(step: step, rank: session.settings.rank, epoch: epoch,
                                               batch: batch, rate: decoded.rate, samples: result.samples,
                                               computeMs: (done - arrived) * 1000,
                                               idleMs: lastGradientSent.map { (arrived - $0) * 1000 },
                                               rssMB: decoded.step % 100 == 0 ? residentMemoryMB() : nil))
            lastGradientSent = done
        }
    }

    /// Sends without waiting; false when there is no connection to queue it on.
    private func send(_ value: WireHeader, payload: ZMQMessage? = nil) throws -> Bool {
        try header.withUnsafeMutableBytes { bytes in
            value.encode(into: bytes)
            return try socket.send(header: UnsafeRawBufferPointer(bytes), payload: payload, mode: .dontWait) == .sent
        }
    }

    private func text(of payload: ZMQMessage?, in type: MessageType) -> String? {
        guard let payload else { return nil }
        return try? payload.withUnsafeBytes { (bytes) throws(WireError) -> String in try WireText.decodeText(bytes, in: type) }
    }
}
