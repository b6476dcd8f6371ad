import DescentCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension MLPShape {
    /// Glorot-uniform weights (limit sqrt(6 / (fanIn + fanOut))) and zero biases, the Keras
    /// defaults, drawn from a generator seeded with `seed`.
    ///
    /// Layer `l` draws its weights, in buffer order, from `SeededGenerator(seed: seed, stream: l)`,
    /// so a layer's weights do not depend on the sizes of the layers before it.
    public func initialParameters(seed: UInt64) -> [Float] {
        var parameters = [Float](repeating: 0, count: parameterCount)
        for (index, layer) in layers.enumerated() {
            var generator = SeededGenerator(seed: seed, stream: UInt64(index))
            let limit = Float(sqrt(6.0 / Double(layer.fanIn + layer.fanOut)))
            for k in layer.weightOffset..<layer.biasOffset {
                parameters[k] = (2 * generator.nextUnitFloat() - 1) * limit
            }
        }
        return parameters
    }
}
