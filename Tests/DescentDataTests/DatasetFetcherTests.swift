import Foundation
import Testing
@testable import DescentData

/// Collects fetch events from any thread.
final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [FetchEvent] = []
    var events: [FetchEvent] { lock.withLock { recorded } }
    func record(_ event: FetchEvent) { lock.withLock { recorded.append(event) } }
}

/// Two small files served for fetch tests, and a manifest whose sizes and digests come from `sha256sum`.
struct ServedFiles {
    let source: TemporaryDirectory
    let manifest: [ManifestEntry]
    let contents: [String: [UInt8]]

    init() throws {
        source = try TemporaryDirectory()
        var manifest: [ManifestEntry] = []
        var contents: [String: [UInt8]] = [:]
        for (name, bytes) in [("alpha.bin", patternBytes(200_003, seed: 7)), ("beta.bin", patternBytes(1_234, seed: 8))] {
            try source.write(bytes, to: name)
            manifest.append(ManifestEntry(name: name, byteCount: bytes.count, sha256: try sha256sumOfFile(source.file(name))))
            contents[name] = bytes
        }
        self.manifest = manifest
        self.contents = contents
    }
}

@Suite("Dataset fetcher", .serialized)
struct DatasetFetcherTests {
    private func fetcher(_ entries: [ManifestEntry], _ mirrors: [URL], log: EventLog = EventLog()) -> DatasetFetcher {
        DatasetFetcher(
            manifest: DatasetManifest(entries: entries, mirrors: mirrors), timeouts: FetchTimeouts(idle: 20, total: 60),
            events: { log.record($0) })
    }

