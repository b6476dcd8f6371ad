import ArgumentParser
import CDNNL
import COpenBLAS
import DescentCore
import DescentData
import DescentModel

#if canImport(Glibc)
import Glibc
#endif

/// `descent bench`: measurements of this machine, one subcommand per part of the system.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure how fast this machine runs Descent.",
        subcommands: [BenchCompute.self, BenchDistributed.self, BenchRecovery.self, BenchNetwork.self])
}

/// `descent bench compute`: samples/s of one whole training step on one core, on each compute
/// backend, beside the floors of both libraries (the step's five GEMMs alone, as
/// `shared/bench/limit/mlp_gemm_bound.c` and `mlp_gemm_bound_dnnl.c` run them), in one run.
struct BenchCompute: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compute",
        abstract: "Training-step throughput on one core, per backend, against both GEMM-only floors.",
        discussion: """
            For each batch size, alternates rounds of: the five GEMMs of a step on OpenBLAS, the \
            same on oneDNN, and whole training steps (gather a batch from a byte image buffer, \
            forward, backward, SGD update of the 784-128-10 MLP) on each backend; keeps the best \
            round of each and reports the rates and the ratios of each trainer to its own floor. \
            Each round also times the parts of a step alone (gather, gradient, update), shown in \
            microseconds per step, to say where the time goes. Everything runs on one thread, \
            timed by that thread's CPU clock.
            """)

    @Option(name: .long, help: "Comma-separated batch sizes.", transform: CountList.batchSizes)
    var batch = CountList(values: [32, 128, 512])

    @Option(name: .long, help: "Seconds each measurement of a round runs.")
    var seconds: Double = 0.2

    @Option(name: .long, help: "Rounds of measurements per batch size (the best of each is kept).")
    var rounds: Int = 9

    func validate() throws {
        guard seconds.isFinite, seconds > 0, seconds <= 600 else {
            throw ValidationError("--seconds must be a number of seconds in (0, 600], got \(seconds)")
        }
        guard (1...100).contains(rounds) else { throw ValidationError("--rounds must be in 1...100, got \(rounds)") }
    }

    func run() throws {
        BLASThreads.set(1)
        let shape = MLPShape(inputs: 784, hidden: [128], classes: 10)
        let backends = ComputeBackend.allCases
        print("descent bench compute: MLP 784-128-10, 1 thread, best of \(rounds) rounds of \(seconds) CPU s each; samples per CPU second")
        print("OpenBLAS kernels: \(String(cString: openblas_get_corename())); oneDNN code: \(Self.oneDNNCode())")
        print("batch  OpenBLAS floor  oneDNN floor  trainer openblas  trainer onednn  openblas/floor  onednn/floor  onednn/openblas floor")
        var lines: [String] = []
        var breakdowns: [String] = []
        for size in batch.values {
            let floors = backends.map { GEMMFloorBench(batch: size, backend: $0) }
            let trainers = backends.map { TrainingStepBench(shape: shape, batch: size, backend: $0) }
            // Best rate of each measurement over interleaved rounds, so a busy moment of a shared
            // machine hits every measurement alike.
            var best = [String: Double]()
            func measure(_ name: String, seconds: Double, _ body: () -> Void) {
                best[name] = max(best[name] ?? 0, samplesPerSecond(batch: size, seconds: seconds, body))
            }
            for _ in 0..<rounds {
                for (backend, floor) in zip(backends, floors) { measure("floor \(backend)", seconds: seconds) { floor.step() } }
                for (backend, trainer) in zip(backends, trainers) { measure("trainer \(backend)", seconds: seconds) { trainer.step() } }
                for (backend, (floor, trainer)) in zip(backends, zip(floors, trainers)) {
                    let part = seconds / 4
                    measure("gemms \(backend)", seconds: part) { floor.step() }
                    measure("gather \(backend)", seconds: part) { trainer.gather() }
                    measure("gradient \(backend)", seconds: part) { trainer.computeGradient() }
                    measure("update \(backend)", seconds: part) { trainer.update() }
                }
            }
            for (backend, trainer) in zip(backends, trainers) where !trainer.lastLoss.isFinite {
                throw ValidationError("the benchmark's training loss on \(backend) became \(trainer.lastLoss); the engine is broken")
            }
            let floorOB = best["floor openblas"]!, floorDNN = best["floor onednn"]!
            let trainOB = best["trainer openblas"]!, trainDNN = best["trainer onednn"]!
            print(pad(String(size), 5) + pad(format(floorOB, 0), 16) + pad(format(floorDNN, 0), 14)
                  + pad(format(trainOB, 0), 18) + pad(format(trainDNN, 0), 16)
                  + pad(format(trainOB / floorOB, 3), 16) + pad(format(trainDNN / floorDNN, 3), 14)
                  + pad(format(trainDNN / floorOB, 3), 23))
            lines.append(
                "bench=compute batch=\(size) openblas_floor=\(format(floorOB, 0)) onednn_floor=\(format(floorDNN, 0)) "
                    + "trainer_openblas=\(format(trainOB, 0)) trainer_onednn=\(format(trainDNN, 0)) "
                    + "openblas_ratio=\(format(trainOB / floorOB, 3)) onednn_ratio=\(format(trainDNN / floorDNN, 3))")
            for backend in backends {
                let micros = { (name: String) in 1e6 * Double(size) / best["\(name) \(backend)"]! }
                let gradient = micros("gradient"), gemms = micros("gemms")
                breakdowns.append(
                    pad(String(size), 5) + pad(backend.rawValue, 10) + pad(format(micros("trainer"), 1), 10)
                        + pad(format(micros("gather"), 1), 9) + pad(format(gradient, 1), 10) + pad(format(gemms, 1), 14)
                        + pad(format(gradient - gemms, 1), 18) + pad(format(micros("update"), 1), 9))
            }
        }
        print("")
        print("where a step's time goes, microseconds per step (each part timed alone, best of \(rounds) rounds):")
        print("batch   backend      step   gather  gradient  of it: GEMMs  around the GEMMs   update")
        for line in breakdowns { print(line) }
        for line in lines { print(line) }
    }

    /// Which of its code paths oneDNN runs on this processor.
    static func oneDNNCode() -> String {
        switch dnnl_get_effective_cpu_isa() {
        case dnnl_cpu_isa_avx512_core_amx: "AVX-512 with AMX"
        case dnnl_cpu_isa_avx512_core_bf16: "AVX-512 with bf16"
        case dnnl_cpu_isa_avx512_core_vnni: "AVX-512 with VNNI"
        case dnnl_cpu_isa_avx512_core: "AVX-512"
        case dnnl_cpu_isa_avx2_vnni, dnnl_cpu_isa_avx2: "AVX2"
        case let other: "ISA code \(other.rawValue)"
        }
    }

    /// Runs `step` (one batch each) in chunks until `seconds` have passed; samples per second.
    /// Time is this thread's CPU time, not the wall clock: on a shared machine the moments
    /// another process holds the core do not count against whichever measurement they hit.
    private func samplesPerSecond(batch: Int, seconds: Double, _ step: () -> Void) -> Double {
        let chunk = max(1, 2048 / batch)
        var steps = 0
        let start = threadCPUSeconds()
        var elapsed = 0.0
        repeat {
            for _ in 0..<chunk { step() }
            steps += chunk
            elapsed = threadCPUSeconds() - start
        } while elapsed < seconds
        return Double(steps * batch) / elapsed
    }

    private func threadCPUSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) * 1e-9
    }

    private func format(_ value: Double, _ decimals: Int) -> String {
        if value < 0 { return "-" + format(-value, decimals) }
        if decimals == 0 { return String(Int(value.rounded())) }
        let scale = Double((0..<decimals).reduce(1) { product, _ in product * 10 })
        let scaled = Int((value * scale).rounded())
        let fraction = String(scaled % Int(scale))
        return "\(scaled / Int(scale))." + String(repeating: "0", count: decimals - fraction.count) + fraction
    }

    private func pad(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - text.count)) + text
    }
}

