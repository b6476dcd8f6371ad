import DescentTransport
import Foundation
import Testing

extension SystemTests {
    /// Issue 8's acceptance test for CURVE, over real TCP between network namespaces: a worker
    /// with an allowed key trains; a plaintext peer, a peer with an unknown key and a worker given
    /// the wrong server key each connect from their own host and are refused at the handshake,
    /// logged with their address and counted, and none of their bytes reach the protocol.
    @Test(.enabled(if: NetworkNamespaces.available && CurveSupport.isAvailable,
                   "needs root, iproute2 and a libzmq with CURVE; skipped here"))
    func strangersAreRefusedAtTheHandshakeOverRealTCP() throws {
        let dir = try Paths.temporaryDirectory("curve-hosts")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticMNIST.write(to: dir, train: 200, test: 50)
        let config = try writeConfig("data:\n  dir: \(dir)\ntraining:\n  epochs: 1\n  batch_per_worker: 16\n", in: dir)
        var hosts = NetworkNamespaces()
        defer { hosts.destroy() }
        let names = ["c", "w", "plain", "unknown", "misled"]
        try hosts.create(hosts: names)
        let address = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, hosts.address(ofHostAt: $0)) })
        let endpoint = "tcp://\(address["c"]!):5555"

        // The run's keys; a second, foreign set gives the stranger its key and the misled worker
        // a coordinator.pub that is not this coordinator's.
        let keys = "\(dir)/keys", foreign = "\(dir)/foreign", misled = "\(dir)/misled"
        try CurveKeyDirectory.generate(in: keys, workers: 1)
        try CurveKeyDirectory.generate(in: foreign, workers: 1)
        try FileManager.default.createDirectory(atPath: misled, withIntermediateDirectories: false)
        try FileManager.default.copyItem(atPath: "\(foreign)/coordinator.pub", toPath: "\(misled)/coordinator.pub")
        try FileManager.default.copyItem(atPath: "\(keys)/worker-0.key", toPath: "\(misled)/worker-0.key")
        chmod("\(misled)/worker-0.key", 0o600)
        let stranger = "\(dir)/stranger"
        try FileManager.default.createDirectory(atPath: stranger, withIntermediateDirectories: false)
        try FileManager.default.copyItem(atPath: "\(keys)/coordinator.pub", toPath: "\(stranger)/coordinator.pub")
        try FileManager.default.copyItem(atPath: "\(foreign)/worker-0.key", toPath: "\(stranger)/worker-0.key")
        chmod("\(stranger)/worker-0.key", 0o600)

        func on(_ host: String, _ arguments: [String]) -> [String] {
            ["ip", "netns", "exec", hosts.namespace(host), Paths.descent] + arguments
        }
        let coordinator = try Child("coordinator", executable: "/usr/bin/env", on("c", [
            "coordinator", "--config", config, "--workers", "1", "--bind", "tcp://\(address["c"]!):5555",
            "--registration-timeout", "60", "--curve-dir", keys, "--trace", "\(dir)/trace.jsonl",
        ]), directory: dir)
        defer { coordinator.stop() }
        #expect(coordinator.waitFor("Coordinator listening"), "\(coordinator.stderr)")

        let peer = ["worker", "--connect", endpoint, "--config", config, "--join-timeout", "6"]
        let rogues = [
            ("plain", try Child("plain", executable: "/usr/bin/env", on("plain", peer + ["--insecure"]), directory: dir)),
            ("unknown", try Child("unknown", executable: "/usr/bin/env", on("unknown", peer + ["--curve-dir", stranger]), directory: dir)),
            ("misled", try Child("misled", executable: "/usr/bin/env", on("misled", peer + ["--curve-dir", misled]), directory: dir)),
        ]
        for (_, rogue) in rogues { #expect(rogue.wait(seconds: 60) != 0, "\(rogue.label) was not refused: \(rogue.stdout)") }

        let worker = try Child("worker", executable: "/usr/bin/env", on("w", peer.dropLast(2) + ["--curve-dir", keys]), directory: dir)
        #expect(coordinator.wait(seconds: 120) == 0, "\(coordinator.stdout)\n\(coordinator.stderr)")
        #expect(worker.wait(seconds: 30) == 0, "\(worker.stderr)")

        // The allowed worker trained: 200 samples, batch 16, 13 steps.
        #expect(try jsonLines("\(dir)/trace.jsonl").count == 13)
        let log = coordinator.stderr, out = coordinator.stdout
        // Each refusal names the peer's host address and why.
        // A plaintext peer hangs up at once; when it is gone before the coordinator reads its
        // connection's address, the refusal is logged as from "an unknown address" (still [hung-up]).
        let lines = log.split(separator: "\n")
        let plainLine = lines.first { $0.contains("connection from \(address["plain"]!)") }
            ?? lines.first { $0.contains("connection from an unknown address") && $0.contains("[hung-up]") }
        #expect(plainLine.map { $0.contains("[plaintext]") || $0.contains("[hung-up]") } == true, "\(log)")
        #expect(log.contains("refused a connection from \(address["unknown"]!) at the handshake [unknown-key]"), "\(log)")
        #expect(log.split(separator: "\n").contains { $0.contains("connection from \(address["misled"]!)") && $0.contains("[wrong-server-key]") }, "\(log)")
        // ... and is counted.
        let counts = try #require(out.split(separator: "\n").first { $0.hasPrefix("Refused at the handshake:") }, "\(out)")
        func count(_ kind: String) -> Int {
            counts.split(separator: " ").first { $0.hasPrefix(kind + "=") }.flatMap { Int($0.dropFirst(kind.count + 1)) } ?? 0
        }
        #expect(count("plaintext") + count("hung-up") >= 1, "\(counts)")
        #expect(count("unknown-key") >= 1 && count("wrong-server-key") >= 1, "\(counts)")
        // None of their bytes reached the protocol: one worker joined, no message was rejected.
        #expect(out.components(separatedBy: "joined from").count == 2, "\(out)")
        #expect(!out.contains("Rejected messages"), "\(out)")
        #expect(out.contains("address \(address["w"]!)"), "\(out)")
        // The refused peers say why, in their own words.
        #expect(rogues[0].1.stderr.contains("the coordinator requires CURVE"), "\(rogues[0].1.stderr)")
        #expect(rogues[1].1.stderr.contains("Error: the coordinator refused this worker: this worker's key is not allowed"), "\(rogues[1].1.stderr)")
        #expect(rogues[2].1.stderr.contains("[wrong-server-key]"), "\(rogues[2].1.stderr)")
    }
}
