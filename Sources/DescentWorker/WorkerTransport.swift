import DescentProtocol
import DescentTransport

/// Where a step's parameters are when it arrives: a payload frame to copy from, floats already
/// in the shared segment, or an in-memory copy.
public enum StepParameters {
    case frame(ZMQMessage)
    /// A frame of bfloat16 parameters (a run with `--wire-encoding bf16`), decoded into float32.
    case bfloat16Frame(ZMQMessage)
    case floats([Float])
    /// In the shared segment the session computes from (nothing to copy): in parameter buffer
    /// `buffer` (0 or 1 as the segment says; anything else is refused).
    case inPlace(buffer: UInt32)
}

/// What reaches a worker from its transport.
public enum WorkerArrival {
    case message(WireMessage, parameters: StepParameters?)
    case malformed(WireError)
}

/// Buffers of the shared segment that a worker on the coordinator's host computes with.
public struct SharedBuffers {
    /// The segment's parameter buffers (`SharedStepLayout.parameterBuffers`); each step says which holds its parameters.
    public var parameters: [UnsafeMutableBufferPointer<Float>]
    public var gradient: UnsafeMutableBufferPointer<Float>
}

/// The seam between the worker's shell and the wire: a DEALER socket (`SocketWorkerTransport`),
/// shared memory on top of it (`SharedMemoryWorkerTransport`), or an `InMemoryNetwork`.
public protocol WorkerTransport: AnyObject {
    /// Whether a connection exists (for "still trying to join" reports).
    var connected: Bool { get }
    /// Waits at most `timeout` seconds for arrivals and hands each to `handle`.
    func receive(timeout: Double, _ handle: (WorkerArrival) throws -> Void) throws
    /// Sends a control message without waiting; false when it could not be queued.
    @discardableResult func send(_ message: WireMessage) throws -> Bool
    /// Sends a gradient whose floats are in `gradient` (the shared-memory transport's result says `.sharedMemory`).
    @discardableResult func sendGradient(_ result: WireMessage.GradientResult, gradient: UnsafeBufferPointer<Float>) throws -> Bool
    /// After a welcome: attaches the shared segment the settings name, if this transport can.
    func attach(_ settings: RunSettings) throws -> SharedBuffers?
    /// The coordinator is gone: forget the segment.
    func detach()
    func close()
}

extension WorkerTransport {
    public func attach(_ settings: RunSettings) throws -> SharedBuffers? { nil }
    public func detach() {}
}
