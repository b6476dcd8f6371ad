import DescentConfig

/// Fuzz target: the YAML run configuration (Yams, then Descent's strict decoding and checks).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    if let config = try? RunConfig.parse(yaml: text) {
        _ = config.globalBatch(workers: 3)
    }
    return 0
}
