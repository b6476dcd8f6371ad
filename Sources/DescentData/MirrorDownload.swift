import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// What one download wrote: its size and SHA-256, computed while the bytes streamed past.
struct DownloadedFile: Sendable, Equatable {
    var byteCount: Int
    var sha256: String
}

/// Why one download failed, in words that go straight into the user's error message.
struct DownloadFailure: Error, Sendable, CustomStringConvertible {
    var description: String
}

/// Copies one URL (http, https or file) into an open file, hashing as it goes, and refusing
/// to write more than `limit` bytes.
enum MirrorDownload {
    static func fetch(
        _ url: URL, into output: FileHandle, limit: Int, timeouts: FetchTimeouts,
        progress: @escaping @Sendable (Int) -> Void
    ) async throws -> DownloadedFile {
        if url.isFileURL {
            return try copyLocal(url.path, into: output, limit: limit, progress: progress)
        }
        return try await HTTPDownload(output: output, limit: limit, progress: progress).run(url, timeouts: timeouts)
    }

    private static func copyLocal(
        _ path: String, into output: FileHandle, limit: Int, progress: @Sendable (Int) -> Void
    ) throws -> DownloadedFile {
        guard FileManager.default.fileExists(atPath: path) else { throw DownloadFailure(description: "no such file") }
        guard let input = FileHandle(forReadingAtPath: path) else { throw DownloadFailure(description: "cannot open the file") }
        defer { try? input.close() }
        var hasher = SHA256Hasher()
        var byteCount = 0
        while true {
            let chunk: Data?
            do { chunk = try input.read(upToCount: 1 << 20) } catch { throw DownloadFailure(description: "read failed: \(describe(error))") }
            guard let chunk, !chunk.isEmpty else { break }
            byteCount += chunk.count
            if byteCount > limit { throw DownloadFailure(description: "larger than the expected \(limit) bytes") }
            do { try output.write(contentsOf: chunk) } catch { throw DownloadFailure(description: "write failed: \(describe(error))") }
            hasher.update(chunk)
            progress(byteCount)
        }
        return DownloadedFile(byteCount: byteCount, sha256: hasher.finalizeHex())
    }
}

/// How long a download may wait for data, and how long it may take in all.
public struct FetchTimeouts: Sendable, Equatable {
    /// Seconds without any data before a download is abandoned.
    public var idle: TimeInterval
    /// Seconds a whole download may take.
    public var total: TimeInterval

    public init(idle: TimeInterval = 30, total: TimeInterval = 900) {
        self.idle = idle
        self.total = total
    }
}

/// One HTTP(S) download through URLSession, streamed into a file from the delegate callbacks.
///
/// `@unchecked Sendable`: every mutable field is guarded by `lock`; URLSession calls the delegate
/// from its own queue while `run` waits on the continuation.
private final class HTTPDownload: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private let output: FileHandle
    private let limit: Int
    private let progress: @Sendable (Int) -> Void
    private let lock = NSLock()
    private var hasher = SHA256Hasher()
    private var byteCount = 0
    private var failure: String?
    private var continuation: CheckedContinuation<DownloadedFile, any Error>?

    init(output: FileHandle, limit: Int, progress: @escaping @Sendable (Int) -> Void) {
        self.output = output
        self.limit = limit
        self.progress = progress
    }

    func run(_ url: URL, timeouts: FetchTimeouts) async throws -> DownloadedFile {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeouts.idle
        configuration.timeoutIntervalForResource = timeouts.total
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        let session = URLSession(configuration: configuration, delegate: self, delegateQueue: queue)
        defer { session.finishTasksAndInvalidate() }
        let task = session.dataTask(with: URLRequest(url: url))
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                lock.withLock { self.continuation = continuation }
                task.resume()
            }
        } onCancel: {
            task.cancel()
        }
    }

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
    ) {
        if let http = response as? HTTPURLResponse, http.statusCode != 200 {
            let words = HTTPURLResponse.localizedString(forStatusCode: http.statusCode)
            fail("HTTP \(http.statusCode) \(words)")
            completionHandler(.cancel)
            return
        }
        if response.expectedContentLength > Int64(limit) {
            fail("the server announces \(response.expectedContentLength) bytes, expected \(limit)")
            completionHandler(.cancel)
            return
        }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        let (count, accepted): (Int, Bool) = lock.withLock {
            guard failure == nil else { return (byteCount, false) }
            byteCount += data.count
            if byteCount > limit {
                failure = "the server sent more than the expected \(limit) bytes"
                return (byteCount, false)
            }
            do {
                try output.write(contentsOf: data)
            } catch {
                failure = "write failed: \(describe(error))"
                return (byteCount, false)
            }
            hasher.update(data)
            return (byteCount, true)
        }
        if accepted { progress(count) } else { dataTask.cancel() }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        let (continuation, result): (CheckedContinuation<DownloadedFile, any Error>?, Result<DownloadedFile, any Error>) =
            lock.withLock {
                defer { self.continuation = nil }
                if let failure { return (self.continuation, .failure(DownloadFailure(description: failure))) }
                if let error { return (self.continuation, .failure(DownloadFailure(description: HTTPDownload.explain(error)))) }
                return (self.continuation, .success(DownloadedFile(byteCount: byteCount, sha256: hasher.finalizeHex())))
            }
        continuation?.resume(with: result)
    }

    private func fail(_ reason: String) {
        lock.withLock { if failure == nil { failure = reason } }
    }

    private static func explain(_ error: any Error) -> String {
        guard let urlError = error as? URLError else { return describe(error) }
        switch urlError.code {
        case .timedOut: return "timed out"
        case .cannotFindHost, .dnsLookupFailed: return "cannot resolve the host name (offline?)"
        case .cannotConnectToHost: return "cannot connect to the host (connection refused)"
        case .notConnectedToInternet: return "not connected to the internet"
        case .networkConnectionLost: return "the connection was lost"
        case .cancelled: return "cancelled"
        case .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate,
            .serverCertificateNotYetValid, .serverCertificateHasUnknownRoot:
            return "TLS failed: \(urlError.localizedDescription)"
        default: return "\(urlError.localizedDescription) (URLError \(urlError.code.rawValue))"
        }
    }
}
