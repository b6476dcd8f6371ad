import DescentCore
import DescentData
import DescentProtocol
import DescentTraining
import DescentTransport
import Foundation

/// The worker's shell: it feeds the `WorkerMachine` the coordinator's messages and the clock and
/// carries out its directives (hello, heartbeats, computing slots of a step through the
/// `WorkerSession`). It makes no protocol decision of its own.
final class WorkerRun {
    private let options: WorkerOptions
    private let train: LabeledImages
    private let socket: ZMQSocket
    private let introduction: WorkerIntroduction
    private var machine: WorkerMachine
    private var header = [UInt8](repeating: 0, count: WireHeader.size)
    private var session: WorkerSession?
    private var connected = false
    private var lastGradientSent: Double?
    private var seenStepSequence: UInt32 = 0
    private var coordinatorPID: Int32?
    private var lastPIDCheck = 0.0
    private let trace: JSONLinesWriter?
    private var ending: WorkerMachine.Ending?

    init(options: WorkerOptions, train: LabeledImages) throws {
        self.options = options
        self.train = train
        let context = try ZMQContext()
        socket = try ZMQSocket(context, kind: .dealer)
        var random = SystemRandomNumberGenerator()
        try socket.setRoutingID((0..<16).map { _ in UInt8.random(in: 0...255, using: &random) })
        try socket.setImmediate(true)
        try socket.setHeartbeat(interval: 1000, timeout: 10_000, ttl: 20_000)
        try socket.setReconnect(interval: 100, maximum: 2000)
        try socket.setMaxMessageSize(64 << 20)
        do {
            try socket.connect(options.connect)
        } catch {
            throw WorkerError.cannotConnect(endpoint: options.connect, reason: error.message)
        }
        introduction = WorkerIntroduction(host: ProcessInfo.processInfo.hostName, pid: Int(getpid()), requestedRank: options.requestedRank,
                                          hostIdentity: HostIdentity.current(), sharedMemory: options.sharedMemory)
        machine = WorkerMachine(timing: .init(joinTimeout: options.joinTimeoutSeconds, rejoinTimeout: options.rejoinTimeoutSeconds),
                                now: monotonicSeconds())
        trace = try options.tracePath.map { try JSONLinesWriter(path: $0) }
        Console.error("worker: connecting to \(options.connect)")
    }

    deinit { try? trace?.close() }

    /// Runs until the coordinator says stop (returns), or the worker is refused or gives up (throws).
    func run() throws {
        let items = [ZMQPollItem(socket)]
        while ending == nil {
            if let stop = options.stop, !stop.pending().isEmpty { throw WorkerError.interrupted }
            let now = monotonicSeconds()
            try execute(machine.tick(now: now))
            if let pid = coordinatorPID, now - lastPIDCheck >= 0.05 {
                lastPIDCheck = now
                if kill(pid, 0) != 0 && errno == ESRCH {
                    coordinatorPID = nil
                    session = nil
                    try execute(machine.coordinatorGone(now: now))
                }
            }
            if ending != nil { break }
            if let session, session.hasSharedMemory {
                // Sleep on the segment's step word; look at the socket between naps.
                try takePublishedStep(session)
            } else {
                guard try poll(items: items, timeout: 100)[0].contains(.readable) else { continue }
            }
            while ending == nil, case .message(let frames) = try socket.receiveMultipart(maxFrames: 2, mode: .dontWait) {
                try handle(frames)
            }
        }
        try? socket.setLinger(milliseconds: 1000)
        switch ending {
        case .stopped(let reason)?:
            Console.out("Worker stopping: \(reason)")
            // A stop because the run failed ends the worker with a failure too.
            if reason.hasPrefix("the coordinator stopped") || reason.hasPrefix("the coordinator treats") {
                throw WorkerError.runFailed(reason: reason)
            }
        case .refused(let reason)?:
            throw WorkerError.refused(reason: reason)
        case let .gaveUp(reason, admitted)?:
            let state = admitted ? "this worker had been admitted" : connected ? "connected, but the coordinator never admitted this worker" : "no connection could be made"
            throw WorkerError.gaveUp(endpoint: options.connect, reason: reason, state: state)
        case nil:
            break
        }
    }

    private func execute(_ directives: [WorkerMachine.Directive], payload: ZMQMessage? = nil, publication: UInt32? = nil) throws {
        for directive in directives {
            switch directive {
            case let .sendHello(runID, generation):
                let hello = WireMessage.Hello(runID: runID, generation: generation,
                                              requestedRank: options.requestedRank.flatMap(UInt32.init(exactly:)) ?? WireHeader.unassignedRank,
                                              configHash: options.configHash, processID: UInt64(getpid()), introduction: introduction)
                connected = try send(.hello(hello)) || connected
            case .sendHeartbeat(let envelope):
                _ = try send(.heartbeat(envelope))
            case .startSession(let welcome):
                if session?.settings != welcome.settings { session = try WorkerSession(settings: welcome.settings, train: train) }
                coordinatorPID = welcome.settings.sharedMemoryName != nil ? welcome.settings.coordinatorPID.flatMap(Int32.init(exactly:)) : nil
                Console.out("Worker rank \(welcome.rank) of \(welcome.settings.workers) joined run \(welcome.runID) generation \(welcome.generation): "
                            + "\(welcome.settings.sampleCount) samples per epoch, global batch \(welcome.settings.globalBatch)"
                            + (welcome.settings.sharedMemoryName != nil ? ", parameters through shared memory" : ""))
            case let .compute(order, rank, slots):
                try compute(order, rank: rank, slots: slots, payload: payload, publication: publication)
            case .report(let text):
                Console.error("worker: \(text)")
            case let .stillJoining(seconds, rejoining):
                let state = connected ? "connected, waiting to be admitted" : "no connection yet"
                Console.error("worker: still trying to \(rejoining ? "rejoin" : "join") the coordinator at \(options.connect) after \(Int(seconds)) s (\(state))")
            case .end(let ending):
                self.ending = ending
            }
        }
    }

