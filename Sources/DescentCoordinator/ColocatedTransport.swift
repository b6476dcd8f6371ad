import DescentProtocol

/// A worker in the coordinator's own process, driven by the coordinator's thread
/// (`descent coordinator --local-worker`): between publishing a step and waiting for the other
/// gradients, the coordinator computes this worker's share itself, on its own CPU. The update then
/// runs on a CPU that was computing a moment before, and no third process shares the two CPUs of a
/// two-worker host.
public protocol ColocatedWorker: AnyObject {
    /// The queues its control messages travel (hello, welcome, heartbeats, stop).
    var network: InMemoryNetwork { get }
    /// Does what is due without waiting: answers control messages, computes a published step.
    /// Throws when the worker cannot go on (refused, its data differs).
    func turn() throws
}

/// A coordinator transport with a `ColocatedWorker`: that worker's control messages travel an
/// `InMemoryNetwork` (typed; no socket, no key, no connection to lose), and its steps and
/// gradients go through the shared segment as any local worker's do. Where the run has no segment
/// (async modes, no shared memory) its steps carry a copy of the parameters instead. Every other
/// peer is the wrapped transport's.
final class ColocatedTransport: CoordinatorTransport {
    private let base: CoordinatorTransport
    private let network: InMemoryNetwork
    /// Whether the colocated worker was admitted to the shared segment.
    private var inSegment = false

    init(base: CoordinatorTransport, network: InMemoryNetwork) {
        self.base = base
        self.network = network
    }

    var parameters: UnsafeMutableBufferPointer<Float> { base.parameters }
    var spareParameters: UnsafeMutableBufferPointer<Float>? { base.spareParameters }
    func adoptSpareParameters() { base.adoptSpareParameters() }
    var endpoint: String { base.endpoint }

    func receive(timeout: Double, _ handle: (CoordinatorArrival) throws -> Void) throws {
        let queued = network.takeForCoordinator()
        for envelope in queued {
            try handle(.message(envelope.message, from: envelope.peer, floats: envelope.floats.map(ArrayFloats.init)))
        }
        // Something was queued: look at the other peers without waiting.
        try base.receive(timeout: queued.isEmpty ? timeout : 0, handle)
    }

    func send(_ message: WireMessage, to peer: PeerID) {
        if peer == .inProcess { network.sendToWorker(peer, message) } else { base.send(message, to: peer) }
    }

    func sendStep(_ order: WireMessage.StepOrder, to recipients: [CoordinatorMachine.Recipient]) {
        guard !inSegment, let colocated = recipients.firstIndex(where: { $0.peer == .inProcess }) else {
            return base.sendStep(order, to: recipients)
        }
        var others = recipients
        let recipient = others.remove(at: colocated)
        base.sendStep(order, to: others)
        var copied = order  // the machine's order says `.frame`: the floats come with it
        copied.parameterCount = parameters.count
        network.sendToWorker(recipient.peer, .step(copied), floats: Array(parameters))
    }

    func admitted(rank: Int, peer: PeerID, introduction: WorkerIntroduction) -> String? {
        let segment = base.admitted(rank: rank, peer: peer, introduction: introduction)
        if peer == .inProcess { inSegment = segment != nil }
        return segment
    }

    func removed(rank: Int) { base.removed(rank: rank) }
    func address(of peer: PeerID) -> String? { peer == .inProcess ? nil : base.address(of: peer) }
    func close() { base.close() }
    func parametersChanged() { base.parametersChanged() }
}
