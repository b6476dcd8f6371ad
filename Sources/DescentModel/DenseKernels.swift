/// The element-wise passes around the GEMMs of a dense layer, each one sweep over its matrix.
///
/// Columns go eight at a time through SIMD registers, with a scalar loop for any remainder:
/// written plainly, the compiler cannot prove the pointers do not overlap and emits scalar code.
enum DenseKernels {
    private typealias Lanes = SIMD8<Float>
    private static let width = Lanes.scalarCount

    /// `matrix[r][c] += bias[c]`, followed by `max(0, ·)` when `relu` is set.
    static func addBias(
        _ bias: UnsafePointer<Float>, to matrix: UnsafeMutablePointer<Float>, rows: Int, columns: Int, relu: Bool
    ) {
        let vectorColumns = columns - columns % width
        for r in 0..<rows {
            let row = matrix + r * columns
            var c = 0
            while c < vectorColumns {
                var v = load(row + c) + load(bias + c)
                if relu { v.replace(with: 0, where: v .< 0) }
                store(v, row + c)
                c += width
            }
            while c < columns {
                let v = row[c] + bias[c]
                row[c] = relu && v < 0 ? 0 : v
                c += 1
            }
        }
    }

    /// Zeroes `delta` where the layer's ReLU output was 0 (its derivative there, as in TensorFlow)
    /// and writes the column sums of the masked `delta` — the layer's bias gradient — into `columnSums`.
    static func maskByReLUAndSumColumns(
        delta: UnsafeMutablePointer<Float>, activations: UnsafePointer<Float>,
        rows: Int, columns: Int, columnSums: UnsafeMutablePointer<Float>
    ) {
        let vectorColumns = columns - columns % width
        var c = 0
        while c < vectorColumns {
            var sum = Lanes()
            for r in 0..<rows {
                let offset = r * columns + c
                var d = load(delta + offset)
                d.replace(with: 0, where: load(activations + offset) .<= 0)
                store(d, delta + offset)
                sum += d
            }
            store(sum, columnSums + c)
            c += width
        }
        while c < columns {
            var sum: Float = 0
            for r in 0..<rows {
                let offset = r * columns + c
                let d = activations[offset] > 0 ? delta[offset] : 0
                delta[offset] = d
                sum += d
            }
            columnSums[c] = sum
            c += 1
        }
    }

    @inline(__always)
    private static func load(_ pointer: UnsafePointer<Float>) -> Lanes {
        UnsafeRawPointer(pointer).loadUnaligned(as: Lanes.self)
    }

    @inline(__always)
    private static func load(_ pointer: UnsafeMutablePointer<Float>) -> Lanes {
        UnsafeRawPointer(pointer).loadUnaligned(as: Lanes.self)
    }

    @inline(__always)
    private static func store(_ value: Lanes, _ pointer: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(pointer).storeBytes(of: value, as: Lanes.self)
    }
}
