import Foundation

/// One file a dataset is made of: its name on the mirrors, its size and its SHA-256.
public struct ManifestEntry: Sendable, Equatable {
    public var name: String
    public var byteCount: Int
    /// 64 lowercase hex digits, as `sha256sum` prints them.
    public var sha256: String

    public init(name: String, byteCount: Int, sha256: String) {
        self.name = name
        self.byteCount = byteCount
        self.sha256 = sha256.lowercased()
    }

    /// Why a file of `byteCount` bytes with digest `sha256` is not this entry, or nil when it is.
    public func mismatch(byteCount actualCount: Int, sha256 actualDigest: String) -> String? {
        if actualCount != byteCount { return "size \(actualCount) bytes, expected \(byteCount)" }
        if actualDigest.lowercased() != sha256 { return "SHA-256 \(actualDigest), expected \(sha256)" }
        return nil
    }
}

/// The files of a dataset and the mirrors that serve them. Tests inject their own.
public struct DatasetManifest: Sendable, Equatable {
    public var entries: [ManifestEntry]
    /// Base URLs tried in order; a file's URL is the base followed by its name.
    public var mirrors: [URL]

    public init(entries: [ManifestEntry], mirrors: [URL]) {
        self.entries = entries
        self.mirrors = mirrors
    }

    /// The four gzip files of MNIST, with sizes and digests checked against several public sources.
    public static let mnist = DatasetManifest(
        entries: [
            ManifestEntry(
                name: "train-images-idx3-ubyte.gz", byteCount: 9_912_422,
                sha256: "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
            ManifestEntry(
                name: "train-labels-idx1-ubyte.gz", byteCount: 28_881,
                sha256: "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
            ManifestEntry(
                name: "t10k-images-idx3-ubyte.gz", byteCount: 1_648_877,
                sha256: "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
            ManifestEntry(
                name: "t10k-labels-idx1-ubyte.gz", byteCount: 4_542,
                sha256: "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
        ],
        mirrors: mnistMirrors)

    /// The public MNIST mirrors, most reliable first.
    public static let mnistMirrors: [URL] = [
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://yann.lecun.com/exdb/mnist/",
    ].compactMap { URL(string: $0) }

    /// The variable that replaces the public mirrors for every command that fetches MNIST (an
    /// internal mirror, a machine without the internet): base URLs or paths, separated by commas.
    public static let mirrorEnvironmentVariable = "DESCENT_MNIST_MIRROR"

    /// The MNIST manifest with the mirrors `$DESCENT_MNIST_MIRROR` names, or the public ones when
    /// it is unset or empty; throws `DataError.badMirror` naming an entry that is not a mirror.
    public static func mnist(environment: [String: String]) throws -> DatasetManifest {
        let entries = (environment[mirrorEnvironmentVariable] ?? "").split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !entries.isEmpty else { return mnist }
        return mnist.with(mirrors: try entries.map { entry in
            guard let url = mirror(parsing: entry) else { throw DataError.badMirror(variable: mirrorEnvironmentVariable, value: entry) }
            return url
        })
    }

    /// This manifest with other mirrors.
    public func with(mirrors: [URL]) -> DatasetManifest {
        DatasetManifest(entries: entries, mirrors: mirrors)
    }

    /// The URL of `name` on `mirror`.
    public static func url(of name: String, on mirror: URL) -> URL {
        mirror.appendingPathComponent(name)
    }

    /// Parses a mirror given on the command line: an http, https or file URL, or a directory path.
    public static func mirror(parsing text: String) -> URL? {
        if text.hasPrefix("/") || text.hasPrefix(".") { return URL(fileURLWithPath: text, isDirectory: true) }
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(),
            ["http", "https", "file"].contains(scheme)
        else { return nil }
        return url
    }
}
