import DescentCore

extension MLPShape {
    /// Glorot-uniform weights (limit sqrt(6 / (fanIn + fanOut))) and zero biases, the Keras
    /// defaults, drawn from a generator seeded with `seed`.
    public func initialParameters(seed: UInt64) -> [Float] {
        fatalError("not implemented yet")
    }
}
