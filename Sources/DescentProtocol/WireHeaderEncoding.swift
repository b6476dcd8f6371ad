/// Writing a header into its 64 bytes.
extension WireHeader {
    /// Writes the 64 header bytes into the first `WireHeader.size` bytes of `buffer` (caller-owned,
    /// so the hot path allocates nothing). The buffer must hold at least `WireHeader.size` bytes:
    /// this is a contract on the caller's own buffer, checked with a precondition.
    public func encode(into buffer: UnsafeMutableRawBufferPointer) {
        precondition(buffer.count >= WireHeader.size, "a wire header needs \(WireHeader.size) bytes, the buffer has \(buffer.count)")
        buffer.storeLittleEndian(WireHeader.magic, at: WireHeaderLayout.magic)
        buffer.storeLittleEndian(WireHeader.protocolVersion, at: WireHeaderLayout.version)
        buffer.storeLittleEndian(type.rawValue, at: WireHeaderLayout.type)
        buffer.storeLittleEndian(runID, at: WireHeaderLayout.runID)
        buffer.storeLittleEndian(generation, at: WireHeaderLayout.generation)
        buffer.storeLittleEndian(rank, at: WireHeaderLayout.rank)
        buffer.storeLittleEndian(step, at: WireHeaderLayout.step)
        buffer.storeLittleEndian(count, at: WireHeaderLayout.count)
        buffer.storeLittleEndian(dtype.rawValue, at: WireHeaderLayout.dtype)
        for offset in 0..<WireHeaderLayout.reservedLength {
            buffer.storeLittleEndian(UInt8(0), at: WireHeaderLayout.reserved + offset)
        }
        buffer.storeLittleEndian(round, at: WireHeaderLayout.round)
        buffer.storeLittleEndian(a.bitPattern, at: WireHeaderLayout.a)
        buffer.storeLittleEndian(b, at: WireHeaderLayout.b)
        buffer.storeLittleEndian(c, at: WireHeaderLayout.c)
    }

    /// The 64 header bytes as a new array.
    public func encoded() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: WireHeader.size)
        bytes.withUnsafeMutableBytes { encode(into: $0) }
        return bytes
    }
}
