import DescentTransport
import Foundation
import Testing

extension SystemTests {
    /// libzmq 4.3.4 aborts a ROUTER (`Assertion failed: !_io_error`, stream_engine_base.cpp:331)
    /// when a connection whose queue is full (the coordinator busy: the high-water mark reached)
    /// hangs up and then the socket's own ZMTP heartbeat timer fires. Any peer that reaches the
    /// port could do it: send more than 8 messages while the coordinator evaluates an epoch, then
    /// disconnect. A link that drops mid-run did it by accident (the network-outage test, now
    /// and then). The coordinator sends no ZMTP heartbeats of its own, so the timer never runs,
    /// and sets no high-water mark, so the queue is never full (see `PingBurstPeer`).
    /// Here a fault plan makes the coordinator sleep 4 s before steps 6 and 7; during the sleep a peer
    /// floods 200 messages and hangs up; the run must finish, the peer's messages refused.
    @Test func aPeerThatFloodsAndHangsUpWhileTheCoordinatorIsBusyCannotCrashIt() throws {
        let dir = try Paths.temporaryDirectory("hangup")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticMNIST.write(to: dir, train: 256, test: 32)
        let config = try writeConfig("data:\n  dir: \(dir)\ntraining:\n  epochs: 1\n  batch_size: 32\n", in: dir)
        let port = UInt16(20_000 + Int(getpid() + 7) % 20_000)
        let endpoint = "tcp://127.0.0.1:\(port)"
        let coordinator = try Child("coordinator", [
            "coordinator", "--config", config, "--workers", "1", "--bind", endpoint, "--insecure", "--no-shared-memory",
            "--fault", "delay:ms=4000,step=6",
        ], directory: dir)
        defer { coordinator.stop() }
        #expect(coordinator.waitFor("Coordinator listening"), "\(coordinator.stderr)")

        let context = try ZMQContext()
        let peer = try ZMQSocket(context, kind: .dealer)
        try peer.setLinger(milliseconds: 0)
        try peer.connect(endpoint)
        let worker = try Child("worker", ["worker", "--connect", endpoint, "--config", config, "--insecure", "--no-shared-memory"],
                               directory: dir)
        defer { worker.stop() }
        #expect(coordinator.waitFor("fault injected: delaying step 6", seconds: 60), "\(coordinator.stderr)")
        var sent = 0
        for _ in 0..<200 where try peer.send(header: [UInt8](repeating: 0x42, count: 64), mode: .dontWait) == .sent { sent += 1 }
        usleep(1_000_000)
        peer.close()  // the hangup, with the coordinator's queue for this connection full
        #expect(sent > 8, "only \(sent) messages left the peer")

        #expect(coordinator.wait(seconds: 120) == 0, "\(coordinator.stdout.suffix(2000))\n\(coordinator.stderr.suffix(3000))")
        #expect(!coordinator.stderr.contains("Assertion failed"), "\(coordinator.stderr.suffix(2000))")
        #expect(coordinator.stdout.contains("Rejected messages:"), "\(coordinator.stdout.suffix(2000))")
        #expect(worker.wait(seconds: 30) == 0, "\(worker.stderr.suffix(2000))")
    }
}

/// A peer that speaks ZMTP 3.1 by hand (the NULL mechanism): after the handshake it writes
/// `messages` one-frame messages with a PING command in their middle, in one write, and resets the
/// connection (SO_LINGER 0) at once. With a receive high-water mark, libzmq 4.3.4 stops reading a
/// connection as soon as that many messages wait; the reset then marks the connection failed
/// (`_io_error`), and when the process reads on, answering the buffered PING asserts `!_io_error`
/// (stream_engine_base.cpp:331) and aborts it. Descent's sockets set no receive high-water mark,
/// so libzmq never stops reading and the reset is an ordinary disconnection.
enum PingBurstPeer {
    enum Outcome { case noConnection, cutOff, sent }

    /// One burst from a DEALER at 127.0.0.1:`port`: sent, cut off (the coordinator closed the
    /// connection before the burst could be written), or no connection at all.
    static func burst(port: UInt16, messages: Int = 60) -> Outcome {
        let fd = openTCP(port: port)
        guard fd >= 0 else { return .noConnection }
        defer { reset(fd) }
        guard write(all: greeting + ready(socketType: "DEALER"), to: fd) else { return .cutOff }
        usleep(200_000)  // the handshake completes before the burst
        return write(all: burst(messages: messages), to: fd) ? .sent : .cutOff
    }

    /// Plays a ROUTER coordinator for the first connection to a listening socket: the handshake,
    /// then the burst and the reset. False when nobody connected within `seconds`.
    static func serveOneBurst(listening fd: Int32, seconds: Int32, messages: Int = 200) -> Bool {
        guard let peer = acceptAsCoordinator(fd, seconds: seconds) else { return false }
        defer { reset(peer) }
        return write(all: burst(messages: messages), to: peer)
    }

