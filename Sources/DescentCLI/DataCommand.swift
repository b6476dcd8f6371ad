import ArgumentParser
import DescentData
import Foundation

/// `descent data`: the MNIST files.
struct DataCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Manage the MNIST data files.",
        subcommands: [Fetch.self])

    /// `descent data fetch`: download and verify the four MNIST files.
    struct Fetch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download the four MNIST files, verifying size and SHA-256.",
            discussion: """
                Files already present and verified are left alone; a file that fails verification is \
                downloaded again. Each file is written to a temporary file, verified, then renamed into place.
                """)

        @Option(help: "Directory to download into (default: $DESCENT_DATA, else \(DataLocation.defaultDirectory)).")
        var dir: String?

        @Option(name: .customLong("mirror"), help: "A base URL (http, https or file) to fetch from; repeat to try several in order (default: $DESCENT_MNIST_MIRROR, comma-separated, else the public MNIST mirrors).")
        var mirrors: [String] = []

        @Option(help: "Seconds without data before a download is abandoned.")
        var idleTimeout: Double = 30

        func validate() throws {
            for mirror in mirrors where DatasetManifest.mirror(parsing: mirror) == nil {
                throw ValidationError("--mirror '\(mirror)' is not an http, https or file URL (e.g. https://storage.googleapis.com/cvdf-datasets/mnist/)")
            }
            guard idleTimeout > 0 else { throw ValidationError("--idle-timeout must be a positive number of seconds (got \(idleTimeout))") }
        }

        func run() async throws {
            let location = DataLocation.resolve(commandLine: dir, flag: "--dir", environment: ProcessInfo.processInfo.environment, config: nil)
            let printer = FetchProgressPrinter.standardError()
            printer.write("descent data fetch: \(location)")
            var manifest = try DatasetManifest.mnist(environment: ProcessInfo.processInfo.environment)
            if !mirrors.isEmpty { manifest = manifest.with(mirrors: mirrors.compactMap(DatasetManifest.mirror(parsing:))) }
            let fetcher = DatasetFetcher(
                manifest: manifest, timeouts: FetchTimeouts(idle: idleTimeout), events: { printer.handle($0) })
            let report = try await fetcher.fetch(into: location.directory)
            if report.downloadedNothing {
                print("All \(report.outcomes.count) MNIST files in \(location.directory) are present and verified; nothing downloaded.")
            } else {
                let kept = report.outcomes.count - report.downloaded.count
                print("Downloaded \(report.downloaded.count) file(s) into \(location.directory)\(kept > 0 ? " (\(kept) already verified)" : ""); MNIST is ready.")
            }
        }
    }
}
