import DescentConfig
import DescentCore
import DescentData
import DescentSchedules
import Foundation
import Testing
@testable import DescentTraining

@Suite struct ReferenceRunTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func referenceConfigOnFullMNISTEndsAtStep28125WithTheSeedsFinalRate() throws {
        let config = try RunConfig.load(path: Self.root.appendingPathComponent("Config/mnist-seed.yaml").path)
        // 60,000 images / batch 32 = 1875 steps an epoch; 15 epochs = 28,125 steps.
        let plan = EpochPlan(sampleCount: 60_000, globalBatch: config.globalBatch(workers: 1), seed: config.seed)
        let steps = plan.stepsPerEpoch * config.training.epochs
        #expect(steps == 28_125)
        let policy = LearningRatePolicy(schedule: config.schedule, stepsPerEpoch: plan.stepsPerEpoch, globalBatch: 32)
        // Keras: 0.1 * 0.96^floor(28125 / 1000) in float32 = 0.031885575503110886.
        #expect(Double(policy.rate(at: steps)) == 0.031885575503110886)
        // The same with 4 workers: the global step counts updates, not worker micro-steps.
        let four = EpochPlan(sampleCount: 60_000, globalBatch: config.globalBatch(workers: 4), seed: config.seed)
        #expect(four.stepsPerEpoch * config.training.epochs == 28_125)
    }

    static func tinySet(count: Int, seed: UInt64) -> LabeledImages {
        var random = SeededGenerator(seed: seed)
        var pixels: [UInt8] = []
        var labels: [UInt8] = []
        for _ in 0..<count {
            let label = random.nextIndex(below: 10)
            labels.append(UInt8(label))
            for k in 0..<784 { pixels.append(k / 78 == label ? 220 : UInt8(random.nextIndex(below: 30))) }
        }
        return LabeledImages(pixels: pixels, labels: labels, rows: 28, columns: 28)
    }

    @Test func trainerLearnsASeparableSetAndSavesWhatItReturns() throws {
        var config = try RunConfig.parse(yaml: "training:\n  epochs: 3\n  batch_size: 16\n")
        config.data.trainRepeat = 2
        let train = Self.tinySet(count: 200, seed: 1), test = Self.tinySet(count: 100, seed: 2)
        let path = NSTemporaryDirectory() + "descent-trainer-\(getpid()).bin"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let summary = try Trainer(config: config).run(train: TrainingSet(images: train, config: config), test: test,
                                                      options: RunOptions(savePath: path))
        // 200 images repeated twice, batch 16: 25 steps an epoch, 75 in all.
        #expect(summary.steps == 75)
        #expect(summary.testAccuracy > 0.9)
        #expect(try ParameterFile.read(from: path) == summary.parameters)
    }

    @Test func parameterFilesThatAreNotWholeAreRefusedByName() throws {
        let path = NSTemporaryDirectory() + "descent-params-\(getpid()).bin"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try ParameterFile.write([1, 2, 3], to: path)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try bytes.prefix(bytes.count - 2).write(to: URL(fileURLWithPath: path))
        #expect(throws: ParameterFileError.self) { try ParameterFile.read(from: path) }
        do { _ = try ParameterFile.read(from: path) } catch { #expect("\(error)".contains("header promises 3 floats")) }
        try Data("nope".utf8).write(to: URL(fileURLWithPath: path))
        do { _ = try ParameterFile.read(from: path) } catch { #expect("\(error)".contains("not a Descent parameter file")) }
    }

    @Test func batchBufferWrapsIndicesOfARepeatedSet() {
        let images = Self.tinySet(count: 5, seed: 3)
        let buffer = BatchBuffer(capacity: 3, featureCount: 784)
        buffer.indices[0] = 7; buffer.indices[1] = 2; buffer.indices[2] = 14  // 7 % 5 = 2, 14 % 5 = 4
        buffer.fill(from: images, count: 3)
        #expect(buffer.labels[0] == Int32(images.labels[2]))
        #expect(buffer.labels[1] == Int32(images.labels[2]))
        #expect(buffer.labels[2] == Int32(images.labels[4]))
        #expect(buffer.features[784 * 2 + 10] == Float(images.pixels[4 * 784 + 10]) / 255)
    }
}
