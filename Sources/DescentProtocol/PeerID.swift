/// The identity of a connected peer, as the coordinator's machine knows it.
///
/// Without CURVE (`--insecure`, or the in-memory network) it is the peer's ZeroMQ routing id,
/// which the peer chose. With CURVE it is the public key the peer proved it holds in the
/// handshake (ZeroMQ's User-Id), named by the allow-list (`worker-0`): the transport maps each
/// key to its current connection, so a worker that connects again keeps its identity.
public struct PeerID: Hashable, Sendable, CustomStringConvertible {
    /// The routing id, or the Z85 text of the authenticated key.
    public let bytes: [UInt8]
    /// The allow-list's name of the authenticated key (the `.pub` file's name); nil for a routing id.
    public let keyName: String?

    /// A peer known by its routing id.
    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        keyName = nil
    }

    /// A peer known by its authenticated CURVE key (Z85 text) and the allow-list's name of it.
    public init(authenticatedKey key: String, name: String) {
        bytes = Array(key.utf8)
        keyName = name
    }

    /// The worker that runs in the coordinator's own process and thread (`--local-worker`). No
    /// socket peer can be it: a routing id has no key name, and an authenticated key is 40 characters.
    public static let inProcess = PeerID(authenticatedKey: "", name: "in-process")

    /// The key's name and the first characters of the key, or the routing id in hex.
    public var description: String {
        if self == .inProcess { return "the coordinator's own worker" }
        if let keyName { return "\(keyName) (key \(String(decoding: bytes.prefix(8), as: UTF8.self))...)" }
        return bytes.map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}
