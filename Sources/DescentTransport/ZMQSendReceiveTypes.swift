/// Whether a send may wait for room in the queue.
public enum ZMQSendMode: Sendable {
    /// Wait for room (bounded by `SNDTIMEO` when set).
    case blocking
    /// `ZMQ_DONTWAIT`: report `.wouldBlock` at once instead of waiting.
    case dontWait
}

/// Whether a receive may wait for a message.
public enum ZMQReceiveMode: Sendable {
    /// Wait for a message (bounded by `RCVTIMEO` when set).
    case blocking
    /// `ZMQ_DONTWAIT`: report `.wouldBlock` at once when nothing is queued.
    case dontWait
}

/// What a send did.
public enum ZMQSendOutcome: Equatable, Sendable {
    /// The whole multipart message is queued.
    case sent
    /// Nothing was queued: no room (high-water mark, or no peer with `IMMEDIATE`) or `SNDTIMEO` passed.
    case wouldBlock
}

/// What `receiveMultipart` got.
public enum ZMQReceiveResult {
    /// One whole multipart message; for a ROUTER the first frame is the sender's routing id.
    case message([ZMQMessage])
    /// Nothing was waiting (`.dontWait`) or `RCVTIMEO` passed.
    case wouldBlock
    /// A message with more frames than allowed arrived; all `frameCount` frames were read and discarded.
    case tooManyFrames(frameCount: Int)
}
