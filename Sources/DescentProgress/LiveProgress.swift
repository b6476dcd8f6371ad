import DescentCore
import DescentTraining

/// The live progress of a run on a terminal: one line with the epoch, step/total, samples/s, the
/// loss, the rate, the time left, the workers alive and the slowest one, redrawn in place at
/// most `maximumRedrawsPerSecond` times a second.
///
/// Per step it only adds to a few numbers and reads the clock; the line is built only when drawn.
public final class LiveProgress: RunObserver, @unchecked Sendable {
    /// Where the line goes.
    public enum Output: Sendable {
        /// Redrawn in place at the bottom of this process's terminal (`ConsoleStatus`).
        case terminal
        /// Written as marked lines (`ProgressLine.marker` + text) for a launcher that draws them.
        case markedLines
        /// Handed to a function (tests).
        case function(@Sendable (String) -> Void)
    }

    private let output: Output
    private let interval: Double
    private let clock: () -> Double

    private var run = RunDescription(role: "", workers: 1, epochs: 1, stepsPerEpoch: 1, totalSteps: 1, globalBatch: 1, schedule: "")
    private var membership: Membership?
    private var lastDraw = -Double.infinity
    private var lossSum = 0.0
    private var lossCount = 0
    private var windowStartMs = 0.0
    private var windowSamples = 0
    private var samplesPerSecond = 0.0
    private var finished = false

    public init(output: Output, maximumRedrawsPerSecond: Double = 10, clock: @escaping () -> Double = monotonicSeconds) {
        self.output = output
        self.interval = 1 / maximumRedrawsPerSecond
        self.clock = clock
    }

    public func runStarted(_ run: RunDescription) {
        self.run = run
        if case .markedLines = output { ConsoleStatus.progressDrawnElsewhere() }
    }

    public func membershipChanged(_ membership: Membership) { self.membership = membership }

    public func stepApplied(_ record: StepRecord, workerLatencies: [Double]) {
        lossSum += record.loss
        lossCount += 1
        windowSamples += record.samples
        let now = clock()
        guard now - lastDraw >= interval, !finished else { return }
        lastDraw = now
        let timeMs = record.timeMs ?? 0
        if timeMs > windowStartMs { samplesPerSecond = Double(windowSamples) / ((timeMs - windowStartMs) / 1000) }
        let text = ProgressText.line(run: run, record: record, meanLoss: lossSum / Double(max(lossCount, 1)),
                                     samplesPerSecond: samplesPerSecond, membership: membership)
        windowStartMs = timeMs
        windowSamples = 0
        lossSum = 0
        lossCount = 0
        draw(text)
    }

    public func runFinished(_ summary: RunSummary) { stop() }
    public func runFailed(_ message: String) { stop() }

    private func stop() {
        finished = true
        if case .terminal = output { ConsoleStatus.clear() }
    }

    private func draw(_ text: String) {
        switch output {
        case .terminal: ConsoleStatus.show(text)
        case .markedLines: Console.out(ProgressLine.marker + text)
        case .function(let f): f(text)
        }
    }
}

/// The marker a progress line carries between a coordinator and the `launch` that draws it.
public enum ProgressLine {
    public static let marker = "\u{1E}progress "
}

/// The progress line's text, as a pure function of what a run reported.
public enum ProgressText {
    public static func line(run: RunDescription, record: StepRecord, meanLoss: Double, samplesPerSecond: Double,
                            membership: Membership?) -> String {
        let done = record.step + 1
        let total = max(run.totalSteps, 1)
        var parts = [
            "epoch \(record.epoch + 1)/\(run.epochs)",
            "step \(done)/\(total) (\(done * 100 / total)%)",
            "\(grouped(Int(samplesPerSecond.rounded()))) samples/s",
            "loss \(fixed(meanLoss, 4))",
            "rate \(fixed(Double(record.rate), 5))",
        ]
        if let timeMs = record.timeMs, done > 0 {
            let secondsLeft = timeMs / 1000 / Double(done) * Double(max(total - done, 0))
            parts.append("ETA \(duration(secondsLeft))")
        }
        if let membership {
            var workers = "workers \(membership.alive)/\(membership.expected)"
            if let slowest = record.slowestRank, let latency = record.slowestLatencyMs {
                workers += ", slowest \(slowest) (\(fixed(latency, 2)) ms)"
            }
            parts.append(workers)
        }
        return parts.joined(separator: " | ")
    }

    /// `1:02:03` or `2:03`.
    public static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        let (h, m, r) = (s / 3600, s / 60 % 60, s % 60)
        return h > 0 ? "\(h):\(two(m)):\(two(r))" : "\(m):\(two(r))"
    }

    /// `123,456`.
    public static func grouped(_ value: Int) -> String {
        let digits = String(abs(value))
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return value < 0 ? "-" + out : out
    }

    /// `value` with `decimals` digits after the point (no Foundation on this path).
    public static func fixed(_ value: Double, _ decimals: Int) -> String {
        guard value.isFinite else { return "\(value)" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        let whole = Int(scaled / scale)
        let fraction = Int(scaled - Double(whole) * scale)
        var fractionText = String(fraction)
        while fractionText.count < decimals { fractionText = "0" + fractionText }
        return (value < 0 && scaled != 0 ? "-" : "") + "\(whole)" + (decimals > 0 ? "." + fractionText : "")
    }

    private static func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}
