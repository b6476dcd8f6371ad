import DescentCore
import DescentTraining
import Foundation

/// Keeps what a report needs in a run directory besides the step trace: a copy of the config
/// (`config.yaml`) and `events.jsonl`, one JSON line per run start, epoch, membership event,
/// rejection total and end (steps stay in the trace: `coordinator.jsonl` or `trace.jsonl`).
/// Lines are written as they happen; there are a few per epoch.
public final class RunRecorder: RunObserver, @unchecked Sendable {
    public let directory: String
    private let events: JSONLinesWriter

    /// Creates `directory`, copies the config file there and starts `events.jsonl`.
    public init(directory: String, configPath: String) throws {
        self.directory = directory
        try AtomicFile.createDirectories(directory)
        let copy = "\(directory)/\(RunDirectory.configName)"
        if URL(fileURLWithPath: configPath).standardizedFileURL != URL(fileURLWithPath: copy).standardizedFileURL {
            try AtomicFile.write(try FileReading.bytes(of: configPath, maxBytes: 1 << 24), to: copy)
        }
        events = try JSONLinesWriter(path: "\(directory)/\(RunDirectory.eventsName)")
    }

    public func runStarted(_ run: RunDescription) { record(.runStarted(run)) }
    public func epochFinished(_ epoch: EpochReport) { record(.epoch(epoch)) }
    public func event(_ event: RunEvent) { record(.event(event)) }
    public func rejectionsCounted(_ totals: [String: Int]) {
        guard !totals.isEmpty else { return }
        record(.rejections(totals))
    }
    public func runFinished(_ summary: RunSummary) {
        record(.runFinished(RunEnd(steps: summary.steps, testLoss: summary.testLoss, testAccuracy: summary.testAccuracy,
                                   finalRate: summary.finalRate, seconds: summary.seconds,
                                   meanStaleness: summary.staleness?.mean, maxStaleness: summary.staleness?.max)))
        try? events.close()
    }
    public func runFailed(_ message: String) {
        record(.runFailed(message))
        try? events.close()
    }

    private func record(_ line: RunEventLine) {
        try? events.append(line)
        try? events.flush()
    }
}

/// How a run ended.
public struct RunEnd: Codable, Sendable, Equatable {
    public var steps: Int
    public var testLoss: Double
    public var testAccuracy: Double
    public var finalRate: Float
    public var seconds: Double
    /// Async and bounded modes: mean and largest staleness of the applied gradients (absent in sync mode).
    public var meanStaleness: Double?
    public var maxStaleness: Int?

    public init(steps: Int, testLoss: Double, testAccuracy: Double, finalRate: Float, seconds: Double,
                meanStaleness: Double? = nil, maxStaleness: Int? = nil) {
        self.meanStaleness = meanStaleness
        self.maxStaleness = maxStaleness
        self.steps = steps
        self.testLoss = testLoss
        self.testAccuracy = testAccuracy
        self.finalRate = finalRate
        self.seconds = seconds
    }

    enum CodingKeys: String, CodingKey {
        case steps, seconds
        case testLoss = "test_loss"
        case testAccuracy = "test_accuracy"
        case finalRate = "final_rate"
        case meanStaleness = "mean_staleness"
        case maxStaleness = "max_staleness"
    }
}

/// One line of `events.jsonl`: `{"type": "epoch", ...the epoch's fields}`.
public enum RunEventLine: Codable, Sendable, Equatable {
    case runStarted(RunDescription)
    case epoch(EpochReport)
    case event(RunEvent)
    case rejections([String: Int])
    case runFinished(RunEnd)
    case runFailed(String)

    private enum TypeKey: String, CodingKey { case type, totals, reason }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: TypeKey.self)
        switch try container.decode(String.self, forKey: .type) {
        case "run_started": self = .runStarted(try RunDescription(from: decoder))
        case "epoch": self = .epoch(try EpochReport(from: decoder))
        case "event": self = .event(try RunEvent(from: decoder))
        case "rejections": self = .rejections(try container.decode([String: Int].self, forKey: .totals))
        case "run_finished": self = .runFinished(try RunEnd(from: decoder))
        case "run_failed": self = .runFailed(try container.decode(String.self, forKey: .reason))
        case let other:
            throw DecodingError.dataCorruptedError(forKey: .type, in: container, debugDescription: "unknown event line type '\(other)'")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: TypeKey.self)
        switch self {
        case .runStarted(let run): try container.encode("run_started", forKey: .type); try run.encode(to: encoder)
        case .epoch(let epoch): try container.encode("epoch", forKey: .type); try epoch.encode(to: encoder)
        case .event(let event): try container.encode("event", forKey: .type); try event.encode(to: encoder)
        case .rejections(let totals): try container.encode("rejections", forKey: .type); try container.encode(totals, forKey: .totals)
        case .runFinished(let end): try container.encode("run_finished", forKey: .type); try end.encode(to: encoder)
        case .runFailed(let reason): try container.encode("run_failed", forKey: .type); try container.encode(reason, forKey: .reason)
        }
    }
}
