import DescentProtocol

/// Bounds what hellos can make the coordinator do: each costs a JSON decode, a machine decision
/// and a reply (a welcome, even a step's parameters for a member), and a hello is the one message
/// a peer that is not (yet) a member may send. Applied by the socket transport before a hello is
/// decoded, on every socket (CURVE or `--insecure`, TCP or ipc).
///
/// - Each peer, member or not: `perPeerPerSecond` hellos a second on average (a joining worker
///   sends one a second), `perPeerBurst` at once.
/// - All peers that are not members together: `perSecond` hellos a second, `burst` at once (room
///   for every rank of the run to join in the same second).
/// - At most `maxPending` unregistered peers are remembered at once; one is forgotten
///   `pendingLifetime` seconds after its last hello. A hello from another while the table is full
///   is dropped. A member is remembered until it is removed.
///
/// Dropped hellos are counted by the coordinator (`hello_rate_limited`, `too_many_unregistered`)
/// and their log lines rate-limited; a dropped worker says hello again a second later.
/// A pure value with the clock passed in, tested alone.
struct HelloGate {
    struct Limits: Equatable {
        var perSecond: Double
        var burst: Double
        var perPeerPerSecond: Double
        var perPeerBurst: Double
        var maxPending: Int
        var pendingLifetime: Double
        /// A hello's JSON text above this is refused before it is decoded.
        var maxHelloBytes: Int

        /// The limits for a run of `slots` ranks (documented in README's Security section).
        init(slots: Int) {
            perSecond = 20
            burst = Double(max(32, 2 * slots))
            perPeerPerSecond = 2
            perPeerBurst = 4
            maxPending = 2 * slots + 32
            pendingLifetime = 10
            maxHelloBytes = 16 * 1024
        }
    }

    enum Verdict: Equatable {
        case pass
        /// Over the peer's rate or over all unregistered peers' rate.
        case rateLimited
        /// `maxPending` other unregistered peers are remembered.
        case tooManyPending
    }

    let limits: Limits
    private var tokens: Double
    private var lastRefill: Double
    private var peers: [PeerID: Entry] = [:]
    /// Entries of peers that are not members.
    private(set) var pendingCount = 0

    private struct Entry {
        var tokens: Double
        var lastHello: Double
        var address: String?
        var member: Bool
    }

    init(limits: Limits, now: Double) {
        self.limits = limits
        tokens = limits.burst
        lastRefill = now
    }

    /// Whether a hello from `peer` may go on; `address` is kept for the join line.
    mutating func admit(_ peer: PeerID, address: @autoclosure () -> String?, now: Double) -> Verdict {
        if var entry = peers[peer] {
            entry.tokens = min(limits.perPeerBurst, entry.tokens + max(0, now - entry.lastHello) * limits.perPeerPerSecond)
            entry.lastHello = now
            defer { peers[peer] = entry }
            guard entry.tokens >= 1, entry.member || takeSharedToken(now: now) else { return .rateLimited }
            entry.tokens -= 1
            return .pass
        }
        if pendingCount >= limits.maxPending {
            peers = peers.filter { $0.value.member || now - $0.value.lastHello < limits.pendingLifetime }
            pendingCount = peers.values.count { !$0.member }
            guard pendingCount < limits.maxPending else { return .tooManyPending }
        }
        guard takeSharedToken(now: now) else { return .rateLimited }
        peers[peer] = Entry(tokens: limits.perPeerBurst - 1, lastHello: now, address: address(), member: false)
        pendingCount += 1
        return .pass
    }

    /// The address recorded with `peer`'s first hello.
    func address(of peer: PeerID) -> String? { peers[peer]?.address }

    /// `peer` is a member now: it no longer counts as pending (its own rate still applies).
    mutating func admitted(_ peer: PeerID, now: Double) {
        if let entry = peers[peer] {
            if !entry.member { pendingCount -= 1 }
            peers[peer]?.member = true
        } else {
            peers[peer] = Entry(tokens: limits.perPeerBurst, lastHello: now, address: nil, member: true)
        }
    }

    /// `peer` left the run.
    mutating func removed(_ peer: PeerID) {
        if let entry = peers.removeValue(forKey: peer), !entry.member { pendingCount -= 1 }
    }

    private mutating func takeSharedToken(now: Double) -> Bool {
        tokens = min(limits.burst, tokens + max(0, now - lastRefill) * limits.perSecond)
        lastRefill = now
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}
