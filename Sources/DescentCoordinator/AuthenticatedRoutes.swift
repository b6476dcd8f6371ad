import DescentProtocol

/// With CURVE, a worker is its authenticated key, not the routing id it chose: this maps each
/// allow-listed key to the connection (routing id) it uses now, and each connection back to its
/// key, so the coordinator's machine sees one stable `PeerID` per key whatever the connection.
///
/// - A second connection that presents a key already bound takes the key over with its hello:
///   that is the worker reconnecting or restarted (its rank, and the step in flight, move to the
///   new connection); the old connection is told to stop, and anything else it sends is refused
///   (`superseded`). Two live processes given the same key therefore cannot share a rank: the
///   later one wins and the earlier one stops with the reason.
/// - A message on a routing id bound to one key that presents another key is refused
///   (`mismatch`): a peer cannot borrow a member's routing id. The binding is dropped (the key's
///   owner is no longer on that connection); the owner's next hello binds it again.
///
/// Bounded: at most one binding per allow-listed key. A pure value (no sockets), tested alone.
struct AuthenticatedRoutes {
    /// Who sent a message, as far as keys go.
    enum Resolution: Equatable {
        /// The key's own connection (or its first message): deliver as `peer`.
        case peer(PeerID)
        /// A hello on a new connection of a key bound to `previous`: the key now lives here.
        case reconnected(PeerID, previous: [UInt8])
        /// The routing id belonged to `boundTo`, the connection proved another key.
        case mismatch(boundTo: PeerID, presented: PeerID)
        /// A message other than a hello on a connection the key has left.
        case superseded(PeerID)
        /// A key the allow-list does not know (the ZAP handler admits none; refused all the same).
        case unknownKey
    }

    /// The allow-list: Z85 key -> its name (`worker-0`).
    private let names: [String: String]
    private var peerOfRoute: [[UInt8]: PeerID] = [:]
    private var routeOfKey: [[UInt8]: [UInt8]] = [:]

    init(allowed names: [String: String]) { self.names = names }

    /// How many keys are bound to a connection now.
    var count: Int { routeOfKey.count }

    /// The peer behind a message from `route` whose connection proved `key` (Z85 text bytes).
    /// The usual case (a bound connection, its own key) allocates nothing.
    mutating func resolve<Key: Collection<UInt8>>(route: [UInt8], key: Key, isHello: Bool) -> Resolution {
        if let bound = peerOfRoute[route] {
            if key.elementsEqual(bound.bytes) {
                if routeOfKey[bound.bytes] == route { return .peer(bound) }
            } else {
                peerOfRoute[route] = nil
                if routeOfKey[bound.bytes] == route { routeOfKey[bound.bytes] = nil }
                return .mismatch(boundTo: bound, presented: peer(forKey: Array(key)) ?? PeerID(Array(key)))
            }
        }
        let keyBytes = Array(key)
        guard let peer = peer(forKey: keyBytes) else { return .unknownKey }
        if let previous = routeOfKey[keyBytes], previous != route {
            guard isHello else { return .superseded(peer) }
            peerOfRoute[previous] = nil
            bind(peer, to: route)
            return .reconnected(peer, previous: previous)
        }
        bind(peer, to: route)
        return .peer(peer)
    }

    /// The routing id that reaches `peer` now (nil: not connected, or a peer known by routing id).
    func route(of peer: PeerID) -> [UInt8]? {
        peer.keyName == nil ? nil : routeOfKey[peer.bytes]
    }

    private mutating func bind(_ peer: PeerID, to route: [UInt8]) {
        routeOfKey[peer.bytes] = route
        peerOfRoute[route] = peer
    }

    private func peer(forKey key: [UInt8]) -> PeerID? {
        let text = String(decoding: key, as: UTF8.self)
        return names[text].map { PeerID(authenticatedKey: text, name: $0) }
    }
}
