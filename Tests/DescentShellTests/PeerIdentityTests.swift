import DescentProtocol
import DescentTransport
import Foundation
import Testing
@testable import DescentCoordinator

/// A worker is its authenticated key: `AuthenticatedRoutes` alone, then the coordinator's real
/// `SocketTransport` with CURVE over TCP, with workers played by DEALER sockets of this process.
@Suite struct PeerIdentityTests {
    static let keyA = String(repeating: "a", count: 40), keyB = String(repeating: "b", count: 40)
    static let allowed = [keyA: "worker-0", keyB: "worker-1"]
    let worker0 = PeerID(authenticatedKey: keyA, name: "worker-0")
    let worker1 = PeerID(authenticatedKey: keyB, name: "worker-1")

    @Test func aKeyKeepsItsIdentityAndMovesToItsNewConnectionOnHello() {
        var routes = AuthenticatedRoutes(allowed: Self.allowed)
        let a = Array(Self.keyA.utf8)
        #expect(routes.resolve(route: [1], key: a, isHello: true) == .peer(worker0))
        #expect(routes.resolve(route: [1], key: a, isHello: false) == .peer(worker0))
        #expect(routes.route(of: worker0) == [1])
        // The same key on a second connection: a gradient is refused, a hello takes the key over.
        #expect(routes.resolve(route: [2], key: a, isHello: false) == .superseded(worker0))
        #expect(routes.route(of: worker0) == [1])
        #expect(routes.resolve(route: [2], key: a, isHello: true) == .reconnected(worker0, previous: [1]))
        #expect(routes.route(of: worker0) == [2])
        #expect(routes.resolve(route: [1], key: a, isHello: false) == .superseded(worker0))
        #expect(routes.count == 1)
        // A peer known by routing id has no route here (the transport uses its bytes).
        #expect(routes.route(of: PeerID([2])) == nil)
    }

    @Test func aRoutingIdOfAMemberWithAnotherKeyIsRefusedOnce() {
        var routes = AuthenticatedRoutes(allowed: Self.allowed)
        let a = Array(Self.keyA.utf8), b = Array(Self.keyB.utf8)
        #expect(routes.resolve(route: [7], key: a, isHello: true) == .peer(worker0))
        #expect(routes.resolve(route: [7], key: b, isHello: false) == .mismatch(boundTo: worker0, presented: worker1))
        // Nothing for worker-0 goes to that connection any more; its next message is worker-1's own.
        #expect(routes.route(of: worker0) == nil)
        #expect(routes.resolve(route: [7], key: b, isHello: false) == .peer(worker1))
        #expect(routes.resolve(route: [8], key: Array(String(repeating: "c", count: 40).utf8), isHello: true) == .unknownKey)
        #expect(routes.resolve(route: [9], key: a, isHello: true) == .peer(worker0))
        #expect(routes.count == 2)
    }

    @Test func peerIDsOfKeysAreNamedByTheAllowList() {
        #expect(worker0.description == "worker-0 (key aaaaaaaa...)")
        #expect(worker0 != PeerID(Array(Self.keyA.utf8)))
        #expect(PeerID([0x0a, 0xff]).description == "0aff")
    }
}

/// The limits on hellos, with the clock passed in; expected counts from the token-bucket formula.
@Suite struct HelloGateTests {
    let limits = HelloGate.Limits(slots: 2)

    @Test func documentedLimitsForTwoRanks() {
        #expect(limits.perSecond == 20 && limits.burst == 32)
        #expect(limits.perPeerPerSecond == 2 && limits.perPeerBurst == 4)
        #expect(limits.maxPending == 36 && limits.pendingLifetime == 10 && limits.maxHelloBytes == 16_384)
        #expect(HelloGate.Limits(slots: 64).burst == 128 && HelloGate.Limits(slots: 64).maxPending == 160)
    }

    @Test func onePeerGetsItsBurstThenTwoASecond() {
        var gate = HelloGate(limits: limits, now: 0)
        let peer = PeerID([1])
        let first = (0..<10).map { _ in gate.admit(peer, address: nil, now: 100) }
        #expect(first.filter { $0 == .pass }.count == 4)
        #expect(first.dropFirst(4).allSatisfy { $0 == .rateLimited })
        // 0.5 s later: one more token (2 a second); 0.4 s after that: none yet.
        #expect(gate.admit(peer, address: nil, now: 100.5) == .pass)
        #expect(gate.admit(peer, address: nil, now: 100.9) == .rateLimited)
        #expect(gate.admit(peer, address: nil, now: 101.0) == .pass)
    }

    @Test func allUnregisteredPeersShareTheBurstThenTwentyASecond() {
        var limits = self.limits
        limits.maxPending = 100  // not the limit under test here
        var gate = HelloGate(limits: limits, now: 0)
        let verdicts = (0..<36).map { gate.admit(PeerID([UInt8($0)]), address: nil, now: 50) }
        #expect(verdicts.prefix(32).allSatisfy { $0 == .pass })
        #expect(verdicts.suffix(4).allSatisfy { $0 == .rateLimited })
        // 0.25 s later 5 tokens have come back (20 a second).
        let later = (0..<8).map { gate.admit(PeerID([UInt8(100 + $0)]), address: nil, now: 50.25) }
        #expect(later.filter { $0 == .pass }.count == 5)
    }

    @Test func membersAreNotPendingAndDoNotSpendTheSharedTokens() {
        var gate = HelloGate(limits: limits, now: 0)
        let member = PeerID([9])
        #expect(gate.admit(member, address: "10.0.0.9:4000", now: 1) == .pass)
        gate.admitted(member, now: 1)
        #expect(gate.pendingCount == 0 && gate.address(of: member) == "10.0.0.9:4000")
        for i in 0..<32 { _ = gate.admit(PeerID([UInt8(i), 1]), address: nil, now: 1) }
        // The shared tokens are spent, the member's own are not (3 left of its burst).
        #expect(gate.admit(PeerID([200]), address: nil, now: 1) == .rateLimited)
        #expect((0..<3).allSatisfy { _ in gate.admit(member, address: nil, now: 1) == .pass })
        #expect(gate.admit(member, address: nil, now: 1) == .rateLimited)
        gate.removed(member)
        #expect(gate.address(of: member) == nil)
    }

    @Test func pendingPeersAreCappedUntilTheyExpire() {
        var limits = self.limits
        limits.maxPending = 3
        var gate = HelloGate(limits: limits, now: 0)
        for i in 0..<3 { #expect(gate.admit(PeerID([UInt8(i)]), address: nil, now: Double(i)) == .pass) }
        #expect(gate.pendingCount == 3)
        #expect(gate.admit(PeerID([10]), address: nil, now: 5) == .tooManyPending)
        // A remembered peer still gets its own hellos through.
        #expect(gate.admit(PeerID([2]), address: nil, now: 5) == .pass)
        // Peer 0's last hello was at 0: forgotten 10 s later, which makes room for one.
        #expect(gate.admit(PeerID([10]), address: nil, now: 10.5) == .pass)
        #expect(gate.admit(PeerID([11]), address: nil, now: 10.5) == .tooManyPending)
        #expect(gate.pendingCount == 3)
    }
}
