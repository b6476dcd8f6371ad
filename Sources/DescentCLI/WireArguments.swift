import ArgumentParser
import DescentConfig
import DescentCore

/// `--wire-encoding`, shared by `coordinator`, `launch` and `worker`.
struct WireArguments: ParsableArguments {
    @Option(help: ArgumentHelp(
        "How parameters and gradients cross the socket: float32 or bf16 (half the bytes, float32 arithmetic at both ends; for workers on other hosts). Default: the config's training.wire_encoding, float32. A worker given it refuses a coordinator that uses another; without it a worker uses the coordinator's. Shared memory stays float32.",
        valueName: "encoding"), transform: WireEncoding.parse)
    var wireEncoding: WireEncoding?

    /// The config with the command line's encoding, if one was given.
    func apply(to config: inout RunConfig) {
        if let wireEncoding { config.training.wireEncoding = wireEncoding }
    }

    /// The flag again, for the processes `launch` starts.
    var forwarded: [String] { wireEncoding.map { ["--wire-encoding", $0.rawValue] } ?? [] }
}

extension WireEncoding {
    /// `--wire-encoding NAME`, with an error that lists the choices.
    static func parse(_ text: String) throws -> WireEncoding {
        guard let encoding = WireEncoding(rawValue: text.lowercased()) else {
            throw ValidationError("'\(text)' is not a wire encoding; use one of \(WireEncoding.choices)")
        }
        return encoding
    }
}
