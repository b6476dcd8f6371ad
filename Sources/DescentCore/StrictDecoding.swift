/// A coding key made from any string, used to decode config sections whose keys are checked
/// against an allow-list, so a misspelt key is an error instead of a silently ignored line.
public struct AnyCodingKey: CodingKey, Hashable, ExpressibleByStringLiteral, Sendable {
    public var stringValue: String
    public var intValue: Int?

    public init(_ string: String) { stringValue = string }
    public init(stringLiteral value: String) { stringValue = value }
    public init?(stringValue: String) { self.stringValue = stringValue }
    public init?(intValue: Int) {
        stringValue = String(intValue)
        self.intValue = intValue
    }
}

extension Decoder {
    /// A keyed container that throws a `ConfigError` naming the first key not in `allowed`.
    public func strictContainer(allowing allowed: [String]) throws -> KeyedDecodingContainer<AnyCodingKey> {
        let container = try container(keyedBy: AnyCodingKey.self)
        let known = Set(allowed)
        for key in container.allKeys.sorted(by: { $0.stringValue < $1.stringValue }) where !known.contains(key.stringValue) {
            let suggestion = allowed.sorted().joined(separator: ", ")
            throw ConfigError(path: codingPath + [key], "unknown key (allowed here: \(suggestion))")
        }
        return container
    }
}

extension KeyedDecodingContainer where Key == AnyCodingKey {
    /// The value at `key`, or a `ConfigError` naming the key when it is missing or of the wrong type.
    public func required<T: Decodable>(_ key: String, as type: T.Type = T.self) throws -> T {
        do {
            return try decode(T.self, forKey: AnyCodingKey(key))
        } catch {
            throw configError(error, readingKey: key, as: T.self)
        }
    }

    /// The value at `key`, `nil` when absent or null.
    public func optional<T: Decodable>(_ key: String, as type: T.Type = T.self) throws -> T? {
        do {
            return try decodeIfPresent(T.self, forKey: AnyCodingKey(key))
        } catch {
            throw configError(error, readingKey: key, as: T.self)
        }
    }

    /// `error` as a `ConfigError`; a type mismatch quotes the value found, read again from `key`:
    /// `config key 'schedule.decay_steps': expected an integer, got '1e3'`.
    func configError(_ error: any Error, readingKey key: String, as requested: Any.Type) -> any Error {
        guard case DecodingError.typeMismatch(let type, let context) = error else { return ConfigError.from(error) }
        guard let found = try? decode(ConfigValue.self, forKey: AnyCodingKey(key)) else { return ConfigError.from(error) }
        // The mismatch may sit below the key (an entry of a list): find that entry.
        var below = Array(context.codingPath.dropFirst(codingPath.count))
        if below.first?.stringValue == key { below.removeFirst() }
        let value = found.value(at: below) ?? found
        let path = context.codingPath.count > codingPath.count ? context.codingPath : codingPath + [AnyCodingKey(key)]
        // Some decoders name the kind of node they wanted (a YAML scalar) rather than the type: name the type asked for.
        let named = ConfigError.describe(requested) != "\(requested)"
        let expected = below.isEmpty && named ? requested : type
        var message = "expected \(ConfigError.describe(expected)), got \(value)"
        if expected is Int.Type, case .scalar(let text) = value, let number = Double(text), number == number.rounded(), abs(number) < 1e15 {
            message += "; write it as \(Int64(number)): an integer takes no exponent or decimal point"
        }
        return ConfigError(path: path, message)
    }

    /// The value at `key`, or `fallback` when absent.
    public func value<T: Decodable>(_ key: String, default fallback: T) throws -> T {
        try optional(key, as: T.self) ?? fallback
    }

    /// A `ConfigError` for the value at `key` of this container.
    public func invalid(_ key: String, _ message: String) -> ConfigError {
        ConfigError(path: codingPath + [AnyCodingKey(key)], message)
    }
}
