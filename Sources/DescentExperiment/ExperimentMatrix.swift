import DescentCore
import Foundation
import Yams

/// How an experiment's files, tables and progress lines name a synchronisation mode.
extension SyncMode {
    /// The config's `training.sync` value.
    public var configName: String {
        switch self {
        case .sync: "sync"
        case .async: "async"
        case .bounded: "bounded"
        }
    }

    /// The bound `k` of `bounded`, nil otherwise.
    public var staleness: Int? {
        if case .bounded(let k) = self { return k }
        return nil
    }

    /// As a progress line and the Markdown table say it: `sync`, `async`, `bounded k=2`.
    public var label: String {
        switch self {
        case .sync, .async: configName
        case .bounded(let k): "bounded k=\(k)"
        }
    }

    /// As a file name says it: `sync`, `async`, `bounded2`.
    public var slug: String {
        switch self {
        case .sync, .async: configName
        case .bounded(let k): "bounded\(k)"
        }
    }
}

/// One named schedule of an experiment: the `schedule:` section every run with it gets.
public struct NamedSchedule: Equatable {
    public var name: String
    /// The section as a YAML node (a mapping); nil keeps the base config's own schedule.
    public var section: Node?

    public init(name: String, section: Node?) {
        self.name = name
        self.section = section
    }
}

/// An experiment file read and checked: a base config, the schedules, worker counts, sync modes
/// and seeds to cross, and the overrides every run gets. Every value is checked here, before any
/// run starts; `ExperimentPlan` expands it into runs.
///
/// ```yaml
/// base: ../mnist-seed.yaml             # a config file (relative to this file) or an inline mapping
/// schedules:
///   - name: exponential
///     from: ../schedules/exponential.yaml   # that file's schedule: section
///   - name: constant
///     schedule: {type: constant, rate: 0.05}
/// workers: [1, 2, 4]
/// sync: [sync, bounded:2, async]       # or {mode: bounded, staleness: 2}
/// seeds: [42]
/// epochs: 1                            # optional overrides of every run
/// train_limit: 1000
/// ```
public struct ExperimentMatrix: Equatable {
    /// The file it was read from ("" when parsed from text).
    public var path: String
    /// The base config, a YAML mapping.
    public var base: Node
    public var schedules: [NamedSchedule]
    public var workers: [Int]
    public var modes: [SyncMode]
    public var seeds: [UInt64]
    /// `training.epochs` of every run, when given.
    public var epochs: Int?
    /// `data.train_limit` of every run, when given (`.some(nil)`: all images).
    public var trainLimit: Int??
    /// `data.train_repeat` of every run, when given.
    public var trainRepeat: Int?
    /// `--max-steps` of every run, when given.
    public var maxSteps: Int?

    static let topLevelKeys = ["description", "base", "schedules", "workers", "sync", "seeds",
                               "epochs", "train_limit", "train_repeat", "max_steps"]
    /// The product of the lists' lengths, `Int.max` where it would overflow (lists long enough
    /// for that are refused by the run cap, with an error rather than an arithmetic trap).
    static func runCount(_ counts: [Int]) -> Int {
        counts.reduce(1) { product, count in
            let (next, overflow) = product.multipliedReportingOverflow(by: count)
            return overflow ? .max : next
        }
    }

    /// The largest worker count `launch` accepts.
    public static let maximumWorkers = RunLimits.workers
    /// The most runs one file may ask for (a typo like `seeds: [1..1000]` should not start a week of runs).
    public static let maximumRuns = 1_000

    /// Reads and checks the experiment file at `path`; relative paths inside it are taken from its directory.
    public static func load(path: String) throws(ExperimentError) -> ExperimentMatrix {
        let text: String
        do { text = try FileReading.text(of: path, maxBytes: 1 << 20) } catch {
            throw ExperimentError(file: path, key: "", "cannot be read: \(error.problem). Pass the path of an experiment YAML file (see Config/experiments/).")
        }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        return try parse(yaml: text, path: path, directory: directory)
    }

