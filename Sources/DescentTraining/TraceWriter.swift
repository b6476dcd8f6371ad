import DescentCore
import Foundation

/// One line of the per-step trace: what the coordinator (or the single-process trainer) did
/// for one applied update.
public struct StepRecord: Codable, Sendable, Equatable {
    public var step: Int
    public var epoch: Int
    public var rate: Float
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
    /// Milliseconds spent averaging the gradients and applying the update.
    public var updateMs: Double?
    /// Resident memory of the process (MB), every 100 steps.
    public var rssMB: Double?

    public init(step: Int, epoch: Int, rate: Float, ranks: [Int], samples: Int, loss: Double,
                gradientNorm: Double, slowestRank: Int? = nil, slowestLatencyMs: Double? = nil,
                fastestLatencyMs: Double? = nil, timeMs: Double? = nil, updateMs: Double? = nil, rssMB: Double? = nil) {
        self.step = step
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
        case gradientNorm = "gradient_norm"
        case slowestRank = "slowest_rank"
        case slowestLatencyMs = "slowest_latency_ms"
        case fastestLatencyMs = "fastest_latency_ms"
        case timeMs = "time_ms"
        case updateMs = "update_ms"
        case rssMB = "rss_mb"
    }
}

/// Writes JSON lines to a file, buffered. The lines go to a temporary file beside `path`, which
/// `close()` flushes and renames over `path` (see `AtomicFile`): an old file of the same name is
/// replaced only by a whole new one, and a path that cannot be written fails at `init`, before the run.
public final class JSONLinesWriter {
    private let path: String
    private var temporary: AtomicFile.Temporary?
    private var pending = Data()
    private let encoder: JSONEncoder

    public init(path: String) throws {
        self.path = path
        temporary = try AtomicFile.createTemporary(besides: path)
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
    }

    deinit {
        if let temporary { AtomicFile.discard(temporary) }
    }

    public func append<T: Encodable>(_ record: T) throws {
        pending.append(try encoder.encode(record))
        pending.append(0x0A)
        if pending.count > 1 << 16 { try flush() }
    }

    public func flush() throws {
        guard !pending.isEmpty, let temporary else { return }
        var failure: Int32 = 0
        pending.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = write(temporary.fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n > 0 { offset += n } else if n < 0 && errno == EINTR { continue } else { failure = n < 0 ? errno : EIO; return }
            }
        }
        guard failure == 0 else { throw FileWriteError(path: path, action: "write", code: failure) }
        pending.removeAll(keepingCapacity: true)
    }

    /// Writes what is buffered and puts the file in place. Closing twice is harmless.
    public func close() throws {
        guard let temporary else { return }
        do {
            try flush()
        } catch {
            AtomicFile.discard(temporary)
            self.temporary = nil
            throw error
        }
        self.temporary = nil
        try AtomicFile.commit(temporary, to: path)
    }
}

/// The resident memory of this process in MB (Linux: /proc/self/statm), nil where unknown.
public func residentMemoryMB() -> Double? {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Double(fields[1]) else { return nil }
    return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576
}
