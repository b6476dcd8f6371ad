import DescentCore
import DescentData
import Foundation

/// Everything a run needs to continue exactly where it stopped: the training progress (step,
/// rate, schedule state, SGD velocity, tally, data position), the parameters, and who wrote it
/// (run id, generation, config digest).
///
/// File layout (little-endian): "DSCK", format version u32, JSON length u64, the JSON of
/// `Checkpoint.Header`, parameter count u64, the float32 parameters, then the SHA-256 of all the
/// bytes before it. Written with `AtomicFile` (temporary file, fsync, rename, fsync of the
/// directory), so a reader never sees half a checkpoint.
public struct Checkpoint: Sendable, Equatable {
    public static let formatVersion: UInt32 = 1
    static let magic: [UInt8] = Array("DSCK".utf8)

    public struct Header: Codable, Sendable, Equatable {
        public var runID: UInt64
        public var generation: UInt32
        public var configDigest: UInt64
        public var progress: TrainingProgress

        enum CodingKeys: String, CodingKey {
            case progress
            case runID = "run_id"
            case generation
            case configDigest = "config_digest"
        }
    }

    public var header: Header
    public var parameters: [Float]

    /// Who writes a run's checkpoints.
    public struct Identity: Sendable, Equatable {
        public var runID: UInt64
        public var generation: UInt32
        public var configDigest: UInt64

        public init(runID: UInt64, generation: UInt32, configDigest: UInt64) {
            self.runID = runID
            self.generation = generation
            self.configDigest = configDigest
        }
    }

    public init(identity: Identity, progress: TrainingProgress, parameters: [Float]) {
        self.init(runID: identity.runID, generation: identity.generation, configDigest: identity.configDigest,
                  progress: progress, parameters: parameters)
    }

    public var identity: Identity {
        Identity(runID: header.runID, generation: header.generation, configDigest: header.configDigest)
    }

    public init(runID: UInt64, generation: UInt32, configDigest: UInt64, progress: TrainingProgress, parameters: [Float]) {
        header = Header(runID: runID, generation: generation, configDigest: configDigest, progress: progress)
        self.parameters = parameters
    }

    public var step: Int { header.progress.step }

    /// The file's bytes.
    public func encoded() throws -> [UInt8] {
        let json = try JSONEncoder().encode(header)
        var bytes = Checkpoint.magic
        bytes.reserveCapacity(json.count + parameters.count * 4 + 64)
        append(Checkpoint.formatVersion, to: &bytes)
        append(UInt64(json.count), to: &bytes)
        bytes += json
        append(UInt64(parameters.count), to: &bytes)
        parameters.withUnsafeBytes { bytes += $0 }
        var hash = SHA256Hasher()
        hash.update(bytes)
        bytes += hash.finalize()
        return bytes
    }

    /// Reads and checks a checkpoint file's bytes; every defect is a `CheckpointError` naming it.
    public static func decode(_ data: [UInt8], path: String) throws -> Checkpoint {
        func fail(_ problem: String) -> CheckpointError { CheckpointError(path: path, problem: problem) }
        guard data.count >= 4 + 4 + 8 + 8 + 32 else { throw fail("truncated (\(data.count) bytes)") }
        guard Array(data[0..<4]) == magic else { throw fail("not a Descent checkpoint (bad magic)") }
        var hash = SHA256Hasher()
        hash.update(data[..<(data.count - 32)])
        guard hash.finalize() == Array(data[(data.count - 32)...]) else {
            throw fail("the checksum does not match: the file is truncated or corrupted")
        }
        let version = read(UInt32.self, data, at: 4)
        guard version <= formatVersion else {
            throw fail("format version \(version) is newer than this Descent reads (\(formatVersion)); use a newer Descent")
        }
        let jsonLength = read(UInt64.self, data, at: 8)
        // The header, the parameter count (8 bytes) and the seal (32) must all fit after it.
        guard jsonLength <= UInt64(data.count - 56) else { throw fail("header length \(jsonLength) exceeds the file") }
        let jsonEnd = 16 + Int(jsonLength)
        let header: Header
        do {
            header = try JSONDecoder().decode(Header.self, from: Data(data[16..<jsonEnd]))
        } catch {
            throw fail("the header does not decode: \(error)")
        }
        let count = read(UInt64.self, data, at: jsonEnd)
        guard count == UInt64(data.count - jsonEnd - 8 - 32) / 4, UInt64(data.count - jsonEnd - 8 - 32) % 4 == 0 else {
            throw fail("holds \(data.count - jsonEnd - 40) parameter bytes for \(count) parameters")
        }
        var parameters = [Float](repeating: 0, count: Int(count))
        parameters.withUnsafeMutableBytes { target in
            data.withUnsafeBytes { source in
                target.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[(jsonEnd + 8)..<(jsonEnd + 8 + Int(count) * 4)]))
            }
        }
        guard parameters.allSatisfy(\.isFinite) else { throw fail("holds non-finite parameters") }
        return Checkpoint(runID: header.runID, generation: header.generation, configDigest: header.configDigest,
                          progress: header.progress, parameters: parameters)
    }

    private func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
    }

    private static func read<T: FixedWidthInteger>(_ type: T.Type, _ data: [UInt8], at offset: Int) -> T {
        data.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
    }
}

