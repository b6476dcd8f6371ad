/// A record of a per-step trace that writes its own JSON line. `JSONEncoder` takes about 20 µs
/// for one `StepRecord`, which at 2 workers x 32 was a tenth of a step on the coordinator's
/// critical path (measured in release with the step's clock); this writes the same object, keys
/// in sorted order as the encoder's `.sortedKeys` does, absent optionals left out, as bytes into a
/// buffer the writer keeps (1.85 µs for a `StepRecord` and 1.40 µs for a `WorkerStepRecord` when it
/// built a `String`, both on the coordinator's CPU at every step of `--local-worker`). Tests decode
/// both and compare.
public protocol JSONLineRecord: Encodable {
    /// Adds the record's fields to `object`, keys in sorted order.
    func writeJSON(into object: inout JSONObjectText)
}

extension JSONLineRecord {
    /// The record as one JSON object (no newline), or nil when a value cannot be written in JSON
    /// (a NaN or an infinity: then `JSONEncoder` is used, and refuses it as it always did).
    public func jsonLine() -> String? {
        var object = JSONObjectText()
        writeJSON(into: &object)
        return object.finished().map { String(decoding: $0, as: UTF8.self) }
    }
}

/// Builds one JSON object as UTF-8 bytes; the caller gives the keys in sorted order.
public struct JSONObjectText {
    private var bytes: [UInt8]
    private var empty = true
    /// False once a non-finite number was given.
    public private(set) var representable = true

    public init() {
        var storage: [UInt8] = []
        storage.reserveCapacity(320)
        self.init(reusing: &storage)
    }

    /// An object built in `storage`'s memory (its contents are dropped); `storage()` gives it back.
    init(reusing storage: inout [UInt8]) {
        bytes = []
        swap(&bytes, &storage)
        bytes.removeAll(keepingCapacity: true)
        bytes.append(UInt8(ascii: "{"))
    }

    private mutating func key(_ name: StaticString) {
        if !empty { bytes.append(UInt8(ascii: ",")) }
        empty = false
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    /// The decimal digits of `value`, as `String(value)` writes them.
    private mutating func append(integer value: Int) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        let first = bytes.count
        repeat {
            bytes.append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: magnitude % 10))
            magnitude /= 10
        } while magnitude > 0
        bytes[first...].reverse()
    }

    public mutating func add(_ name: StaticString, _ value: Int) {
        key(name)
        append(integer: value)
    }

    public mutating func add(_ name: StaticString, _ value: Double) {
        guard value.isFinite else { representable = false; return }
        key(name)
        bytes.append(contentsOf: value.description.utf8)  // at most 24 bytes: a small string, not allocated
    }

    public mutating func add(_ name: StaticString, _ value: Float) {
        guard value.isFinite else { representable = false; return }
        key(name)
        bytes.append(contentsOf: value.description.utf8)
    }

    public mutating func add(_ name: StaticString, _ values: [Int]) {
        key(name)
        bytes.append(UInt8(ascii: "["))
        for (index, value) in values.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            append(integer: value)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    public mutating func add(_ name: StaticString, _ value: Int?) { if let value { add(name, value) } }
    public mutating func add(_ name: StaticString, _ value: Double?) { if let value { add(name, value) } }
    public mutating func add(_ name: StaticString, _ values: [Int]?) { if let values { add(name, values) } }

    /// The object's bytes, or nil when a value was not representable.
    public mutating func finished() -> [UInt8]? {
        guard representable else { return nil }
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }

    /// The memory the object was built in, for the next one (`init(reusing:)`).
    mutating func storage() -> [UInt8] {
        var taken: [UInt8] = []
        swap(&taken, &bytes)
        return taken
    }
}

extension StepRecord: JSONLineRecord {
    public func writeJSON(into object: inout JSONObjectText) {
        object.add("epoch", epoch)
        object.add("exact_rate", exactRate)
        object.add("fastest_latency_ms", fastestLatencyMs)
        object.add("gradient_norm", gradientNorm)
        object.add("loss", loss)
        object.add("param_step", paramStep)
        object.add("param_steps", paramSteps)
        object.add("ranks", ranks)
        object.add("rate", rate)
        object.add("rss_mb", rssMB)
        object.add("samples", samples)
        object.add("slowest_latency_ms", slowestLatencyMs)
        object.add("slowest_rank", slowestRank)
        object.add("staleness", staleness)
        object.add("step", step)
        object.add("time_ms", timeMs)
        object.add("update_ms", updateMs)
    }
}
