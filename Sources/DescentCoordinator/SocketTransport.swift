import DescentCore
import DescentProtocol
import DescentTransport
import Foundation

extension ZMQMessage: GradientFloats {
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeBytes { try body($0) }
    }
}

/// A received bfloat16 gradient frame (a run with `--wire-encoding bf16`).
struct BFloat16Frame: GradientFloats {
    let frame: ZMQMessage
    var encoding: WireEncoding { .bf16 }
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R { try frame.withUnsafeBytes { try body($0) } }
}

/// The coordinator's ROUTER socket: every message a 64-byte header plus an optional payload
/// frame; steps carry the parameters as one frame (float32, or bfloat16 with `wireEncoding`
/// bf16) shared by reference among recipients.
public final class SocketTransport: CoordinatorTransport {
    public let parameters: UnsafeMutableBufferPointer<Float>
    public let endpoint: String
    private let socket: ZMQSocket
    private let ownsParameters: Bool
    private var header = [UInt8](repeating: 0, count: WireHeader.size)
    private var stepMessage: ZMQMessage?
    private var stepMessageKey: (Int, UInt16)?
    private var log = RateLimitedLog()
    /// Peer-Address of the peers that said hello (bounded: a flood of strangers cannot grow it).
    private var addresses: [PeerID: String] = [:]
    /// The ZAP handler and handshake watch: CURVE's allow-list, refusals logged and counted.
    public let handshakes: ServerHandshakeGuard
    /// How parameters and gradients travel in frames; a gradient in another encoding is refused.
    public let wireEncoding: WireEncoding
    /// Bytes through the socket, for the bytes-per-step figure.
    public private(set) var traffic = WireTraffic()

    /// Binds `bind`. `parameters` nil: the transport allocates the model's buffer. `security`:
    /// CURVE keys and the allow-list, or plaintext; `workers` sizes the handshake limits.
    public init(bind: String, parameterCount: Int, parameters: UnsafeMutableBufferPointer<Float>? = nil,
                security: ServerSecurity = .insecure, workers: Int = 1, wireEncoding: WireEncoding = .float32) throws {
        self.wireEncoding = wireEncoding
        ownsParameters = parameters == nil
        self.parameters = parameters ?? .allocate(capacity: parameterCount)
        if ownsParameters { self.parameters.initialize(repeating: 0) }
        let context = try ZMQContext(ioThreads: SocketSecurity.coordinatorIOThreads(security, workers: workers))
        socket = try ZMQSocket(context, kind: .router)
        try socket.setRouterMandatory(true)
        try socket.setHeartbeat(interval: 1000, timeout: 10_000, ttl: 20_000)
        try socket.setSendHighWaterMark(100)
        try SocketLimits.configureCoordinator(socket, parameterCount: parameterCount)
        handshakes = try SocketSecurity.secureServer(socket, security, limits: HandshakeLimits(workers: workers))
        do {
            try socket.bind(bind)
        } catch {
            throw CoordinatorError.cannotBind(endpoint: bind, reason: error.message)
        }
        endpoint = (try? socket.lastEndpoint) ?? bind
    }

    deinit { if ownsParameters { parameters.deallocate() } }

    public func receive(timeout: Double, _ handle: (CoordinatorArrival) throws -> Void) throws {
        let items = [ZMQPollItem(socket)]
        if timeout > 0 {
            guard try poll(items: items, timeout: Int(timeout * 1000))[0].contains(.readable) else { return }
        }
        try drain(handle)
    }

    /// Hands every message queued on the socket to `handle`, without waiting.
    func drain(_ handle: (CoordinatorArrival) throws -> Void) throws {
        while true {
            switch try socket.receiveMultipart(maxFrames: 3, mode: .dontWait) {
            case .message(let frames):
                for frame in frames.dropFirst() { traffic.received(frame.count) }
                let arrival = Self.decode(frames, encoding: wireEncoding)
                if case .message(.hello, let peer, _) = arrival, addresses.count < 4096, let address = frames[1].metadata("Peer-Address") {
                    addresses[peer] = address
                }
                try handle(arrival)
            case .wouldBlock: return
            case .tooManyFrames(let count): try handle(.malformed(from: nil, .wrongFrameCount(count - 1)))
            }
        }
    }

