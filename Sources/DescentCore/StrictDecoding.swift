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
            throw ConfigError.from(error)
        }
    }

    /// The value at `key`, `nil` when absent or null.
    public func optional<T: Decodable>(_ key: String, as type: T.Type = T.self) throws -> T? {
        do {
            return try decodeIfPresent(T.self, forKey: AnyCodingKey(key))
        } catch {
            throw ConfigError.from(error)
        }
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
