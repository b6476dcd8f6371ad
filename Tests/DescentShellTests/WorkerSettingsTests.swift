import DescentCore
import DescentData
import DescentProtocol
import DescentTraining
import Testing
@testable import DescentWorker

/// The run settings in a welcome are the coordinator's numbers: a worker refuses impossible ones
/// with an error before any arithmetic on them, rather than trapping on an overflow.
struct WorkerSettingsTests {
    /// Ten 28 x 28 images, one of each class.
    static let train = LabeledImages(pixels: [UInt8](repeating: 7, count: 10 * 784), labels: Array(0..<10), rows: 28, columns: 28)

    static func settings(hidden: [Int] = [4], trainRepeat: Int = 1, threads: Int = 1, globalBatch: Int = 4) -> RunSettings {
        // 784 x 4 + 4 + 4 x 10 + 10 parameters for hidden [4], counted by hand; the sample count
        // wraps, as a lying coordinator may send it.
        RunSettings(rank: 0, workers: 1, seed: 1, hidden: hidden, parameterCount: 3_190, globalBatch: globalBatch, sampleCount: 10 &* trainRepeat,
                    trainLimit: nil, trainRepeat: trainRepeat, threads: threads, labelsDigest: RunData.labelsDigest(train),
                    heartbeatSeconds: 1, silenceLimitSeconds: 30)
    }

    @Test func saneSettingsMakeASession() throws {
        _ = try WorkerSession(settings: Self.settings(), train: Self.train, shared: nil)
    }

    @Test(arguments: [
        settings(trainRepeat: Int.max / 5),          // 10 images x this overflowed
        settings(trainRepeat: 1_000_001),
        settings(hidden: [Int.max]),                  // 784 x this overflowed
        settings(hidden: [1 << 20, 1 << 20]),
        settings(hidden: Array(repeating: 2, count: 65)),
        settings(threads: 1 << 40),
        settings(globalBatch: Int.max),
    ])
    func impossibleSettingsAreRefused(_ settings: RunSettings) {
        #expect { try WorkerSession(settings: settings, train: Self.train, shared: nil) } throws: { error in
            "\(error)".contains("impossible") || "\(error)".contains("samples per epoch")
        }
    }

    /// A worker on shared memory computes at the parameter buffer each step names: buffer 1 gives
    /// the gradient that a worker handed the same floats in a message computes. A buffer the
    /// segment does not have (a hostile word in the control line) and parameters in a message
    /// are refused with an error, not read out of bounds or written into the read-only mapping.
    @Test func aSharedMemoryWorkerReadsTheBufferTheStepNames() throws {
        let count = 3_190
        let buffers = (0..<3).map { _ in UnsafeMutableBufferPointer<Float>.allocate(capacity: count) }
        defer { for buffer in buffers { buffer.deallocate() } }
        buffers[0].initialize(repeating: 0)
        for i in 0..<count { buffers[1][i] = Float(i % 13) * 0.01 - 0.06 }
        buffers[2].initialize(repeating: 0)
        let shared = try WorkerSession(settings: Self.settings(), train: Self.train,
                                       shared: SharedBuffers(parameters: [buffers[0], buffers[1]], gradient: buffers[2]))
        let own = try WorkerSession(settings: Self.settings(), train: Self.train, shared: nil)

        let fromBuffer = try shared.compute(.inPlace(buffer: 1), epoch: 0, batch: 0, slots: [0])
        let fromMessage = try own.compute(.floats(Array(buffers[1])), epoch: 0, batch: 0, slots: [0])
        #expect(fromBuffer.lossSum == fromMessage.lossSum && fromBuffer.samples == fromMessage.samples)
        #expect(Array(buffers[2]) == Array(own.gradient))
        let atZero = try shared.compute(.inPlace(buffer: 0), epoch: 0, batch: 0, slots: [0])
        #expect(atZero.lossSum != fromBuffer.lossSum, "buffer 0 holds other parameters")

        for buffer: UInt32 in [2, .max] {
            #expect { try shared.compute(.inPlace(buffer: buffer), epoch: 0, batch: 0, slots: [0]) } throws: { error in
                "\(error)".contains("parameter buffer \(buffer)")
            }
        }
        #expect { try shared.compute(.floats(Array(buffers[1])), epoch: 0, batch: 0, slots: [0]) } throws: { error in
            "\(error)".contains("shared segment")
        }
    }
}
