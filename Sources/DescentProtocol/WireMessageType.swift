/// The kinds of message on the wire (header offset 6, u16). See docs/protocol.md for the flow.
public enum MessageType: UInt16, CaseIterable, Sendable, CustomStringConvertible {
    /// Worker -> coordinator: wants to join. b = config hash (0 = none), c = process id; payload UTF-8 JSON.
    case hello = 1
    /// Coordinator -> worker: accepted, with rank, run id, generation; b = world size; payload UTF-8 JSON settings.
    case welcome = 2
    /// Coordinator -> worker: refused; payload UTF-8 reason.
    case reject = 3
    /// Coordinator -> worker: compute step t; a = rate, b = epoch, c = batch index; payload float32 parameters.
    case step = 4
    /// Worker -> coordinator: the result of step t; a = loss sum, b = samples, c = correct; payload float32 mean gradient.
    case gradient = 5
    /// Either way: still alive. No payload.
    case heartbeat = 6
    /// Coordinator -> worker: training is over; payload UTF-8 reason.
    case stop = 7
    /// Coordinator -> unknown peer: not registered in this run and generation, say hello again. No payload.
    case registerAgain = 8
    /// Coordinator -> worker on the same host: compute step t; as `step`, but the parameters are in
    /// the run's shared-memory segment, not in a payload frame (count = parameters there).
    case stepShared = 9
    /// Worker on the same host -> coordinator: as `gradient`, but the gradient is in the worker's
    /// slot of the shared-memory segment (count = floats there).
    case gradientShared = 10

    public var description: String {
        switch self {
        case .hello: return "hello"
        case .welcome: return "welcome"
        case .reject: return "reject"
        case .step: return "step"
        case .gradient: return "gradient"
        case .heartbeat: return "heartbeat"
        case .stop: return "stop"
        case .registerAgain: return "register-again"
        case .stepShared: return "step (shared memory)"
        case .gradientShared: return "gradient (shared memory)"
        }
    }

    /// The payload this type carries: `.none` means no payload frame is allowed; any other dtype
    /// means a payload frame is required, with exactly that element type.
    public var payloadDType: WireDType {
        switch self {
        case .hello, .welcome, .reject, .stop: return .utf8
        case .step, .gradient: return .float32
        case .stepShared, .gradientShared: return .sharedFloat32
        case .heartbeat, .registerAgain: return .none
        }
    }

    /// Which of the header's general fields a, b, c this type uses; unused ones must be zero.
    var usedFields: (a: Bool, b: Bool, c: Bool) {
        switch self {
        case .step, .gradient, .stepShared, .gradientShared: return (true, true, true)
        case .hello: return (false, true, true)
        case .welcome: return (false, true, false)
        case .reject, .heartbeat, .stop, .registerAgain: return (false, false, false)
        }
    }
}

/// The element type of a payload (header offset 36, u8).
public enum WireDType: UInt8, Sendable, CustomStringConvertible {
    /// No payload.
    case none = 0
    /// Little-endian IEEE 754 binary32 values.
    case float32 = 1
    /// UTF-8 bytes (JSON or plain text); the element count is the byte count.
    case utf8 = 2
    /// Little-endian binary32 values held in the run's shared-memory segment; no payload frame.
    case sharedFloat32 = 3
    /// Little-endian bfloat16 values (the top 16 bits of a binary32, rounded to nearest even):
    /// steps and gradients of a run whose settings say `wireEncoding: bf16`.
    case bfloat16 = 4

    /// Bytes per element.
    public var elementSize: Int {
        switch self {
        case .none: return 0
        case .float32, .sharedFloat32: return 4
        case .bfloat16: return 2
        case .utf8: return 1
        }
    }

    public var description: String {
        switch self {
        case .none: return "none"
        case .float32: return "float32"
        case .utf8: return "utf8"
        case .sharedFloat32: return "float32 in shared memory"
        case .bfloat16: return "bfloat16"
        }
    }
}

extension MessageType {
    /// A step, with its parameters in a frame or in shared memory.
    public var isStep: Bool { self == .step || self == .stepShared }
    /// A gradient, in a frame or in shared memory.
    public var isGradient: Bool { self == .gradient || self == .gradientShared }
}
