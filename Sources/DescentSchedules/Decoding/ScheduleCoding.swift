import DescentCore

/// A config's `schedule:` section: `type` names the family, the other keys are its parameters
/// plus the shared `units`, `warmup` and `scale` (and `staleness_aware`, which the run config reads:
/// it scales how a stale gradient is applied, not the schedule's rate). Unknown keys and impossible values are refused
/// with the key's name. Encoding writes the same keys, so a schedule round-trips through JSON
/// (checkpoints) and YAML.
extension Schedule: Codable {
    static let sharedKeys = ["type", "units", "warmup", "scale", "staleness_aware"]

    public init(from decoder: any Decoder) throws {
        let (family, c) = try ScheduleFamily.decode(from: decoder, extraKeys: Schedule.sharedKeys)
        if case .reduceOnPlateau = family, c.contains("units") {
            throw c.invalid("units", "does not apply to reduce_on_plateau, which changes the rate only when an epoch's validation loss is reported")
        }
        self.init(family,
                  units: try c.choice("units", default: ScheduleUnits.steps),
                  warmup: try c.optional("warmup"),
                  scaling: try c.optional("scale"))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyCodingKey.self)
        try family.encode(config: &c)
        if case .reduceOnPlateau = family {} else { try c.encode(units.rawValue, forKey: "units") }
        try c.encodeIfPresent(warmup, forKey: "warmup")
        try c.encodeIfPresent(scaling, forKey: "scale")
    }
}

extension ScheduleFamily {
    /// Reads the family that `type` names and its parameters; `extraKeys` are the other keys this
    /// level allows (`type` and the shared keys at the top, `type` alone inside a sequence or product).
    /// Returns the strict container for reading those extra keys.
    static func decode(from decoder: any Decoder, extraKeys: [String]) throws -> (family: ScheduleFamily, container: KeyedDecodingContainer<AnyCodingKey>) {
        let loose = try decoder.container(keyedBy: AnyCodingKey.self)
        let type: String = try loose.required("type")
        let allowed = extraKeys.contains("type") ? extraKeys : ["type"] + extraKeys
        func strict(_ keys: [String]) throws -> KeyedDecodingContainer<AnyCodingKey> {
            try decoder.strictContainer(allowing: allowed + keys)
        }
        let c: KeyedDecodingContainer<AnyCodingKey>
        let family: ScheduleFamily
        switch type {
        case "constant": c = try strict(ConstantRate.keys); family = .constant(try ConstantRate(config: c))
        case "step_decay": c = try strict(StepDecay.keys); family = .stepDecay(try StepDecay(config: c))
        case "exponential": c = try strict(ExponentialDecay.keys); family = .exponential(try ExponentialDecay(config: c))
        case "inverse_time": c = try strict(InverseTimeDecay.keys); family = .inverseTime(try InverseTimeDecay(config: c))
        case "polynomial": c = try strict(PolynomialDecay.keys); family = .polynomial(try PolynomialDecay(config: c))
        case "piecewise_constant": c = try strict(PiecewiseConstant.keys); family = .piecewiseConstant(try PiecewiseConstant(config: c))
        case "multi_step": c = try strict(MultiStepDecay.keys); family = .multiStep(try MultiStepDecay(config: c))
        case "cosine":
            let style = try loose.choice("style", default: CosineStyle.keras)
            if style == .torch {
                c = try strict(CosineAnnealing.keys); family = .cosineAnnealing(try CosineAnnealing(config: c))
            } else {
                c = try strict(CosineDecay.keys); family = .cosine(try CosineDecay(config: c, style: style))
            }
        case "cosine_restarts": c = try strict(CosineRestarts.keys); family = .cosineRestarts(try CosineRestarts(config: c))
        case "one_cycle": c = try strict(OneCycle.keys); family = .oneCycle(try OneCycle(config: c))
        case "cyclic": c = try strict(CyclicRate.keys); family = .cyclic(try CyclicRate(config: c))
        case "sequence": c = try strict(ScheduleSequence.keys); family = .sequence(try ScheduleSequence(config: c))
        case "product": c = try strict(ScheduleProduct.keys); family = .product(try ScheduleProduct(config: c))
        case "reduce_on_plateau": c = try strict(ReduceOnPlateau.keys); family = .reduceOnPlateau(try ReduceOnPlateau(config: c))
        default:
            throw loose.invalid("type", "unknown schedule type '\(type)' (known: \(ScheduleFamily.typeNames.joined(separator: ", ")))")
        }
        return (family, c)
    }

    /// Writes `type` and the family's parameters.
    func encode(config c: inout KeyedEncodingContainer<AnyCodingKey>) throws {
        try c.encode(typeName, forKey: "type")
        switch self {
        case .constant(let f): try f.encode(config: &c)
        case .stepDecay(let f): try f.encode(config: &c)
        case .exponential(let f): try f.encode(config: &c)
        case .inverseTime(let f): try f.encode(config: &c)
        case .polynomial(let f): try f.encode(config: &c)
        case .piecewiseConstant(let f): try f.encode(config: &c)
        case .multiStep(let f): try f.encode(config: &c)
        case .cosine(let f): try f.encode(config: &c)
        case .cosineAnnealing(let f): try f.encode(config: &c)
        case .cosineRestarts(let f): try f.encode(config: &c)
        case .oneCycle(let f): try f.encode(config: &c)
        case .cyclic(let f): try f.encode(config: &c)
        case .sequence(let f): try f.encode(config: &c)
        case .product(let f): try f.encode(config: &c)
        case .reduceOnPlateau(let f): try f.encode(config: &c)
        }
    }
}
