import Foundation
import Testing
import DescentConfig
@testable import DescentSchedules

/// Every file under Config/schedules is a complete config that loads.
@Suite struct ConfigExampleTests {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Config/schedules")

    static func exampleFiles() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".yaml") }.sorted().map { directory.appendingPathComponent($0).path }
    }

    @Test func everyFamilyHasAnExample() {
        let names = Set(Self.exampleFiles().map { URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent })
        for type in ScheduleFamily.typeNames { #expect(names.contains(type), "Config/schedules/\(type).yaml") }
    }

    @Test(arguments: exampleFiles())
    func exampleConfigLoadsAndGivesFiniteNonNegativeRates(_ path: String) throws {
        let config = try RunConfig.load(path: path)
        let batch = config.globalBatch(workers: 4)
        let p = LearningRatePolicy(schedule: config.schedule, stepsPerEpoch: (60_000 + batch - 1) / batch, globalBatch: batch)
        for step in stride(from: 0, through: 30 * p.stepsPerEpoch, by: 97) {
            let rate = p.rate(at: step)
            #expect(rate.isFinite && rate >= 0, "step \(step): \(rate)")
        }
    }
}
