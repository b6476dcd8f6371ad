import DescentProtocol

extension SharedStepLayout {
    /// What worker `rank` only reads in the segment: both parameter buffers and the other ranks'
    /// gradient slots (each page-aligned). A worker maps them read-only, so a bug in it cannot change the
    /// model or another rank's gradient; it writes only its own slot and control lines.
    func readOnlyRanges(forRank rank: Int) -> [Range<Int>] {
        [parametersOffset(buffer: 0)..<(parametersOffset(buffer: 0) + stride * Self.parameterBuffers)]
            + (0..<slots).filter { $0 != rank }.map { gradientOffset(rank: $0)..<(gradientOffset(rank: $0) + stride) }
    }
}
