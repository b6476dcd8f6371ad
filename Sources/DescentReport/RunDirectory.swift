import DescentConfig
import DescentCore
import DescentSchedules
import DescentTraining
import Foundation

/// A run directory read back: the config copy, the events, the coordinator's (or one process's)
/// step trace and the workers' traces when present.
public struct RunDirectory: Sendable {
    public static let configName = "config.yaml"
    public static let eventsName = "events.jsonl"
    /// Trace names looked for, in order: `launch --trace-dir` writes coordinator.jsonl.
    public static let traceNames = ["coordinator.jsonl", "trace.jsonl"]

    public var path: String
    public var name: String
    public var config: RunConfig?
    public var description: RunDescription?
    public var steps: [StepRecord]
    public var epochs: [EpochReport]
    public var events: [RunEvent]
    public var rejections: [String: Int]
    public var end: RunEnd?
    public var failure: String?
    /// Per rank: (step, compute ms) from `worker-RANK.jsonl`.
    public var workerCompute: [Int: [(step: Int, ms: Double)]]

    /// Reads `path`; throws `ReportError` naming the file and what is wrong.
    public init(path: String) throws {
        self.path = path
        name = URL(fileURLWithPath: path).standardizedFileURL.lastPathComponent
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ReportError.notADirectory(path)
        }
        guard let traceName = Self.traceNames.first(where: { FileManager.default.fileExists(atPath: "\(path)/\($0)") }) else {
            throw ReportError.noTrace(path)
        }
        steps = try Self.lines(StepRecord.self, at: "\(path)/\(traceName)")
        let configPath = "\(path)/\(Self.configName)"
        if FileManager.default.fileExists(atPath: configPath) {
            do { config = try RunConfig.load(path: configPath) } catch { throw ReportError.badFile(configPath, "\(error)") }
        }
        epochs = []
        events = []
        rejections = [:]
        let eventsPath = "\(path)/\(Self.eventsName)"
        if FileManager.default.fileExists(atPath: eventsPath) {
            for line in try Self.lines(RunEventLine.self, at: eventsPath) {
                switch line {
                case .runStarted(let run): description = run
                case .epoch(let epoch): epochs.append(epoch)
                case .event(let event): events.append(event)
                case .rejections(let totals): rejections = totals
                case .runFinished(let end): self.end = end
                case .runFailed(let reason): failure = reason
                }
            }
        }
        workerCompute = [:]
        let files = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        for file in files where file.hasPrefix("worker-") && file.hasSuffix(".jsonl") {
            guard let rank = Int(file.dropFirst("worker-".count).dropLast(".jsonl".count)) else { continue }
            let records = try Self.lines(WorkerComputeLine.self, at: "\(path)/\(file)")
            workerCompute[rank] = records.compactMap { line in line.computeMs.map { (line.step, $0) } }
        }
    }

    /// Samples per second over the run: the trace's samples over the clock of its last step, nil
    /// without timings (what the report's summary and `descent experiment`'s table show).
    public var meanSamplesPerSecond: Double? {
        let seconds = (steps.last?.timeMs ?? 0) / 1000
        guard seconds > 0 else { return nil }
        return Double(steps.reduce(0) { $0 + $1.samples }) / seconds
    }

    /// The rate the config's schedule gives at every step of the run (the plateau policy replayed
    /// with the recorded test losses), nil without a config or a run description.
    public func scheduledRates() -> [Float]? {
        guard let config, let description, !steps.isEmpty else { return nil }
        var policy = LearningRatePolicy(schedule: config.schedule, stepsPerEpoch: description.stepsPerEpoch,
                                        globalBatch: description.globalBatch)
        let epochEnds = Dictionary(epochs.map { ($0.step, $0.testLoss) }, uniquingKeysWith: { a, _ in a })
        let last = steps.map(\.step).max() ?? 0
        var rates: [Float] = []
        rates.reserveCapacity(last + 1)
        for step in 0...last {
            if let loss = epochEnds[step] { policy.observe(validationLoss: loss) }
            rates.append(policy.rate(at: step))
        }
        return rates
    }

    private struct WorkerComputeLine: Decodable {
        var step: Int
        var computeMs: Double?
        enum CodingKeys: String, CodingKey {
            case step
            case computeMs = "compute_ms"
        }
    }

    private static func lines<T: Decodable>(_ type: T.Type, at path: String) throws -> [T] {
        let text: String
        do { text = try FileReading.text(of: path, maxBytes: 1 << 32) } catch { throw ReportError.badFile(path, error.problem) }
        let decoder = JSONDecoder()
        var result: [T] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            do {
                result.append(try decoder.decode(T.self, from: Data(line.utf8)))
            } catch {
                throw ReportError.badFile(path, "line \(number + 1) is not a \(T.self) JSON line")
            }
        }
        return result
    }
}

/// A run directory that cannot be reported.
public enum ReportError: Error, CustomStringConvertible, Equatable {
    case notADirectory(String)
    case noTrace(String)
    case badFile(String, String)

    public var description: String {
        switch self {
        case .notADirectory(let path): "\(path) is not a run directory (pass the directory given to --run-dir or launch --trace-dir)"
        case .noTrace(let path): "\(path) holds no step trace (coordinator.jsonl or trace.jsonl); run with --run-dir \(path) or launch --trace-dir \(path)"
        case let .badFile(path, problem): "\(path): \(problem)"
        }
    }
}
