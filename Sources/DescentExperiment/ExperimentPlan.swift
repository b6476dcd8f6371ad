import DescentConfig
import DescentCore
import Foundation
import Yams

/// One run of an experiment: its place in the matrix, the config it trains with and its names.
public struct PlannedRun: Sendable, Equatable {
    /// 1-based position in the order the runs go.
    public var index: Int
    public var schedule: String
    public var workers: Int
    public var mode: SyncMode
    public var seed: UInt64
    /// The config file's text (the base config edited: seed, schedule, sync mode, overrides).
    public var configYAML: String
    /// The run's file name stem, e.g. `03-exponential-w2-bounded2-s1`.
    public var name: String

    public init(index: Int, schedule: String, workers: Int, mode: SyncMode, seed: UInt64, configYAML: String, name: String) {
        self.index = index
        self.schedule = schedule
        self.workers = workers
        self.mode = mode
        self.seed = seed
        self.configYAML = configYAML
        self.name = name
    }

    /// As the progress line says it: `exponential, 2 workers, bounded k=2, seed 1`.
    public var label: String {
        "\(schedule), \(workers) worker\(workers == 1 ? "" : "s"), \(mode.label), seed \(seed)"
    }
}

/// An experiment expanded into its runs, in order: schedules, then worker counts, then sync
/// modes, then seeds (the last varies fastest). Each run's config is the base config's node tree
/// with `seed`, `schedule`, `training.sync` / `training.staleness` and the overrides set, so every
/// other key of the base (and its spelling) stays as written.
public struct ExperimentPlan {
    public var matrix: ExperimentMatrix
    public var runs: [PlannedRun]

    /// Expands `matrix`. Throws when a config it makes is not a valid run config (checked with the
    /// sync mode keys left out, so that a base or schedule mistake is found before any run starts).
    public init(matrix: ExperimentMatrix) throws(ExperimentError) {
        self.matrix = matrix
        var runs: [PlannedRun] = []
        let total = matrix.schedules.count * matrix.workers.count * matrix.modes.count * matrix.seeds.count
        let width = String(total).count
        for schedule in matrix.schedules {
            for seed in matrix.seeds {
                // One check per (schedule, seed): everything but the mode keys (checked by the matrix;
                // `launch` checks the whole file when the run starts).
                let plain = try Self.config(matrix, schedule: schedule, seed: seed, mode: nil)
                do { _ = try RunConfig.parse(yaml: plain) } catch {
                    throw ExperimentError(file: matrix.path, key: "", "the config of schedule '\(schedule.name)' with seed \(seed) is not valid: \(error)")
                }
            }
        }
        for schedule in matrix.schedules {
            for workers in matrix.workers {
                for mode in matrix.modes {
                    for seed in matrix.seeds {
                        let index = runs.count + 1
                        let number = String(repeating: "0", count: width - String(index).count) + String(index)
                        let text = try Self.config(matrix, schedule: schedule, seed: seed, mode: mode)
                        var run = PlannedRun(index: index, schedule: schedule.name, workers: workers, mode: mode, seed: seed,
                                             configYAML: text, name: "\(number)-\(schedule.name)-w\(workers)-\(mode.slug)-s\(seed)")
                        run.configYAML = "# descent experiment, run \(index)/\(total): \(run.label)\n" + text
                        runs.append(run)
                    }
                }
            }
        }
        self.runs = runs
    }

    /// The YAML of one run's config. `mode` nil (the check before any run) leaves `training.sync` and
    /// `training.staleness` out; `.sync` removes them unless the base sets `sync` (sync is the
    /// default, so the file stays one that a build without the sync keys reads).
    static func config(_ matrix: ExperimentMatrix, schedule: NamedSchedule, seed: UInt64, mode: SyncMode?) throws(ExperimentError) -> String {
        var root = matrix.base.mapping ?? Node.Mapping([])
        set(&root, "seed", Node(String(seed), Tag(.int)))
        if let section = schedule.section { set(&root, "schedule", section) }
        var training = child(root, "training")
        var data = child(root, "data")
        if let epochs = matrix.epochs { set(&training, "epochs", Node(String(epochs), Tag(.int))) }
        if let limit = matrix.trainLimit {
            set(&data, "train_limit", limit.map { Node(String($0), Tag(.int)) } ?? Node("null", Tag(.null)))
        }
        if let repeats = matrix.trainRepeat { set(&data, "train_repeat", Node(String(repeats), Tag(.int))) }
        if mode == nil {
            remove(&training, "sync")
            remove(&training, "staleness")
        }
        if let mode {
            let baseSetsSync = child(root, "training").contains { $0.key.scalar?.string == "sync" }
            remove(&training, "staleness")
            switch mode {
            case .sync:
                if baseSetsSync { set(&training, "sync", Node("sync")) }
            case .async:
                set(&training, "sync", Node("async"))
            case .bounded(let k):
                set(&training, "sync", Node("bounded"))
                set(&training, "staleness", Node(String(k), Tag(.int)))
            }
        }
        for (key, section) in [("training", training), ("data", data)] where !section.isEmpty || root.contains(where: { $0.key.scalar?.string == key && $0.value.mapping != nil }) {
            set(&root, key, .mapping(section))
        }
        do {
            return try Yams.serialize(node: .mapping(root))
        } catch {
            throw ExperimentError(file: matrix.path, key: "", "cannot write the config of schedule '\(schedule.name)': \(error)")
        }
    }

    private static func child(_ mapping: Node.Mapping, _ key: String) -> Node.Mapping {
        mapping.first { $0.key.scalar?.string == key }?.value.mapping ?? Node.Mapping([])
    }

    /// Sets `key` in place (keeping its position) or appends it.
    private static func set(_ mapping: inout Node.Mapping, _ key: String, _ value: Node) {
        var pairs = mapping.map { ($0.key, $0.value) }
        if let index = pairs.firstIndex(where: { $0.0.scalar?.string == key }) {
            pairs[index].1 = value
        } else {
            pairs.append((Node(key), value))
        }
        mapping = Node.Mapping(pairs, mapping.tag, mapping.style)
    }

    private static func remove(_ mapping: inout Node.Mapping, _ key: String) {
        let pairs = mapping.filter { $0.key.scalar?.string != key }.map { ($0.key, $0.value) }
        mapping = Node.Mapping(pairs, mapping.tag, mapping.style)
    }
}