    /// Plays a ROUTER coordinator for the first connection to a listening socket that, after the
    /// handshake, writes junk messages until `seconds` have passed or the connection breaks;
    /// returns how many it wrote, or nil when nobody connected.
    static func serveJunkFlood(listening fd: Int32, seconds: Double) -> Int? {
        guard let peer = acceptAsCoordinator(fd, seconds: 30) else { return nil }
        defer { close(peer) }
        let chunk = (0..<1000).flatMap { _ in junk }
        let end = Date().addingTimeInterval(seconds)
        var sent = 0
        while Date() < end, write(all: chunk, to: peer) { sent += 1000 }
        return sent
    }

    /// The first connection to the listening socket `fd` within `seconds`, after a NULL handshake
    /// as a ROUTER; nil when nobody connected or the handshake could not be written.
    private static func acceptAsCoordinator(_ fd: Int32, seconds: Int32) -> Int32? {
        var ready = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&ready, 1, seconds * 1000) == 1 else { return nil }
        let peer = accept(fd, nil, nil)
        guard peer >= 0 else { return nil }
        guard write(all: greeting + self.ready(socketType: "ROUTER"), to: peer) else {
            close(peer)
            return nil
        }
        usleep(200_000)  // the handshake completes before what follows
        return peer
    }

    /// A one-frame message of 64 bytes that are no wire header.
    static let junk: [UInt8] = [0x00, 64] + [UInt8](repeating: 0x42, count: 64)

    /// A ZMTP 3.1 greeting for the NULL mechanism.
    static var greeting: [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 64)
        bytes[0] = 0xFF; bytes[9] = 0x7F; bytes[10] = 3; bytes[11] = 1
        for (i, byte) in "NULL".utf8.enumerated() { bytes[12 + i] = byte }
        return bytes
    }

    /// The NULL mechanism's READY command with one property, the socket type.
    static func ready(socketType: String) -> [UInt8] {
        let property = [UInt8]("Socket-Type".utf8), value = [UInt8](socketType.utf8)
        let body = [5] + Array("READY".utf8) + [UInt8(property.count)] + property + [0, 0, 0, UInt8(value.count)] + value
        return [0x04, UInt8(body.count)] + body
    }

    /// `messages` 64-byte one-frame messages with a PING command (TTL 0) in their middle.
    static func burst(messages: Int) -> [UInt8] {
        let ping: [UInt8] = [0x04, 7, 4] + Array("PING".utf8) + [0, 0]
        let half = (0..<messages / 2).flatMap { _ in junk }
        return half + ping + half
    }

    /// Closes with a reset (RST), not an orderly FIN.
    private static func reset(_ fd: Int32) {
        var option = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &option, socklen_t(MemoryLayout<linger>.size))
        close(fd)
    }

    private static func write(all bytes: [UInt8], to fd: Int32) -> Bool {
        bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) == $0.count }
    }
}

/// A TCP socket listening on 127.0.0.1 at a port the kernel picks: (descriptor, port), or nil.
func listenTCP() -> (fd: Int32, port: UInt16)? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return nil }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && listen(fd, 4) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard bound else { close(fd); return nil }
    return (fd, UInt16(bigEndian: address.sin_port))
}

extension SystemTests {
    /// Against the default, a CURVE coordinator: the plaintext peer never gets past the
    /// handshake, so none of its bytes are decoded, and the run finishes.
    @Test(.enabled(if: CurveSupport.isAvailable, "needs a libzmq with CURVE; skipped here"))
    func aPingBurstFromAPlaintextPeerCannotReachACurveCoordinator() throws {
        let (coordinator, worker, bursts) = try runUnderPingBursts(name: "ping-curve", curve: true)
        #expect(bursts.count > 0 && bursts.allSatisfy { $0 == .cutOff }, "\(bursts)")
        #expect(coordinator.status == 0, "\(coordinator.out.suffix(2000))\n\(coordinator.err.suffix(3000))")
        #expect(!coordinator.err.contains("Assertion failed"), "\(coordinator.err.suffix(2000))")
        #expect(coordinator.out.contains("Refused at the handshake:"), "\(coordinator.out.suffix(2000))")
        #expect(worker == 0)
    }

    /// Against an `--insecure` coordinator, whose port lets the bursts through to the decoder, most
    /// of them while it sleeps (a fault plan) and reads nothing: with a receive high-water
    /// mark of 8 it aborted at the first burst (`Assertion failed: !_io_error`, verified); now
    /// the bursts are refused messages from a stranger and the run finishes.
    @Test func aPingBurstCannotAbortAnInsecureCoordinator() throws {
        let (coordinator, worker, bursts) = try runUnderPingBursts(name: "ping-insecure", curve: false)
        #expect(bursts.filter { $0 == .sent }.count >= 10, "\(bursts)")
        #expect(coordinator.status == 0, "exit \(coordinator.status): \(coordinator.err.suffix(2000))")
        #expect(!coordinator.err.contains("Assertion failed"), "\(coordinator.err.suffix(2000))")
        #expect(coordinator.out.contains("Rejected messages:"), "\(coordinator.out.suffix(2000))")
        #expect(worker == 0)
    }

