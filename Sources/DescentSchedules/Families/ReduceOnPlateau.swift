import DescentCore

/// How reduce-on-plateau decides that a new loss is an improvement on the best so far.
public enum ThresholdMode: String, Sendable, Equatable, Codable, CaseIterable {
    /// Better when loss < best * (1 - threshold).
    case rel
    /// Better when loss < best - threshold.
    case abs
}

/// torch `ReduceLROnPlateau` in mode `min`: the rate starts at `initialRate` and is multiplied by
/// `factor` (never below `minRate`, and only when that changes it by more than `eps`) once the
/// validation loss has failed to improve for more than `patience` epochs in a row; `cooldown`
/// epochs after a reduction do not count.
///
/// Its state (`PlateauState`) lives in `LearningRatePolicy` and is checkpointed with it.
public struct ReduceOnPlateau: Sendable, Equatable {
    public var initialRate: Double
    public var factor: Double
    public var patience: Int
    public var threshold: Double
    public var thresholdMode: ThresholdMode
    public var cooldown: Int
    public var minRate: Double
    public var eps: Double

    public init(initialRate: Double, factor: Double = 0.1, patience: Int = 10, threshold: Double = 1e-4,
                thresholdMode: ThresholdMode = .rel, cooldown: Int = 0, minRate: Double = 0, eps: Double = 1e-8) {
        self.initialRate = initialRate
        self.factor = factor
        self.patience = patience
        self.threshold = threshold
        self.thresholdMode = thresholdMode
        self.cooldown = cooldown
        self.minRate = minRate
        self.eps = eps
    }

    /// Whether `loss` improves on `best` (nil: nothing seen yet, so any finite loss does).
    /// A NaN or infinite loss never improves (torch agrees except for -inf, which it would keep).
    func isImprovement(_ loss: Double, over best: Double?) -> Bool {
        guard loss.isFinite else { return false }
        guard let best else { return true }
        switch thresholdMode {
        case .rel: return loss < best * (1 - threshold)
        case .abs: return loss < best - threshold
        }
    }

    /// The state after one more epoch's validation loss, as torch's `step(metrics)`.
    public func observe(_ loss: Double, state: PlateauState) -> PlateauState {
        var next = state
        next.epochs += 1
        if isImprovement(loss, over: state.best) {
            next.best = loss
            next.badEpochs = 0
        } else {
            next.badEpochs += 1
        }
        if next.cooldownLeft > 0 {
            next.cooldownLeft -= 1
            next.badEpochs = 0
        }
        if next.badEpochs > patience {
            let reduced = max(next.rate * factor, minRate)
            if next.rate - reduced > eps { next.rate = reduced }
            next.cooldownLeft = cooldown
            next.badEpochs = 0
        }
        return next
    }

    static let keys = ["initial_rate", "mode", "factor", "patience", "threshold", "threshold_mode", "cooldown", "min_rate", "eps"]
    init(config c: KeyedDecodingContainer<AnyCodingKey>) throws {
        initialRate = try c.rate("initial_rate")
        let mode: String = try c.value("mode", default: "min")
        guard mode == "min" else {
            throw c.invalid("mode", "must be 'min': Descent watches the validation loss, which should go down (got '\(mode)')")
        }
        factor = try c.value("factor", default: 0.1)
        guard factor > 0, factor < 1 else { throw c.invalid("factor", "must be in (0, 1) (got \(factor))") }
        patience = try c.count("patience", default: 10)
        threshold = try c.value("threshold", default: 1e-4)
        guard threshold >= 0, threshold.isFinite else { throw c.invalid("threshold", "must be 0 or more (got \(threshold))") }
        thresholdMode = try c.choice("threshold_mode", default: ThresholdMode.rel)
        if thresholdMode == .rel, threshold >= 1 {
            throw c.invalid("threshold", "must be below 1 with threshold_mode rel (got \(threshold))")
        }
        cooldown = try c.count("cooldown", default: 0)
        minRate = try c.rate("min_rate", default: 0, allowZero: true)
        eps = try c.value("eps", default: 1e-8)
        guard eps >= 0, eps.isFinite else { throw c.invalid("eps", "must be 0 or more (got \(eps))") }
    }
    func encode(config c: inout KeyedEncodingContainer<AnyCodingKey>) throws {
        try c.encode(initialRate, forKey: "initial_rate")
        try c.encode("min", forKey: "mode")
        try c.encode(factor, forKey: "factor")
        try c.encode(patience, forKey: "patience")
        try c.encode(threshold, forKey: "threshold")
        try c.encode(thresholdMode.rawValue, forKey: "threshold_mode")
        try c.encode(cooldown, forKey: "cooldown")
        try c.encode(minRate, forKey: "min_rate")
        try c.encode(eps, forKey: "eps")
    }
    var parameters: String {
        "initial_rate=\(formatNumber(initialRate)), factor=\(formatNumber(factor)), patience=\(patience), threshold=\(formatNumber(threshold)), threshold_mode=\(thresholdMode.rawValue), cooldown=\(cooldown), min_rate=\(formatNumber(minRate)), eps=\(formatNumber(eps))"
    }
}

/// What reduce-on-plateau remembers between epochs (torch's `best`, `num_bad_epochs`,
/// `cooldown_counter`, `last_epoch` and the current rate); saved with checkpoints.
public struct PlateauState: Sendable, Equatable, Codable {
    /// The current rate.
    public var rate: Double
    /// The best loss so far; nil before the first finite loss (torch's +inf, which JSON cannot hold).
    public var best: Double?
    public var badEpochs: Int
    public var cooldownLeft: Int
    /// Losses observed so far.
    public var epochs: Int

    public init(rate: Double, best: Double? = nil, badEpochs: Int = 0, cooldownLeft: Int = 0, epochs: Int = 0) {
        self.rate = rate
        self.best = best
        self.badEpochs = badEpochs
        self.cooldownLeft = cooldownLeft
        self.epochs = epochs
    }

    enum CodingKeys: String, CodingKey {
        case rate, best
        case badEpochs = "bad_epochs"
        case cooldownLeft = "cooldown_left"
        case epochs
    }
}
