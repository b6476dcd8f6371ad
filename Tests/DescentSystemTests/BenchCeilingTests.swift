@testable import DescentCLI
import Foundation
import Testing

/// `bench distributed`'s ceiling: as many trainers as workers, at once, on CPUs of their own.
struct BenchCeilingTests {
    @Test func theCeilingIsMeasuredOnEveryCPUAndRefusedForMoreTrainersThanCPUs() throws {
        let cpus = ProcessInfo.processInfo.activeProcessorCount
        #expect(OneHostBaselines.concurrentTrainersSamplesPerSecond(count: cpus + 1, batch: 32) == nil)
        #expect(OneHostBaselines.concurrentTrainersSamplesPerSecond(count: 0, batch: 32) == nil)
        let rate = try #require(OneHostBaselines.concurrentTrainersSamplesPerSecond(count: min(cpus, 2), batch: 32))
        #expect(rate.isFinite && rate > 0, "\(rate)")
    }
}
