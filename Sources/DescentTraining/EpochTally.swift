/// What one epoch of training has added up so far: loss, correct predictions, samples, steps.
public struct EpochTally: Sendable, Equatable, Codable {
    public private(set) var lossSum = 0.0
    public private(set) var correct = 0
    public private(set) var samples = 0
    public private(set) var steps = 0
    public private(set) var started: Double

    public init(started: Double) { self.started = started }

    /// Adds one applied update: the loss summed over its samples, its correct predictions.
    public mutating func add(lossSum: Double, correct: Int, samples: Int) {
        self.lossSum += lossSum
        self.correct += correct
        self.samples += samples
        steps += 1
    }

    public var meanLoss: Double { lossSum / Double(max(samples, 1)) }
    public var accuracy: Double { Double(correct) / Double(max(samples, 1)) }
    /// Starts the clock again (after a pause, or in a process that resumed from a checkpoint).
    public mutating func restartClock(now: Double) { started = now }

    public func samplesPerSecond(now: Double) -> Double { Double(samples) / max(now - started, 1e-9) }

    /// Reports the epoch to `reporter` with its test-set figures.
    public func report(epoch: Int, to reporter: inout RunReporter, testLoss: Double, testAccuracy: Double, now: Double) {
        reporter.epochFinished(epoch, steps: steps, loss: meanLoss, accuracy: accuracy,
                               testLoss: testLoss, testAccuracy: testAccuracy, seconds: now - started)
    }
}
