import DescentCore
import Testing
@testable import DescentConfig

/// `training.sync`, `training.staleness` and `schedule.staleness_aware`.
@Suite struct SyncModeConfigTests {
    func parse(_ training: String) throws -> RunConfig {
        try RunConfig.parse(yaml: "training: {\(training)}")
    }

    func message(_ training: String) -> String {
        do {
            _ = try parse(training)
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    @Test func syncIsTheDefaultAndEachModeIsRead() throws {
        #expect(try parse("epochs: 1").training.sync == .sync)
        #expect(try parse("sync: sync").training.sync == .sync)
        #expect(try parse("sync: async").training.sync == .async)
        #expect(try parse("sync: bounded, staleness: 2").training.sync == .bounded(staleness: 2))
        #expect(try parse("sync: bounded, staleness: 0").training.sync == .bounded(staleness: 0))
        #expect(try parse("epochs: 1").training.stalenessAwareRate == false)
        let aware = try RunConfig.parse(yaml: "training: {sync: async}\nschedule: {type: constant, rate: 0.1, staleness_aware: true}")
        #expect(aware.training.stalenessAwareRate)
        #expect(aware.schedule == (try RunConfig.parse(yaml: "schedule: {type: constant, rate: 0.1}")).schedule)
        // Only the top level of the section takes it, as a boolean; the training section no longer does.
        #expect(throws: ConfigError.self) { try RunConfig.parse(yaml: "schedule: {type: constant, rate: 0.1, staleness_aware: 3}") }
        #expect(throws: ConfigError.self) { try parse("sync: async, staleness_aware_rate: true") }
    }

    @Test(arguments: [
        ("sync: bounded", "training.staleness", "is required"),
        ("sync: bounded, staleness: -1", "training.staleness", "-1"),
        ("sync: bounded, staleness: 1.5", "training.staleness", "1.5"),
        ("sync: bounded, staleness: two", "training.staleness", "two"),
        ("sync: bounded, staleness: 101", "training.staleness", "at most 100 (got 101)"),
        ("sync: bounded, staleness: 1000000000", "training.staleness", "at most 100 (got 1000000000)"),
        ("sync: async, staleness: 2", "training.staleness", "bounded only"),
        ("staleness: 2", "training.staleness", "bounded only"),
        ("sync: parallel", "training.sync", "'parallel'"),
    ])
    func badSettingsNameTheKeyAndTheValue(training: String, key: String, text: String) {
        let error = message(training)
        #expect(error.contains(key) && error.contains(text), "\(error)")
    }

    @Test func asyncUpdatesAreOneWorkersBatch() throws {
        #expect(try parse("sync: async, batch_size: 32").workerBatch(workers: 4) == 8)
        #expect(try parse("sync: async, batch_per_worker: 16").workerBatch(workers: 4) == 16)
        #expect(try parse("sync: async, batch_size: 3").workerBatch(workers: 4) == 1)
    }

    @Test func modesParseFromTheirBenchNames() {
        #expect(SyncMode(parsing: "sync") == .sync)
        #expect(SyncMode(parsing: "async") == .async)
        #expect(SyncMode(parsing: "bounded:3") == .bounded(staleness: 3))
        #expect(SyncMode(parsing: "bounded:100") == .bounded(staleness: 100) && SyncMode(parsing: "bounded:101") == nil)
        #expect(SyncMode(parsing: "bounded:-1") == nil && SyncMode(parsing: "bounded") == nil && SyncMode(parsing: "x") == nil)
        #expect(SyncMode.bounded(staleness: 2).description == "bounded:2")
    }
}
