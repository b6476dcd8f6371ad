import DescentCore

/// The bytes a process handed to and took from its ZeroMQ socket: every frame's size (header,
/// payload, and a ROUTER's routing-id frame excluded), counted as sent or received, and the steps
/// they served, for a bytes-per-step figure. ZeroMQ's own framing (2 to 9 bytes a frame) and
/// CURVE's (a 16-byte authenticator and a nonce per frame) come on top and are not counted.
public struct WireTraffic: Sendable, Equatable {
    public var sentBytes: UInt64 = 0
    public var receivedBytes: UInt64 = 0
    /// Steps whose floats went through the socket: at a coordinator, the (step, round) frames
    /// built; at a worker, the gradients sent.
    public var steps: UInt64 = 0

    public init() {}

    public mutating func sent(_ bytes: Int) { sentBytes &+= UInt64(bytes) }
    public mutating func received(_ bytes: Int) { receivedBytes &+= UInt64(bytes) }

    /// Bytes sent and received per step; nil before any step.
    public var perStep: (sent: Double, received: Double)? {
        steps == 0 ? nil : (Double(sentBytes) / Double(steps), Double(receivedBytes) / Double(steps))
    }

    /// The end-of-run line: `Wire (bf16): 103,104 bytes sent and 103,204 received per step over 1,500 steps (...)`.
    /// The "Wire (" prefix and the `wire_bytes_per_step_sent=` fields are what `descent bench distributed` reads.
    public func summary(encoding: WireEncoding) -> String? {
        guard let perStep else { return nil }
        return "Wire (\(encoding)): \(Self.grouped(perStep.sent)) bytes sent and \(Self.grouped(perStep.received)) received per step "
            + "over \(steps) steps (\(sentBytes) and \(receivedBytes) bytes in all; "
            + "wire_bytes_per_step_sent=\(Int(perStep.sent.rounded())) wire_bytes_per_step_received=\(Int(perStep.received.rounded())))"
    }

    static func grouped(_ value: Double) -> String {
        let digits = String(Int(value.rounded()))
        var out = ""
        for (index, character) in digits.reversed().enumerated() {
            if index > 0 && index % 3 == 0 { out.append(",") }
            out.append(character)
        }
        return String(out.reversed())
    }
}
