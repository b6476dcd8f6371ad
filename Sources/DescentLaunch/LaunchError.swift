/// Why a `ProcessGroup` could not start its processes. The description names the process, the
/// path and what to change.
public enum LaunchError: Error, CustomStringConvertible, Equatable, Sendable {
    /// `run` was given no processes.
    case noProcesses
    /// More than one process was marked primary.
    case severalPrimaries(labels: [String])
    /// Nothing exists at the executable path.
    case executableNotFound(label: String, path: String)
    /// Something exists at the path but cannot be executed; `reason` says why.
    case notExecutable(label: String, path: String, reason: String)
    /// The operating system refused to start the process; the processes already started
    /// (`stoppedLabels`) were stopped before this was thrown.
    case spawnFailed(label: String, path: String, reason: String, stoppedLabels: [String])
    /// A system call the group needs for itself failed (e.g. no file descriptors left).
    case systemCallFailed(call: String, reason: String)

    public var description: String {
        switch self {
        case .noProcesses:
            return "nothing to launch: give at least one process to start"
        case .severalPrimaries(let labels):
            return "only one process can be primary, but these are: \(labels.joined(separator: ", "))"
        case .executableNotFound(let label, let path):
            return "cannot start \(label): no file at '\(path)'; check the executable path"
        case .notExecutable(let label, let path, let reason):
            return "cannot start \(label): '\(path)' \(reason)"
        case .spawnFailed(let label, let path, let reason, let stopped):
            let aftermath = stopped.isEmpty
                ? "" : "; stopped the processes already started (\(stopped.joined(separator: ", ")))"
            return "cannot start \(label) from '\(path)': \(reason)\(aftermath)"
        case .systemCallFailed(let call, let reason):
            return "launch: \(call) failed: \(reason); check the process's file descriptor and process limits (ulimit)"
        }
    }
}
