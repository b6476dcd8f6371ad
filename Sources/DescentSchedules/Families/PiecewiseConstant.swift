import DescentCore

/// Which side of a boundary belongs to the next piece.
public enum BoundaryStyle: String, Sendable, Equatable, CaseIterable {
    /// Keras `PiecewiseConstantDecay`: v0 while t <= b0, v_i while b_(i-1) < t <= b_i (switches after b).
    case keras
    /// optax `piecewise_constant_schedule` / `join_schedules`: switches at t >= b.
    case optax
}

/// A rate that is constant between boundaries: `values[i]` on piece i, `values.count == boundaries.count + 1`.
public struct PiecewiseConstant: RateFormula, Equatable {
    public var boundaries: [Int]
    public var values: [Double]
    public var style: BoundaryStyle

    public init(boundaries: [Int], values: [Double], style: BoundaryStyle = .keras) {
        self.boundaries = boundaries
        self.values = values
        self.style = style
    }

    public func exactRate(at t: Int) -> Double {
        let piece: Int
        switch style {
        case .keras: piece = boundaries.count(where: { t > $0 })
        case .optax: piece = boundaries.count(where: { t >= $0 })
        }
        return kerasResult(values[piece])
    }

    static let keys = ["boundaries", "values", "style"]
    init(config c: KeyedDecodingContainer<AnyCodingKey>) throws {
        boundaries = try c.increasingSteps("boundaries", allowEmpty: true)
        let values: [Double] = try c.required("values")
        for value in values { _ = try c.checkedRate("values", value, allowZero: true) }
        guard values.count == boundaries.count + 1 else {
            throw c.invalid("values", "must have one more entry than boundaries (\(boundaries.count) boundaries need \(boundaries.count + 1) values, got \(values.count))")
        }
        self.values = values
        style = try c.choice("style", default: BoundaryStyle.keras)
    }
    func encode(config c: inout KeyedEncodingContainer<AnyCodingKey>) throws {
        try c.encode(boundaries, forKey: "boundaries")
        try c.encode(values, forKey: "values")
        try c.encode(style.rawValue, forKey: "style")
    }
    var parameters: String {
        "boundaries=\(boundaries), values=[\(values.map(formatNumber).joined(separator: ", "))], style=\(style.rawValue)"
    }
}
