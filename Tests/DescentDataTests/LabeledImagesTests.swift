import Testing
@testable import DescentData

@Suite("LabeledImages")
struct LabeledImagesTests {
    /// Two 1x3 images: [0, 51, 255] labelled 4 and [102, 204, 1] labelled 9.
    private let images = LabeledImages(pixels: [0, 51, 255, 102, 204, 1], labels: [4, 9], rows: 1, columns: 3)

    @Test func gatherScalesPixelsToUnitIntervalInIndexOrder() {
        var features = [Float](repeating: -1, count: 9)
        var labels = [Int32](repeating: -1, count: 3)
        let indices = [1, 0, 1]
        indices.withUnsafeBufferPointer { indexBuffer in
            features.withUnsafeMutableBufferPointer { f in
                labels.withUnsafeMutableBufferPointer { l in
                    images.gather(indexBuffer, features: f.baseAddress!, labels: l.baseAddress!)
                }
            }
        }
        // byte / 255: 51/255 = 0.2, 102/255 = 0.4, 204/255 = 0.8.
        let expected: [Float] = [0.4, 0.8, 1.0 / 255, 0, 0.2, 1, 0.4, 0.8, 1.0 / 255]
        for (got, want) in zip(features, expected) { #expect(abs(got - want) <= 1e-7) }
        #expect(labels == [9, 4, 9])
    }

    /// 28x28 images go through the vector code: every pixel of every gathered image is its byte
    /// over 255, every label its image's, for images picked out of order and twice.
    @Test func gatherOfFullSizeImagesScalesEveryPixel() {
        let count = 5
        let pixels = (0..<(count * 784)).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ $0 / 784) }
        let full = LabeledImages(pixels: pixels, labels: [3, 1, 4, 1, 5], rows: 28, columns: 28)
        let indices = [4, 0, 2, 4]
        var features = [Float](repeating: -1, count: indices.count * 784)
        var labels = [Int32](repeating: -1, count: indices.count)
        indices.withUnsafeBufferPointer { indexBuffer in
            features.withUnsafeMutableBufferPointer { f in
                labels.withUnsafeMutableBufferPointer { l in
                    full.gather(indexBuffer, features: f.baseAddress!, labels: l.baseAddress!)
                }
            }
        }
        var worst: Float = 0
        for (row, image) in indices.enumerated() {
            for k in 0..<784 {
                worst = max(worst, abs(features[row * 784 + k] - Float(Double(pixels[image * 784 + k]) / 255)))
            }
        }
        #expect(worst <= 1e-7)
        #expect(labels == [5, 3, 4, 5])
    }

    @Test func prefixKeepsTheFirstImages() {
        let first = images.prefix(1)
        #expect(first.count == 1)
        #expect(first.pixels == [0, 51, 255])
        #expect(first.labels == [4])
        #expect(images.prefix(nil) == images)
        #expect(images.prefix(5) == images)
    }
}
