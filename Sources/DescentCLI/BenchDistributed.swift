import ArgumentParser
import DescentCore
import DescentLaunch
import DescentMetrics
import DescentTransport
import Foundation

/// `descent bench distributed`: samples/s of real coordinator and worker processes on this
/// machine, with a per-step breakdown, side by side with PyTorch DDP (gloo) in the same run.
struct BenchDistributed: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distributed",
        abstract: "Throughput of a coordinator and N workers on this machine, beside PyTorch DDP.",
        discussion: """
            For each (workers, batch per worker) pair, trains the seed MLP on the training set repeated \
            --repeat times (12 turns the 5,000-image sample into a 60,000-sample epoch) with a real \
            coordinator and real workers over ZeroMQ, reads their step traces, and reports samples/s of \
            training (the time between steps, without the step in which an epoch ended: its test-set \
            evaluation is not training, and the figures compared with it leave evaluation out too) and \
            where a step's time goes: compute (a worker's forward/backward), communication (the rest of the \
            fastest worker's round trip), waiting (for the slowest worker) and the update (averaging + SGD). \
            With a Python that imports torch, the shared torch_ddp.py peer runs the same job in the same \
            run and the ratio is printed. Memory: the processes' resident size early and at the end. For 2 or \
            more workers on shared memory it also measures, right after, one process at the same global \
            batch (the trainer on one core in process, descent train with 1 and 2 threads, PyTorch with 2 \
            threads through --peer-mlp-script) and prints the ratios. --sync measures synchronisation modes \
            side by side (sync, async, bounded:K; async and bounded send parameters through the socket), \
            with the mean and largest staleness of each.
            """)

    @Option(help: "Comma-separated worker counts.", transform: CountList.workerCounts)
    var workers = CountList(values: [2])

    @Option(help: "Comma-separated batch sizes per worker.", transform: CountList.batchSizes)
    var batch = CountList(values: [32, 128])

    @Option(help: "Comma-separated synchronisation modes, measured side by side: sync, async, bounded:K (e.g. sync,async,bounded:2).",
            transform: SyncModes.parse)
    var sync = SyncModes(values: [.sync])

    @Option(help: "Epochs per measurement (at least; runs grow to --min-steps).")
    var epochs: Int = 2

    @Option(help: "Each measurement runs at least this many steps, so short runs are not all noise.")
    var minSteps: Int = 4000

    @Option(help: "Stop each run after this many steps (e.g. 20000 for a memory soak; the epochs grow to match).")
    var steps: Int?

    @Option(help: "Repeat the training set this many times per epoch.")
    var `repeat`: Int = 12

    @Option(help: "MNIST directory (default: $DESCENT_MNIST_SAMPLE, else ../shared/data/mnist-sample, else $DESCENT_DATA, else ./data/mnist).")
    var data: String?

    @Option(help: "Transport between the processes: ipc or tcp (loopback).")
    var transport: String = "ipc"

    @Flag(help: "Send parameters and gradients through the socket instead of shared memory.")
    var noSharedMemory = false

    @Flag(help: "Do not pin worker r to CPU r.")
    var noPin = false

    @Flag(help: "The coordinator computes rank 0's share itself (descent coordinator --local-worker, pinned to CPU 0); N-1 worker processes.")
    var localWorker = false

    @Option(parsing: .unconditional, help: "After the table, compare N worker processes with --local-worker (the coordinator computing rank 0's share, N-1 processes) in this many rounds of back-to-back runs, alternating which goes first (0: no comparison; at most 100).")
    var localWorkerRounds: Int = 0

    @Option(help: "CURVE on the sockets: off, on, or both (each measurement without and with it, side by side, and their ratio).")
    var curve: String = "off"

    @Option(help: "Comma-separated wire encodings to measure side by side: float32, bf16 (each run's bytes per step are reported; with --no-shared-memory they cross the socket).",
            transform: WireEncodingList.parse)
    var wireEncoding = WireEncodingList(values: [.float32])

    @Option(help: "A Python that imports torch, to run the PyTorch DDP peer ('none' to skip).")
    var peerPython: String = "python3"

    @Option(help: "The PyTorch DDP peer script.")
    var peerScript: String = "../shared/bench/peers/torch_ddp.py"

    @Option(parsing: .unconditional, help: "Measure each pair with every observer on and off, alternately (on-off, then off-on), this many times each (0: observers off only; at most 1000).")
    var observerRounds: Int = 0

    @Option(help: "The PyTorch one-process peer, run with 2 intra-op threads at each global batch of 2 or more workers.")
    var peerMLPScript: String = "../shared/bench/peers/torch_mlp.py"

    @Option(help: "Pass --spin-microseconds to the coordinator (default: the coordinator's).")
    var spinMicroseconds: Int?

    @Option(help: "Rounds of the one-host comparison (1-100): each round runs the N workers and the one-core trainer back to back, alternating which goes first, and takes their ratio; with 2 or more, workers/one core is the median of the rounds' ratios, beside their range.")
    var baselineRounds: Int = 1

    @Flag(help: "Skip the one-process baselines (the trainer on one core, descent train with 1 and 2 threads, PyTorch with 2 threads).")
    var noBaselines = false

    /// The most steps a measurement may be asked to run (--steps, --min-steps): days of training.
    static let maxSteps = 100_000_000

    func validate() throws {
        // Bounded before any arithmetic on them (epochs x steps per epoch must not overflow).
        try FlagRange.check("--epochs", epochs, 1...RunLimits.epochs)
        try FlagRange.check("--repeat", `repeat`, 1...RunLimits.trainRepeat)
        try FlagRange.check("--min-steps", minSteps, 1...Self.maxSteps)
        try FlagRange.check("--steps", steps, 50...Self.maxSteps)
        guard ["ipc", "tcp"].contains(transport) else { throw ValidationError("--transport must be ipc or tcp (got \(transport))") }
        guard ["off", "on", "both"].contains(curve) else { throw ValidationError("--curve must be off, on or both (got \(curve))") }
        try FlagRange.check("--observer-rounds", observerRounds, 0...1000)
        try FlagRange.check("--baseline-rounds", baselineRounds, 1...100)
        try FlagRange.check("--local-worker-rounds", localWorkerRounds, 0...100)
        if localWorkerRounds > 0 && (localWorker || noSharedMemory || workers.values.allSatisfy({ $0 < 2 })) {
            throw ValidationError("--local-worker-rounds compares worker processes with --local-worker at 2 or more workers on shared memory; "
                                  + "drop \(localWorker ? "--local-worker" : noSharedMemory ? "--no-shared-memory" : "--workers 1") or the rounds")
        }
        if baselineRounds > 1 {
            // Rounds compare the workers with the one-core baseline: refused where there is none.
            let without = noBaselines ? "--no-baselines" : noSharedMemory ? "--no-shared-memory" : observerRounds > 0 ? "--observer-rounds"
                : workers.values.allSatisfy({ $0 < 2 }) ? "--workers \(workers.values.map(String.init).joined(separator: ","))" : nil
            if let without {
                throw ValidationError("--baseline-rounds compares 2 or more workers on shared memory with one process; "
                                      + "\(without) measures no such baseline (drop one of them)")
            }
        }
    }

    func run() throws {
        let dataDirectory = resolveData()
        let executable = try Launch.currentExecutable()
        let peer = peerAvailable()
        print("descent bench distributed: data \(dataDirectory), \(`repeat`)x repeat, \(epochs) epoch(s), \(transport)\(noSharedMemory ? "" : " + shared memory")\(noPin || noSharedMemory ? "" : ", workers pinned")\(localWorker ? ", rank 0 computed by the coordinator (--local-worker)" : ""), peer: \(peer ? "PyTorch DDP (\(peerPython))" : "none")")
        var results: [String: Double] = [:]
        var table: [[String]] = []
        var machineLines: [String] = []
        if observerRounds > 0 {
            try compareObservers(data: dataDirectory, executable: executable)
            return
        }
        var baselines: [String: OneHostBaselines] = [:]
        let curveModes = curve == "both" ? [false, true] : [curve == "on"]
        // An encoding named more than once (float32,bf16,float32,bf16) is measured that many times,
        // alternately; its ratios are of the means.
        let encodings = wireEncoding.values
        let distinctEncodings = WireEncoding.allCases.filter(encodings.contains)
        var byEncoding: [String: [Double]] = [:]
        func mean(_ key: String) -> Double? { byEncoding[key].map { $0.reduce(0, +) / Double($0.count) } }
        for size in batch.values {
            for count in workers.values {
                for mode in sync.values {
                    for encrypted in curveModes {
                        for encoding in encodings {
                            let measured = try measure(workers: count, batch: size, data: dataDirectory, executable: executable, curve: encrypted,
                                                       mode: mode, encoding: encoding)
                            let key = "\(count)x\(size)" + (mode == .sync ? "" : "@\(mode)") + (encrypted ? "+curve" : "")
                                + (encoding == .float32 ? "" : "+\(encoding)")
                            results[key] = measured.samplesPerSecond
                            byEncoding[key, default: []].append(measured.samplesPerSecond)
                            let torch = peer && encrypted == curveModes[0] && mode == sync.values[0] && encoding == encodings[0]
                                ? runPeer(workers: count, batch: size, data: dataDirectory) : nil
                            if torch != nil { sleep(2) }  // let the peer's processes go before the next measurement
                            table.append([
                                "\(count)", "\(size)", "\(mode)", encrypted ? "on" : "off", encoding.rawValue, fmt(measured.samplesPerSecond, 0),
                                fmt(measured.staleness.mean, 2), "\(measured.staleness.max)", torch.map { fmt($0, 0) } ?? "-",
                                torch.map { fmt(measured.samplesPerSecond / $0, 2) + "x" } ?? "-",
                                fmt(measured.stepMs, 3), fmt(measured.computeMs, 3), fmt(measured.communicationMs, 3),
                                fmt(measured.waitingMs, 3), fmt(measured.updateMs, 3),
                                "\(fmt(measured.coordinatorRSS.first, 1))->\(fmt(measured.coordinatorRSS.last, 1))",
                                "\(fmt(measured.workerRSS.first, 1))->\(fmt(measured.workerRSS.last, 1))",
                                measured.coordinatorWireBytes.map { "\($0.sent)/\($0.received)" } ?? "-",
                                measured.workerWireBytes.map { "\($0.sent)/\($0.received)" } ?? "-",
                            ])
                            machineLines.append(
                                "bench=distributed workers=\(count) batch_per_worker=\(size) sync=\(mode) curve=\(encrypted ? "on" : "off") wire_encoding=\(encoding) "
                                    + "coordinator_wire_bytes_per_step=\(measured.coordinatorWireBytes.map { "\($0.sent)/\($0.received)" } ?? "na") "
                                    + "worker_wire_bytes_per_step=\(measured.workerWireBytes.map { "\($0.sent)/\($0.received)" } ?? "na") "
                                    + "steps=\(measured.steps) samples_per_s=\(fmt(measured.samplesPerSecond, 0)) "
                                    + "mean_staleness=\(fmt(measured.staleness.mean, 3)) max_staleness=\(measured.staleness.max) "
                                    + "torch_ddp_samples_per_s=\(torch.map { fmt($0, 0) } ?? "na") step_ms=\(fmt(measured.stepMs, 3)) "
                                    + "compute_ms=\(fmt(measured.computeMs, 3)) communication_ms=\(fmt(measured.communicationMs, 3)) "
                                    + "waiting_ms=\(fmt(measured.waitingMs, 3)) update_ms=\(fmt(measured.updateMs, 3)) "
                                    + "coordinator_rss_mb=\(fmt(measured.coordinatorRSS.first, 1))..\(fmt(measured.coordinatorRSS.last, 1)) "
                                    + "worker_rss_mb=\(fmt(measured.workerRSS.first, 1))..\(fmt(measured.workerRSS.last, 1))")
                        }
                    }
                }
                if count >= 2 && !noBaselines && !noSharedMemory, let workersRate = results["\(count)x\(size)"] {
                    var baseline = try measureBaselines(workers: count, batch: size, data: dataDirectory, executable: executable, torch: peer)
                    baseline.rounds = try measureRounds(workers: count, batch: size, data: dataDirectory, executable: executable,
                                                        first: (workersRate, baseline.oneCore))
                    baselines["\(count)x\(size)"] = baseline
                }
                if let plain = mean("\(count)x\(size)"), let encrypted = mean("\(count)x\(size)+curve") {
                    machineLines.append("bench=distributed_curve workers=\(count) batch_per_worker=\(size) encrypted_over_plaintext=\(fmt(encrypted / plain, 3))")
                }
            }
        }
        let header = ["workers", "batch/w", "sync", "curve", "wire", "descent samples/s", "mean stale", "max stale", "torch DDP samples/s", "ratio",
                      "step ms", "compute", "comm", "waiting", "update", "coord RSS MB", "worker RSS MB", "coord B/step sent/recv",
                      "worker B/step sent/recv"]
        printTable([header] + table)
        for size in batch.values {
            if let one = mean("1x\(size)"), let two = mean("2x\(size)") {
                print("scaling at batch \(size) per worker: 2 workers / 1 worker = \(fmt(two / one, 2))x")
            }
        }
        for size in batch.values {
            for count in workers.values {
                guard let base = mean("\(count)x\(size)") else { continue }
                for mode in sync.values where mode != .sync {
                    if let other = mean("\(count)x\(size)@\(mode)") {
                        print("\(mode) at \(count) x \(size): \(mode) / sync = \(fmt(other / base, 2))x samples/s "
                              + "(bench=distributed_sync workers=\(count) batch_per_worker=\(size) sync=\(mode) over_sync=\(fmt(other / base, 3)))")
                    }
                }
            }
        }
        for size in batch.values {
            for count in workers.values {
                if let plain = mean("\(count)x\(size)"), let encrypted = mean("\(count)x\(size)+curve") {
                    print("CURVE at \(count) x \(size): encrypted / plaintext = \(fmt(encrypted / plain, 3))x")
                }
            }
        }
        for size in batch.values {
            for count in workers.values {
                for encrypted in curveModes {
                    let curveKey = encrypted ? "+curve" : ""
                    guard let float32 = mean("\(count)x\(size)\(curveKey)") else { continue }
                    for encoding in distinctEncodings where encoding != .float32 {
                        guard let other = mean("\(count)x\(size)\(curveKey)+\(encoding)") else { continue }
                        let runs = byEncoding["\(count)x\(size)\(curveKey)+\(encoding)"]?.count ?? 1
                        print("wire \(encoding) at \(count) x \(size), CURVE \(encrypted ? "on" : "off"): \(encoding) / float32 = \(fmt(other / float32, 2))x"
                              + (runs > 1 ? " (means of \(runs) alternate runs each: \(fmt(other, 0)) / \(fmt(float32, 0)) samples/s)" : ""))
                        machineLines.append("bench=distributed_wire workers=\(count) batch_per_worker=\(size) curve=\(encrypted ? "on" : "off") "
                                            + "\(encoding)_over_float32=\(fmt(other / float32, 3))")
                    }
                }
                for encoding in distinctEncodings where encoding != .float32 {
                    if let plain = mean("\(count)x\(size)+\(encoding)"), let encrypted = mean("\(count)x\(size)+curve+\(encoding)") {
                        print("CURVE at \(count) x \(size) with \(encoding) on the wire: encrypted / plaintext = \(fmt(encrypted / plain, 3))x")
                    }
                }
            }
        }
        machineLines += printBaselines(baselines, results: results)
        machineLines += try compareLocalWorker(data: dataDirectory, executable: executable)
        for line in machineLines { print(line) }
    }

    /// The single-process baselines at the global batch of `workers` x `batch`, right after the
    /// distributed run at it, and the machine's ceiling for those workers.
    private func measureBaselines(workers: Int, batch: Int, data: String, executable: String, torch: Bool) throws -> OneHostBaselines {
        let globalBatch = workers * batch
        let directory = try ScratchDirectory.make("bench-one-\(globalBatch)")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var baseline = OneHostBaselines(globalBatch: globalBatch)
        baseline.oneCore = OneHostBaselines.oneCoreSamplesPerSecond(globalBatch: globalBatch)
        baseline.concurrentTrainers = OneHostBaselines.concurrentTrainersSamplesPerSecond(count: workers, batch: batch)
        for threads in [1, 2] {
            let trace = try OneHostBaselines.trainProcess(executable: executable, data: data, directory: directory, globalBatch: globalBatch,
                                                          threads: threads, epochs: runEpochs(globalBatch: globalBatch), repeat: `repeat`,
                                                          maxSteps: steps)
            let rate = summarize(coordinator: trace, workers: []).samplesPerSecond
            if threads == 1 { baseline.trainOneThread = rate } else { baseline.trainTwoThreads = rate }
        }
        if torch, FileManager.default.fileExists(atPath: peerMLPScript) {
            baseline.torchTwoThreads = OneHostBaselines.torch(python: peerPython, script: peerMLPScript, data: data, epochs: epochs,
                                                              repeat: `repeat`, globalBatch: globalBatch, threads: 2)
            sleep(1)  // let the peer's threads go before the next measurement
        }
        return baseline
    }

    /// `--baseline-rounds`: the workers and the one-core trainer measured back to back, round after
    /// round, alternating which goes first; `first` is round 0 (the workers' run of the main table,
    /// then the baselines measured right after it).
    private func measureRounds(workers count: Int, batch size: Int, data: String, executable: String,
                               first: (workers: Double, oneCore: Double)) throws -> PairedRounds {
        var oneCore = [first.oneCore], workers = [first.workers]
        for round in 1..<max(baselineRounds, 1) {
            for measuresWorkers in PairedRounds.candidateFirst(round: round) ? [true, false] : [false, true] {
                if measuresWorkers {
                    workers.append(try measure(workers: count, batch: size, data: data, executable: executable).samplesPerSecond)
                } else {
                    oneCore.append(OneHostBaselines.oneCoreSamplesPerSecond(globalBatch: count * size))
                }
            }
        }
        return PairedRounds(base: oneCore, candidate: workers)
    }

    /// The one-host table: N workers against one process at the same global batch, and the ratios.
    private func printBaselines(_ baselines: [String: OneHostBaselines], results: [String: Double]) -> [String] {
        guard !baselines.isEmpty else { return [] }
        var rows = [["workers x batch", "global", "descent workers", "one core (bench compute)", "train 1 thread", "train 2 threads",
                     "torch 2 threads", "ceiling", "workers/one core", "rounds: range", "ceiling/one core", "workers/train 1", "workers/train 2",
                     "workers/torch 2"]]
        var lines: [String] = []
        for size in batch.values {
            for count in workers.values {
                guard let baseline = baselines["\(count)x\(size)"], let rate = results["\(count)x\(size)"] else { continue }
                let torch = baseline.torchTwoThreads, ceiling = baseline.concurrentTrainers
                // With rounds, the median of the rounds' ratios; else the one pair's.
                let ratios = baseline.rounds?.ratios ?? []
                let overOneCore = ratios.count >= 2 ? baseline.rounds?.medianRatio ?? 0 : rate / baseline.oneCore
                let range = ratios.count >= 2 ? "\(ratios.count): \(fmt(ratios.min() ?? 0, 2))..\(fmt(ratios.max() ?? 0, 2))" : "-"
                rows.append(["\(count) x \(size)", "\(baseline.globalBatch)", fmt(rate, 0), fmt(baseline.oneCore, 0), fmt(baseline.trainOneThread, 0),
                             fmt(baseline.trainTwoThreads, 0), torch.map { fmt($0, 0) } ?? "-", ceiling.map { fmt($0, 0) } ?? "-",
                             fmt(overOneCore, 2) + "x", range, ceiling.map { fmt($0 / baseline.oneCore, 2) + "x" } ?? "-",
                             fmt(rate / baseline.trainOneThread, 2) + "x", fmt(rate / baseline.trainTwoThreads, 2) + "x",
                             torch.map { fmt(rate / $0, 2) + "x" } ?? "-"])
                lines.append("bench=distributed_one_host workers=\(count) batch_per_worker=\(size) global_batch=\(baseline.globalBatch) "
                             + "workers_samples_per_s=\(fmt(rate, 0)) one_core_samples_per_cpu_s=\(fmt(baseline.oneCore, 0)) "
                             + "train_1_thread_samples_per_s=\(fmt(baseline.trainOneThread, 0)) train_2_threads_samples_per_s=\(fmt(baseline.trainTwoThreads, 0)) "
                             + "torch_2_threads_samples_per_s=\(torch.map { fmt($0, 0) } ?? "na") "
                             + "ceiling_samples_per_s=\(ceiling.map { fmt($0, 0) } ?? "na") ceiling_over_one_core=\(ceiling.map { fmt($0 / baseline.oneCore, 3) } ?? "na") "
                             + "over_one_core=\(fmt(overOneCore, 3)) rounds=\(max(ratios.count, 1)) "
                             + "round_ratios=\(ratios.isEmpty ? "na" : ratios.map { fmt($0, 3) }.joined(separator: ",")) over_train_1_thread=\(fmt(rate / baseline.trainOneThread, 3)) "
                             + "over_train_2_threads=\(fmt(rate / baseline.trainTwoThreads, 3)) over_torch_2_threads=\(torch.map { fmt(rate / $0, 3) } ?? "na")")
            }
        }
        print("")
        print("one host: N workers against one process at the same global batch (one core: the bench compute trainer in process, "
              + "samples per CPU second; train: descent train processes, wall clock from their traces, as the workers are measured "
              + "(both without the interval in which an epoch ended, which holds its test-set evaluation); "
              + "ceiling: as many bench compute trainers as workers, at the per-worker batch, pinned, at once, exchanging nothing, "
              + "samples per wall second: what this machine allows any design of workers; "
              + "workers/one core with --baseline-rounds 2 or more: the median of the rounds' ratios, each round the two measured back to back; "
              + "goals at 2 workers: >= 1.6x one core at 2 x 128, >= 1.3x at 2 x 32, >= 1.5x PyTorch with 2 threads)")
        printTable(rows)
        return lines
    }

    /// Epochs of a measurement at `globalBatch`: at least --epochs, grown to --min-steps and --steps.
    private func runEpochs(globalBatch: Int) -> Int {
        let sampleCount = 60_000 / 12 * `repeat`
        let stepsPerEpoch = (sampleCount + globalBatch - 1) / globalBatch
        var runEpochs = max(epochs, (minSteps + stepsPerEpoch - 1) / stepsPerEpoch)
        if let steps { runEpochs = max(runEpochs, (steps + stepsPerEpoch - 1) / stepsPerEpoch) }
        return runEpochs
    }

    /// What one run measured, from its traces (its warm-up left out: `TrainingRate.warmupSteps`).
    struct Measurement {
        var steps = 0
        var samplesPerSecond = 0.0
        var stepMs = 0.0, computeMs = 0.0, communicationMs = 0.0, waitingMs = 0.0, updateMs = 0.0
        /// Samples per step over the median time between two applied steps: what a step costs
        /// when the machine's other load does not stretch it (robust to a busy shared machine).
        var medianSamplesPerSecond = 0.0
        var coordinatorRSS: (first: Double, last: Double) = (0, 0)
        var workerRSS: (first: Double, last: Double) = (0, 0)
        /// Staleness of every applied gradient (all 0 in sync mode, whose trace has no parameter steps).
        var staleness = (mean: 0.0, max: 0)
        /// Bytes through the socket per step (sent, received), from the processes' `Wire (...)` lines;
        /// nil where everything went through shared memory. The worker figure is the largest rank's.
        var coordinatorWireBytes: (sent: Int, received: Int)?
        var workerWireBytes: (sent: Int, received: Int)?
    }

    /// Samples/s with every observer off and on (live progress, Prometheus scraped every second,
    /// TensorBoard, JSON logs, the run directory), measured alternately in this one run.
    ///
    /// On a shared virtual machine whole runs differ by up to a third with nothing changed (the
    /// coordinator's update alone takes 20 or 65 microseconds per step from one run to the next),
    /// far more than the few percent sought. So each round is a pair of runs back to back, its
    /// ratio taken within the pair, and the figure is the median of the rounds' ratios, beside
    /// their spread; the ratio of the means is shown too.
    private func compareObservers(data: String, executable: String) throws {
        var rows: [[String]] = [["workers", "batch/w", "rounds", "off (median step)", "on (median step)", "on/off: median of rounds",
                                 "rounds' range", "on/off: of means"]]
        func mean(_ values: [Double]) -> Double { values.reduce(0, +) / Double(max(values.count, 1)) }
        var offStepMicroseconds: [String: Double] = [:]
        for size in batch.values {
            for count in workers.values {
                var off: [Measurement] = [], on: [Measurement] = []
                for round in 0..<observerRounds {
                    for observers in PairedRounds.candidateFirst(round: round) ? [true, false] : [false, true] {
                        let m = try measure(workers: count, batch: size, data: data, executable: executable, observers: observers)
                        if observers { on.append(m) } else { off.append(m) }
                    }
                }
                let comparison = PairedRounds(base: off.map(\.medianSamplesPerSecond), candidate: on.map(\.medianSamplesPerSecond))
                let meanRatio = mean(on.map(\.samplesPerSecond)) / mean(off.map(\.samplesPerSecond))
                offStepMicroseconds["\(count)x\(size)"] = Double(count * size) / comparison.base.sorted()[comparison.base.count / 2] * 1e6
                rows.append(["\(count)", "\(size)", "\(observerRounds)", fmt(mean(comparison.base), 0), fmt(mean(comparison.candidate), 0),
                             fmt(comparison.medianRatio, 3), "\(fmt(comparison.ratios.min() ?? 0, 3))..\(fmt(comparison.ratios.max() ?? 0, 3))",
                             fmt(meanRatio, 3)])
                print("bench=observers workers=\(count) batch_per_worker=\(size) rounds=\(observerRounds) "
                      + "off_samples_per_s=\(off.map { fmt($0.samplesPerSecond, 0) }.joined(separator: ",")) "
                      + "on_samples_per_s=\(on.map { fmt($0.samplesPerSecond, 0) }.joined(separator: ",")) ratio_of_means=\(fmt(meanRatio, 3)) "
                      + "off_median_step_samples_per_s=\(comparison.base.map { fmt($0, 0) }.joined(separator: ",")) "
                      + "on_median_step_samples_per_s=\(comparison.candidate.map { fmt($0, 0) }.joined(separator: ",")) "
                      + "round_ratios=\(comparison.ratios.map { fmt($0, 3) }.joined(separator: ",")) "
                      + "median_round_ratio=\(fmt(comparison.medianRatio, 3))")
            }
        }
        printTable(rows)
        for count in workers.values {
            let cost = try ObserverCostBench.microsecondsPerStep(workers: count)
            let shares = batch.values.compactMap { size in
                offStepMicroseconds["\(count)x\(size)"].map { "\(fmt(100 * cost / $0, 1))% of a \(count) x \(size) step (\(fmt($0, 0)) us)" }
            }
            print("observers' cost per step with \(count) worker(s), measured in process: \(fmt(cost, 2)) us"
                  + (shares.isEmpty ? "" : ", " + shares.joined(separator: ", "))
                  + " (bench=observer_cost workers=\(count) us_per_step=\(fmt(cost, 2)))")
        }
    }

    /// `--local-worker-rounds`: N worker processes against the coordinator computing rank 0's share
    /// and N-1 processes, back to back in rounds; prints each pair's ratio and their median.
    private func compareLocalWorker(data: String, executable: String) throws -> [String] {
        guard localWorkerRounds > 0 else { return [] }
        var lines: [String] = []
        print("")
        print("--local-worker against worker processes: samples/s of each round's two runs, back to back, alternating which goes first")
        for size in batch.values {
            for count in workers.values where count >= 2 {
                var processes: [Double] = [], local: [Double] = []
                for round in 0..<localWorkerRounds {
                    for measuresLocal in PairedRounds.candidateFirst(round: round) ? [true, false] : [false, true] {
                        let rate = try measure(workers: count, batch: size, data: data, executable: executable, local: measuresLocal).samplesPerSecond
                        if measuresLocal { local.append(rate) } else { processes.append(rate) }
                    }
                }
                let rounds = PairedRounds(base: processes, candidate: local)
                let ratios = rounds.ratios
                print("\(count) x \(size): \(count) processes \(processes.map { fmt($0, 0) }.joined(separator: ", ")); "
                      + "local worker + \(count - 1) \(local.map { fmt($0, 0) }.joined(separator: ", ")); "
                      + "local / processes median \(fmt(rounds.medianRatio, 2))x (range \(fmt(ratios.min() ?? 0, 2))..\(fmt(ratios.max() ?? 0, 2)))")
                lines.append("bench=distributed_local_worker workers=\(count) batch_per_worker=\(size) rounds=\(ratios.count) "
                             + "local_over_processes=\(fmt(rounds.medianRatio, 3)) round_ratios=\(ratios.map { fmt($0, 3) }.joined(separator: ","))")
            }
        }
        return lines
    }

    /// `local`: the coordinator computes rank 0's share (default: `--local-worker`).
    private func measure(workers count: Int, batch size: Int, data: String, executable: String, observers: Bool = false,
                         curve: Bool = false, mode: SyncMode = .sync, encoding: WireEncoding = .float32, local: Bool? = nil) throws -> Measurement {
        let localWorker = local ?? self.localWorker
        let directory = try ScratchDirectory.make("bench-\(count)x\(size)")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let runEpochs = runEpochs(globalBatch: count * size)
        let config = """
            seed: 42
            data:
              train_repeat: \(`repeat`)
            training:
              epochs: \(runEpochs)
              batch_per_worker: \(size)
              threads: 1
            """ + Self.syncLines(mode)
        let configPath = directory + "/bench.yaml"
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        let endpoint = transport == "ipc" ? "ipc://\(directory)/c.sock" : "tcp://127.0.0.1:\(40_000 + Int(getpid()) % 20_000)"
        var coordinator = ["coordinator", "--config", configPath, "--data", data, "--workers", "\(count)", "--bind", endpoint,
                           "--trace", "\(directory)/coordinator.jsonl"]
        if let steps { coordinator += ["--max-steps", "\(steps)"] }
        if noSharedMemory { coordinator += ["--no-shared-memory"] }
        if let spinMicroseconds { coordinator += ["--spin-microseconds", "\(spinMicroseconds)"] }
        coordinator += ["--wire-encoding", encoding.rawValue]
        let pinned = !noPin && !noSharedMemory
        if localWorker {
            coordinator += ["--local-worker", "--local-worker-trace", "\(directory)/worker-0.jsonl"]
            if pinned, let cpu = CPUPinning.cpu(forRank: 0, workers: count) { coordinator += ["--cpu", "\(cpu)"] }
        }
        var scraper: MetricsScraper?
        if observers {
            let port = LoopbackHTTP.freePort()
            coordinator += ["--metrics-address", "127.0.0.1:\(port)", "--tensorboard", "\(directory)/tb", "--log-format", "json",
                            "--run-dir", "\(directory)/run", "--progress", "always"]
            scraper = MetricsScraper(port: port)
        }
        defer { scraper?.stop() }
        let keys = directory + "/keys"
        if curve {
            try CurveKeyDirectory.generate(in: keys, workers: count)
            coordinator += ["--curve-dir", keys]
        } else if transport == "tcp" {
            coordinator += ["--insecure"]
        }
        var children = [ChildProcess(label: "coordinator", executablePath: executable, arguments: coordinator, isPrimary: true)]
        for rank in (localWorker ? 1 : 0)..<count {
            var arguments = ["worker", "--connect", endpoint, "--data", data, "--rank", "\(rank)", "--trace", "\(directory)/worker-\(rank).jsonl"]
            if curve { arguments += ["--curve-dir", keys, "--curve-key", CurveKeyDirectory.workerSecretName(rank)] } else if transport == "tcp" { arguments += ["--insecure"] }
            if pinned { arguments += LocalWorkerSpin.pinningArguments(rank: rank, workers: count, localWorker: localWorker) }
            children.append(ChildProcess(label: "worker \(rank)", executablePath: executable, arguments: arguments))
        }
        let sink = QuietSink()
        let result = try ProcessGroup().run(children, output: sink)
        guard result.exitCode == 0 else {
            throw ValidationError("the benchmark run with \(count) worker(s) failed:\n" + sink.lines.suffix(20).joined(separator: "\n"))
        }
        let steps = try readLines("\(directory)/coordinator.jsonl")
        let workerSteps = try (0..<count).map { try readLines("\(directory)/worker-\($0).jsonl") }
        var measurement = summarize(coordinator: steps, workers: workerSteps)
        (measurement.coordinatorWireBytes, measurement.workerWireBytes) = Self.wireBytes(sink.lines)
        return measurement
    }

    /// The per-step byte counts of the coordinator's and the workers' `Wire (...)` end-of-run lines.
    static func wireBytes(_ lines: [String]) -> (coordinator: (sent: Int, received: Int)?, worker: (sent: Int, received: Int)?) {
        var coordinator: (sent: Int, received: Int)?, worker: (sent: Int, received: Int)?
        for line in lines where line.contains("Wire (") {
            func field(_ name: String) -> Int? {
                line.split(separator: " ").first { $0.hasPrefix(name + "=") }
                    .flatMap { Int($0.dropFirst(name.count + 1).trimmingCharacters(in: CharacterSet(charactersIn: ")"))) }
            }
            guard let sent = field("wire_bytes_per_step_sent"), let received = field("wire_bytes_per_step_received") else { continue }
            if line.contains("Coordinator: Wire") {
                coordinator = (sent, received)
            } else if worker.map({ sent > $0.sent }) ?? true {
                worker = (sent, received)
            }
        }
        return (coordinator, worker)
    }

    /// The config lines of a synchronisation mode (none for sync).
    static func syncLines(_ mode: SyncMode) -> String {
        switch mode {
        case .sync: return ""
        case .async: return "\n  sync: async"
        case .bounded(let k): return "\n  sync: bounded\n  staleness: \(k)"
        }
    }

    private func summarize(coordinator steps: [[String: Any]], workers: [[[String: Any]]]) -> Measurement {
        let warmup = TrainingRate.warmupSteps(records: steps)
        let measured = Array(steps[warmup...])
        var m = Measurement()
        m.steps = steps.count
        let rate = TrainingRate(records: steps, warmup: warmup)
        let samples = measured.reduce(0) { $0 + ($1["samples"] as? Int ?? 0) }
        m.samplesPerSecond = rate.samplesPerSecond
        m.stepMs = rate.stepMs
        let times = measured.compactMap { $0["time_ms"] as? Double }
        let intervals = zip(times.dropFirst(), times).map { $0 - $1 }.sorted()
        if !intervals.isEmpty, intervals[intervals.count / 2] > 0 {
            m.medianSamplesPerSecond = Double(samples) / Double(measured.count) / (intervals[intervals.count / 2] / 1000)
        }
        func mean(_ values: [Double]) -> Double { values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count) }
        let compute = workers.flatMap { $0.dropFirst(warmup).compactMap { $0["compute_ms"] as? Double } }
        m.computeMs = mean(compute)
        let fastest = mean(measured.compactMap { $0["fastest_latency_ms"] as? Double })
        let slowest = mean(measured.compactMap { $0["slowest_latency_ms"] as? Double })
        m.communicationMs = max(0, fastest - m.computeMs)
        m.waitingMs = slowest - fastest
        m.updateMs = mean(measured.compactMap { $0["update_ms"] as? Double })
        let coordinatorRSS = measured.compactMap { $0["rss_mb"] as? Double }
        m.coordinatorRSS = (coordinatorRSS.first ?? 0, coordinatorRSS.last ?? 0)
        let workerRSS = workers.map { $0.dropFirst(warmup).compactMap { $0["rss_mb"] as? Double } }
        m.workerRSS = (workerRSS.compactMap(\.first).max() ?? 0, workerRSS.compactMap(\.last).max() ?? 0)
        let staleness = steps.flatMap { record in
            ((record["param_steps"] as? [Int]) ?? []).map { (record["step"] as? Int ?? 0) - $0 }
        }
        m.staleness = (staleness.isEmpty ? 0 : Double(staleness.reduce(0, +)) / Double(staleness.count), staleness.max() ?? 0)
        return m
    }

    private func runPeer(workers count: Int, batch size: Int, data: String) -> Double? {
        OneHostBaselines.torchPeer(python: peerPython, script: peerScript, arguments: ["\(count)", "\(epochs)", "\(`repeat`)", "\(size)"],
                                   data: data, name: "PyTorch DDP peer")
    }

    private func peerAvailable() -> Bool {
        guard peerPython != "none", FileManager.default.fileExists(atPath: peerScript) else { return false }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [peerPython, "-c", "import torch"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    private func resolveData() -> String {
        if let data { return data }
        let environment = ProcessInfo.processInfo.environment
        if let sample = environment["DESCENT_MNIST_SAMPLE"] { return sample }
        if FileManager.default.fileExists(atPath: "../shared/data/mnist-sample/train-images-idx3-ubyte.gz") {
            return "../shared/data/mnist-sample"
        }
        return environment["DESCENT_DATA"] ?? "data/mnist"
    }

    private func readLines(_ path: String) throws -> [[String: Any]] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").compactMap {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    private func printTable(_ rows: [[String]]) {
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            print(row.enumerated().map { String(repeating: " ", count: widths[$0] - $1.count) + $1 }.joined(separator: "  "))
        }
    }

    private func fmt(_ value: Double, _ decimals: Int) -> String { String(format: "%.\(decimals)f", value) }
}

