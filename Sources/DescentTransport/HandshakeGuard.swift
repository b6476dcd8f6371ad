import CZeroMQ
import DescentCore
import Foundation

/// Why a connection was refused before it could send a single protocol message.
public enum HandshakeRefusal: String, Sendable, CaseIterable {
    /// The peer spoke plaintext (NULL) to a CURVE socket, or CURVE to a plaintext one.
    case plaintext = "plaintext"
    /// A CURVE client whose public key is not in the allow-list.
    case unknownKey = "unknown-key"
    /// A CURVE HELLO this server cannot decrypt: the client pinned another server key (or forged it).
    case wrongServerKey = "wrong-server-key"
    /// Too many handshakes per second.
    case rateLimited = "rate-limited"
    /// Too many connections open at once.
    case tooManyConnections = "too-many-connections"
    /// The peer hung up during the handshake. A plaintext ZeroMQ peer does this on reading that
    /// the server requires CURVE (it sees the mismatch before the server does); so does a client
    /// killed midway or a port scanner.
    case hungUp = "hung-up"
    /// Any other failed handshake (garbage instead of a ZMTP greeting).
    case failedHandshake = "failed-handshake"
}

/// The coordinator's ZAP handler and handshake watch, on a thread of their own.
///
/// ZAP (ZeroMQ's authentication protocol, RFC 27): libzmq asks the socket bound to
/// `inproc://zeromq.zap.01` about every handshake; this one answers 200 (with the client's key
/// as the User-Id) for an allow-listed key and 400 otherwise. Over the rate or connection limit
/// it does not answer: the handshake times out and the connection closes, which a client takes
/// as a network error and retries (libzmq never retries after a 400, so a busy coordinator
/// must not send one to a worker it would admit). A ROUTER, not a REP, so a request may go
/// unanswered. A socket monitor reports the handshakes that fail before ZAP is asked (plaintext
/// peers, a wrong server key); the address comes from the accepted connection's file descriptor. Every refusal is logged with the peer's
/// address and counted; none of the peer's bytes reach the application.
/// The thread ends when the context is terminated or `stop()` is called.
public final class ServerHandshakeGuard: @unchecked Sendable {
    // @unchecked: the sockets are used only on the guard's thread; shared state is under `lock`.
    private let lock = NSLock()
    private var counts: [HandshakeRefusal: Int] = [:]
    private var stopRequested = false
    private let finished = DispatchSemaphore(value: 0)
    private let allowed: [String: String]
    private let curve: Bool
    private let limits: HandshakeLimits
    private let role: String

    init(socket: ZMQSocket, security: ServerSecurity, limits: HandshakeLimits, role: String) throws(ZMQError) {
        if case let .curve(_, allowedClients) = security {
            allowed = allowedClients
            curve = true
        } else {
            allowed = [:]
            curve = false
        }
        self.limits = limits
        self.role = role
        let zap = try ZMQSocket(socket.context, kind: .router)
        try zap.bind("inproc://zeromq.zap.01")
        let monitor = try ZMQSocketMonitor(watching: socket, name: "handshakes-\(ObjectIdentifier(socket).hashValue)")
        let sockets = SocketPair(zap: zap, monitor: monitor)
        let thread = Thread { [self] in
            serve(sockets)
            sockets.close()
            finished.signal()
        }
        thread.name = "descent-zap"
        thread.start()
    }

    /// How many connections were refused, by reason (only reasons that occurred).
    public var refusals: [HandshakeRefusal: Int] {
        lock.lock(); defer { lock.unlock() }
        return counts
    }

    /// `Refused at the handshake: plaintext=1 unknown-key=2`, or nil when nothing was refused.
    public var summary: String? {
        let counts = refusals
        guard !counts.isEmpty else { return nil }
        let text = HandshakeRefusal.allCases.compactMap { kind in counts[kind].map { "\(kind.rawValue)=\($0)" } }.joined(separator: " ")
        return "Refused at the handshake: \(text)"
    }

    /// The allow-list's name (the key file's name, e.g. `worker-0`) of an authenticated key.
    public func name(ofKey key: String) -> String? { allowed[key] }

    /// Stops the thread and closes its sockets (the context's termination does the same).
    public func stop() {
        lock.lock()
        let already = stopRequested
        stopRequested = true
        lock.unlock()
        if !already { finished.wait() }
    }

    private var shouldStop: Bool {
        lock.lock(); defer { lock.unlock() }
        return stopRequested
    }

    private func count(_ kind: HandshakeRefusal) {
        lock.lock(); counts[kind, default: 0] += 1; lock.unlock()
    }

    // MARK: The thread

    private var tokens: Double = 0
    private var lastRefill = 0.0
    private var addresses: [UInt32: String] = [:]
    private var pendingFailure: (HandshakeRefusal, String)?
    private var log = RefusalLog()

