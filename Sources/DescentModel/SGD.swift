import DescentKernels
import Foundation

/// Stochastic gradient descent with optional momentum (Keras's form), Nesterov momentum and
/// L2 weight decay. The velocity is its only state.
///
/// With `g' = g + weightDecay * p` (L2 folded into the gradient), one step is
/// - plain: `p -= rate * g'`
/// - momentum: `v = momentum * v - rate * g'; p += v`
/// - Nesterov: `v = momentum * v - rate * g'; p += momentum * v - rate * g'`
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

    /// Whether a step is `p -= rate * g` and nothing else (no momentum, no decay): it has no state,
    /// so it may be made elsewhere, in the sweep that averages the gradients
    /// (`descent_stage_mean_update`, the same bits as `step`).
    public var isPlain: Bool { momentum == 0 && weightDecay == 0 && velocity.isEmpty }

    /// Applies one update with learning rate `rate`, in one sweep over the parameters.
    public mutating func step(parameters: UnsafeMutableBufferPointer<Float>, gradient: UnsafeBufferPointer<Float>, rate: Float) {
        precondition(parameters.count == gradient.count, "parameters and gradient must have the same length")
        let n = parameters.count
        guard n > 0, let p = parameters.baseAddress, let g = gradient.baseAddress else { return }
        let decay = rate * weightDecay

        if momentum == 0 {
            descent_sgd_step(p, nil, g, n, rate, 0, decay, 0)
            return
        }
        if velocity.count != parameters.count {
            // Momentum switched on after creation: start from rest, as Keras does.
            velocity = [Float](repeating: 0, count: parameters.count)
        }
        let momentum = self.momentum
        let nesterov: Int32 = self.nesterov ? 1 : 0
        velocity.withUnsafeMutableBufferPointer { v in
            descent_sgd_step(p, v.baseAddress, g, n, rate, momentum, decay, nesterov)
        }
    }
}

extension SGD: Codable {
    enum CodingKeys: String, CodingKey {
        case momentum, nesterov, velocity
        case weightDecay = "weight_decay"
    }

    /// The velocity is saved as the raw little-endian bytes of its floats (base64 in JSON), so a
    /// restored optimizer is bit-identical to the saved one.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        momentum = try c.decode(Float.self, forKey: .momentum)
        nesterov = try c.decode(Bool.self, forKey: .nesterov)
        weightDecay = try c.decode(Float.self, forKey: .weightDecay)
        let bytes = try c.decode(Data.self, forKey: .velocity)
        guard bytes.count % 4 == 0 else {
            throw DecodingError.dataCorruptedError(forKey: .velocity, in: c, debugDescription: "velocity bytes are not whole floats")
        }
        velocity = [Float](repeating: 0, count: bytes.count / 4)
        velocity.withUnsafeMutableBytes { _ = bytes.copyBytes(to: $0) }
        guard momentum.isFinite, weightDecay.isFinite, velocity.allSatisfy(\.isFinite) else {
            throw DecodingError.dataCorruptedError(forKey: .velocity, in: c, debugDescription: "non-finite optimizer state")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(momentum, forKey: .momentum)
        try c.encode(nesterov, forKey: .nesterov)
        try c.encode(weightDecay, forKey: .weightDecay)
        try c.encode(velocity.withUnsafeBytes { Data($0) }, forKey: .velocity)
    }
}
