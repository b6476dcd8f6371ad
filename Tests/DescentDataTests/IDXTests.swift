import Testing
@testable import DescentData

@Suite("IDX parsing")
struct IDXTests {
    @Test func readsImagesHeaderAndPixels() throws {
        let images = try IDX.parseImages(idxImages(count: 3), path: "i")
        #expect(images.count == 3)
        #expect(images.rows == 28)
        #expect(images.columns == 28)
        #expect(images.pixels.count == 3 * 784)
        // Pixel k of the payload is k % 251 by construction; spot-check the first of the third image.
        #expect(images.pixels[2 * 784] == UInt8((2 * 784) % 251))
    }

    @Test func readsImagesOfOtherSizesWhenNoSizeIsExpected() throws {
        let images = try IDX.parseImages(idxImages(count: 2, rows: 3, columns: 5), path: "i", expectedRows: nil, expectedColumns: nil)
        #expect(images.rows == 3)
        #expect(images.columns == 5)
        #expect(images.pixels == (0..<30).map { UInt8($0) })
    }

    @Test func readsLabels() throws {
        #expect(try IDX.parseLabels(idxLabels([0, 9, 4, 4]), path: "l") == [0, 9, 4, 4])
    }

    /// A malformed image file and the words its error message must contain.
    struct MalformedImages: Sendable, CustomTestStringConvertible {
        var name: String
        var bytes: [UInt8]
        var messageParts: [String]
        var testDescription: String { name }
    }

    static let malformedImages: [MalformedImages] = [
        MalformedImages(
            name: "wrong magic (a label file)", bytes: idxLabels([1, 2]),
            messageParts: ["d/f: not an IDX image file", "magic number 0x00000801, expected 0x00000803", "file names swapped", "descent data fetch"]),
        MalformedImages(
            name: "wrong magic (random)", bytes: [0xDE, 0xAD, 0xBE, 0xEF] + [UInt8](repeating: 0, count: 12),
            messageParts: ["d/f: not an IDX image file", "magic number 0xdeadbeef"]),
        MalformedImages(
            name: "bad dimensions", bytes: idxImages(count: 1, rows: 32, columns: 28),
            messageParts: ["d/f: images are 32x28 pixels, expected 28x28"]),
        MalformedImages(
            name: "truncated payload", bytes: Array(idxImages(count: 5).dropLast(100)),
            messageParts: ["d/f: truncated: header promises 5 images (3920 bytes) but the file holds 3820", "delete it and run 'descent data fetch'"]),
        MalformedImages(
            name: "truncated header", bytes: Array(idxImages(count: 5).prefix(10)),
            messageParts: ["d/f: truncated: an IDX image header needs 16 bytes but the file holds 10"]),
        MalformedImages(
            name: "shorter than the magic", bytes: [0x00, 0x00],
            messageParts: ["d/f: truncated", "holds 2"]),
        MalformedImages(
            name: "trailing garbage", bytes: idxImages(count: 2) + [1, 2, 3],
            messageParts: ["d/f: 3 unexpected bytes after the 2 images the header promises"]),
    ]

    @Test(arguments: malformedImages)
    func refusesMalformedImageFilesWithAMessageNamingTheProblem(_ sample: MalformedImages) {
        let error = #expect(throws: DataError.self) { try IDX.parseImages(sample.bytes, path: "d/f") }
        let message = error?.description ?? ""
        for part in sample.messageParts {
            #expect(message.contains(part), "message: \(message)")
        }
    }

    @Test func refusesALabelOutsideTheClasses() {
        let error = #expect(throws: DataError.self) { try IDX.parseLabels(idxLabels([3, 9, 10, 2]), path: "l.gz") }
        #expect(error == .labelOutOfRange(path: "l.gz", index: 2, value: 10, classCount: 10))
        #expect(error?.description == "l.gz: label 10 at index 2 is outside 0...9; delete it and run 'descent data fetch'")
    }

    @Test func refusesATruncatedLabelFile() {
        var bytes = idxLabels([1, 2, 3, 4])
        bytes.removeLast()
        let error = #expect(throws: DataError.self) { try IDX.parseLabels(bytes, path: "l") }
        #expect(error?.description.hasPrefix("l: truncated: header promises 4 labels (4 bytes) but the file holds 3") == true)
    }

    @Test func refusesALabelFileWithTrailingBytes() {
        let error = #expect(throws: DataError.self) { try IDX.parseLabels(idxLabels([1]) + [7], path: "l") }
        #expect(error == .trailingBytes(path: "l", kind: .labels, count: 1, extraBytes: 1))
    }

    @Test func refusesAnImageFileGivenAsLabels() {
        let error = #expect(throws: DataError.self) { try IDX.parseLabels(idxImages(count: 1), path: "l") }
        #expect(error?.description.contains("not an IDX label file") == true)
        #expect(error?.description.contains("file names swapped") == true)
    }
}
