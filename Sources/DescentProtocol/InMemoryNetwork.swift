/// Queues between a coordinator and its workers in one process: the wire of the in-memory
/// transports that tests of the coordinator and worker shells use, without sockets or
/// processes. Messages keep their typed form; floats travel as copies, as they do on a wire.
public final class InMemoryNetwork: @unchecked Sendable {
    public struct Envelope {
        public var peer: PeerID
        public var message: WireMessage
        public var floats: [Float]?
    }

    private var toCoordinator: [Envelope] = []
    private var toWorkers: [PeerID: [Envelope]] = [:]
    /// Peers cut off: what they send and what is sent to them is dropped.
    public private(set) var cut: Set<PeerID> = []

    public init() {}

    public func sendToCoordinator(from peer: PeerID, _ message: WireMessage, floats: [Float]? = nil) {
        guard !cut.contains(peer) else { return }
        toCoordinator.append(Envelope(peer: peer, message: message, floats: floats))
    }

    public func sendToWorker(_ peer: PeerID, _ message: WireMessage, floats: [Float]? = nil) {
        guard !cut.contains(peer) else { return }
        toWorkers[peer, default: []].append(Envelope(peer: peer, message: message, floats: floats))
    }

    public func takeForCoordinator() -> [Envelope] {
        defer { toCoordinator.removeAll() }
        return toCoordinator
    }

    public func takeForWorker(_ peer: PeerID) -> [Envelope] {
        defer { toWorkers[peer] = nil }
        return toWorkers[peer] ?? []
    }

    /// Drops everything to and from `peer` from now on (a dead process, a lost host).
    public func cutOff(_ peer: PeerID) {
        cut.insert(peer)
        toWorkers[peer] = nil
        toCoordinator.removeAll { $0.peer == peer }
    }
}
