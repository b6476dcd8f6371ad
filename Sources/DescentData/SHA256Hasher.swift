import Crypto
import Foundation

/// SHA-256 (swift-crypto's), streamed: `update` with chunks as they arrive, then `finalize`.
///
/// Verifies downloaded dataset files without holding them in memory twice, and seals checkpoints.
public struct SHA256Hasher: Sendable {
    private var hasher = SHA256()

    public init() {}

    /// Adds `bytes` to the message.
    public mutating func update<Bytes: DataProtocol>(_ bytes: Bytes) {
        hasher.update(data: bytes)
    }

    /// The 32-byte digest of everything added so far.
    public func finalize() -> [UInt8] {
        Array(hasher.finalize())
    }

    /// The digest as 64 lower-case hex digits (as `sha256sum` prints it).
    public func finalizeHex() -> String {
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: finalize().flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0xf)]] }, as: UTF8.self)
    }

    /// The hex digest of `bytes`.
    public static func hex<Bytes: DataProtocol>(of bytes: Bytes) -> String {
        var hasher = SHA256Hasher()
        hasher.update(bytes)
        return hasher.finalizeHex()
    }

    /// The hex digest and size of the file at `path`, read in chunks.
    public static func hexOfFile(atPath path: String) throws -> (hex: String, byteCount: Int) {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw DataError.unreadable(path: path, reason: "cannot open the file")
        }
        defer { try? handle.close() }
        var hasher = SHA256Hasher()
        var byteCount = 0
        while true {
            let chunk: Data?
            do {
                chunk = try handle.read(upToCount: 1 << 20)
            } catch {
                throw DataError.unreadable(path: path, reason: describe(error))
            }
            guard let chunk, !chunk.isEmpty else { break }
            hasher.update(chunk)
            byteCount += chunk.count
        }
        return (hasher.finalizeHex(), byteCount)
    }
}
