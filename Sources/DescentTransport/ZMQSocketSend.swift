import CZeroMQ

/// Multipart sends: `[routing id] header [payload]`, with `ZMQ_SNDMORE` on all frames but the last.
///
/// ZeroMQ delivers a multipart message whole or not at all. Room is checked when the first frame
/// is queued, so `.wouldBlock` means nothing of the message was queued.
extension ZMQSocket {
    /// Sends `header` (copied) and, if given, `payload` (shared, not copied: `payload` stays
    /// usable, e.g. for the next peer). On a ROUTER pass the peer's `routingID`; with
    /// `ROUTER_MANDATORY` an unknown peer throws `ZMQError` of kind `.hostUnreachable`.
    @discardableResult
    public func send(
        to routingID: [UInt8]? = nil,
        header: UnsafeRawBufferPointer,
        payload: ZMQMessage? = nil,
        mode: ZMQSendMode = .blocking
    ) throws(ZMQError) -> ZMQSendOutcome {
        let socket = try handle(for: "zmq_send")
        let waitFlag: Int32 = mode == .dontWait ? ZMQ_DONTWAIT : 0
        var isFirstFrame = true

        // Sends one frame; `.wouldBlock` only on the first frame (later frames always fit, see above).
        func frame(_ bytes: UnsafeRawBufferPointer, more: Bool) throws(ZMQError) -> Bool {
            let flags = waitFlag | (more ? ZMQ_SNDMORE : 0)
            let outcome = try zmqCall("zmq_send") { zmq_send(socket, bytes.baseAddress, bytes.count, flags) }
            return try accept(outcome)
        }
        func accept(_ outcome: ZMQCallOutcome) throws(ZMQError) -> Bool {
            defer { isFirstFrame = false }
            if outcome == .wouldBlock {
                if isFirstFrame { return false }
                throw ZMQError(call: "zmq_send (frame after the first)", code: descent_zmq_code_eagain())
            }
            return true
        }

        if let routingID {
            let queued = try withBytes(of: routingID) { (bytes) throws(ZMQError) -> Bool in
                try frame(bytes, more: true)
            }
            if !queued { return .wouldBlock }
        }
        guard try frame(header, more: payload != nil) else { return .wouldBlock }
        if let payload {
            let shared = try payload.sharedCopy()
            let outcome = try zmqCall("zmq_msg_send") { zmq_msg_send(shared.raw, socket, waitFlag) }
            guard try accept(outcome) else { return .wouldBlock }
        }
        return .sent
    }

    /// `send(to:header:payload:mode:)` with the header as an array.
    @discardableResult
    public func send(
        to routingID: [UInt8]? = nil,
        header: [UInt8],
        payload: ZMQMessage? = nil,
        mode: ZMQSendMode = .blocking
    ) throws(ZMQError) -> ZMQSendOutcome {
        try withBytes(of: header) { (bytes) throws(ZMQError) -> ZMQSendOutcome in
            try send(to: routingID, header: bytes, payload: payload, mode: mode)
        }
    }
}

extension ZMQSocket {
    /// Sends `frames` as one multipart message. Each frame is shared, not copied, and stays usable.
    /// On a ROUTER the first frame must be the peer's routing id.
    @discardableResult
    public func sendMultipart(_ frames: [ZMQMessage], mode: ZMQSendMode = .blocking) throws(ZMQError) -> ZMQSendOutcome {
        let socket = try handle(for: "zmq_msg_send")
        let waitFlag: Int32 = mode == .dontWait ? ZMQ_DONTWAIT : 0
        for (index, frame) in frames.enumerated() {
            let flags = waitFlag | (index < frames.count - 1 ? ZMQ_SNDMORE : 0)
            let shared = try frame.sharedCopy()
            let outcome = try zmqCall("zmq_msg_send") { zmq_msg_send(shared.raw, socket, flags) }
            if outcome == .wouldBlock {
                if index == 0 { return .wouldBlock }
                throw ZMQError(call: "zmq_msg_send (frame after the first)", code: descent_zmq_code_eagain())
            }
        }
        return .sent
    }
}
