import Foundation
import Testing

/// The system tests: the built `descent` binary run as real processes talking over real
/// ZeroMQ sockets. They run one at a time (the machine has 2 cores).
@Suite(.serialized) struct SystemTests {}

/// Where things are for the system tests.
enum Paths {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The `descent` binary built beside this test bundle.
    static var descent: String {
        let bundleDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [
            bundleDirectory.appendingPathComponent("descent").path,
            bundleDirectory.deletingLastPathComponent().appendingPathComponent("descent").path,
            bundleDirectory.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("descent").path,
            packageRoot.appendingPathComponent(".build/debug/descent").path,
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates.last!
    }

    /// The real MNIST sample shared with the project (`$DESCENT_MNIST_SAMPLE` overrides).
    static var mnistSample: String? {
        let path = ProcessInfo.processInfo.environment["DESCENT_MNIST_SAMPLE"]
            ?? packageRoot.deletingLastPathComponent().appendingPathComponent("shared/data/mnist-sample").path
        return FileManager.default.fileExists(atPath: path + "/train-images-idx3-ubyte.gz") ? path : nil
    }

    static func temporaryDirectory(_ name: String) throws -> String {
        let path = NSTemporaryDirectory() + "descent-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

/// A child process whose output goes to files, with a deadline.
final class Child {
    let process = Process()
    let label: String
    let outPath: String
    let errPath: String

    init(_ label: String, executable: String = Paths.descent, _ arguments: [String], directory: String,
         environment: [String: String] = [:]) throws {
        self.label = label
        outPath = "\(directory)/\(label).out"
        errPath = "\(directory)/\(label).err"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle(forWritingAtPath: outPath)
        process.standardError = FileHandle(forWritingAtPath: errPath)
        process.standardInput = FileHandle.nullDevice
        // A child that crashes dies at once instead of waiting in the Swift backtracer (which can
        // hang here), so a test fails rather than hangs.
        process.environment = ProcessInfo.processInfo.environment.merging(["SWIFT_BACKTRACE": "enable=no"]) { _, new in new }
            .merging(environment) { _, new in new }
        try process.run()
    }

    /// Waits for the process to exit; kills it and records an issue past the deadline.
    @discardableResult
    func wait(seconds: Double = 120) -> Int32 {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            Issue.record("\(label) still running after \(seconds) s; killed. stderr: \(stderr.suffix(2000))")
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return -1
        }
        return process.terminationStatus
    }

    /// SIGKILL: the process dies at whatever instruction it is at (what a crash leaves behind).
    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// SIGTERM, as a user or a service manager stops it: it cleans up (a coordinator removes its
    /// shared-memory segment); killed and recorded as an issue past the deadline.
    func terminate(seconds: Double = 30) {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        wait(seconds: seconds)
    }

    var stdout: String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }

    /// Waits until `text` appears in stdout or stderr (or the process exits, or the deadline).
    func waitFor(_ text: String, seconds: Double = 30) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if stdout.contains(text) || stderr.contains(text) { return true }
            if !process.isRunning { return stdout.contains(text) || stderr.contains(text) }
            usleep(20_000)
        }
        return false
    }
}

