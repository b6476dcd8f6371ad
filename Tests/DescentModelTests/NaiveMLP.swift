import DescentCore
import DescentModel
import Foundation

/// An independent reference for the engine: the same MLP written with plain loops in Double,
/// no BLAS, no fused passes, straight from the textbook formulas.
struct NaiveMLP {
    let shape: MLPShape

    /// `W[l][i][j]` and `b[l][j]` read out of the flat layout documented by `MLPShape`.
    func weight(_ p: [Double], layer l: Int, _ i: Int, _ j: Int) -> Double {
        let layer = shape.layers[l]
        return p[layer.weightOffset + i * layer.fanOut + j]
    }

    func bias(_ p: [Double], layer l: Int, _ j: Int) -> Double {
        p[shape.layers[l].biasOffset + j]
    }

    /// Pre-activations of every layer for one sample (the last are the logits).
    func preActivations(_ p: [Double], input: [Double]) -> [[Double]] {
        var a = input
        var result: [[Double]] = []
        for (l, layer) in shape.layers.enumerated() {
            var z = [Double](repeating: 0, count: layer.fanOut)
            for j in 0..<layer.fanOut {
                var s = bias(p, layer: l, j)
                for i in 0..<layer.fanIn { s += a[i] * weight(p, layer: l, i, j) }
                z[j] = s
            }
            result.append(z)
            a = z.map { Swift.max(0, $0) }
        }
        return result
    }

    /// Mean cross-entropy, arg-max hits, and the gradient of the mean loss.
    func lossAndGradient(_ p: [Double], inputs: [[Double]], labels: [Int]) -> (loss: Double, correct: Int, gradient: [Double]) {
        var gradient = [Double](repeating: 0, count: p.count)
        var loss = 0.0
        var correct = 0
        let n = Double(inputs.count)
        for (x, y) in zip(inputs, labels) {
            let z = preActivations(p, input: x)
            let logits = z.last!
            let m = logits.max()!
            let lse = m + log(logits.map { exp($0 - m) }.reduce(0, +))
            loss += lse - logits[y]
            if logits.firstIndex(of: m) == y { correct += 1 }
            // dLoss/dlogits = softmax - onehot, scaled for the mean.
            var delta = logits.map { exp($0 - lse) / n }
            delta[y] -= 1 / n
            for l in stride(from: shape.layers.count - 1, through: 0, by: -1) {
                let layer = shape.layers[l]
                let input = l == 0 ? x : z[l - 1].map { Swift.max(0, $0) }
                for i in 0..<layer.fanIn {
                    for j in 0..<layer.fanOut {
                        gradient[layer.weightOffset + i * layer.fanOut + j] += input[i] * delta[j]
                    }
                }
                for j in 0..<layer.fanOut { gradient[layer.biasOffset + j] += delta[j] }
                if l > 0 {
                    var below = [Double](repeating: 0, count: layer.fanIn)
                    for i in 0..<layer.fanIn {
                        var s = 0.0
                        for j in 0..<layer.fanOut { s += weight(p, layer: l, i, j) * delta[j] }
                        below[i] = z[l - 1][i] > 0 ? s : 0
                    }
                    delta = below
                }
            }
        }
        return (loss / n, correct, gradient)
    }
}

/// A tiny deterministic generator for test data, independent of the code under test.
struct TestRandom {
    private var state: UInt64

    init(_ seed: UInt64) { state = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407 }

    /// Uniform in [low, high).
    mutating func uniform(_ low: Double, _ high: Double) -> Double {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return low + (high - low) * Double(state >> 11) / Double(UInt64(1) << 53)
    }

    mutating func index(below bound: Int) -> Int { min(bound - 1, Int(uniform(0, Double(bound)))) }
}

/// Runs the engine on Swift arrays.
func engineLossAndGradient(
    shape: MLPShape, parameters: [Float], features: [Float], labels: [Int32], maxBatch: Int? = nil,
    backend: ComputeBackend = .default
) -> (stats: BatchStats, gradient: [Float]) {
    let batch = labels.count
    let engine = GradientEngine(shape: shape, maxBatch: maxBatch ?? batch, backend: backend)
    var gradient = [Float](repeating: .nan, count: shape.parameterCount)
    let stats = parameters.withUnsafeBufferPointer { p in
        features.withUnsafeBufferPointer { x in
            labels.withUnsafeBufferPointer { y in
                gradient.withUnsafeMutableBufferPointer { g in
                    engine.lossAndGradient(parameters: p, features: x.baseAddress!, labels: y.baseAddress!, batch: batch, gradient: g)
                }
            }
        }
    }
    return (stats, gradient)
}

func engineEvaluate(
    shape: MLPShape, parameters: [Float], features: [Float], labels: [Int32], backend: ComputeBackend = .default
) -> BatchStats {
    let engine = GradientEngine(shape: shape, maxBatch: labels.count, backend: backend)
    return parameters.withUnsafeBufferPointer { p in
        features.withUnsafeBufferPointer { x in
            labels.withUnsafeBufferPointer { y in
                engine.evaluate(parameters: p, features: x.baseAddress!, labels: y.baseAddress!, batch: labels.count)
            }
        }
    }
}

/// |actual - expected| <= absolute + relative * |expected|
func isClose(_ actual: Double, _ expected: Double, relative: Double = 1e-4, absolute: Double = 1e-6) -> Bool {
    abs(actual - expected) <= absolute + relative * abs(expected)
}
