/// How parameters and gradients travel in ZeroMQ frames between a coordinator and its workers.
///
/// `float32` sends the model's own floats (the default: a run then equals one process bit for
/// bit). `bf16` sends each float rounded to bfloat16 (round to nearest, ties to even: the top 16
/// bits of a float32, half the bytes), and both ends compute and accumulate in float32: the
/// coordinator keeps float32 parameters and averages decoded gradients in float32, a worker
/// computes in float32 on the decoded parameters and keeps the rounding error of each gradient to
/// add to its next one (error feedback). Shared memory between processes of one host always
/// carries float32: there is no wire to save there.
public enum WireEncoding: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case float32
    case bf16

    public static let `default`: WireEncoding = .float32

    /// Bytes of one value on the wire.
    public var bytesPerValue: Int { self == .float32 ? 4 : 2 }

    public var description: String { rawValue }

    /// The accepted spellings, for error messages: "float32, bf16".
    public static var choices: String { allCases.map(\.rawValue).joined(separator: ", ") }
}
