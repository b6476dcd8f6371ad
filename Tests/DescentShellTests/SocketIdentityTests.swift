import DescentProtocol
import DescentTransport
import Foundation
import Testing
@testable import DescentCoordinator

/// The coordinator's `SocketTransport` over real TCP with CURVE (and plaintext for the hello
/// limits); the workers are DEALER sockets of this process that speak the wire format by hand.
@Suite(.serialized, .enabled(if: CurveSupport.isAvailable, "libzmq has no CURVE here"))
struct SocketIdentityTests {
    /// What the transport handed over, reduced to what the tests check.
    enum Seen: Equatable {
        case hello(PeerID)
        case heartbeat(PeerID)
        case refused(Rejection)
        case other(String)
    }

    static let introduction = WorkerIntroduction(host: "test", pid: 1, requestedRank: nil)
    static let hello = WireMessage.hello(WireMessage.Hello(runID: 0, generation: 0, requestedRank: 0, configHash: 0, processID: 1,
                                                           introduction: introduction))
    static let heartbeat = WireMessage.heartbeat(WireMessage.Envelope(runID: 0, generation: 0, rank: 0))

    let context: ZMQContext
    let serverKeys: CurveKeyPair
    let keys: [CurveKeyPair]

    init() throws {
        context = try ZMQContext()
        serverKeys = try CurveKeyPair.generate()
        keys = [try CurveKeyPair.generate(), try CurveKeyPair.generate()]
    }

    func coordinator(curve: Bool = true, workers: Int = 2) throws -> SocketTransport {
        let allowed = Dictionary(uniqueKeysWithValues: keys.enumerated().map { ($1.publicKey, "worker-\($0)") })
        return try SocketTransport(bind: "tcp://127.0.0.1:*", parameterCount: 16,
                                   security: curve ? .curve(keys: serverKeys, allowedClients: allowed) : .insecure, workers: workers)
    }

    /// A worker's DEALER with routing id `id`, holding `keys` (nil: plaintext).
    func worker(_ keys: CurveKeyPair?, id: [UInt8], to endpoint: String) throws -> (ZMQSocket, ClientHandshakeWatch) {
        let dealer = try ZMQSocket(context, kind: .dealer)
        try dealer.setRoutingID(id)
        try dealer.setLinger(milliseconds: 0)
        let security: ClientSecurity = keys.map { .curve(serverPublicKey: serverKeys.publicKey, keys: $0) } ?? .insecure
        let watch = try SocketSecurity.secureClient(dealer, security, endpoint: endpoint)
        try dealer.connect(endpoint)
        return (dealer, watch)
    }

    func send(_ message: WireMessage, on dealer: ZMQSocket) throws {
        let (header, text) = try message.encoded()
        try dealer.send(header: header.encoded(), payload: try text.map { try ZMQMessage(copying: $0) })
    }

    /// Arrivals until `count` have come or 5 s have passed.
    func arrivals(_ transport: SocketTransport, count: Int = 1, seconds: Double = 5) throws -> [Seen] {
        var seen: [Seen] = []
        let deadline = Date().addingTimeInterval(seconds)
        while seen.count < count && Date() < deadline {
            try transport.receive(timeout: 0.05) { arrival in
                switch arrival {
                case .message(.hello, let peer, _): seen.append(.hello(peer))
                case .message(.heartbeat, let peer, _): seen.append(.heartbeat(peer))
                case .refused(_, let kind, _): seen.append(.refused(kind))
                default: seen.append(.other("\(arrival)"))
                }
            }
        }
        return seen
    }

    /// The type of the next message `dealer` receives within `timeout` ms, and its text.
    func received(on dealer: ZMQSocket, timeout: Int = 3_000) throws -> (MessageType, String)? {
        guard try poll(items: [ZMQPollItem(dealer, .readable)], timeout: timeout)[0].contains(.readable),
              case .message(let messages) = try dealer.receiveMultipart(maxFrames: 3, mode: .dontWait) else { return nil }
        let frames = messages.map(\.bytes)
        let header = try WireHeader.decode(frames[0], payloadByteCount: frames.count == 2 ? frames[1].count : nil)
        return (header.type, frames.count == 2 ? String(decoding: frames[1], as: UTF8.self) : "")
    }

