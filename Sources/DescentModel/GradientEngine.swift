/// What one forward (and backward) pass over a batch measured.
public struct BatchStats: Sendable, Equatable {
    /// Mean sparse categorical cross-entropy over the batch.
    public var loss: Double
    /// How many samples the model classified correctly (arg-max of the logits).
    public var correct: Int
    public var samples: Int

    public init(loss: Double, correct: Int, samples: Int) {
        self.loss = loss
        self.correct = correct
        self.samples = samples
    }
}

/// Computes the loss and gradient of an MLP (ReLU hidden layers, softmax output, sparse
/// categorical cross-entropy) for one batch, through `cblas_sgemm`.
///
/// It owns every scratch buffer, sized once for `maxBatch`, so a training step allocates nothing.
/// One engine per thread.
public final class GradientEngine {
    public let shape: MLPShape
    public let maxBatch: Int

    public init(shape: MLPShape, maxBatch: Int) {
        self.shape = shape
        self.maxBatch = maxBatch
        fatalError("GradientEngine: not implemented yet")
    }

    /// Writes the gradient of the batch's *mean* loss into `gradient` (laid out like `parameters`)
    /// and returns the batch's statistics. `features` holds `batch * shape.inputs` floats,
    /// `labels` `batch` class indices; `batch` is 1...maxBatch.
    public func lossAndGradient(
        parameters: UnsafeBufferPointer<Float>,
        features: UnsafePointer<Float>,
        labels: UnsafePointer<Int32>,
        batch: Int,
        gradient: UnsafeMutableBufferPointer<Float>
    ) -> BatchStats {
        fatalError("not implemented yet")
    }

    /// Forward pass only: loss and accuracy of a batch.
    public func evaluate(
        parameters: UnsafeBufferPointer<Float>,
        features: UnsafePointer<Float>,
        labels: UnsafePointer<Int32>,
        batch: Int
    ) -> BatchStats {
        fatalError("not implemented yet")
    }
}