/// A comma-separated list of whole numbers in a range: the `--batch` sizes, the `--workers` counts.
struct CountList: Sendable {
    var values: [Int]

    static func batchSizes(_ text: String) throws -> CountList {
        try parse(text, naming: "a batch size", range: 1...65_536, example: "32,128,512")
    }

    static func workerCounts(_ text: String) throws -> CountList {
        try parse(text, naming: "a worker count", range: 1...RunLimits.workers, example: "1,2,4")
    }

    private static func parse(_ text: String, naming what: String, range: ClosedRange<Int>, example: String) throws -> CountList {
        var values: [Int] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let value = Int(part.filter { $0 != " " }), range.contains(value) else {
                throw ValidationError("'\(part)' is not \(what); give comma-separated integers in \(range.lowerBound)...\(range.upperBound), like \(example)")
            }
            values.append(value)
        }
        return CountList(values: values)
    }
}

/// One whole training step of the real trainer's kind on synthetic bytes: gather a batch from a
/// `LabeledImages`, forward and backward through `GradientEngine`, and an SGD update.
/// Every buffer is allocated here, so `step` allocates nothing. Sendable so that a thread of its
/// own can run it (`OneHostBaselines.concurrentTrainersSamplesPerSecond`); one thread at a time.
final class TrainingStepBench: @unchecked Sendable {
    let batch: Int
    private let images: LabeledImages
    private let engine: GradientEngine
    private var optimizer: SGD
    private let parameters: UnsafeMutableBufferPointer<Float>
    private let gradient: UnsafeMutableBufferPointer<Float>
    private let order: UnsafeMutableBufferPointer<Int>
    private let features: UnsafeMutablePointer<Float>
    private let labels: UnsafeMutablePointer<Int32>
    private var cursor = 0
    private(set) var lastLoss = 0.0

