import DescentProtocol
import DescentTransport
import Foundation
import Testing

/// Opens a TCP connection to 127.0.0.1:`port` from this process; -1 when it fails.
func openTCP(port: UInt16) -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return -1 }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    if connected != 0 { close(fd); return -1 }
    return fd
}

extension SystemTests {
    /// 500 connections that never authenticate (half of them send a plaintext ZMTP greeting,
    /// half send nothing) during a CURVE run, and a peer holding an allowed key that is not the
    /// worker's (a leaked spare key) flooding hellos from 8 connections, sending hellos too large
    /// to decode and oversized multipart messages, leave the run's result bit-identical to a clean
    /// run and the coordinator's peak memory within 2x a clean run's. The hello flood is cut to
    /// the documented rate (`HelloGate`: one key is one peer, 2 hellos a second), each dropped
    /// hello is counted, and the log names the flooder by its key's name.
    @Test func aConnectionFloodChangesNothingAndCostsLittleMemory() throws {
        let dir = try Paths.temporaryDirectory("flood")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticMNIST.write(to: dir, train: 512, test: 32)
        let config = try writeConfig("data:\n  dir: \(dir)\ntraining:\n  epochs: 3\n  batch_size: 32\n", in: dir)
        try CurveKeyDirectory.generate(in: "\(dir)/keys", workers: 2)
        let spare = try CurveKeyFiles.readSecret("\(dir)/keys/worker-1.key")
        let serverKey = try CurveKeyFiles.readPublic("\(dir)/keys/coordinator.pub")

        func run(_ name: String, port: UInt16, flood: Bool) throws -> (peakMB: Double, out: String, log: String, hellos: Int) {
            let coordinator = try Child("coordinator-\(name)", [
                "coordinator", "--config", config, "--workers", "1", "--bind", "tcp://127.0.0.1:\(port)",
                "--curve-dir", "\(dir)/keys", "--save", "\(dir)/\(name).bin", "--no-shared-memory",
            ], directory: dir)
            defer { coordinator.stop() }
            #expect(coordinator.waitFor("Coordinator listening"), "\(coordinator.stderr)")
            var sockets: [Int32] = []
            if flood {
                var greeting = [UInt8](repeating: 0, count: 64)
                greeting[0] = 0xFF; greeting[9] = 0x7F; greeting[10] = 3
                for (i, byte) in "NULL".utf8.enumerated() { greeting[12 + i] = byte }
                for i in 0..<500 {
                    let fd = openTCP(port: port)
                    if fd >= 0, i % 2 == 0 { _ = greeting.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } }
                    if fd >= 0 { sockets.append(fd) }
                }
            }
            defer { sockets.forEach { close($0) } }
            let flooder = flood ? try HelloFlooder(endpoint: "tcp://127.0.0.1:\(port)", serverKey: serverKey, keys: spare) : nil
            defer { flooder?.close() }
            try flooder?.flood(hellosPerConnection: 250)
            let worker = try Child("worker-\(name)", ["worker", "--connect", "tcp://127.0.0.1:\(port)", "--config", config,
                                                      "--curve-dir", "\(dir)/keys", "--curve-key", "worker-0.key", "--no-shared-memory"], directory: dir)
            if flood, coordinator.waitFor("joined from") { try flooder?.flood(hellosPerConnection: 250) }
            #expect(coordinator.wait(seconds: 180) == 0, "\(coordinator.stdout)\n\(coordinator.stderr.suffix(3000))")
            #expect(worker.wait(seconds: 30) == 0, "\(worker.stderr)")
            if flood { #expect(sockets.count >= 400, "only \(sockets.count) connections opened") }
            let out = coordinator.stdout
            let peak = out.split(separator: "\n").first { $0.hasPrefix("Peak memory:") }
                .flatMap { Double($0.split(separator: " ")[2]) } ?? 0
            return (peak, out, coordinator.stderr, flooder?.sent ?? 0)
        }
        let base = UInt16(20_000 + Int(getpid()) % 20_000)
        let clean = try run("clean", port: base, flood: false)
        let flooded = try run("flooded", port: base + 1, flood: true)
        #expect(try readParameters("\(dir)/flooded.bin") == readParameters("\(dir)/clean.bin"))
        #expect(clean.peakMB > 0 && flooded.peakMB < 2 * clean.peakMB, "peak \(flooded.peakMB) MB flooded, \(clean.peakMB) MB clean")
        #expect(flooded.out.contains("Refused at the handshake:"), "\(flooded.out)")
        #expect(!clean.out.contains("Rejected messages"), "\(clean.out)")
        // Only the flooder's messages were refused, each kind counted: its hellos over the rate,
        // the few that passed (refused by the machine: not this run's config), the too-large
        // hellos and the oversized multipart messages (both malformed).
        let line = try #require(flooded.out.split(separator: "\n").first { $0.hasPrefix("Rejected messages:") }, "\(flooded.out)")
        let counts = Dictionary(uniqueKeysWithValues: line.dropFirst("Rejected messages: ".count).split(separator: " ").map {
            let pair = $0.split(separator: "=")
            return (String(pair[0]), Int(pair[1]) ?? 0)
        })
        #expect(Set(counts.keys).isSubset(of: ["hello_rate_limited", "config_mismatch", "malformed"]), "\(line)")
        let limited = counts["hello_rate_limited", default: 0], passed = counts["config_mismatch", default: 0]
        #expect(limited > 0 && passed > 0 && counts["malformed", default: 0] > 0, "\(line)")
        // One key, one peer: its burst of 4 and then 2 a second over the run (180 s at most).
        #expect(passed <= 4 + 2 * 180 && passed + limited <= flooded.hellos, "\(line), \(flooded.hellos) sent")
        #expect(flooded.log.contains("refused a hello from worker-1"), "\(flooded.log.suffix(3000))")
        print("connection and hello flood: peak \(flooded.peakMB) MB flooded, \(clean.peakMB) MB clean; \(flooded.hellos) hellos sent; \(line)")
    }
}