    @Test func downloadsAndVerifiesEveryFileFromAnHTTPMirror() async throws {
        let served = try ServedFiles()
        defer { served.source.remove() }
        let server = try LocalHTTPServer(serving: served.source.path)
        defer { server.stop() }
        let target = try TemporaryDirectory()
        defer { target.remove() }
        let log = EventLog()

        let report = try await fetcher(served.manifest, [server.baseURL], log: log).fetch(into: target.path + "/nested/mnist")

        #expect(report.downloaded == ["alpha.bin", "beta.bin"])
        #expect(report.outcomes.map(\.outcome) == [
            .downloaded(url: server.baseURL.absoluteString + "alpha.bin", replaced: false),
            .downloaded(url: server.baseURL.absoluteString + "beta.bin", replaced: false),
        ])
        #expect(try TemporaryDirectory.list(target.path + "/nested/mnist") == ["alpha.bin", "beta.bin"])
        #expect(try target.read("nested/mnist/alpha.bin") == served.contents["alpha.bin"])
        #expect(try target.read("nested/mnist/beta.bin") == served.contents["beta.bin"])
        let progress = log.events.compactMap { event -> Int? in
            if case .progress(file: "alpha.bin", let bytes, total: 200_003) = event { return bytes } else { return nil }
        }
        #expect(progress.last == 200_003)
        #expect(progress == progress.sorted())
    }

    @Test func refusesAFileWhoseChecksumDiffersAndLeavesNothingBehind() async throws {
        let served = try ServedFiles()
        defer { served.source.remove() }
        let server = try LocalHTTPServer(serving: served.source.path)
        defer { server.stop() }
        let target = try TemporaryDirectory()
        defer { target.remove() }
        // Same size, digest of other content: the digest of "abc" (FIPS 180-2).
        var entry = served.manifest[1]
        entry.sha256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

        let error = await #expect(throws: DataError.self) { try await fetcher([entry], [server.baseURL]).fetch(into: target.path) }
        guard case .fetchFailed(let file, _, let attempts, _) = error else {
            Issue.record("expected fetchFailed, got \(String(describing: error))")
            return
        }
        #expect(file == "beta.bin")
        #expect(attempts.count == 1)
        #expect(attempts.first?.reason.hasPrefix("verification failed: SHA-256 \(served.manifest[1].sha256), expected ba7816bf") == true)
        #expect(try target.listing() == [])
    }

    @Test func refusesAFileLargerThanTheManifestSays() async throws {
        let served = try ServedFiles()
        defer { served.source.remove() }
        let server = try LocalHTTPServer(serving: served.source.path)
        defer { server.stop() }
        let target = try TemporaryDirectory()
        defer { target.remove() }
        var entry = served.manifest[0]
        entry.byteCount = 1_000

        let error = await #expect(throws: DataError.self) { try await fetcher([entry], [server.baseURL]).fetch(into: target.path) }
        #expect(error?.description.contains("200003 bytes, expected 1000") == true)
        #expect(try target.listing() == [])
    }

    @Test func fallsOverToTheNextMirrorWhenAFileIsMissing() async throws {
        let served = try ServedFiles()
        defer { served.source.remove() }
        let empty = try TemporaryDirectory()
        defer { empty.remove() }
        let server = try LocalHTTPServer(serving: empty.path)
        defer { server.stop() }
        let target = try TemporaryDirectory()
        defer { target.remove() }
        let log = EventLog()
        let fileMirror = URL(fileURLWithPath: served.source.path, isDirectory: true)

        let report = try await fetcher(served.manifest, [server.baseURL, fileMirror], log: log).fetch(into: target.path)

        #expect(report.downloaded == ["alpha.bin", "beta.bin"])
        #expect(report.outcomes.first?.outcome == .downloaded(url: fileMirror.appendingPathComponent("alpha.bin").absoluteString, replaced: false))
        #expect(log.events.contains(.attemptFailed(
            file: "alpha.bin", url: server.baseURL.absoluteString + "alpha.bin", reason: "HTTP 404 Not Found")))
        #expect(try target.read("alpha.bin") == served.contents["alpha.bin"])
        #expect(try target.listing() == ["alpha.bin", "beta.bin"])
    }

    @Test func rerunWithVerifiedFilesDownloadsNothing() async throws {
        let served = try ServedFiles()
        defer { served.source.remove() }
        let server = try LocalHTTPServer(serving: served.source.path)
        let target = try TemporaryDirectory()
        defer { target.remove() }
        try await fetcher(served.manifest, [server.baseURL]).fetch(into: target.path)
        server.stop()  // A second download would now fail.
        let log = EventLog()

        let report = try await fetcher(served.manifest, [server.baseURL], log: log).fetch(into: target.path)

        #expect(report.downloadedNothing)
        #expect(log.events == [.alreadyVerified(file: "alpha.bin"), .alreadyVerified(file: "beta.bin")])
    }

    @Test func downloadsAgainAFilePresentButFailingVerification() async throws {
        let served = try ServedFiles()
        defer { served.source.remove() }
        let target = try TemporaryDirectory()
        defer { target.remove() }
        try target.write(Array(served.contents["beta.bin"]!.dropLast()), to: "beta.bin")
        try target.write([0], to: ".beta.bin.0123-interrupted.partial")  // left by a killed earlier run
        let log = EventLog()
        let mirror = URL(fileURLWithPath: served.source.path, isDirectory: true)

        let report = try await fetcher([served.manifest[1]], [mirror], log: log).fetch(into: target.path)

        #expect(report.outcomes.first?.outcome == .downloaded(url: mirror.appendingPathComponent("beta.bin").absoluteString, replaced: true))
        #expect(log.events.first == .failedVerification(file: "beta.bin", reason: "size 1233 bytes, expected 1234"))
        #expect(try target.read("beta.bin") == served.contents["beta.bin"])
        #expect(try target.listing() == ["beta.bin"])
    }

    @Test func listsEveryMirrorTriedWhenAllFail() async throws {
        let served = try ServedFiles()
        defer { served.source.remove() }
        let empty = try TemporaryDirectory()
        defer { empty.remove() }
        let server = try LocalHTTPServer(serving: empty.path)
        defer { server.stop() }
        let closedPort = try freeLoopbackPort()
        let target = try TemporaryDirectory()
        defer { target.remove() }
        let mirrors = [
            server.baseURL,
            URL(fileURLWithPath: empty.path + "/nowhere", isDirectory: true),
            URL(string: "http://127.0.0.1:\(closedPort)/mnist/")!,
        ]

        let error = await #expect(throws: DataError.self) { try await fetcher(served.manifest, mirrors).fetch(into: target.path) }
        let message = error?.description ?? ""
        #expect(message.hasPrefix("could not fetch alpha.bin into \(target.path); tried:"))
        #expect(message.contains("\(server.baseURL.absoluteString)alpha.bin: HTTP 404"))
        #expect(message.contains("file://\(empty.path)/nowhere/alpha.bin: no such file"))
        #expect(message.contains("http://127.0.0.1:\(closedPort)/mnist/alpha.bin: cannot connect"))
        // By hand: every missing file from the first web mirror, and the --data alternative.
        #expect(message.contains("Download by hand into \(target.path)"))
        #expect(message.contains("\n  \(server.baseURL.absoluteString)beta.bin"))
        #expect(message.contains("--data / $DESCENT_DATA"))
        #expect(try target.listing() == [])
    }

    @Test func ensurePresentAcceptsExistingFilesUnverifiedAndFetchesOnlyMissingOnes() async throws {
        let served = try ServedFiles()
        defer { served.source.remove() }
        let target = try TemporaryDirectory()
        defer { target.remove() }
        // Present under the name without .gz, with content that is not the manifest's.
        try target.write([1, 2, 3], to: "alpha")
        let entries = [ManifestEntry(name: "alpha.gz", byteCount: 5, sha256: String(repeating: "0", count: 64)), served.manifest[1]]
        let mirror = URL(fileURLWithPath: served.source.path, isDirectory: true)

        let report = try await fetcher(entries, [mirror]).ensurePresent(in: target.path)

        #expect(report.outcomes.map(\.file) == ["alpha.gz", "beta.bin"])
        #expect(report.outcomes.first?.outcome == .alreadyPresent)
        #expect(report.downloaded == ["beta.bin"])
        #expect(try target.read("alpha") == [1, 2, 3])
    }

    /// `descent launch` starts a coordinator and workers that each make sure the data is there:
    /// a fetch that starts while another downloads into the same directory waits for it and then
    /// finds the files (before, it removed the other's partial file as stale, and the other failed
    /// at its rename).
    @Test func twoFetchesIntoOneDirectoryTakeTurnsAndBothSucceed() async throws {
        let served = try ServedFiles()
        defer { served.source.remove() }
        // alpha.bin: 13 pieces 0.2 s apart, 2.6 s: the second fetch starts long before the first ends, even on a loaded machine.
        let server = try LocalHTTPServer(serving: served.source.path, pause: 0.2)
        defer { server.stop() }
        let target = try TemporaryDirectory()
        defer { target.remove() }
        let firstLog = EventLog(), secondLog = EventLog()
        let directory = target.path + "/mnist"
        let manifest = served.manifest, mirror = server.baseURL
        let first = Task { try await fetcher(manifest, [mirror], log: firstLog).ensurePresent(in: directory) }
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, !firstLog.events.contains(where: { if case .progress = $0 { true } else { false } }) {
            try await Task.sleep(nanoseconds: 5_000_000)
        }
        #expect(try TemporaryDirectory.list(directory).contains { $0.hasSuffix(".partial") }, "the first fetch is downloading")

        let second = try await fetcher(manifest, [mirror], log: secondLog).ensurePresent(in: directory)
        let firstReport = try await first.value

        #expect(firstReport.downloaded == ["alpha.bin", "beta.bin"])
        #expect(second.downloadedNothing)
        #expect(secondLog.events.first == .waitingForAnotherFetch(directory: directory))
        #expect(try TemporaryDirectory.list(directory) == ["alpha.bin", "beta.bin"])
        #expect(try target.read("mnist/alpha.bin") == served.contents["alpha.bin"])
        #expect(try target.read("mnist/beta.bin") == served.contents["beta.bin"])
    }

    /// `$DESCENT_MNIST_MIRROR` replaces the public mirrors: comma-separated URLs or paths, in order.
    @Test func theMirrorVariableReplacesThePublicMirrors() throws {
        #expect(try DatasetManifest.mnist(environment: [:]).mirrors == DatasetManifest.mnistMirrors)
        #expect(try DatasetManifest.mnist(environment: ["DESCENT_MNIST_MIRROR": " "]).mirrors == DatasetManifest.mnistMirrors)
        let two = try DatasetManifest.mnist(environment: ["DESCENT_MNIST_MIRROR": "https://mirror.example/mnist/, /srv/mnist"])
        #expect(two.mirrors.map(\.absoluteString) == ["https://mirror.example/mnist/", "file:///srv/mnist/"])
        #expect(two.entries == DatasetManifest.mnist.entries)
        #expect(throws: DataError.badMirror(variable: "DESCENT_MNIST_MIRROR", value: "mirror.example")) {
            try DatasetManifest.mnist(environment: ["DESCENT_MNIST_MIRROR": "https://a.example/,mirror.example"])
        }
    }

    /// File errors in the system's words: Foundation on Linux raised "The operation could not be
    /// completed. You don't have permission." with no POSIX cause for an unwritable data
    /// directory (seen as user nobody; these tests run as root, for whom permissions do not bite).
    @Test func fileErrorsWithoutAPOSIXCauseAreSaidInTheSystemsWords() {
        #expect(describe(CocoaError(.fileWriteNoPermission)) == String(cString: strerror(EACCES)))
        #expect(describe(CocoaError(.fileNoSuchFile)) == String(cString: strerror(ENOENT)))
        #expect(describe(CocoaError(.fileWriteOutOfSpace)) == String(cString: strerror(ENOSPC)))
        #expect(describe(CocoaError(.fileWriteVolumeReadOnly)) == String(cString: strerror(EROFS)))
    }

    @Test func loadFetchingIfMissingDownloadsThenLoadsMNIST() async throws {
        let source = try TemporaryDirectory()
        defer { source.remove() }
        let files: [(String, [UInt8])] = [
            ("train-images-idx3-ubyte.gz", idxImages(count: 4)), ("train-labels-idx1-ubyte.gz", idxLabels([0, 1, 2, 3])),
            ("t10k-images-idx3-ubyte.gz", idxImages(count: 1)), ("t10k-labels-idx1-ubyte.gz", idxLabels([9])),
        ]
        var entries: [ManifestEntry] = []
        for (name, bytes) in files {
            let compressed = try gzipWithTool(bytes)
            try source.write(compressed, to: name)
            entries.append(ManifestEntry(name: name, byteCount: compressed.count, sha256: try sha256sumOfFile(source.file(name))))
        }
        let server = try LocalHTTPServer(serving: source.path)
        defer { server.stop() }
        let target = try TemporaryDirectory()
        defer { target.remove() }

        let mnist = try await MNIST.loadFetchingIfMissing(directory: target.path, fetcher: fetcher(entries, [server.baseURL]))

        #expect(mnist.train.labels == [0, 1, 2, 3])
        #expect(mnist.test.labels == [9])
        #expect(try target.listing() == files.map(\.0).sorted())
    }
}
