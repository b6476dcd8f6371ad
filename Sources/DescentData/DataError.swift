/// Why a dataset file could not be read, located or fetched.
///
/// Every case names the file and says what to do next, e.g.
/// `data/mnist/train-images-idx3-ubyte.gz: truncated: header promises 60000 images (47040000 bytes)
/// but the file holds 1234567; delete it and run 'descent data fetch'`.
public enum DataError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file exists (or should) but cannot be opened or read.
    case unreadable(path: String, reason: String)
    /// None of the accepted names of a dataset file exists in the directory.
    case missing(directory: String, names: [String])
    /// The gzip stream is damaged (bad header, bad CRC, invalid deflate data).
    case corruptGzip(path: String, reason: String)
    /// The gzip stream ends before its end marker.
    case truncatedGzip(path: String)
    /// The first four bytes are not the IDX magic number expected for this kind of file.
    case badMagic(path: String, found: UInt32, expected: UInt32, kind: IDXKind)
    /// An IDX image file whose images are not the expected size.
    case badDimensions(path: String, rows: Int, columns: Int, expectedRows: Int, expectedColumns: Int)
    /// The file ends before the header (or the data the header promises) is complete.
    case truncated(path: String, kind: IDXKind, count: Int, expectedBytes: Int, actualBytes: Int)
    /// The file is shorter than an IDX header.
    case truncatedHeader(path: String, kind: IDXKind, headerBytes: Int, actualBytes: Int)
    /// The file holds bytes after the data its header promises.
    case trailingBytes(path: String, kind: IDXKind, count: Int, extraBytes: Int)
    /// A label outside `0..<classCount`.
    case labelOutOfRange(path: String, index: Int, value: UInt8, classCount: Int)
    /// The image and label files of one split disagree on the number of samples.
    case countMismatch(imagesPath: String, images: Int, labelsPath: String, labels: Int)
    /// A file could not be written into the data directory.
    case unwritable(path: String, reason: String)
    /// Every mirror failed for a file; `attempts` says what was tried and why each failed, and
    /// `byHand` lists the URLs of the files still missing, for a download by hand.
    case fetchFailed(file: String, directory: String, attempts: [FetchAttempt], byHand: [String])
    /// `$DESCENT_MNIST_MIRROR` holds something that is not an http, https or file URL or a path.
    case badMirror(variable: String, value: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            return "\(path): cannot read: \(reason); check the path and its permissions, or run 'descent data fetch'"
        case .missing(let directory, let names):
            let list = names.map { "'\($0)'" }.joined(separator: " or ")
            return "\(directory): missing \(list); run 'descent data fetch --dir \(directory)', "
                + "or point --data / $DESCENT_DATA at a directory that holds the MNIST files"
        case .corruptGzip(let path, let reason):
            return "\(path): corrupt gzip data (\(reason)); delete it and run 'descent data fetch'"
        case .truncatedGzip(let path):
            return "\(path): truncated: the gzip stream ends early (an interrupted download?); delete it and run 'descent data fetch'"
        case .badMagic(let path, let found, let expected, let kind):
            return "\(path): not an IDX \(kind.noun) file: magic number \(hex(found)), expected \(hex(expected))"
                + "\(kind.other.magic == found ? " (this looks like an IDX \(kind.other.noun) file: are the file names swapped?)" : "")"
                + "; delete it and run 'descent data fetch'"
        case .badDimensions(let path, let rows, let columns, let expectedRows, let expectedColumns):
            return "\(path): images are \(rows)x\(columns) pixels, expected \(expectedRows)x\(expectedColumns) (MNIST); "
                + "point --data at the MNIST files or run 'descent data fetch'"
        case .truncated(let path, let kind, let count, let expectedBytes, let actualBytes):
            return "\(path): truncated: header promises \(count) \(kind.plural) (\(expectedBytes) bytes) "
                + "but the file holds \(actualBytes); delete it and run 'descent data fetch'"
        case .truncatedHeader(let path, let kind, let headerBytes, let actualBytes):
            return "\(path): truncated: an IDX \(kind.noun) header needs \(headerBytes) bytes but the file holds \(actualBytes); "
                + "delete it and run 'descent data fetch'"
        case .trailingBytes(let path, let kind, let count, let extraBytes):
            return "\(path): \(extraBytes) unexpected bytes after the \(count) \(kind.plural) the header promises; "
                + "delete it and run 'descent data fetch'"
        case .labelOutOfRange(let path, let index, let value, let classCount):
            return "\(path): label \(value) at index \(index) is outside 0...\(classCount - 1); "
                + "delete it and run 'descent data fetch'"
        case .countMismatch(let imagesPath, let images, let labelsPath, let labels):
            return "\(imagesPath) holds \(images) images but \(labelsPath) holds \(labels) labels; "
                + "the two files must come from the same set: delete both and run 'descent data fetch'"
        case .badMirror(let variable, let value):
            return "$\(variable): '\(value)' is not an http, https or file URL or a directory path; "
                + "give base URLs separated by commas (e.g. https://mirror.example/mnist/,file:///srv/mnist/), or unset it"
        case .unwritable(let path, let reason):
            return "\(path): cannot write: \(reason); choose a writable directory with --dir (or --data / $DESCENT_DATA)"
        case .fetchFailed(let file, let directory, let attempts, let byHand):
            var text = "could not fetch \(file) into \(directory); tried:"
            for attempt in attempts { text += "\n  - \(attempt.url): \(attempt.reason)" }
            if attempts.isEmpty { text += " no mirror (pass --mirror URL)" }
            if !byHand.isEmpty {
                text += "\nDownload by hand into \(directory) (keeping the file names):"
                for url in byHand { text += "\n  \(url)" }
            }
            text += "\nAlternatively, point --data / $DESCENT_DATA at a directory that already holds the files, "
                + "or $DESCENT_MNIST_MIRROR at mirrors of your own (base URLs or paths, separated by commas)."
            return text
        }
    }
}

/// One mirror tried for one file, and why it did not give a verified copy.
public struct FetchAttempt: Equatable, Sendable {
    public var url: String
    public var reason: String

    public init(url: String, reason: String) {
        self.url = url
        self.reason = reason
    }
}

/// The two kinds of IDX file MNIST uses.
public enum IDXKind: Sendable, Equatable {
    case images
    case labels

    /// The IDX magic number: unsigned bytes (0x08), with 3 dimensions for images and 1 for labels.
    public var magic: UInt32 {
        switch self {
        case .images: return 0x0000_0803
        case .labels: return 0x0000_0801
        }
    }

    var noun: String { self == .images ? "image" : "label" }
    var plural: String { self == .images ? "images" : "labels" }
    var other: IDXKind { self == .images ? .labels : .images }
}

private func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
}

#if canImport(Foundation)
import Foundation

extension DataError: LocalizedError {
    /// The same text as `description`, so `localizedDescription` reads the same.
    public var errorDescription: String? { description }
}
#endif