    /// Waits briefly for the coordinator to publish a step in the segment, and computes it.
    private func takePublishedStep(_ session: WorkerSession) throws {
        let sequence = session.waitForStep(after: seenStepSequence, timeout: 0.005)
        guard sequence != seenStepSequence else { return }
        seenStepSequence = sequence
        do {
            let decoded = try session.publishedStep()
            try execute(machine.receive(try WireMessage.decode(decoded, text: nil), now: monotonicSeconds()), publication: sequence)
        } catch let error as WireError {
            Console.error("worker: ignored a malformed step header in the segment: \(error)")
        }
    }

    /// Decodes one message at the edge and hands it to the machine.
    private func handle(_ frames: [ZMQMessage]) throws {
        let message: WireMessage
        let payload = frames.count == 2 ? frames[1] : nil
        do {
            try WireHeader.checkFrameCount(frames.count)
            let decoded = try frames[0].withUnsafeBytes { (bytes) throws(WireError) -> WireHeader in
                try WireHeader.decode(bytes, payloadByteCount: payload?.count)
            }
            if decoded.dtype == .utf8, let payload {
                message = try payload.withUnsafeBytes { (bytes) throws(WireError) -> WireMessage in try WireMessage.decode(decoded, text: bytes) }
            } else {
                message = try WireMessage.decode(decoded, text: nil)
            }
        } catch {
            Console.error("worker: ignored a malformed message: \(error)")
            return
        }
        if case .step = message, session == nil { return }
        try execute(machine.receive(message, now: monotonicSeconds()), payload: payload)
    }

    /// Computes this worker's slots of one step and hands the gradient back: in a frame, or in
    /// its slot of the shared segment with a futex wake.
    private func compute(_ order: WireMessage.StepOrder, rank: Int, slots: [Int], payload: ZMQMessage?, publication: UInt32?) throws {
        guard let session else { return }
        guard order.parameterCount == session.shape.parameterCount, session.holds(batch: order.batch),
              order.batch == order.step % session.batchesPerEpoch else {
            Console.error("worker: ignored step \(order.step): \(order.parameterCount) parameters for batch \(order.batch); "
                          + "the model has \(session.shape.parameterCount) and an epoch \(session.batchesPerEpoch) batches")
            return
        }
        let input: WorkerSession.Input
        switch (order.parameters, payload, publication) {
        case (.frame, let payload?, _): input = .frame(payload)
        case (.sharedMemory, _, .some): input = .sharedMemory
        default:
            Console.error("worker: ignored step \(order.step): its parameters are not where the header says")
            return
        }
        let arrived = monotonicSeconds()
        let epoch = order.step / session.batchesPerEpoch
        let result = try session.compute(input, epoch: epoch, batch: order.batch, slots: slots)
        let gradient = WireMessage.GradientResult(
            runID: order.runID, generation: order.generation, rank: UInt32(rank), step: UInt64(order.step), round: order.round,
            samples: UInt64(result.samples), lossSum: result.lossSum, correct: UInt64(result.correct),
            count: session.shape.parameterCount, location: result.gradient == nil ? .sharedMemory : .frame)
        if let message = result.gradient {
            if try !send(gradient.header, payload: message) {
                Console.error("worker: could not send the gradient of step \(order.step): no connection to the coordinator")
            }
        } else if let publication {
            session.announce(gradient.header, publication: publication)
        }
        let done = monotonicSeconds()
        machine.sent(now: done)
        try trace?.append(WorkerStepRecord(step: order.step, rank: rank, epoch: epoch, batch: order.batch, rate: order.rate,
                                           samples: result.samples, computeMs: (done - arrived) * 1000,
                                           idleMs: lastGradientSent.map { (arrived - $0) * 1000 },
                                           rssMB: order.step % 100 == 0 ? residentMemoryMB() : nil, round: order.round, slots: slots))
        lastGradientSent = done
    }

    /// Sends a control message without waiting; false when there is no connection to queue it on.
    private func send(_ message: WireMessage) throws -> Bool {
        let (header, text) = try message.encoded()
        return try send(header, payload: try text.map { try ZMQMessage(copying: $0) })
    }

    private func send(_ value: WireHeader, payload: ZMQMessage?) throws -> Bool {
        try header.withUnsafeMutableBytes { bytes in
            value.encode(into: bytes)
            return try socket.send(header: UnsafeRawBufferPointer(bytes), payload: payload, mode: .dontWait) == .sent
        }
    }
}