    /// Parses and checks experiment YAML; `directory` resolves relative `base:` and `from:` paths.
    public static func parse(yaml: String, path: String = "", directory: String) throws(ExperimentError) -> ExperimentMatrix {
        let reader = Reader(file: path, directory: directory)
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: yaml) else { throw reader.error("", "is empty; it needs at least schedules, workers, sync and seeds (see Config/experiments/)") }
            root = node
        } catch let error as ExperimentError {
            throw error
        } catch {
            throw reader.error("", "is not valid YAML: \(error)")
        }
        return try reader.matrix(root)
    }
}

/// A problem with an experiment file: the file, the key and what to do.
public struct ExperimentError: Error, CustomStringConvertible, Equatable, Sendable {
    public var file: String
    public var key: String
    public var message: String

    public init(file: String, key: String, _ message: String) {
        self.file = file
        self.key = key
        self.message = message
    }

    public var description: String {
        let place = file.isEmpty ? "experiment" : "experiment \(file)"
        return key.isEmpty ? "\(place): \(message)" : "\(place): key '\(key)': \(message)"
    }
}

/// Walks the node tree of an experiment file, naming the key of every problem.
private struct Reader {
    var file: String
    var directory: String

    func error(_ key: String, _ message: String) -> ExperimentError { ExperimentError(file: file, key: key, message) }

    func matrix(_ root: Node) throws(ExperimentError) -> ExperimentMatrix {
        guard let mapping = root.mapping else {
            throw error("", "must be a mapping of keys (base, schedules, workers, sync, seeds), got \(Self.quote(root))")
        }
        var values: [String: Node] = [:]
        for (keyNode, value) in mapping {
            guard let key = keyNode.scalar?.string else { throw error("", "has a key that is not a plain name: \(Self.quote(keyNode))") }
            guard ExperimentMatrix.topLevelKeys.contains(key) else {
                throw error(key, "is not a key of an experiment; the keys are \(ExperimentMatrix.topLevelKeys.joined(separator: ", "))")
            }
            guard values[key] == nil else { throw error(key, "is given twice") }
            values[key] = value
        }
        let base = try baseConfig(values["base"])
        let schedules = try namedSchedules(values["schedules"])
        let workers = try list("workers", values["workers"], example: "[1, 2, 4]") { (node, key) throws(ExperimentError) in
            let count = try integer(key, node)
            guard (1...ExperimentMatrix.maximumWorkers).contains(count) else {
                throw error(key, "must be a worker count from 1 to \(ExperimentMatrix.maximumWorkers) (got \(count))")
            }
            return count
        }
        let modes = try list("sync", values["sync"], example: "[sync, bounded:2, async]", element: syncMode)
        let seeds = try list("seeds", values["seeds"], example: "[42, 43]") { (node, key) throws(ExperimentError) in
            let seed = try integer(key, node)
            guard seed >= 0 else { throw error(key, "must be a non-negative integer (got \(seed))") }
            return UInt64(seed)
        }
        try unique("workers", workers)
        try unique("sync", modes)
        try unique("seeds", seeds)
        var matrix = ExperimentMatrix(path: file, base: base, schedules: schedules, workers: workers, modes: modes, seeds: seeds)
        if let node = values["epochs"] {
            let epochs = try integer("epochs", node)
            guard epochs >= 1 else { throw error("epochs", "must be 1 or more (got \(epochs))") }
            matrix.epochs = epochs
        }
        if let node = values["train_limit"] {
            if node.null != nil {
                matrix.trainLimit = .some(nil)
            } else {
                let limit = try integer("train_limit", node)
                guard limit >= 1 else { throw error("train_limit", "must be a positive number of images, or null for all (got \(limit))") }
                matrix.trainLimit = limit
            }
        }
        if let node = values["train_repeat"] {
            let repeats = try integer("train_repeat", node)
            guard repeats >= 1 else { throw error("train_repeat", "must be 1 or more (got \(repeats))") }
            matrix.trainRepeat = repeats
        }
        if let node = values["max_steps"] {
            let steps = try integer("max_steps", node)
            guard steps >= 1 else { throw error("max_steps", "must be 1 or more (got \(steps))") }
            matrix.maxSteps = steps
        }
        let runs = ExperimentMatrix.runCount([schedules.count, workers.count, modes.count, seeds.count])
        guard runs <= ExperimentMatrix.maximumRuns else {
            throw error("", "asks for \(runs == .max ? "more than \(Int.max)" : "\(runs)") runs (\(schedules.count) schedules x \(workers.count) worker counts x \(modes.count) sync modes x \(seeds.count) seeds); at most \(ExperimentMatrix.maximumRuns) in one file: split it")
        }
        return matrix
    }

