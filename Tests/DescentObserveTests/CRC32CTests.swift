import DescentCore
import DescentTensorBoard
import Foundation
import Testing

@Suite struct CRC32CTests {
    /// The check value of CRC-32C (RFC 3720 B.4 / the CRC catalogue): "123456789" -> 0xE3069283.
    @Test func checkValueOfTheCatalogue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
    }

    /// RFC 3720 B.4: 32 bytes of zeros -> 0x8A9136AA, of 0xFF -> 0x62A8AB43.
    @Test func iSCSIVectors() {
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
    }

    /// TensorFlow's mask, by hand: rotate 0xE3069283 right by 15, add 0xA282EAD8 (mod 2^32).
    @Test func maskRotatesAndAdds() {
        let crc: UInt32 = 0xE306_9283
        let rotated: UInt32 = 0x2507_C60D  // the low 15 bits 0x1283 moved to the top, the rest shifted down: worked out on paper
        #expect((crc >> 15) | (crc << 17) == rotated)
        #expect(CRC32C.masked(crc) == rotated &+ 0xA282_EAD8)
    }

    /// A record framed by hand: length 3 (LE u64), its masked CRC, "abc", the data's masked CRC.
    @Test func recordFramingMatchesTheFormat() throws {
        let path = NSTemporaryDirectory() + "descent-tfrecord-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let writer = try TFRecordWriter(path: path)
        try writer.write(Array("abc".utf8))
        try writer.close()
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(bytes.count == 8 + 4 + 3 + 4)
        #expect(Array(bytes[0..<8]) == [3, 0, 0, 0, 0, 0, 0, 0])
        func u32(_ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[at + $1]) << (8 * $1) } }
        #expect(u32(8) == CRC32C.masked(CRC32C.checksum([3, 0, 0, 0, 0, 0, 0, 0])))
        #expect(Array(bytes[12..<15]) == Array("abc".utf8))
        // crc32c("abc") = 0x364B3FB7 (CRC catalogue tools; independent of the table above).
        #expect(u32(15) == CRC32C.masked(0x364B_3FB7))
    }

    /// A full disk (`/dev/full`: every write fails with ENOSPC) is named with the file and the
    /// reason, and what could not be written stays buffered.
    @Test func aFullDiskIsNamedInWords() throws {
        let writer = try TFRecordWriter(path: "/dev/full")
        try writer.write(Array("abc".utf8))
        #expect(throws: FileWriteError(path: "/dev/full", action: "write", code: ENOSPC)) { try writer.flush() }
        #expect(throws: FileWriteError(path: "/dev/full", action: "write", code: ENOSPC)) { try writer.close() }
    }
}
