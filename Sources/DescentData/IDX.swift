/// Parses IDX files (the format MNIST ships in): a big-endian header, then unsigned bytes.
///
/// Images: magic 0x00000803, then count, rows, columns (each a big-endian UInt32), then
/// `count * rows * columns` pixels. Labels: magic 0x00000801, then count, then `count` labels.
/// Any deviation (wrong magic, wrong image size, short file, extra bytes, labels out of range)
/// is a thrown `DataError` naming `path`; nothing is ever partially loaded.
public enum IDX {
    /// The images of an IDX image file.
    public struct Images: Sendable, Equatable {
        public var count: Int
        public var rows: Int
        public var columns: Int
        /// `count * rows * columns` bytes, image after image, row-major.
        public var pixels: [UInt8]
    }

    /// The header size of an IDX file of `kind`.
    public static func headerSize(_ kind: IDXKind) -> Int { kind == .images ? 16 : 8 }

    /// The whole file's size its `header` declares (header + items), with the count clamped to
    /// `maxCount`; nil when the header is short or the size overflows or passes 2^36 bytes.
    public static func declaredSize(_ header: [UInt8], kind: IDXKind, maxCount: Int) -> Int? {
        guard header.count >= headerSize(kind) else { return nil }
        let count = min(Int(bigEndianWord(header, at: 4)), maxCount)
        var itemBytes = 1
        if kind == .images {
            let (product, overflow) = Int(bigEndianWord(header, at: 8)).multipliedReportingOverflow(by: Int(bigEndianWord(header, at: 12)))
            guard !overflow else { return nil }
            itemBytes = product
        }
        let (payload, overflow) = count.multipliedReportingOverflow(by: itemBytes)
        guard !overflow, payload <= 1 << 36 else { return nil }
        return headerSize(kind) + payload
    }

    /// Parses an IDX image file's bytes (already decompressed). When `expectedRows`/`expectedColumns`
    /// are given, images of any other size are refused.
    /// The bytes are consumed: the pixels are the same buffer with the header cut off in place,
    /// so a 47 MB training set is never held twice.
    public static func parseImages(
        _ bytes: consuming [UInt8], path: String, expectedRows: Int? = 28, expectedColumns: Int? = 28
    ) throws -> Images {
        let headerSize = 16
        try checkHeader(bytes, path: path, kind: .images, headerSize: headerSize)
        let count = Int(bigEndianWord(bytes, at: 4))
        let rows = Int(bigEndianWord(bytes, at: 8))
        let columns = Int(bigEndianWord(bytes, at: 12))
        if let expectedRows, let expectedColumns, rows != expectedRows || columns != expectedColumns {
            throw DataError.badDimensions(
                path: path, rows: rows, columns: columns, expectedRows: expectedRows, expectedColumns: expectedColumns)
        }
        // Each factor is below 2^32, so the product cannot overflow Int64 unless all three are huge;
        // the multiplication is checked anyway.
        let (perImage, overflow1) = rows.multipliedReportingOverflow(by: columns)
        let (payload, overflow2) = count.multipliedReportingOverflow(by: perImage)
        let available = bytes.count - headerSize
        if overflow1 || overflow2 || payload > available {
            throw DataError.truncated(
                path: path, kind: .images, count: count, expectedBytes: overflow1 || overflow2 ? Int.max : payload,
                actualBytes: available)
        }
        if payload < available {
            throw DataError.trailingBytes(path: path, kind: .images, count: count, extraBytes: available - payload)
        }
        var pixels = bytes
        pixels.removeFirst(headerSize)
        return Images(count: count, rows: rows, columns: columns, pixels: pixels)
    }

    /// Parses an IDX label file's bytes (already decompressed); every label must lie in `0..<classCount`.
    public static func parseLabels(_ bytes: [UInt8], path: String, classCount: Int = 10) throws -> [UInt8] {
        let headerSize = 8
        try checkHeader(bytes, path: path, kind: .labels, headerSize: headerSize)
        let count = Int(bigEndianWord(bytes, at: 4))
        let available = bytes.count - headerSize
        if count > available {
            throw DataError.truncated(path: path, kind: .labels, count: count, expectedBytes: count, actualBytes: available)
        }
        if count < available {
            throw DataError.trailingBytes(path: path, kind: .labels, count: count, extraBytes: available - count)
        }
        let labels = Array(bytes[headerSize...])
        if let index = labels.firstIndex(where: { Int($0) >= classCount }) {
            throw DataError.labelOutOfRange(path: path, index: index, value: labels[index], classCount: classCount)
        }
        return labels
    }

    private static func checkHeader(_ bytes: [UInt8], path: String, kind: IDXKind, headerSize: Int) throws {
        if bytes.count >= 4 {
            let magic = bigEndianWord(bytes, at: 0)
            guard magic == kind.magic else {
                throw DataError.badMagic(path: path, found: magic, expected: kind.magic, kind: kind)
            }
        }
        guard bytes.count >= headerSize else {
            throw DataError.truncatedHeader(path: path, kind: kind, headerBytes: headerSize, actualBytes: bytes.count)
        }
    }

    private static func bigEndianWord(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
    }
}
