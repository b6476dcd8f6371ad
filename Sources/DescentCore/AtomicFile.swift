#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Replaces a file atomically, the POSIX way: the bytes go to a new temporary file in the same
/// directory, which is flushed (`fsync`) and renamed over the target (`rename` is atomic within a
/// file system), then the directory is flushed so the rename survives a crash. Readers see the
/// old file or the whole new one; on any failure the old file is untouched and the temporary
/// file removed. Errors are `FileWriteError`s in words, with the path.
public enum AtomicFile {
    /// Writes `bytes` to `path`, creating missing parent directories (mode 0755).
    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644) throws(FileWriteError) {
        let temporary = try createTemporary(besides: path, mode: mode)
        var failure: FileWriteError?
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = Glibc.write(temporary.fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n > 0 { offset += n } else if n < 0 && errno == EINTR { continue } else {
                    failure = FileWriteError(path: path, action: "write", code: n < 0 ? errno : EIO); return
                }
            }
        }
        if let failure {
            discard(temporary)
            throw failure
        }
        try commit(temporary, to: path)
    }

    /// Writes the UTF-8 of `text` to `path`.
    public static func write(_ text: String, to path: String) throws(FileWriteError) {
        try write(Array(text.utf8), to: path)
    }

    /// A temporary file beside `path`, open for writing: write to `fd`, then `commit` or `discard`.
    public struct Temporary: Sendable {
        public let fd: Int32
        public let path: String
    }

    /// Creates the temporary file for a later `commit` to `path` (for files written in pieces).
    public static func createTemporary(besides path: String, mode: mode_t = 0o644) throws(FileWriteError) -> Temporary {
        let directory = parentDirectory(of: path)
        try createDirectories(directory, for: path)
        var random = SystemRandomNumberGenerator()
        let name = lastComponent(of: path)
        for _ in 0..<8 {
            let candidate = join(directory, ".\(name).tmp-\(getpid())-\(String(random.next() & 0xFFFF_FFFF, radix: 16))")
            let fd = open(candidate, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
            if fd >= 0 { return Temporary(fd: fd, path: candidate) }
            if errno != EEXIST { throw FileWriteError(path: path, action: "create a file in \(directory)", code: errno) }
        }
        throw FileWriteError(path: path, action: "create a temporary file", code: EEXIST)
    }

    /// Flushes the temporary file, renames it over `path` and flushes the directory.
    public static func commit(_ temporary: Temporary, to path: String) throws(FileWriteError) {
        if fsync(temporary.fd) != 0 {
            let code = errno
            discard(temporary)
            throw FileWriteError(path: path, action: "flush", code: code)
        }
        close(temporary.fd)
        if rename(temporary.path, path) != 0 {
            let code = errno
            unlink(temporary.path)
            throw FileWriteError(path: path, action: "replace", code: code)
        }
        let directory = open(parentDirectory(of: path), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directory >= 0 {
            _ = fsync(directory)
            close(directory)
        }
    }

    /// Closes and removes the temporary file; the target is untouched.
    public static func discard(_ temporary: Temporary) {
        close(temporary.fd)
        unlink(temporary.path)
    }

    /// Nil when `path` can be written by `write` (its directory exists or can be made, and is
    /// writable; it is not a directory), else the problem in words: for checks before a long run.
    public static func problemWriting(_ path: String) -> String? {
        var info = stat()
        if stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR { return "\(path) is a directory" }
        var directory = parentDirectory(of: path)
        while true {
            if stat(directory, &info) == 0 {
                guard (info.st_mode & S_IFMT) == S_IFDIR else { return "\(directory) is not a directory" }
                guard access(directory, W_OK | X_OK) == 0 else {
                    return "cannot write in \(directory): \(String(cString: strerror(errno)))"
                }
                // access() says yes to root almost everywhere, /proc and /sys included: create
                // (and remove) a file there to be sure.
                var probe = Array("\(directory)/.descent-probe-XXXXXX".utf8CString)
                let fd = mkstemp(&probe)
                guard fd >= 0 else { return "cannot write in \(directory): \(String(cString: strerror(errno)))" }
                close(fd)
                unlink(probe)
                return nil
            }
            let parent = parentDirectory(of: directory)
            if parent == directory { return "no directory of \(path) exists" }
            directory = parent
        }
    }

    static func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let parent = String(path[..<slash])
        return parent.isEmpty ? "/" : parent
    }

    static func lastComponent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    private static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// Makes `directory` and the missing ones above it (mode 0755), as `write` does for a file's.
    public static func createDirectories(_ directory: String) throws(FileWriteError) {
        try createDirectories(directory, for: directory)
    }

    private static func createDirectories(_ directory: String, for path: String) throws(FileWriteError) {
        var info = stat()
        if stat(directory, &info) == 0 { return }
        let parent = parentDirectory(of: directory)
        if parent != directory { try createDirectories(parent, for: path) }
        if mkdir(directory, 0o755) != 0 && errno != EEXIST {
            throw FileWriteError(path: path, action: "create the directory \(directory)", code: errno)
        }
    }
}

/// A file that could not be written: its path, what was being done, and the system's reason.
public struct FileWriteError: Error, Equatable, CustomStringConvertible {
    public let path: String
    public let action: String
    public let code: Int32

    public init(path: String, action: String, code: Int32) {
        self.path = path
        self.action = action
        self.code = code
    }

    public var description: String {
        "cannot write \(path) (\(action) failed: \(String(cString: strerror(code)))). Check that its directory exists and is writable, and that the disk has room."
    }
}
