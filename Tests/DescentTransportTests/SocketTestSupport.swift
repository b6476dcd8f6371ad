import Foundation
import Testing
@testable import DescentTransport

/// The transports the tests run over.
enum TestTransport: String, CaseIterable, CustomTestStringConvertible {
    case tcp, ipc, inproc
    var testDescription: String { rawValue }

    /// An endpoint to bind; tcp uses a wildcard port, read back with `lastEndpoint`.
    func bindEndpoint() -> String {
        let unique = UUID().uuidString.prefix(8)
        switch self {
        case .tcp: return "tcp://127.0.0.1:*"
        case .ipc: return "ipc://\(NSTemporaryDirectory())descent-test-\(unique).sock"
        case .inproc: return "inproc://descent-test-\(unique)"
        }
    }
}

/// A bound ROUTER and the endpoint peers connect to.
func makeRouter(_ context: ZMQContext, over transport: TestTransport = .tcp) throws -> (ZMQSocket, String) {
    let router = try ZMQSocket(context, kind: .router)
    try router.setRouterMandatory(true)
    try router.bind(transport.bindEndpoint())
    return (router, try router.lastEndpoint)
}

/// A DEALER with `routingID`, connected to `endpoint`.
func makeDealer(_ context: ZMQContext, id routingID: String, connectingTo endpoint: String) throws -> ZMQSocket {
    let dealer = try ZMQSocket(context, kind: .dealer)
    try dealer.setRoutingID(Array(routingID.utf8))
    try dealer.connect(endpoint)
    return dealer
}

/// Waits at most `timeout` ms for one message; nil when none came. Every test receive goes through here.
func receive(_ socket: ZMQSocket, maxFrames: Int = 8, timeout: Int = 5_000) throws -> ZMQReceiveResult? {
    let events = try poll(items: [ZMQPollItem(socket, .readable)], timeout: timeout)
    guard events[0].contains(.readable) else { return nil }
    return try socket.receiveMultipart(maxFrames: maxFrames, mode: .dontWait)
}

/// The frames of one message received within the timeout, as byte arrays; nil when none came.
func receiveFrames(_ socket: ZMQSocket, timeout: Int = 5_000) throws -> [[UInt8]]? {
    guard case .message(let frames)? = try receive(socket, timeout: timeout) else { return nil }
    return frames.map(\.bytes)
}

/// Bytes 0, 1, 2, ... (mod 251, so no period of a power of two) for payload checks.
func patternBytes(count: Int, seed: Int = 0) -> [UInt8] {
    (0..<count).map { UInt8(($0 + seed) % 251) }
}