    /// `base:` a path (relative to the experiment file) or an inline mapping; absent: the defaults.
    func baseConfig(_ node: Node?) throws(ExperimentError) -> Node {
        guard let node else { return Node([(Node, Node)]()) }
        if node.mapping != nil { return node }
        guard let path = node.scalar?.string, node.null == nil, !path.isEmpty else {
            throw error("base", "must be the path of a config file or a mapping of config keys, got \(Self.quote(node))")
        }
        let document = try configFile("base", path)
        return document
    }

    /// The root mapping of the config file at `path` (relative to the experiment file).
    func configFile(_ key: String, _ path: String) throws(ExperimentError) -> Node {
        let resolved = resolve(path)
        let text: String
        do { text = try FileReading.text(of: resolved, maxBytes: 1 << 20) } catch {
            throw self.error(key, "config file '\(path)' (\(resolved)) cannot be read: \(error.problem); paths are relative to the experiment file")
        }
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch {
            throw self.error(key, "config file '\(path)' is not valid YAML: \(error)")
        }
        guard let node, node.mapping != nil else {
            throw self.error(key, "config file '\(path)' is not a mapping of config keys")
        }
        return node
    }

    func resolve(_ path: String) -> String {
        if path.hasPrefix("/") || directory.isEmpty { return path }
        return URL(fileURLWithPath: directory).appendingPathComponent(path).standardizedFileURL.path
    }

    func namedSchedules(_ node: Node?) throws(ExperimentError) -> [NamedSchedule] {
        let schedules = try list("schedules", node, example: "[{name: exponential, from: ../schedules/exponential.yaml}]") { (item, key) throws(ExperimentError) in
            guard let mapping = item.mapping else {
                throw error(key, "must be a mapping with a name and a schedule: or from:, got \(Self.quote(item))")
            }
            var name: String?
            var section: Node?
            var from: String?
            for (keyNode, value) in mapping {
                let field = keyNode.scalar?.string ?? ""
                switch field {
                case "name":
                    guard let text = value.scalar?.string, value.null == nil else { throw error("\(key).name", "must be a name, got \(Self.quote(value))") }
                    name = text
                case "schedule":
                    guard value.mapping != nil else {
                        throw error("\(key).schedule", "must be a mapping of schedule keys as in Config/schedules/*.yaml, e.g. {type: constant, rate: 0.05}; got \(Self.quote(value))")
                    }
                    section = value
                case "from":
                    guard let text = value.scalar?.string, value.null == nil, !text.isEmpty else {
                        throw error("\(key).from", "must be the path of a config file whose schedule: section to use, got \(Self.quote(value))")
                    }
                    from = text
                default:
                    throw error("\(key).\(field)", "is not a key of a schedule entry; give name and one of schedule (inline) or from (a config file)")
                }
            }
            guard let name else { throw error("\(key).name", "is required: every schedule is named (it names the runs)") }
            guard Self.isPlainName(name) else {
                throw error("\(key).name", "'\(name.sanitizedForDisplay())' must be 1 to 40 letters, digits, '-', '_' or '.' (it becomes part of directory names)")
            }
            if section != nil && from != nil { throw error(key, "give schedule (inline) or from (a config file), not both") }
            if let from {
                let document = try configFile("\(key).from", from)
                guard let found = Self.value(document, "schedule"), found.mapping != nil else {
                    throw error("\(key).from", "config file '\(from)' has no schedule: section")
                }
                section = found
            }
            return NamedSchedule(name: name, section: section)
        }
        try unique("schedules", schedules.map(\.name), what: "name")
        return schedules
    }

