import DescentCore
import Yams

/// YAML 1.1 reads a plain scalar like `1:30` as a base-60 number (90), and Yams computes it with
/// trapping arithmetic: `seed: 1:2:3:4:5:6:7:8:9:10:11:12` decoded as an integer overflowed and
/// killed the process (found by the FuzzConfig fuzzer), and `epochs: 1:30` silently meant 90.
/// Such scalars are refused before the config is decoded, naming the key that holds them.
enum BaseSixtyGuard {
    /// Throws a `ConfigError` for the first plain scalar in `yaml` that YAML would read as a
    /// base-60 number. Text that does not parse is left to the decoder, which says why.
    static func check(_ yaml: String) throws {
        guard yaml.contains(":"), let node = try? Yams.compose(yaml: yaml) else { return }
        try check(node, path: "")
    }

    private static func check(_ node: Node, path: String) throws {
        switch node {
        case .scalar(let scalar):
            if scalar.style == .plain, isBaseSixty(scalar.string) {
                throw ConfigError(key: path, "'\(scalar.string)' is a base-60 number in YAML (1:30 means 90), which Descent does not "
                                  + "accept: write the number in decimal, or quote it if it is text")
            }
        case .mapping(let mapping):
            for (key, value) in mapping {
                let name = key.string ?? "?"
                try check(value, path: path.isEmpty ? name : "\(path).\(name)")
            }
        case .sequence(let sequence):
            for (index, item) in sequence.enumerated() { try check(item, path: "\(path)[\(index)]") }
        default:
            break
        }
    }

    /// An optional sign, then digit groups joined by colons (underscores allowed, a decimal
    /// part allowed on the last group): what YAML 1.1 resolves as a sexagesimal int or float.
    static func isBaseSixty(_ text: String) -> Bool {
        var body = Substring(text)
        if body.first == "+" || body.first == "-" { body = body.dropFirst() }
        let groups = body.split(separator: ":", omittingEmptySubsequences: false)
        guard groups.count >= 2 else { return false }
        for (index, group) in groups.enumerated() {
            var digits = group
            if index == groups.count - 1, let dot = group.firstIndex(of: ".") { digits = group[..<dot] }
            guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "_") }), digits.first != "_" else { return false }
        }
        return true
    }
}
