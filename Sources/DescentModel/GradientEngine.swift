import COpenBLAS

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

    /// The output of every layer, `maxBatch x fanOut` row-major: ReLU activations for hidden
    /// layers, logits (then softmax gradients, in place) for the last.
    private let outputs: [UnsafeMutablePointer<Float>]
    /// The gradient of the loss with respect to each hidden layer's output (pre-activation once
    /// the ReLU mask is applied), `maxBatch x fanOut`. Nothing for the last layer: it reuses
    /// `outputs.last`.
    private let hiddenDeltas: [UnsafeMutablePointer<Float>]

    public init(shape: MLPShape, maxBatch: Int) {
        precondition(maxBatch > 0, "maxBatch must be positive")
        self.shape = shape
        self.maxBatch = maxBatch
        outputs = shape.layers.map { layer in
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: maxBatch * layer.fanOut)
            buffer.initialize(repeating: 0, count: maxBatch * layer.fanOut)
            return buffer
        }
        hiddenDeltas = shape.layers.dropLast().map { layer in
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: maxBatch * layer.fanOut)
            buffer.initialize(repeating: 0, count: maxBatch * layer.fanOut)
            return buffer
        }
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
            cblas_sgemm(
                CblasRowMajor, CblasTrans, CblasNoTrans,
                blasint(layer.fanIn), blasint(layer.fanOut), blasint(batch),
                1, input, blasint(layer.fanIn), delta, blasint(layer.fanOut),
                0, grad + layer.weightOffset, blasint(layer.fanOut))
            if l > 0 {
                // d(input) = delta · Wᵀ   (batch x fanIn), then the ReLU mask of the layer below.
                let below = layers[l - 1]
                cblas_sgemm(
                    CblasRowMajor, CblasNoTrans, CblasTrans,
                    blasint(batch), blasint(layer.fanIn), blasint(layer.fanOut),
                    1, delta, blasint(layer.fanOut), weights + layer.weightOffset, blasint(layer.fanOut),
                    0, hiddenDeltas[l - 1], blasint(layer.fanIn))
                DenseKernels.maskByReLUAndSumColumns(
                    delta: hiddenDeltas[l - 1], activations: outputs[l - 1],
                    rows: batch, columns: below.fanOut, columnSums: grad + below.biasOffset)
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
        let weights = parameters.baseAddress!
        let layers = shape.layers
        let last = layers.count - 1
        for l in 0...last {
            let layer = layers[l]
            let input = l == 0 ? features : UnsafePointer(outputs[l - 1])
            // output = input · W   (batch x fanOut)
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasNoTrans,
                blasint(batch), blasint(layer.fanOut), blasint(layer.fanIn),
                1, input, blasint(layer.fanIn), weights + layer.weightOffset, blasint(layer.fanOut),
                0, outputs[l], blasint(layer.fanOut))
            DenseKernels.addBias(
                weights + layer.biasOffset, to: outputs[l], rows: batch, columns: layer.fanOut, relu: l < last)
        }
        return weights
    }
}
