import DescentTransport
import Foundation
import Testing

/// Three "hosts" on one machine: Linux network namespaces, each with its own interface and
/// address, joined by veth pairs to a bridge that lives in a fourth namespace. Traffic between
/// them is real TCP over real (virtual) links; nothing touches the machine's own network.
struct NetworkNamespaces {
    let suffix: String
    let subnet = "10.231.7"
    private(set) var created: [String] = []

    /// True where namespaces can be made (root, iproute2 present). Probed once.
    static let available: Bool = {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") || FileManager.default.isExecutableFile(atPath: "/sbin/ip") || FileManager.default.isExecutableFile(atPath: "/usr/bin/ip") else { return false }
        let name = "dprobe\(getpid() % 100_000)"
        guard (try? NetworkNamespaces.ip(["netns", "add", name])) != nil else { return false }
        _ = try? NetworkNamespaces.ip(["netns", "del", name])
        return true
    }()

    init() {
        suffix = String(getpid() % 100_000)
    }

    func namespace(_ host: String) -> String { "d\(host)\(suffix)" }

    /// Creates the bridge and one namespace per host, host `i` at `subnet.(i+1)`.
    mutating func create(hosts: [String]) throws {
        // A run killed before its cleanup may have left namespaces of the same names.
        for host in ["br"] + hosts { _ = try? Self.ip(["netns", "del", namespace(host)]) }
        let bridge = namespace("br")
        try Self.ip(["netns", "add", bridge]); created.append(bridge)
        try Self.ip(["-n", bridge, "link", "add", "br0", "type", "bridge"])
        try Self.ip(["-n", bridge, "link", "set", "br0", "up"])
        for (index, host) in hosts.enumerated() {
            let ns = namespace(host)
            try Self.ip(["netns", "add", ns]); created.append(ns)
            let inside = "v\(host)\(suffix)", outside = "b\(host)\(suffix)"
            try Self.ip(["link", "add", inside, "type", "veth", "peer", "name", outside])
            try Self.ip(["link", "set", inside, "netns", ns])
            try Self.ip(["link", "set", outside, "netns", bridge])
            try Self.ip(["-n", bridge, "link", "set", outside, "master", "br0"])
            try Self.ip(["-n", bridge, "link", "set", outside, "up"])
            try Self.ip(["-n", ns, "addr", "add", "\(subnet).\(index + 1)/24", "dev", inside])
            try Self.ip(["-n", ns, "link", "set", inside, "up"])
            try Self.ip(["-n", ns, "link", "set", "lo", "up"])
        }
    }

    func address(ofHostAt index: Int) -> String { "\(subnet).\(index + 1)" }

    /// Deletes every namespace made (their interfaces go with them).
    func destroy() {
        for ns in created.reversed() { _ = try? Self.ip(["netns", "del", ns]) }
    }

    @discardableResult
    static func ip(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["ip"] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        process.waitUntilExit()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw NamespaceError(command: "ip " + arguments.joined(separator: " "), output: output)
        }
        return output
    }

    struct NamespaceError: Error, CustomStringConvertible {
        var command: String
        var output: String
        var description: String { "\(command) failed: \(output)" }
    }
}

extension SystemTests {
    @Test(.enabled(if: NetworkNamespaces.available,
                   "needs root and iproute2 to create network namespaces; skipped here"))
    func coordinatorAndWorkersOnThreeHostsTrainOverRealTCP() throws {
        let dir = try Paths.temporaryDirectory("hosts")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticMNIST.write(to: dir, train: 400, test: 50)
        let config = try writeConfig("""
            data:
              dir: \(dir)
            training:
              epochs: 2
              batch_per_worker: 16
            """, in: dir)
        var hosts = NetworkNamespaces()
        defer { hosts.destroy() }
        try hosts.create(hosts: ["c", "w1", "w2"])
        let coordinatorAddress = hosts.address(ofHostAt: 0)

        // The worker hosts reach the coordinator's host, and not through loopback.
        let ping = try NetworkNamespaces.ip(["netns", "exec", hosts.namespace("w2"), "ip", "route", "get", coordinatorAddress])
        #expect(ping.contains("dev vw2"), "\(ping)")

        let endpoint = "tcp://\(coordinatorAddress):5555"
        let keys = "\(dir)/keys"
        try CurveKeyDirectory.generate(in: keys, workers: 2)
        let coordinator = try Child("coordinator", executable: "/usr/bin/env", [
            "ip", "netns", "exec", hosts.namespace("c"), Paths.descent, "coordinator", "--config", config, "--workers", "2",
            "--bind", "tcp://\(coordinatorAddress):5555", "--trace", "\(dir)/trace.jsonl", "--registration-timeout", "60",
            "--curve-dir", keys,
        ], directory: dir)
        defer { coordinator.stop() }
        let workers = try ["w1", "w2"].enumerated().map { index, host in
            try Child("worker-\(host)", executable: "/usr/bin/env", [
                "ip", "netns", "exec", hosts.namespace(host), Paths.descent, "worker", "--connect", endpoint,
                "--config", config, "--rank", "\(index)", "--curve-dir", keys, "--curve-key", "worker-\(index).key",
            ], directory: dir)
        }
        #expect(coordinator.wait(seconds: 120) == 0, "\(coordinator.stdout)\n\(coordinator.stderr)")
        for worker in workers { #expect(worker.wait(seconds: 30) == 0, "\(worker.stderr)") }

        let out = coordinator.stdout
        // Each worker's connection came from its own host's address.
        #expect(out.contains("Worker rank 0 joined from") && out.contains("address \(hosts.address(ofHostAt: 1))"), "\(out)")
        #expect(out.contains("Worker rank 1 joined from") && out.contains("address \(hosts.address(ofHostAt: 2))"), "\(out)")
        // Other hosts get their parameters over TCP, never through this host's shared memory.
        #expect(!out.contains("shared memory"), "\(out)")
        // 400 samples, global batch 32: 13 steps an epoch, 26 in all, each once.
        let steps = try jsonLines("\(dir)/trace.jsonl")
        #expect(steps.map { $0["step"] as! Int } == Array(0..<26))
        #expect(out.contains("Test loss:"))
    }
}