    @Test func aSecondConnectionWithTheSameKeyTakesTheWorkersPlaceAndTheOldOneIsStopped() throws {
        let transport = try coordinator()
        defer { transport.close() }
        let (first, _) = try worker(keys[0], id: [0xA1], to: transport.endpoint)
        defer { first.close() }
        try send(Self.hello, on: first)
        let seen = try arrivals(transport)
        guard case .hello(let peer)? = seen.first else { Issue.record("no hello: \(seen)"); return }
        #expect(peer.keyName == "worker-0" && peer.bytes == Array(keys[0].publicKey.utf8))
        _ = transport.admitted(rank: 0, peer: peer, introduction: Self.introduction)

        let (second, _) = try worker(keys[0], id: [0xC3], to: transport.endpoint)
        defer { second.close() }
        try send(Self.hello, on: second)
        #expect(try arrivals(transport) == [.hello(peer)])
        // The old connection is told why it must stop ...
        let told = try received(on: first)
        #expect(told?.0 == .reject && told?.1.contains("took its place") == true, "\(String(describing: told))")
        // ... anything it still sends is refused, and the worker is reached on the new connection only.
        try send(Self.heartbeat, on: first)
        #expect(try arrivals(transport) == [.refused(.supersededConnection)])
        transport.send(Self.heartbeat, to: peer)
        #expect(try received(on: second)?.0 == .heartbeat)
        #expect(try received(on: first, timeout: 300) == nil)
    }

