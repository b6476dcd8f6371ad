import CZeroMQ

/// One ZeroMQ frame, owning a `zmq_msg_t`.
///
/// Received frames land here (never in a fixed buffer), and large payloads are built here and sent
/// without copying. `sharedCopy()` shares the bytes by reference count, which is how one parameter
/// buffer goes to N workers. Do not modify the bytes of a message after sending it or sharing it:
/// libzmq's I/O thread may still be reading them. Not `Sendable`; use it on one thread at a time.
public final class ZMQMessage {
    /// The `zmq_msg_t`, at a fixed heap address: libzmq keeps small frames inside the struct itself.
    let raw: UnsafeMutablePointer<zmq_msg_t>

    /// An empty frame (0 bytes).
    public init() {
        raw = .allocate(capacity: 1)
        raw.initialize(to: zmq_msg_t())
        zmq_msg_init(raw)
    }

    /// A frame of `size` bytes with unspecified contents, to be filled with `withUnsafeMutableBytes`.
    public init(size: Int) throws(ZMQError) {
        // Everything that can fail happens before `raw` is set, so a throw never reaches `deinit`.
        let message = UnsafeMutablePointer<zmq_msg_t>.allocate(capacity: 1)
        message.initialize(to: zmq_msg_t())
        do {
            try zmqRequire("zmq_msg_init_size(\(size))") { zmq_msg_init_size(message, size) }
        } catch {
            message.deinitialize(count: 1)
            message.deallocate()
            throw error
        }
        raw = message
    }

    /// A frame holding a copy of `bytes`.
    public convenience init(copying bytes: UnsafeRawBufferPointer) throws(ZMQError) {
        try self.init(size: bytes.count)
        if let source = bytes.baseAddress, bytes.count > 0 {
            zmq_msg_data(raw).copyMemory(from: source, byteCount: bytes.count)
        }
    }

    /// A frame holding a copy of `bytes`.
    public convenience init(copying bytes: [UInt8]) throws(ZMQError) {
        try self.init(size: bytes.count)
        bytes.withUnsafeBytes { source in
            if let base = source.baseAddress, source.count > 0 {
                zmq_msg_data(raw).copyMemory(from: base, byteCount: source.count)
            }
        }
    }

    deinit {
        zmq_msg_close(raw)
        raw.deinitialize(count: 1)
        raw.deallocate()
    }

    /// The frame's size in bytes.
    public var count: Int { zmq_msg_size(raw) }

    /// The frame's bytes, valid only inside `body`. The base address may have any alignment.
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: zmq_msg_data(raw), count: count))
    }

    /// The frame's bytes for writing, valid only inside `body`; only before the frame is sent or shared.
    public func withUnsafeMutableBytes<R, E: Error>(_ body: (UnsafeMutableRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeMutableRawBufferPointer(start: zmq_msg_data(raw), count: count))
    }

    /// A copy of the frame's bytes as an array (for small frames such as routing ids).
    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    /// A second message sharing this one's bytes (`zmq_msg_copy`: reference counted for large
    /// frames, so nothing is copied). Send the copy and keep this one for the next peer.
    public func sharedCopy() throws(ZMQError) -> ZMQMessage {
        let copy = ZMQMessage()
        let destination = copy.raw, source = raw
        try zmqRequire("zmq_msg_copy") { zmq_msg_copy(destination, source) }
        return copy
    }

    /// Whether more frames of the same multipart message follow this received frame.
    public var hasMore: Bool { zmq_msg_more(raw) != 0 }
}

extension ZMQMessage {
    /// A metadata property of a received message (`zmq_msg_gets`), e.g. "Peer-Address" for the
    /// sender's IP address on TCP; nil when the transport does not provide it.
    public func metadata(_ property: String) -> String? {
        guard let value = zmq_msg_gets(raw, property) else { return nil }
        return String(cString: value)
    }
}
