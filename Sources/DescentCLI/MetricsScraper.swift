import DescentMetrics
import Foundation

/// Fetches http://127.0.0.1:PORT/metrics every second on a thread of its own, as a Prometheus
/// server would, so that `bench distributed --observer-rounds` pays for the scrapes too.
final class MetricsScraper: @unchecked Sendable {
    private let port: Int
    private let lock = NSLock()
    private var stopping = false
    private(set) var scrapes = 0
    private let done = DispatchSemaphore(value: 0)

    init(port: Int) {
        self.port = port
        Thread { [self] in
            while !isStopping {
                if fetch() { lock.lock(); scrapes += 1; lock.unlock() }
                usleep(1_000_000)
            }
            done.signal()
        }.start()
    }

    func stop() {
        lock.lock()
        stopping = true
        lock.unlock()
        done.wait()
    }

    private var isStopping: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopping
    }

    private func fetch() -> Bool { LoopbackHTTP.get(port: port, path: "/metrics", timeoutSeconds: 2)?.status == 200 }
}
