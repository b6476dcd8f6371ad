import CZeroMQ

/// A libzmq context: the I/O threads and the registry of sockets.
///
/// Safe to share between threads (libzmq contexts are thread-safe). Every `ZMQSocket` holds a
/// strong reference to its context, so the context is terminated (`zmq_ctx_term`, in `deinit`)
/// only after all of its sockets are closed; sockets set `LINGER` 0, so termination never waits
/// for unsent messages.
public final class ZMQContext: @unchecked Sendable {
    // @unchecked: the handle is only passed to libzmq functions documented as thread-safe.
    let handle: UnsafeMutableRawPointer

    /// Creates a context with libzmq's defaults (one I/O thread).
    public init() throws(ZMQError) {
        guard let handle = zmq_ctx_new() else {
            throw ZMQError(call: "zmq_ctx_new", code: descent_zmq_errno())
        }
        self.handle = handle
    }

    /// Creates a context with `ioThreads` I/O threads (`ZMQ_IO_THREADS`): libzmq spreads the
    /// connections over them, so CURVE's encryption of several workers' frames runs in parallel.
    public convenience init(ioThreads: Int32) throws(ZMQError) {
        try self.init()
        let handle = self.handle
        try zmqRequire("zmq_ctx_set(ZMQ_IO_THREADS)") { zmq_ctx_set(handle, ZMQ_IO_THREADS, max(1, ioThreads)) }
    }

    /// Makes every blocking call on this context's sockets fail at once with `ETERM`
    /// (`ZMQError.Kind.contextTerminated`), e.g. to stop a thread waiting in a receive.
    public func shutdown() throws(ZMQError) {
        try zmqRequire("zmq_ctx_shutdown") { zmq_ctx_shutdown(handle) }
    }

    private var terminated = false

    /// Terminates the context now: blocks until every message its (closed) sockets still hold has
    /// gone out or their `LINGER` has passed. Close every socket first. Used at the end of a run,
    /// so the last messages (a coordinator's stop) are not lost when the process exits.
    public func terminate() {
        guard !terminated else { return }
        terminated = true
        while zmq_ctx_term(handle) != 0 && descent_zmq_errno() == descent_zmq_code_eintr() {}
    }

    deinit {
        // All sockets are gone (each holds this context), so this returns promptly.
        terminate()
    }
}
