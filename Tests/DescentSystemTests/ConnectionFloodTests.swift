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
    /// half send nothing) during a CURVE run leave its result bit-identical to a clean run, and
    /// the coordinator's peak memory within 2x a clean run's.
    @Test func aConnectionFloodChangesNothingAndCostsLittleMemory() throws {
        let dir = try Paths.temporaryDirectory("flood")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticMNIST.write(to: dir, train: 512, test: 32)
        let config = try writeConfig("data:\n  dir: \(dir)\ntraining:\n  epochs: 3\n  batch_size: 32\n", in: dir)
        try CurveKeyDirectory.generate(in: "\(dir)/keys", workers: 1)

        func run(_ name: String, port: UInt16, flood: Bool) throws -> (peakMB: Double, out: String) {
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
            let worker = try Child("worker-\(name)", ["worker", "--connect", "tcp://127.0.0.1:\(port)", "--config", config,
                                                      "--curve-dir", "\(dir)/keys", "--no-shared-memory"], directory: dir)
            #expect(coordinator.wait(seconds: 180) == 0, "\(coordinator.stdout)\n\(coordinator.stderr.suffix(3000))")
            #expect(worker.wait(seconds: 30) == 0, "\(worker.stderr)")
            if flood { #expect(sockets.count >= 400, "only \(sockets.count) connections opened") }
            let out = coordinator.stdout
            let peak = out.split(separator: "\n").first { $0.hasPrefix("Peak memory:") }
                .flatMap { Double($0.split(separator: " ")[2]) } ?? 0
            return (peak, out)
        }
        let base = UInt16(20_000 + Int(getpid()) % 20_000)
        let clean = try run("clean", port: base, flood: false)
        let flooded = try run("flooded", port: base + 1, flood: true)
        #expect(try readParameters("\(dir)/flooded.bin") == readParameters("\(dir)/clean.bin"))
        #expect(clean.peakMB > 0 && flooded.peakMB < 2 * clean.peakMB, "peak \(flooded.peakMB) MB flooded, \(clean.peakMB) MB clean")
        #expect(flooded.out.contains("Refused at the handshake:"), "\(flooded.out)")
        #expect(!flooded.out.contains("Rejected messages"), "\(flooded.out)")
    }
}