/// `--sync`: comma-separated synchronisation modes.
struct SyncModes: Sendable {
    var values: [SyncMode]

    static func parse(_ text: String) throws -> SyncModes {
        let values = try text.split(separator: ",").map { part in
            guard let mode = SyncMode(parsing: part.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("'\(part)' is not a synchronisation mode; give sync, async or bounded:K (K a whole number), e.g. sync,async,bounded:2")
            }
            return mode
        }
        guard !values.isEmpty else { throw ValidationError("--sync needs at least one mode, e.g. sync,async,bounded:2") }
        return SyncModes(values: values)
    }
}

/// `--wire-encoding float32,bf16`.
struct WireEncodingList {
    var values: [WireEncoding]

    static func parse(_ text: String) throws -> WireEncodingList {
        let values = try text.split(separator: ",").map { try WireEncoding.parse(String($0)) }
        guard !values.isEmpty else { throw ValidationError("--wire-encoding needs at least one of \(WireEncoding.choices)") }
        return WireEncodingList(values: values)
    }
}

/// Keeps the children's lines in memory (for an error report) instead of printing them.
final class QuietSink: LineSink {
    private(set) var lines: [String] = []
    func standardOutput(_ line: String) { lines.append(line) }
    func standardError(_ line: String) { lines.append(line) }
}
