#if canImport(Glibc)
import Glibc
#endif

/// Atomic, durable replacement of a file with POSIX calls: write a temporary file in the same
/// directory, fsync it, rename it over the target, fsync the directory. A reader sees the old
/// file or the new one, never a part; a failure leaves the old file as it was.
public enum DurableFile {
    public struct Failure: Error, CustomStringConvertible {
        public var path: String
        public var operation: String
        public var errno: Int32
        public var description: String { "cannot \(operation) \(path): \(String(cString: strerror(errno)))" }
    }

    public static func write(_ bytes: [UInt8], to path: String) throws {
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) }.map { $0.isEmpty ? "/" : $0 } ?? "."
        let name = path.split(separator: "/").last.map(String.init) ?? path
        let temporary = "\(directory)/.\(name).tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Failure(path: temporary, operation: "create", errno: errno) }
        var ok = false
        defer {
            if !ok { unlink(temporary) }
        }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                let code = errno
                close(fd)
                throw Failure(path: temporary, operation: "write", errno: code)
            }
            written += n
        }
        guard fsync(fd) == 0 else {
            let code = errno
            close(fd)
            throw Failure(path: temporary, operation: "fsync", errno: code)
        }
        close(fd)
        guard rename(temporary, path) == 0 else { throw Failure(path: path, operation: "rename onto", errno: errno) }
        ok = true
        let dirFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirFD >= 0 {
            _ = fsync(dirFD)
            close(dirFD)
        }
    }
}
