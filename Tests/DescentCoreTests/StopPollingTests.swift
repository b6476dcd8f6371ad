import DescentCore
import Testing

/// A stop request is looked at once a millisecond at most (each look is a `read` of its pipe), and
/// a stop posted between looks waits in the pipe for the next one: none is lost.
@Suite struct StopPollingTests {
    @Test func aStopIsSeenAtTheFirstLookAMillisecondAfterTheLastAndNoneIsLost() throws {
        let request = try StopRequest(forwardingSignals: false)
        var polling = StopPolling(request)
        func asked(_ now: Double) -> Bool { polling.asked(now: now) }
        // Times in seconds from a first look at 0; the interval is 0.001.
        #expect(!asked(0), "nothing posted")
        request.post()
        #expect(!asked(0.0004), "not looked at yet")
        #expect(!asked(0.0009))
        #expect(asked(0.001), "seen at the first look a millisecond after the last")
        #expect(!asked(0.0021), "each stop is seen once")
        request.post()
        request.post()
        #expect(!asked(0.0025))
        #expect(asked(0.0032), "two stops posted between looks are one stop")
        #expect(!asked(0.0050))
    }

    @Test func withoutARequestNothingIsEverAsked() {
        var polling = StopPolling(nil)
        func asked(_ now: Double) -> Bool { polling.asked(now: now) }
        #expect(!asked(0))
        #expect(!asked(100))
    }

    /// The pipe's drain gives every byte posted, in order, also more than one read's worth.
    @Test func theDrainGivesEveryBytePostedInOrder() throws {
        let pipe = try WakePipe()
        #expect(pipe.drain().isEmpty)
        let posted = (0..<150).map { UInt8($0 % 256) }
        for byte in posted { pipe.post(byte) }
        #expect(pipe.drain() == posted)
        #expect(pipe.drain().isEmpty)
    }
}
