import CLinuxSync

/// The byte and message bounds of the protocol's two sockets, set in one place.
///
/// What a peer can make the coordinator hold: a peer that fails the handshake, nothing (libzmq
/// passes no byte of it to the socket). An admitted peer: messages of at most `maxFrames` frames
/// of at most `maxFrameBytes` (`ZMQ_MAXMSGSIZE`: a larger frame drops the connection, nothing
/// delivered); frames past the protocol's count are received and dropped at once. What it sends
/// while the coordinator is not reading (an epoch's evaluation, a checkpoint) waits in libzmq's
/// queue, bounded by its link's rate times that pause, and is freed as soon as it is read.
///
/// Neither socket sets a receive high-water mark (`ZMQ_RCVHWM` 0: no limit). With one, libzmq
/// 4.3.4 stops reading a connection whose queue is full, and if that connection is then reset
/// the engine is marked failed (`_io_error`); answering a ZMTP PING still buffered behind the
/// queue, or the socket's own heartbeat timer, then asserts `!_io_error` and aborts the process
/// (stream_engine_base.cpp:331). One burst of more messages than the mark, a PING and a reset
/// did it to a coordinator at any moment, and to a worker. No mark, no stopped reading, no abort.
public enum SocketLimits {
    /// The receive high-water mark of both sockets: none (see above).
    public static let receiveHighWaterMark: Int32 = 0

    /// The most messages one receive call takes off a socket: far more than a step brings (a
    /// gradient and a heartbeat per worker; a step and a heartbeat for a worker), few enough that
    /// a peer sending faster than they are handled (there is no high-water mark) cannot keep the
    /// process from its clock, its deadlines and its signals. The rest waits for the next call.
    public static let drainLimit = 256

    /// The largest frame of a run with `parameterCount` parameters: its float payload plus room
    /// for the JSON of a hello or settings message.
    public static func maxFrameBytes(parameterCount: Int) -> Int64 {
        Int64(parameterCount) * 4 + 65_536
    }

    /// Sets a coordinator ROUTER's receive bounds for `parameterCount` parameters.
    public static func configureCoordinator(_ socket: ZMQSocket, parameterCount: Int) throws(ZMQError) {
        try socket.setMaxMessageSize(maxFrameBytes(parameterCount: parameterCount))
        try socket.setReceiveHighWaterMark(receiveHighWaterMark)
        reuseFrameSizedBlocks(maxFrameBytes: maxFrameBytes(parameterCount: parameterCount))
    }

    /// Sets a worker DEALER's receive bounds (the parameter count is not known before the
    /// coordinator's welcome: 64 MiB frames at most, 16 M parameters). A worker keeps glibc's
    /// own allocation policy, which reuses the heap for its frames after the first.
    public static func configureWorker(_ socket: ZMQSocket) throws(ZMQError) {
        try socket.setMaxMessageSize(64 << 20)
        try socket.setReceiveHighWaterMark(receiveHighWaterMark)
    }

    /// How the coordinator allocates blocks of a frame's size. Every step allocates and frees a
    /// few of them (libzmq's decoder makes one per received frame; CURVE two or three more per
    /// frame each way), so they must come from the heap: with the mmap threshold below the frame
    /// size (256 KiB fixed, before) each got a fresh mapping and faulted in 100 pages, 3.7 million
    /// page faults in a 2 x 128 bench and about a third of the run's CPU time (measured side by
    /// side with glibc's policy: 44,000 faults). So the threshold is fixed just above the largest
    /// frame, `maxFrameBytes` (nothing larger is ever received: `ZMQ_MAXMSGSIZE`), not left to glibc,
    /// which raises it after each large free up to 32 MiB; and the heap's top is trimmed above
    /// 8 frames, so what a burst leaves free goes back to the system while a step's frames are
    /// reused. Peak memory is unchanged: the bound of a burst is its frames, freed as they are read.
    public static func reuseFrameSizedBlocks(maxFrameBytes: Int64) {
        let threshold = Int32(clamping: min(maxFrameBytes + 4096, 32 << 20))
        _ = descent_fix_mmap_threshold(threshold)
        _ = descent_fix_trim_threshold(Int32(clamping: min(8 * Int64(threshold), 256 << 20)))
    }
}

/// 16 bytes from the system's cryptographic random source, for a socket's routing id: two
/// workers starting in the same microsecond still get different ids.
public func randomRoutingID() -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    return (0..<2).flatMap { _ in withUnsafeBytes(of: generator.next() as UInt64) { Array($0) } }
}
