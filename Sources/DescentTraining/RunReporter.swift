import DescentCore
import Foundation

/// What a training run tells its user on standard output — the same lines whether one process
/// trains or a coordinator drives workers — plus a progress line on standard error.
public struct RunReporter {
    public var epochs: Int
    public var stepsPerEpoch: Int
    private var progress: ProgressLine

    public init(epochs: Int, stepsPerEpoch: Int) {
        self.epochs = epochs
        self.stepsPerEpoch = stepsPerEpoch
        progress = ProgressLine()
    }

    /// `Epoch 01: learning rate = 0.10000`, as the reference program prints at each epoch start.
    public func epochStarted(_ epoch: Int, rate: Float) {
        emit("Epoch \(pad(epoch + 1)): learning rate = \(String(format: "%.5f", Double(rate)))")
    }

    /// Called after each applied update; draws the progress line at most a few times a second.
    public mutating func stepFinished(step: Int, lossSoFar: Double, samplesPerSecond: Double) {
        let inEpoch = step % stepsPerEpoch + 1
        progress.update(
            "  \(inEpoch)/\(stepsPerEpoch) steps - loss: \(String(format: "%.4f", lossSoFar)) - \(Int(samplesPerSecond)) samples/s")
    }

    public mutating func epochFinished(
        _ epoch: Int, steps: Int, loss: Double, accuracy: Double, testLoss: Double, testAccuracy: Double, seconds: Double
    ) {
        progress.clear()
        emit(String(
            format: "Epoch %@/%@ - %d steps - %.1fs - loss: %.4f - accuracy: %.4f - test_loss: %.4f - test_accuracy: %.4f",
            pad(epoch + 1), pad(epochs), steps, seconds, loss, accuracy, testLoss, testAccuracy))
    }

    /// The end summary: test loss and accuracy, the rate the schedule gives after the last step,
    /// and how many steps this process trained (`steps` is where the run is now; a resumed run
    /// started at `resumedAt`).
    public mutating func finished(testLoss: Double, testAccuracy: Double, finalRate: Float, steps: Int, resumedAt: Int = 0, seconds: Double) {
        progress.clear()
        emit(String(format: "Test loss: %.4f - test accuracy: %.4f", testLoss, testAccuracy))
        emit("Current learning rate: \(Double(finalRate))")
        emit(Self.trainedLine(steps: steps, resumedAt: resumedAt, seconds: seconds))
        if let peak = peakResidentMemoryMB() { emit(String(format: "Peak memory: %.1f MB", peak)) }
    }

    /// "Trained N steps in S s", saying for a resumed run where it resumed, and that a run resumed
    /// at its last step had nothing left to train.
    static func trainedLine(steps: Int, resumedAt: Int, seconds: Double) -> String {
        let trained = max(0, steps - resumedAt)
        let line = String(format: "Trained %d step%@ in %.1fs", trained, trained == 1 ? "" : "s", seconds)
        guard resumedAt > 0 else { return line }
        guard trained > 0 else {
            return line + " (the checkpoint's step \(resumedAt) is where the run ends; give a larger --max-steps or more epochs to train on)"
        }
        return line + " (resumed at step \(resumedAt); the run is at step \(steps))"
    }

    private func pad(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

    private func emit(_ line: String) {
        Console.out(line)
    }
}

/// A single status line on standard error, redrawn in place on a terminal and printed at most
/// every ten seconds otherwise, so logs stay readable.
struct ProgressLine {
    private let isTerminal = isatty(STDERR_FILENO) != 0
    private var lastDraw = 0.0
    private var drawn = false

    mutating func update(_ text: @autoclosure () -> String) {
        let now = monotonicSeconds()
        let interval = isTerminal ? 0.25 : 10.0
        guard now - lastDraw >= interval, !ConsoleStatus.isShowing else { return }
        lastDraw = now
        if isTerminal {
            Console.errorRaw("\r\u{1B}[K" + text())
            drawn = true
        } else {
            Console.error(text())
        }
    }

    mutating func clear() {
        if drawn {
            Console.errorRaw("\r\u{1B}[K")
            drawn = false
        }
        lastDraw = monotonicSeconds()
    }
}

/// The most resident memory this process has used so far, in MB: Linux's VmHWM (the high-water
/// mark of this program's own memory; getrusage's ru_maxrss would also count the parent's memory
/// when the process was spawned with vfork), else getrusage.
public func peakResidentMemoryMB() -> Double? {
    #if os(Linux)
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "") else { return nil }
    return kilobytes / 1024
    #else
    var usage = rusage()
    guard getrusage(RUSAGE_SELF, &usage) == 0 else { return nil }
    return Double(usage.ru_maxrss) / 1_048_576
    #endif
}

