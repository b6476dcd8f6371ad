import DescentCore

/// Schedules one after another (torch `SequentialLR`, optax `join_schedules`): schedule 0 until
/// milestone 0, then schedule i from milestone i - 1, evaluated at t - milestone_(i-1), so each
/// schedule after the first starts again from its own t = 0 at its milestone.
///
/// Both libraries use exactly these offsets: torch's `SequentialLR.step` picks
/// `bisect_right(milestones, t)` and restarts that scheduler at 0 on its milestone; optax's
/// `join_schedules` returns `schedule_i(step - boundary)` for step >= boundary.
public struct ScheduleSequence: RateFormula, Equatable {
    /// At least one; `milestones.count == schedules.count - 1`.
    public var schedules: [ScheduleFamily]
    /// Strictly increasing, positive.
    public var milestones: [Int]

    public init(schedules: [ScheduleFamily], milestones: [Int]) {
        self.schedules = schedules
        self.milestones = milestones
    }

    public func exactRate(at t: Int) -> Double {
        let index = milestones.count(where: { $0 <= t })
        let start = index == 0 ? 0 : milestones[index - 1]
        return schedules[index].exactRate(at: t - start)
    }

    static let keys = ["schedules", "milestones"]
    init(config c: KeyedDecodingContainer<AnyCodingKey>) throws {
        schedules = try c.required("schedules", as: [NestedFamily].self).map(\.family)
        guard !schedules.isEmpty else { throw c.invalid("schedules", "must list at least one schedule") }
        milestones = try c.increasingSteps("milestones", allowEmpty: true)
        guard milestones.count == schedules.count - 1 else {
            throw c.invalid("milestones", "must have one entry fewer than schedules: the step at which each schedule after the first begins (\(schedules.count) schedules need \(schedules.count - 1) milestones, got \(milestones.count))")
        }
        if let first = milestones.first, first == 0 {
            throw c.invalid("milestones", "must start above 0: a milestone at 0 means the first schedule never runs")
        }
    }
    func encode(config c: inout KeyedEncodingContainer<AnyCodingKey>) throws {
        try c.encode(schedules.map(NestedFamily.init), forKey: "schedules")
        try c.encode(milestones, forKey: "milestones")
    }
    var parameters: String {
        "milestones=\(milestones), schedules=[\(schedules.map(\.summary).joined(separator: ", "))]"
    }
}

/// Schedules multiplied step by step: rate(t) = s_0(t) * s_1(t) * ... (torch `ChainedScheduler`).
///
/// torch chains multiplicative factors of one base rate; here every factor is a schedule of its own,
/// so give all but one an initial rate of 1 to use them as factors. torch's
/// `ChainedScheduler([CosineAnnealingLR(T_max=100), ExponentialLR(gamma=0.99)])` on base 0.1 is
/// `{type: product, schedules: [{type: cosine, style: torch, initial_rate: 0.1, decay_steps: 100},
/// {type: exponential, style: torch, initial_rate: 1, decay_steps: 1, decay_rate: 0.99}]}`
/// (torch reaches the same product through its chainable, recursive forms, up to float64 rounding).
public struct ScheduleProduct: RateFormula, Equatable {
    /// At least one.
    public var schedules: [ScheduleFamily]

    public init(schedules: [ScheduleFamily]) { self.schedules = schedules }

    public func exactRate(at t: Int) -> Double {
        schedules.reduce(1.0) { $0 * $1.exactRate(at: t) }
    }

    static let keys = ["schedules"]
    init(config c: KeyedDecodingContainer<AnyCodingKey>) throws {
        schedules = try c.required("schedules", as: [NestedFamily].self).map(\.family)
        guard !schedules.isEmpty else { throw c.invalid("schedules", "must list at least one schedule") }
    }
    func encode(config c: inout KeyedEncodingContainer<AnyCodingKey>) throws {
        try c.encode(schedules.map(NestedFamily.init), forKey: "schedules")
    }
    var parameters: String { "schedules=[\(schedules.map(\.summary).joined(separator: ", "))]" }
}

/// One entry of a `sequence` or `product`: a family and its parameters only. Units, warmup and
/// scaling belong to the outer schedule (they apply to the whole), and reduce-on-plateau, whose rate
/// follows validation losses rather than the step, cannot be a part (torch refuses it too).
struct NestedFamily: Codable {
    var family: ScheduleFamily

    init(_ family: ScheduleFamily) { self.family = family }

    init(from decoder: any Decoder) throws {
        let loose = try decoder.container(keyedBy: AnyCodingKey.self)
        for key in Schedule.sharedKeys where key != "type" && loose.contains(AnyCodingKey(key)) {
            throw loose.invalid(key, "belongs on the outer schedule, where it applies to the whole sequence or product")
        }
        family = try ScheduleFamily.decode(from: decoder, extraKeys: []).family
        if case .reduceOnPlateau = family {
            throw loose.invalid("type", "reduce_on_plateau cannot be part of a sequence or product: its rate follows validation losses, not the step")
        }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyCodingKey.self)
        try family.encode(config: &c)
    }
}
