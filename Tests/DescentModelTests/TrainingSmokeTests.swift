import DescentCore
import DescentModel
import Testing

@Suite("Engine and SGD together")
struct TrainingSmokeTests {
    /// Two classes in 4 dimensions, separated by the sign of x0 + x1 (with a margin), trained
    /// full-batch for 300 steps: the loss must fall from about log 2 to a small fraction of it.
    @Test("a few hundred SGD steps on a separable problem drive the loss down", arguments: ComputeBackend.allCases)
    func lossFalls(backend: ComputeBackend) {
        let shape = MLPShape(inputs: 4, hidden: [8], classes: 2)
        var random = TestRandom(2024)
        var features: [Float] = []
        var labels: [Int32] = []
        while labels.count < 64 {
            let x = (0..<4).map { _ in Float(random.uniform(-1, 1)) }
            let margin = x[0] + x[1]
            guard abs(margin) > 0.2 else { continue }
            features += x
            labels.append(margin > 0 ? 1 : 0)
        }
        var parameters = shape.initialParameters(seed: 3)
        var gradient = [Float](repeating: 0, count: shape.parameterCount)
        let engine = GradientEngine(shape: shape, maxBatch: labels.count, backend: backend)
        var sgd = SGD(parameterCount: shape.parameterCount, momentum: 0.9)

        func step() -> BatchStats {
            let stats = parameters.withUnsafeBufferPointer { p in
                gradient.withUnsafeMutableBufferPointer { g in
                    engine.lossAndGradient(parameters: p, features: features, labels: labels, batch: labels.count, gradient: g)
                }
            }
            parameters.withUnsafeMutableBufferPointer { p in
                gradient.withUnsafeBufferPointer { sgd.step(parameters: p, gradient: $0, rate: 0.1) }
            }
            return stats
        }

        let first = step()
        var last = first
        for _ in 0..<300 { last = step() }

        #expect(first.loss > 0.3)
        #expect(last.loss < 0.1 * first.loss, "loss went from \(first.loss) to \(last.loss)")
        #expect(last.correct >= 62)
    }
}
