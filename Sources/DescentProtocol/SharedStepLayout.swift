/// Where the parameters and each rank's gradient lie in a run's shared-memory segment: the
/// parameters first, then one gradient slot per worker rank, each region starting on a
/// 64-byte boundary.
public struct SharedStepLayout: Sendable, Equatable {
    public let parameterCount: Int
    public let slots: Int

    public init(parameterCount: Int, slots: Int) {
        self.parameterCount = parameterCount
        self.slots = slots
    }

    /// Bytes from one region to the next.
    public var stride: Int { (parameterCount * 4 + 63) / 64 * 64 }
    public var byteCount: Int { stride * (slots + 1) }
    public var parametersOffset: Int { 0 }

    public func gradientOffset(rank: Int) -> Int {
        precondition(rank >= 0 && rank < slots, "rank outside the layout")
        return stride * (rank + 1)
    }
}
