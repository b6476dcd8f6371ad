/// Stochastic gradient descent with optional momentum (Keras's form), Nesterov momentum and
/// L2 weight decay. The velocity is its only state.
public struct SGD: Sendable, Equatable {
    public var momentum: Float
    public var nesterov: Bool
    public var weightDecay: Float
    /// One velocity per parameter; empty when momentum is 0.
    public private(set) var velocity: [Float]

    public init(parameterCount: Int, momentum: Float = 0, nesterov: Bool = false, weightDecay: Float = 0) {
        self.momentum = momentum
        self.nesterov = nesterov
        self.weightDecay = weightDecay
        self.velocity = momentum == 0 ? [] : [Float](repeating: 0, count: parameterCount)
    }

    /// Applies one update with learning rate `rate`.
    public mutating func step(parameters: UnsafeMutableBufferPointer<Float>, gradient: UnsafeBufferPointer<Float>, rate: Float) {
        fatalError("not implemented yet")
    }
}
