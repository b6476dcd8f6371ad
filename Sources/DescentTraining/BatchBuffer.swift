import DescentData
import DescentModel

/// The float features, labels and sample indices of one batch, allocated once for the largest
/// batch and refilled at every step, so a step allocates nothing.
public final class BatchBuffer {
    public let capacity: Int
    public let featureCount: Int
    public let features: UnsafeMutablePointer<Float>
    public let labels: UnsafeMutablePointer<Int32>
    /// Scratch for the sample indices of the batch being assembled.
    public let indices: UnsafeMutableBufferPointer<Int>
    /// How many samples the buffer holds now.
    public private(set) var count = 0

    public init(capacity: Int, featureCount: Int) {
        self.capacity = max(1, capacity)
        self.featureCount = featureCount
        features = .allocateAligned(zeroed: self.capacity * featureCount)
        labels = .allocate(capacity: self.capacity)
        labels.initialize(repeating: 0, count: self.capacity)
        indices = .allocate(capacity: self.capacity)
        indices.initialize(repeating: 0)
    }

    deinit {
        features.deallocate()
        labels.deallocate()
        indices.deallocate()
    }

    /// Gathers the first `count` samples named in `indices` from `images`. Indices at or past
    /// `images.count` wrap around, which is how a training set repeated `n` times is read.
    public func fill(from images: LabeledImages, count: Int) {
        precondition(count <= capacity, "batch larger than the buffer")
        let base = images.count
        for i in 0..<count where indices[i] >= base { indices[i] %= base }
        images.gather(UnsafeBufferPointer(rebasing: indices[0..<count]), features: features, labels: labels)
        self.count = count
    }
}