    @Test func aMembersRoutingIdUsedWithAnotherKeyIsRefused() throws {
        let transport = try coordinator()
        defer { transport.close() }
        let (owner, _) = try worker(keys[0], id: [0x55], to: transport.endpoint)
        try send(Self.hello, on: owner)
        guard case .hello(let member)? = try arrivals(transport).first else { Issue.record("no hello"); return }
        _ = transport.admitted(rank: 0, peer: member, introduction: Self.introduction)
        owner.close()
        // libzmq's ROUTER ignores a second connection with a routing id it still has: give it
        // time to see the owner go (a busy machine is slow), then say something until heard.
        usleep(1_000_000)
        // worker-1's key on worker-0's routing id: refused and counted, not taken for worker-0.
        let (borrower, _) = try worker(keys[1], id: [0x55], to: transport.endpoint)
        defer { borrower.close() }
        var first: [Seen] = []
        for _ in 0..<60 where first.isEmpty {
            try send(Self.heartbeat, on: borrower)
            first = try arrivals(transport, seconds: 0.25)
        }
        #expect(first.first == .refused(.identityMismatch), "\(first)")
        _ = try arrivals(transport, count: 100, seconds: 0.5)  // the other heartbeats sent while waiting
        // From then on that connection is worker-1, and nothing for worker-0 goes to it.
        try send(Self.heartbeat, on: borrower)
        let next = try arrivals(transport)
        #expect(next.count == 1)
        if case .heartbeat(let peer)? = next.first { #expect(peer.keyName == "worker-1") } else { Issue.record("\(next)") }
        transport.send(Self.heartbeat, to: member)
        #expect(try received(on: borrower, timeout: 300) == nil)
    }

    /// 30 plaintext peers say hello twice each: the 32 shared tokens and 20 more a second pass,
    /// the rest are refused as rate-limited; a hello above 16 KiB is refused before it is decoded.
    @Test func hellosOfUnregisteredPeersAreRateLimitedOnThePlaintextPathToo() throws {
        let transport = try coordinator(curve: false, workers: 1)
        defer { transport.close() }
        let dealers = try (0..<30).map { try worker(nil, id: [0x10, UInt8($0)], to: transport.endpoint).0 }
        defer { dealers.forEach { $0.close() } }
        let started = Date()
        for dealer in dealers { try send(Self.hello, on: dealer); try send(Self.hello, on: dealer) }
        let seen = try arrivals(transport, count: 60, seconds: 10)
        let elapsed = Date().timeIntervalSince(started)
        let passed = seen.filter { if case .hello = $0 { true } else { false } }.count
        #expect(seen.count == 60)
        #expect(passed >= 32 && Double(passed) <= 32 + 20 * elapsed + 1, "\(passed) passed in \(elapsed) s")
        #expect(seen.count - passed == seen.filter { $0 == .refused(.helloRateLimited) }.count)

        let big = [UInt8](repeating: UInt8(ascii: "x"), count: 20_000)
        let header = WireHeader.hello(runID: 0, generation: 0, rank: 0, configHash: 0, processID: 1, jsonByteCount: UInt32(big.count))
        try dealers[0].send(header: header.encoded(), payload: try ZMQMessage(copying: big))
        #expect(try arrivals(transport) == [.refused(.malformed)])
    }

    /// The socket sets no receive high-water mark, so a flood is all queued at once; one
    /// `receive` hands over at most `SocketLimits.drainLimit` of it (the loop gets back to its clock and
    /// signals), and the rest follows on the next calls, none lost.
    @Test func oneReceiveHandsOverAtMostTheDrainLimitAndTheRestFollows() throws {
        let transport = try coordinator(curve: false)
        let (dealer, _) = try worker(nil, id: [9, 9, 9], to: transport.endpoint)
        let flood = 3 * SocketLimits.drainLimit + 17
        for _ in 0..<flood { try send(Self.heartbeat, on: dealer) }
        usleep(300_000)  // libzmq queues the whole flood meanwhile (a send is asynchronous)
        var counts: [Int] = []
        let deadline = Date().addingTimeInterval(10)
        while counts.reduce(0, +) < flood && Date() < deadline {
            var count = 0
            try transport.receive(timeout: 0.05) { _ in count += 1 }
            if count > 0 { counts.append(count) }
        }
        #expect(counts.reduce(0, +) == flood, "\(counts)")
        #expect(counts.allSatisfy { $0 <= SocketLimits.drainLimit } && counts.contains(SocketLimits.drainLimit), "\(counts)")
    }

    /// With a worker on its host the coordinator naps on the shared-memory futex between looks at
    /// the socket; while a look stops at the drain limit it looks again without a nap, so a flood
    /// is read at the socket's pace, not 256 messages each 5 ms. Afterwards it naps again.
    @Test func aSharedMemoryCoordinatorSkipsItsNapWhileTheSocketHasABacklog() throws {
        let made = try SharedMemoryTransport.make(bind: "tcp://127.0.0.1:*", runID: 7, generation: 1, parameterCount: 16, slots: 1)
        let transport = try #require(made as? SharedMemoryTransport, "no shared-memory segment here")
        let local = WorkerIntroduction(host: "test", pid: 1, requestedRank: 0, hostIdentity: HostIdentity.current(), sharedMemory: true)
        #expect(transport.admitted(rank: 0, peer: PeerID([1, 2, 3]), introduction: local) != nil, "the worker takes the segment")
        #expect(transport.napBeforeLooking(timeout: 1) == 0.005)
        #expect(transport.napBeforeLooking(timeout: 0.001) == 0.001)

        let (dealer, _) = try worker(nil, id: [9, 9, 9], to: transport.endpoint)
        let flood = 2 * SocketLimits.drainLimit + 17
        for _ in 0..<flood { try send(Self.heartbeat, on: dealer) }
        usleep(300_000)  // libzmq queues the whole flood meanwhile
        var looks: [(count: Int, nap: Double)] = []
        let deadline = Date().addingTimeInterval(10)
        while looks.map(\.count).reduce(0, +) < flood && Date() < deadline {
            var count = 0
            try transport.receive(timeout: 1) { _ in count += 1 }
            if count > 0 { looks.append((count, transport.napBeforeLooking(timeout: 1))) }
        }
        #expect(looks.map(\.count) == [SocketLimits.drainLimit, SocketLimits.drainLimit, 17], "\(looks)")
        #expect(looks.map(\.nap) == [0, 0, 0.005], "\(looks)")
        transport.close()
    }

    /// Where every worker is local, a turn that took a gradient from the segment looks at the
    /// socket once a millisecond at most; one that took none, one with a backlog, and any turn of
    /// a run with a worker elsewhere (its gradients come by the socket) always look.
    @Test func aCoordinatorWhoseWorkersAreAllLocalLooksAtItsSocketOnceAMillisecondBetweenGradients() {
        var looks = SocketLooks()
        func look(_ now: Double, local: Bool = true, backlog: Bool = false, announced: Bool = true) -> Bool {
            looks.due(now: now, everyWorkerLocal: local, backlog: backlog, announced: announced)
        }
        // Times in seconds from a first look at 0; the interval is 0.001.
        #expect(look(0.0000), "the first turn looks")
        #expect(!look(0.0004))
        #expect(!look(0.0009))
        #expect(look(0.0010), "a millisecond after the last look")
        #expect(!look(0.0012))
        #expect(look(0.0013, announced: false), "a turn without a gradient")
        #expect(look(0.0014, backlog: true), "a backlog")
        #expect(look(0.0015, local: false), "a worker elsewhere")
        #expect(!look(0.0016), "counted from the last look")
        #expect(look(0.0026))
    }
}
