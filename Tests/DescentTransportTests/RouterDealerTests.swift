import Testing
@testable import DescentTransport

@Suite("ROUTER/DEALER messaging")
struct RouterDealerTests {
    @Test("a DEALER's message reaches the ROUTER tagged with its routing id, and the reply comes back",
          arguments: TestTransport.allCases)
    func roundTripWithRoutingID(transport: TestTransport) throws {
        let context = try ZMQContext()
        let (router, endpoint) = try makeRouter(context, over: transport)
        let dealer = try makeDealer(context, id: "worker-7", connectingTo: endpoint)

        try dealer.send(header: [1, 2, 3])
        let request = try #require(try receiveFrames(router))
        #expect(request == [Array("worker-7".utf8), [1, 2, 3]])

        try router.send(to: request[0], header: [9, 8])
        let reply = try #require(try receiveFrames(dealer))
        #expect(reply == [[9, 8]])
    }

    @Test("a header and a payload arrive as two frames with their bytes unchanged")
    func multipartKeepsFramesApart() throws {
        let context = try ZMQContext()
        let (router, endpoint) = try makeRouter(context)
        let dealer = try makeDealer(context, id: "w", connectingTo: endpoint)
        let header = patternBytes(count: 64)
        let payload = try ZMQMessage(copying: patternBytes(count: 100, seed: 7))

        try dealer.send(header: header, payload: payload)
        let frames = try #require(try receiveFrames(router))
        #expect(frames == [Array("w".utf8), header, patternBytes(count: 100, seed: 7)])
        #expect(payload.count == 100, "the caller's payload stays usable after the send")
    }

    @Test("a 400 KB payload arrives intact", arguments: TestTransport.allCases)
    func largePayload(transport: TestTransport) throws {
        let context = try ZMQContext()
        let (router, endpoint) = try makeRouter(context, over: transport)
        let dealer = try makeDealer(context, id: "big", connectingTo: endpoint)
        let bytes = patternBytes(count: 409_600, seed: 3)

        try dealer.send(header: [0], payload: try ZMQMessage(copying: bytes))
        let frames = try #require(try receiveFrames(router))
        #expect(frames.count == 3)
        #expect(frames.last == bytes)
    }

    @Test("one shared payload sent to three DEALERs arrives intact at each")
    func sharedPayloadToThreePeers() throws {
        let context = try ZMQContext()
        let (router, endpoint) = try makeRouter(context)
        let names = ["w0", "w1", "w2"]
        let dealers = try names.map { try makeDealer(context, id: $0, connectingTo: endpoint) }
        for dealer in dealers { try dealer.send(header: [0]) }
        var routingIDs: [[UInt8]] = []
        for _ in dealers { routingIDs.append(try #require(try receiveFrames(router))[0]) }
        #expect(Set(routingIDs) == Set(names.map { Array($0.utf8) }))

        let bytes = patternBytes(count: 409_600, seed: 11)
        let parameters = try ZMQMessage(copying: bytes)
        for id in routingIDs {
            #expect(try router.send(to: id, header: [4], payload: parameters, mode: .dontWait) == .sent)
        }
        for dealer in dealers {
            let frames = try #require(try receiveFrames(dealer))
            #expect(frames == [[4], bytes])
        }
        #expect(parameters.bytes == bytes)
    }

    @Test("a ROUTER_MANDATORY send to an unknown peer throws the host-unreachable error")
    func unknownPeerIsHostUnreachable() throws {
        let context = try ZMQContext()
        let (router, _) = try makeRouter(context)
        do {
            try router.send(to: Array("nobody".utf8), header: [1], mode: .dontWait)
            Issue.record("the send to an unknown peer succeeded")
        } catch {
            #expect(error.kind == .hostUnreachable)
            #expect(error.call == "zmq_send")
        }
    }

    @Test("a DONTWAIT send with no connected peer under IMMEDIATE reports wouldBlock")
    func dontWaitWithoutPeerWouldBlock() throws {
        let context = try ZMQContext()
        let dealer = try ZMQSocket(context, kind: .dealer)
        try dealer.setImmediate(true)
        // Nothing listens on port 1, so the connection never completes.
        try dealer.connect("tcp://127.0.0.1:1")
        #expect(try dealer.send(header: [1], mode: .dontWait) == .wouldBlock)
    }
}
