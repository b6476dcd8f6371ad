/// Where everything lies in a run's shared-memory segment (coordinator and the workers on its
/// host): a control region, then two parameter buffers, then one gradient slot per worker rank.
///
/// The parameters are double-buffered: the coordinator writes a step's update into the buffer
/// the workers are not reading (in the sweep that also averages the gradients) and publishes the
/// next step from it; the buffer it replaced stays as it was until the update after, so an update
/// refused by the divergence guard leaves the published parameters untouched.
///
/// Control region, in 64-byte lines: line 0 holds the step sequence (u32 at 0: step + 1 of the
/// step last published), the completion counter (u32 at 4: bumped by each worker that finishes
/// a step) and the parameter buffer of the published step (u32 at 8: 0 or 1); line 1 holds the published step's 64-byte wire header; then two lines per rank: its
/// done sequence (u32: the step sequence it last finished) and its gradient's wire header. The
/// float regions start on 64-byte boundaries.
public struct SharedStepLayout: Sendable, Equatable {
    public let parameterCount: Int
    public let slots: Int
    static let line = 64
    /// Buffers start on page boundaries, so a worker can map the parameters and the other ranks' slots read-only.
    public static let page = 4096

    public init(parameterCount: Int, slots: Int) {
        self.parameterCount = parameterCount
        self.slots = slots
    }

    public var stepSequenceOffset: Int { 0 }
    public var completionsOffset: Int { 4 }
    public var parameterBufferOffset: Int { 8 }
    /// Parameter buffers in the segment.
    public static let parameterBuffers = 2
    public var stepHeaderOffset: Int { Self.line }

    public func doneSequenceOffset(rank: Int) -> Int {
        precondition(rank >= 0 && rank < slots, "rank outside the layout")
        return 2 * Self.line + rank * 2 * Self.line
    }

    public func gradientHeaderOffset(rank: Int) -> Int { doneSequenceOffset(rank: rank) + Self.line }

    /// Bytes of the control region.
    public var controlByteCount: Int { (2 * Self.line + slots * 2 * Self.line + Self.page - 1) / Self.page * Self.page }
    /// Bytes from one float region to the next.
    public var stride: Int { (parameterCount * 4 + Self.page - 1) / Self.page * Self.page }
    public var byteCount: Int { controlByteCount + stride * (slots + Self.parameterBuffers) }

    public func parametersOffset(buffer: Int) -> Int {
        precondition(buffer >= 0 && buffer < Self.parameterBuffers, "parameter buffer outside the layout")
        return controlByteCount + stride * buffer
    }

    public func gradientOffset(rank: Int) -> Int {
        precondition(rank >= 0 && rank < slots, "rank outside the layout")
        return controlByteCount + stride * (rank + Self.parameterBuffers)
    }

    /// The step sequence number that announces `step` (wraps after 2^32 - 1 steps).
    public static func sequence(ofStep step: Int) -> UInt32 { UInt32(truncatingIfNeeded: step + 1) }
}
