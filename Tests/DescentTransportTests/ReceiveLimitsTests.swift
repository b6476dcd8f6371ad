import Testing
@testable import DescentTransport

@Suite("Receive limits and poll")
struct ReceiveLimitsTests {
    @Test("poll with nothing to read returns no events once the timeout passes")
    func pollTimeoutReturnsNothing() throws {
        let context = try ZMQContext()
        let (router, _) = try makeRouter(context)
        let events = try poll(items: [ZMQPollItem(router, .readable)], timeout: 50)
        #expect(events == [[]])
    }

    @Test("poll reports which of several sockets is readable")
    func pollReportsTheReadableSocket() throws {
        let context = try ZMQContext()
        let (quiet, _) = try makeRouter(context)
        let (busy, endpoint) = try makeRouter(context)
        let dealer = try makeDealer(context, id: "d", connectingTo: endpoint)
        try dealer.send(header: [1])
        let events = try poll(items: [ZMQPollItem(quiet), ZMQPollItem(busy)], timeout: 5_000)
        #expect(events == [[], .readable])
    }

    @Test("a message with more frames than the cap is drained and reported, and the next message still arrives")
    func frameCapRefusesAndDrains() throws {
        let context = try ZMQContext()
        let (router, endpoint) = try makeRouter(context)
        let dealer = try ZMQSocket(context, kind: .dealer)
        try dealer.setRoutingID(Array("d".utf8))
        try dealer.connect(endpoint)

        // Five frames from the DEALER: the ROUTER sees six with the routing id.
        let five = try (0..<5).map { try ZMQMessage(copying: [UInt8($0)]) }
        #expect(try dealer.sendMultipart(five) == .sent)
        try dealer.send(header: [7])

        guard case .tooManyFrames(let count)? = try receive(router, maxFrames: 3) else {
            Issue.record("the oversized message was not refused")
            return
        }
        #expect(count == 6)
        #expect(try receiveFrames(router) == [Array("d".utf8), [7]])
    }

    @Test("MAXMSGSIZE drops a frame larger than the limit, while a small message still arrives")
    func maxMessageSizeDropsOversizedFrame() throws {
        let context = try ZMQContext()
        let router = try ZMQSocket(context, kind: .router)
        try router.setMaxMessageSize(1_024)
        try router.bind("tcp://127.0.0.1:*")
        let endpoint = try router.lastEndpoint
        let big = try makeDealer(context, id: "big", connectingTo: endpoint)
        let small = try makeDealer(context, id: "small", connectingTo: endpoint)

        try big.send(header: [1], payload: try ZMQMessage(copying: patternBytes(count: 4_096)))
        try small.send(header: [2])
        #expect(try receiveFrames(router) == [Array("small".utf8), [2]])
        #expect(try receiveFrames(router, timeout: 300) == nil)
    }
}
