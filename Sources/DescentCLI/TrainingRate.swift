/// The training throughput a step trace shows (the coordinator's, or `descent train`'s): samples
/// over the time between consecutive records, leaving out the warm-up and each interval in which
/// an epoch ended. That interval holds the epoch's test-set evaluation (10,000 images on the
/// sample: 10-30 ms, as long as 100 steps at 2 x 32) and its report; the figures it is compared
/// with leave evaluation out too (`bench compute`'s trainer and the PyTorch peers time their
/// training loops only).
struct TrainingRate {
    /// Samples per second of training.
    let samplesPerSecond: Double
    /// Mean milliseconds per step over the intervals kept.
    let stepMs: Double
    /// Intervals kept, and left out because an epoch ended in them.
    let steps: Int
    let epochEnds: Int

    /// Steps a measurement leaves out at the start of a trace: the first `minimum`, and every one
    /// recorded within `seconds` of the first record, but never more than half the records. The
    /// baselines it is compared with are warm (`bench compute` keeps the best of several rounds
    /// after a warm-up chunk), and here a CPU that idled while the workers registered ran a
    /// distributed run's first 40-60 ms about 20% slower (coordinator steps of 122 µs, then 99 µs,
    /// at 2 x 32), which in a 0.2 s run was a tenth of its time.
    static func warmupSteps(records: [[String: Any]], minimum: Int = 20, seconds: Double = 0.15) -> Int {
        var warmup = minimum
        if let first = records.first?["time_ms"] as? Double, first.isFinite {
            while warmup < records.count, let time = records[warmup]["time_ms"] as? Double, time.isFinite,
                  time - first < seconds * 1000 {
                warmup += 1
            }
        }
        return min(warmup, records.count / 2)
    }

    /// `records`: the trace's lines in order, each with `time_ms`, `epoch` and `samples`; the
    /// first `warmup` steps are not measured (the interval before the first measured one is its start).
    init(records: [[String: Any]], warmup: Int) {
        var seconds = 0.0, samples = 0, steps = 0, epochEnds = 0
        let first = max(1, warmup)
        if first < records.count {
            for index in first..<records.count {
                let previous = records[index - 1], record = records[index]
                guard let start = previous["time_ms"] as? Double, let end = record["time_ms"] as? Double,
                      end >= start, end.isFinite, start.isFinite else { continue }
                if let before = previous["epoch"] as? Int, let now = record["epoch"] as? Int, before != now {
                    epochEnds += 1
                    continue
                }
                seconds += (end - start) / 1000
                samples += record["samples"] as? Int ?? 0
                steps += 1
            }
        }
        samplesPerSecond = seconds > 0 ? Double(samples) / seconds : 0
        stepMs = steps > 0 ? seconds * 1000 / Double(steps) : 0
        self.steps = steps
        self.epochEnds = epochEnds
    }
}
