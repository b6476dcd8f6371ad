import Foundation
import Testing
@testable import DescentTransport

/// `SharedWord.spin`: the coordinator's short busy wait before it sleeps on the futex.
@Suite struct SharedWordSpinTests {
    func word() throws -> (SharedMemorySegment, SharedWord) {
        let segment = try SharedMemorySegment.createPrivate(prefix: "descent-test-spin", byteCount: 4096)
        return (segment, SharedWord(segment, offset: 64))
    }

    @Test func returnsAtOnceWhenTheWordAlreadyDiffers() throws {
        let (_, word) = try word()
        word.store(7)
        #expect(word.spin(whileEquals: 3, seconds: 10) == 7)
    }

    @Test func givesUpAfterItsTimeWithTheUnchangedValue() throws {
        let (_, word) = try word()
        word.store(5)
        let started = Date()
        #expect(word.spin(whileEquals: 5, seconds: 0.02) == 5)
        #expect(Date().timeIntervalSince(started) >= 0.02)
    }

    @Test func seesAStoreFromAnotherThread() throws {
        let (segment, word) = try word()
        word.store(1)
        let writer = Thread {
            usleep(2_000)
            SharedWord(segment, offset: 64).store(2)
        }
        writer.start()
        // Up to 30 s: the store comes after 2 ms unless the machine is very busy.
        #expect(word.spin(whileEquals: 1, seconds: 30) == 2)
    }
}
