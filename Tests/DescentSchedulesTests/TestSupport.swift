import Foundation
import Testing
import DescentConfig
import DescentCore
@testable import DescentSchedules

/// Expects `actual` within `relative` of `expected` (absolutely within 1e-12 when expected is 0).
func expectClose(_ actual: Float, _ expected: Double, relative: Double = 1e-6,
                 _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
    let tolerance = expected == 0 ? 1e-12 : abs(expected) * relative
    #expect(abs(Double(actual) - expected) <= tolerance,
            "\(comment?.description ?? "") got \(Double(actual)), expected \(expected)",
            sourceLocation: sourceLocation)
}

/// The schedule of a YAML config whose `schedule:` section is `body` (indented by the caller's lines).
func schedule(_ body: String) throws -> Schedule {
    let indented = body.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n")
    return try RunConfig.parse(yaml: "schedule:\n" + indented).schedule
}

/// The `ConfigError` that parsing a config with this `schedule:` section throws, or nil.
func scheduleError(_ body: String) -> ConfigError? {
    do {
        _ = try schedule(body)
        return nil
    } catch let error as ConfigError {
        return error
    } catch {
        Issue.record("expected a ConfigError, got \(error)")
        return nil
    }
}

/// A policy in plain steps with one step per epoch unless told otherwise.
func policy(_ schedule: Schedule, stepsPerEpoch: Int = 1, globalBatch: Int = 32) -> LearningRatePolicy {
    LearningRatePolicy(schedule: schedule, stepsPerEpoch: stepsPerEpoch, globalBatch: globalBatch)
}
