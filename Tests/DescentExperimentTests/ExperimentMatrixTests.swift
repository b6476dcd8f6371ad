import DescentCore
@testable import DescentExperiment
import Foundation
import Testing
import Yams

/// The package root, for the real files under Config/.
private let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The value at a dotted path of a YAML document, read with Yams independently of the plan's editing.
private func value(_ yaml: String, _ path: String) throws -> Node? {
    var node = try Yams.compose(yaml: yaml)
    for key in path.split(separator: ".") { node = node?.mapping?.first { $0.key.string == String(key) }?.value }
    return node
}

@Suite struct ExperimentMatrixTests {
    static let matrixYAML = """
        base:
          seed: 1
          model: {hidden: [16]}
          optimizer: {momentum: 0.5}
          training: {epochs: 3, batch_size: 64}
        schedules:
          - name: const
            schedule: {type: constant, rate: 0.05}
          - name: base-schedule
        workers: [1, 2, 4]
        sync: [sync, bounded:2, async, {mode: bounded, staleness: 0}]
        seeds: [11, 12]
        epochs: 1
        train_limit: 500
        max_steps: 7
        """

    @Test func expandsEveryCombinationInOrderWithNamesAndLabels() throws {
        let plan = try ExperimentPlan(matrix: try ExperimentMatrix.parse(yaml: Self.matrixYAML, directory: ""))
        // 2 schedules x 3 worker counts x 4 modes x 2 seeds.
        #expect(plan.runs.count == 48)
        #expect(plan.runs.map(\.index) == Array(1...48))
        // Seeds vary fastest, then modes, then worker counts, then schedules.
        let first = plan.runs[0], third = plan.runs[2], last = plan.runs[47]
        #expect(first.name == "01-const-w1-sync-s11")
        #expect(first.label == "const, 1 worker, sync, seed 11")
        #expect(third.name == "03-const-w1-bounded2-s11")
        #expect(third.label == "const, 1 worker, bounded k=2, seed 11")
        #expect(plan.runs[11].label == "const, 2 workers, bounded k=2, seed 12")
        #expect(last.name == "48-base-schedule-w4-bounded0-s12")
        #expect(Set(plan.runs.map(\.name)).count == 48)
    }

    @Test func eachConfigCarriesItsSeedScheduleModeAndOverridesAndKeepsTheRestOfTheBase() throws {
        let plan = try ExperimentPlan(matrix: try ExperimentMatrix.parse(yaml: Self.matrixYAML, directory: ""))
        for run in plan.runs {
            let yaml = run.configYAML
            #expect(try value(yaml, "seed")?.int == Int(run.seed))
            #expect(try value(yaml, "training.epochs")?.int == 1)
            #expect(try value(yaml, "data.train_limit")?.int == 500)
            #expect(try value(yaml, "training.batch_size")?.int == 64)
            #expect(try value(yaml, "optimizer.momentum")?.float == 0.5)
            #expect(try value(yaml, "model.hidden")?.sequence?.first?.int == 16)
            if run.schedule == "const" {
                #expect(try value(yaml, "schedule.type")?.string == "constant")
                #expect(try value(yaml, "schedule.rate")?.float == 0.05)
            } else {
                #expect(try value(yaml, "schedule") == nil)  // the base has none: the default stays
            }
            switch run.mode {
            case .sync:
                #expect(try value(yaml, "training.sync") == nil)
                #expect(try value(yaml, "training.staleness") == nil)
            case .async:
                #expect(try value(yaml, "training.sync")?.string == "async")
                #expect(try value(yaml, "training.staleness") == nil)
            case .bounded(let k):
                #expect(try value(yaml, "training.sync")?.string == "bounded")
                #expect(try value(yaml, "training.staleness")?.int == k)
                #expect(k == 2 || k == 0)
            }
        }
        #expect(plan.runs.filter { $0.mode == .bounded(staleness: 0) }.count == 12)
    }

    @Test func syncOverridesABaseThatSetsAnotherMode() throws {
        let yaml = """
            base: {training: {sync: bounded, staleness: 3}}
            schedules: [{name: s}]
            workers: [2]
            sync: [sync, async]
            seeds: [1]
            """
        let matrix = try ExperimentMatrix.parse(yaml: yaml, directory: "")
        // The base's mode keys are unknown to this build's config: the plan checks without them.
        let plan = try ExperimentPlan(matrix: matrix)
        #expect(try value(plan.runs[0].configYAML, "training.sync")?.string == "sync")
        #expect(try value(plan.runs[0].configYAML, "training.staleness") == nil)
        #expect(try value(plan.runs[1].configYAML, "training.sync")?.string == "async")
        #expect(try value(plan.runs[1].configYAML, "training.staleness") == nil)
    }

