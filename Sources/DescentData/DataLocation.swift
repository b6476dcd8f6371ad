/// Where the MNIST files are, and which setting said so.
///
/// Precedence: an explicit `--data DIR`, then `$DESCENT_DATA`, then the config file's `data.dir`,
/// then `./data/mnist`. Empty values count as unset.
public struct DataLocation: Sendable, Equatable, CustomStringConvertible {
    /// Which setting chose the directory.
    public enum Source: Sendable, Equatable {
        /// A command-line option, named by `flag` (`--data`, `--dir`).
        case commandLine(flag: String)
        case environment
        case config
        case defaultPath

        /// How the source reads in a log line.
        public var label: String {
            switch self {
            case .commandLine(let flag): return flag
            case .environment: return "$\(DataLocation.environmentVariable)"
            case .config: return "config data.dir"
            case .defaultPath: return "default"
            }
        }
    }

    public var directory: String
    public var source: Source

    /// The environment variable that names the data directory.
    public static let environmentVariable = "DESCENT_DATA"
    /// The directory used when nothing else names one.
    public static let defaultDirectory = "data/mnist"

    public init(directory: String, source: Source) {
        self.directory = directory
        self.source = source
    }

    /// Picks the directory from the command line (the option `flag`), the environment, the config file, or the default, in that order.
    public static func resolve(
        commandLine: String?, flag: String = "--data", environment: [String: String], config: String?
    ) -> DataLocation {
        if let value = nonEmpty(commandLine) { return DataLocation(directory: value, source: .commandLine(flag: flag)) }
        if let value = nonEmpty(environment[environmentVariable]) { return DataLocation(directory: value, source: .environment) }
        if let value = nonEmpty(config) { return DataLocation(directory: value, source: .config) }
        return DataLocation(directory: defaultDirectory, source: .defaultPath)
    }

    /// `data directory data/mnist (from --data)`.
    public var description: String { "data directory \(directory) (from \(source.label))" }

    private static func nonEmpty(_ value: String?) -> String? {
        guard let value, !value.isEmpty else { return nil }
        return value
    }
}
