import DescentCore
import Foundation
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
            if scalar.style == .plain || scalar.style == .any, isBaseSixty(scalar.string) {
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

    /// What Yams computes as a base-60 number when the scalar is read as one: without its
    /// underscores and one leading sign, groups joined by colons that each parse as an integer
    /// (each may carry its own sign: `1:+12`) or each as a floating-point number (`1:30.5`).
    static func isBaseSixty(_ text: String) -> Bool {
        var body = text.replacingOccurrences(of: "_", with: "")
        if body.hasPrefix("-") || body.hasPrefix("+") { body.removeFirst() }
        let groups = body.split(separator: ":", omittingEmptySubsequences: false)
        guard groups.count >= 2 else { return false }
        return groups.allSatisfy { Int($0, radix: 10) != nil } || groups.allSatisfy { Double($0) != nil }
    }
}
