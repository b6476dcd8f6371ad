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

    /// Creates a new zero-filled segment readable and writable by this user only.
    public static func create(name: String, byteCount: Int) throws -> SharedMemorySegment {
        let fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0o600)
        guard fd >= 0 else { throw SharedMemoryError(name: name, call: "shm_open (create)", code: errno) }
        defer { close(fd) }
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

    /// Opens a segment another process created; it must hold at least `byteCount` bytes.
    public static func open(name: String, byteCount: Int) throws -> SharedMemorySegment {
        let fd = shm_open(name, O_RDWR, 0)
        guard fd >= 0 else { throw SharedMemoryError(name: name, call: "shm_open", code: errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw SharedMemoryError(name: name, call: "fstat", code: errno) }
        guard Int(info.st_size) >= byteCount else {
            throw SharedMemoryError(name: name, call: "size check (\(info.st_size) bytes, \(byteCount) needed)", code: EINVAL)
        }
        return SharedMemorySegment(name: name, byteCount: byteCount, base: try map(fd, byteCount, name), owner: false)
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
