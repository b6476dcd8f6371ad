/// The formula of a schedule, one case per family; each family's parameters are a struct of its own.
public enum ScheduleFamily: RateFormula, Equatable {
    case constant(ConstantRate)
    case stepDecay(StepDecay)
    case exponential(ExponentialDecay)
    case inverseTime(InverseTimeDecay)
    case polynomial(PolynomialDecay)
    case piecewiseConstant(PiecewiseConstant)
    case multiStep(MultiStepDecay)
    case cosine(CosineDecay)
    case cosineAnnealing(CosineAnnealing)
    case cosineRestarts(CosineRestarts)
    case oneCycle(OneCycle)
    case cyclic(CyclicRate)
    case sequence(ScheduleSequence)
    case product(ScheduleProduct)
    case reduceOnPlateau(ReduceOnPlateau)

    /// The rate at `t` (steps or epochs, counted from 0) in float64. Reduce-on-plateau gives its
    /// initial rate here; its later rates come from `PlateauState`.
    public func exactRate(at t: Int) -> Double {
        switch self {
        case .constant(let f): return f.exactRate(at: t)
        case .stepDecay(let f): return f.exactRate(at: t)
        case .exponential(let f): return f.exactRate(at: t)
        case .inverseTime(let f): return f.exactRate(at: t)
        case .polynomial(let f): return f.exactRate(at: t)
        case .piecewiseConstant(let f): return f.exactRate(at: t)
        case .multiStep(let f): return f.exactRate(at: t)
        case .cosine(let f): return f.exactRate(at: t)
        case .cosineAnnealing(let f): return f.exactRate(at: t)
        case .cosineRestarts(let f): return f.exactRate(at: t)
        case .oneCycle(let f): return f.exactRate(at: t)
        case .cyclic(let f): return f.exactRate(at: t)
        case .sequence(let f): return f.exactRate(at: t)
        case .product(let f): return f.exactRate(at: t)
        case .reduceOnPlateau(let f): return f.initialRate
        }
    }

    /// The config's `type` for this family.
    public var typeName: String {
        switch self {
        case .constant: return "constant"
        case .stepDecay: return "step_decay"
        case .exponential: return "exponential"
        case .inverseTime: return "inverse_time"
        case .polynomial: return "polynomial"
        case .piecewiseConstant: return "piecewise_constant"
        case .multiStep: return "multi_step"
        case .cosine, .cosineAnnealing: return "cosine"
        case .cosineRestarts: return "cosine_restarts"
        case .oneCycle: return "one_cycle"
        case .cyclic: return "cyclic"
        case .sequence: return "sequence"
        case .product: return "product"
        case .reduceOnPlateau: return "reduce_on_plateau"
        }
    }

    /// Every `type` a config may name.
    public static let typeNames = ["constant", "step_decay", "exponential", "inverse_time", "polynomial",
                                   "piecewise_constant", "multi_step", "cosine", "cosine_restarts",
                                   "one_cycle", "cyclic", "sequence", "product", "reduce_on_plateau"]

    /// `type(parameters)`, e.g. `exponential(initial_rate=0.1, decay_steps=1000, ...)`.
    public var summary: String {
        let parameters: String
        switch self {
        case .constant(let f): parameters = f.parameters
        case .stepDecay(let f): parameters = f.parameters
        case .exponential(let f): parameters = f.parameters
        case .inverseTime(let f): parameters = f.parameters
        case .polynomial(let f): parameters = f.parameters
        case .piecewiseConstant(let f): parameters = f.parameters
        case .multiStep(let f): parameters = f.parameters
        case .cosine(let f): parameters = f.parameters
        case .cosineAnnealing(let f): parameters = f.parameters
        case .cosineRestarts(let f): parameters = f.parameters
        case .oneCycle(let f): parameters = f.parameters
        case .cyclic(let f): parameters = f.parameters
        case .sequence(let f): parameters = f.parameters
        case .product(let f): parameters = f.parameters
        case .reduceOnPlateau(let f): parameters = f.parameters
        }
        return "\(typeName)(\(parameters))"
    }

    /// Whether the rate never increases with t (used by property tests and the docs' table).
    public var isMonotoneNonIncreasing: Bool {
        switch self {
        case .constant, .stepDecay, .exponential, .inverseTime, .multiStep, .reduceOnPlateau: return true
        case .polynomial(let f): return !f.cycle && f.endRate <= f.initialRate
        case .piecewiseConstant(let f): return zip(f.values, f.values.dropFirst()).allSatisfy { $0 >= $1 }
        case .cosine(let f): return f.warmupTarget.map { $0 <= f.initialRate } ?? true
        // A product of non-negative, non-increasing factors never increases.
        case .product(let f): return f.schedules.allSatisfy(\.isMonotoneNonIncreasing)
        case .cosineAnnealing, .cosineRestarts, .oneCycle, .cyclic, .sequence: return false
        }
    }
}
