import CZeroMQ
import Foundation

/// How a server socket (the coordinator's ROUTER) admits connections.
public enum ServerSecurity: Sendable, Equatable {
    /// CURVE with this key pair; only clients whose public key is in `allowedClients` (key -> a
    /// name for logs, e.g. `worker-0`) complete the handshake.
    case curve(keys: CurveKeyPair, allowedClients: [String: String])
    /// Plaintext (ZeroMQ's NULL mechanism): anyone who reaches the port may connect. Only with `--insecure`.
    case insecure
}

/// How a client socket (a worker's DEALER) connects.
public enum ClientSecurity: Sendable, Equatable {
    /// CURVE with this key pair, to a server that must hold the secret key of `serverPublicKey`.
    case curve(serverPublicKey: String, keys: CurveKeyPair)
    /// Plaintext. Only with `--insecure`.
    case insecure
}

/// Bounds on connections that have not (yet) proved who they are.
public struct HandshakeLimits: Sendable, Equatable {
    /// Handshakes admitted per second, on average, and in one burst.
    public var handshakesPerSecond: Double
    public var handshakeBurst: Double
    /// Connections open at once (completed or handshaking); a handshake beyond it is refused.
    public var maxConnections: Int
    /// A connection that has not finished its handshake after this long is closed by libzmq.
    public var handshakeTimeoutMilliseconds: Int32

    /// Room for `workers` workers joining at once, and for each of them reconnecting a few times.
    public init(workers: Int) {
        handshakesPerSecond = 50
        handshakeBurst = Double(max(64, 2 * workers))
        maxConnections = 2 * workers + 32
        handshakeTimeoutMilliseconds = 5_000
    }
}

/// Sets up a socket's CURVE security (ZeroMQ's "Ironhouse" pattern) and watches its handshakes:
/// the one place where the coordinator's and the worker's sockets get their keys.
public enum SocketSecurity {
    /// Configures `socket` (before it binds) as a server with `security`, starts the ZAP handler
    /// that checks every client's key against the allow-list, and the handshake watch that logs
    /// and counts each refused peer with its address. Keep the returned guard for the socket's life.
    public static func secureServer(_ socket: ZMQSocket, _ security: ServerSecurity, limits: HandshakeLimits,
                                    role: String = "coordinator") throws -> ServerHandshakeGuard {
        do {
            try socket.setInt32(ZMQ_HANDSHAKE_IVL, name: "ZMQ_HANDSHAKE_IVL", limits.handshakeTimeoutMilliseconds)
            if case let .curve(keys, _) = security {
                try CurveSupport.require()
                try socket.setInt32(ZMQ_CURVE_SERVER, name: "ZMQ_CURVE_SERVER", 1)
                try socket.setString(ZMQ_CURVE_SECRETKEY, name: "ZMQ_CURVE_SECRETKEY", keys.secretKey)
            }
            // Also for NULL: then the ZAP handler still bounds and logs the connections.
            try socket.setString(ZMQ_ZAP_DOMAIN, name: "ZMQ_ZAP_DOMAIN", "descent")
            return try ServerHandshakeGuard(socket: socket, security: security, limits: limits, role: role)
        } catch let error as ZMQError {
            throw SocketSecurityError(text: "cannot set up the socket's security: \(error)")
        }
    }

    /// Configures `socket` (before it connects) as a client with `security`, and starts a watch
    /// that explains failed handshakes (an unknown key, a coordinator with another key) on standard error.
    public static func secureClient(_ socket: ZMQSocket, _ security: ClientSecurity, endpoint: String,
                                    role: String = "worker") throws -> ClientHandshakeWatch {
        do {
            if case let .curve(server, keys) = security {
                try CurveSupport.require()
                try socket.setString(ZMQ_CURVE_SERVERKEY, name: "ZMQ_CURVE_SERVERKEY", server)
                try socket.setString(ZMQ_CURVE_PUBLICKEY, name: "ZMQ_CURVE_PUBLICKEY", keys.publicKey)
                try socket.setString(ZMQ_CURVE_SECRETKEY, name: "ZMQ_CURVE_SECRETKEY", keys.secretKey)
            }
            return try ClientHandshakeWatch(socket: socket, endpoint: endpoint, curve: security != .insecure, role: role)
        } catch let error as ZMQError {
            throw SocketSecurityError(text: "cannot set up the socket's security: \(error)")
        }
    }

    /// I/O threads for a coordinator's context: with CURVE each connection's frames are encrypted
    /// and decrypted on its I/O thread, so one thread per worker (up to the CPUs, at most 8) keeps
    /// the workers' traffic in parallel; plaintext needs one.
    public static func coordinatorIOThreads(_ security: ServerSecurity, workers: Int) -> Int32 {
        guard case .curve = security else { return 1 }
        return Int32(max(1, min(workers, ProcessInfo.processInfo.activeProcessorCount, 8)))
    }

    /// The warning printed when a TCP socket runs without CURVE.
    public static func insecureWarning(role: String, endpoint: String) -> String {
        "\(role): WARNING: --insecure: \(endpoint) carries parameters and gradients in plaintext and admits any peer that "
            + "reaches it. Use --curve-dir DIR (make keys with 'descent keys generate DIR --workers N') on untrusted networks."
    }
}

/// Security that cannot be set up, in words.
public struct SocketSecurityError: Error, CustomStringConvertible {
    public let text: String
    public var description: String { text }
}

extension ZMQMessage {
    /// The Z85 public key the peer proved it holds in the CURVE handshake (ZeroMQ's "User-Id"
    /// property, set by the coordinator's ZAP handler); nil for plaintext peers. Use it, not the
    /// routing id the peer chose, as the peer's identity.
    public var authenticatedKey: String? {
        guard let value = metadata("User-Id"), !value.isEmpty else { return nil }
        return value
    }

    /// `authenticatedKey`'s bytes, valid only inside `body` (nil or empty for plaintext peers);
    /// nothing is allocated, for the per-message check of who sent it.
    public func withAuthenticatedKeyBytes<R>(_ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
        guard let value = zmq_msg_gets(raw, "User-Id") else { return try body(nil) }
        return try body(UnsafeRawBufferPointer(start: value, count: strlen(value)))
    }
}

extension ZMQSocket {
    func setString(_ option: Int32, name: String, _ value: String) throws(ZMQError) {
        let socket = try handle(for: "zmq_setsockopt(\(name))")
        let bytes = Array(value.utf8)
        try zmqRequire("zmq_setsockopt(\(name))") {
            bytes.withUnsafeBytes { zmq_setsockopt(socket, option, $0.baseAddress, $0.count) }
        }
    }
}
