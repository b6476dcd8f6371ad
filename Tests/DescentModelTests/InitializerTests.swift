import DescentModel
import Foundation
import Testing

@Suite("Glorot-uniform initial parameters")
struct InitializerTests {
    static let shape = MLPShape(inputs: 784, hidden: [128, 64], classes: 10)

    @Test("weights lie within ±sqrt(6 / (fanIn + fanOut)) and spread across it")
    func glorotBounds() {
        let parameters = Self.shape.initialParameters(seed: 7)
        // 784-128: sqrt(6/912) = 0.0811107; 128-64: sqrt(6/192) = 0.1767767; 64-10: sqrt(6/74) = 0.2847474
        let limits = [0.0811107, 0.1767767, 0.2847474]
        for (layer, limit) in zip(Self.shape.layers, limits) {
            let weights = parameters[layer.weightOffset..<layer.biasOffset].map(Double.init)
            #expect(weights.allSatisfy { abs($0) <= limit + 1e-6 })
            // A uniform draw of >= 640 values reaches within 2% of both ends of its range.
            #expect(weights.max()! > 0.98 * limit)
            #expect(weights.min()! < -0.98 * limit)
            // The mean of U(-L, L) is 0, with standard error L / sqrt(3n); allow 5 of those.
            let mean = weights.reduce(0, +) / Double(weights.count)
            #expect(abs(mean) < 5 * limit / sqrt(3 * Double(weights.count)))
        }
    }

    @Test("biases start at zero")
    func zeroBiases() {
        let parameters = Self.shape.initialParameters(seed: 7)
        for layer in Self.shape.layers {
            #expect(parameters[layer.biasOffset..<layer.end].allSatisfy { $0 == 0 })
        }
        #expect(parameters.count == Self.shape.parameterCount)
    }

    @Test("the same seed gives the same parameters")
    func reproducible() {
        #expect(Self.shape.initialParameters(seed: 123) == Self.shape.initialParameters(seed: 123))
    }

    @Test("different seeds give different weights in every layer")
    func seedMatters() {
        let a = Self.shape.initialParameters(seed: 1)
        let b = Self.shape.initialParameters(seed: 2)
        for layer in Self.shape.layers {
            #expect(a[layer.weightOffset..<layer.biasOffset] != b[layer.weightOffset..<layer.biasOffset])
        }
    }
}
