import Foundation

/// The MNIST training and test sets, loaded from the four standard IDX files in one directory.
///
/// Files may be gzip (`train-images-idx3-ubyte.gz`) or raw (`train-images-idx3-ubyte`); gzip is
/// recognised by its magic bytes, not by the name. Pixels stay bytes.
public struct MNIST: Sendable, Equatable {
    public var train: LabeledImages
    public var test: LabeledImages

    public init(train: LabeledImages, test: LabeledImages) {
        self.train = train
        self.test = test
    }

    /// Image side length of every MNIST digit.
    public static let side = 28
    /// Number of digit classes.
    public static let classCount = 10

    /// One of MNIST's two sets and its file names.
    public enum Split: String, CaseIterable, Sendable {
        case train
        case test

        /// The gzip file name of the images, as the mirrors serve it.
        public var imagesFileName: String {
            self == .train ? "train-images-idx3-ubyte.gz" : "t10k-images-idx3-ubyte.gz"
        }

        /// The gzip file name of the labels, as the mirrors serve it.
        public var labelsFileName: String {
            self == .train ? "train-labels-idx1-ubyte.gz" : "t10k-labels-idx1-ubyte.gz"
        }
    }

    /// The four gzip file names, train first.
    public static var fileNames: [String] {
        Split.allCases.flatMap { [$0.imagesFileName, $0.labelsFileName] }
    }

    /// Loads both sets from `directory`.
    public static func load(directory: String) throws -> MNIST {
        MNIST(train: try load(.train, directory: directory), test: try load(.test, directory: directory))
    }

    /// Loads one set from `directory`, checking that its images and labels agree in number.
    public static func load(_ split: Split, directory: String) throws -> LabeledImages {
        let imagesPath = try locate(split.imagesFileName, in: directory)
        let labelsPath = try locate(split.labelsFileName, in: directory)
        let images = try IDX.parseImages(try readDecompressed(imagesPath, kind: .images), path: imagesPath, expectedRows: side, expectedColumns: side)
        let labels = try IDX.parseLabels(try readDecompressed(labelsPath, kind: .labels), path: labelsPath, classCount: classCount)
        guard images.count == labels.count else {
            throw DataError.countMismatch(imagesPath: imagesPath, images: images.count, labelsPath: labelsPath, labels: labels.count)
        }
        return LabeledImages(pixels: images.pixels, labels: labels, rows: images.rows, columns: images.columns)
    }

    /// The path of `gzipName` in `directory`, or of its un-gzipped twin (the name without `.gz`).
    public static func locate(_ gzipName: String, in directory: String) throws -> String {
        let candidates = acceptedNames(of: gzipName)
        for name in candidates {
            let path = join(directory, name)
            if FileManager.default.fileExists(atPath: path) { return path }
        }
        throw DataError.missing(directory: directory, names: candidates)
    }

    /// True when every file of both sets is present in `directory` (gzip or raw); contents are not checked.
    public static func isPresent(in directory: String) -> Bool {
        fileNames.allSatisfy { (try? locate($0, in: directory)) != nil }
    }

    static func acceptedNames(of gzipName: String) -> [String] {
        gzipName.hasSuffix(".gz") ? [gzipName, String(gzipName.dropLast(3))] : [gzipName]
    }

    /// The file's bytes, decompressed when they are gzip.
    static func readDecompressed(_ path: String) throws -> [UInt8] {
        try Gzip.decompressIfGzip(try readFile(path), path: path)
    }

    /// An IDX file's bytes, decompressed when they are gzip, never more than its header declares
    /// (and at most 2^20 images or 2^24 labels): a gzip bomb is refused after inflating that much, not 4 GiB.
    static func readDecompressed(_ path: String, kind: IDXKind) throws -> [UInt8] {
        let maxCount = kind == .images ? 1 << 20 : 1 << 24
        let bytes = try readFile(path)
        guard Gzip.isGzip(bytes) else { return bytes }
        let header = try Gzip.prefix(bytes, count: IDX.headerSize(kind), path: path)
        // A short or odd header: inflate a header's worth more, and let the IDX parser say what is wrong.
        let limit = IDX.declaredSize(header, kind: kind, maxCount: maxCount) ?? IDX.headerSize(kind) + 1
        return try Gzip.decompress(bytes, path: path, maxBytes: limit)
    }

    /// The file's bytes, read straight into one array (no intermediate `Data` copy).
    static func readFile(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw DataError.unreadable(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw DataError.unreadable(path: path, reason: String(cString: strerror(errno))) }
        let size = Int(info.st_size)
        var failure: Int32 = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            var offset = 0
            while offset < size {
                let n = read(fd, buffer.baseAddress! + offset, size - offset)
                if n > 0 { offset += n } else if n < 0 && errno == EINTR { continue } else { failure = n < 0 ? errno : EIO; break }
            }
            initialized = offset
        }
        guard failure == 0, bytes.count == size else {
            throw DataError.unreadable(path: path, reason: failure != 0 ? String(cString: strerror(failure)) : "the file shrank while it was read")
        }
        return bytes
    }
}

func join(_ directory: String, _ name: String) -> String {
    directory.hasSuffix("/") ? directory + name : directory + "/" + name
}

func describe(_ error: any Error) -> String {
    if let error = error as? DataError { return error.description }
    let nsError = error as NSError
    if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain,
        let code = POSIXErrorCode(rawValue: Int32(underlying.code)) {
        return String(cString: strerror(code.rawValue))
    }
    // Foundation on Linux often gives a file error no POSIX cause (`createDirectory` in a
    // directory one cannot write): say it in the system's words, not Foundation's.
    let posix: [CocoaError.Code: Int32] = [
        .fileWriteNoPermission: EACCES, .fileReadNoPermission: EACCES, .fileNoSuchFile: ENOENT,
        .fileReadNoSuchFile: ENOENT, .fileWriteOutOfSpace: ENOSPC, .fileWriteVolumeReadOnly: EROFS,
    ]
    if let cocoa = error as? CocoaError, let code = posix[cocoa.code] { return String(cString: strerror(code)) }
    return nsError.localizedDescription
}
