extension UnsafeMutablePointer where Pointee == Float {
    /// `count` zeroed floats on a 64-byte boundary (one cache line, one AVX-512 register), as
    /// the matrix-product kernels read them best. Free with `deallocate()`.
    public static func allocateAligned(zeroed count: Int) -> UnsafeMutablePointer<Float> {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(1, count) * MemoryLayout<Float>.stride, alignment: 64)
        return raw.initializeMemory(as: Float.self, repeating: 0, count: max(1, count))
    }
}
