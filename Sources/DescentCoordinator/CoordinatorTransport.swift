import DescentCore
import DescentProtocol

/// Floats that arrived with a gradient: a payload frame, a slot of the shared segment, or an
/// in-memory array. Read once by the averager.
public protocol GradientFloats {
    /// The floats' raw bytes (exactly `count * 4` of them after the header checks).
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
    /// float32, or bfloat16 from a worker of a `--wire-encoding bf16` run (`count * 2` bytes then).
    var encoding: WireEncoding { get }
    /// Whether the floats stay where they are, unchanged, until the coordinator publishes its next
    /// step: the slot of the worker in the coordinator's own process, which nothing else writes.
    /// The averager may then read them when the step's sum completes rather than copy them now.
    var staysUntilNextStep: Bool { get }
}

extension GradientFloats {
    public var encoding: WireEncoding { .float32 }
    public var staysUntilNextStep: Bool { false }
}

/// What reaches the coordinator from its transport.
public enum CoordinatorArrival {
    /// A decoded message; a gradient's floats come with it.
    case message(WireMessage, from: PeerID, floats: GradientFloats?)
    /// Bytes that did not decode; `reply` is set when the sender should be told why.
    case malformed(from: PeerID?, WireError)
    /// A message the transport refused before decoding it (an identity that does not match its
    /// connection, a hello over the limits of unregistered peers): counted and logged, never applied.
    case refused(from: PeerID?, Rejection, String)
    /// A peer the transport knows to be gone (its process exited).
    case gone(PeerID, reason: String)
}

/// The seam between the coordinator's shell and the wire: ZeroMQ frames (`SocketTransport`),
/// shared memory for workers on this host on top of it (`SharedMemoryTransport`), or queues in
/// one process (`InMemoryCoordinatorTransport`, for tests of the shells without processes).
public protocol CoordinatorTransport: AnyObject {
    /// The model's parameters: where the transport wants them (in a shared segment, or owned).
    var parameters: UnsafeMutableBufferPointer<Float> { get }
    /// A second buffer of the model's size that no worker reads while a step's gradients are
    /// awaited (the shared segment's other parameter buffer), where the step's update may be
    /// written beside `parameters`; nil where updates are made in place.
    var spareParameters: UnsafeMutableBufferPointer<Float>? { get }
    /// The update was written into `spareParameters`: they are the model now, and the next step
    /// is sent from them (the old buffer becomes the spare).
    func adoptSpareParameters()
    /// Where workers reach this coordinator (after binding).
    var endpoint: String { get }
    /// Waits at most `timeout` seconds for arrivals and hands each to `handle`.
    func receive(timeout: Double, _ handle: (CoordinatorArrival) throws -> Void) throws
    /// Sends a control message.
    func send(_ message: WireMessage, to peer: PeerID)
    /// Sends a step's order with the current parameters to each recipient.
    func sendStep(_ order: WireMessage.StepOrder, to recipients: [CoordinatorMachine.Recipient])
    /// A worker was admitted under `rank`: returns the shared segment it should map, if any.
    func admitted(rank: Int, peer: PeerID, introduction: WorkerIntroduction) -> String?
    /// `rank` left the run.
    func removed(rank: Int)
    /// The network address `peer` connected from, when the transport knows it.
    func address(of peer: PeerID) -> String?
    /// Flushes what is queued (the final stops) and closes.
    func close()
    /// The parameters changed while the step order stayed the same (async and bounded modes send
    /// one step to several workers at different moments): a cached step payload is stale.
    func parametersChanged()
}

extension CoordinatorTransport {
    public func parametersChanged() {}
    public var spareParameters: UnsafeMutableBufferPointer<Float>? { nil }
    public func adoptSpareParameters() {}
}
