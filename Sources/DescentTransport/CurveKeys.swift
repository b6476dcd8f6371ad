import CZeroMQ

/// A CURVE key pair (Curve25519) as ZeroMQ's Z85 text: 40 printable characters each.
public struct CurveKeyPair: Sendable, Equatable {
    /// The public key, safe to hand to anyone (peers pin it or allow-list it).
    public let publicKey: String
    /// The secret key; never leaves this host's key files.
    public let secretKey: String

    public init(publicKey: String, secretKey: String) {
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    /// A fresh key pair from libzmq's `zmq_curve_keypair` (libsodium's random source).
    public static func generate() throws(CurveKeyError) -> CurveKeyPair {
        try CurveSupport.require()
        var publicBuffer = [CChar](repeating: 0, count: 41)
        var secretBuffer = [CChar](repeating: 0, count: 41)
        guard zmq_curve_keypair(&publicBuffer, &secretBuffer) == 0 else {
            throw .libzmq("zmq_curve_keypair failed: \(String(cString: zmq_strerror(zmq_errno())))")
        }
        return CurveKeyPair(publicKey: cText(publicBuffer), secretKey: cText(secretBuffer))
    }

    /// The key pair whose secret key is `secretKey` (its public key derived with `zmq_curve_public`).
    public init(secretKey: String) throws(CurveKeyError) {
        try CurveSupport.require()
        guard CurveKeyPair.isZ85Key(secretKey) else { throw .malformed("a CURVE key is 40 Z85 characters, got \(secretKey.utf8.count) characters") }
        var publicBuffer = [CChar](repeating: 0, count: 41)
        guard zmq_curve_public(&publicBuffer, secretKey) == 0 else { throw .malformed("not a Z85 CURVE secret key") }
        self.init(publicKey: cText(publicBuffer), secretKey: secretKey)
    }

    /// Whether `text` has the shape of a Z85-encoded 32-byte key: 40 characters of Z85's alphabet.
    public static func isZ85Key(_ text: String) -> Bool {
        text.utf8.count == 40 && text.utf8.allSatisfy { z85Alphabet.contains($0) }
    }

    private static let z85Alphabet: Set<UInt8> =
        Set("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#".utf8)
}

/// Whether this libzmq was built with CURVE (libsodium).
public enum CurveSupport {
    /// `zmq_has("curve")`.
    public static var isAvailable: Bool { zmq_has("curve") == 1 }

    static func require() throws(CurveKeyError) {
        guard isAvailable else {
            throw .unavailable("this libzmq (\(zeroMQVersion())) was built without CURVE; install a libzmq with libsodium (Debian: libzmq5), or run with --insecure")
        }
    }
}

/// A CURVE key that cannot be made, read or used, in words for the user.
public enum CurveKeyError: Error, Equatable, CustomStringConvertible {
    case unavailable(String)
    case malformed(String)
    case libzmq(String)
    /// A key file that cannot be used: its path and why.
    case file(path: String, problem: String)

    public var description: String {
        switch self {
        case let .unavailable(text), let .malformed(text), let .libzmq(text): return text
        case let .file(path, problem): return "\(path): \(problem)"
        }
    }
}

/// The text of a NUL-terminated C buffer.
func cText(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
