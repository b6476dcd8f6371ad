import DescentProtocol

/// The coordinator's end of an `InMemoryNetwork`: for tests of the shells without processes.
public final class InMemoryCoordinatorTransport: CoordinatorTransport {
    public let network: InMemoryNetwork
    public let parameters: UnsafeMutableBufferPointer<Float>
    public var endpoint: String { "inmemory://" }

    public init(network: InMemoryNetwork, parameterCount: Int) {
        self.network = network
        parameters = .allocate(capacity: parameterCount)
        parameters.initialize(repeating: 0)
    }

    deinit { parameters.deallocate() }

    public func receive(timeout: Double, _ handle: (CoordinatorArrival) throws -> Void) throws {
        for envelope in network.takeForCoordinator() {
            try handle(.message(envelope.message, from: envelope.peer, floats: envelope.floats.map(ArrayFloats.init)))
        }
    }

    public func send(_ message: WireMessage, to peer: PeerID) { network.sendToWorker(peer, message) }

    public func sendStep(_ order: WireMessage.StepOrder, to recipients: [CoordinatorMachine.Recipient]) {
        var order = order
        order.parameterCount = parameters.count
        let floats = Array(parameters)
        for recipient in recipients { network.sendToWorker(recipient.peer, .step(order), floats: floats) }
    }

    public func admitted(rank: Int, peer: PeerID, introduction: WorkerIntroduction) -> String? { nil }
    public func removed(rank: Int) {}
    public func address(of peer: PeerID) -> String? { nil }
    public func close() {}
}

/// Gradient floats held in an array.
struct ArrayFloats: GradientFloats {
    let values: [Float]
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R { try values.withUnsafeBytes(body) }
}
