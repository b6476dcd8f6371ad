#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// CURVE keys on disk: one key per file as Z85 text (lines starting with `#` are comments).
///
/// A secret key file is created with `O_CREAT | O_EXCL` and mode 0600 in the one `open` call,
/// so it is never readable by others, not even for a moment, and never replaces a file; it is
/// refused when it is readable or writable by the group or others, or owned by another user.
public enum CurveKeyFiles {
    /// Writes `secretKey` to a new file `path` (mode 0600); fails when `path` exists.
    public static func writeSecret(_ secretKey: String, to path: String, comment: String) throws(CurveKeyError) {
        try writeNew("# \(comment)\n# Keep this file private (mode 0600).\n\(secretKey)\n", to: path, mode: 0o600)
    }

    /// Writes `publicKey` to a new file `path` (mode 0644); fails when `path` exists.
    public static func writePublic(_ publicKey: String, to path: String, comment: String) throws(CurveKeyError) {
        try writeNew("# \(comment)\n\(publicKey)\n", to: path, mode: 0o644)
    }

    /// The key pair whose secret key `path` holds, after checking the file's owner and mode.
    public static func readSecret(_ path: String) throws(CurveKeyError) -> CurveKeyPair {
        let text = try read(path, secret: true)
        do {
            return try CurveKeyPair(secretKey: text)
        } catch {
            throw .file(path: path, problem: "\(error)")
        }
    }

    /// The public key `path` holds.
    public static func readPublic(_ path: String) throws(CurveKeyError) -> String {
        let text = try read(path, secret: false)
        guard CurveKeyPair.isZ85Key(text) else {
            throw .file(path: path, problem: "not a CURVE public key (40 Z85 characters expected)")
        }
        return text
    }

    private static func writeNew(_ text: String, to path: String, mode: mode_t) throws(CurveKeyError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)
        guard fd >= 0 else {
            let code = errno
            throw .file(path: path, problem: code == EEXIST
                ? "already exists; keys are never overwritten, pick an empty directory or remove the old keys first"
                : "cannot create it: \(String(cString: strerror(code)))")
        }
        var failure: Int32 = 0
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n > 0 { offset += n } else if n < 0 && errno == EINTR { continue } else { failure = n < 0 ? errno : EIO; return }
            }
            if fsync(fd) != 0 { failure = errno }
        }
        close(fd)
        if failure != 0 {
            unlink(path)
            throw .file(path: path, problem: "cannot write it: \(String(cString: strerror(failure)))")
        }
    }

    private static func read(_ path: String, secret: Bool) throws(CurveKeyError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            throw .file(path: path, problem: code == ENOENT ? "no such key file" : "cannot read it: \(String(cString: strerror(code)))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .file(path: path, problem: "cannot stat it: \(String(cString: strerror(errno)))") }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw .file(path: path, problem: "not a regular file") }
        if secret {
            guard info.st_mode & 0o077 == 0 else {
                throw .file(path: path, problem: "secret key file is readable or writable by others (mode \(String(info.st_mode & 0o777, radix: 8))); run 'chmod 600 \(path)'")
            }
            guard info.st_uid == geteuid() || geteuid() == 0 else {
                throw .file(path: path, problem: "secret key file belongs to user \(info.st_uid), not to this user (\(geteuid()))")
            }
        }
        guard info.st_size <= 4096 else { throw .file(path: path, problem: "too large for a key file (\(info.st_size) bytes)") }
        var buffer = [UInt8](repeating: 0, count: 4097)
        var total = 0
        while total < buffer.count {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + total, $0.count - total) }
            if n > 0 { total += n } else if n < 0 && errno == EINTR { continue } else { break }
        }
        let lines = String(decoding: buffer[0..<total], as: UTF8.self).split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: " \t\r") }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        guard lines.count == 1 else {
            throw .file(path: path, problem: "expected one key line (40 Z85 characters), found \(lines.count)")
        }
        return lines[0]
    }
}

private extension Substring {
    func trimmingCharacters(in characters: String) -> String {
        let set = Set(characters)
        var slice = self[...]
        while let first = slice.first, set.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, set.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}