    /// The edge: frames to a typed message, decoded once.
    static func decode(_ frames: [ZMQMessage], encoding: WireEncoding = .float32) -> CoordinatorArrival {
        let peer = PeerID(frames[0].bytes)
        let body = frames.dropFirst()
        do throws(WireError) {
            try WireHeader.checkFrameCount(body.count)
            let payload = body.count == 2 ? body[body.startIndex + 1] : nil
            let header = try body[body.startIndex].withUnsafeBytes { (bytes) throws(WireError) -> WireHeader in
                try WireHeader.decode(bytes, payloadByteCount: payload?.count)
            }
            if header.dtype == .utf8, let payload {
                let message = try payload.withUnsafeBytes { (bytes) throws(WireError) -> WireMessage in
                    try WireMessage.decode(header, text: bytes)
                }
                return .message(message, from: peer, floats: nil)
            }
            if header.type == .gradient && header.encoding != encoding {
                throw WireError.wrongEncoding(type: header.type, expected: encoding, got: header.encoding)
            }
            let floats: GradientFloats? = header.encoding == .bf16 ? payload.map(BFloat16Frame.init) : payload
            return .message(try WireMessage.decode(header, text: nil), from: peer, floats: floats)
        } catch {
            return .malformed(from: peer, error)
        }
    }

    public func send(_ message: WireMessage, to peer: PeerID) {
        do {
            let (header, text) = try message.encoded()
            send(header, to: peer, payload: try text.map { try ZMQMessage(copying: $0) })
        } catch {
            log.log(kind: "send", "coordinator: cannot build a \(message.kindName) message for \(peer): \(error)")
        }
    }

    public func sendStep(_ order: WireMessage.StepOrder, to recipients: [CoordinatorMachine.Recipient]) {
        guard !recipients.isEmpty else { return }
        var order = order
        order.parameterCount = parameters.count
        order.parameters = .frame
        order.encoding = wireEncoding
        do {
            // One frame per (step, round), shared by reference among the recipients.
            if stepMessage == nil || stepMessageKey.map({ $0 != (order.step, order.round) }) ?? true {
                switch wireEncoding {
                case .float32:
                    stepMessage = try ZMQMessage(copyingFloats: UnsafeBufferPointer(parameters))
                case .bf16:
                    let message = try ZMQMessage(size: parameters.count * 2)
                    message.withUnsafeMutableBytes { BFloat16Coding.encode(UnsafeBufferPointer(parameters), into: $0) }
                    stepMessage = message
                }
                stepMessageKey = (order.step, order.round)
                traffic.steps += 1
            }
        } catch {
            log.log(kind: "send", "coordinator: cannot build the step message: \(error)")
            return
        }
        for recipient in recipients { send(order.header, to: recipient.peer, payload: stepMessage) }
    }

    public func admitted(rank: Int, peer: PeerID, introduction: WorkerIntroduction) -> String? { nil }
    public func removed(rank: Int) {}
    public func address(of peer: PeerID) -> String? { addresses[peer] }

    private func send(_ value: WireHeader, to peer: PeerID, payload: ZMQMessage?) {
        do {
            let outcome = try header.withUnsafeMutableBytes { bytes in
                value.encode(into: bytes)
                return try socket.send(to: peer.bytes, header: UnsafeRawBufferPointer(bytes), payload: payload, mode: .dontWait)
            }
            if outcome == .sent { traffic.sent(WireHeader.size + (payload?.count ?? 0)) }
            if outcome == .wouldBlock { log.log(kind: "blocked", "coordinator: send to \(peer) would block; the peer is not reading") }
        } catch let error as ZMQError where error.kind == .hostUnreachable {
            log.log(kind: "unreachable", "coordinator: peer \(peer) is unreachable (disconnected)")
        } catch {
            log.log(kind: "send", "coordinator: send to \(peer) failed: \(error)")
        }
    }

    public func close() {
        // The process exits next, so the stops must leave first. Measured here with libzmq 4.3.4:
        // messages queued on a ROUTER just before zmq_close were dropped despite LINGER unless its
        // I/O thread had a moment to take them, so give it 100 ms, then close and wait (at most
        // LINGER, 2 s) for what is still queued.
        try? socket.setLinger(milliseconds: 2000)
        usleep(100_000)
        socket.close()
        socket.context.terminate()
        if let refused = handshakes.summary { Console.out(refused) }
        if let wire = traffic.summary(encoding: wireEncoding) { Console.out("Coordinator: \(wire)") }
    }
}
