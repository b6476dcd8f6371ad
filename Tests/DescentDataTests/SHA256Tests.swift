import Foundation
import Testing
@testable import DescentData

@Suite("SHA-256")
struct SHA256Tests {
    /// FIPS 180-2 appendix B and NIST example vectors.
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
    ])
    func matchesPublishedVectors(message: String, digest: String) {
        #expect(SHA256Hasher.hex(of: Array(message.utf8)) == digest)
    }

    @Test func matchesTheMillionAVector() {
        var hasher = SHA256Hasher()
        let thousand = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000)
        for _ in 0..<1_000 { hasher.update(thousand) }
        #expect(hasher.finalizeHex() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test(arguments: [1, 3, 55, 56, 63, 64, 65, 1000])
    func givesTheSameDigestWhateverTheChunkSize(chunk: Int) {
        let message = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        var hasher = SHA256Hasher()
        var offset = 0
        while offset < message.count {
            hasher.update(message[offset..<min(offset + chunk, message.count)])
            offset += chunk
        }
        #expect(hasher.finalizeHex() == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test func agreesWithSha256sumOnAGeneratedFile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let bytes = patternBytes(3_000_017)
        try directory.write(bytes, to: "blob")
        let (hex, count) = try SHA256Hasher.hexOfFile(atPath: directory.file("blob"))
        #expect(count == bytes.count)
        #expect(hex == (try sha256sumOfFile(directory.file("blob"))))
    }

    @Test func refusesToHashAMissingFile() {
        #expect(throws: DataError.self) { try SHA256Hasher.hexOfFile(atPath: "/nonexistent/blob") }
    }
}
