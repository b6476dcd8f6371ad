import DescentCore
import DescentModel
import Testing

/// A random model and batch of a given shape, as Float (for the engine) and Double (for the reference).
struct RandomProblem {
    let shape: MLPShape
    let parameters: [Float]
    let features: [Float]
    let labels: [Int32]

    /// Parameters uniform in ±`parameterScale`, features in ±1.
    init(shape: MLPShape, batch: Int, seed: UInt64, parameterScale: Double = 0.8) {
        var random = TestRandom(seed)
        self.shape = shape
        parameters = (0..<shape.parameterCount).map { _ in Float(random.uniform(-parameterScale, parameterScale)) }
        features = (0..<(batch * shape.inputs)).map { _ in Float(random.uniform(-1, 1)) }
        labels = (0..<batch).map { _ in Int32(random.index(below: shape.classes)) }
    }

    var doubleParameters: [Double] { parameters.map(Double.init) }
    var doubleInputs: [[Double]] {
        stride(from: 0, to: features.count, by: shape.inputs).map { start in
            features[start..<(start + shape.inputs)].map(Double.init)
        }
    }
    var intLabels: [Int] { labels.map(Int.init) }
}

/// Every test runs on each compute backend: both must match the same Double reference.
@Suite("GradientEngine against a naive Double reference")
struct GradientEngineReferenceTests {
    typealias Case = (inputs: Int, hidden: [Int], classes: Int, batch: Int, seed: UInt64)

    static let cases: [Case] = [
        (5, [4], 3, 7, 1),
        (6, [5, 4], 3, 4, 2),
        (7, [9, 3], 4, 1, 3),
        (3, [], 4, 5, 4),
        (8, [6, 5, 4], 10, 9, 5),
        (10, [16, 13], 4, 6, 6),
        // Wide enough for the vector code of every element-wise pass, with remainders (37, 21).
        (40, [37, 21], 10, 17, 7),
    ]

    static let backends = ComputeBackend.allCases

    @Test("loss, accuracy and gradient match the reference", arguments: cases, backends)
    func matchesReference(testCase: Case, backend: ComputeBackend) {
        let shape = MLPShape(inputs: testCase.inputs, hidden: testCase.hidden, classes: testCase.classes)
        let problem = RandomProblem(shape: shape, batch: testCase.batch, seed: testCase.seed)
        let expected = NaiveMLP(shape: shape).lossAndGradient(
            problem.doubleParameters, inputs: problem.doubleInputs, labels: problem.intLabels)

        let (stats, gradient) = engineLossAndGradient(
            shape: shape, parameters: problem.parameters, features: problem.features, labels: problem.labels,
            backend: backend)

        #expect(isClose(stats.loss, expected.loss, relative: 1e-5))
        #expect(stats.correct == expected.correct)
        #expect(stats.samples == testCase.batch)
        let worst = zip(gradient, expected.gradient).map { abs(Double($0) - $1) }.max() ?? 0
        #expect(worst < 1e-5, "largest gradient difference \(worst)")
    }

    /// The model Descent trains (784-128-10, Glorot-sized weights) at a batch the trainer uses.
    @Test("the reference model's shape matches the reference at batch 32", arguments: backends)
    func referenceShapeMatchesReference(backend: ComputeBackend) {
        let shape = MLPShape(inputs: 784, hidden: [128], classes: 10)
        let problem = RandomProblem(shape: shape, batch: 32, seed: 11, parameterScale: 0.08)
        let expected = NaiveMLP(shape: shape).lossAndGradient(
            problem.doubleParameters, inputs: problem.doubleInputs, labels: problem.intLabels)

        let (stats, gradient) = engineLossAndGradient(
            shape: shape, parameters: problem.parameters, features: problem.features, labels: problem.labels,
            backend: backend)

        #expect(isClose(stats.loss, expected.loss, relative: 1e-5))
        #expect(stats.correct == expected.correct)
        let worst = zip(gradient, expected.gradient).map { abs(Double($0) - $1) }.max() ?? 0
        #expect(worst < 1e-5, "largest gradient difference \(worst)")
    }