    private func serve(_ sockets: SocketPair) {
        tokens = limits.handshakeBurst
        lastRefill = monotonicNow()
        let items = [ZMQPollItem(sockets.zap), ZMQPollItem(sockets.monitor.socket)]
        do {
            while !shouldStop {
                let ready = try poll(items: items, timeout: 200)
                if ready[1].contains(.readable) {
                    while let event = try sockets.monitor.receiveEvent(mode: .dontWait) { observe(event) }
                }
                if ready[0].contains(.readable) {
                    while case .message(let frames) = try sockets.zap.receiveMultipart(maxFrames: 16, mode: .dontWait) {
                        try answer(frames, on: sockets.zap)
                    }
                }
            }
        } catch {
            // ETERM: the context is going away; anything else ends the watch the same way.
        }
    }

    private func observe(_ event: ZMQMonitorEvent) {
        switch Int32(event.number) {
        case ZMQ_EVENT_ACCEPTED:
            if addresses.count < 4096 { addresses[event.value] = peerAddress(ofDescriptor: Int32(bitPattern: event.value)) }
        case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
            switch event.value {
            case UInt32(ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH):
                pendingFailure = (.plaintext, curve ? "the peer speaks plaintext; this \(role) requires CURVE (the peer needs --curve-dir)"
                                                     : "the peer speaks CURVE; this \(role) runs with --insecure")
            case UInt32(ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC):
                pendingFailure = (.wrongServerKey, "its CURVE hello is not encrypted for this \(role)'s key (it was given another coordinator.pub)")
            default:
                pendingFailure = (.failedHandshake, "ZMTP protocol error 0x\(String(event.value, radix: 16))")
            }
        case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
            let code = Int32(bitPattern: event.value)
            pendingFailure = code == EPIPE || code == ECONNRESET || code == 0
                ? (.hungUp, "the peer hung up during the handshake (\(String(cString: strerror(code)))); a plaintext peer does so on seeing that this \(role) requires CURVE")
                : (.failedHandshake, "the handshake did not complete (\(String(cString: strerror(code))))")
        case ZMQ_EVENT_DISCONNECTED:
            let address = addresses.removeValue(forKey: event.value) ?? "an unknown address"
            if let (kind, reason) = pendingFailure {
                pendingFailure = nil
                refuse(kind, address: address, reason: reason)
            }
        default:
            break
        }
    }

    /// Answers one ZAP request: (envelope: routing id, empty frame) version, request id, domain,
    /// address, routing id, mechanism, credentials. Over a limit, answers nothing (see above).
    private func answer(_ frames: [ZMQMessage], on zap: ZMQSocket) throws {
        guard frames.count >= 8 else { return }
        let envelope = [frames[0].bytes, frames[1].bytes]
        let requestID = frames[3].bytes
        let address = String(decoding: frames[5].bytes.prefix(64), as: UTF8.self)
        let mechanism = String(decoding: frames[7].bytes.prefix(16), as: UTF8.self)
        var status = "200", text = "OK", userID = ""
        if !takeToken() {
            refuse(.rateLimited, address: address, reason: "more than \(limits.handshakesPerSecond) handshakes a second; left to time out (the peer may retry)")
            return
        } else if addresses.count > limits.maxConnections {
            refuse(.tooManyConnections, address: address, reason: "more than \(limits.maxConnections) connections are open; left to time out (the peer may retry)")
            return
        } else if mechanism == "CURVE" {
            let key = frames.count >= 9 && frames[8].count == 32 ? z85(frames[8].bytes) : ""
            if allowed[key] != nil {
                userID = key
            } else {
                status = "400"; text = "unknown key"
                refuse(.unknownKey, address: address, reason: "its public key \(key.prefix(12))... is not among the allowed worker keys (*.pub of --curve-dir)")
            }
        } else if curve {
            status = "400"; text = "CURVE required"
            refuse(.plaintext, address: address, reason: "the peer uses the \(mechanism) mechanism; this \(role) requires CURVE")
        }
        let reply = envelope + [[UInt8]("1.0".utf8), requestID, [UInt8](status.utf8), [UInt8](text.utf8), [UInt8](userID.utf8), []]
        _ = try zap.sendMultipart(try reply.map { bytes throws(ZMQError) in try ZMQMessage(copying: bytes) }, mode: .dontWait)
    }

    private func refuse(_ kind: HandshakeRefusal, address: String, reason: String) {
        count(kind)
        if log.shouldLog(kind, address: address) {
            Console.error("\(role): refused a connection from \(address) at the handshake [\(kind.rawValue)]: \(reason)")
        }
    }

    private func takeToken() -> Bool {
        let now = monotonicNow()
        tokens = min(limits.handshakeBurst, tokens + (now - lastRefill) * limits.handshakesPerSecond)
        lastRefill = now
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}

/// What a worker's socket monitor says about failed handshakes, in words, on standard error.
public final class ClientHandshakeWatch: @unchecked Sendable {
    private let lock = NSLock()
    private var failures = 0
    private var stopRequested = false
    private var finalRefusal: String?

