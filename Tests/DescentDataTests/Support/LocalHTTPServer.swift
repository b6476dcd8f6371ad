import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `python3 -m http.server` on 127.0.0.1, serving one directory, for fetch tests.
final class LocalHTTPServer {
    let port: Int
    private let process: Process

    var baseURL: URL { URL(string: "http://127.0.0.1:\(port)/")! }

    /// `http.server` again, sending each file in 16 KiB pieces with `pause` seconds between them
    /// (a download that lasts long enough for another to start meanwhile).
    private static let slowServer = """
        import functools, http.server, sys, time
        class Slow(http.server.SimpleHTTPRequestHandler):
            def copyfile(self, source, outputfile):
                while True:
                    piece = source.read(16384)
                    if not piece:
                        break
                    outputfile.write(piece)
                    outputfile.flush()
                    time.sleep(float(sys.argv[3]))
            def log_message(self, *args):
                pass
        handler = functools.partial(Slow, directory=sys.argv[2])
        http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), handler).serve_forever()
        """

    /// Starts the server on a free port and waits (up to 20 s) until it accepts connections;
    /// `pause` > 0: each file goes out in 16 KiB pieces that many seconds apart.
    init(serving directory: String, pause: Double = 0) throws {
        var lastError: any Error = ToolFailure(description: "http.server did not start")
        for _ in 0..<3 {
            let port = try freeLoopbackPort()
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = pause > 0
                ? ["python3", "-c", Self.slowServer, "\(port)", directory, "\(pause)"]
                : ["python3", "-m", "http.server", "--bind", "127.0.0.1", "\(port)", "--directory", directory]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            if waitUntilAccepting(port: port, while: { process.isRunning }) {
                self.port = port
                self.process = process
                return
            }
            // Port taken between choosing and binding, or python failed: try again.
            LocalHTTPServer.kill(process)
            lastError = ToolFailure(description: "python3 -m http.server on port \(port) did not answer")
        }
        throw lastError
    }

    func stop() {
        LocalHTTPServer.kill(process)
    }

    /// SIGKILL, because the test runner's blocked signal mask (SIGTERM included) is inherited by its children.
    private static func kill(_ process: Process) {
        if process.isRunning { _ = Glibc.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { stop() }
}

/// A TCP port on 127.0.0.1 that nothing listens on right now.
func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw ToolFailure(description: "socket() failed") }
    defer { close(fd) }
    var address = loopback(port: 0)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw ToolFailure(description: "bind() failed") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else { throw ToolFailure(description: "getsockname() failed") }
    return Int(UInt16(bigEndian: address.sin_port))
}

private func loopback(port: UInt16) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    return address
}

/// Polls until something accepts connections on `port` (true), the condition fails, or 20 s pass.
private func waitUntilAccepting(port: Int, while alive: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(20)
    while Date() < deadline && alive() {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = loopback(port: UInt16(port))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        close(fd)
        if connected == 0 { return true }
        usleep(50_000)
    }
    return false
}