/// Writes small MNIST-shaped IDX files (raw, big-endian headers, written here byte by byte,
/// independently of the reader under test).
enum SyntheticMNIST {
    static func write(to directory: String, train: Int, test: Int, seed: UInt64 = 1) throws {
        var state = seed
        func next() -> UInt8 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
        func images(_ count: Int, labels: [UInt8]) -> [UInt8] {
            var bytes = header(magic: 0x0000_0803, dims: [count, 28, 28])
            for i in 0..<count {
                // A class-dependent bright stripe plus noise, so the classes are learnable.
                let label = Int(labels[i])
                for row in 0..<28 {
                    for column in 0..<28 {
                        let stripe = (row / 3) == label ? 200 : 0
                        bytes.append(UInt8(min(255, stripe + Int(next() % 40))))
                        _ = column
                    }
                }
            }
            return bytes
        }
        func labels(_ count: Int) -> [UInt8] { (0..<count).map { _ in next() % 10 } }
        func header(magic: UInt32, dims: [Int]) -> [UInt8] {
            var bytes: [UInt8] = []
            for value in [Int(magic)] + dims {
                bytes += [UInt8(value >> 24 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
            }
            return bytes
        }
        for (name, count) in [("train", train), ("t10k", test)] {
            let y = labels(count)
            try Data(images(count, labels: y)).write(to: URL(fileURLWithPath: "\(directory)/\(name)-images-idx3-ubyte"))
            try Data(header(magic: 0x0000_0801, dims: [count]) + y).write(to: URL(fileURLWithPath: "\(directory)/\(name)-labels-idx1-ubyte"))
        }
    }
}

/// Reads a JSON-lines file into dictionaries.
func jsonLines(_ path: String) throws -> [[String: Any]] {
    try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
        try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
    }
}

/// The number each line of a JSON-lines file gives `key`, read from its text with `Double(_:)`
/// (correctly rounded). Foundation's JSONSerialization reads a printed double up to a few ulps
/// off on Linux, which is enough to tip it to the neighbouring float32 when it lies on a
/// float32 midpoint (a latency from two clock readings can: it has few significant bits).
func exactNumbers(_ key: String, in path: String) throws -> [Double?] {
    try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map { line in
        guard let start = line.range(of: "\"\(key)\":")?.upperBound else { return nil }
        let text = line[start...].prefix { !",}".contains($0) }
        return Double(text)
    }
}

/// Reads a parameter file written with `--save` (magic DSCP, version, count, float32 values),
/// parsed here independently of the writer.
func readParameters(_ path: String) throws -> [Float] {
    let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    #expect(Array(bytes[0..<4]) == Array("DSCP".utf8))
    var count = 0
    for i in 0..<8 { count |= Int(bytes[8 + i]) << (8 * i) }
    #expect(bytes.count == 16 + 4 * count)
    return (0..<count).map { k in
        var bits: UInt32 = 0
        for i in 0..<4 { bits |= UInt32(bytes[16 + 4 * k + i]) << (8 * i) }
        return Float(bitPattern: bits)
    }
}

/// Writes a config file and returns its path.
func writeConfig(_ yaml: String, in directory: String, name: String = "run.yaml") throws -> String {
    let path = "\(directory)/\(name)"
    try yaml.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

/// A copy of the package's file at `relativePath` with each `from` replaced by its `to`, written
/// into `directory` as `name`; fails when the file no longer holds a `from`.
func editedPackageFile(_ relativePath: String, replacing edits: [(from: String, to: String)], in directory: String,
                       name: String) throws -> String {
    var text = try String(contentsOfFile: Paths.packageRoot.appendingPathComponent(relativePath).path, encoding: .utf8)
    for (from, to) in edits {
        try #require(text.contains(from), "\(relativePath) no longer says '\(from)'")
        text = text.replacingOccurrences(of: from, with: to)
    }
    return try writeConfig(text, in: directory, name: name)
}

extension SyntheticMNIST {
    /// A full-size set, quickly: 60,000 training and 10,000 test images (raw IDX, 55 MB), each a
    /// class-dependent stripe, so that memory use is measured on the real sizes.
    static func writeFullSize(to directory: String) throws {
        for (name, count) in [("train", 60_000), ("t10k", 10_000)] {
            var labels = [UInt8](repeating: 0, count: count)
            var pixels = [UInt8](repeating: 0, count: count * 784)
            for i in 0..<count {
                let label = (i * 7 + 3) % 10
                labels[i] = UInt8(label)
                pixels.withUnsafeMutableBufferPointer { p in
                    let start = i * 784 + label * 78
                    p.baseAddress!.advanced(by: start).update(repeating: 200, count: 78)
                }
            }
            func header(_ values: [Int]) -> [UInt8] {
                values.flatMap { v in [UInt8(v >> 24 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
            }
            try Data(header([0x0803, count, 28, 28]) + pixels).write(to: URL(fileURLWithPath: "\(directory)/\(name)-images-idx3-ubyte"))
            try Data(header([0x0801, count]) + labels).write(to: URL(fileURLWithPath: "\(directory)/\(name)-labels-idx1-ubyte"))
        }
    }
}
