import DescentCore
import DescentProtocol

/// Fuzz target: the wire decoders a peer's bytes reach first (`WireHeader`, `WireMessage`). The first input byte chooses the
/// frame count and the payload size the header is checked against; the rest is the header frame,
/// and, for the message types that carry text or JSON, the payload (a hello's introduction, a
/// welcome's settings, a reject's or stop's reason). Any trap, crash or hang is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWire(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data, size > 0 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let selector = bytes[0]
    let rest = Array(bytes.dropFirst())
    let header = Array(rest.prefix(WireHeader.size))
    let payload = Array(rest.dropFirst(WireHeader.size))
    let frameCount = Int(selector & 0x03) + (selector & 0x80 != 0 ? 100 : 0)
    _ = try? WireHeader.checkFrameCount(frameCount)
    let payloadCount: Int? = selector & 0x04 != 0 ? nil : (selector & 0x08 != 0 ? payload.count : Int(selector) << 20)
    guard let decoded = try? WireHeader.decode(header, payloadByteCount: payloadCount) else { return 0 }
    // The coordinator's and worker's edge: header and text payload to one typed message.
    _ = payload.withUnsafeBytes { bytes in try? WireMessage.decode(decoded, text: decoded.dtype == .utf8 ? bytes : nil) }
    switch decoded.type {
    case .hello:
        if let introduction = try? WireText.decodeJSON(WorkerIntroduction.self, from: payload, in: .hello) {
            _ = introduction.host.sanitizedForDisplay()
        }
    case .welcome:
        _ = try? WireText.decodeJSON(RunSettings.self, from: payload, in: .welcome)
    case .reject, .stop:
        _ = payload.withUnsafeBytes { try? WireText.decodeText($0, in: decoded.type) }
    default:
        _ = try? WireHeader.decode(frames: [header, payload])
    }
    return 0
}
