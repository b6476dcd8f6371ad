import DescentKernels

/// A set of labelled images held as bytes, the way the IDX files store them.
///
/// Pixels stay `UInt8` in memory (60,000 MNIST images are 47 MB as bytes, 188 MB as floats);
/// `gather` scales one batch to `Float` in [0, 1] at a time.
public struct LabeledImages: Sendable, Equatable {
    /// `count * rows * columns` bytes, image after image, row-major.
    public let pixels: [UInt8]
    /// One class label per image.
    public let labels: [UInt8]
    public let rows: Int
    public let columns: Int

    public var count: Int { labels.count }
    public var featureCount: Int { rows * columns }

    public init(pixels: [UInt8], labels: [UInt8], rows: Int, columns: Int) {
        precondition(pixels.count == labels.count * rows * columns, "pixels must hold count * rows * columns bytes")
        self.pixels = pixels
        self.labels = labels
        self.rows = rows
        self.columns = columns
    }

    /// Copies the images at `indices` into `features` (row after row, scaled by 1/255) and their
    /// labels into `labels`. The destination must hold `indices.count * featureCount` floats.
    public func gather(
        _ indices: UnsafeBufferPointer<Int>,
        features: UnsafeMutablePointer<Float>,
        labels destination: UnsafeMutablePointer<Int32>
    ) {
        guard let first = indices.baseAddress, !indices.isEmpty else { return }
        // The C kernel reads where the indices say: an index out of range is a programming error.
        precondition(indices.allSatisfy { $0 >= 0 && $0 < count }, "an image index is outside 0..<\(count)")
        pixels.withUnsafeBufferPointer { source in
            self.labels.withUnsafeBufferPointer { classes in
                descent_gather_scaled(
                    source.baseAddress!, classes.baseAddress!, first, indices.count, featureCount, 1.0 / 255.0,
                    features, destination)
            }
        }
    }

    /// The first `limit` images (all of them when `limit` is nil or larger than the set).
    public func prefix(_ limit: Int?) -> LabeledImages {
        guard let limit, limit < count else { return self }
        return LabeledImages(
            pixels: Array(pixels[0..<(limit * featureCount)]), labels: Array(labels[0..<limit]),
            rows: rows, columns: columns)
    }
}
