import DescentCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A POSIX shared-memory segment mapped into this process: how a coordinator and the workers on
/// its own host pass parameters and gradients without pushing them through a socket.
///
/// The creator owns the name and unlinks it when it goes away; others open it by name. Access is
/// ordered by the protocol's messages (a buffer is written only after the message that hands it
/// over has arrived), so no locks are needed.
public final class SharedMemorySegment: @unchecked Sendable {
    public let name: String
    public let byteCount: Int
    public let base: UnsafeMutableRawPointer
    private let owner: Bool

    private init(name: String, byteCount: Int, base: UnsafeMutableRawPointer, owner: Bool) {
        self.name = name
        self.byteCount = byteCount
        self.base = base
        self.owner = owner
    }

    /// Creates a new zero-filled segment readable and writable by this user only (mode 0600,
    /// set again with `fchmod` whatever the umask). Use an unpredictable name
    /// (`createPrivate(prefix:byteCount:)`), so no other user can create it first.
    public static func create(name: String, byteCount: Int) throws -> SharedMemorySegment {
        let fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SharedMemoryError(name: name, call: "shm_open (create)", code: errno) }
        defer { close(fd) }
        guard fchmod(fd, 0o600) == 0 else {
            let code = errno
            shm_unlink(name)
            throw SharedMemoryError(name: name, call: "fchmod", code: code)
        }
        guard ftruncate(fd, off_t(byteCount)) == 0 else {
            let code = errno
            shm_unlink(name)
            throw SharedMemoryError(name: name, call: "ftruncate", code: code)
        }
        do {
            return SharedMemorySegment(name: name, byteCount: byteCount, base: try map(fd, byteCount, name), owner: true)
        } catch {
            shm_unlink(name)
            throw error
        }
    }

    /// Creates a segment named `/PREFIX-PID-RANDOM` (see `RunScopedName`), after unlinking the
    /// segments of this prefix that processes of this user left when they died.
    public static func createPrivate(prefix: String, byteCount: Int) throws -> SharedMemorySegment {
        reclaimStale(prefix: prefix)
        return try create(name: "/" + RunScopedName.make(prefix: prefix), byteCount: byteCount)
    }

    /// Opens a segment another process created; it must hold at least `byteCount` bytes, belong
    /// to this user and be private to it (mode 0600), else it is refused: a segment another user
    /// made under the expected name could feed this process anything. The byte ranges in
    /// `readOnly` (page-aligned) are mapped read-only (`mprotect`); returns with them writable
    /// only where the page size does not divide them.
    public static func open(name: String, byteCount: Int, readOnly: [Range<Int>] = []) throws -> SharedMemorySegment {
        let fd = shm_open(name, O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0)
        guard fd >= 0 else { throw SharedMemoryError(name: name, call: "shm_open", code: errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw SharedMemoryError(name: name, call: "fstat", code: errno) }
        guard info.st_uid == geteuid() else {
            throw SharedMemoryError(name: name, call: "owner check (the segment belongs to user \(info.st_uid), not to this user \(geteuid()))", code: EPERM)
        }
        guard info.st_mode & 0o077 == 0 else {
            throw SharedMemoryError(name: name, call: "mode check (mode \(String(info.st_mode & 0o777, radix: 8)); a run's segment is 0600)", code: EPERM)
        }
        guard Int(info.st_size) >= byteCount else {
            throw SharedMemoryError(name: name, call: "size check (\(info.st_size) bytes, \(byteCount) needed)", code: EINVAL)
        }
        let base = try map(fd, byteCount, name)
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        for range in readOnly where range.lowerBound % page == 0 && range.count % page == 0 && range.upperBound <= byteCount {
            _ = mprotect(base + range.lowerBound, range.count, PROT_READ)
        }
        return SharedMemorySegment(name: name, byteCount: byteCount, base: base, owner: false)
    }

    /// Unlinks this user's segments named `/PREFIX-PID-...` whose creating process is gone.
    /// Returns the names unlinked.
    @discardableResult
    public static func reclaimStale(prefix: String, directory: String = "/dev/shm") -> [String] {
        guard let handle = opendir(directory) else { return [] }
        defer { closedir(handle) }
        var reclaimed: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard RunScopedName.isLeftOver(name, prefix: prefix) else { continue }
            var info = stat()
            guard lstat(directory + "/" + name, &info) == 0, info.st_uid == geteuid(), (info.st_mode & S_IFMT) == S_IFREG else { continue }
            if shm_unlink("/" + name) == 0 { reclaimed.append(name) }
        }
        return reclaimed
    }

    private static func map(_ fd: Int32, _ byteCount: Int, _ name: String) throws -> UnsafeMutableRawPointer {
        guard let pointer = mmap(nil, byteCount, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), pointer != MAP_FAILED else {
            throw SharedMemoryError(name: name, call: "mmap", code: errno)
        }
        return pointer
    }

    /// `count` floats starting `offset` bytes into the segment.
    public func floats(at offset: Int, count: Int) -> UnsafeMutableBufferPointer<Float> {
        precondition(offset % 4 == 0 && offset + count * 4 <= byteCount, "float range outside the segment")
        return UnsafeMutableBufferPointer(start: (base + offset).assumingMemoryBound(to: Float.self), count: count)
    }

    deinit {
        munmap(base, byteCount)
        if owner { shm_unlink(name) }
    }
}

/// A shared-memory call that failed, with the segment's name and errno.
public struct SharedMemoryError: Error, CustomStringConvertible {
    public var name: String
    public var call: String
    public var code: Int32

    public var description: String {
        "shared memory \(name): \(call) failed: \(String(cString: strerror(code))) (errno \(code))"
    }
}
