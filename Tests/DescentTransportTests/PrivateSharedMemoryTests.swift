import DescentCore
import Foundation
import Testing
@testable import DescentTransport

/// The protection of the pages at `address` in this process, e.g. "r--s", from /proc/self/maps.
func protection(of address: UnsafeRawPointer) throws -> String? {
    let maps = try FileReading.text(of: "/proc/self/maps", maxBytes: 1 << 24)
    let target = UInt(bitPattern: address)
    for line in maps.split(separator: "\n") {
        let fields = line.split(separator: " ")
        let range = fields[0].split(separator: "-").compactMap { UInt($0, radix: 16) }
        if range.count == 2, range[0] <= target, target < range[1] { return String(fields[1]) }
    }
    return nil
}

@Suite("Private shared memory", .serialized)
struct PrivateSharedMemoryTests {
    @Test("a run's segment is 0600, owned by this user, under an unpredictable name with the creator's pid")
    func privateSegmentsAreOwnerOnly() throws {
        let segment = try SharedMemorySegment.createPrivate(prefix: "descent-test-shm", byteCount: 8192)
        let path = "/dev/shm" + segment.name
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect((attributes[.ownerAccountID] as? NSNumber)?.uint32Value == geteuid())
        #expect(segment.name.hasPrefix("/descent-test-shm-\(getpid())-"))
        let other = try SharedMemorySegment.createPrivate(prefix: "descent-test-shm", byteCount: 8192)
        #expect(other.name != segment.name)
    }

    @Test("a segment that others may read or write is refused on open")
    func openRefusesASegmentOthersCanReach() throws {
        let segment = try SharedMemorySegment.createPrivate(prefix: "descent-test-shm", byteCount: 4096)
        chmod("/dev/shm" + segment.name, 0o666)
        do {
            _ = try SharedMemorySegment.open(name: segment.name, byteCount: 4096)
            Issue.record("a 0666 segment was opened")
        } catch {
            #expect("\(error)".contains("mode 666"))
        }
    }

    @Test("the ranges asked for are mapped read-only, the rest stays writable")
    func readOnlyRangesAreReadOnly() throws {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let creator = try SharedMemorySegment.createPrivate(prefix: "descent-test-shm", byteCount: 3 * page)
        let worker = try SharedMemorySegment.open(name: creator.name, byteCount: 3 * page, readOnly: [page..<(2 * page)])
        #expect(try protection(of: worker.base)?.hasPrefix("rw") == true)
        #expect(try protection(of: worker.base + page) == "r--s")
        #expect(try protection(of: worker.base + 2 * page)?.hasPrefix("rw") == true)
        // The creator still writes there, and the worker sees it.
        creator.floats(at: page, count: 1)[0] = 42
        #expect(worker.floats(at: page, count: 1)[0] == 42)
    }

    @Test("segments of dead processes are unlinked at the next start; those of live ones stay")
    func staleSegmentsAreReclaimed() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/true")
        try process.run()
        process.waitUntilExit()
        let deadName = "/descent-test-shm-\(process.processIdentifier)-00000000deadbeef"
        let fd = shm_open(deadName, O_CREAT | O_EXCL | O_RDWR, 0o600)
        try #require(fd >= 0)
        close(fd)
        let live = try SharedMemorySegment.create(name: "/" + RunScopedName.make(prefix: "descent-test-shm"), byteCount: 4096)
        let reclaimed = SharedMemorySegment.reclaimStale(prefix: "descent-test-shm")
        #expect(reclaimed.contains(String(deadName.dropFirst())))
        #expect(!FileManager.default.fileExists(atPath: "/dev/shm" + deadName))
        #expect(FileManager.default.fileExists(atPath: "/dev/shm" + live.name))
    }
}

@Suite("Endpoints and routing ids")
struct EndpointCheckTests {
    @Test("ports outside 1-65535 are refused; bind may use * or 0", arguments: [
        ("tcp://0.0.0.0:5555", EndpointCheck.Use.bind, true),
        ("tcp://127.0.0.1:*", .bind, true),
        ("tcp://127.0.0.1:0", .bind, true),
        ("tcp://127.0.0.1:0", .connect, false),
        ("tcp://127.0.0.1:*", .connect, false),
        ("tcp://127.0.0.1:99999", .bind, false),
        ("tcp://127.0.0.1:65535", .connect, true),
        ("tcp://127.0.0.1:65536", .connect, false),
        ("tcp://127.0.0.1:-1", .connect, false),
        ("tcp://host", .connect, false),
        ("tcp://:5555", .connect, false),
        ("ipc:///tmp/x.sock", .bind, true),
        ("ipc://", .bind, false),
        ("inproc://x", .bind, false),
        ("udp://1.2.3.4:5", .connect, false),
        ("localhost:5555", .connect, false),
    ])
    func endpoints(endpoint: String, use: EndpointCheck.Use, accepted: Bool) {
        #expect((EndpointCheck.problem(with: endpoint, use: use) == nil) == accepted, "\(endpoint): \(String(describing: EndpointCheck.problem(with: endpoint, use: use)))")
    }

    @Test("routing ids are 16 random bytes: 100,000 draws never collide")
    func routingIDsDoNotCollide() {
        let ids = (0..<100_000).map { _ in randomRoutingID() }
        #expect(ids.allSatisfy { $0.count == 16 })
        #expect(Set(ids.map { $0.map { String($0, radix: 16) }.joined(separator: ".") }).count == ids.count)
    }
}
