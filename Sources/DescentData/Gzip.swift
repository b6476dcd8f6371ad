import CZlib

/// Gzip decompression through zlib, with every failure a thrown `DataError`.
///
/// Handles multi-member files (members are concatenated, as `gzip -d` does), and tells a
/// truncated stream (an interrupted download) apart from corrupt data.
public enum Gzip {
    /// True when `bytes` start with the gzip magic bytes 1f 8b.
    public static func isGzip(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B
    }

    /// The decompressed content of the gzip data `bytes`; `path` names the file in errors.
    /// Content beyond `maxBytes` is an error (a damaged file or a decompression bomb): nothing
    /// past that is ever inflated or allocated.
    public static func decompress(_ bytes: [UInt8], path: String, maxBytes: Int = 1 << 31) throws -> [UInt8] {
        try inflateBounded(bytes, path: path, limit: maxBytes, stopAtLimit: false)
    }

    /// The first `count` decompressed bytes (fewer when the content is shorter), e.g. a header
    /// that says how large the whole content may be.
    public static func prefix(_ bytes: [UInt8], count: Int, path: String) throws -> [UInt8] {
        try inflateBounded(bytes, path: path, limit: count, stopAtLimit: true)
    }

    private static func inflateBounded(_ bytes: [UInt8], path: String, limit: Int, stopAtLimit: Bool) throws -> [UInt8] {
        guard isGzip(bytes) else { throw DataError.corruptGzip(path: path, reason: "no gzip header (magic bytes 1f 8b)") }
        var output: [UInt8] = []
        output.reserveCapacity(min(sizeHint(bytes), limit))
        var stream = z_stream()
        guard descent_inflate_init2(&stream, 15 + 32) == Z_OK else {
            throw DataError.corruptGzip(path: path, reason: "zlib could not start: out of memory")
        }
        defer { inflateEnd(&stream) }

        let chunkSize = 1 << 18
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        try bytes.withUnsafeBufferPointer { input in
            var offset = 0
            while true {
                // Inflate one member.
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress! + offset)
                stream.avail_in = UInt32(input.count - offset)
                var status: Int32 = Z_OK
                repeat {
                    status = chunk.withUnsafeMutableBufferPointer { out -> Int32 in
                        stream.next_out = out.baseAddress
                        stream.avail_out = UInt32(chunkSize)
                        return inflate(&stream, Z_NO_FLUSH)
                    }
                    let produced = chunkSize - Int(stream.avail_out)
                    if output.count + produced > limit {
                        if stopAtLimit {
                            output.append(contentsOf: chunk[0..<(limit - output.count)])
                            return
                        }
                        throw DataError.corruptGzip(path: path, reason: "decompresses to more than the \(limit) bytes expected (a damaged file or a decompression bomb); nothing more was inflated")
                    }
                    output.append(contentsOf: chunk[0..<produced])
                    switch status {
                    case Z_OK, Z_STREAM_END:
                        break
                    case Z_BUF_ERROR:
                        // No progress possible: the input ran out before the end of the stream.
                        throw DataError.truncatedGzip(path: path)
                    case Z_DATA_ERROR, Z_NEED_DICT, Z_STREAM_ERROR:
                        throw DataError.corruptGzip(path: path, reason: message(of: stream) ?? "invalid deflate data")
                    case Z_MEM_ERROR:
                        throw DataError.corruptGzip(path: path, reason: "zlib ran out of memory")
                    default:
                        throw DataError.corruptGzip(path: path, reason: "zlib status \(status)")
                    }
                    if status == Z_OK && stream.avail_in == 0 && stream.avail_out != 0 {
                        if stopAtLimit { return }
                        throw DataError.truncatedGzip(path: path)
                    }
                } while status != Z_STREAM_END
                offset = input.count - Int(stream.avail_in)
                if offset == input.count { return }
                // Another member follows, or trailing bytes that are not gzip.
                let rest = input.count - offset
                guard rest >= 2, input[offset] == 0x1F, input[offset + 1] == 0x8B else {
                    throw DataError.corruptGzip(path: path, reason: "\(rest) bytes of trailing data after the gzip stream")
                }
                guard inflateReset(&stream) == Z_OK else {
                    throw DataError.corruptGzip(path: path, reason: "zlib could not start the next gzip member")
                }
            }
        }
        return output
    }

    /// The decompressed content when `bytes` is gzip, else `bytes` as they are.
    public static func decompressIfGzip(_ bytes: [UInt8], path: String, maxBytes: Int = 1 << 31) throws -> [UInt8] {
        isGzip(bytes) ? try decompress(bytes, path: path, maxBytes: maxBytes) : bytes
    }

    /// The size the last member's trailer announces (ISIZE, the size mod 2^32), capped, as a capacity hint.
    private static func sizeHint(_ bytes: [UInt8]) -> Int {
        guard bytes.count >= 18 else { return 0 }
        let n = bytes.count
        let size = Int(bytes[n - 4]) | Int(bytes[n - 3]) << 8 | Int(bytes[n - 2]) << 16 | Int(bytes[n - 1]) << 24
        return min(size, 1 << 28)
    }

    private static func message(of stream: z_stream) -> String? {
        guard let text = stream.msg else { return nil }
        return String(cString: text)
    }
}