    init(shape: MLPShape, batch: Int, backend: ComputeBackend) {
        self.batch = batch
        let count = max(4096, 2 * batch)
        var random = SeededGenerator(seed: 2024, stream: 0)
        let pixels = (0..<(count * shape.inputs)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        let classes = (0..<count).map { _ in UInt8(random.nextIndex(below: shape.classes)) }
        images = LabeledImages(pixels: pixels, labels: classes, rows: 28, columns: shape.inputs / 28)
        engine = GradientEngine(shape: shape, maxBatch: batch, backend: backend)
        optimizer = SGD(parameterCount: shape.parameterCount)
        parameters = UnsafeMutableBufferPointer(start: .allocateAligned(zeroed: shape.parameterCount), count: shape.parameterCount)
        _ = parameters.update(from: shape.initialParameters(seed: 1))
        gradient = UnsafeMutableBufferPointer(start: .allocateAligned(zeroed: shape.parameterCount), count: shape.parameterCount)
        var indices = Array(0..<count)
        indices.seededShuffle(using: &random)
        order = .allocate(capacity: count)
        _ = order.initialize(from: indices)
        features = .allocateAligned(zeroed: batch * shape.inputs)
        labels = .allocate(capacity: batch)
    }

    deinit {
        parameters.deallocate()
        gradient.deallocate()
        order.deallocate()
        features.deallocate()
        labels.deallocate()
    }

    func step() {
        gather()
        computeGradient()
        update()
    }

    /// The batch's pixels as scaled floats, and its labels.
    func gather() {
        if cursor + batch > order.count { cursor = 0 }
        images.gather(UnsafeBufferPointer(rebasing: order[cursor..<(cursor + batch)]), features: features, labels: labels)
        cursor += batch
    }

    /// Forward and backward.
    func computeGradient() {
        let stats = engine.lossAndGradient(
            parameters: UnsafeBufferPointer(parameters), features: features, labels: labels,
            batch: batch, gradient: gradient)
        lastLoss = stats.loss
    }

    /// The SGD update.
    func update() {
        optimizer.step(parameters: parameters, gradient: UnsafeBufferPointer(gradient), rate: 0.01)
    }
}

/// The five GEMMs of one 784-128-10 training step and nothing else, exactly as
/// `shared/bench/limit/mlp_gemm_bound.c` (OpenBLAS) and `mlp_gemm_bound_dnnl.c` (oneDNN) run them
/// (same shapes, operands and fill values).
final class GEMMFloorBench {
    let batch: Int
    let backend: ComputeBackend
    private let x, w1, h, w2, z, g1, g2, da: UnsafeMutablePointer<Float>

    init(batch: Int, backend: ComputeBackend) {
        self.batch = batch
        self.backend = backend
        func filled(_ count: Int, _ value: Float) -> UnsafeMutablePointer<Float> {
            let buffer = UnsafeMutablePointer<Float>.allocateAligned(zeroed: count)
            buffer.update(repeating: value, count: count)
            return buffer
        }
        x = filled(batch * 784, 0.5)
        w1 = filled(784 * 128, 0.01)
        h = filled(batch * 128, 0)
        w2 = filled(128 * 10, 0.01)
        z = filled(batch * 10, 0.01)
        g1 = filled(784 * 128, 0)
        g2 = filled(128 * 10, 0)
        da = filled(batch * 128, 0)
    }

    deinit {
        for buffer in [x, w1, h, w2, z, g1, g2, da] { buffer.deallocate() }
    }

    func step() {
        switch backend {
        case .openblas: stepOpenBLAS()
        case .onednn: stepOneDNN()
        }
    }

    private func stepOpenBLAS() {
        let b = blasint(batch)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, b, 128, 784, 1, x, 784, w1, 128, 0, h, 128)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, b, 10, 128, 1, h, 128, w2, 10, 0, z, 10)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, 128, 10, b, 1, h, 128, z, 10, 0, g2, 10)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b, 128, 10, 1, z, 10, w2, 10, 0, da, 128)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, 784, 128, b, 1, x, 784, da, 128, 0, g1, 128)
    }

    private func stepOneDNN() {
        BLASThreads.applyToCurrentThread()
        let b = dnnl_dim_t(batch)
        let n: CChar = 78, t: CChar = 84  // "N", "T"
        var status = dnnl_sgemm(n, n, b, 128, 784, 1, x, 784, w1, 128, 0, h, 128)
        status = dnnl_sgemm(n, n, b, 10, 128, 1, h, 128, w2, 10, 0, z, 10)
        status = dnnl_sgemm(t, n, 128, 10, b, 1, h, 128, z, 10, 0, g2, 10)
        status = dnnl_sgemm(n, t, b, 128, 10, 1, z, 10, w2, 10, 0, da, 128)
        status = dnnl_sgemm(t, n, 784, 128, b, 1, x, 784, da, 128, 0, g1, 128)
        precondition(status == dnnl_success, "dnnl_sgemm failed (\(status))")
    }
}

extension Duration {
    /// The duration as floating-point seconds.
    var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) * 1e-18
    }
}
