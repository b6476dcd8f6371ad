import ArgumentParser
import DescentConfig
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
        if autoResume && checkpointDir == nil { throw ValidationError("--auto-resume needs --checkpoint-dir DIR") }
        if (checkpointEvery != nil || checkpointSeconds != nil) && checkpointDir == nil {
            throw ValidationError("--checkpoint-every and --checkpoint-seconds need --checkpoint-dir DIR")
        }
    }

    /// The config file, with the command line's overrides applied.
    func loadConfig() throws -> RunConfig {
        var loaded = try RunConfig.load(path: config)
        if let threads { loaded.training.threads = threads }
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
