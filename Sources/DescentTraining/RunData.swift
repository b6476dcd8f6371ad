import DescentConfig
import DescentCore
import DescentData
import Foundation

/// Finds, fetches when missing, and loads the MNIST sets a run needs.
public enum RunData {
    /// The data directory for a run: `--data`, else `$DESCENT_DATA`, else the config's `data.dir`,
    /// else `./data/mnist`.
    public static func location(commandLine: String?, config: RunConfig) -> DataLocation {
        DataLocation.resolve(commandLine: commandLine, environment: ProcessInfo.processInfo.environment, config: config.data.dir)
    }

    /// Loads both sets from `location`, downloading missing files first (as Keras's `load_data`).
    public static func load(_ location: DataLocation) async throws -> MNIST {
        try await fetchMissing(location)
        return try MNIST.load(directory: location.directory)
    }

    /// Loads only the training set (what a worker needs), fetching missing files first.
    public static func loadTraining(_ location: DataLocation) async throws -> LabeledImages {
        try await fetchMissing(location)
        return try MNIST.load(.train, directory: location.directory)
    }

    private static func fetchMissing(_ location: DataLocation) async throws {
        Console.error("Using \(location)")
        let printer = FetchProgressPrinter.standardError()
        try await fetcher { printer.handle($0) }.ensurePresent(in: location.directory)
    }

    /// Downloads the files missing from `location` before the processes that need them start
    /// (`launch`: one download and, offline, one error, instead of one per process); says nothing
    /// when every file is there.
    public static func fetchBeforeStarting(_ location: DataLocation) async throws {
        guard try !fetcher(events: { _ in }).allPresent(in: location.directory) else { return }
        try await fetchMissing(location)
    }

    /// The MNIST fetcher, from the mirrors of `$DESCENT_MNIST_MIRROR` when it is set.
    private static func fetcher(events: @escaping @Sendable (FetchEvent) -> Void) throws -> DatasetFetcher {
        DatasetFetcher(manifest: try DatasetManifest.mnist(environment: ProcessInfo.processInfo.environment), events: events)
    }

    /// A digest of the training labels a run uses (after the limit), to check that a worker
    /// trains on the same data as its coordinator.
    public static func labelsDigest(_ images: LabeledImages) -> UInt64 {
        var hasher = FNV1a()
        hasher.combine(images.labels)
        withUnsafeBytes(of: UInt64(images.count).littleEndian) { hasher.combine($0) }
        return hasher.value
    }
}
