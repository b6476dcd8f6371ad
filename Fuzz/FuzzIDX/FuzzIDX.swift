import DescentData

/// Fuzz target: MNIST files as they are read from disk: gzip (bounded by what the IDX header
/// declares) and the IDX image and label parsers. The first byte says which parser.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIDX(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data, size > 0 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let kind: IDXKind = data[0] & 1 == 0 ? .images : .labels
    var content = bytes
    if Gzip.isGzip(bytes) {
        guard let header = try? Gzip.prefix(bytes, count: IDX.headerSize(kind), path: "fuzz") else { return 0 }
        let limit = min(IDX.declaredSize(header, kind: kind, maxCount: 1 << 16) ?? IDX.headerSize(kind) + 1, 1 << 22)
        guard let inflated = try? Gzip.decompress(bytes, path: "fuzz", maxBytes: limit) else { return 0 }
        content = inflated
    }
    if kind == .images {
        _ = try? IDX.parseImages(content, path: "fuzz", expectedRows: data[0] & 2 == 0 ? 28 : nil, expectedColumns: data[0] & 2 == 0 ? 28 : nil)
    } else {
        _ = try? IDX.parseLabels(content, path: "fuzz", classCount: 10)
    }
    return 0
}
