import ArgumentParser
import DescentCoordinator
import DescentCore
import DescentLaunch
import DescentTraining
import DescentLogging
import Logging
import DescentProgress
import DescentTransport
import Foundation

/// `descent launch`: a coordinator and N workers on this machine, in one command.
struct Launch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start a coordinator and N workers on this machine; their output is prefixed with role and rank.",
        discussion: """
            Ctrl-C or SIGTERM is forwarded to every process (a second Ctrl-C kills them). The exit status is 0 \
            only when every process succeeded; otherwise it is the first failing process's status.
            """)

    @OptionGroup var run: RunArguments
    @OptionGroup var observe: ObserverArguments
    @OptionGroup var wire: WireArguments

    @Option(parsing: .unconditional, help: "How many workers to start (with --local-worker, one of them is the coordinator).")
    var workers: Int

    @Flag(help: "The coordinator computes rank 0's share itself ('descent coordinator --local-worker'): one worker process fewer, and on a host with as many CPUs as workers, no third process sharing them.")
    var localWorker = false

    @Option(help: "The endpoint the coordinator binds (default: an ipc:// socket in the temporary directory).")
    var bind: String?

    @Option(help: "Write coordinator.jsonl and worker-RANK.jsonl step traces into this directory.")
    var traceDir: String?

    @Flag(help: "Send parameters and gradients through the socket instead of shared memory.")
    var noSharedMemory = false

    @Flag(help: "Do not pin worker r to CPU r (pinning is on with shared memory and at most one worker per CPU).")
    var noPin = false

    @Option(help: "Seconds a worker may stay silent before the coordinator treats it as lost (default 30).")
    var silenceLimit: Double?

    @Option(help: "Seconds a worker may take for its gradient of a step before it is treated as lost (default 60).")
    var progressDeadline: Double?

    @Option(help: ArgumentHelp("CURVE keys to use (from 'descent keys generate DIR --workers N'; worker r uses worker-r.key). Default: keys made for this run only.", valueName: "dir"))
    var curveDir: String?

    @Flag(help: "No CURVE on the sockets (plaintext; a tcp:// --bind is then open to anyone who reaches it).")
    var insecure = false

    @Option(help: "Inject a fault into worker RANK, for testing: RANK=SPEC, e.g. 1=delay:ms=20 (see 'descent worker --help'; repeatable).")
    var workerFault: [String] = []

    @Option(help: "Inject a fault into the coordinator, for testing (see 'descent coordinator --help'; repeatable).")
    var coordinatorFault: [String] = []

    @Option(help: "Restart a process that dies, up to this many times in all: a worker rejoins, the coordinator resumes from its last checkpoint.")
    var maxRestarts: Int = 0

    func validate() throws {
        guard (1...RunLimits.workers).contains(workers) else { throw ValidationError("--workers must be between 1 and \(RunLimits.workers) (got \(workers))") }
        if run.trace != nil { throw ValidationError("use --trace-dir with launch (it writes the coordinator's and every worker's trace)") }
        if let bind, let problem = EndpointCheck.problem(with: bind, use: .bind) {
            throw ValidationError("--bind '\(bind)' \(problem); use e.g. tcp://127.0.0.1:5555")
        }
        if let bind, bind.hasSuffix(":*") || bind.hasSuffix(":0") {
            throw ValidationError("--bind '\(bind)': launch's workers need the port in advance; give a port number")
        }
        if curveDir != nil && insecure { throw ValidationError("--curve-dir and --insecure exclude each other") }
        if let traceDir { try OutputPaths.check([("--trace-dir", traceDir + "/coordinator.jsonl")]) }
        for spec in workerFault {
            let parts = spec.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let rank = Int(parts[0]), (0..<workers).contains(rank) else {
                throw ValidationError("--worker-fault '\(spec)': expected RANK=SPEC with RANK below --workers, e.g. 1=delay:ms=20")
            }
            if localWorker && rank == 0 {
                throw ValidationError("--worker-fault '\(spec)': rank 0 is the coordinator's own worker with --local-worker; use --coordinator-fault, or another rank")
            }
            do { _ = try FaultPlan.parse([parts[1]]) } catch { throw ValidationError("\(error)") }
        }
        do { _ = try FaultPlan.parse(coordinatorFault) } catch { throw ValidationError("\(error)") }
        if let silenceLimit, !(silenceLimit > 0) { throw ValidationError("--silence-limit must be positive (got \(silenceLimit))") }
        if let progressDeadline, !(progressDeadline > 0) { throw ValidationError("--progress-deadline must be positive (got \(progressDeadline))") }
        if maxRestarts == 0 { try run.checkCheckpointDirectory() }
        guard (0...10_000).contains(maxRestarts) else { throw ValidationError("--max-restarts must be between 0 and 10000 (got \(maxRestarts))") }
    }

    func run() async throws {
        try ParentDeathCheck.arm()  // started by `descent experiment`: die with it
        let config = try run.loadConfig()  // fail here, once, on a bad config
        // Missing data is fetched here, once, before any process starts: each would fetch it
        // (taking turns on the directory's lock), and offline each would print the same error.
        try await RunData.fetchBeforeStarting(RunData.location(commandLine: run.data, config: config))
        let executable = try Self.currentExecutable()
        // The run's socket and keys live in a directory only this user can enter, removed at the end.
        let directory = try PrivateRunDirectory.create()
        defer { directory.remove() }
        let endpoint = bind ?? "ipc://\(directory.path)/coordinator.sock"
        var coordinatorSecurity: [String] = [], workerSecurity: (Int) -> [String] = { _ in [] }
        if insecure {
            if EndpointCheck.isNetwork(endpoint) { coordinatorSecurity = ["--insecure"]; workerSecurity = { _ in ["--insecure"] } }
        } else {
            let keys = curveDir ?? "\(directory.path)/keys"
            if curveDir == nil { try CurveKeyDirectory.generate(in: keys, workers: workers) }
            coordinatorSecurity = ["--curve-dir", keys]
            workerSecurity = { ["--curve-dir", keys, "--curve-key", CurveKeyDirectory.workerSecretName($0)] }
        }
        var shared: [String] = ["--config", run.config]
        if let data = run.data { shared += ["--data", data] }
        if let backend = run.backend { shared += ["--backend", backend.rawValue] }
        shared += wire.forwarded

        var coordinator = ["coordinator", "--workers", "\(workers)", "--bind", endpoint] + coordinatorSecurity + shared
        if let maxSteps = run.maxSteps { coordinator += ["--max-steps", "\(maxSteps)"] }
        if let save = run.save { coordinator += ["--save", save] }
        if let threads = run.threads { coordinator += ["--threads", "\(threads)"] }
        if let traceDir { coordinator += ["--trace", "\(traceDir)/coordinator.jsonl"] }
        if noSharedMemory { coordinator += ["--no-shared-memory"] }
        // Checkpoints: as asked, and always when the coordinator may be restarted (it resumes from the last one).
        var checkpointDir = run.checkpointDir
        if checkpointDir == nil && maxRestarts > 0 { checkpointDir = PrivateRunDirectory.restartCheckpointsPath() }
        if let checkpointDir { coordinator += ["--checkpoint-dir", checkpointDir] }
        if let every = run.checkpointEvery ?? (maxRestarts > 0 && run.checkpointSeconds == nil ? 100 : nil) { coordinator += ["--checkpoint-every", "\(every)"] }
        if let seconds = run.checkpointSeconds { coordinator += ["--checkpoint-seconds", "\(seconds)"] }
        if let resume = run.resume { coordinator += ["--resume", resume] }
        if run.autoResume || maxRestarts > 0 { coordinator += ["--auto-resume"] }
        for spec in coordinatorFault { coordinator += ["--fault", spec] }
        if let silenceLimit { coordinator += ["--silence-limit", "\(silenceLimit)"] }
        if let progressDeadline { coordinator += ["--progress-deadline", "\(progressDeadline)"] }
        let pinned = !noPin && !noSharedMemory
        if localWorker {
            coordinator += ["--local-worker"]
            if let traceDir { coordinator += ["--local-worker-trace", "\(traceDir)/worker-0.jsonl"] }
            if pinned, let cpu = CPUPinning.cpu(forRank: 0, workers: workers) { coordinator += ["--cpu", "\(cpu)"] }
        }
        let drawsProgress = observe.progress.output(stdoutIsTerminal: observe.isTerminal) != nil
        coordinator += observe.forwarded(progress: drawsProgress ? .lines : .never, runDir: observe.runDir ?? traceDir)
        var children = [ChildProcess(label: "coordinator", executablePath: executable, arguments: coordinator, isPrimary: true)]
        for rank in (localWorker ? 1 : 0)..<workers {
            var worker = ["worker", "--connect", endpoint, "--rank", "\(rank)"] + workerSecurity(rank) + shared
            if let traceDir { worker += ["--trace", "\(traceDir)/worker-\(rank).jsonl"] }
            if observe.logFormat == .json { worker += ["--log-format", "json"] }
            for spec in workerFault where spec.hasPrefix("\(rank)=") { worker += ["--fault", String(spec.dropFirst("\(rank)=".count))] }
            if pinned { worker += LocalWorkerSpin.pinningArguments(rank: rank, workers: workers, localWorker: localWorker) }
            children.append(ChildProcess(label: "worker \(rank)", executablePath: executable, arguments: worker))
        }
        let sink = ProgressRelaySink(coordinatorLabel: drawsProgress ? "coordinator" : nil, errorLine: errorLineWriter())
        let result = try ProcessGroup(options: .init(maxRestarts: maxRestarts)).run(children, output: sink)
        sink.finish()
        if run.checkpointDir == nil, let checkpointDir {
            // The directory launch made for its restarts: gone after a finished run; after a failed one it
            // is the way back, so say where it is (or remove it when it holds nothing).
            let kept = !CheckpointStore(directory: checkpointDir).files().isEmpty
            if result.exitCode == 0 || !kept {
                try? FileManager.default.removeItem(atPath: checkpointDir)
            } else {
                Console.error("[launch] the run did not finish; its checkpoints are in \(checkpointDir): continue with --resume \(checkpointDir)")
            }
        }
        if endpoint.hasPrefix("ipc://") { unlink(String(endpoint.dropFirst("ipc://".count))) }
        // A coordinator that was killed could not unlink its shared memory; every process of the
        // run has ended now, so remove it (and any other dead coordinator's of this user).
        for name in SharedMemoryTransport.reclaimSegmentsOfDeadCoordinators() {
            Console.error("[launch] removed /dev/shm/\(name), the shared memory of a coordinator that did not end cleanly")
        }
        if result.exitCode != 0 { throw ExitCode(result.exitCode) }
    }

    /// The absolute path of this `descent` binary.
    static func currentExecutable() throws -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        if n > 0 { return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        let argument = CommandLine.arguments[0]
        if argument.hasPrefix("/") { return argument }
        return FileManager.default.currentDirectoryPath + "/" + argument
    }
}

