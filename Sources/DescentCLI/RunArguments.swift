import ArgumentParser
import DescentConfig
import DescentCore
import DescentTraining

/// The options every command that trains shares.
struct RunArguments: ParsableArguments {
    @Option(help: "The YAML run configuration (see Config/).")
    var config: String = "Config/mnist-seed.yaml"

    @Option(help: "Directory of the MNIST files (default: $DESCENT_DATA, else the config's data.dir, else ./data/mnist; fetched there when missing).")
    var data: String?

    @Option(parsing: .unconditional, help: "Stop after this many applied updates.")
    var maxSteps: Int?

    @Option(help: "Write one JSON line per step to this file.")
    var trace: String?

    @Option(help: "Save the final parameters to this file.")
    var save: String?

    @Option(parsing: .unconditional, help: "OpenBLAS threads per process, 1-1024 (default: the config's training.threads, 1).")
    var threads: Int?

    @Option(help: "The library for the matrix products: onednn or openblas (default: the config's training.backend, onednn).",
            transform: ComputeBackend.parse)
    var backend: ComputeBackend?

    @Option(help: "Write checkpoints into this directory (at SIGINT/SIGTERM, on failure, and as --checkpoint-every says).")
    var checkpointDir: String?

    @Option(help: "Checkpoint every this many steps (with --checkpoint-dir).")
    var checkpointEvery: Int?

    @Option(help: "Checkpoint every this many seconds (with --checkpoint-dir).")
    var checkpointSeconds: Double?

    @Option(help: "Continue from the newest good checkpoint in this directory (bit-identical to an uninterrupted run).")
    var resume: String?

    @Flag(help: "Resume from --checkpoint-dir when it holds a checkpoint, else start afresh (for restarts by launch, systemd or Slurm).")
    var autoResume = false

    func validate() throws {
        if let maxSteps, maxSteps < 1 { throw ValidationError("--max-steps must be 1 or more (got \(maxSteps))") }
        if let threads, !(1...1024).contains(threads) { throw ValidationError("--threads must be between 1 and 1024 (got \(threads))") }
        if let checkpointEvery, checkpointEvery < 1 { throw ValidationError("--checkpoint-every must be 1 or more (got \(checkpointEvery))") }
        if let checkpointSeconds, !(checkpointSeconds > 0) { throw ValidationError("--checkpoint-seconds must be positive (got \(checkpointSeconds))") }
    }

    /// The checkpoint flags that need a directory have one (launch makes one itself when it restarts processes).
    func checkCheckpointDirectory() throws {
        if autoResume && checkpointDir == nil { throw ValidationError("--auto-resume needs --checkpoint-dir DIR") }
        if (checkpointEvery != nil || checkpointSeconds != nil) && checkpointDir == nil {
            throw ValidationError("--checkpoint-every and --checkpoint-seconds need --checkpoint-dir DIR")
        }
    }

    /// The config file, with the command line's overrides applied. Checks first that the output
    /// files can be written, so that a bad path fails now and not after the whole training.
    func loadConfig() throws -> RunConfig {
        try OutputPaths.check([("--save", save), ("--trace", trace)])
        var loaded = try RunConfig.load(path: config)
        if let threads { loaded.training.threads = threads }
        if let backend { loaded.training.backend = backend }
        return loaded
    }

    var options: RunOptions {
        var options = RunOptions(maxSteps: maxSteps, tracePath: trace, savePath: save)
        options.checkpointDirectory = checkpointDir ?? resume
        options.checkpointEverySteps = checkpointEvery
        options.checkpointEverySeconds = checkpointSeconds
        options.resumeDirectory = resume
        options.autoResume = autoResume
        return options
    }
}

/// Output paths checked before a run starts.
enum OutputPaths {
    /// Throws naming the flag when one of `paths` (flag, path) cannot be written.
    static func check(_ paths: [(flag: String, path: String?)]) throws {
        for (flag, path) in paths {
            guard let path else { continue }
            if let problem = AtomicFile.problemWriting(path) {
                throw ValidationError("\(flag) \(path): \(problem); nothing was run")
            }
        }
    }
}

/// Range checks of numeric flags, in one wording.
enum FlagRange {
    static func check<T: Comparable>(_ flag: String, _ value: T?, _ range: ClosedRange<T>) throws {
        guard let value else { return }
        guard range.contains(value) else {
            throw ValidationError("\(flag) must be between \(range.lowerBound) and \(range.upperBound) (got \(value))")
        }
    }

    /// Seconds: positive, finite and at most a year.
    static func seconds(_ flag: String, _ value: Double?) throws {
        guard let value else { return }
        guard value.isFinite, value > 0, value <= 366 * 86_400 else {
            throw ValidationError("\(flag) must be a number of seconds above 0 and at most a year (got \(value))")
        }
    }
}

extension ComputeBackend {
    /// `--backend NAME`, with an error that lists the choices.
    static func parse(_ text: String) throws -> ComputeBackend {
        guard let backend = ComputeBackend(rawValue: text.lowercased()) else {
            throw ValidationError("'\(text)' is not a compute backend; use one of \(ComputeBackend.choices)")
        }
        return backend
    }
}
