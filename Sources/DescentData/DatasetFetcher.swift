import Foundation

/// Downloads the files of a manifest into a directory, verifying size and SHA-256, atomically.
///
/// Each file is streamed into a temporary file in the target directory, verified, then renamed
/// into place; on any failure the temporary file is removed, so the directory never holds a
/// half-written dataset file. Mirrors are tried in order; when all fail, the thrown
/// `DataError.fetchFailed` lists every URL tried and why it failed.
public struct DatasetFetcher: Sendable {
    public var manifest: DatasetManifest
    public var timeouts: FetchTimeouts
    /// Receives progress and outcome events; called from any thread.
    public var events: @Sendable (FetchEvent) -> Void

    public init(
        manifest: DatasetManifest = .mnist, timeouts: FetchTimeouts = FetchTimeouts(),
        events: @escaping @Sendable (FetchEvent) -> Void = { _ in }
    ) {
        self.manifest = manifest
        self.timeouts = timeouts
        self.events = events
    }

    /// Makes `directory` hold a verified copy of every manifest file: files that verify are
    /// left alone, missing or failing ones are downloaded.
    @discardableResult
    public func fetch(into directory: String) async throws -> FetchReport {
        try await run(into: directory, verifyExisting: true)
    }

    /// Makes sure `directory` holds every manifest file in some form (gzip, or raw under the name
    /// without `.gz`), downloading only the missing ones. Present files are not verified, so a
    /// directory of one's own (a subset, or un-gzipped files) is used as it is.
    @discardableResult
    public func ensurePresent(in directory: String) async throws -> FetchReport {
        try await run(into: directory, verifyExisting: false)
    }

    /// Whether every manifest file is in `directory` in some accepted form (gzip or raw), unverified.
    public func allPresent(in directory: String) -> Bool {
        manifest.entries.allSatisfy { isPresent($0, in: directory) }
    }

    /// Whether `entry` is in `directory` in some accepted form (gzip or raw), unverified.
    private func isPresent(_ entry: ManifestEntry, in directory: String) -> Bool {
        MNIST.acceptedNames(of: entry.name).contains { FileManager.default.fileExists(atPath: join(directory, $0)) }
    }

    private func run(into directory: String, verifyExisting: Bool) async throws -> FetchReport {
        try Self.checkReadable(directory)
        var report = FetchReport()
        // Taken at the first file to download (a directory with every file needs no write access),
        // and held to the end: another process fetching here meanwhile waits, then finds the files.
        var lock: FetchLock?
        defer { withExtendedLifetime(lock) {} }
        for (index, entry) in manifest.entries.enumerated() {
            var presence = try self.presence(of: entry, in: directory, verify: verifyExisting)
            if presence != .verified && lock == nil {
                try makeDirectory(directory)
                let acquired = try await FetchLock.acquire(directory) { events(.waitingForAnotherFetch(directory: directory)) }
                if acquired.waited { presence = try self.presence(of: entry, in: directory, verify: verifyExisting) }
                lock = acquired
            }
            if presence == .verified {
                report.outcomes.append((entry.name, .alreadyPresent))
                continue
            }
            let url = try await fetchFromMirrors(entry, into: directory, stillToFetch: manifest.entries[(index + 1)...])
            report.outcomes.append((entry.name, .downloaded(url: url.absoluteString, replaced: presence == .failed)))
        }
        return report
    }

    /// Whether `entry` is in `directory`: checked against the manifest when `verify`, else in any
    /// accepted form (gzip or raw), unverified (`.verified` then means present). Reported as an event.
    private func presence(of entry: ManifestEntry, in directory: String, verify: Bool) throws -> Presence {
        if verify { return try verifyPresent(entry, in: directory) }
        guard isPresent(entry, in: directory) else { return .absent }
        events(.alreadyPresent(file: entry.name))
        return .verified
    }

    private enum Presence { case absent, verified, failed }