    /// `sync`, `async`, `bounded:K`, or `{mode: bounded, staleness: K}`.
    func syncMode(_ node: Node, _ key: String) throws(ExperimentError) -> SyncMode {
        let hint = "sync, async, bounded:K (K = the staleness bound, e.g. bounded:2) or {mode: bounded, staleness: K}"
        var mode: String?
        var staleness: Node?
        if let mapping = node.mapping {
            for (keyNode, value) in mapping {
                switch keyNode.scalar?.string ?? "" {
                case "mode":
                    guard let text = value.scalar?.string else { throw error("\(key).mode", "must be one of \(hint)") }
                    mode = text
                case "staleness": staleness = value
                default: throw error("\(key).\(keyNode.scalar?.string ?? "?")", "is not a key of a sync mode; give mode and, for bounded, staleness")
                }
            }
            guard mode != nil else { throw error("\(key).mode", "is required; one of sync, async, bounded") }
        } else if let text = node.scalar?.string, node.null == nil {
            let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            mode = parts[0]
            if parts.count == 2 { staleness = Node(parts[1]) }
        } else {
            throw error(key, "must be one of \(hint), got \(Self.quote(node))")
        }
        switch mode {
        case "sync", "async":
            if staleness != nil { throw error(key, "\(mode!) takes no staleness bound; only bounded does (bounded:K)") }
            return mode == "sync" ? .sync : .async
        case "bounded":
            guard let staleness else { throw error(key, "bounded needs its staleness bound K: bounded:2 or {mode: bounded, staleness: 2}") }
            let k = try integer("\(key).staleness", staleness)
            guard (0...SyncMode.largestStaleness).contains(k) else {
                throw error("\(key).staleness", "must be from 0 to \(SyncMode.largestStaleness) steps (got \(k))")
            }
            return .bounded(staleness: k)
        default:
            throw error(key, "'\((mode ?? "").sanitizedForDisplay())' is not a sync mode; use \(hint)")
        }
    }

    /// A non-empty list under `name`, each element read by `element` (given the element's key, e.g. `workers[1]`).
    func list<T>(_ name: String, _ node: Node?, example: String,
                 element: (Node, String) throws(ExperimentError) -> T) throws(ExperimentError) -> [T] {
        guard let node else { throw error(name, "is required, e.g. \(name): \(example)") }
        guard let sequence = node.sequence else {
            throw error(name, "must be a list, e.g. \(name): \(example); got \(Self.quote(node))")
        }
        guard !sequence.isEmpty else { throw error(name, "is empty; give at least one, e.g. \(name): \(example)") }
        var result: [T] = []
        for (index, item) in sequence.enumerated() { result.append(try element(item, "\(name)[\(index)]")) }
        return result
    }

    func unique<T: Hashable & CustomStringConvertible>(_ name: String, _ values: [T], what: String = "value") throws(ExperimentError) {
        var seen = Set<T>()
        for value in values where !seen.insert(value).inserted {
            throw error(name, "has the \(what) \(value) twice; each run of the matrix must differ")
        }
    }

    /// A decimal integer, written as one (`1e3` or `2.0` is refused, quoting what was written).
    func integer(_ key: String, _ node: Node) throws(ExperimentError) -> Int {
        guard let text = node.scalar?.string, let value = Int(text.replacingOccurrences(of: "_", with: "")) else {
            throw error(key, "expected an integer, got \(Self.quote(node))")
        }
        return value
    }

    static func value(_ mapping: Node, _ key: String) -> Node? {
        mapping.mapping?.first { $0.key.scalar?.string == key }?.value
    }

    static func isPlainName(_ name: String) -> Bool {
        (1...40).contains(name.count) && name.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" || $0 == "."
        } && name != "." && name != ".."
    }

    /// How an error quotes a node: `'1e3'`, `a list`, `a mapping`, `nothing`.
    static func quote(_ node: Node) -> String {
        if node.null != nil { return "nothing" }
        switch node {
        case .scalar(let scalar): return "'\(scalar.string.sanitizedForDisplay())'"
        case .sequence: return "a list"
        case .mapping: return "a mapping"
        case .alias: return "an alias"
        }
    }
}
