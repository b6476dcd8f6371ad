#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file written from start to end through a buffer (traces, event logs), with POSIX calls, so
/// that a failure names the file and the system's reason (`FileWriteError`: "No space left on
/// device") rather than a Foundation error domain. Missing parent directories are made on
/// opening. Bytes reach the file only on `flush`, so a writer that flushes at record boundaries
/// leaves whole records on disk; bytes a failed write did not take stay buffered for a later try.
public final class AppendOnlyFile {
    public let path: String
    private var fd: Int32
    /// Bytes appended and not yet written (visible to the inlined appends, so that a trace line
    /// is copied in with one memcpy at the caller rather than through a generic witness).
    @usableFromInline var pending: [UInt8] = []

    /// Opens `path` for writing: emptied, or (with `append`) at its end.
    public init(path: String, append: Bool = false) throws(FileWriteError) {
        try AtomicFile.createDirectories(AtomicFile.parentDirectory(of: path))
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0o644)
        guard fd >= 0 else { throw FileWriteError(path: path, action: "open", code: errno) }
        self.path = path
        self.fd = fd
        pending.reserveCapacity(1 << 17)
    }

    /// Bytes appended and not yet written.
    public var pendingCount: Int { pending.count }

    /// Buffers `bytes` (nothing is written until `flush`).
    @inlinable
    public func append<Bytes: Sequence<UInt8>>(contentsOf bytes: Bytes) {
        pending.append(contentsOf: bytes)
    }

    /// Buffers the bytes of a value (a length, a checksum), as they lie in memory.
    @inlinable
    public func append<T>(bytesOf value: T) {
        withUnsafeBytes(of: value) { pending.append(contentsOf: $0) }
    }

    /// Writes what is buffered.
    public func flush() throws(FileWriteError) {
        guard !pending.isEmpty else { return }
        guard fd >= 0 else { throw FileWriteError(path: path, action: "write", code: EBADF) }
        var written = 0
        let failure: Int32? = pending.withUnsafeBytes { bytes in
            while written < bytes.count {
                let n = Glibc.write(fd, bytes.baseAddress! + written, bytes.count - written)
                if n > 0 {
                    written += n
                } else if n < 0 && errno == EINTR {
                    continue
                } else {
                    return n < 0 ? errno : EIO
                }
            }
            return nil
        }
        pending.removeFirst(written)
        if let failure { throw FileWriteError(path: path, action: "write", code: failure) }
    }

    /// Writes what is buffered and closes the file (whether or not that write failed); closing
    /// again does nothing but report bytes still unwritten.
    public func close() throws(FileWriteError) {
        defer {
            if fd >= 0 { Glibc.close(fd) }
            fd = -1
        }
        try flush()
    }

    deinit {
        if fd >= 0 { Glibc.close(fd) }
    }
}
