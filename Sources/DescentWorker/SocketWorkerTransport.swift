import DescentCore
import DescentProtocol
import DescentTransport

/// A worker's DEALER socket: 64-byte headers, a payload frame per step and gradient (float32, or
/// bfloat16 when the run's settings say so, with the gradient's rounding error fed back).
public final class SocketWorkerTransport: WorkerTransport {
    private let socket: ZMQSocket
    /// Explains failed handshakes; a refused key ends the worker (libzmq does not retry it).
    private let handshakes: ClientHandshakeWatch
    private var header = [UInt8](repeating: 0, count: WireHeader.size)
    public private(set) var connected = false
    /// The run's wire encoding, from the welcome (float32 until then).
    public private(set) var encoding: WireEncoding = .float32
    /// What each bfloat16 gradient lost to rounding, added to the next one (error feedback).
    private var residual: UnsafeMutableBufferPointer<Float>?
    /// Bytes through the socket, for the bytes-per-step figure.
    public private(set) var traffic = WireTraffic()

    /// Connects to `endpoint` with `security` (CURVE with the coordinator's pinned key, or plaintext).
    public init(connect endpoint: String, security: ClientSecurity = .insecure) throws {
        let context = try ZMQContext()
        socket = try ZMQSocket(context, kind: .dealer)
        // A real random routing id: two workers started at the same moment never collide.
        try socket.setRoutingID(randomRoutingID())
        try socket.setImmediate(true)
        try socket.setHeartbeat(interval: 1000, timeout: 10_000, ttl: 20_000)
        try socket.setReconnect(interval: 100, maximum: 2000)
        try SocketLimits.configureWorker(socket)
        handshakes = try SocketSecurity.secureClient(socket, security, endpoint: endpoint)
        do {
            try socket.connect(endpoint)
        } catch {
            throw WorkerError.cannotConnect(endpoint: endpoint, reason: error.message)
        }
    }

    deinit { residual?.deallocate() }

    /// Takes the run's wire encoding from its settings (and a zeroed error-feedback buffer for bf16).
    public func attach(_ settings: RunSettings) throws -> SharedBuffers? {
        encoding = settings.encoding
        if encoding == .bf16 {
            if residual?.count != settings.parameterCount {
                residual?.deallocate()
                residual = .allocate(capacity: settings.parameterCount)
            }
            residual?.initialize(repeating: 0)
        }
        return nil
    }

    public func receive(timeout: Double, _ handle: (WorkerArrival) throws -> Void) throws {
        if let refusal = handshakes.refusal { throw WorkerError.refused(reason: refusal) }  // libzmq will not retry
        if timeout > 0 {
            guard try poll(items: [ZMQPollItem(socket)], timeout: Int(timeout * 1000))[0].contains(.readable) else { return }
        }
        // At most `drainLimit` a call: a coordinator (or whatever answers at its address) that
        // floods cannot keep the worker from its clock (join and silence limits) and signals.
        for _ in 0..<SocketLimits.drainLimit {
            guard case .message(let frames) = try socket.receiveMultipart(maxFrames: 2, mode: .dontWait) else { return }
            for frame in frames { traffic.received(frame.count) }
            try handle(Self.decode(frames, encoding: encoding))
        }
    }

    /// The edge: frames to a typed message, decoded once.
    static func decode(_ frames: [ZMQMessage], encoding: WireEncoding = .float32) -> WorkerArrival {
        let payload = frames.count == 2 ? frames[1] : nil
        do throws(WireError) {
            try WireHeader.checkFrameCount(frames.count)
            let decoded = try frames[0].withUnsafeBytes { (bytes) throws(WireError) -> WireHeader in
                try WireHeader.decode(bytes, payloadByteCount: payload?.count)
            }
            if decoded.dtype == .utf8, let payload {
                return .message(try payload.withUnsafeBytes { (bytes) throws(WireError) -> WireMessage in
                    try WireMessage.decode(decoded, text: bytes)
                }, parameters: nil)
            }
            if decoded.type == .step && decoded.encoding != encoding {
                throw WireError.wrongEncoding(type: decoded.type, expected: encoding, got: decoded.encoding)
            }
            let parameters = payload.map { decoded.encoding == .bf16 ? StepParameters.bfloat16Frame($0) : StepParameters.frame($0) }
            return .message(try WireMessage.decode(decoded, text: nil), parameters: parameters)
        } catch {
            return .malformed(error)
        }
    }

