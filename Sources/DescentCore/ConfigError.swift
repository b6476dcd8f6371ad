/// A configuration value that Descent refuses, with the dotted key it was read from.
///
/// The description reads like `config key 'schedule.decay_steps': must be a positive integer (got 0)`,
/// so the user knows which line of which file to change.
public struct ConfigError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The dotted path of the key, e.g. `schedule.decay_steps`; empty for the whole document.
    public var key: String
    public var message: String

    public init(key: String, _ message: String) {
        self.key = key
        self.message = message
    }

    public init(path: [any CodingKey], _ message: String) {
        self.init(key: ConfigError.dotted(path), message)
    }

    public var description: String {
        key.isEmpty ? "config: \(message)" : "config key '\(key)': \(message)"
    }

    /// `[training, batch_size]` -> `training.batch_size`; array indices as `[2]`.
    public static func dotted(_ path: [any CodingKey]) -> String {
        var text = ""
        for key in path {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += text.isEmpty ? key.stringValue : "." + key.stringValue
            }
        }
        return text
    }

    /// Turns Swift's `DecodingError` into a message that names the key and says what was expected.
    public static func from(_ error: any Error) -> any Error {
        guard let decoding = error as? DecodingError else { return error }
        switch decoding {
        case .keyNotFound(let key, let context):
            return ConfigError(path: context.codingPath + [key], "is required but missing")
        case .typeMismatch(let type, let context):
            return ConfigError(path: context.codingPath, "expected \(ConfigError.describe(type)) (\(context.debugDescription))")
        case .valueNotFound(let type, let context):
            return ConfigError(path: context.codingPath, "expected \(ConfigError.describe(type)) but found nothing")
        case .dataCorrupted(let context):
            if let underlying = context.underlyingError as? ConfigError { return underlying }
            return ConfigError(path: context.codingPath, context.debugDescription)
        @unknown default:
            return error
        }
    }

    /// What a value of `type` is called in a message: `an integer`, `a number`, `a mapping of keys`.
    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type, is Int64.Type, is UInt64.Type: return "an integer"
        case is Double.Type, is Float.Type: return "a number"
        case is String.Type: return "a string"
        case is Bool.Type: return "true or false"
        default:
            let name = "\(type)"
            if name.contains("Mapping") || name.contains("Dictionary") || name.contains("Keyed") { return "a mapping of keys" }
            if name.contains("Sequence") || name.contains("Array") || name.contains("Unkeyed") { return "a list" }
            return name
        }
    }
}
