import Foundation
import Testing
@testable import DescentData

@Suite("MNIST loading")
struct MNISTLoadingTests {
    /// Writes a small MNIST directory: 3 training and 2 test images, gzip or raw.
    private func writeSmallSet(in directory: TemporaryDirectory, gzip: Bool) throws {
        let files: [(String, [UInt8])] = [
            ("train-images-idx3-ubyte", idxImages(count: 3)),
            ("train-labels-idx1-ubyte", idxLabels([5, 0, 4])),
            ("t10k-images-idx3-ubyte", idxImages(count: 2)),
            ("t10k-labels-idx1-ubyte", idxLabels([7, 2])),
        ]
        for (name, bytes) in files {
            if gzip {
                try directory.write(try gzipWithTool(bytes), to: name + ".gz")
            } else {
                try directory.write(bytes, to: name)
            }
        }
    }

    @Test(arguments: [true, false])
    func loadsTrainAndTestFromGzipOrRawFiles(gzip: Bool) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try writeSmallSet(in: directory, gzip: gzip)

        let mnist = try MNIST.load(directory: directory.path)
        #expect(mnist.train.count == 3)
        #expect(mnist.train.labels == [5, 0, 4])
        #expect(mnist.train.rows == 28 && mnist.train.columns == 28)
        #expect(mnist.train.pixels == (0..<(3 * 784)).map { UInt8($0 % 251) })
        #expect(mnist.test.labels == [7, 2])
        #expect(mnist.test.pixels.count == 2 * 784)
    }

    @Test func loadsOnlyTheTestSetWhenTheTrainingFilesAreAbsent() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try writeSmallSet(in: directory, gzip: true)
        try FileManager.default.removeItem(atPath: directory.file("train-images-idx3-ubyte.gz"))

        #expect(try MNIST.load(.test, directory: directory.path).labels == [7, 2])
        let error = #expect(throws: DataError.self) { try MNIST.load(directory: directory.path) }
        #expect(error == .missing(directory: directory.path, names: ["train-images-idx3-ubyte.gz", "train-images-idx3-ubyte"]))
        #expect(error?.description.contains("run 'descent data fetch --dir \(directory.path)'") == true)
    }

    @Test func refusesImagesAndLabelsThatDisagreeInNumber() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try writeSmallSet(in: directory, gzip: true)
        try directory.write(try gzipWithTool(idxLabels([1, 2, 3, 4])), to: "t10k-labels-idx1-ubyte.gz")

        let error = #expect(throws: DataError.self) { try MNIST.load(.test, directory: directory.path) }
        #expect(
            error?.description == "\(directory.file("t10k-images-idx3-ubyte.gz")) holds 2 images but "
                + "\(directory.file("t10k-labels-idx1-ubyte.gz")) holds 4 labels; the two files must come from "
                + "the same set: delete both and run 'descent data fetch'")
    }

    @Test func refusesAFileThatIsNeitherGzipNorIDX() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try writeSmallSet(in: directory, gzip: true)
        try directory.write(Array("<html>404 Not Found</html>".utf8), to: "train-labels-idx1-ubyte.gz")

        let error = #expect(throws: DataError.self) { try MNIST.load(.train, directory: directory.path) }
        #expect(error?.description.hasPrefix("\(directory.file("train-labels-idx1-ubyte.gz")): not an IDX label file") == true)
    }

    @Test func refusesATruncatedGzipFileNamingIt() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try writeSmallSet(in: directory, gzip: true)
        let whole = try directory.read("train-images-idx3-ubyte.gz")
        try directory.write(Array(whole.prefix(whole.count / 2)), to: "train-images-idx3-ubyte.gz")

        let error = #expect(throws: DataError.self) { try MNIST.load(directory: directory.path) }
        #expect(error == .truncatedGzip(path: directory.file("train-images-idx3-ubyte.gz")))
    }

    @Test func refusesImagesOfTheWrongSize() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try writeSmallSet(in: directory, gzip: false)
        try directory.write(idxImages(count: 2, rows: 28, columns: 27), to: "t10k-images-idx3-ubyte")

        let error = #expect(throws: DataError.self) { try MNIST.load(.test, directory: directory.path) }
        #expect(error?.description.contains("images are 28x27 pixels, expected 28x28") == true)
    }

    @Test func reportsPresenceOnlyWhenAllFourFilesExist() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        #expect(!MNIST.isPresent(in: directory.path))
        try writeSmallSet(in: directory, gzip: false)
        #expect(MNIST.isPresent(in: directory.path))
    }
}
