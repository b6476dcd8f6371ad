import Foundation

/// What reduce-on-plateau does for a given sequence of validation losses, one per epoch, replayed
/// through a policy exactly as the trainer drives it: epoch e trains at the rate of its first step,
/// then its loss is observed (`descent schedule --losses FILE`).
public struct PlateauReplay: Sendable {
    /// One epoch of the replay.
    public struct Epoch: Sendable, Equatable {
        /// 1-based, as the trainer prints epochs.
        public var epoch: Int
        /// The loss observed at the end of this epoch.
        public var loss: Double
        /// The exact rate at the epoch's first step (warmup and scaling included).
        public var rate: Double
        /// The exact rate at the next epoch's first step, after this loss was observed.
        public var nextRate: Double
        /// The plateau state after observing `loss`.
        public var state: PlateauState
        /// Whether observing `loss` reduced the plateau rate.
        public var reduced: Bool
    }

    public var epochs: [Epoch]

    /// Replays `losses` through `policy`, which must be a reduce_on_plateau policy.
    public init(policy: LearningRatePolicy, losses: [Double]) {
        var policy = policy
        var epochs: [Epoch] = []
        epochs.reserveCapacity(losses.count)
        for (index, loss) in losses.enumerated() {
            let rate = policy.exactRate(at: index * policy.stepsPerEpoch)
            let before = policy.plateau?.rate
            policy.observe(validationLoss: loss)
            let state = policy.plateau ?? PlateauState(rate: rate)
            epochs.append(Epoch(epoch: index + 1, loss: loss, rate: rate,
                                nextRate: policy.exactRate(at: (index + 1) * policy.stepsPerEpoch),
                                state: state, reduced: before.map { state.rate < $0 } ?? false))
        }
        self.epochs = epochs
    }

    /// Reads one validation loss per line; blank lines and lines starting with `#` are skipped,
    /// `nan` and `inf` are read as such (they never count as an improvement).
    /// - Throws: `PlateauReplay.LossFileError` naming the line and its text.
    public static func losses(fromText text: String, source: String) throws -> [Double] {
        var losses: [Double] = []
        for (index, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let loss = Double(line) else {
                throw LossFileError(message: "\(source) line \(index + 1): '\(line)' is not a number; write one validation loss per line (one per epoch)")
            }
            losses.append(loss)
        }
        guard !losses.isEmpty else {
            throw LossFileError(message: "\(source) holds no losses; write one validation loss per line (one per epoch)")
        }
        return losses
    }

    /// A losses file that cannot be read as one loss per line.
    public struct LossFileError: Error, CustomStringConvertible, Sendable {
        public var message: String
        public var description: String { message }
    }
}
