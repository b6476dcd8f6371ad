import DescentCore
import DescentProtocol
import DescentTraining
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
    public private(set) var parameters: UnsafeMutableBufferPointer<Float>
    public let endpoint: String
    private let socket: ZMQSocket
    private let ownsParameters: Bool
    private var header = [UInt8](repeating: 0, count: WireHeader.size)
    private var stepMessage: ZMQMessage?
    private var stepMessageKey: (Int, UInt16)?
    private var log = RateLimitedLog()
    /// Members (admitted ranks) and the address each connected from.
    private var members: [PeerID: String] = [:]
    private var memberOfRank: [Int: PeerID] = [:]
    /// With CURVE: each worker's key and the connection it uses now (nil: plaintext, routing ids).
    private var routes: AuthenticatedRoutes?
    /// Hellos of peers that are not members: rated, capped, and their addresses kept meanwhile.
    private var hellos: HelloGate
    /// The ZAP handler and handshake watch: CURVE's allow-list, refusals logged and counted.
    public let handshakes: ServerHandshakeGuard
    /// How parameters and gradients travel in frames; a gradient in another encoding is refused.
    public let wireEncoding: WireEncoding
    /// Bytes through the socket, for the bytes-per-step figure.
    public private(set) var traffic = WireTraffic()
    /// The peers told to stop, with their stop's envelope: `close` waits for them to hang up
    /// (not for members lost on the way: they are presumed gone).
    private var stopped: [PeerID: WireMessage.Envelope] = [:]
    /// The longest `close` waits for the peers told to stop to hang up.
    static let hangUpWait = 5.0

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
        // No ZMTP heartbeats of the coordinator's own (libzmq's default; a worker's still get their answers, and the
        // TTL a worker sends still closes a dead connection after 20 s): libzmq 4.3.4 aborts a
        // socket whose heartbeat timer fires on a connection that hung up while its queue was full
        // (`Assertion failed: !_io_error`, stream_engine_base.cpp:331), which any peer could cause
        // by flooding while the coordinator is busy and then disconnecting. Lost workers are the
        // machine's business: its silence limit and progress deadline.
        try socket.setSendHighWaterMark(100)
        try SocketLimits.configureCoordinator(socket, parameterCount: parameterCount)
        handshakes = try SocketSecurity.secureServer(socket, security, limits: HandshakeLimits(workers: workers))
        do {
            try socket.bind(bind)
        } catch {
            throw CoordinatorError.cannotBind(endpoint: bind, reason: error.message)
        }
        endpoint = (try? socket.lastEndpoint) ?? bind
        if case let .curve(_, allowed) = security { routes = AuthenticatedRoutes(allowed: allowed) }
        hellos = HelloGate(limits: HelloGate.Limits(slots: workers), now: monotonicSeconds())
    }

    deinit { if ownsParameters { parameters.deallocate() } }

    public func receive(timeout: Double, _ handle: (CoordinatorArrival) throws -> Void) throws {
        let items = [ZMQPollItem(socket)]
        if timeout > 0 {
            guard try poll(items: items, timeout: Int(timeout * 1000))[0].contains(.readable) else { return }
        }
        try drain(handle)
    }

    /// Hands the messages queued on the socket to `handle`, without waiting: at most
    /// `SocketLimits.drainLimit` a call (the socket stays readable for the rest). Returns true
    /// when it stopped at that limit: more may be queued, so the caller should look again at once.
    @discardableResult
    func drain(_ handle: (CoordinatorArrival) throws -> Void) throws -> Bool {
        for _ in 0..<SocketLimits.drainLimit {
            switch try socket.receiveMultipart(maxFrames: 3, mode: .dontWait) {
            case .message(let frames):
                for frame in frames.dropFirst() { traffic.received(frame.count) }
                try handle(arrival(frames))
            case .wouldBlock: return false
            case .tooManyFrames(let count): try handle(.malformed(from: nil, .wrongFrameCount(count - 1)))
            }
        }
        return true
    }

    /// The edge: frames to a typed message, decoded once, from a peer named by its key (CURVE)
    /// or its routing id; a hello passes the `HelloGate` before its JSON is read.
    func arrival(_ frames: [ZMQMessage]) -> CoordinatorArrival {
        guard frames.count >= 2 else { return .malformed(from: nil, .wrongFrameCount(0)) }
        let body = frames.dropFirst()
        let header = Result { () throws(WireError) -> (WireHeader, ZMQMessage?) in try Self.header(of: body) }
        let isHello = (try? header.get())?.0.type == .hello
        let peer: PeerID
        switch identify(route: frames[0].bytes, frame: frames[1], isHello: isHello) {
        case .peer(let known): peer = known
        case .refused(let refusal): return refusal
        }
        let (decoded, payload): (WireHeader, ZMQMessage?)
        switch header {
        case .success(let value): (decoded, payload) = value
        case .failure(let error): return .malformed(from: peer, error)
        }
        if isHello, let refusal = gate(hello: peer, frame: frames[1], textBytes: payload?.count ?? 0) { return refusal }
        do throws(WireError) {
            if decoded.dtype == .utf8, let payload {
                let message = try payload.withUnsafeBytes { (bytes) throws(WireError) -> WireMessage in
                    try WireMessage.decode(decoded, text: bytes)
                }
                return .message(message, from: peer, floats: nil)
            }
            if decoded.type == .gradient && decoded.encoding != wireEncoding {
                throw WireError.wrongEncoding(type: decoded.type, expected: wireEncoding, got: decoded.encoding)
            }
            let floats: GradientFloats? = decoded.encoding == .bf16 ? payload.map(BFloat16Frame.init) : payload
            return .message(try WireMessage.decode(decoded, text: nil), from: peer, floats: floats)
        } catch {
            return .malformed(from: peer, error)
        }
    }

    /// The header and the payload frame of a message's frames after the routing id.
    static func header(of body: ArraySlice<ZMQMessage>) throws(WireError) -> (WireHeader, ZMQMessage?) {
        try WireHeader.checkFrameCount(body.count)
        let payload = body.count == 2 ? body[body.startIndex + 1] : nil
        let header = try body[body.startIndex].withUnsafeBytes { (bytes) throws(WireError) -> WireHeader in
            try WireHeader.decode(bytes, payloadByteCount: payload?.count)
        }
        return (header, payload)
    }

    /// A sender named, or refused at the edge before the machine sees the message.
    private enum Identity {
        case peer(PeerID)
        case refused(CoordinatorArrival)
    }

    /// Who sent a message: its routing id without CURVE; with CURVE the key it proved, mapped to
    /// its current connection (`AuthenticatedRoutes`).
    private func identify(route: [UInt8], frame: ZMQMessage, isHello: Bool) -> Identity {
        guard routes != nil else { return .peer(PeerID(route)) }
        let resolution = frame.withAuthenticatedKeyBytes { key in
            routes!.resolve(route: route, key: key ?? UnsafeRawBufferPointer(start: nil, count: 0), isHello: isHello)
        }
        switch resolution {
        case .peer(let peer):
            return .peer(peer)
        case let .reconnected(peer, previous):
            let address = frame.metadata("Peer-Address").map { Console.sanitized($0) } ?? "an unknown address"
            log.log(kind: "reconnected", "coordinator: \(peer) connected again from \(address): it is reached on the new connection from now on, and its old connection is told to stop")
            sendReject(to: previous, reason: "another connection presented this worker's key (\(peer.keyName ?? "")) from \(address) and took its place; "
                       + "each worker needs its own key (descent keys generate DIR --workers N)")
            if members[peer] != nil { members[peer] = address }
            return .peer(peer)
        case let .mismatch(bound, presented):
            return .refused(.refused(from: nil, .identityMismatch,
                "a message on the connection of \(bound) proved another key, \(presented); refused, and \(bound.keyName ?? "the worker") must say hello again"))
        case .superseded(let peer):
            return .refused(.refused(from: nil, .supersededConnection,
                "a message from an old connection of \(peer), which has connected again since"))
        case .unknownKey:
            return .refused(.refused(from: nil, .identityMismatch, "a message whose connection proved no allowed key"))
        }
    }

    /// The hello limits (`HelloGate`: every peer's own rate; for peers that are not members also
    /// the shared rate and the cap); nil when the hello may be decoded.
    private func gate(hello peer: PeerID, frame: ZMQMessage, textBytes: Int) -> CoordinatorArrival? {
        guard textBytes <= hellos.limits.maxHelloBytes else {
            return .refused(from: nil, .malformed, "a hello of \(textBytes) bytes from \(peer) (at most \(hellos.limits.maxHelloBytes))")
        }
        switch hellos.admit(peer, address: frame.metadata("Peer-Address"), now: monotonicSeconds()) {
        case .pass:
            return nil
        case .rateLimited:
            return .refused(from: nil, .helloRateLimited,
                            "a hello from \(peer): over \(Int(hellos.limits.perPeerPerSecond)) a second from one peer or \(Int(hellos.limits.perSecond)) a second from all unregistered peers")
        case .tooManyPending:
            return .refused(from: nil, .tooManyUnregistered,
                            "a hello from \(peer): \(hellos.limits.maxPending) unregistered peers are already waiting (each forgotten \(Int(hellos.limits.pendingLifetime)) s after its last hello)")
        }
    }

    private func sendReject(to route: [UInt8], reason: String) {
        do {
            let (header, text) = try WireMessage.reject(WireMessage.Envelope(runID: 0, generation: 0), reason: reason).encoded()
            send(header, to: route, payload: try text.map { try ZMQMessage(copying: $0) })
        } catch {
            log.log(kind: "send", "coordinator: cannot build a reject message: \(error)")
        }
    }

    public func send(_ message: WireMessage, to peer: PeerID) {
        if case .stop(let envelope, _) = message { stopped[peer] = envelope }
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

    public func parametersChanged() {
        stepMessage = nil
        stepMessageKey = nil
    }

    /// The model moved to another buffer it was given (the shared segment's other parameter
    /// buffer): steps are sent from there.
    func follow(parameters moved: UnsafeMutableBufferPointer<Float>) {
        precondition(!ownsParameters && moved.count == parameters.count, "only parameters given to the transport move")
        parameters = moved
        parametersChanged()
    }

    public func admitted(rank: Int, peer: PeerID, introduction: WorkerIntroduction) -> String? {
        if let previous = memberOfRank[rank], previous != peer {
            members[previous] = nil
            hellos.removed(previous)
        }
        memberOfRank[rank] = peer
        members[peer] = members[peer] ?? hellos.address(of: peer) ?? ""
        hellos.admitted(peer, now: monotonicSeconds())
        return nil
    }

    public func removed(rank: Int) {
        guard let peer = memberOfRank.removeValue(forKey: rank) else { return }
        members[peer] = nil
        hellos.removed(peer)
        stopped[peer] = nil  // lost: its stop is a courtesy, not worth waiting for at the end
    }

    public func address(of peer: PeerID) -> String? {
        (members[peer].flatMap { $0.isEmpty ? nil : $0 }) ?? hellos.address(of: peer)
    }

    /// The connection to send `peer` messages on: with CURVE, the one its key uses now (nil: it
    /// has none); else its routing id.
    private func route(of peer: PeerID) -> [UInt8]? {
        routes == nil ? peer.bytes : routes?.route(of: peer)
    }

    private func send(_ value: WireHeader, to peer: PeerID, payload: ZMQMessage?) {
        guard let route = route(of: peer) else {
            return log.log(kind: "unrouted", "coordinator: no connection of \(peer) to send to (it has not connected again yet)")
        }
        send(value, to: route, payload: payload)
    }

    private func send(_ value: WireHeader, to route: [UInt8], payload: ZMQMessage?) {
        let peer = PeerID(route)
        switch deliver(value, to: route, payload: payload) {
        case .sent: traffic.sent(WireHeader.size + (payload?.count ?? 0))
        case .wouldBlock: log.log(kind: "blocked", "coordinator: send to \(peer) would block; the peer is not reading")
        case .unreachable: log.log(kind: "unreachable", "coordinator: peer \(peer) is unreachable (disconnected)")
        case .failed(let error): log.log(kind: "send", "coordinator: send to \(peer) failed: \(error)")
        }
    }

    private enum Delivery {
        case sent, wouldBlock, unreachable
        case failed(Error)
    }

    /// One message onto `route`'s connection, without waiting; what happened, for the caller to tell.
    private func deliver(_ value: WireHeader, to route: [UInt8], payload: ZMQMessage?) -> Delivery {
        do {
            let outcome = try header.withUnsafeMutableBytes { bytes in
                value.encode(into: bytes)
                return try socket.send(to: route, header: UnsafeRawBufferPointer(bytes), payload: payload, mode: .dontWait)
            }
            return outcome == .sent ? .sent : .wouldBlock
        } catch let error as ZMQError where error.kind == .hostUnreachable {
            return .unreachable
        } catch {
            return .failed(error)
        }
    }

    /// Whether `peer` still has a connection: a heartbeat of `envelope` is sent to it, which the
    /// ROUTER refuses (EHOSTUNREACH, with ROUTER_MANDATORY) once the peer has hung up.
    private func stillConnected(_ peer: PeerID, envelope: WireMessage.Envelope) -> Bool {
        guard let route = route(of: peer), let (probe, _) = try? WireMessage.heartbeat(envelope).encoded() else { return false }
        switch deliver(probe, to: route, payload: nil) {
        case .sent, .wouldBlock: return true  // sent, or queued behind what it has not read yet
        case .unreachable, .failed: return false  // hung up (any other failure: nothing to wait for either)
        }
    }

    /// Waits, at most `seconds`, until every peer told to stop has hung up. A worker closes its
    /// connection once it has read its stop, so then every stop has arrived. Closing sooner could
    /// lose one: on a link that drops packets, a stop that TCP was still resending when the
    /// coordinator exited never arrived, and its worker waited out its 30 s silence limit.
    private func waitForStoppedPeersToHangUp(seconds: Double) {
        let deadline = monotonicSeconds() + seconds
        var waiting = stopped
        while !waiting.isEmpty {
            waiting = waiting.filter { stillConnected($0.key, envelope: $0.value) }
            guard !waiting.isEmpty, monotonicSeconds() < deadline else { break }
            usleep(20_000)
        }
        if !waiting.isEmpty {
            Console.error("coordinator: \(waiting.count) worker(s) told to stop had not hung up after \(Int(seconds)) s; closing anyway")
        }
    }

    public func close() {
        waitForStoppedPeersToHangUp(seconds: Self.hangUpWait)
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
