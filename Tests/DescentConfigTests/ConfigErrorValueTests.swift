import Foundation
import Testing
@testable import DescentConfig
import DescentCore

/// A value of the wrong kind is refused with the key and the value as written, and an empty
/// section is refused instead of silently replaced by the defaults.
@Suite struct ConfigErrorValueTests {
    static func message(_ yaml: String) -> String? {
        do {
            _ = try RunConfig.parse(yaml: yaml)
            return nil
        } catch {
            return String(describing: error)
        }
    }

    @Test(arguments: [
        ("schedule:\n  type: exponential\n  initial_rate: 0.1\n  decay_steps: 1e3\n  decay_rate: 0.96\n",
         "config key 'schedule.decay_steps': expected an integer, got '1e3'; write it as 1000"),
        ("training:\n  epochs: 2.5\n", "config key 'training.epochs': expected an integer, got '2.5'"),
        ("training:\n  epochs: many\n", "config key 'training.epochs': expected an integer, got 'many'"),
        ("training:\n  batch_size: [32, 64]\n", "config key 'training.batch_size': expected an integer, got a list [32, 64]"),
        ("optimizer:\n  momentum: fast\n", "config key 'optimizer.momentum': expected a number, got 'fast'"),
        ("optimizer:\n  nesterov: maybe\n", "config key 'optimizer.nesterov': expected true or false, got 'maybe'"),
        ("model:\n  hidden: [128, 6e1]\n", "config key 'model.hidden[1]': expected an integer, got '6e1'"),
        ("schedule:\n  type: piecewise_constant\n  boundaries: [10, x]\n  values: [0.1, 0.01, 0.001]\n",
         "config key 'schedule.boundaries[1]': expected an integer, got 'x'"),
        ("schedule:\n  type: exponential\n  initial_rate: {value: 0.1}\n  decay_steps: 10\n  decay_rate: 0.5\n",
         "config key 'schedule.initial_rate': expected a number, got a mapping {value: 0.1}"),
        ("training: 5\n", "config key 'training': expected a mapping of keys, got '5'"),
    ])
    func aValueOfTheWrongKindIsQuotedAsWritten(yaml: String, expected: String) {
        let text = Self.message(yaml)
        #expect(text?.contains(expected) == true, "got: \(text ?? "no error")")
        #expect(text?.contains("Scalar") != true, "got: \(text ?? "no error")")
    }

    @Test(arguments: ["schedule", "model", "data", "training", "optimizer"])
    func anEmptySectionIsRefusedNotDefaulted(section: String) {
        let text = Self.message("seed: 3\n\(section):\n")
        #expect(text?.contains("config key '\(section)': is empty") == true, "got: \(text ?? "no error")")
        #expect(text?.contains("remove the line") == true, "got: \(text ?? "no error")")
    }

    @Test func anEmptyScheduleSectionSuggestsOne() {
        let text = Self.message("schedule:\n# the schedule lines were lost\ntraining:\n  epochs: 2\n")
        #expect(text?.contains("config key 'schedule': is empty; give it keys, e.g. schedule: {type: constant, rate: 0.05}") == true,
                "got: \(text ?? "no error")")
    }

    @Test func aScheduleMappingWithoutTypeSaysTypeIsMissing() {
        #expect(Self.message("schedule: {}\n")?.contains("config key 'schedule.type': is required but missing") == true)
    }

    @Test func anAbsentSectionStillGivesTheDefaults() throws {
        #expect(try RunConfig.parse(yaml: "seed: 42\n") == RunConfig())
    }
}
