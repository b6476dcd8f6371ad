import CZeroMQ

/// One libzmq socket: create, configure, bind or connect, send, receive, close.
///
/// **One thread at a time.** A classic ZeroMQ socket is not thread-safe, so this class is not
/// `Sendable`: create it on the thread (or in the actor) that uses it. `LINGER` is set to 0 on
/// creation, so closing (explicitly with `close()` or in `deinit`) never blocks on unsent messages.
/// The socket keeps its `ZMQContext` alive until it is closed.
public final class ZMQSocket {
    /// The context this socket lives in; held so the context outlives the socket.
    public let context: ZMQContext
    /// The socket type given at creation.
    public let kind: ZMQSocketKind
    private var storedHandle: UnsafeMutableRawPointer?

    /// Creates a socket of `kind` in `context`, with `LINGER` 0.
    public init(_ context: ZMQContext, kind: ZMQSocketKind) throws(ZMQError) {
        guard let handle = zmq_socket(context.handle, kind.rawValue) else {
            throw ZMQError(call: "zmq_socket", code: descent_zmq_errno())
        }
        self.context = context
        self.kind = kind
        self.storedHandle = handle
        try setLinger(milliseconds: 0)
    }

    deinit { close() }

    /// Closes the socket now; later calls on it throw `ENOTSOCK`. Closing twice is harmless.
    public func close() {
        guard let handle = storedHandle else { return }
        storedHandle = nil
        _ = zmq_close(handle)
    }

    /// Whether `close()` has been called.
    public var isClosed: Bool { storedHandle == nil }

    /// The libzmq handle, or `ENOTSOCK` naming `call` once closed.
    func handle(for call: @autoclosure () -> String) throws(ZMQError) -> UnsafeMutableRawPointer {
        guard let handle = storedHandle else {
            throw ZMQError(call: call(), code: descent_zmq_code_enotsock())
        }
        return handle
    }

    /// Binds to an endpoint such as `tcp://127.0.0.1:*`, `ipc:///tmp/x.sock` or `inproc://name`.
    public func bind(_ endpoint: String) throws(ZMQError) {
        let socket = try handle(for: "zmq_bind(\(endpoint))")
        try zmqRequire("zmq_bind(\(endpoint))") { zmq_bind(socket, endpoint) }
    }

    /// Connects to an endpoint; libzmq connects (and reconnects) in the background.
    public func connect(_ endpoint: String) throws(ZMQError) {
        let socket = try handle(for: "zmq_connect(\(endpoint))")
        try zmqRequire("zmq_connect(\(endpoint))") { zmq_connect(socket, endpoint) }
    }

    /// Undoes a `connect` to `endpoint`.
    public func disconnect(_ endpoint: String) throws(ZMQError) {
        let socket = try handle(for: "zmq_disconnect(\(endpoint))")
        try zmqRequire("zmq_disconnect(\(endpoint))") { zmq_disconnect(socket, endpoint) }
    }

    /// Undoes a `bind` to `endpoint` (for a wildcard bind, pass `lastEndpoint`).
    public func unbind(_ endpoint: String) throws(ZMQError) {
        let socket = try handle(for: "zmq_unbind(\(endpoint))")
        try zmqRequire("zmq_unbind(\(endpoint))") { zmq_unbind(socket, endpoint) }
    }

    /// The endpoint of the last bind or connect, with a wildcard port resolved,
    /// e.g. `tcp://127.0.0.1:40123` after binding `tcp://127.0.0.1:*`.
    public var lastEndpoint: String {
        get throws(ZMQError) {
            let bytes = try bytesOption(ZMQ_LAST_ENDPOINT, name: "ZMQ_LAST_ENDPOINT", capacity: 1024)
            let text = bytes.prefix { $0 != 0 }
            return String(decoding: text, as: UTF8.self)
        }
    }
}
