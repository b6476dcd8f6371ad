import Foundation
import Testing
@testable import DescentTransport

@Suite struct SharedMemorySegmentTests {
    @Test func writesInOneMappingAreSeenInAnotherAndTheNameGoesWithTheCreator() throws {
        let name = "/descent-test-\(getpid())"
        var creator: SharedMemorySegment? = try SharedMemorySegment.create(name: name, byteCount: 4096)
        let reader = try SharedMemorySegment.open(name: name, byteCount: 4096)
        _ = creator!.floats(at: 64, count: 4).update(from: [1.5, -2, 3, 4].makeIterator())
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

@Suite struct CPUPinningTests {
    @Test func severalWorkersGetACPUEachAndOtherwiseNone() {
        #expect((0..<2).map { CPUPinning.cpu(forRank: $0, workers: 2, cpus: 2) } == [0, 1])
        #expect(CPUPinning.cpu(forRank: 0, workers: 1, cpus: 2) == nil)
        #expect(CPUPinning.cpu(forRank: 3, workers: 4, cpus: 2) == nil)
        #expect(CPUPinning.cpu(forRank: 2, workers: 3, cpus: 8) == 2)
    }

    @Test func pinningAThreadLimitsItToThatCPU() throws {
        // In a thread of its own, so the test runner's threads keep their affinity; the kernel's
        // own account of the thread (Cpus_allowed_list) is read back.
        final class Box: @unchecked Sendable { var allowed: String? = nil; var done = false }
        let box = Box()
        let thread = Thread {
            if (try? CPUPinning.pin(toCPU: 0)) != nil,
               let status = try? String(contentsOfFile: "/proc/thread-self/status", encoding: .utf8) {
                box.allowed = status.split(separator: "\n").first { $0.hasPrefix("Cpus_allowed_list:") }
                    .map { $0.split(separator: "\t").last.map(String.init) ?? "" }
            }
            box.done = true
        }
        thread.start()
        let deadline = Date().addingTimeInterval(10)
        while !box.done && Date() < deadline { usleep(1000) }
        #expect(box.allowed == "0")
        #expect(throws: CPUPinningError.self) { try CPUPinning.pin(toCPU: 100_000) }
    }
}