/// A peer with an allowed key that floods the coordinator: hellos of another config from 8
/// connections of the same key, hellos too large to decode, multipart messages of 10 frames of 400 KB.
final class HelloFlooder {
    let context: ZMQContext
    let sockets: [ZMQSocket]
    private(set) var sent = 0

    init(endpoint: String, serverKey: String, keys: CurveKeyPair) throws {
        let context = try ZMQContext()
        self.context = context
        sockets = try (0..<8).map { index in
            let socket = try ZMQSocket(context, kind: .dealer)
            try socket.setRoutingID([0xF0, UInt8(index)] + (0..<14).map { _ in UInt8.random(in: 0...255) })
            try socket.setLinger(milliseconds: 0)
            _ = try SocketSecurity.secureClient(socket, .curve(serverPublicKey: serverKey, keys: keys), endpoint: endpoint, role: "flooder")
            try socket.connect(endpoint)
            return socket
        }
    }

    func flood(hellosPerConnection: Int) throws {
        let introduction = WorkerIntroduction(host: "flooder", pid: 1, requestedRank: nil)
        let (header, text) = try WireMessage.hello(WireMessage.Hello(runID: 0, generation: 0, requestedRank: 0, configHash: 1, processID: 1,
                                                                     introduction: introduction)).encoded()
        let helloText = try ZMQMessage(copying: text ?? [])
        let big = [UInt8](repeating: UInt8(ascii: " "), count: 100_000)
        let bigHeader = WireHeader.hello(runID: 0, generation: 0, rank: 0, configHash: 1, processID: 1, jsonByteCount: UInt32(big.count))
        let bigText = try ZMQMessage(copying: big)
        let frame = try ZMQMessage(copying: [UInt8](repeating: 7, count: 400_000))
        for round in 0..<hellosPerConnection {
            for socket in sockets where try socket.send(header: header.encoded(), payload: helloText, mode: .dontWait) == .sent {
                sent += 1
            }
            if round % 50 == 0 {
                _ = try sockets[0].send(header: bigHeader.encoded(), payload: bigText, mode: .dontWait)
                _ = try sockets[1].sendMultipart(Array(repeating: frame, count: 10), mode: .dontWait)
            }
        }
    }

    func close() {
        sockets.forEach { $0.close() }
        context.terminate()
    }
}
