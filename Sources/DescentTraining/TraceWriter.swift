import DescentCore
import Foundation

/// One line of the per-step trace: what the coordinator (or the single-process trainer) did
/// for one applied update.
public struct StepRecord: Codable, Sendable, Equatable {
    public var step: Int
    public var epoch: Int
    /// The rate SGD applied (float32).
    public var rate: Float
    /// The schedule's float64 rate before SGD's float32 rounding (`LearningRatePolicy.exactRate`).
    public var exactRate: Double?
    /// Ranks whose gradients were averaged into this update.
    public var ranks: [Int]
    public var samples: Int
    /// Mean training loss over the step's global batch.
    public var loss: Double
    /// L2 norm of the averaged gradient.
    public var gradientNorm: Double
    /// The rank whose gradient arrived last, and how long after the step was sent (ms).
    public var slowestRank: Int?
    public var slowestLatencyMs: Double?
    /// How long after the step was sent the first gradient arrived (ms).
    public var fastestLatencyMs: Double?
    /// Milliseconds since training started, when the update was applied.
    public var timeMs: Double?
    /// Milliseconds from the arrival of the gradient that completed the step (or, when none did,
    /// from the start of the update) to the update applied: the averaging sweep, the SGD (in that
    /// sweep when the update is written beside the parameters) and the bookkeeping.
    public var updateMs: Double?
    /// Resident memory of the process (MB), every 100 steps.
    public var rssMB: Double?
    /// Async and bounded modes: the step whose parameters the update's oldest gradient was
    /// computed at, its staleness (`step - paramStep`, the update's largest), and each rank's
    /// parameter step (in the order of `ranks`). Absent in sync mode, where staleness is 0.
    public var paramStep: Int?
    public var staleness: Int?
    public var paramSteps: [Int]?

    public init(step: Int, epoch: Int, rate: Float, ranks: [Int], samples: Int, loss: Double,
                gradientNorm: Double, slowestRank: Int? = nil, slowestLatencyMs: Double? = nil,
                fastestLatencyMs: Double? = nil, timeMs: Double? = nil, updateMs: Double? = nil, rssMB: Double? = nil,
                exactRate: Double? = nil) {
        self.step = step
        self.exactRate = exactRate
        self.epoch = epoch
        self.rate = rate
        self.ranks = ranks
        self.samples = samples
        self.loss = loss
        self.gradientNorm = gradientNorm
        self.slowestRank = slowestRank
        self.slowestLatencyMs = slowestLatencyMs
        self.fastestLatencyMs = fastestLatencyMs
        self.timeMs = timeMs
        self.updateMs = updateMs
        self.rssMB = rssMB
    }

    enum CodingKeys: String, CodingKey {
        case step, epoch, rate, ranks, samples, loss
        case exactRate = "exact_rate"
        case gradientNorm = "gradient_norm"
        case slowestRank = "slowest_rank"
        case slowestLatencyMs = "slowest_latency_ms"
        case fastestLatencyMs = "fastest_latency_ms"
        case timeMs = "time_ms"
        case updateMs = "update_ms"
        case rssMB = "rss_mb"
        case paramStep = "param_step"
        case staleness
        case paramSteps = "param_steps"
    }
}

/// Appends JSON lines to a file, buffered; `close()` flushes.
public final class JSONLinesWriter {
    private let file: AppendOnlyFile
    private let encoder: JSONEncoder
    /// The memory each per-step record's line is built in, kept from line to line.
    private var lineStorage: [UInt8] = []

    /// Opens `path` for writing: a new file, or (with `append`, for a resumed run) the end of the
    /// existing one.
    public init(path: String, append: Bool = false) throws {
        // Errors in the project's words (`FileWriteError`: the path, the step, the system's reason).
        file = try AppendOnlyFile(path: path, append: append)
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
    }

    /// A resumed run keeps only the records of the steps its checkpoint holds: steps applied after
    /// the checkpoint by a process that then died are applied again (identically), once.
    public static func truncate(_ path: String, toStepsBefore step: Int) throws {
        guard let data = FileManager.default.contents(atPath: path) else { return }
        struct StepOnly: Decodable { var step: Int }
        let decoder = JSONDecoder()
        var kept: [UInt8] = []
        for line in data.split(separator: 0x0A, omittingEmptySubsequences: true) {
            guard let record = try? decoder.decode(StepOnly.self, from: Data(line)), record.step < step else { continue }
            kept += line
            kept.append(0x0A)
        }
        try AtomicFile.write(kept, to: path)
    }

    public func append<T: Encodable>(_ record: T) throws {
        file.append(contentsOf: try encoder.encode(record))
        try endLine()
    }

    /// A per-step record, written by itself (see `JSONLineRecord`).
    public func append<T: JSONLineRecord>(_ record: T) throws {
        var object = JSONObjectText(reusing: &lineStorage)
        record.writeJSON(into: &object)
        let line = object.finished()
        lineStorage = object.storage()
        // Without a line, the encoder refuses the NaN or infinity, as it always did.
        file.append(contentsOf: try line ?? [UInt8](encoder.encode(record)))
        try endLine()
    }

    /// Ends the line; written out at the end of a line once 64 KB wait, so the file holds whole lines.
    private func endLine() throws {
        file.append(contentsOf: CollectionOfOne(0x0A))
        if file.pendingCount > 1 << 16 { try flush() }
    }

    /// Writes what is buffered. A failure (a full disk, a closed file) names the file and the
    /// system's reason (`FileWriteError`); what was not written is kept for a later try.
    public func flush() throws { try file.flush() }

    public func close() throws { try file.close() }
}

/// The resident memory of this process in MB (Linux: /proc/self/statm), nil where unknown.
/// (Read with `open` and `read` into the stack: it is sampled every 100 steps on the
/// coordinator's CPU, where Foundation's file reading took tens of microseconds.)
public func residentMemoryMB() -> Double? {
    let descriptor = open("/proc/self/statm", O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { return nil }
    defer { close(descriptor) }
    return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 128) { buffer -> Double? in
        let count = read(descriptor, buffer.baseAddress, buffer.count)
        guard count > 0 else { return nil }
        // "size resident shared ...": the second field, in pages.
        let fields = buffer[..<count].split(separator: UInt8(ascii: " "), maxSplits: 2)
        guard fields.count > 1, let pages = Double(String(decoding: fields[1], as: UTF8.self)) else { return nil }
        return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576
    }
}
