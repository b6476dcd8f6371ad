import DescentCore
import DescentData
import DescentModel

/// Loss and accuracy of a parameter vector over a whole labelled set, in batches.
public final class Evaluator {
    private let engine: GradientEngine
    private let buffer: BatchBuffer

    public init(shape: MLPShape, batch: Int = 1000, backend: ComputeBackend = .default) {
        engine = GradientEngine(shape: shape, maxBatch: batch, backend: backend)
        buffer = BatchBuffer(capacity: batch, featureCount: shape.inputs)
    }

    /// Mean loss and accuracy over `images`.
    public func evaluate(parameters: [Float], on images: LabeledImages) -> (loss: Double, accuracy: Double) {
        parameters.withUnsafeBufferPointer { evaluate(parameters: $0, on: images) }
    }

    /// Mean loss and accuracy over `images` of the parameters at `params`.
    public func evaluate(parameters params: UnsafeBufferPointer<Float>, on images: LabeledImages) -> (loss: Double, accuracy: Double) {
        var lossSum = 0.0
        var correct = 0
        var start = 0
        do {
            while start < images.count {
                let count = min(buffer.capacity, images.count - start)
                for i in 0..<count { buffer.indices[i] = start + i }
                buffer.fill(from: images, count: count)
                let stats = engine.evaluate(parameters: params, features: buffer.features, labels: buffer.labels, batch: count)
                lossSum += stats.loss * Double(count)
                correct += stats.correct
                start += count
            }
        }
        let n = Double(max(images.count, 1))
        return (lossSum / n, Double(correct) / n)
    }
}
