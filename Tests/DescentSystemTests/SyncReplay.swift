import DescentConfig
import DescentCore
import DescentData
import DescentKernels
import DescentModel
import DescentProtocol
import DescentTraining
import Testing

/// A sync run's steps computed again in this process, from the run's own trace: which ranks took
/// part in each step and at which rate it was applied. Each rank computes its slots of the global
/// batch as one batch, as a worker does (`SlotAssignment`: a lost rank's slot goes to a survivor);
/// the coordinator's sum of `n_r * g_r`, its mean and the SGD step follow.
///
/// So a run whose workers died and were replaced must end with exactly these parameters: a
/// gradient applied twice, to the wrong step, or from stale parameters changes them. Comparing
/// with a run that never lost a worker cannot be exact: a share computed by another rank sums its
/// samples in another order, and a hidden unit within rounding of zero can then flip its ReLU.
///
/// At most two ranks per step: with more, the coordinator adds gradients in the order they
/// arrive, which the trace does not record (with two, the sum is the same either way).
struct SyncReplay {
    struct Step {
        var ranks: [Int]
        var rate: Float
        var loss: Double
    }

    let config: RunConfig
    let slots: Int

    /// Each step's ranks, rate and mean loss, from a coordinator's trace.
    static func steps(fromTrace records: [[String: Any]]) throws -> [Step] {
        try records.map { record in
            let ranks = try #require(record["ranks"] as? [Int]), rate = try #require(record["rate"] as? Double)
            return Step(ranks: ranks, rate: Float(rate), loss: try #require(record["loss"] as? Double))
        }
    }

    /// The parameters after `steps`, and the first step whose loss differs from the trace's by more
    /// than float rounding (nil: none), which is where a mismatch began.
    func run(train images: LabeledImages, steps: [Step]) throws -> (parameters: [Float], firstLossMismatch: Int?) {
        precondition(steps.allSatisfy { $0.ranks.count <= 2 }, "replays steps of at most two ranks")
        BLASThreads.set(config.training.threads)
        let shape = MLPShape(inputs: images.featureCount, hidden: config.model.hidden, classes: 10)
        let plan = EpochPlan(sampleCount: images.count, globalBatch: config.globalBatch(workers: slots), seed: config.seed)
        let engine = GradientEngine(shape: shape, maxBatch: plan.globalBatch, backend: config.training.backend)
        let buffer = BatchBuffer(capacity: plan.globalBatch, featureCount: shape.inputs)
        var optimizer = SGD(config.optimizer, parameterCount: shape.parameterCount)
        var parameters = shape.initialParameters(seed: config.seed)
        var gradient = [Float](repeating: 0, count: shape.parameterCount)
        var sum = gradient, staged = gradient
        var order: [Int] = [], orderEpoch = -1
        var firstLossMismatch: Int?

        for (step, record) in steps.enumerated() {
            let (epoch, batch) = plan.position(ofStep: step)
            if epoch != orderEpoch {
                plan.shuffle(epoch: epoch, into: &order)
                orderEpoch = epoch
            }
            let participants = SlotAssignment.mask(record.ranks)
            var samples = 0, lossSum = 0.0
            for rank in record.ranks {
                var count = 0
                for slot in SlotAssignment.slots(of: rank, participants: participants, slotCount: slots) {
                    count += plan.share(batch: batch, rank: slot, workers: slots, order: order,
                                        into: UnsafeMutableBufferPointer(rebasing: buffer.indices[count...]))
                }
                buffer.fill(from: images, count: count)
                let stats = parameters.withUnsafeBufferPointer { p in
                    gradient.withUnsafeMutableBufferPointer { g in
                        engine.lossAndGradient(parameters: p, features: buffer.features, labels: buffer.labels, batch: count, gradient: g)
                    }
                }
                let first: Int32 = samples == 0 ? 1 : 0
                _ = gradient.withUnsafeBytes { g in
                    sum.withUnsafeBufferPointer { s in
                        staged.withUnsafeMutableBufferPointer { t in
                            descent_stage_weighted(t.baseAddress, s.baseAddress, g.baseAddress, g.count / 4, Float(count), first)
                        }
                    }
                }
                swap(&sum, &staged)
                samples += count
                lossSum += stats.loss * Double(count)
            }
            _ = sum.withUnsafeMutableBufferPointer { descent_scale_norm($0.baseAddress, $0.count, 1 / Float(samples)) }
            parameters.withUnsafeMutableBufferPointer { p in
                sum.withUnsafeBufferPointer { optimizer.step(parameters: p, gradient: $0, rate: record.rate) }
            }
            let loss = lossSum / Double(samples)
            if firstLossMismatch == nil, abs(loss - record.loss) > 1e-9 * max(1, abs(loss)) { firstLossMismatch = step }
        }
        return (parameters, firstLossMismatch)
    }
}