    init(socket: ZMQSocket, endpoint: String, curve: Bool, role: String) throws(ZMQError) {
        let monitor = try ZMQSocketMonitor(watching: socket, name: "client-\(ObjectIdentifier(socket).hashValue)")
        let box = SocketPair(zap: nil, monitor: monitor)
        let thread = Thread { [self] in
            var log = RefusalLog()
            let items = [ZMQPollItem(box.monitor.socket)]
            do {
                while !isStopped {
                    guard try poll(items: items, timeout: 200)[0].contains(.readable) else { continue }
                    while let event = try box.monitor.receiveEvent(mode: .dontWait) {
                        guard let (kind, reason) = Self.explain(event, curve: curve, role: role) else { continue }
                        // libzmq does not reconnect after a refused key or a mechanism mismatch.
                        let final = kind == .unknownKey || kind == .plaintext
                        lock.lock(); failures += 1; if final && finalRefusal == nil { finalRefusal = reason }; lock.unlock()
                        if log.shouldLog(kind, address: endpoint) {
                            Console.error("\(role): the handshake with \(endpoint) failed [\(kind.rawValue)]: \(reason)")
                        }
                    }
                }
            } catch {}
            box.close()
        }
        thread.name = "descent-handshakes"
        thread.start()
    }

    /// How many handshakes with the server have failed so far.
    public var failedHandshakes: Int {
        lock.lock(); defer { lock.unlock() }
        return failures
    }

    /// Why the server refused this client for good (an unknown key, a mechanism mismatch: libzmq
    /// does not try again after those), or nil. A worker gives up at once on it.
    public var refusal: String? {
        lock.lock(); defer { lock.unlock() }
        return finalRefusal
    }

    /// Ends the watch (within 200 ms).
    public func stop() { lock.lock(); stopRequested = true; lock.unlock() }

    private var isStopped: Bool { lock.lock(); defer { lock.unlock() }; return stopRequested }

    static func explain(_ event: ZMQMonitorEvent, curve: Bool, role: String) -> (HandshakeRefusal, String)? {
        switch Int32(event.number) {
        case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
            return (.unknownKey, "this \(role)'s key is not allowed (status \(event.value)): its .pub file is not among the coordinator's allowed keys (its --curve-dir); restart this \(role) once it is")
        case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL where event.value == UInt32(ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH):
            return (.plaintext, curve ? "the coordinator runs without CURVE (--insecure); refusing to talk in plaintext"
                                      : "the coordinator requires CURVE; give this \(role) --curve-dir")
        case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
            return (.failedHandshake, "ZMTP protocol error 0x\(String(event.value, radix: 16))")
        case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
            return (curve ? .wrongServerKey : .failedHandshake,
                    curve ? "the coordinator hung up during the CURVE handshake: its key is not the one in this \(role)'s coordinator.pub (or it refused the connection)"
                          : "the peer hung up during the handshake")
        default:
            return nil
        }
    }
}

/// The guard thread's sockets, handed to it once (a socket may move between threads with a barrier).
private final class SocketPair: @unchecked Sendable {
    let zapSocket: ZMQSocket?
    let monitor: ZMQSocketMonitor
    init(zap: ZMQSocket?, monitor: ZMQSocketMonitor) {
        zapSocket = zap
        self.monitor = monitor
    }
    var zap: ZMQSocket { zapSocket! }
    func close() {
        zapSocket?.close()
        monitor.socket.close()
    }
}

/// The first refusal of each kind from each address, then one in 100 per kind.
private struct RefusalLog {
    private var seen: Set<String> = []
    private var perKind: [HandshakeRefusal: Int] = [:]

    mutating func shouldLog(_ kind: HandshakeRefusal, address: String) -> Bool {
        perKind[kind, default: 0] += 1
        // Per host, not per port: a peer that reconnects comes from a new port each time.
        let host = address.hasPrefix("tcp://") ? address : String(address.split(separator: ":").dropLast().joined(separator: ":"))
        let key = "\(kind.rawValue) \(host.isEmpty ? address : host)"
        if seen.count < 1024, seen.insert(key).inserted { return true }
        return perKind[kind]! % 100 == 0
    }
}

private func monotonicNow() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

/// `IP:port` of the peer of a connected socket descriptor, or "an unknown address".
func peerAddress(ofDescriptor fd: Int32) -> String {
    var storage = sockaddr_storage()
    var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
    let ok = withUnsafeMutablePointer(to: &storage) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) == 0 }
    }
    guard ok else { return "an unknown address" }
    var host = [CChar](repeating: 0, count: Int(NI_MAXHOST)), service = [CChar](repeating: 0, count: Int(NI_MAXSERV))
    let status = withUnsafePointer(to: &storage) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            getnameinfo($0, length, &host, socklen_t(host.count), &service, socklen_t(service.count), NI_NUMERICHOST | NI_NUMERICSERV)
        }
    }
    guard status == 0 else { return "an unknown address" }
    return "\(cText(host)):\(cText(service))"
}

/// A 32-byte key as Z85 text.
func z85(_ bytes: [UInt8]) -> String {
    var text = [CChar](repeating: 0, count: bytes.count * 5 / 4 + 1)
    guard zmq_z85_encode(&text, bytes, bytes.count) != nil else { return "" }
    return cText(text)
}
