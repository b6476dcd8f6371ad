import Foundation

/// A fresh directory under the system's temporary directory; `remove()` deletes it.
struct TemporaryDirectory {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "descent-data-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { path + "/" + name }

    func write(_ bytes: [UInt8], to name: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: file(name)))
    }

    func read(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: file(name))))
    }

    /// The names in the directory, hidden ones included, sorted.
    func listing() throws -> [String] {
        try TemporaryDirectory.list(path)
    }

    /// The names in `directory`, hidden ones included, sorted.
    static func list(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Runs a program to completion and returns its standard output; throws when it exits non-zero.
@discardableResult
func runTool(_ executable: String, _ arguments: [String], input: [UInt8]? = nil) throws -> [UInt8] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let output = Pipe()
    process.standardOutput = output
    let inputPipe = Pipe()
    if input != nil { process.standardInput = inputPipe }
    try process.run()
    if let input {
        // Feed stdin from another thread so a large output cannot deadlock both pipes.
        let writer = inputPipe.fileHandleForWriting
        let data = Data(input)
        Thread.detachNewThread {
            writer.write(data)
            try? writer.close()
        }
    }
    let result = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw ToolFailure(description: "\(executable) \(arguments.joined(separator: " ")) exited with \(process.terminationStatus)")
    }
    return [UInt8](result)
}

struct ToolFailure: Error, CustomStringConvertible {
    var description: String
}

/// Gzip-compresses `bytes` with /bin/gzip (an implementation independent of the code under test).
func gzipWithTool(_ bytes: [UInt8]) throws -> [UInt8] {
    try runTool("/bin/gzip", ["-c", "-n"], input: bytes)
}

/// The SHA-256 of a file as `sha256sum` prints it.
func sha256sumOfFile(_ path: String) throws -> String {
    let output = String(decoding: try runTool("/usr/bin/sha256sum", [path]), as: UTF8.self)
    return String(output.prefix(64))
}

/// A big-endian IDX file: magic, dimensions, payload, written byte by byte from the format's definition.
func idxBytes(magic: UInt32, dimensions: [UInt32], payload: [UInt8]) -> [UInt8] {
    var bytes: [UInt8] = []
    for word in [magic] + dimensions {
        bytes += [UInt8(word >> 24), UInt8((word >> 16) & 0xFF), UInt8((word >> 8) & 0xFF), UInt8(word & 0xFF)]
    }
    return bytes + payload
}

/// An IDX image file of `count` images of `rows` x `columns`, pixel k of the file being `k % 251`.
func idxImages(count: Int, rows: Int = 28, columns: Int = 28) -> [UInt8] {
    idxBytes(
        magic: 0x0000_0803, dimensions: [UInt32(count), UInt32(rows), UInt32(columns)],
        payload: (0..<(count * rows * columns)).map { UInt8($0 % 251) })
}

/// An IDX label file holding `labels`.
func idxLabels(_ labels: [UInt8]) -> [UInt8] {
    idxBytes(magic: 0x0000_0801, dimensions: [UInt32(labels.count)], payload: labels)
}

/// Pseudo-random bytes from a fixed linear congruential sequence (test data, not under test).
func patternBytes(_ count: Int, seed: UInt32 = 12345) -> [UInt8] {
    var state = seed
    return (0..<count).map { _ in
        state = state &* 1_103_515_245 &+ 12345
        return UInt8(truncatingIfNeeded: state >> 16)
    }
}
