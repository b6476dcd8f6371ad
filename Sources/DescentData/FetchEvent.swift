/// What a `DatasetFetcher` is doing, reported as it happens (for progress output).
public enum FetchEvent: Sendable, Equatable {
    /// The file is present and matches the manifest: nothing to do.
    case alreadyVerified(file: String)
    /// The file is present in some form (gzip or raw) and is accepted without verification.
    case alreadyPresent(file: String)
    /// The file is present but does not match the manifest; it will be downloaded again.
    case failedVerification(file: String, reason: String)
    /// A download from `url` begins.
    case downloading(file: String, url: String, total: Int)
    /// `bytes` of `total` have arrived.
    case progress(file: String, bytes: Int, total: Int)
    /// A mirror did not give a verified copy; the next one will be tried.
    case attemptFailed(file: String, url: String, reason: String)
    /// The file was downloaded, verified and moved into place.
    case downloaded(file: String, url: String, bytes: Int)
    /// Another process is downloading into `directory`; this one waits for it to finish.
    case waitingForAnotherFetch(directory: String)
}

/// What a fetch did for each file.
public struct FetchReport: Sendable, Equatable {
    /// What happened to one file.
    public enum Outcome: Sendable, Equatable {
        /// Present and verified (or, when ensuring presence, present at all); not touched.
        case alreadyPresent
        /// Downloaded from `url` (replacing a copy that failed verification when `replaced`).
        case downloaded(url: String, replaced: Bool)
    }

    /// Per file name, in manifest order.
    public var outcomes: [(file: String, outcome: Outcome)]

    public init(outcomes: [(file: String, outcome: Outcome)] = []) {
        self.outcomes = outcomes
    }

    /// The names of the files that were downloaded.
    public var downloaded: [String] {
        outcomes.compactMap { if case .downloaded = $0.outcome { return $0.file } else { return nil } }
    }

    /// True when every file was already there and nothing was downloaded.
    public var downloadedNothing: Bool { downloaded.isEmpty }

    public static func == (lhs: FetchReport, rhs: FetchReport) -> Bool {
        lhs.outcomes.map(\.file) == rhs.outcomes.map(\.file) && lhs.outcomes.map(\.outcome) == rhs.outcomes.map(\.outcome)
    }
}
