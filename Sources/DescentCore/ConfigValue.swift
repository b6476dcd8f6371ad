/// Any value of a config document, read back only to quote it in an error message
/// (`expected an integer, got '1e3'`).
///
/// YAML decoders hand every scalar over as its text, so a scalar is quoted as written; decoders
/// that do not (JSON) give the number or boolean.
public indirect enum ConfigValue: Decodable, Sendable, Equatable, CustomStringConvertible {
    case scalar(String)
    case number(Double)
    case boolean(Bool)
    case list([ConfigValue])
    case mapping([(key: String, value: ConfigValue)])
    case empty

    public init(from decoder: any Decoder) throws {
        if let keyed = try? decoder.container(keyedBy: AnyCodingKey.self) {
            let keys = keyed.allKeys.sorted { $0.stringValue < $1.stringValue }
            self = .mapping(keys.map { ($0.stringValue, (try? keyed.decode(ConfigValue.self, forKey: $0)) ?? .empty) })
            return
        }
        if var unkeyed = try? decoder.unkeyedContainer() {
            var items: [ConfigValue] = []
            while !unkeyed.isAtEnd, items.count < 1000 {
                guard let item = try? unkeyed.decode(ConfigValue.self) else { break }
                items.append(item)
            }
            self = .list(items)
            return
        }
        let single = try decoder.singleValueContainer()
        if single.decodeNil() {
            self = .empty
        } else if let text = try? single.decode(String.self) {
            self = .scalar(text)
        } else if let flag = try? single.decode(Bool.self) {
            self = .boolean(flag)
        } else if let number = try? single.decode(Double.self) {
            self = .number(number)
        } else {
            self = .empty
        }
    }

    /// The value at `path` below this one (mapping keys and list indices), if there is one.
    public func value(at path: [any CodingKey]) -> ConfigValue? {
        guard let first = path.first else { return self }
        switch self {
        case .list(let items):
            guard let index = first.intValue, items.indices.contains(index) else { return nil }
            return items[index].value(at: Array(path.dropFirst()))
        case .mapping(let pairs):
            return pairs.first { $0.key == first.stringValue }?.value.value(at: Array(path.dropFirst()))
        default:
            return nil
        }
    }

    /// How an error message quotes it: `'1e3'`, `a list [1, 2]`, `a mapping {rate: 0.1}`, `nothing`.
    public var description: String {
        switch self {
        case .scalar(let text): return "'\(text)'"
        case .number(let x): return "'\(x)'"
        case .boolean(let flag): return "'\(flag)'"
        case .list: return "a list \(shortText)"
        case .mapping: return "a mapping \(shortText)"
        case .empty: return "nothing (an empty value)"
        }
    }

    /// The value in flow style, cut at 60 characters.
    var shortText: String {
        let text: String
        switch self {
        case .scalar(let s): text = s
        case .number(let x): text = "\(x)"
        case .boolean(let flag): text = "\(flag)"
        case .list(let items): text = "[" + items.map(\.shortText).joined(separator: ", ") + "]"
        case .mapping(let pairs): text = "{" + pairs.map { "\($0.key): \($0.value.shortText)" }.joined(separator: ", ") + "}"
        case .empty: text = "null"
        }
        return text.count > 60 ? String(text.prefix(57)) + "..." : text
    }

    public static func == (lhs: ConfigValue, rhs: ConfigValue) -> Bool {
        lhs.shortText == rhs.shortText && lhs.kind == rhs.kind
    }

    private var kind: Int {
        switch self {
        case .scalar: return 0
        case .number: return 1
        case .boolean: return 2
        case .list: return 3
        case .mapping: return 4
        case .empty: return 5
        }
    }
}
