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

    func validate() throws {
        if let maxSteps, maxSteps < 1 { throw ValidationError("--max-steps must be 1 or more (got \(maxSteps))") }
    }

    func loadConfig() throws -> RunConfig { try RunConfig.load(path: config) }

    var options: RunOptions { RunOptions(maxSteps: maxSteps, tracePath: trace, savePath: save) }
}
