import Foundation
import Testing
@testable import DescentTransport

@Suite("Socket monitor")
struct MonitorTests {
    /// Reads monitor events (each wait bounded) until one of `kind` arrives; nil if none within 20 events.
    func waitForEvent(_ kind: ZMQMonitorEvent.Kind, on monitor: ZMQSocketMonitor) throws -> ZMQMonitorEvent? {
        for _ in 0..<20 {
            let events = try poll(items: [ZMQPollItem(monitor.socket)], timeout: 5_000)
            guard events[0].contains(.readable) else { return nil }
            if let event = try monitor.receiveEvent(), event.kind == kind { return event }
        }
        return nil
    }

    @Test("a DEALER's monitor reports connected, then disconnected when the ROUTER goes away")
    func connectedThenDisconnected() throws {
        let context = try ZMQContext()
        let (router, endpoint) = try makeRouter(context)
        let dealer = try ZMQSocket(context, kind: .dealer)
        let monitor = try ZMQSocketMonitor(watching: dealer, name: UUID().uuidString)
        try dealer.connect(endpoint)

        let connected = try #require(try waitForEvent(.connected, on: monitor))
        #expect(connected.endpoint == endpoint)
        router.close()
        let disconnected = try #require(try waitForEvent(.disconnected, on: monitor))
        #expect(disconnected.endpoint == endpoint)
    }
}
