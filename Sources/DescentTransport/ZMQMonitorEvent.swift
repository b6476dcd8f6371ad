import CZeroMQ

/// One connection event reported by a `ZMQSocketMonitor`.
public struct ZMQMonitorEvent: Equatable, Sendable {
    /// What happened. `other` carries event numbers this wrapper does not name.
    public enum Kind: Equatable, Sendable {
        case connected, connectDelayed, connectRetried, listening, bindFailed
        case accepted, acceptFailed, closed, closeFailed, disconnected, monitorStopped
        case handshakeSucceeded, handshakeFailed
        case other(UInt16)

        init(number: UInt16) {
            switch Int32(number) {
            case ZMQ_EVENT_CONNECTED: self = .connected
            case ZMQ_EVENT_CONNECT_DELAYED: self = .connectDelayed
            case ZMQ_EVENT_CONNECT_RETRIED: self = .connectRetried
            case ZMQ_EVENT_LISTENING: self = .listening
            case ZMQ_EVENT_BIND_FAILED: self = .bindFailed
            case ZMQ_EVENT_ACCEPTED: self = .accepted
            case ZMQ_EVENT_ACCEPT_FAILED: self = .acceptFailed
            case ZMQ_EVENT_CLOSED: self = .closed
            case ZMQ_EVENT_CLOSE_FAILED: self = .closeFailed
            case ZMQ_EVENT_DISCONNECTED: self = .disconnected
            case ZMQ_EVENT_MONITOR_STOPPED: self = .monitorStopped
            case ZMQ_EVENT_HANDSHAKE_SUCCEEDED: self = .handshakeSucceeded
            case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL,
                 ZMQ_EVENT_HANDSHAKE_FAILED_AUTH: self = .handshakeFailed
            default: self = .other(number)
            }
        }
    }

    public let kind: Kind
    /// The event's value: a file descriptor, an errno or a reconnect interval, depending on `kind`.
    public let value: UInt32
    /// The endpoint the event concerns, e.g. `tcp://127.0.0.1:40123`.
    public let endpoint: String
    /// libzmq's event number (`ZMQ_EVENT_...`), which tells the three handshake failures apart.
    public var number: UInt16 = 0
}
