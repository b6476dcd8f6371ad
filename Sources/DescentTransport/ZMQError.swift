import CZeroMQ

/// A failed libzmq call: the call's name, the errno it left, and libzmq's text for that errno.
///
/// The description reads like `zmq_send: Host unreachable (errno 113)`. Use `kind` to tell the
/// cases Descent reacts to (an unknown ROUTER peer, a terminated context) from the rest.
public struct ZMQError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The cases of `ZMQError` that callers handle differently.
    public enum Kind: Equatable, Sendable {
        /// `EHOSTUNREACH`: a ROUTER with `ROUTER_MANDATORY` was asked to send to a peer it does not know.
        case hostUnreachable
        /// `ETERM`: the context was shut down or terminated.
        case contextTerminated
        /// `EAGAIN` where the call gave no way to report it as a value.
        case wouldBlock
        /// Any other errno.
        case other
    }

    /// The libzmq function (and, for options, the option) that failed, e.g. `zmq_setsockopt(ZMQ_LINGER)`.
    public let call: String
    /// The errno value libzmq reported.
    public let code: Int32
    /// `zmq_strerror(code)`.
    public let message: String

    public init(call: String, code: Int32) {
        self.call = call
        self.code = code
        self.message = String(cString: zmq_strerror(code))
    }

    public var kind: Kind {
        switch code {
        case descent_zmq_code_ehostunreach(): return .hostUnreachable
        case descent_zmq_code_eterm(): return .contextTerminated
        case descent_zmq_code_eagain(): return .wouldBlock
        default: return .other
        }
    }

    public var description: String { "\(call): \(message) (errno \(code))" }
}

/// What a libzmq call that may legitimately find nothing to do returned.
enum ZMQCallOutcome: Equatable {
    /// The call succeeded with this (non-negative) return value.
    case completed(Int32)
    /// The call failed with `EAGAIN`: nothing to receive, no room to send, or a timeout passed.
    case wouldBlock
}

/// Runs one fallible libzmq call: retries it while it fails with `EINTR`, reports `EAGAIN` as
/// `.wouldBlock`, and throws every other failure as a `ZMQError` naming `call`.
/// Every C call in DescentTransport that can fail goes through here.
func zmqCall(_ call: @autoclosure () -> String, _ body: () -> Int32) throws(ZMQError) -> ZMQCallOutcome {
    while true {
        let result = body()
        if result >= 0 { return .completed(result) }
        let code = descent_zmq_errno()
        if code == descent_zmq_code_eintr() { continue }
        if code == descent_zmq_code_eagain() { return .wouldBlock }
        throw ZMQError(call: call(), code: code)
    }
}

/// `zmqCall` for calls where `EAGAIN` is a failure like any other.
@discardableResult
func zmqRequire(_ call: @autoclosure () -> String, _ body: () -> Int32) throws(ZMQError) -> Int32 {
    switch try zmqCall(call(), body) {
    case .completed(let value): return value
    case .wouldBlock: throw ZMQError(call: call(), code: descent_zmq_code_eagain())
    }
}

/// `Array.withUnsafeBytes` for a body with typed throws (the standard one rethrows `any Error`).
func withBytes<R>(of array: [UInt8], _ body: (UnsafeRawBufferPointer) throws(ZMQError) -> R) throws(ZMQError) -> R {
    let result: Result<R, ZMQError> = array.withUnsafeBytes { bytes in
        Result { () throws(ZMQError) -> R in try body(bytes) }
    }
    return try result.get()
}
