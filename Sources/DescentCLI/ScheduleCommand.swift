import ArgumentParser
import DescentConfig
import DescentCore
import DescentSchedules
import Foundation

/// `descent schedule`: prints (and optionally plots) the learning rates a config's schedule gives,
/// without training; with `--losses`, what reduce_on_plateau does for given validation losses.
struct ScheduleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedule",
        abstract: "Print the learning rates a config's schedule gives, without training.",
        discussion: """
            Steps per epoch are ceil(train size / global batch), the last partial batch included (as Keras).
            The train size is --train-size (MNIST: 60000), cut by data.train_limit and multiplied by
            data.train_repeat; the global batch is the config's (batch_per_worker x --workers).
            Without --steps or --epochs, prints the rate at the start of every epoch and after the last update.
            Every row gives `rate`, the float32 SGD applies, and `exact_rate`, the schedule's float64 value
            before that rounding, both with 17 significant digits (they read back as the same double).
            Rows are written as they are computed, so any range runs in constant memory.
            With --losses FILE (one validation loss per line, one per epoch), a reduce_on_plateau
            schedule is replayed epoch by epoch: the rate of each epoch, the best loss, the bad epochs.
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, csv, json
    }

    @Option(help: "The run config (YAML).")
    var config: String

    @Option(help: "Steps to print: A:B:S, from A to B inclusive every S (S defaults to 1).")
    var steps: String?

    @Option(help: "Epochs to print: A:B:S; epoch e is the step e x steps_per_epoch.")
    var epochs: String?

    @Option(help: "Validation losses, one per line (one per epoch): replay reduce_on_plateau on them.")
    var losses: String?

    @Option(help: "Output format: table, csv or json.")
    var format: Format = .table

    @Option(help: "Also draw the rates over the same range as an SVG file.")
    var plot: String?

    @Option(name: .customLong("train-size"), help: "Training images per epoch before train_limit and train_repeat.")
    var trainSize: Int = 60_000

    @Option(help: "Workers, for configs that give batch_per_worker.")
    var workers: Int = 1

    func validate() throws {
        if steps != nil && epochs != nil { throw ValidationError("give either --steps or --epochs, not both") }
        if losses != nil && (steps != nil || epochs != nil) {
            throw ValidationError("--losses prints one row per loss (one per epoch); drop --steps and --epochs")
        }
        guard trainSize > 0 else { throw ValidationError("--train-size must be a positive integer (got \(trainSize))") }
        guard workers > 0 else { throw ValidationError("--workers must be a positive integer (got \(workers))") }
        if let steps { _ = try StepRange(parsing: steps, option: "--steps") }
        if let epochs { _ = try StepRange(parsing: epochs, option: "--epochs") }
        if let plot, !plot.hasSuffix(".svg") { throw ValidationError("--plot must name an .svg file (got '\(plot)')") }
    }

    func run() throws {
        let runConfig: RunConfig
        do {
            runConfig = try RunConfig.load(path: config)
        } catch {
            throw ScheduleCommandError(message: "\(error)")
        }
        let geometry = RunGeometry(config: runConfig, trainSize: trainSize, workers: workers)
        let policy = LearningRatePolicy(schedule: runConfig.schedule, stepsPerEpoch: geometry.stepsPerEpoch, globalBatch: geometry.globalBatch)
        let totalSteps = runConfig.training.epochs * geometry.stepsPerEpoch
        var notes = ["schedule: \(policy.schedule.summary)", geometry.description,
                     "training: \(runConfig.training.epochs) epochs = \(totalSteps) updates"]
        if let losses {
            try replayPlateau(policy: policy, lossesPath: losses, notes: notes, geometry: geometry)
            return
        }

        let range: StepRange
        let inEpochs: Bool
        if let epochs {
            range = try StepRange(parsing: epochs, option: "--epochs")
            inEpochs = true
        } else if let steps {
            range = try StepRange(parsing: steps, option: "--steps")
            inEpochs = false
        } else {
            range = StepRange(first: 0, last: runConfig.training.epochs, stride: 1)
            inEpochs = true
        }
        let scale = inEpochs ? geometry.stepsPerEpoch : 1
        guard range.last <= Int.max / scale else {
            throw ScheduleCommandError(message: "--epochs \(range.last) is past the last step a 64-bit integer can count at \(scale) steps per epoch")
        }

        if case .reduceOnPlateau = runConfig.schedule.family {
            notes.append("reduce_on_plateau changes the rate only on validation losses; none are given here (see --losses)")
        }
        var output = ScheduleOutput(format: format, notes: notes, geometry: geometry, summary: policy.schedule.summary)
        try output.begin(columns: ["step", "epoch", "rate", "exact_rate"])
        // One row at a time, straight to the output: no array of the range is ever built.
        for value in range.sequence {
            let step = value * scale
            let exact = policy.exactRate(at: step)
            try output.row(step: step, stepsPerEpoch: geometry.stepsPerEpoch, rate: Float(exact), exact: exact)
        }
        try output.end()
        if format != .table {
            for note in notes { FileHandle.standardError.write(Data("# \(note)\n".utf8)) }
        }

        if let plot {
            // At least two points to draw (a one-step range is widened by one step, never past Int.max).
            let first = range.first * scale
            let last = range.last * scale > first ? range.last * scale : (first < Int.max ? first + 1 : first)
            let stride = max(1, (last - first) / 2000)
            let points = Swift.stride(from: first, through: last, by: stride).map { step in
                (x: inEpochs ? Double(step) / Double(geometry.stepsPerEpoch) : Double(step), y: Double(policy.rate(at: step)))
            }
            try drawPlot(points: points, xTitle: inEpochs ? "epoch" : "step", policy: policy, geometry: geometry, to: plot)
        }
    }

    /// `--losses`: one row per epoch of what reduce_on_plateau does with the given losses.
    private func replayPlateau(policy: LearningRatePolicy, lossesPath: String, notes: [String], geometry: RunGeometry) throws {
        guard case .reduceOnPlateau = policy.schedule.family else {
            throw ScheduleCommandError(message: "--losses replays reduce_on_plateau, but \(config) gives \(policy.schedule.summary), whose rates do not depend on losses; drop --losses")
        }
        let text: String
        do {
            text = try FileReading.text(of: lossesPath, maxBytes: 16 << 20)
        } catch {
            throw ScheduleCommandError(message: "cannot read --losses file \(error); give a text file with one validation loss per line")
        }
        let replay: PlateauReplay
        do {
            replay = PlateauReplay(policy: policy, losses: try PlateauReplay.losses(fromText: text, source: lossesPath))
        } catch {
            throw ScheduleCommandError(message: "\(error)")
        }
        var output = ScheduleOutput(format: format, notes: notes, geometry: geometry, summary: policy.schedule.summary)
        try output.begin(columns: ["epoch", "loss", "rate", "exact_rate", "best", "bad_epochs", "cooldown_left", "next_rate", "reduced"])
        for epoch in replay.epochs { try output.plateauRow(epoch) }
        try output.end()
        if format != .table {
            for note in notes { FileHandle.standardError.write(Data("# \(note)\n".utf8)) }
        }
        if let plot {
            var points = replay.epochs.map { (x: Double($0.epoch - 1), y: $0.rate) }
            if let last = replay.epochs.last { points.append((x: Double(last.epoch), y: last.nextRate)) }
            try drawPlot(points: points, xTitle: "epoch", policy: policy, geometry: geometry, to: plot)
        }
    }

    private func drawPlot(points: [(x: Double, y: Double)], xTitle: String, policy: LearningRatePolicy, geometry: RunGeometry, to plot: String) throws {
        let chart = ScheduleChart(title: policy.schedule.summary, subtitle: geometry.description, xTitle: xTitle, points: points)
        try AtomicFile.write(chart.svg(), to: plot)
        FileHandle.standardError.write(Data("wrote \(plot)\n".utf8))
    }
}

/// Steps per epoch and the global batch of a run, and where each number came from.
struct RunGeometry: CustomStringConvertible {
    var trainSize: Int
    var effectiveSize: Int
    var globalBatch: Int
    var stepsPerEpoch: Int
    var batchSource: String

    init(config: RunConfig, trainSize: Int, workers: Int) {
        self.trainSize = trainSize
        effectiveSize = min(config.data.trainLimit ?? trainSize, trainSize) * config.data.trainRepeat
        globalBatch = config.globalBatch(workers: workers)
        stepsPerEpoch = (effectiveSize + globalBatch - 1) / globalBatch
        if let perWorker = config.training.batchPerWorker {
            batchSource = "training.batch_per_worker \(perWorker) x \(workers) workers"
        } else {
            batchSource = "training.batch_size"
        }
    }

    var description: String {
        "steps per epoch: \(stepsPerEpoch) = ceil(\(effectiveSize) / \(globalBatch)); train size \(effectiveSize) (--train-size \(trainSize), data.train_limit, data.train_repeat), global batch \(globalBatch) (\(batchSource))"
    }
}

/// A range A:B:S of steps or epochs, B inclusive.
struct StepRange {
    var first: Int
    var last: Int
    var stride: Int

    init(first: Int, last: Int, stride: Int) {
        self.first = first
        self.last = last
        self.stride = stride
    }

    init(parsing text: String, option: String) throws {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard (2...3).contains(parts.count), parts.allSatisfy({ $0 != nil }) else {
            throw ValidationError("\(option) must look like A:B or A:B:S with integers (got '\(text)'), e.g. 0:28125:1000")
        }
        first = parts[0]!
        last = parts[1]!
        stride = parts.count == 3 ? parts[2]! : 1
        guard first >= 0, last >= first, stride > 0 else {
            throw ValidationError("\(option) needs 0 <= A <= B and S > 0 (got '\(text)')")
        }
    }

    /// The values, produced one at a time (a range of 10^8 steps never exists as an array).
    var sequence: StrideThrough<Int> { Swift.stride(from: first, through: last, by: stride) }
}

/// Rows as a table, CSV or JSON, written as they come through a 64 KiB buffer to standard output.
/// Rates are written with 17 significant digits (`%.17g`), which read back as exactly the same double.
struct ScheduleOutput {
    let format: ScheduleCommand.Format
    let notes: [String]
    let geometry: RunGeometry
    let summary: String
    private var buffer: [UInt8] = []
    private var rows = 0

    init(format: ScheduleCommand.Format, notes: [String], geometry: RunGeometry, summary: String) {
        self.format = format
        self.notes = notes
        self.geometry = geometry
        self.summary = summary
        buffer.reserveCapacity(1 << 16)
    }

    mutating func begin(columns: [String]) throws {
        switch format {
        case .table:
            for note in notes { append("# \(note)\n") }
            if columns.first == "step" {
                append(Self.pad("step", 12) + Self.pad("epoch", 12) + "  " + Self.padRight("rate (float32, as SGD applies it)", 36) + "exact rate (float64)\n")
            } else {
                append(Self.pad("epoch", 6) + Self.pad("loss", 14) + "  " + Self.padRight("rate", 16) + Self.padRight("best", 14)
                       + Self.pad("bad", 4) + Self.pad("cooldown", 9) + "  " + "next rate\n")
            }
        case .csv:
            append(columns.joined(separator: ",") + "\n")
        case .json:
            let key = columns.first == "step" ? "rates" : "epochs"
            append("{\n  \"schedule\": \(Self.jsonString(summary)),\n  \"steps_per_epoch\": \(geometry.stepsPerEpoch),\n")
            append("  \"global_batch\": \(geometry.globalBatch),\n  \"train_size\": \(geometry.effectiveSize),\n  \"\(key)\": [")
        }
        try flushIfFull()
    }

    /// One row; `rate` is `Float(exact)`. CSV and JSON rows are formatted straight into the buffer.
    mutating func row(step: Int, stepsPerEpoch: Int, rate: Float, exact: Double) throws {
        switch format {
        case .table:
            let epoch = Double(step) / Double(stepsPerEpoch)
            append(Self.pad(String(step), 12) + Self.pad(String(format: "%.3f", epoch), 12) + "  " + Self.padRight("\(rate)", 36) + Self.exact(exact) + "\n")
        case .csv:
            append(String(step))
            appendByte(UInt8(ascii: ","))
            appendEpoch(step: step, stepsPerEpoch: stepsPerEpoch)
            appendByte(UInt8(ascii: ","))
            appendRates(rate: rate, exact: exact, between: ",")
            appendByte(UInt8(ascii: "\n"))
        case .json:
            append((rows == 0 ? "\n" : ",\n") + "    {\"step\": \(step), \"epoch\": ")
            appendExact(Double(step) / Double(stepsPerEpoch))
            append(", \"rate\": ")
            appendRates(rate: rate, exact: exact, between: ", \"exact_rate\": ")
            appendByte(UInt8(ascii: "}"))
        }
        rows += 1
        try flushIfFull()
    }

    /// `rate` (as its exact double) and `exact`, 17 significant digits each; formatted once when equal
    /// (every Keras-style family).
    private mutating func appendRates(rate: Float, exact: Double, between separator: String) {
        Self.withExactText(Double(rate)) { rateText in
            buffer.append(contentsOf: rateText)
            append(separator)
            if Double(rate) == exact {
                buffer.append(contentsOf: rateText)
            } else {
                Self.withExactText(exact) { buffer.append(contentsOf: $0) }
            }
        }
    }

    /// step / stepsPerEpoch with 6 decimals, from the integers (rounded half up): no float formatting.
    private mutating func appendEpoch(step: Int, stepsPerEpoch: Int) {
        let whole = step / stepsPerEpoch
        let remainder = step % stepsPerEpoch
        // remainder * 10^6 fits: remainder < stepsPerEpoch, and a row past 2^43 steps per epoch takes the slow path.
        var micro: Int
        if remainder <= Int.max / 2_000_000 {
            micro = (remainder * 2_000_000 + stepsPerEpoch) / (2 * stepsPerEpoch)
        } else {
            micro = Int((Double(remainder) / Double(stepsPerEpoch) * 1e6).rounded())
        }
        var integral = whole
        if micro == 1_000_000 { integral += 1; micro = 0 }
        append(String(integral))
        appendByte(UInt8(ascii: "."))
        let digits = String(micro)
        for _ in digits.utf8.count..<6 { appendByte(UInt8(ascii: "0")) }
        append(digits)
    }

    /// `x` with 17 significant digits (`%.17g`), written into the buffer.
    private mutating func appendExact(_ x: Double) {
        Self.withExactText(x) { buffer.append(contentsOf: $0) }
    }

    /// Calls `body` with the bytes of `x` formatted `%.17g`, from a stack buffer (no allocation).
    private static func withExactText<R>(_ x: Double, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 40) { text in
            let count = withVaList([x]) { vsnprintf(text.baseAddress!, 40, "%.17g", $0) }
            return text.baseAddress!.withMemoryRebound(to: UInt8.self, capacity: 40) { bytes in
                body(UnsafeBufferPointer(start: bytes, count: Int(max(0, min(count, 39)))))
            }
        }
    }

    private mutating func appendByte(_ byte: UInt8) { buffer.append(byte) }

    mutating func plateauRow(_ e: PlateauReplay.Epoch) throws {
        let best = e.state.best
        switch format {
        case .table:
            append(Self.pad(String(e.epoch), 6) + Self.pad(Self.short(e.loss), 14) + "  " + Self.padRight("\(Float(e.rate))", 16)
                   + Self.padRight(best.map(Self.short) ?? "-", 14) + Self.pad(String(e.state.badEpochs), 4)
                   + Self.pad(String(e.state.cooldownLeft), 9) + "  " + "\(Float(e.nextRate))" + (e.reduced ? "  (reduced)" : "") + "\n")
        case .csv:
            append([String(e.epoch), Self.exact(e.loss), Self.exact(Double(Float(e.rate))), Self.exact(e.rate), best.map(Self.exact) ?? "",
                    String(e.state.badEpochs), String(e.state.cooldownLeft), Self.exact(e.nextRate), String(e.reduced)].joined(separator: ",") + "\n")
        case .json:
            let fields = ["\"epoch\": \(e.epoch)", "\"loss\": \(Self.json(e.loss))", "\"rate\": \(Self.exact(Double(Float(e.rate))))",
                          "\"exact_rate\": \(Self.exact(e.rate))", "\"best\": \(best.map(Self.json) ?? "null")",
                          "\"bad_epochs\": \(e.state.badEpochs)", "\"cooldown_left\": \(e.state.cooldownLeft)",
                          "\"next_rate\": \(Self.exact(e.nextRate))", "\"reduced\": \(e.reduced)"]
            append((rows == 0 ? "\n" : ",\n") + "    {" + fields.joined(separator: ", ") + "}")
        }
        rows += 1
        try flushIfFull()
    }

    mutating func end() throws {
        if format == .json { append(rows == 0 ? "]\n}\n" : "\n  ]\n}\n") }
        try flush()
    }

    private mutating func append(_ text: String) { buffer.append(contentsOf: text.utf8) }

    private mutating func flushIfFull() throws {
        if buffer.count >= 1 << 16 { try flush() }
    }

    /// Writes the buffer to standard output, all of it (retrying short writes and EINTR).
    private mutating func flush() throws {
        try buffer.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(STDOUT_FILENO, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw ScheduleCommandError(message: "cannot write the rates to standard output: \(String(cString: strerror(errno)))")
                }
                offset += written
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// `x` with 17 significant digits: the text reads back as exactly the same double.
    static func exact(_ x: Double) -> String {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 40) { text in
            _ = withVaList([x]) { vsnprintf(text.baseAddress!, 40, "%.17g", $0) }
            return String(cString: text.baseAddress!)
        }
    }

    /// A finite number for JSON with 17 significant digits; NaN and infinities (a loss can be one) as null.
    static func json(_ x: Double) -> String { x.isFinite ? exact(x) : "null" }

    /// The shortest text that reads back as `x`, for the table.
    static func short(_ x: Double) -> String { "\(x)" }

    static func jsonString(_ text: String) -> String {
        (try? JSONEncoder().encode(text)).map { String(decoding: $0, as: UTF8.self) } ?? "\"\""
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - text.count)) + text
    }

    private static func padRight(_ text: String, _ width: Int) -> String {
        text + String(repeating: " ", count: max(1, width - text.count))
    }
}

/// A failure of `descent schedule` after its arguments parsed (unreadable config, unwritable plot).
struct ScheduleCommandError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
