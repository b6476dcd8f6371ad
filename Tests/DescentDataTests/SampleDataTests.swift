import Foundation
import Testing
@testable import DescentData

/// The real MNIST digits that CI machines hold at `../shared/data/mnist-sample` (or `$DESCENT_MNIST_SAMPLE`).
enum MNISTSample {
    static var directory: String {
        if let path = ProcessInfo.processInfo.environment["DESCENT_MNIST_SAMPLE"], !path.isEmpty { return path }
        // This file is Tests/DescentDataTests/SampleDataTests.swift: three levels below the package root.
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return packageRoot.deletingLastPathComponent().appendingPathComponent("shared/data/mnist-sample").path
    }

    static var isAvailable: Bool { MNIST.isPresent(in: directory) }
}

// Skipped where the sample folder is absent (developer machines without ../shared): the other
// suites cover the reader with generated files.
@Suite("Real MNIST sample", .enabled(if: MNISTSample.isAvailable, "no MNIST sample at ../shared/data/mnist-sample or $DESCENT_MNIST_SAMPLE"))
struct SampleDataTests {
    @Test func trainingSampleHoldsFiveHundredOfEachDigitSortedByClass() throws {
        let train = try MNIST.load(.train, directory: MNISTSample.directory)
        #expect(train.count == 5_000)
        #expect(train.pixels.count == 5_000 * 784)
        #expect(histogram(train.labels) == [Int](repeating: 500, count: 10))
        #expect(train.labels == train.labels.sorted())
        // Sum of all pixels and row 14 of image 0, computed with numpy from the same file.
        #expect(train.pixels.reduce(0) { $0 + Int($1) } == 131_267_102)
        #expect(Array(train.pixels[(14 * 28)..<(14 * 28 + 12)]) == [0, 0, 0, 0, 0, 0, 0, 198, 253, 190, 0, 0])
    }

    @Test func testSetIsTheCompleteMNISTTestSet() throws {
        let test = try MNIST.load(.test, directory: MNISTSample.directory)
        #expect(test.count == 10_000)
        // The published class counts of MNIST's t10k set.
        #expect(histogram(test.labels) == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])
        #expect(Array(test.labels.prefix(5)) == [7, 2, 1, 0, 4])
        #expect(test.pixels.reduce(0) { $0 + Int($1) } == 264_923_200)
    }

    private func histogram(_ labels: [UInt8]) -> [Int] {
        var counts = [Int](repeating: 0, count: 10)
        for label in labels { counts[Int(label)] += 1 }
        return counts
    }
}
