import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A tiny HTTP/1.0 server on a background thread that answers `GET /metrics` with what `body`
/// returns (Prometheus's text format) and 404 for anything else. A plain POSIX socket: enough
/// for a scraper every few seconds, and no event-loop library in the binary.
public final class MetricsServer: @unchecked Sendable {
    /// Where it listens (the real port when port 0 was asked for).
    public let address: MetricsAddress
    private let listener: Int32
    private let body: @Sendable () -> [UInt8]
    private let stopLock = NSLock()
    private var stopping = false
    private var thread: Thread?
    private let done = DispatchSemaphore(value: 0)

    /// Binds and listens; throws `MetricsServerError` naming the address when it cannot.
    public init(address: MetricsAddress, body: @escaping @Sendable () -> [UInt8]) throws {
        self.body = body
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var found: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(address.host, "\(address.port)", &hints, &found)
        guard status == 0, let first = found else {
            throw MetricsServerError(address: address, reason: "the host is not known (\(String(cString: gai_strerror(status))))")
        }
        defer { freeaddrinfo(found) }
        let fd = socket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
        guard fd >= 0 else { throw MetricsServerError(address: address, reason: Self.errnoText()) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard bind(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else {
            let reason = errno == EADDRINUSE ? "the port is in use by another program; pick another port or stop that program"
                : errno == EACCES ? "permission denied (ports below 1024 need privileges); pick a port above 1024"
                : errno == EADDRNOTAVAIL ? "this machine has no such address; use 127.0.0.1 or 0.0.0.0" : Self.errnoText()
            close(fd)
            throw MetricsServerError(address: address, reason: reason)
        }
        guard listen(fd, 16) == 0 else {
            let reason = Self.errnoText()
            close(fd)
            throw MetricsServerError(address: address, reason: reason)
        }
        var bound = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        var port = address.port
        withUnsafeMutablePointer(to: &bound) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(fd, $0, &length) }
        }
        if Int32(bound.ss_family) == AF_INET {
            port = withUnsafePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) } }
        } else if Int32(bound.ss_family) == AF_INET6 {
            port = withUnsafePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) } }
        }
        listener = fd
        self.address = MetricsAddress(host: address.host, port: port)
        let thread = Thread { [unowned self] in self.serve() }
        thread.name = "descent-metrics"
        self.thread = thread
        thread.start()
    }

    /// Stops serving and closes the socket (waits for the thread, at most a poll interval).
    public func stop() {
        stopLock.lock()
        let first = !stopping
        stopping = true
        stopLock.unlock()
        guard first else { return }
        done.wait()
        close(listener)
    }

    deinit { stop() }

    private var isStopping: Bool {
        stopLock.lock()
        defer { stopLock.unlock() }
        return stopping
    }

    private func serve() {
        defer { done.signal() }
        while !isStopping {
            var item = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&item, 1, 100) > 0 else { continue }
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            answer(client)
            close(client)
        }
    }

    private func answer(_ client: Int32) {
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var request = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 2048)
        while request.count < 16_384 {
            let n = recv(client, &chunk, chunk.count, 0)
            if n <= 0 { break }
            request += chunk[0..<n]
            if request.count >= 4, request.suffix(4) == [13, 10, 13, 10] { break }
        }
        let firstLine = String(decoding: request.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self).split(separator: " ")
        let response: [UInt8]
        if firstLine.count >= 2, firstLine[0] == "GET" || firstLine[0] == "HEAD",
           firstLine[1] == "/metrics" || firstLine[1].hasPrefix("/metrics?") {
            let content = firstLine[0] == "HEAD" ? [] : body()
            response = Array(("HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                              + "Content-Length: \(content.count)\r\nConnection: close\r\n\r\n").utf8) + content
        } else {
            let text = Array("Descent serves its metrics at /metrics\n".utf8)
            response = Array("HTTP/1.0 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: \(text.count)\r\nConnection: close\r\n\r\n".utf8) + text
        }
        var offset = 0
        while offset < response.count {
            let n = response[offset...].withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            offset += n
        }
    }

    private static func errnoText() -> String { String(cString: strerror(errno)) }
}

/// The metrics endpoint cannot be served.
public struct MetricsServerError: Error, CustomStringConvertible {
    public var address: MetricsAddress
    public var reason: String
    public var description: String { "cannot serve metrics at \(address): \(reason)" }
}
