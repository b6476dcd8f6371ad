import Foundation

/// UTF-8 payloads: JSON for hello and welcome, plain text reasons for reject and stop.
public enum WireText {
    /// Decodes a JSON payload of a `messageType` message as `T`, or throws `WireError.invalidJSON`
    /// with the decoder's reason.
    public static func decodeJSON<T: Decodable>(
        _ valueType: T.Type, from bytes: UnsafeRawBufferPointer, in messageType: MessageType
    ) throws(WireError) -> T {
        do {
            return try JSONDecoder().decode(valueType, from: Data(bytes))
        } catch let error as DecodingError {
            throw WireError.invalidJSON(type: messageType, reason: describe(error))
        } catch {
            throw WireError.invalidJSON(type: messageType, reason: "\(error)")
        }
    }

    /// `decodeJSON` for a payload held in an array.
    public static func decodeJSON<T: Decodable>(_ valueType: T.Type, from bytes: [UInt8], in messageType: MessageType) throws(WireError) -> T {
        let result: Result<T, WireError> = bytes.withUnsafeBytes { raw in
            Result { () throws(WireError) -> T in try decodeJSON(valueType, from: raw, in: messageType) }
        }
        return try result.get()
    }

    /// The JSON bytes of `value` (keys sorted, so equal values give equal bytes).
    public static func encodeJSON<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(value))
    }

    /// Decodes a UTF-8 text payload (a reject or stop reason), or throws `WireError.invalidUTF8`.
    public static func decodeText(_ bytes: UnsafeRawBufferPointer, in messageType: MessageType) throws(WireError) -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else { throw WireError.invalidUTF8(type: messageType) }
        return text
    }

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, let context):
            return "missing key '\(path(context.codingPath + [key]))'"
        case .typeMismatch(let type, let context):
            return "'\(path(context.codingPath))' is not \(type): \(context.debugDescription)"
        case .valueNotFound(let type, let context):
            return "'\(path(context.codingPath))' has no \(type) value"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? context.debugDescription : "'\(path(context.codingPath))': \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
}
