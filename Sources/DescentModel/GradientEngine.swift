import DescentCore
import DescentKernels

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
/// categorical cross-entropy) for one batch, its matrix products on OpenBLAS or oneDNN.
///
/// It owns every scratch buffer, sized once for `maxBatch`, so a training step allocates nothing.
/// One engine per thread.
public final class GradientEngine {
    public let shape: MLPShape
    public let maxBatch: Int
    public let backend: ComputeBackend
    private let product: MatrixProduct

    /// The output of every layer, `maxBatch x fanOut` row-major: ReLU activations for hidden
    /// layers, logits (then softmax gradients, in place) for the last.
    private let outputs: [UnsafeMutablePointer<Float>]
    /// The gradient of the loss with respect to each hidden layer's output (pre-activation once
    /// the ReLU mask is applied), `maxBatch x fanOut`. Nothing for the last layer: it reuses
    /// `outputs.last`.
    private let hiddenDeltas: [UnsafeMutablePointer<Float>]

    public init(shape: MLPShape, maxBatch: Int, backend: ComputeBackend = .default) {
        precondition(maxBatch > 0, "maxBatch must be positive")
        self.shape = shape
        self.maxBatch = maxBatch
        self.backend = backend
        product = MatrixProduct(backend: backend)
        outputs = shape.layers.map { layer in .allocateAligned(zeroed: maxBatch * layer.fanOut) }
        hiddenDeltas = shape.layers.dropLast().map { layer in .allocateAligned(zeroed: maxBatch * layer.fanOut) }
    }

    deinit {
        for buffer in outputs { buffer.deallocate() }
        for buffer in hiddenDeltas { buffer.deallocate() }
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
        precondition(gradient.count == shape.parameterCount, "gradient must hold shape.parameterCount floats")
        let weights = forward(parameters: parameters, features: features, batch: batch)
        let grad = gradient.baseAddress!
        let layers = shape.layers
        let last = layers.count - 1

        let stats = SoftmaxCrossEntropy.lossAndGradient(
            logits: outputs[last], labels: labels, batch: batch, classes: shape.classes,
            biasGradient: grad + layers[last].biasOffset)

        var l = last
        while l >= 0 {
            let layer = layers[l]
            let delta = l == last ? outputs[last] : hiddenDeltas[l]
            let input = l == 0 ? features : UnsafePointer(outputs[l - 1])
            // dW = inputᵀ · delta   (fanIn x fanOut)
            product(
                transposeA: true, m: layer.fanIn, n: layer.fanOut, k: batch,
                input, lda: layer.fanIn, delta, ldb: layer.fanOut, grad + layer.weightOffset, ldc: layer.fanOut)
            if l > 0 {
                // d(input) = delta · Wᵀ   (batch x fanIn), then the ReLU mask of the layer below.
                let below = layers[l - 1]
                product(
                    transposeB: true, m: batch, n: layer.fanIn, k: layer.fanOut,
                    delta, lda: layer.fanOut, weights + layer.weightOffset, ldb: layer.fanOut,
                    hiddenDeltas[l - 1], ldc: layer.fanIn)
                descent_mask_relu_sum_columns(
                    hiddenDeltas[l - 1], outputs[l - 1], batch, below.fanOut, grad + below.biasOffset)
            }
            l -= 1
        }
        return stats
    }

    /// Forward pass only: loss and accuracy of a batch.
    public func evaluate(
        parameters: UnsafeBufferPointer<Float>,
        features: UnsafePointer<Float>,
        labels: UnsafePointer<Int32>,
        batch: Int
    ) -> BatchStats {
        _ = forward(parameters: parameters, features: features, batch: batch)
        return SoftmaxCrossEntropy.loss(
            logits: outputs[shape.layers.count - 1], labels: labels, batch: batch, classes: shape.classes)
    }

    /// Runs every layer, leaving activations and logits in `outputs`; returns the parameters' base.
    private func forward(
        parameters: UnsafeBufferPointer<Float>, features: UnsafePointer<Float>, batch: Int
    ) -> UnsafePointer<Float> {
        precondition(batch >= 1 && batch <= maxBatch, "batch must be in 1...maxBatch (\(maxBatch)), got \(batch)")
        precondition(parameters.count == shape.parameterCount, "parameters must hold shape.parameterCount floats")
        if backend == .onednn { BLASThreads.applyToCurrentThread() }
        let weights = parameters.baseAddress!
        let layers = shape.layers
        let last = layers.count - 1
        for l in 0...last {
            let layer = layers[l]
            let input = l == 0 ? features : UnsafePointer(outputs[l - 1])
            // output = input · W   (batch x fanOut)
            product(
                m: batch, n: layer.fanOut, k: layer.fanIn,
                input, lda: layer.fanIn, weights + layer.weightOffset, ldb: layer.fanOut, outputs[l], ldc: layer.fanOut)
            descent_add_bias(outputs[l], weights + layer.biasOffset, batch, layer.fanOut, l < last ? 1 : 0)
        }
        return weights
    }
}
