import DescentCore

/// Why a received message was refused. Every case names the problem in its description; the
/// receiver logs it, counts it, and never applies the message.
public enum WireError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A message must be 1 frame (header) or 2 (header, payload), after any routing id.
    case wrongFrameCount(Int)
    /// The header frame is not exactly `WireHeader.size` bytes.
    case wrongHeaderSize(Int)
    /// The first four bytes are not "DSNT".
    case badMagic(UInt32)
    /// A protocol version this build does not speak.
    case unsupportedVersion(UInt16)
    /// A message type number that is not in `MessageType`.
    case unknownType(UInt16)
    /// Byte 37 must be zero.
    case reservedBytesNotZero
    /// The dtype byte is not the one `type` requires.
    case wrongDType(type: MessageType, dtype: UInt8)
    /// A header field that `type` does not use (named "a", "b" or "c") is not zero.
    case unusedFieldNotZero(type: MessageType, field: String)
    /// The payload's byte count is not `count` times the element size.
    case payloadSizeMismatch(type: MessageType, count: UInt32, byteCount: Int)
    /// A bfloat16 payload's byte count is not twice the header's count.
    case bfloat16PayloadSizeMismatch(type: MessageType, count: UInt32, byteCount: Int)
    /// A step or gradient whose floats are not in the run's wire encoding (`RunSettings.wireEncoding`).
    case wrongEncoding(type: MessageType, expected: WireEncoding, got: WireEncoding)
    /// A payload frame came with a type that allows none.
    case unexpectedPayload(type: MessageType, byteCount: Int)
    /// No payload frame came with a type that requires one.
    case missingPayload(type: MessageType)
    /// A step header whose rate is NaN or infinite.
    case nonFiniteRate
    /// A gradient header whose loss sum is NaN or infinite.
    case nonFiniteLoss
    /// The element count differs from the parameter count of the model in use.
    case elementCountMismatch(type: MessageType, expected: Int, actual: UInt32)
    /// A float payload holds NaN or an infinity, first at `index`.
    case nonFinitePayload(index: Int)
    /// A JSON payload that does not decode as the expected value.
    case invalidJSON(type: MessageType, reason: String)
    /// A text payload that is not valid UTF-8.
    case invalidUTF8(type: MessageType)
    /// A header field holds a value no sender of this protocol writes.
    case fieldOutOfRange(type: MessageType, field: String)

    public var description: String {
        switch self {
        case .wrongFrameCount(let count):
            return "wire: expected 1 or 2 frames (header, optional payload), got \(count)"
        case .wrongHeaderSize(let size):
            return "wire: header frame is \(size) bytes, expected \(WireHeader.size)"
        case .badMagic(let magic):
            return "wire: bad magic 0x\(String(magic, radix: 16, uppercase: true)), expected 0x544E5344 (\"DSNT\")"
        case .unsupportedVersion(let version):
            return "wire: unsupported protocol version \(version), this build speaks \(WireHeader.protocolVersion)"
        case .unknownType(let type):
            return "wire: unknown message type \(type)"
        case .reservedBytesNotZero:
            return "wire: reserved header bytes 37...39 are not zero"
        case .wrongDType(let type, let dtype):
            return "wire: \(type) needs dtype \(type.payloadDType.rawValue) (\(type.payloadDType)), got \(dtype)"
        case .unusedFieldNotZero(let type, let field):
            return "wire: \(type) does not use header field \(field), but it is not zero"
        case .payloadSizeMismatch(let type, let count, let byteCount):
            let size = type.payloadDType.elementSize
            return "wire: \(type) header announces \(count) \(type.payloadDType) elements (\(Int(count) * size) bytes) but the payload has \(byteCount) bytes"
        case let .bfloat16PayloadSizeMismatch(type, count, byteCount):
            return "wire: \(type) header announces \(count) bfloat16 elements (\(Int(count) * 2) bytes) but the payload has \(byteCount) bytes"
        case let .wrongEncoding(type, expected, got):
            return "wire: \(type) carries \(got) values, but this run's wire encoding is \(expected) (--wire-encoding / training.wire_encoding); "
                + "every process must run the same Descent version, and the worker takes the encoding from the coordinator"
        case .unexpectedPayload(let type, let byteCount):
            return "wire: \(type) takes no payload, got a payload frame of \(byteCount) bytes"
        case .missingPayload(let type):
            return "wire: \(type) requires a payload frame, none came"
        case .nonFiniteRate:
            return "wire: step header has a NaN or infinite rate"
        case .nonFiniteLoss:
            return "wire: gradient header has a NaN or infinite loss sum"
        case .elementCountMismatch(let type, let expected, let actual):
            return "wire: \(type) carries \(actual) elements, the model has \(expected) parameters"
        case .nonFinitePayload(let index):
            return "wire: float payload holds NaN or infinity (first at element \(index))"
        case .invalidJSON(let type, let reason):
            return "wire: \(type) JSON payload is invalid: \(reason)"
        case .invalidUTF8(let type):
            return "wire: \(type) text payload is not valid UTF-8"
        case let .fieldOutOfRange(type, field):
            return "\(type) message: \(field) out of range"
        }
    }
}
