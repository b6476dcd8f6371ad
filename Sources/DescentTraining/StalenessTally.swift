/// How stale the applied gradients of a run were: staleness = the step a gradient is applied at
/// minus the step whose parameters it was computed at (0 in sync mode).
public struct StalenessTally: Sendable, Equatable, Codable {
    /// Gradients counted.
    public private(set) var gradients = 0
    public private(set) var total = 0
    public private(set) var max = 0

    public init() {}

    public mutating func add(_ staleness: Int) {
        gradients += 1
        total += staleness
        max = Swift.max(max, staleness)
    }

    /// The mean staleness (0 when nothing was counted).
    public var mean: Double { gradients == 0 ? 0 : Double(total) / Double(gradients) }
}
