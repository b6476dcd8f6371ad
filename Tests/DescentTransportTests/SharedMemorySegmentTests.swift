import Foundation
import Testing
@testable import DescentTransport

@Suite struct SharedMemorySegmentTests {
    @Test func writesInOneMappingAreSeenInAnotherAndTheNameGoesWithTheCreator() throws {
        let name = "/descent-test-\(getpid())"
        var creator: SharedMemorySegment? = try SharedMemorySegment.create(name: name, byteCount: 4096)
        let reader = try SharedMemorySegment.open(name: name, byteCount: 4096)
        creator!.floats(at: 64, count: 4).update(from: [1.5, -2, 3, 4].makeIterator())
        #expect(Array(reader.floats(at: 64, count: 4)) == [1.5, -2, 3, 4])
        #expect(FileManager.default.fileExists(atPath: "/dev/shm\(name)"))
        creator = nil
        #expect(!FileManager.default.fileExists(atPath: "/dev/shm\(name)"))
        #expect(reader.floats(at: 64, count: 1)[0] == 1.5)
    }

    @Test func openingAMissingOrTooSmallSegmentNamesIt() throws {
        let name = "/descent-test-small-\(getpid())"
        #expect(throws: SharedMemoryError.self) { try SharedMemorySegment.open(name: name, byteCount: 16) }
        let small = try SharedMemorySegment.create(name: name, byteCount: 64)
        do {
            _ = try SharedMemorySegment.open(name: name, byteCount: 4096)
            Issue.record("a 64-byte segment opened as 4096 bytes")
        } catch {
            #expect("\(error)".contains(name) && "\(error)".contains("64 bytes, 4096 needed"))
        }
        _ = small
    }

    @Test func hostIdentityNamesTheBootAndTheNetworkNamespace() throws {
        let identity = try #require(HostIdentity.current())
        let boot = try String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(identity.hasPrefix(boot + "/net:["))
    }
}
