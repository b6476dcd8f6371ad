/// One process for a `ProcessGroup` to start: what to run, with which arguments and extra
/// environment, and the label that prefixes its output lines (e.g. `[worker 1] ...`).
public struct ChildProcess: Sendable, Equatable {
    /// Prefixes every line the process writes, e.g. `coordinator` or `worker 0`.
    public var label: String
    /// The path of the executable, used as given (the `PATH` is not searched).
    public var executablePath: String
    /// The arguments after the program name (`argv[1...]`).
    public var arguments: [String]
    /// Variables added to (or replacing those of) the launching process's environment.
    public var environment: [String: String]
    /// Whether this is the process whose success ends the run (the coordinator): when it exits 0
    /// the others get the grace period to exit on their own and are then stopped.
    public var isPrimary: Bool

    public init(
        label: String, executablePath: String, arguments: [String] = [],
        environment: [String: String] = [:], isPrimary: Bool = false
    ) {
        self.label = label
        self.executablePath = executablePath
        self.arguments = arguments
        self.environment = environment
        self.isPrimary = isPrimary
    }
}