    @discardableResult
    public func send(_ message: WireMessage) throws -> Bool {
        let (header, text) = try message.encoded()
        let queued = try send(header, payload: try text.map { try ZMQMessage(copying: $0) })
        connected = connected || queued
        return queued
    }

    @discardableResult
    public func sendGradient(_ result: WireMessage.GradientResult, gradient: UnsafeBufferPointer<Float>) throws -> Bool {
        traffic.steps += 1
        guard encoding == .bf16 else { return try send(result.header, payload: try ZMQMessage(copyingFloats: gradient)) }
        var result = result
        result.encoding = .bf16
        // Encoded straight into the frame; an empty share (no samples, weighted 0) leaves the residual alone.
        let payload = try ZMQMessage(size: gradient.count * 2)
        payload.withUnsafeMutableBytes { bytes in
            if let residual, residual.count == gradient.count, result.samples > 0 {
                BFloat16Coding.encode(gradient, residual: residual, into: bytes)
            } else {
                BFloat16Coding.encode(gradient, into: bytes)
            }
        }
        return try send(result.header, payload: payload)
    }

    private func send(_ value: WireHeader, payload: ZMQMessage?) throws -> Bool {
        let sent = try header.withUnsafeMutableBytes { bytes in
            value.encode(into: bytes)
            return try socket.send(header: UnsafeRawBufferPointer(bytes), payload: payload, mode: .dontWait) == .sent
        }
        if sent { traffic.sent(WireHeader.size + (payload?.count ?? 0)) }
        return sent
    }

    public func close() {
        try? socket.setLinger(milliseconds: 1000)
        if let wire = traffic.summary(encoding: encoding) { Console.out("Worker: \(wire)") }
    }
}

/// Shared memory with a coordinator on the same host, on top of the socket: a step is announced
/// in the segment (a futex wake), the parameters are read in place, the gradient is written into
/// this worker's slot and announced the same way. Control messages use the socket, or, for the
/// worker in the coordinator's own process (`InProcessWorker`), an `InMemoryNetwork`.
public final class SharedMemoryWorkerTransport: WorkerTransport {
    /// Where control messages go (and steps and gradients when there is no segment).
    private let control: WorkerTransport
    private var attached: (segment: SharedMemorySegment, layout: SharedStepLayout, rank: Int,
                           step: SharedWord, completions: SharedWord, done: SharedWord, parameterBuffer: SharedWord)?
    private var seenSequence: UInt32 = 0
    /// The publication the step being computed came from; its gradient is announced under it.
    private var computing: UInt32 = 0
    /// How long to spin for the next step, once a gradient is sent, before sleeping on the futex.
    private let stepSpinSeconds: Double
    /// A gradient was sent since the last spin: the next step is due within a step's time.
    private var spinDue = false
    /// Whether announcing a gradient wakes the coordinator (false for the coordinator's own
    /// worker: it runs on the coordinator's thread, which looks at the segment after its turn, so
    /// the wake would find no one, a system call on the step's critical path).
    private let wakesCoordinator: Bool

    /// `stepSpinSeconds`: after sending a gradient, watch the step word this long before sleeping
    /// on it (`descent worker --spin-microseconds`). For a worker with a CPU to itself, whose CPU
    /// idles while it waits anyway: it starts the next step without a futex wakeup's delay.
    public init(control: WorkerTransport, stepSpinSeconds: Double = 0, wakesCoordinator: Bool = true) {
        self.wakesCoordinator = wakesCoordinator
        self.control = control
        self.stepSpinSeconds = stepSpinSeconds.isFinite ? max(0, stepSpinSeconds) : 0
    }

    public var connected: Bool { control.connected }