extension Launch {
    /// How the children's standard-error lines (`[label] text`) and launch's own reports go out:
    /// as they are, or with `--log-format json` one JSON object per line: the children's own
    /// JSON records unprefixed (they carry their role and rank), any other line as a record of
    /// the process it came from.
    func errorLineWriter() -> (String) -> Void {
        guard observe.logFormat == .json else { return { Console.error($0) } }
        var loggers: [String: Logger] = [:]
        return { line in
            var label = "launch"
            var text = Substring(line)
            if line.hasPrefix("["), let close = line.firstIndex(of: "]") {
                label = String(line[line.index(after: line.startIndex)..<close])
                text = line[line.index(after: close)...].drop { $0 == " " }
            }
            if text.hasPrefix("{") && text.hasSuffix("}") {
                Console.writeErrorLine(String(text))
                return
            }
            let parts = label.split(separator: " ")
            let role = String(parts.first ?? "launch")
            let logger = loggers[label] ?? ObserverArguments.logger(format: .json, role: role, rank: parts.count > 1 ? Int(parts[1]) : nil)
            loggers[label] = logger
            logger.notice("\(text)", metadata: ["event": "message"])
        }
    }
}

/// With `--local-worker` and every process pinned to a CPU of its own (the coordinator computes
/// on CPU 0), a worker process's CPU idles while it waits for the next step: it spins then instead
/// of sleeping on the futex, and starts each step without a wakeup's delay. Measured by
/// `bench distributed --local-worker`: about 7% more samples/s at 2 x 32 and 2 x 128 on a 2-CPU
/// machine. Without the coordinator's worker the coordinator shares the CPUs, and spinning did not
/// pay (README, Performance).
enum LocalWorkerSpin {
    static let microseconds = 500

    /// A worker process's `--cpu` (where each process can have a CPU), and the spin with it when
    /// the coordinator computes rank 0's share; nothing where there are more workers than CPUs.
    static func pinningArguments(rank: Int, workers: Int, localWorker: Bool) -> [String] {
        guard let cpu = CPUPinning.cpu(forRank: rank, workers: workers) else { return [] }
        return ["--cpu", "\(cpu)"] + (localWorker ? ["--spin-microseconds", "\(microseconds)"] : [])
    }
}