/// A checkpoint file that cannot be used, and why.
public struct CheckpointError: Error, CustomStringConvertible, Equatable {
    public var path: String
    public var problem: String
    public var description: String { "checkpoint \(path): \(problem)" }
}

/// A directory of checkpoints: `checkpoint-<step>.dsck`, the newest few kept.
public struct CheckpointStore: Sendable {
    public let directory: String
    public let keep: Int

    public init(directory: String, keep: Int = 3) {
        self.directory = directory
        self.keep = max(1, keep)
    }

    /// Checks before training that checkpoints can be written here (creates the directory).
    public func prepare() throws {
        do {
            try AtomicFile.createDirectories(directory)
        } catch {
            throw CheckpointError(path: directory, problem: "cannot create the checkpoint directory (\(error.action): \(String(cString: strerror(error.code))))")
        }
        // The check that writes (and removes) a file there: access() says yes to root even where it cannot.
        if let problem = AtomicFile.problemWriting("\(directory)/checkpoint") {
            throw CheckpointError(path: directory, problem: "the checkpoint directory is not writable (\(problem))")
        }
    }

    public func path(step: Int) -> String {
        let digits = String(step)
        return "\(directory)/checkpoint-\(String(repeating: "0", count: max(0, 12 - digits.count)))\(digits).dsck"
    }

    /// Writes atomically, then removes all but the newest `keep`.
    public func save(_ checkpoint: Checkpoint) throws {
        try AtomicFile.write(try checkpoint.encoded(), to: path(step: checkpoint.step))
        for old in files().dropFirst(keep) { unlink(old) }
    }

    /// Checkpoint files, newest (highest step) first.
    public func files() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasPrefix("checkpoint-") && $0.hasSuffix(".dsck") }.sorted(by: >).map { "\(directory)/\($0)" }
    }

    /// The newest checkpoint that reads and checks; a bad newer one is skipped with `warn`.
    /// `accept` refuses checkpoints of another run config (throwing says why).
    public func latest(warn: (String) -> Void, accept: (Checkpoint, String) throws -> Void) throws -> Checkpoint {
        let candidates = files()
        guard !candidates.isEmpty else {
            throw CheckpointError(path: directory, problem: "holds no checkpoint (checkpoint-*.dsck); nothing to resume")
        }
        var problems: [String] = []
        for path in candidates {
            do {
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw CheckpointError(path: path, problem: "cannot be read")
                }
                let checkpoint = try Checkpoint.decode(Array(data), path: path)
                try accept(checkpoint, path)
                if !problems.isEmpty { warn("resuming from the older checkpoint \(path)") }
                return checkpoint
            } catch {
                problems.append("\(error)")
                warn("skipping \(error)")
            }
        }
        throw CheckpointError(path: directory, problem: "no usable checkpoint: " + problems.joined(separator: "; "))
    }
}
