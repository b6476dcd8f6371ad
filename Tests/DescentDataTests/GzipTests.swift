import Testing
@testable import DescentData

@Suite("Gzip")
struct GzipTests {
    @Test func decompressesWhatGzipToolCompressed() throws {
        let original = patternBytes(300_000)
        let compressed = try gzipWithTool(original)
        #expect(try Gzip.decompress(compressed, path: "x.gz") == original)
    }

    @Test func decompressesEveryMemberOfAMultiMemberFile() throws {
        let first = patternBytes(70_000, seed: 1)
        let second = patternBytes(1_000, seed: 2)
        let joined = try gzipWithTool(first) + (try gzipWithTool(second))
        #expect(try Gzip.decompress(joined, path: "x.gz") == first + second)
    }

    @Test func decompressesAnEmptyMember() throws {
        #expect(try Gzip.decompress(try gzipWithTool([]), path: "x.gz") == [])
    }

    @Test func leavesBytesWithoutGzipMagicAsTheyAre() throws {
        let raw = idxLabels([1, 2, 3])
        #expect(try Gzip.decompressIfGzip(raw, path: "x") == raw)
        #expect(!Gzip.isGzip(raw))
        #expect(Gzip.isGzip([0x1F, 0x8B, 0x08]))
    }

    @Test(arguments: [1, 10, 100, 2_000])
    func refusesAStreamCutShortAsTruncated(keptFraction: Int) throws {
        let compressed = try gzipWithTool(patternBytes(50_000))
        let kept = max(10, compressed.count * keptFraction / 2_001)
        let cut = Array(compressed[0..<kept])
        #expect(throws: DataError.truncatedGzip(path: "data/t.gz")) { try Gzip.decompress(cut, path: "data/t.gz") }
        #expect(DataError.truncatedGzip(path: "data/t.gz").description.contains("data/t.gz: truncated"))
    }

    @Test func refusesADamagedStreamAsCorrupt() throws {
        var compressed = try gzipWithTool(patternBytes(50_000))
        // Damage the deflate data in the middle (the header is 10 bytes with -n, the trailer 8).
        for k in stride(from: compressed.count / 2, to: compressed.count / 2 + 40, by: 1) { compressed[k] ^= 0x5A }
        let error = #expect(throws: DataError.self) { try Gzip.decompress(compressed, path: "d.gz") }
        guard case .corruptGzip(let path, _) = error else {
            Issue.record("expected corruptGzip, got \(String(describing: error))")
            return
        }
        #expect(path == "d.gz")
        #expect(error?.description.hasPrefix("d.gz: corrupt gzip data") == true)
    }

    @Test func refusesAWrongChecksumInTheTrailer() throws {
        var compressed = try gzipWithTool(patternBytes(1_000))
        compressed[compressed.count - 8] ^= 0xFF  // first byte of the CRC-32
        let error = #expect(throws: DataError.self) { try Gzip.decompress(compressed, path: "c.gz") }
        #expect(error?.description.contains("incorrect data check") == true)
    }

    @Test func refusesTrailingBytesThatAreNotAnotherMember() throws {
        let compressed = try gzipWithTool(patternBytes(1_000)) + [0x00, 0x01, 0x02]
        let error = #expect(throws: DataError.self) { try Gzip.decompress(compressed, path: "t.gz") }
        #expect(error?.description.contains("3 bytes of trailing data") == true)
    }
}
