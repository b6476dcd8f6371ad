#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file written from start to end in chunks (traces, event logs), with POSIX calls so that a
/// failure names the file and the system's reason (`FileWriteError`: "No space left on device")
/// rather than a Foundation error domain. Missing parent directories are made on opening.
public final class AppendOnlyFile {
    public let path: String
    private var fd: Int32

    /// Opens `path` for writing: emptied, or (with `append`) at its end.
    public init(path: String, append: Bool = false) throws(FileWriteError) {
        try AtomicFile.createDirectories(AtomicFile.parentDirectory(of: path))
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0o644)
        guard fd >= 0 else { throw FileWriteError(path: path, action: "open", code: errno) }
        self.path = path
        self.fd = fd
    }

    /// Writes `bytes` whole; returns how many were written before a failure, which it throws
    /// together with that count, so a caller can keep the rest for a later try.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(PartialWrite) {
        guard fd >= 0 else { throw PartialWrite(written: 0, error: FileWriteError(path: path, action: "write", code: EBADF)) }
        var written = 0
        while written < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + written, bytes.count - written)
            if n > 0 {
                written += n
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                throw PartialWrite(written: written, error: FileWriteError(path: path, action: "write", code: n < 0 ? errno : EIO))
            }
        }
    }

    /// A write that stopped after `written` bytes, and why.
    public struct PartialWrite: Error {
        public let written: Int
        public let error: FileWriteError
    }

    /// Closes the file (later writes fail with EBADF); closing twice does nothing.
    public func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    deinit { close() }
}