    /// Distributed runs equal one process only if a backend gives the same bits for the same input.
    @Test("the same batch twice gives the same bits", arguments: backends)
    func repeatable(backend: ComputeBackend) {
        let shape = MLPShape(inputs: 784, hidden: [128], classes: 10)
        let problem = RandomProblem(shape: shape, batch: 32, seed: 12, parameterScale: 0.08)
        let first = engineLossAndGradient(
            shape: shape, parameters: problem.parameters, features: problem.features, labels: problem.labels, backend: backend)
        let second = engineLossAndGradient(
            shape: shape, parameters: problem.parameters, features: problem.features, labels: problem.labels, backend: backend)

        #expect(first.stats == second.stats)
        #expect(first.gradient.map(\.bitPattern) == second.gradient.map(\.bitPattern))
    }

    @Test("evaluate reports the same loss and accuracy as the reference", arguments: cases, backends)
    func evaluateMatchesReference(testCase: Case, backend: ComputeBackend) {
        let shape = MLPShape(inputs: testCase.inputs, hidden: testCase.hidden, classes: testCase.classes)
        let problem = RandomProblem(shape: shape, batch: testCase.batch, seed: testCase.seed + 100)
        let expected = NaiveMLP(shape: shape).lossAndGradient(
            problem.doubleParameters, inputs: problem.doubleInputs, labels: problem.intLabels)

        let stats = engineEvaluate(
            shape: shape, parameters: problem.parameters, features: problem.features, labels: problem.labels, backend: backend)

        #expect(isClose(stats.loss, expected.loss, relative: 1e-5))
        #expect(stats.correct == expected.correct)
    }

    @Test("a batch smaller than maxBatch gives the same result as an engine sized for it", arguments: backends)
    func smallerBatchThanMaxBatch(backend: ComputeBackend) {
        let shape = MLPShape(inputs: 6, hidden: [5, 4], classes: 3)
        let problem = RandomProblem(shape: shape, batch: 3, seed: 9)
        let expected = NaiveMLP(shape: shape).lossAndGradient(
            problem.doubleParameters, inputs: problem.doubleInputs, labels: problem.intLabels)

        let (stats, gradient) = engineLossAndGradient(
            shape: shape, parameters: problem.parameters, features: problem.features, labels: problem.labels, maxBatch: 64,
            backend: backend)

        #expect(isClose(stats.loss, expected.loss, relative: 1e-5))
        let worst = zip(gradient, expected.gradient).map { abs(Double($0) - $1) }.max() ?? 0
        #expect(worst < 1e-5, "largest gradient difference \(worst)")
    }

    @Test("the gradient agrees with central finite differences of the loss", arguments: backends)
    func finiteDifferences(backend: ComputeBackend) {
        let shape = MLPShape(inputs: 4, hidden: [5, 3], classes: 3)
        let problem = RandomProblem(shape: shape, batch: 6, seed: 42)
        let naive = NaiveMLP(shape: shape)
        let base = problem.doubleParameters
        let inputs = problem.doubleInputs
        let labels = problem.intLabels

        let (_, gradient) = engineLossAndGradient(
            shape: shape, parameters: problem.parameters, features: problem.features, labels: problem.labels,
            backend: backend)

        let h = 1e-6
        for k in 0..<base.count {
            var plus = base
            var minus = base
            plus[k] += h
            minus[k] -= h
            let numeric = (naive.lossAndGradient(plus, inputs: inputs, labels: labels).loss
                - naive.lossAndGradient(minus, inputs: inputs, labels: labels).loss) / (2 * h)
            #expect(isClose(Double(gradient[k]), numeric, relative: 1e-3, absolute: 1e-5),
                    "parameter \(k): analytic \(gradient[k]), numeric \(numeric)")
        }
    }
}
