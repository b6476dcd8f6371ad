import DescentModel
import Testing

@Suite("SGD updates")
struct SGDTests {
    /// Applies `steps` updates, each with its own gradient, to `start`.
    static func run(_ optimizer: inout SGD, start: [Float], gradients: [[Float]], rate: Float) -> [Float] {
        var parameters = start
        for g in gradients {
            parameters.withUnsafeMutableBufferPointer { p in
                g.withUnsafeBufferPointer { optimizer.step(parameters: p, gradient: $0, rate: rate) }
            }
        }
        return parameters
    }

    static let start: [Float] = [1, -2]
    static let gradients: [[Float]] = [[0.5, 1], [-1, 2], [2, 0]]

    /// p -= 0.1 g:  [1, -2] -> [0.95, -2.1] -> [1.05, -2.3] -> [0.85, -2.3]
    @Test("plain SGD subtracts rate times gradient")
    func plain() {
        var sgd = SGD(parameterCount: 2)
        let result = Self.run(&sgd, start: Self.start, gradients: Self.gradients, rate: 0.1)
        #expect(isClose(Double(result[0]), 0.85))
        #expect(isClose(Double(result[1]), -2.3))
        #expect(sgd.velocity.isEmpty)
    }

    /// momentum 0.9, rate 0.1; v = 0.9 v - 0.1 g; p += v
    ///   step 1: v = [-0.05, -0.1];            p = [0.95, -2.1]
    ///   step 2: v = [-0.045 + 0.1, -0.09 - 0.2] = [0.055, -0.29];   p = [1.005, -2.39]
    ///   step 3: v = [0.0495 - 0.2, -0.261 - 0] = [-0.1505, -0.261]; p = [0.8545, -2.651]
    @Test("momentum follows Keras: v = m v - rate g, p += v")
    func momentum() {
        var sgd = SGD(parameterCount: 2, momentum: 0.9)
        let result = Self.run(&sgd, start: Self.start, gradients: Self.gradients, rate: 0.1)
        #expect(isClose(Double(result[0]), 0.8545))
        #expect(isClose(Double(result[1]), -2.651))
        #expect(isClose(Double(sgd.velocity[0]), -0.1505))
        #expect(isClose(Double(sgd.velocity[1]), -0.261))
    }

    /// momentum 0.9, rate 0.1, Nesterov; v as above; p += 0.9 v - 0.1 g
    ///   step 1: v = [-0.05, -0.1];      p += [-0.045 - 0.05, -0.09 - 0.1] = [-0.095, -0.19] -> [0.905, -2.19]
    ///   step 2: v = [0.055, -0.29];     p += [0.0495 + 0.1, -0.261 - 0.2] = [0.1495, -0.461] -> [1.0545, -2.651]
    ///   step 3: v = [-0.1505, -0.261];  p += [-0.13545 - 0.2, -0.2349 - 0] = [-0.33545, -0.2349] -> [0.71905, -2.8859]
    @Test("Nesterov follows Keras: p += m v - rate g after updating v")
    func nesterov() {
        var sgd = SGD(parameterCount: 2, momentum: 0.9, nesterov: true)
        let result = Self.run(&sgd, start: Self.start, gradients: Self.gradients, rate: 0.1)
        #expect(isClose(Double(result[0]), 0.71905))
        #expect(isClose(Double(result[1]), -2.8859))
    }

    /// weight decay 0.5, rate 0.1, plain: g' = g + 0.5 p; p -= 0.1 g'
    ///   step 1: g' = [0.5 + 0.5, 1 - 1] = [1, 0];              p = [0.9, -2]
    ///   step 2: g' = [-1 + 0.45, 2 - 1] = [-0.55, 1];          p = [0.955, -2.1]
    ///   step 3: g' = [2 + 0.4775, 0 - 1.05] = [2.4775, -1.05]; p = [0.70725, -1.995]
    @Test("weight decay adds wd * p to the gradient")
    func weightDecay() {
        var sgd = SGD(parameterCount: 2, weightDecay: 0.5)
        let result = Self.run(&sgd, start: Self.start, gradients: Self.gradients, rate: 0.1)
        #expect(isClose(Double(result[0]), 0.70725))
        #expect(isClose(Double(result[1]), -1.995))
    }

