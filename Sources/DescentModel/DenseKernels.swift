/// The element-wise passes around the GEMMs of a dense layer, each one sweep over its matrix.
enum DenseKernels {
    /// `matrix[r][c] += bias[c]`, followed by `max(0, ·)` when `relu` is set.
    @inline(__always)
    static func addBias(
        _ bias: UnsafePointer<Float>, to matrix: UnsafeMutablePointer<Float>, rows: Int, columns: Int, relu: Bool
    ) {
        for r in 0..<rows {
            let row = matrix + r * columns
            if relu {
                for c in 0..<columns { row[c] = max(0, row[c] + bias[c]) }
            } else {
                for c in 0..<columns { row[c] += bias[c] }
            }
        }
    }

    /// Zeroes `delta` where the layer's ReLU output was 0 (its derivative there) and writes the
    /// column sums of the masked `delta` — the layer's bias gradient — into `columnSums`.
    @inline(__always)
    static func maskByReLUAndSumColumns(
        delta: UnsafeMutablePointer<Float>, activations: UnsafePointer<Float>,
        rows: Int, columns: Int, columnSums: UnsafeMutablePointer<Float>
    ) {
        columnSums.update(repeating: 0, count: columns)
        for r in 0..<rows {
            let d = delta + r * columns
            let a = activations + r * columns
            for c in 0..<columns {
                let masked = a[c] > 0 ? d[c] : 0
                d[c] = masked
                columnSums[c] += masked
            }
        }
    }
}
