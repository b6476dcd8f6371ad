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

    @Option(help: "Stop after this many applied updates.")
    var maxSteps: Int?

    @Option(help: "Write one JSON line per step to this file.")
    var trace: String?

    @Option(help: "Save the final parameters to this file.")
    var save: String?

    @Option(help: "OpenBLAS threads per process (default: the config's training.threads, 1).")
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
        if let threads, threads < 1 { throw ValidationError("--threads must be 1 or more (got \(threads))") }
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

    /// The config file, with the command line's overrides applied.
    func loadConfig() throws -> RunConfig {
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

extension ComputeBackend {
    /// `--backend NAME`, with an error that lists the choices.
    static func parse(_ text: String) throws -> ComputeBackend {
        guard let backend = ComputeBackend(rawValue: text.lowercased()) else {
            throw ValidationError("'\(text)' is not a compute backend; use one of \(ComputeBackend.choices)")
        }
        return backend
    }
}
