import DescentCore

/// A worker started with `--wire-encoding` that a coordinator using another encoding admitted:
/// it stops and says which flag to change, rather than run with an encoding it was told not to.
public struct WireEncodingMismatch: Error, CustomStringConvertible {
    public let required: WireEncoding
    public let coordinator: WireEncoding

    public var description: String {
        "this worker was started with --wire-encoding \(required), but the coordinator sends \(coordinator); "
            + "start the worker with --wire-encoding \(coordinator) or without --wire-encoding (it then uses the coordinator's)"
    }

    /// Throws when the worker asked for an encoding and the coordinator uses another.
    static func check(required: WireEncoding?, coordinator: WireEncoding) throws(WireEncodingMismatch) {
        if let required, required != coordinator { throw WireEncodingMismatch(required: required, coordinator: coordinator) }
    }
}
