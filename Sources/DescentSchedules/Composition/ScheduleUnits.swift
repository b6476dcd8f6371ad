/// What a schedule's t counts: applied updates, or whole epochs (t = floor(step / steps_per_epoch)).
public enum ScheduleUnits: String, Sendable, Equatable, CaseIterable {
    case steps
    case epochs
}

/// A length given either in steps or in epochs, resolved against the run's steps per epoch.
public enum TrainingLength: Sendable, Equatable {
    case steps(Int)
    case epochs(Int)

    /// The length in steps (saturating at `Int.max`).
    public func steps(perEpoch stepsPerEpoch: Int) -> Int {
        switch self {
        case .steps(let n): return n
        case .epochs(let n):
            let (product, overflow) = n.multipliedReportingOverflow(by: stepsPerEpoch)
            return overflow ? Int.max : product
        }
    }

    var summary: String {
        switch self {
        case .steps(let n): return "steps=\(n)"
        case .epochs(let n): return "epochs=\(n)"
        }
    }
}
