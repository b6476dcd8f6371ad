import ArgumentParser
import COpenBLAS
import DescentCore
import DescentData
import DescentModel

/// `descent bench`: measurements of this machine, one subcommand per part of the system.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure how fast this machine runs Descent.",
        subcommands: [BenchCompute.self, BenchDistributed.self, BenchRecovery.self])
}

/// `descent bench compute`: samples/s of one whole training step on one core, beside the BLAS
/// floor (the step's five GEMMs alone, as `shared/bench/limit/mlp_gemm_bound.c` runs them).
struct BenchCompute: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compute",
        abstract: "Training-step throughput on one core against the GEMM-only floor.",
        discussion: """
            For each batch size, alternates three rounds of whole training steps (gather a batch \
            from a byte image buffer, forward, backward, SGD update of the 784-128-10 MLP) with \
            three rounds of the same step's five GEMMs and nothing else, keeps the best round of \
            each, and reports both rates and their ratio. BLAS runs on one thread.
            """)

    @Option(name: .long, help: "Comma-separated batch sizes.", transform: BatchSizes.parse)
    var batch = BatchSizes(values: [32, 128, 512])

    @Option(name: .long, help: "Seconds each measurement round runs (6 rounds per batch size).")
    var seconds: Double = 0.5

    func validate() throws {
        guard seconds.isFinite, seconds > 0, seconds <= 600 else {
            throw ValidationError("--seconds must be a number of seconds in (0, 600], got \(seconds)")
        }
    }

    func run() throws {
        BLASThreads.set(1)
        let shape = MLPShape(inputs: 784, hidden: [128], classes: 10)
        print("descent bench compute: MLP 784-128-10, 1 BLAS thread, best of 3 rounds of \(seconds) s each")
        print("batch   trainer samples/s   GEMM floor samples/s   trainer/floor")
        var lines: [String] = []
        for size in batch.values {
            let trainer = TrainingStepBench(shape: shape, batch: size)
            let floor = GEMMFloorBench(batch: size)
            var bestTrainer = 0.0
            var bestFloor = 0.0
            for _ in 0..<3 {
                bestFloor = max(bestFloor, samplesPerSecond(batch: size, seconds: seconds) { floor.step() })
                bestTrainer = max(bestTrainer, samplesPerSecond(batch: size, seconds: seconds) { trainer.step() })
            }
            guard trainer.lastLoss.isFinite else {
                throw ValidationError("the benchmark's training loss became \(trainer.lastLoss); the engine is broken")
            }
            let ratio = bestTrainer / bestFloor
            print(pad(String(size), 5) + pad(format(bestTrainer, 0), 20) + pad(format(bestFloor, 0), 23) + pad(format(ratio, 3), 16))
            lines.append(
                "bench=compute batch=\(size) trainer_samples_per_s=\(format(bestTrainer, 0)) "
                    + "gemm_bound_samples_per_s=\(format(bestFloor, 0)) ratio=\(format(ratio, 3))")
        }
        for line in lines { print(line) }
    }

    /// Runs `step` (one batch each) in chunks until `seconds` have passed; samples per second.
    private func samplesPerSecond(batch: Int, seconds: Double, _ step: () -> Void) -> Double {
        let clock = ContinuousClock()
        let chunk = max(1, 2048 / batch)
        var steps = 0
        let start = clock.now
        var elapsed = 0.0
        repeat {
            for _ in 0..<chunk { step() }
            steps += chunk
            elapsed = (clock.now - start).seconds
        } while elapsed < seconds
        return Double(steps * batch) / elapsed
    }

    private func format(_ value: Double, _ decimals: Int) -> String {
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

/// The `--batch` list: positive integers separated by commas.
struct BatchSizes: Sendable {
    var values: [Int]

    static func parse(_ text: String) throws -> BatchSizes {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        var values: [Int] = []
        for part in parts {
            guard let value = Int(part.filter { $0 != " " }), value > 0, value <= 65_536 else {
                throw ValidationError("'\(part)' is not a batch size; give comma-separated integers in 1...65536, like 32,128,512")
            }
            values.append(value)
        }
        return BatchSizes(values: values)
    }
}

/// One whole training step of the real trainer's kind on synthetic bytes: gather a batch from a
/// `LabeledImages`, forward and backward through `GradientEngine`, and an SGD update.
/// Every buffer is allocated here, so `step` allocates nothing.
final class TrainingStepBench {
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

    init(shape: MLPShape, batch: Int) {
        self.batch = batch
        let count = max(4096, 2 * batch)
        var random = SeededGenerator(seed: 2024, stream: 0)
        let pixels = (0..<(count * shape.inputs)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        let classes = (0..<count).map { _ in UInt8(random.nextIndex(below: shape.classes)) }
        images = LabeledImages(pixels: pixels, labels: classes, rows: 28, columns: shape.inputs / 28)
        engine = GradientEngine(shape: shape, maxBatch: batch)
        optimizer = SGD(parameterCount: shape.parameterCount)
        parameters = .allocate(capacity: shape.parameterCount)
        _ = parameters.initialize(from: shape.initialParameters(seed: 1))
        gradient = .allocate(capacity: shape.parameterCount)
        gradient.initialize(repeating: 0)
        var indices = Array(0..<count)
        indices.seededShuffle(using: &random)
        order = .allocate(capacity: count)
        _ = order.initialize(from: indices)
        features = .allocate(capacity: batch * shape.inputs)
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
        if cursor + batch > order.count { cursor = 0 }
        images.gather(UnsafeBufferPointer(rebasing: order[cursor..<(cursor + batch)]), features: features, labels: labels)
        cursor += batch
        let stats = engine.lossAndGradient(
            parameters: UnsafeBufferPointer(parameters), features: features, labels: labels,
            batch: batch, gradient: gradient)
        optimizer.step(parameters: parameters, gradient: UnsafeBufferPointer(gradient), rate: 0.01)
        lastLoss = stats.loss
    }
}

/// The five GEMMs of one 784-128-10 training step and nothing else, exactly as
/// `shared/bench/limit/mlp_gemm_bound.c` runs them (same shapes, operands and fill values).
final class GEMMFloorBench {
    let batch: Int
    private let x, w1, h, w2, z, g1, g2, da: UnsafeMutablePointer<Float>

    init(batch: Int) {
        self.batch = batch
        func filled(_ count: Int, _ value: Float) -> UnsafeMutablePointer<Float> {
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: count)
            buffer.initialize(repeating: value, count: count)
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
        let b = blasint(batch)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, b, 128, 784, 1, x, 784, w1, 128, 0, h, 128)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, b, 10, 128, 1, h, 128, w2, 10, 0, z, 10)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, 128, 10, b, 1, h, 128, z, 10, 0, g2, 10)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b, 128, 10, 1, z, 10, w2, 10, 0, da, 128)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, 784, 128, b, 1, x, 784, da, 128, 0, g1, 128)
    }
}

extension Duration {
    /// The duration as floating-point seconds.
    var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) * 1e-18
    }
}
