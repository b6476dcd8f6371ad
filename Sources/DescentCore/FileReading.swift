#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads small files (configs, keys) with POSIX calls, so a failure reads in plain words
/// ("No such file or directory") and a huge or endless file is refused instead of loaded.
public enum FileReading {
    /// The bytes of `path`, at most `maxBytes` of them.
    public static func bytes(of path: String, maxBytes: Int) throws(FileReadError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileReadError(path: path, problem: String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw FileReadError(path: path, problem: String(cString: strerror(errno))) }
        guard (info.st_mode & S_IFMT) != S_IFDIR else { throw FileReadError(path: path, problem: "is a directory, not a file") }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                guard result.count + n <= maxBytes else {
                    throw FileReadError(path: path, problem: "is larger than \(maxBytes) bytes, too large for this kind of file")
                }
                result.append(contentsOf: chunk[0..<n])
            } else if n == 0 {
                return result
            } else if errno != EINTR {
                throw FileReadError(path: path, problem: String(cString: strerror(errno)))
            }
        }
    }

    /// The UTF-8 text of `path`, at most `maxBytes` bytes.
    public static func text(of path: String, maxBytes: Int) throws(FileReadError) -> String {
        let bytes = try bytes(of: path, maxBytes: maxBytes)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw FileReadError(path: path, problem: "is not UTF-8 text")
        }
        return text
    }
}

/// A file that could not be read: its path and the reason, in words.
public struct FileReadError: Error, Equatable, CustomStringConvertible {
    public let path: String
    public let problem: String
    public init(path: String, problem: String) {
        self.path = path
        self.problem = problem
    }
    public var description: String { "\(path): \(problem)" }
}
