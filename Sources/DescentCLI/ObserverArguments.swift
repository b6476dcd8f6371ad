import ArgumentParser
import DescentCore
import DescentLogging
import DescentMetrics
import DescentProgress
import DescentReport
import DescentTensorBoard
import DescentTraining
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// When the live progress line is drawn.
enum ProgressMode: String, ExpressibleByArgument, CaseIterable {
    /// On a terminal only.
    case auto
    case always
    case never
    /// Marked lines for the `launch` that started this coordinator (it draws them).
    case lines

    /// What this process draws, given whether its standard output is a terminal.
    func output(stdoutIsTerminal: Bool) -> LiveProgress.Output? {
        switch self {
        case .auto: stdoutIsTerminal ? .terminal : nil
        case .always: .terminal
        case .never: nil
        case .lines: .markedLines
        }
    }
}

extension LogFormat: ExpressibleByArgument {}

/// The options that let a person or a tool watch a run: shared by `train`, `coordinator` and `launch`.
struct ObserverArguments: ParsableArguments {
    @Option(help: "Serve Prometheus metrics at http://HOST:PORT/metrics (e.g. 127.0.0.1:9464; port 0 takes a free one).")
    var metricsAddress: String?

    @Option(help: "Write TensorBoard event files (scalars per step and per epoch) into this directory.")
    var tensorboard: String?

    @Option(help: "Log records on standard error: human (default) or json (one object per line: level, time, role, rank, event).")
    var logFormat: LogFormat = .human

    @Option(help: "The live progress line: auto (when standard output is a terminal), always, never.")
    var progress: ProgressMode = .auto

    @Option(help: "Keep this run's config copy, events and step trace in this directory (for `descent report`).")
    var runDir: String?

    func validate() throws {
        if let metricsAddress {
            do { _ = try MetricsAddress(parsing: metricsAddress) } catch { throw ValidationError(error.description) }
        }
    }

    var isTerminal: Bool { isatty(STDOUT_FILENO) != 0 }

    /// Starts what was asked for (the metrics endpoint listens from here on) and returns the
    /// observers to hand to the run. Throws when the endpoint cannot bind or a file cannot be made.
    func startObservers(role: String, configPath: String) throws -> ActiveObservers {
        var observers: [any RunObserver] = []
        var server: MetricsServer?
        if logFormat == .json {
            let logger = Self.logger(format: .json, role: role)
            Console.redirectErrors { line in logger.notice("\(line)", metadata: ["event": "message"]) }
            observers.append(LoggingObserver(logger: logger))
        }
        if let output = progress.output(stdoutIsTerminal: isTerminal) {
            observers.append(LiveProgress(output: output, maximumRedrawsPerSecond: progress == .lines ? 4 : 10))
        }
        if let metricsAddress {
            let metrics = PrometheusObserver()
            server = try MetricsServer(address: try MetricsAddress(parsing: metricsAddress)) { metrics.exposition() }
            Console.out("Metrics at http://\(server!.address)/metrics")
            observers.append(metrics)
        }
        if let tensorboard {
            let writer = try TensorBoardObserver(directory: tensorboard)
            Console.out("TensorBoard events in \(writer.path)")
            observers.append(writer)
        }
        if let runDir {
            do {
                observers.append(try RunRecorder(directory: runDir, configPath: configPath))
            } catch {
                throw ValidationError("cannot keep the run in --run-dir \(runDir): \(error)")  // our errors say what to check
            }
        }
        return ActiveObservers(observers: observers.isEmpty ? nil : RunObservers(observers), server: server)
    }

    /// The trace path a run directory implies when `--trace` was not given.
    func tracePath(given: String?, name: String) -> String? {
        given ?? runDir.map { "\($0)/\(name)" }
    }

    static func logger(format: LogFormat, role: String, rank: Int? = nil) -> Logger {
        Logger(label: "descent.\(role)") { _ in RunLogHandler(format: format, role: role, rank: rank) }
    }
}

/// The observers of a run and the metrics endpoint they feed (kept alive for the run).
struct ActiveObservers {
    var observers: RunObservers?
    var server: MetricsServer?
}

extension ObserverArguments {
    /// The coordinator's arguments for what `launch` was asked to watch.
    func forwarded(progress: ProgressMode, runDir: String?) -> [String] {
        var arguments = ["--progress", progress.rawValue, "--log-format", logFormat.rawValue]
        if let metricsAddress { arguments += ["--metrics-address", metricsAddress] }
        if let tensorboard { arguments += ["--tensorboard", tensorboard] }
        if let runDir { arguments += ["--run-dir", runDir] }
        return arguments
    }
}
