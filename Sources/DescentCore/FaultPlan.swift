/// Deterministic fault injection, a testing tool for users and tests (like ps-lite's
/// `PS_DROP_MSG`, but seeded and exact): what a process does wrong, and when.
///
/// A plan is parsed from `--fault` specs, each `KIND:KEY=VALUE[,KEY=VALUE]`:
/// - `exit:step=N` — the process exits (status 70) when it reaches step N;
/// - `hang:step=N` — it stops doing anything at step N (alive, silent: a stuck process);
/// - `drop:p=P[,seed=S]` — each step's outgoing message (a gradient, or a step order) is dropped with probability P;
/// - `delay:ms=M[,step=N]` — it waits M ms before each message (from step N on): a slow worker.
public struct FaultPlan: Sendable {
    public enum Fault: Sendable, Equatable {
        case exit(step: Int)
        case hang(step: Int)
        case drop(probability: Double, seed: UInt64)
        case delay(seconds: Double, fromStep: Int)
    }

    /// What to do about one step's outgoing message.
    public enum Action: Sendable, Equatable {
        case proceed
        case exit
        case hang
        case drop
        case delay(seconds: Double)
    }

    public let faults: [Fault]
    private var generators: [SeededGenerator]

    public init(_ faults: [Fault] = []) {
        self.faults = faults
        generators = faults.map {
            if case .drop(_, let seed) = $0 { return SeededGenerator(seed: seed) }
            return SeededGenerator(seed: 0)
        }
    }

    public var isEmpty: Bool { faults.isEmpty }

    /// Parses `--fault` specs; throws a message naming the bad one.
    public static func parse(_ specs: [String]) throws -> FaultPlan {
        try FaultPlan(specs.map(parseOne))
    }

    private static func parseOne(_ spec: String) throws -> Fault {
        let parts = spec.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { throw FaultSpecError(spec: spec, problem: "expected KIND:KEY=VALUE (e.g. exit:step=100)") }
        var values: [String: String] = [:]
        for pair in parts[1].split(separator: ",") {
            let kv = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2 else { throw FaultSpecError(spec: spec, problem: "'\(pair)' is not KEY=VALUE") }
            values[kv[0]] = kv[1]
        }
        func int(_ key: String, default fallback: Int? = nil) throws -> Int {
            guard let text = values[key] else {
                if let fallback { return fallback }
                throw FaultSpecError(spec: spec, problem: "needs \(key)=N")
            }
            guard let value = Int(text), value >= 0 else { throw FaultSpecError(spec: spec, problem: "\(key) must be a whole number >= 0 (got '\(text)')") }
            return value
        }
        switch parts[0] {
        case "exit": return .exit(step: try int("step"))
        case "hang": return .hang(step: try int("step"))
        case "drop":
            guard let text = values["p"], let p = Double(text), p.isFinite, (0...1).contains(p) else {
                throw FaultSpecError(spec: spec, problem: "needs p=PROBABILITY between 0 and 1")
            }
            return .drop(probability: p, seed: UInt64(try int("seed", default: 1)))
        case "delay":
            guard let text = values["ms"], let ms = Double(text), ms.isFinite, (0...600_000).contains(ms) else {
                throw FaultSpecError(spec: spec, problem: "needs ms=MILLISECONDS between 0 and 600000")
            }
            return .delay(seconds: ms / 1000, fromStep: try int("step", default: 0))
        default:
            throw FaultSpecError(spec: spec, problem: "unknown kind '\(parts[0])'; use exit, hang, drop or delay")
        }
    }

    /// The action for the outgoing message of `step` (draws the seeded dice once per call).
    public mutating func action(step: Int) -> Action {
        var result = Action.proceed
        for index in faults.indices {
            switch faults[index] {
            case .exit(let at) where step >= at: return .exit
            case .hang(let at) where step >= at: return .hang
            case .drop(let p, _):
                let draw = Double(generators[index].next() >> 11) / Double(1 << 53)
                if draw < p { result = .drop }
            case .delay(let seconds, let from) where step >= from && result == .proceed:
                result = .delay(seconds: seconds)
            default:
                break
            }
        }
        return result
    }
}

/// A `--fault` spec that does not parse.
public struct FaultSpecError: Error, CustomStringConvertible {
    public var spec: String
    public var problem: String
    public var description: String { "--fault '\(spec)': \(problem)" }
}
