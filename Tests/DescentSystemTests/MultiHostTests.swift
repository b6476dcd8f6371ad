import DescentTransport
import Foundation
import DescentNetworkLab
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

/// Hosts joined by links shaped with tc (DescentNetworkLab): closer to a real network than bare
/// veth pairs. Where the kernel has no netem (this development machine's has none), links get
/// their bandwidth from tbf and their loss from an nftables rule, and no delay; the test says so.
extension SystemTests {
    static let labReason = NetworkLab.Capabilities.probed.unavailableReason
        ?? (NetworkLab.Capabilities.probed.tbf ? nil : "this kernel has no tbf queueing discipline")

    /// Trains on 400 synthetic images (2 workers x 16, 13 steps an epoch) across `lab`'s hosts.
    func trainAcross(_ lab: NetworkLab, epochs: Int, in dir: String) throws -> (coordinator: Child, steps: [[String: Any]], workers: [Child]) {
        try SyntheticMNIST.write(to: dir, train: 400, test: 50)
        let config = try writeConfig("data:\n  dir: \(dir)\ntraining:\n  epochs: \(epochs)\n  batch_per_worker: 16\n", in: dir)
        let endpoint = "tcp://\(lab.address(of: "c")):5555"
        let coordinator = try Child("coordinator", executable: "/usr/bin/env", lab.inHost("c", [
            Paths.descent, "coordinator", "--config", config, "--workers", "2", "--bind", endpoint, "--insecure",
            "--trace", "\(dir)/trace.jsonl", "--registration-timeout", "60",
        ]), directory: dir)
        defer { coordinator.stop() }
        let workers = try ["w1", "w2"].enumerated().map { index, host in
            try Child("worker-\(host)", executable: "/usr/bin/env", lab.inHost(host, [
                Paths.descent, "worker", "--connect", endpoint, "--insecure", "--config", config, "--rank", "\(index)",
            ]), directory: dir)
        }
        defer { workers.forEach { $0.stop() } }
        #expect(coordinator.wait(seconds: 180) == 0, "\(coordinator.stdout)\n\(coordinator.stderr)")
        for worker in workers { _ = worker.waitFor("Worker stopping", seconds: 40) }
        return (coordinator, try jsonLines("\(dir)/trace.jsonl"), workers)
    }

    @Test(.enabled(if: labReason == nil, "shaped links: \(labReason ?? "")"))
    func trainsAcrossOneGigabitLinksAtNoMoreThanTheLinkAllows() throws {
        let dir = try Paths.temporaryDirectory("gigabit")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let netem = NetworkLab.Capabilities.probed.netem
        if !netem { print("shaped links: no netem in this kernel; the 1 Gbit/s links get no 0.5 ms delay") }
        let shape = NetworkLab.LinkShape(bitsPerSecond: 1e9, delayMilliseconds: netem ? 0.5 : nil)
        var lab = NetworkLab(subnet: "10.231.8", tag: "g")
        defer { lab.destroy() }
        try lab.create(hosts: ["c", "w1", "w2"]) { _ in shape }
        let qdiscs = try NetworkLab.run(lab.inHost("c", ["tc", "qdisc", "show", "dev", "vc\(lab.suffix)"]))
        #expect(qdiscs.contains(netem ? "netem" : "tbf") && qdiscs.contains("1Gbit"), "\(qdiscs)")

        let (coordinator, steps, workers) = try trainAcross(lab, epochs: 4, in: dir)
        for worker in workers { #expect(worker.wait(seconds: 10) == 0, "\(worker.stderr)") }
        #expect(steps.map { $0["step"] as? Int } == Array(0..<52))
        #expect(coordinator.stdout.contains("Test loss:"))
        // Every step sends the 101,770 float32 parameters (407,080 bytes) to each of the 2 workers
        // through the coordinator's 1 Gbit/s link, and the last worker to get them sends a
        // gradient of that size back through it afterwards: at least 3 x 407,080 x 8 / 1e9 =
        // 9.77 ms a step, a bound the link sets whatever the speed of the machine (unshaped veth
        // links take a few ms with a release build).
        let first = try #require(steps[10]["time_ms"] as? Double), last = try #require(steps[51]["time_ms"] as? Double)
        let stepMs = (last - first) / 41
        #expect(stepMs >= 9.77 * 0.95, "a step took \(stepMs) ms on average; the links cannot carry it that fast")
        print("shaped links: 1 Gbit/s, \(String(format: "%.2f", stepMs)) ms a step (link bound 9.77 ms)")
        // The traffic went through the shaper, and the shaper held it back: the coordinator's
        // qdisc sent at least the parameters of every step to both workers, and was over its
        // limit at times (tc's own counters).
        let stats = try NetworkLab.run(lab.inHost("c", ["tc", "-s", "qdisc", "show", "dev", "vc\(lab.suffix)"]))
        func counter(_ name: String) -> Int? {
            guard let range = stats.range(of: name + " ") else { return nil }
            return Int(stats[range.upperBound...].prefix { $0.isNumber })
        }
        let sent = try #require(counter("Sent"), "\(stats)")
        #expect(sent >= 52 * 2 * 407_080, "\(stats)")
        if !netem { #expect((counter("overlimits") ?? 0) > 0, "\(stats)") }
    }

    @Test(.enabled(if: labReason == nil && (NetworkLab.Capabilities.probed.netem || NetworkLab.Capabilities.probed.nftables),
                   "lossy link: \(labReason ?? "needs netem or nftables")"))
    func trainsAcrossALossyLinkWithEveryStepOnce() throws {
        let dir = try Paths.temporaryDirectory("lossy")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var lab = NetworkLab(subnet: "10.231.10", tag: "l")
        defer { lab.destroy() }
        // Worker w2's link drops 3% of the packets each way; the others are 1 Gbit/s links.
        try lab.create(hosts: ["c", "w1", "w2"]) { host in
            host == "w2" ? NetworkLab.LinkShape(bitsPerSecond: 1e9, lossPercent: 3) : NetworkLab.LinkShape(bitsPerSecond: 1e9)
        }
        let (coordinator, steps, workers) = try trainAcross(lab, epochs: 2, in: dir)
        #expect(workers[0].wait(seconds: 10) == 0, "\(workers[0].stderr)")
        // The worker behind the lossy link gets its stop too: the coordinator waits for each
        // worker it told to stop to hang up before it exits (a stop TCP was still resending when
        // it exited used to be lost, and that worker gave up 30 s later, with status 9).
        #expect(workers[1].wait(seconds: 40) == 0, "\(workers[1].stderr)")
        #expect(!coordinator.stderr.contains("had not hung up"), "\(coordinator.stderr)")
        // TCP resends what the link lost: every step once, in order, and the run ends normally.
        #expect(steps.map { $0["step"] as? Int } == Array(0..<26))
        #expect(coordinator.stdout.contains("Test loss:"), "\(coordinator.stdout)")
        #expect(steps.allSatisfy { ($0["ranks"] as? [Int]) == [0, 1] })
        if !NetworkLab.Capabilities.probed.netem {
            // The loss was real: the rules dropped packets (3% of the run's packets; veth carries
            // TCP as large segments, some 700 a run, so about 20 of them).
            let dropped = lab.droppedPackets(of: "w2")
            #expect(dropped >= 5, "the lossy link dropped \(dropped) packets")
            #expect(lab.droppedPackets(of: "w1") == 0)
            print("lossy link: \(dropped) packets dropped on w2's link")
        }
    }
}
