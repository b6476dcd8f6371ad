import DescentCore
import DescentModel
import Foundation
import Testing

/// Every test runs on each compute backend.
@Suite("GradientEngine on cases worked out by hand")
struct GradientEngineHandComputedTests {
    /// A 2-2-2 network, weights `W[i][j]` (input i -> unit j):
    ///   W1 = [[1, -1], [0.5, 1]], b1 = [0, -2];  W2 = [[1, -1], [3, 2]], b2 = [0, 0].
    ///
    /// Sample A: x = [1, 2], label 0.
    ///   pre1 = [1*1 + 2*0.5 + 0, 1*(-1) + 2*1 - 2] = [2, -1]  ->  h = relu = [2, 0]
    ///   logits = [2*1 + 0*3, 2*(-1) + 0*2] = [2, -2]
    ///   loss = log(e^2 + e^-2) - 2 = log(1 + e^-4) = 0.01814992791780978
    ///   dlogits = softmax - onehot = [-q, q], q = e^-4 / (1 + e^-4) = 0.01798620996209156
    ///   dh = W2 · dlogits = [1*(-q) + (-1)*q, 3*(-q) + 2*q] = [-2q, -q]; relu mask (pre1 = [2, -1]) -> [-2q, 0]
    /// Sample B: x = [0, 0], label 1.
    ///   pre1 = b1 = [0, -2] -> h = [0, 0]; logits = b2 = [0, 0]; loss = log 2 = 0.6931471805599453
    ///   dlogits = [0.5, -0.5]; dh = [1*0.5 + (-1)*(-0.5), ...] but both pre-activations are <= 0,
    ///   so ReLU's derivative (0 at 0, as in TensorFlow) zeroes it: [0, 0].
    ///   Arg-max of [0, 0] is the first index, 0, which is not the label.
    /// Batch mean (divide sums by 2):
    ///   loss = (0.01814992791780978 + 0.6931471805599453) / 2 = 0.35564855423887754
    ///   dW2 = (h_A ⊗ [-q, q] + 0) / 2 = [[-q, q], [0, 0]]
    ///   db2 = ([-q, q] + [0.5, -0.5]) / 2 = [0.25 - q/2, q/2 - 0.25]
    ///   dW1 = (x_A ⊗ [-2q, 0]) / 2 = [[-q, 0], [-2q, 0]]
    ///   db1 = [-2q, 0] / 2 = [-q, 0]
    @Test("a 2-2-2 network with a dead ReLU unit and a tie in the logits", arguments: ComputeBackend.allCases)
    func twoTwoTwoNetwork(backend: ComputeBackend) {
        let shape = MLPShape(inputs: 2, hidden: [2], classes: 2)
        let parameters: [Float] = [1, -1, 0.5, 1, /* b1 */ 0, -2, /* W2 */ 1, -1, 3, 2, /* b2 */ 0, 0]
        let features: [Float] = [1, 2, 0, 0]
        let labels: [Int32] = [0, 1]
        let q = 0.01798620996209156
        let expected: [Double] = [-q, 0, -2 * q, 0, /* b1 */ -q, 0, /* W2 */ -q, q, 0, 0, /* b2 */ 0.25 - q / 2, q / 2 - 0.25]

        let (stats, gradient) = engineLossAndGradient(
            shape: shape, parameters: parameters, features: features, labels: labels, backend: backend)

        #expect(isClose(stats.loss, 0.35564855423887754, relative: 1e-6))
        #expect(stats.correct == 1)
        #expect(stats.samples == 2)
        for (k, (actual, wanted)) in zip(gradient, expected).enumerated() {
            #expect(isClose(Double(actual), wanted, relative: 1e-5, absolute: 1e-7), "parameter \(k): \(actual) vs \(wanted)")
        }
    }

    /// With no hidden layer and W = [[1e4, 0]], b = [0, 0], x = [1]: logits [10000, 0].
    /// Label 1: loss = log(e^10000 + 1) - 0 = 10000 (to far below Float precision);
    /// Label 0: loss = log(1 + e^-10000) ≈ 0. A naive exp(10000) would overflow to inf.
    @Test("huge logits give a finite loss and gradient",
          arguments: [(Int32(1), 10_000.0), (Int32(0), 0.0)], ComputeBackend.allCases)
    func hugeLogits(labelAndLoss: (label: Int32, expectedLoss: Double), backend: ComputeBackend) {
        let (label, expectedLoss) = labelAndLoss
        let shape = MLPShape(inputs: 1, hidden: [], classes: 2)
        let parameters: [Float] = [10_000, 0, 0, 0]
        let (stats, gradient) = engineLossAndGradient(
            shape: shape, parameters: parameters, features: [1], labels: [label], backend: backend)

        #expect(stats.loss.isFinite)
        #expect(isClose(stats.loss, expectedLoss, relative: 1e-6, absolute: 1e-6))
        #expect(gradient.allSatisfy { $0.isFinite })
        // softmax = [1, 0] to Float precision; d logits = softmax - onehot.
        let expectedLogitGradient: [Float] = label == 1 ? [1, -1] : [0, 0]
        #expect(gradient[2...3].elementsEqual(expectedLogitGradient))
    }

    @Test("huge logits through a hidden layer give a finite loss", arguments: ComputeBackend.allCases)
    func hugeLogitsThroughHiddenLayer(backend: ComputeBackend) {
        let shape = MLPShape(inputs: 2, hidden: [2], classes: 3)
        // h = relu([x0 * 1e3, x1 * 1e3]); logits = [h0 * 100, h1 * 100, 0] = [1e5, 2e5, 0] for x = [1, 2].
        let parameters: [Float] = [1e3, 0, 0, 1e3, 0, 0, 100, 0, 0, 0, 100, 0, 0, 0, 0]
        let (stats, gradient) = engineLossAndGradient(
            shape: shape, parameters: parameters, features: [1, 2], labels: [0], backend: backend)

        // log-sum-exp = 2e5 (the other terms vanish), loss = 2e5 - 1e5 = 1e5.
        #expect(isClose(stats.loss, 1e5, relative: 1e-6))
        #expect(gradient.allSatisfy { $0.isFinite })
    }
}