    public func attach(_ settings: RunSettings) throws -> SharedBuffers? {
        detach()
        _ = try control.attach(settings)  // the wire encoding, for steps and gradients that use the socket
        guard let name = settings.sharedMemoryName else { return nil }
        let layout = SharedStepLayout(parameterCount: settings.parameterCount, slots: settings.workers)
        let segment: SharedMemorySegment
        do {
            segment = try SharedMemorySegment.open(name: name, byteCount: layout.byteCount, readOnly: layout.readOnlyRanges(forRank: settings.rank))
        } catch {
            throw WorkerError.sharedMemory("\(error)")
        }
        let step = SharedWord(segment, offset: layout.stepSequenceOffset)
        attached = (segment, layout, settings.rank, step, SharedWord(segment, offset: layout.completionsOffset),
                    SharedWord(segment, offset: layout.doneSequenceOffset(rank: settings.rank)),
                    SharedWord(segment, offset: layout.parameterBufferOffset))
        // A step published before this worker was admitted is sent again when it is for us.
        seenSequence = 0
        return SharedBuffers(parameters: (0..<SharedStepLayout.parameterBuffers).map { segment.floats(at: layout.parametersOffset(buffer: $0), count: settings.parameterCount) },
                             gradient: segment.floats(at: layout.gradientOffset(rank: settings.rank), count: settings.parameterCount))
    }

    public func detach() { attached = nil }

    public func receive(timeout: Double, _ handle: (WorkerArrival) throws -> Void) throws {
        guard let attached else { return try control.receive(timeout: timeout, handle) }
        // Sleep on the segment's step word; look at the socket between naps.
        // (Without a timeout, a load: the in-process worker looks at every turn of the coordinator.)
        var sequence = attached.step.load()
        if sequence == seenSequence && timeout > 0 {
            if spinDue && stepSpinSeconds > 0 { sequence = attached.step.spin(whileEquals: seenSequence, seconds: min(stepSpinSeconds, timeout)) }
            if sequence == seenSequence { sequence = attached.step.wait(whileEquals: seenSequence, timeout: min(timeout, 0.005)) }
        }
        spinDue = false
        if sequence != seenSequence {
            seenSequence = sequence
            computing = sequence
            let bytes = UnsafeRawBufferPointer(attached.segment.bytes(at: attached.layout.stepHeaderOffset, count: WireHeader.size))
            do {
                let header = try WireHeader.decode(bytes, payloadByteCount: nil)
                guard header.type == .stepShared else { throw WireError.unknownType(header.type.rawValue) }
                try handle(.message(try WireMessage.decode(header, text: nil), parameters: .inPlace(buffer: attached.parameterBuffer.load())))
            } catch let error as WireError {
                try handle(.malformed(error))
            }
        }
        try control.receive(timeout: 0, handle)
    }

    @discardableResult
    public func send(_ message: WireMessage) throws -> Bool { try control.send(message) }

    @discardableResult
    public func sendGradient(_ result: WireMessage.GradientResult, gradient: UnsafeBufferPointer<Float>) throws -> Bool {
        guard let attached, result.location == .sharedMemory else { return try control.sendGradient(result, gradient: gradient) }
        result.header.encode(into: attached.segment.bytes(at: attached.layout.gradientHeaderOffset(rank: attached.rank), count: WireHeader.size))
        attached.done.store(computing)
        _ = attached.completions.add(1)
        if wakesCoordinator { attached.completions.wake(all: false) }
        spinDue = true
        return true
    }

    public func close() { control.close() }
}

/// A worker's end of an `InMemoryNetwork`: for tests of the shells without processes.
public final class InMemoryWorkerTransport: WorkerTransport {
    public let network: InMemoryNetwork
    public let peer: PeerID
    public var connected: Bool { true }

    public init(network: InMemoryNetwork, peer: PeerID) {
        self.network = network
        self.peer = peer
    }

    public func receive(timeout: Double, _ handle: (WorkerArrival) throws -> Void) throws {
        for envelope in network.takeForWorker(peer) {
            try handle(.message(envelope.message, parameters: envelope.floats.map(StepParameters.floats)))
        }
    }

    public func send(_ message: WireMessage) throws -> Bool {
        network.sendToCoordinator(from: peer, message)
        return true
    }

    public func sendGradient(_ result: WireMessage.GradientResult, gradient: UnsafeBufferPointer<Float>) throws -> Bool {
        network.sendToCoordinator(from: peer, .gradient(result), floats: Array(gradient))
        return true
    }

    public func close() {}
}