    @Test func trainLimitNullMeansEveryImage() throws {
        let yaml = "base: {data: {train_limit: 100}}\nschedules: [{name: s}]\nworkers: [1]\nsync: [sync]\nseeds: [1]\ntrain_limit: null\ntrain_repeat: 2"
        let plan = try ExperimentPlan(matrix: try ExperimentMatrix.parse(yaml: yaml, directory: ""))
        #expect(try value(plan.runs[0].configYAML, "data.train_limit")?.null != nil)
        #expect(try value(plan.runs[0].configYAML, "data.train_repeat")?.int == 2)
        #expect(try value(plan.runs[0].configYAML, "training") == nil)  // nothing set there, the base has none
    }

    @Test func readsBaseAndSchedulesFromFilesRelativeToTheExperimentFile() throws {
        let path = packageRoot.appendingPathComponent("Config/experiments/reference-parallel.yaml").path
        let plan = try ExperimentPlan(matrix: try ExperimentMatrix.load(path: path))
        #expect(plan.runs.map(\.label) == [
            "exponential, 1 worker, sync, seed 42", "exponential, 1 worker, bounded k=2, seed 42", "exponential, 1 worker, async, seed 42",
            "exponential, 2 workers, sync, seed 42", "exponential, 2 workers, bounded k=2, seed 42", "exponential, 2 workers, async, seed 42",
            "exponential, 4 workers, sync, seed 42", "exponential, 4 workers, bounded k=2, seed 42", "exponential, 4 workers, async, seed 42",
        ])
        // The schedule section is the one of Config/schedules/exponential.yaml, read here with Yams.
        let scheduleFile = try String(contentsOf: packageRoot.appendingPathComponent("Config/schedules/exponential.yaml"), encoding: .utf8)
        for key in ["type", "initial_rate", "decay_steps", "decay_rate", "staircase"] {
            #expect(try value(plan.runs[0].configYAML, "schedule.\(key)") == value(scheduleFile, "schedule.\(key)"))
        }
        #expect(try value(plan.runs[0].configYAML, "training.epochs")?.int == 15)
        let tiny = try ExperimentPlan(matrix: try ExperimentMatrix.load(path: packageRoot.appendingPathComponent("Config/experiments/tiny.yaml").path))
        #expect(tiny.runs.count == 4)
        #expect(tiny.runs.allSatisfy { $0.mode == .sync })
    }

    /// (file text, the key the error names, a fragment of its message).
    static let refusals: [(String, String, String)] = [
        ("workers: [1]\nsync: [sync]\nseeds: [1]", "schedules", "is required"),
        ("schedules: [{name: a}]\nsync: [sync]\nseeds: [1]", "workers", "is required"),
        ("schedules: [{name: a}]\nworkers: 2\nsync: [sync]\nseeds: [1]", "workers", "must be a list"),
        ("schedules: [{name: a}]\nworkers: []\nsync: [sync]\nseeds: [1]", "workers", "is empty"),
        ("schedules: [{name: a}]\nworkers: [1, 0]\nsync: [sync]\nseeds: [1]", "workers[1]", "from 1 to 64 (got 0)"),
        ("schedules: [{name: a}]\nworkers: [2, 2]\nsync: [sync]\nseeds: [1]", "workers", "twice"),
        ("schedules: [{name: a}]\nworkers: [1]\nsync: [bounded]\nseeds: [1]", "sync[0]", "needs its staleness bound"),
        ("schedules: [{name: a}]\nworkers: [1]\nsync: ['bounded:x']\nseeds: [1]", "sync[0].staleness", "expected an integer, got 'x'"),
        ("schedules: [{name: a}]\nworkers: [1]\nsync: ['bounded:-1']\nseeds: [1]", "sync[0].staleness", "from 0 to \(SyncMode.largestStaleness) steps (got -1)"),
        ("schedules: [{name: a}]\nworkers: [1]\nsync: ['async:2']\nseeds: [1]", "sync[0]", "takes no staleness bound"),
        ("schedules: [{name: a}]\nworkers: [1]\nsync: [fast]\nseeds: [1]", "sync[0]", "'fast' is not a sync mode"),
        ("schedules: [{name: a}]\nworkers: [1]\nsync: [{mode: bounded, k: 2}]\nseeds: [1]", "sync[0].k", "not a key of a sync mode"),
        ("schedules: [{name: a}]\nworkers: [1]\nsync: [sync, 'bounded:2', {mode: bounded, staleness: 2}]\nseeds: [1]", "sync", "twice"),
        ("schedules: [{name: a}]\nworkers: [1]\nsync: [sync]\nseeds: [-1]", "seeds[0]", "non-negative"),
        ("schedules: [{name: a}]\nworkers: [1]\nsync: [sync]\nseeds: [1]\nepochs: 1e3", "epochs", "expected an integer, got '1e3'"),
        ("schedules: [{name: a}]\nworkers: [1]\nsync: [sync]\nseeds: [1]\nworker: [2]", "worker", "is not a key of an experiment"),
        ("schedules: [{name: a/b}]\nworkers: [1]\nsync: [sync]\nseeds: [1]", "schedules[0].name", "letters, digits"),
        ("schedules: [{name: a}, {name: a}]\nworkers: [1]\nsync: [sync]\nseeds: [1]", "schedules", "name a twice"),
        ("schedules: [{schedule: {type: constant, rate: 0.1}}]\nworkers: [1]\nsync: [sync]\nseeds: [1]", "schedules[0].name", "is required"),
        ("schedules: [{name: a, from: no-such-file.yaml}]\nworkers: [1]\nsync: [sync]\nseeds: [1]", "schedules[0].from", "cannot be read"),
        ("schedules: [{name: a, schedule: 0.1}]\nworkers: [1]\nsync: [sync]\nseeds: [1]", "schedules[0].schedule", "must be a mapping"),
        ("base: 3\nschedules: [{name: a}]\nworkers: [1]\nsync: [sync]\nseeds: [1]", "base", "cannot be read"),
        ("[1, 2]", "", "must be a mapping"),
        ("schedules: [{name: a}]\nworkers: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\nsync: [sync, async, 'bounded:1', 'bounded:2', 'bounded:3']\nseeds: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21]",
         "", "asks for 1050 runs"),
    ]

    @Test(arguments: 0..<refusals.count)
    func refusesWithTheKeyAndWhatToDo(_ index: Int) {
        let (yaml, key, fragment) = Self.refusals[index]
        do {
            _ = try ExperimentMatrix.parse(yaml: yaml, path: "e.yaml", directory: "/nonexistent-dir")
            Issue.record("accepted: \(yaml)")
        } catch {
            #expect(error.key == key, "\(error)")
            #expect(error.description.contains(fragment), "\(error)")
            #expect(error.description.hasPrefix("experiment e.yaml: "))
        }
    }

    /// Lists long enough for the product of their lengths to overflow (tens of MB of YAML) give
    /// the run cap's error, not an arithmetic trap: the count saturates.
    @Test func theRunCountSaturatesInsteadOfOverflowing() {
        #expect(ExperimentMatrix.runCount([2, 3, 5, 7]) == 210)
        #expect(ExperimentMatrix.runCount([1 << 31, 1 << 31, 1, 1]) == 4_611_686_018_427_387_904)  // 2^62 fits
        #expect(ExperimentMatrix.runCount([1 << 32, 1 << 31, 1, 1]) == Int.max)  // 2^63 does not
        #expect(ExperimentMatrix.runCount([Int.max / 2 + 1, 2, 1, 1]) == Int.max)
        #expect(ExperimentMatrix.runCount([1 << 40, 1 << 40, 1 << 40, 1]) == Int.max)
    }

    @Test func aScheduleTheConfigRefusesIsFoundBeforeAnyRun() throws {
        let yaml = "schedules: [{name: bad, schedule: {type: exponential, initial_rate: 0.1}}]\nworkers: [1]\nsync: [sync]\nseeds: [5]"
        let matrix = try ExperimentMatrix.parse(yaml: yaml, path: "e.yaml", directory: "")
        #expect {
            try ExperimentPlan(matrix: matrix)
        } throws: { error in
            let text = "\(error)"
            return text.contains("schedule 'bad' with seed 5 is not valid") && text.contains("schedule.decay_steps")
        }
    }
}
