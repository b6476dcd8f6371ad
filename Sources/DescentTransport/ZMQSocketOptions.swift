import CZeroMQ

/// Typed setters for the socket options Descent uses. Durations are in milliseconds, as libzmq takes them.
extension ZMQSocket {
    /// `ZMQ_LINGER`: how long `close` keeps unsent messages; 0 drops them, -1 waits forever (never use).
    public func setLinger(milliseconds: Int32) throws(ZMQError) {
        try setInt32(ZMQ_LINGER, name: "ZMQ_LINGER", milliseconds)
    }

    /// `ZMQ_ROUTING_ID`: the identity a ROUTER peer sees for this socket (1...255 bytes; set before connecting).
    public func setRoutingID(_ id: [UInt8]) throws(ZMQError) {
        let socket = try handle(for: "zmq_setsockopt(ZMQ_ROUTING_ID)")
        try zmqRequire("zmq_setsockopt(ZMQ_ROUTING_ID)") {
            id.withUnsafeBytes { zmq_setsockopt(socket, ZMQ_ROUTING_ID, $0.baseAddress, $0.count) }
        }
    }

    /// `ZMQ_ROUTER_MANDATORY`: a ROUTER send to an unknown peer fails with `EHOSTUNREACH` instead of vanishing.
    public func setRouterMandatory(_ enabled: Bool) throws(ZMQError) {
        try setInt32(ZMQ_ROUTER_MANDATORY, name: "ZMQ_ROUTER_MANDATORY", enabled ? 1 : 0)
    }

    /// `ZMQ_IMMEDIATE`: queue messages only to completed connections, so nothing waits for an absent peer.
    public func setImmediate(_ enabled: Bool) throws(ZMQError) {
        try setInt32(ZMQ_IMMEDIATE, name: "ZMQ_IMMEDIATE", enabled ? 1 : 0)
    }

    /// ZMTP heartbeats: ping every `interval`, drop the connection when no traffic arrives within
    /// `timeout`, and ask the peer to drop it after `ttl` (rounded down to tenths of a second by libzmq).
    public func setHeartbeat(interval: Int32, timeout: Int32, ttl: Int32) throws(ZMQError) {
        try setInt32(ZMQ_HEARTBEAT_IVL, name: "ZMQ_HEARTBEAT_IVL", interval)
        try setInt32(ZMQ_HEARTBEAT_TIMEOUT, name: "ZMQ_HEARTBEAT_TIMEOUT", timeout)
        try setInt32(ZMQ_HEARTBEAT_TTL, name: "ZMQ_HEARTBEAT_TTL", ttl)
    }

    /// `ZMQ_RECONNECT_IVL` and `ZMQ_RECONNECT_IVL_MAX`: the first reconnect delay and the cap of its
    /// exponential backoff (0 keeps the delay constant).
    public func setReconnect(interval: Int32, maximum: Int32) throws(ZMQError) {
        try setInt32(ZMQ_RECONNECT_IVL, name: "ZMQ_RECONNECT_IVL", interval)
        try setInt32(ZMQ_RECONNECT_IVL_MAX, name: "ZMQ_RECONNECT_IVL_MAX", maximum)
    }

    /// `ZMQ_SNDHWM`: how many messages (not bytes) may queue per peer for sending.
    public func setSendHighWaterMark(_ messages: Int32) throws(ZMQError) {
        try setInt32(ZMQ_SNDHWM, name: "ZMQ_SNDHWM", messages)
    }

    /// `ZMQ_RCVHWM`: how many messages (not bytes) may queue per peer for receiving.
    public func setReceiveHighWaterMark(_ messages: Int32) throws(ZMQError) {
        try setInt32(ZMQ_RCVHWM, name: "ZMQ_RCVHWM", messages)
    }

    /// `ZMQ_MAXMSGSIZE`: the largest frame accepted from a peer, in bytes; a larger frame drops the
    /// connection and nothing of it is delivered. -1 means no limit.
    public func setMaxMessageSize(_ bytes: Int64) throws(ZMQError) {
        let socket = try handle(for: "zmq_setsockopt(ZMQ_MAXMSGSIZE)")
        var value = bytes
        try zmqRequire("zmq_setsockopt(ZMQ_MAXMSGSIZE)") {
            zmq_setsockopt(socket, ZMQ_MAXMSGSIZE, &value, MemoryLayout<Int64>.size)
        }
    }

    /// `ZMQ_SNDTIMEO`: how long a blocking send waits before reporting `.wouldBlock`; -1 forever.
    public func setSendTimeout(milliseconds: Int32) throws(ZMQError) {
        try setInt32(ZMQ_SNDTIMEO, name: "ZMQ_SNDTIMEO", milliseconds)
    }

    /// `ZMQ_RCVTIMEO`: how long a blocking receive waits before reporting `.wouldBlock`; -1 forever.
    public func setReceiveTimeout(milliseconds: Int32) throws(ZMQError) {
        try setInt32(ZMQ_RCVTIMEO, name: "ZMQ_RCVTIMEO", milliseconds)
    }

    /// The current `ZMQ_LINGER` in milliseconds.
    public func lingerMilliseconds() throws(ZMQError) -> Int32 {
        try int32Option(ZMQ_LINGER, name: "ZMQ_LINGER")
    }

    func int32Option(_ option: Int32, name: String) throws(ZMQError) -> Int32 {
        let socket = try handle(for: "zmq_getsockopt(\(name))")
        var value: Int32 = 0
        var size = MemoryLayout<Int32>.size
        try zmqRequire("zmq_getsockopt(\(name))") { zmq_getsockopt(socket, option, &value, &size) }
        return value
    }

    func setInt32(_ option: Int32, name: String, _ newValue: Int32) throws(ZMQError) {
        let socket = try handle(for: "zmq_setsockopt(\(name))")
        var value = newValue
        try zmqRequire("zmq_setsockopt(\(name))") {
            zmq_setsockopt(socket, option, &value, MemoryLayout<Int32>.size)
        }
    }

    func bytesOption(_ option: Int32, name: String, capacity: Int) throws(ZMQError) -> [UInt8] {
        let socket = try handle(for: "zmq_getsockopt(\(name))")
        var buffer = [UInt8](repeating: 0, count: capacity)
        var size = capacity
        try zmqRequire("zmq_getsockopt(\(name))") {
            buffer.withUnsafeMutableBytes { zmq_getsockopt(socket, option, $0.baseAddress, &size) }
        }
        return Array(buffer.prefix(size))
    }
}
