import DescentCore
import Testing

/// What a flood of one kind of event leaves in the log: the first 10 in full, then one in 1,000
/// with the count so far, and never two of those within a second.
struct RateLimitedLogTests {
    final class Lines: @unchecked Sendable { var all: [String] = [] }

    @Test func theFirstTenInFullThenOneInAThousandAtMostOnceASecond() {
        let lines = Lines()
        var now = 0.0
        var log = RateLimitedLog(clock: { now }, write: { lines.all.append($0) })
        // 5,000 events in the same instant: 10 in full, then only the 1,000th (the 2,000th to
        // 5,000th fall within its second).
        for i in 1...5_000 { log.log(kind: "junk", "event \(i)") }
        #expect(lines.all == (1...10).map { "event \($0)" } + ["event 1000 (1000 so far)"])
        // A second later the next multiple of 1,000 prints again, with the exact count.
        now = 1.0
        for i in 5_001...6_000 { log.log(kind: "junk", "event \(i)") }
        #expect(lines.all.last == "event 6000 (6000 so far)" && lines.all.count == 12)
        // Another kind has its own count and clock.
        log.log(kind: "other", "first other")
        #expect(lines.all.last == "first other")
    }

    @Test func eventsSpreadOverTimeGetOneLinePerThousand() {
        let lines = Lines()
        var now = 0.0
        var log = RateLimitedLog(clock: { now }, write: { lines.all.append($0) })
        for i in 1...3_000 {
            now = Double(i) * 0.01  // 100 events a second: a thousand take 10 s
            log.log(kind: "slow", "event \(i)")
        }
        #expect(lines.all.count == 13)
        #expect(lines.all.suffix(3) == ["event 1000 (1000 so far)", "event 2000 (2000 so far)", "event 3000 (3000 so far)"])
    }
}
