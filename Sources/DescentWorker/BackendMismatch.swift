import DescentCore

/// A worker started with `--backend` that a coordinator on another backend admitted: it stops
/// rather than compute gradients that round differently from the coordinator's run.
public struct BackendMismatch: Error, CustomStringConvertible {
    public let required: ComputeBackend
    public let coordinator: ComputeBackend

    public var description: String {
        "this worker was started with --backend \(required), but the coordinator computes on \(coordinator); "
            + "every process of a run must use the same backend: start the worker with --backend \(coordinator) "
            + "or without --backend (it then uses the coordinator's)"
    }

    /// Throws when the worker asked for a backend and the coordinator runs another.
    static func check(required: ComputeBackend?, coordinator: ComputeBackend) throws(BackendMismatch) {
        if let required, required != coordinator { throw BackendMismatch(required: required, coordinator: coordinator) }
    }
}
