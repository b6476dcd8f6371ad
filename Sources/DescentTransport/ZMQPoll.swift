import CZeroMQ

/// Events `poll` can wait for and report.
public struct ZMQPollEvents: OptionSet, Sendable {
    public let rawValue: Int16
    public init(rawValue: Int16) { self.rawValue = rawValue }

    /// At least one whole message can be received without waiting (`ZMQ_POLLIN`).
    public static let readable = ZMQPollEvents(rawValue: Int16(ZMQ_POLLIN))
    /// At least one message can be sent without waiting (`ZMQ_POLLOUT`).
    public static let writable = ZMQPollEvents(rawValue: Int16(ZMQ_POLLOUT))
}

/// One socket and the events `poll` should wait for on it.
public struct ZMQPollItem {
    /// The socket to watch.
    public let socket: ZMQSocket
    /// The events to wait for.
    public let events: ZMQPollEvents

    public init(_ socket: ZMQSocket, _ events: ZMQPollEvents = .readable) {
        self.socket = socket
        self.events = events
    }
}

/// Waits until one of `items` has an event it asked for, or `timeout` milliseconds pass
/// (0 returns at once; -1 waits forever, which Descent never does).
/// Returns the events found, one entry per item in the same order; all empty after a timeout.
/// An interrupted wait (`EINTR`) restarts with the full timeout.
public func poll(items: [ZMQPollItem], timeout: Int) throws(ZMQError) -> [ZMQPollEvents] {
    var pollItems = [zmq_pollitem_t]()
    pollItems.reserveCapacity(items.count)
    for item in items {
        let socket = try item.socket.handle(for: "zmq_poll")
        pollItems.append(zmq_pollitem_t(socket: socket, fd: 0, events: item.events.rawValue, revents: 0))
    }
    let count = Int32(pollItems.count)
    try zmqRequire("zmq_poll") {
        pollItems.withUnsafeMutableBufferPointer { zmq_poll($0.baseAddress, count, timeout) }
    }
    return pollItems.map { ZMQPollEvents(rawValue: $0.revents) }
}
