import CZeroMQ

/// Connection events of one socket (`zmq_socket_monitor`), read from a PAIR socket over inproc.
///
/// Create it on the thread that owns the watched socket and use it there too (it is a socket).
/// Poll `socket` together with the others, then call `receiveEvent`.
public final class ZMQSocketMonitor {
    /// The PAIR socket the events arrive on; poll it for `.readable`.
    public let socket: ZMQSocket

    /// Starts reporting connected, disconnected, accepted, closed and handshake events of `watched`.
    /// `name` makes the inproc endpoint unique within the context.
    public init(watching watched: ZMQSocket, name: String) throws(ZMQError) {
        let endpoint = "inproc://descent-monitor-\(name)"
        let watchedHandle = try watched.handle(for: "zmq_socket_monitor")
        let events = ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_CLOSED
            | ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL
            | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_MONITOR_STOPPED
        try zmqRequire("zmq_socket_monitor(\(endpoint))") { zmq_socket_monitor(watchedHandle, endpoint, events) }
        socket = try ZMQSocket(watched.context, kind: .pair)
        try socket.connect(endpoint)
    }

    /// The next event, or nil when none is waiting (`.dontWait`) or the receive timed out.
    /// A malformed event message (not a 6-byte event frame and an endpoint frame) throws `ZMQError` (EINVAL).
    public func receiveEvent(mode: ZMQReceiveMode = .dontWait) throws(ZMQError) -> ZMQMonitorEvent? {
        guard case .message(let frames) = try socket.receiveMultipart(maxFrames: 2, mode: mode) else { return nil }
        guard frames.count == 2, frames[0].count == 6 else {
            throw ZMQError(call: "zmq_socket_monitor (event of \(frames.count) frames)", code: descent_zmq_code_einval())
        }
        let (number, value) = frames[0].withUnsafeBytes { bytes in
            (bytes.loadUnaligned(fromByteOffset: 0, as: UInt16.self), bytes.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
        }
        return ZMQMonitorEvent(kind: .init(number: number), value: value,
                               endpoint: String(decoding: frames[1].bytes, as: UTF8.self), number: number)
    }
}
