import CZeroMQ

/// Multipart receives into `ZMQMessage`s, with a cap on the number of frames.
extension ZMQSocket {
    /// Receives one whole multipart message. A message with more than `maxFrames` frames (a ROUTER's
    /// routing-id frame counts) is read to its end, discarded and reported as `.tooManyFrames`,
    /// so a misbehaving peer cannot make the caller hold an unbounded number of frames.
    public func receiveMultipart(maxFrames: Int, mode: ZMQReceiveMode = .blocking) throws(ZMQError) -> ZMQReceiveResult {
        let socket = try handle(for: "zmq_msg_recv")
        let first = ZMQMessage()
        let waitFlag: Int32 = mode == .dontWait ? ZMQ_DONTWAIT : 0
        if try zmqCall("zmq_msg_recv", { zmq_msg_recv(first.raw, socket, waitFlag) }) == .wouldBlock {
            return .wouldBlock
        }
        var frames = [first]
        var frameCount = 1
        var more = first.hasMore
        // The rest of a multipart message is already here (delivery is all or none): receive without waiting.
        while more {
            let next = ZMQMessage()
            try zmqRequire("zmq_msg_recv (frame after the first)") { zmq_msg_recv(next.raw, socket, 0) }
            frameCount += 1
            more = next.hasMore
            if frameCount <= maxFrames { frames.append(next) } else { frames.removeAll() }
        }
        if frameCount > maxFrames { return .tooManyFrames(frameCount: frameCount) }
        return .message(frames)
    }
}
