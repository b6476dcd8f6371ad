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

    @Test func prefixKeepsTheFirstImages() {
        let first = images.prefix(1)
        #expect(first.count == 1)
        #expect(first.pixels == [0, 51, 255])
        #expect(first.labels == [4])
        #expect(images.prefix(nil) == images)
        #expect(images.prefix(5) == images)
    }
}
