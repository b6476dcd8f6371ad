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

    private func fetch() -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return false }
        let request = Array("GET /metrics HTTP/1.0\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var chunk = [UInt8](repeating: 0, count: 16_384)
        var total = 0
        while true {
            let n = recv(fd, &chunk, chunk.count, 0)
            if n <= 0 { break }
            total += n
        }
        return total > 0
    }

    /// A loopback port free now.
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 ? getsockname(fd, $0, &length) : -1 }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
