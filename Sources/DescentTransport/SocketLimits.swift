import CLinuxSync

/// The byte and message bounds of the protocol's two sockets, set in one place.
///
/// What a peer can make the coordinator hold: a peer that fails the handshake, nothing (libzmq
/// passes no byte of it to the socket). An admitted peer: at most `receiveHighWaterMark` whole
/// messages queued per connection, each of at most `maxFrames` frames of at most
/// `maxFrameBytes` (`ZMQ_MAXMSGSIZE`: a larger frame drops the connection, nothing delivered);
/// frames past the protocol's count are received and dropped at once. libzmq counts the high-water
/// mark in whole messages, so the frames of one multipart message still arriving are buffered
/// while the coordinator is busy: their bytes are bounded by the link's rate times the longest
/// busy period (an epoch's evaluation), and freed as soon as the coordinator reads them.
public enum SocketLimits {
    /// Messages a coordinator queues per worker connection before libzmq stops reading that
    /// connection: a worker has at most a gradient, a heartbeat and a hello in flight.
    public static let coordinatorReceiveHighWaterMark: Int32 = 8
    /// Messages a worker queues: a step, heartbeats, a stop.
    public static let workerReceiveHighWaterMark: Int32 = 16

    /// The largest frame of a run with `parameterCount` parameters: its float payload plus room
    /// for the JSON of a hello or settings message.
    public static func maxFrameBytes(parameterCount: Int) -> Int64 {
        Int64(parameterCount) * 4 + 65_536
    }

    /// Sets a coordinator ROUTER's receive bounds for `parameterCount` parameters.
    public static func configureCoordinator(_ socket: ZMQSocket, parameterCount: Int) throws(ZMQError) {
        try socket.setMaxMessageSize(maxFrameBytes(parameterCount: parameterCount))
        try socket.setReceiveHighWaterMark(coordinatorReceiveHighWaterMark)
        returnLargeFreedBlocksToTheSystem()
    }

    /// Sets a worker DEALER's receive bounds (the parameter count is not known before the
    /// coordinator's welcome: 64 MiB frames at most, 16 M parameters).
    public static func configureWorker(_ socket: ZMQSocket) throws(ZMQError) {
        try socket.setMaxMessageSize(64 << 20)
        try socket.setReceiveHighWaterMark(workerReceiveHighWaterMark)
        returnLargeFreedBlocksToTheSystem()
    }

    /// glibc raises its mmap threshold after a large block is freed, so that later 400 KB frames
    /// come from the heap, which rarely shrinks: a burst of frames then stays in the resident
    /// size. A fixed threshold keeps every block of 256 KiB or more in its own mapping, returned
    /// to the system when freed.
    public static func returnLargeFreedBlocksToTheSystem() {
        _ = descent_fix_mmap_threshold(256 * 1024)
    }
}

/// 16 bytes from the system's cryptographic random source, for a socket's routing id: two
/// workers starting in the same microsecond still get different ids.
public func randomRoutingID() -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    return (0..<2).flatMap { _ in withUnsafeBytes(of: generator.next() as UInt64) { Array($0) } }
}
