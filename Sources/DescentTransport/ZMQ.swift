import CZeroMQ

/// The version of the linked libzmq, e.g. "4.3.4".
public func zeroMQVersion() -> String {
    var major: Int32 = 0, minor: Int32 = 0, patch: Int32 = 0
    zmq_version(&major, &minor, &patch)
    return "\(major).\(minor).\(patch)"
}