    /// weight decay 0.5, momentum 0.9, rate 0.1:
    ///   step 1: g' = [1, 0];            v = [-0.1, 0];                       p = [0.9, -2]
    ///   step 2: g' = [-0.55, 1];        v = [-0.09 + 0.055, 0 - 0.1] = [-0.035, -0.1]; p = [0.865, -2.1]
    @Test("weight decay with momentum decays through the velocity")
    func weightDecayWithMomentum() {
        var sgd = SGD(parameterCount: 2, momentum: 0.9, weightDecay: 0.5)
        let result = Self.run(&sgd, start: Self.start, gradients: Array(Self.gradients.prefix(2)), rate: 0.1)
        #expect(isClose(Double(result[0]), 0.865))
        #expect(isClose(Double(result[1]), -2.1))
    }

    /// weight decay 0.5, momentum 0.9, Nesterov, rate 0.1:
    ///   step 1: g' = [1, 0];      v = [-0.1, 0];       p += 0.9 v - 0.1 g' = [-0.09 - 0.1, 0] -> [0.81, -2]
    ///   step 2: g' = [-1 + 0.405, 2 - 1] = [-0.595, 1]; v = [-0.09 + 0.0595, -0.1] = [-0.0305, -0.1]
    ///           p += [-0.02745 + 0.0595, -0.09 - 0.1] = [0.03205, -0.19] -> [0.84205, -2.19]
    @Test("weight decay with Nesterov uses the pre-step parameters")
    func weightDecayWithNesterov() {
        var sgd = SGD(parameterCount: 2, momentum: 0.9, nesterov: true, weightDecay: 0.5)
        let result = Self.run(&sgd, start: Self.start, gradients: Array(Self.gradients.prefix(2)), rate: 0.1)
        #expect(isClose(Double(result[0]), 0.84205))
        #expect(isClose(Double(result[1]), -2.19))
    }

    @Test("momentum switched on after creation starts from zero velocity")
    func momentumEnabledLater() {
        var sgd = SGD(parameterCount: 2)
        sgd.momentum = 0.9
        let result = Self.run(&sgd, start: Self.start, gradients: Array(Self.gradients.prefix(2)), rate: 0.1)
        // Same as the momentum case after two steps: [1.005, -2.39].
        #expect(isClose(Double(result[0]), 1.005))
        #expect(isClose(Double(result[1]), -2.39))
    }

    /// The update runs in vector code over long buffers: every element of a 1,003-long vector
    /// (vector lanes and a remainder) must follow the formula, computed here in Double.
    @Test("every element of a long vector follows the formula",
          arguments: [(0.0, false, 0.0), (0.0, false, 0.01), (0.9, false, 0.0), (0.9, true, 0.01)])
    func longVector(settings: (momentum: Double, nesterov: Bool, weightDecay: Double)) {
        let n = 1003
        var random = TestRandom(77)
        let start = (0..<n).map { _ in Float(random.uniform(-1, 1)) }
        let gradients = (0..<2).map { _ in (0..<n).map { _ in Float(random.uniform(-1, 1)) } }
        let rate = 0.05
        var sgd = SGD(parameterCount: n, momentum: Float(settings.momentum), nesterov: settings.nesterov,
                      weightDecay: Float(settings.weightDecay))
        let result = Self.run(&sgd, start: start, gradients: gradients, rate: Float(rate))

        var worst = 0.0
        for i in 0..<n {
            var p = Double(start[i])
            var v = 0.0
            for g in gradients {
                let decayed = Double(g[i]) + settings.weightDecay * p
                if settings.momentum == 0 {
                    p -= rate * decayed
                } else {
                    v = settings.momentum * v - rate * decayed
                    p += settings.nesterov ? settings.momentum * v - rate * decayed : v
                }
            }
            worst = max(worst, abs(Double(result[i]) - p))
        }
        #expect(worst < 1e-6, "largest difference from the formula: \(worst)")
    }
}