    /// A worker joining a hand-made coordinator that answers with a burst of 200 messages and a
    /// PING, and resets the connection: with its old receive high-water mark (16) the worker
    /// aborted the same way; now it refuses the junk, keeps trying to join and gives up in words.
    @Test func aPingBurstCannotAbortAWorker() throws {
        let run = try joinHandMadeCoordinator("ping-worker") { PingBurstPeer.serveOneBurst(listening: $0, seconds: 30) }
        #expect(run.served, "the worker never connected")
        #expect(!run.stderr.contains("Assertion failed"), "\(run.stderr.suffix(2000))")
        #expect(run.status == 1 && run.stderr.contains("not admitted"), "exit \(run.status): \(run.stderr.suffix(2000))")
    }

    /// A hand-made coordinator that floods a joining worker with junk for 20 s: the worker still
    /// gives up at its join timeout (4 s), while the flood goes on, and logs the junk rate-limited.
    /// Before, it stayed in its receive loop for the whole flood (the timeout came after 20 s) and
    /// wrote a line per message: 869 MB of standard error in those 20 s.
    @Test func aJunkFloodCannotKeepAWorkerFromItsClockNorFillItsLog() throws {
        let run = try joinHandMadeCoordinator("junk-worker") { PingBurstPeer.serveJunkFlood(listening: $0, seconds: 20) }
        #expect((run.served ?? 0) > 10_000, "the flood sent \(String(describing: run.served)) messages")
        #expect(run.status == 1 && run.stderr.contains("not admitted"), "exit \(run.status): \(run.stderr.suffix(2000))")
        #expect(run.seconds < 15, "the worker gave up after \(run.seconds) s")
        let lines = run.stderr.split(separator: "\n")
        #expect(lines.count < 200, "\(lines.count) lines of standard error")
        #expect(lines.contains { $0.contains("ignored a malformed message") && $0.contains("so far") }, "\(lines.suffix(5))")
    }

    /// A plaintext worker joining a hand-made coordinator, which `serve` plays on a listening
    /// socket; the worker gives up after 4 s without admission. What `serve` returned, the
    /// worker's exit status and standard error, and the seconds from its start to its exit.
    private func joinHandMadeCoordinator<Served>(_ name: String, serve: (Int32) -> Served) throws
        -> (served: Served, status: Int32, stderr: String, seconds: Double) {
        let dir = try Paths.temporaryDirectory(name)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticMNIST.write(to: dir, train: 64, test: 16)
        let config = try writeConfig("data:\n  dir: \(dir)\n", in: dir)
        let (listener, port) = try #require(listenTCP())
        defer { close(listener) }
        let started = Date()
        let worker = try Child("worker", ["worker", "--connect", "tcp://127.0.0.1:\(port)", "--config", config, "--insecure",
                                          "--no-shared-memory", "--join-timeout", "4"], directory: dir)
        defer { worker.stop() }
        let served = serve(listener)
        let status = worker.wait(seconds: 60)
        return (served, status, worker.stderr, Date().timeIntervalSince(started))
    }

    /// A coordinator and one worker on TCP, training one epoch of 8 steps while raw peers try 20
    /// PING bursts (fewer if a connection is refused: the coordinator has gone); the coordinator
    /// sleeps 1 s before each step from step 2 on, so most bursts arrive while it reads nothing.
    private func runUnderPingBursts(name: String, curve: Bool) throws
        -> (coordinator: (status: Int32, out: String, err: String), worker: Int32?, bursts: [PingBurstPeer.Outcome]) {
        let dir = try Paths.temporaryDirectory(name)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticMNIST.write(to: dir, train: 256, test: 32)
        let config = try writeConfig("data:\n  dir: \(dir)\ntraining:\n  epochs: 1\n  batch_size: 32\n", in: dir)
        let port = UInt16(20_000 + Int(getpid() + (curve ? 11 : 13)) % 20_000)
        let endpoint = "tcp://127.0.0.1:\(port)"
        var security = ["--insecure"]
        if curve {
            try CurveKeyDirectory.generate(in: "\(dir)/keys", workers: 1)
            security = ["--curve-dir", "\(dir)/keys"]
        }
        let coordinator = try Child("coordinator", ["coordinator", "--config", config, "--workers", "1", "--bind", endpoint,
                                                    "--no-shared-memory", "--fault", "delay:ms=1000,step=2"] + security, directory: dir)
        defer { coordinator.stop() }
        #expect(coordinator.waitFor("Coordinator listening"), "\(coordinator.stderr)")
        let worker = try Child("worker", ["worker", "--connect", endpoint, "--config", config, "--no-shared-memory"]
                                   + (curve ? security + ["--curve-key", "worker-0.key"] : security), directory: dir)
        defer { worker.stop() }
        #expect(coordinator.waitFor("training starts", seconds: 60), "\(coordinator.stderr)")
        var bursts: [PingBurstPeer.Outcome] = []
        while bursts.count < 20, bursts.last != .noConnection { bursts.append(PingBurstPeer.burst(port: port)) }
        let status = coordinator.wait(seconds: 120)
        // After an abort the worker waits for the coordinator to come back: only a finished run's worker is awaited.
        return ((status, coordinator.stdout, coordinator.stderr), status == 0 ? worker.wait(seconds: 30) : nil, bursts)
    }
}