    /// Throws `DataError.unreadable` when `directory` exists (or may exist) but this user cannot
    /// look into it: its files would look missing, and a download would be attempted beside them.
    static func checkReadable(_ directory: String) throws {
        var info = stat()
        if stat(directory, &info) != 0 {
            guard errno == ENOENT else {
                throw DataError.unreadable(path: directory, reason: "\(String(cString: strerror(errno))) (the data directory cannot be reached; nothing was downloaded)")
            }
            return
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else {
            throw DataError.unreadable(path: directory, reason: "not a directory; --data names the directory of the four MNIST files")
        }
        guard access(directory, R_OK | X_OK) == 0 else {
            throw DataError.unreadable(path: directory, reason: "\(String(cString: strerror(errno))) (the data directory exists but this user cannot read it; nothing was downloaded)")
        }
    }

    /// Whether `entry` is in `directory` and matches the manifest (reporting the finding as an event).
    private func verifyPresent(_ entry: ManifestEntry, in directory: String) throws -> Presence {
        let path = join(directory, entry.name)
        guard FileManager.default.fileExists(atPath: path) else { return .absent }
        let (digest, size) = try SHA256Hasher.hexOfFile(atPath: path)
        if let reason = entry.mismatch(byteCount: size, sha256: digest) {
            events(.failedVerification(file: entry.name, reason: reason))
            return .failed
        }
        events(.alreadyVerified(file: entry.name))
        return .verified
    }

    /// Tries each mirror in turn for `entry`; returns the URL that gave a verified copy, or throws
    /// `DataError.fetchFailed` listing every attempt and the by-hand URLs of the files still missing.
    private func fetchFromMirrors(
        _ entry: ManifestEntry, into directory: String, stillToFetch later: ArraySlice<ManifestEntry>
    ) async throws -> URL {
        try makeDirectory(directory)
        removeStalePartials(of: entry.name, in: directory)
        var attempts: [FetchAttempt] = []
        for mirror in manifest.mirrors {
            let url = DatasetManifest.url(of: entry.name, on: mirror)
            do {
                try await download(entry, from: url, to: join(directory, entry.name), in: directory)
                return url
            } catch let failure as DownloadFailure {
                events(.attemptFailed(file: entry.name, url: url.absoluteString, reason: failure.description))
                attempts.append(FetchAttempt(url: url.absoluteString, reason: failure.description))
            }
        }
        let missing = [entry] + later.filter { !FileManager.default.fileExists(atPath: join(directory, $0.name)) }
        let webMirror = manifest.mirrors.first { ["http", "https"].contains($0.scheme?.lowercased() ?? "") }
        let byHand = (webMirror ?? manifest.mirrors.first).map { base in
            missing.map { DatasetManifest.url(of: $0.name, on: base).absoluteString }
        } ?? []
        throw DataError.fetchFailed(file: entry.name, directory: directory, attempts: attempts, byHand: byHand)
    }

    /// Downloads `url` into a temporary file beside `destination`, verifies it, and renames it into place.
    /// Throws `DownloadFailure` for anything a different mirror might fix, `DataError` otherwise.
    private func download(_ entry: ManifestEntry, from url: URL, to destination: String, in directory: String) async throws {
        let temporary = join(directory, ".\(entry.name).\(UUID().uuidString).partial")
        guard FileManager.default.createFile(atPath: temporary, contents: nil),
            let output = FileHandle(forWritingAtPath: temporary)
        else {
            throw DataError.unwritable(path: temporary, reason: "cannot create a temporary file")
        }
        var moved = false
        defer {
            try? output.close()
            if !moved { try? FileManager.default.removeItem(atPath: temporary) }
        }
        events(.downloading(file: entry.name, url: url.absoluteString, total: entry.byteCount))
        let name = entry.name
        let total = entry.byteCount
        let events = self.events
        let result = try await MirrorDownload.fetch(url, into: output, limit: entry.byteCount, timeouts: timeouts) { bytes in
            events(.progress(file: name, bytes: bytes, total: total))
        }
        if let reason = entry.mismatch(byteCount: result.byteCount, sha256: result.sha256) {
            throw DownloadFailure(description: "verification failed: \(reason)")
        }
        do {
            try output.synchronize()
            try output.close()
        } catch {
            throw DataError.unwritable(path: temporary, reason: describe(error))
        }
        guard rename(temporary, destination) == 0 else {
            throw DataError.unwritable(path: destination, reason: String(cString: strerror(errno)))
        }
        moved = true
        events(.downloaded(file: entry.name, url: url.absoluteString, bytes: result.byteCount))
    }

    /// Removes temporary files an interrupted earlier fetch of `name` left behind (a killed process
    /// runs no cleanup). Called under the `FetchLock`: no other process is writing one now.
    private func removeStalePartials(of name: String, in directory: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for stale in names where stale.hasPrefix(".\(name).") && stale.hasSuffix(".partial") {
            try? FileManager.default.removeItem(atPath: join(directory, stale))
        }
    }

    private func makeDirectory(_ directory: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw DataError.unwritable(path: directory, reason: describe(error))
        }
    }
}
