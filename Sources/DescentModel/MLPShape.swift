/// The shape of a multi-layer perceptron and where each weight and bias sits in its one
/// contiguous parameter buffer.
///
/// Layer `l` owns a weight matrix of `fanIn x fanOut` floats (row-major, Keras's kernel layout)
/// followed by `fanOut` biases. Gradients use the same layout, so a whole model or gradient is
/// one `[Float]` that the distributed transport sends as it is.
public struct MLPShape: Sendable, Equatable, Codable {
    /// Where one dense layer's parameters lie in the buffer.
    public struct Dense: Sendable, Equatable, Codable {
        public let fanIn: Int
        public let fanOut: Int
        public let weightOffset: Int
        public var biasOffset: Int { weightOffset + fanIn * fanOut }
        public var end: Int { biasOffset + fanOut }
    }

    public let inputs: Int
    public let hidden: [Int]
    public let classes: Int
    public let layers: [Dense]

    public var parameterCount: Int { layers.last?.end ?? 0 }
    public var widest: Int { ([inputs, classes] + hidden).max() ?? 0 }

    public init(inputs: Int = 784, hidden: [Int] = [128], classes: Int = 10) {
        precondition(inputs > 0 && classes > 1 && hidden.allSatisfy { $0 > 0 }, "layer sizes must be positive")
        self.inputs = inputs
        self.hidden = hidden
        self.classes = classes
        let sizes = [inputs] + hidden + [classes]
        var offset = 0
        var layers: [Dense] = []
        for (fanIn, fanOut) in zip(sizes, sizes.dropFirst()) {
            let layer = Dense(fanIn: fanIn, fanOut: fanOut, weightOffset: offset)
            layers.append(layer)
            offset = layer.end
        }
        self.layers = layers
    }
}
