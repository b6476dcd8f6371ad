import ArgumentParser
import DescentCore
import DescentLaunch
import DescentModel
import DescentTransport
import Foundation
import Synchronization

/// The single-process figures that `descent bench distributed` sets N workers on one host
/// against, at the same global batch and in the same run: the trainer on one core as `bench
/// compute` times it (in process, the thread's CPU clock, best of a few rounds), `descent train`
/// as a process with 1 and 2 threads (wall clock from its trace, measured as the distributed runs
/// are), and PyTorch with 2 intra-op threads (`torch_mlp.py`).
struct OneHostBaselines {
    var globalBatch: Int
    /// Samples per CPU second of the in-process trainer on one core (best round).
    var oneCore = 0.0
    /// Samples/s of `descent train --threads 1` and `--threads 2` (from their traces).
    var trainOneThread = 0.0
    var trainTwoThreads = 0.0
    /// Samples/s of PyTorch with 2 threads (best epoch), nil when the peer is not available.
    var torchTwoThreads: Double?
    /// The machine's ceiling for the workers: as many trainers as workers at the per-worker batch,
    /// at once, exchanging nothing (`concurrentTrainersSamplesPerSecond`); nil when not measured.
    var concurrentTrainers: Double?
    /// The one-core trainer (base) and the workers (candidate), round after round
    /// (`--baseline-rounds`); round 0 is the main measurement and `oneCore`.
    var rounds: PairedRounds?

    /// Rounds of the in-process trainer, and CPU seconds each.
    static let rounds = 5
    static let roundSeconds = 0.3

    /// The trainer of `bench compute` at `globalBatch` on this thread, one BLAS/oneDNN thread.
    static func oneCoreSamplesPerSecond(globalBatch: Int) -> Double {
        BLASThreads.set(1)
        let trainer = TrainingStepBench(shape: MLPShape(inputs: 784, hidden: [128], classes: 10), batch: globalBatch, backend: .default)
        var best = 0.0
        for _ in 0..<rounds {
            let chunk = max(1, 2048 / globalBatch)
            var steps = 0
            let start = threadCPUSeconds()
            var elapsed = 0.0
            repeat {
                for _ in 0..<chunk { trainer.step() }
                steps += chunk
                elapsed = threadCPUSeconds() - start
            } while elapsed < roundSeconds
            best = max(best, Double(steps * globalBatch) / elapsed)
        }
        return best
    }

    /// This machine's own ceiling for `count` workers on `count` cores: as many copies of the
    /// `bench compute` trainer at the per-worker batch, each on a thread of its own pinned to a
    /// CPU of its own, started together and exchanging nothing; their samples together per
    /// wall-clock second (best of a few rounds). Workers that share one model do all of that and
    /// more (the coordinator's update, the hand-offs), so no design of them beats this figure on
    /// this machine: it says how much of a scaling goal the hardware allows. Nil when there are
    /// fewer CPUs than trainers or a thread cannot be pinned.
    static func concurrentTrainersSamplesPerSecond(count: Int, batch: Int) -> Double? {
        guard count >= 1, count <= ProcessInfo.processInfo.activeProcessorCount else { return nil }
        BLASThreads.set(1)
        let shape = MLPShape(inputs: 784, hidden: [128], classes: 10)
        let trainers = (0..<count).map { _ in TrainingStepBench(shape: shape, batch: batch, backend: .default) }
        let chunk = max(1, 2048 / batch)
        var best = 0.0
        for _ in 0..<rounds {
            let start = DispatchSemaphore(value: 0), done = DispatchGroup()
            let steps = Mutex([Int](repeating: 0, count: count)), pinned = Mutex(true)
            let deadline = Mutex(0.0)
            for (cpu, trainer) in trainers.enumerated() {
                done.enter()
                let thread = Thread {
                    if (try? CPUPinning.pin(toCPU: cpu)) == nil { pinned.withLock { $0 = false } }
                    for _ in 0..<chunk { trainer.step() }  // warm: pages touched, code paged in
                    start.wait()
                    let end = deadline.withLock { $0 }
                    var taken = 0
                    while monotonicSeconds() < end {
                        for _ in 0..<chunk { trainer.step() }
                        taken += chunk
                    }
                    steps.withLock { $0[cpu] = taken }
                    done.leave()
                }
                thread.start()
            }
            usleep(50_000)  // every thread pinned and warm
            let began = monotonicSeconds()
            deadline.withLock { $0 = began + roundSeconds }
            for _ in 0..<count { start.signal() }
            done.wait()
            let elapsed = monotonicSeconds() - began
            guard pinned.withLock({ $0 }) else { return nil }
            best = max(best, Double(steps.withLock { $0.reduce(0, +) } * batch) / elapsed)
        }
        return best
    }

    /// The config of a one-process run at `globalBatch` with `threads` threads, as the
    /// distributed measurement's (same data, repeat and steps).
    static func trainConfig(globalBatch: Int, threads: Int, epochs: Int, repeat: Int) -> String {
        """
        seed: 42
        data:
          train_repeat: \(`repeat`)
        training:
          epochs: \(epochs)
          batch_size: \(globalBatch)
          threads: \(threads)
        """
    }

    /// `descent train` at `globalBatch` with `threads` threads; its trace, as the coordinator's.
    static func trainProcess(executable: String, data: String, directory: String, globalBatch: Int, threads: Int, epochs: Int,
                             repeat: Int, maxSteps: Int?) throws -> [[String: Any]] {
        let config = "\(directory)/train-\(threads).yaml", trace = "\(directory)/train-\(threads).jsonl"
        try trainConfig(globalBatch: globalBatch, threads: threads, epochs: epochs, repeat: `repeat`)
            .write(toFile: config, atomically: true, encoding: .utf8)
        var arguments = ["train", "--config", config, "--data", data, "--trace", trace, "--progress", "never"]
        if let maxSteps { arguments += ["--max-steps", "\(maxSteps)"] }
        let sink = QuietSink()
        let result = try ProcessGroup().run([ChildProcess(label: "train", executablePath: executable, arguments: arguments, isPrimary: true)],
                                            output: sink)
        guard result.exitCode == 0 else {
            throw ValidationError("the one-process run with \(threads) thread(s) failed:\n" + sink.lines.suffix(20).joined(separator: "\n"))
        }
        return try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n").compactMap {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// PyTorch's single-process MLP (`torch_mlp.py EPOCHS REPEAT BATCH THREADS`), best epoch.
    static func torch(python: String, script: String, data: String, epochs: Int, repeat: Int, globalBatch: Int, threads: Int) -> Double? {
        torchPeer(python: python, script: script, arguments: ["\(epochs)", "\(`repeat`)", "\(globalBatch)", "\(threads)"], data: data,
                  name: "PyTorch peer")
    }

    /// Runs a PyTorch peer script of `shared/bench/peers` on the MNIST files in `data`; its best
    /// `samples_per_s=` figure (nil, with a warning, when it printed none).
    static func torchPeer(python: String, script: String, arguments: [String], data: String, name: String) -> Double? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, script] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["MNIST_DIR"] = data
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let rates = output.split(separator: "\n").compactMap { line -> Double? in
            guard let field = line.split(separator: " ").first(where: { $0.hasPrefix("samples_per_s=") }) else { return nil }
            return Double(field.dropFirst("samples_per_s=".count))
        }
        if rates.isEmpty { print("warning: the \(name) printed no figure (\(python) \(script))") }
        return rates.max()
    }

    private static func threadCPUSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) * 1e-9
    }
}
