import DescentCore

/// Reading and checking schedule parameters, each refusal naming the key and what to write instead.
extension KeyedDecodingContainer where Key == AnyCodingKey {
    /// A learning rate: positive, finite and representable as float32 (Keras holds rates as float32).
    func rate(_ key: String) throws -> Double {
        try checkedRate(key, required(key, as: Double.self), allowZero: false)
    }

    /// An optional learning rate with a default; `allowZero` where the reference library accepts 0.
    func rate(_ key: String, default fallback: Double, allowZero: Bool) throws -> Double {
        try checkedRate(key, value(key, default: fallback), allowZero: allowZero)
    }

    /// `value` checked as a rate read from `key`.
    func checkedRate(_ key: String, _ value: Double, allowZero: Bool) throws -> Double {
        let rounded = Float(value)
        let lowest = allowZero ? "0 or more" : "positive"
        guard value.isFinite, rounded.isFinite, allowZero ? value >= 0 : value > 0 else {
            throw invalid(key, "must be a \(lowest) learning rate (got \(value))")
        }
        guard value == 0 || rounded > 0 else {
            throw invalid(key, "is too small to hold as a float32 learning rate (got \(value)); use 1e-38 or more")
        }
        return value
    }

    /// A positive step count such as `decay_steps`.
    func positiveCount(_ key: String) throws -> Int {
        let value: Int = try required(key)
        guard value > 0 else { throw invalid(key, "must be a positive integer (got \(value))") }
        return value
    }

    /// A non-negative step count with a default, such as `warmup_steps`.
    func count(_ key: String, default fallback: Int) throws -> Int {
        let value: Int = try self.value(key, default: fallback)
        guard value >= 0 else { throw invalid(key, "must be 0 or a positive integer (got \(value))") }
        return value
    }

    /// A decay factor in (0, 1]: the schedule shrinks by it (a factor above 1 would grow without bound).
    func decayFactor(_ key: String) throws -> Double {
        try decayFactor(key, value: required(key))
    }

    /// A decay factor in (0, 1] with a default.
    func decayFactor(_ key: String, default fallback: Double) throws -> Double {
        try decayFactor(key, value: value(key, default: fallback))
    }

    private func decayFactor(_ key: String, value: Double) throws -> Double {
        guard value > 0, value <= 1 else {
            throw invalid(key, "must be in (0, 1] (got \(value)); a factor above 1 grows the rate without bound")
        }
        return value
    }

    /// A positive, finite real number such as `power` or `div_factor`.
    func positiveNumber(_ key: String, default fallback: Double? = nil) throws -> Double {
        let value: Double = try fallback.map { try self.value(key, default: $0) } ?? required(key)
        guard value > 0, value.isFinite else { throw invalid(key, "must be a positive number (got \(value))") }
        return value
    }

    /// A number in [0, 1] such as `alpha`.
    func fraction(_ key: String, default fallback: Double) throws -> Double {
        let value: Double = try self.value(key, default: fallback)
        guard value >= 0, value <= 1 else { throw invalid(key, "must be in [0, 1] (got \(value))") }
        return value
    }

    /// A case of a string enum, such as `style: optax`.
    func choice<Choice: RawRepresentable & CaseIterable>(_ key: String, default fallback: Choice) throws -> Choice
    where Choice.RawValue == String {
        let value: String = try self.value(key, default: fallback.rawValue)
        guard let choice = Choice(rawValue: value) else {
            let known = Choice.allCases.map(\.rawValue).joined(separator: ", ")
            throw invalid(key, "unknown value '\(value)' (known: \(known))")
        }
        return choice
    }

    /// A list of step counts: non-negative and strictly increasing.
    func increasingSteps(_ key: String, allowEmpty: Bool) throws -> [Int] {
        let values: [Int] = try required(key)
        if !allowEmpty && values.isEmpty { throw invalid(key, "must list at least one step") }
        for (i, value) in values.enumerated() {
            guard value >= 0 else { throw invalid(key, "must be 0 or more (entry \(i) is \(value))") }
            if i > 0, value <= values[i - 1] {
                throw invalid(key, "must be strictly increasing (entry \(i) is \(value), after \(values[i - 1]))")
            }
        }
        return values
    }
}
