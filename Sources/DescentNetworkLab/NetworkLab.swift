import Foundation

/// Several "hosts" on one Linux machine for tests and benchmarks: a network namespace per host,
/// each joined by a veth pair to a bridge in a namespace of its own, with each host's link shaped
/// by `tc` (bandwidth with tbf, delay and loss with netem where the kernel has it, loss with an
/// nftables rule where it does not). Traffic stays inside these namespaces; nothing touches the
/// machine's own network. Needs root and iproute2 (nftables for loss without netem).
public struct NetworkLab {
    /// How one host's link behaves, in both directions.
    public struct LinkShape: Sendable, Equatable, CustomStringConvertible {
        /// Bandwidth in bits per second (nil: unshaped).
        public var bitsPerSecond: Double?
        /// One-way delay in milliseconds (needs netem).
        public var delayMilliseconds: Double?
        /// Packets dropped, in percent.
        public var lossPercent: Double?

        public init(bitsPerSecond: Double? = nil, delayMilliseconds: Double? = nil, lossPercent: Double? = nil) {
            self.bitsPerSecond = bitsPerSecond
            self.delayMilliseconds = delayMilliseconds
            self.lossPercent = lossPercent
        }

        public var description: String {
            var parts: [String] = []
            if let bitsPerSecond { parts.append(Rate.format(bitsPerSecond)) }
            if let delayMilliseconds { parts.append("\(delayMilliseconds) ms delay") }
            if let lossPercent { parts.append("\(lossPercent)% loss") }
            return parts.isEmpty ? "unshaped" : parts.joined(separator: ", ")
        }
    }

    /// What the kernel here can do: root, iproute2, and which queueing disciplines exist.
    public struct Capabilities: Sendable {
        public var namespaces: Bool
        public var tbf: Bool
        public var netem: Bool
        public var nftables: Bool

        /// Why hosts cannot be made here, or nil.
        public var unavailableReason: String? {
            if getuid() != 0 { return "needs root to create network namespaces" }
            if !namespaces { return "cannot create network namespaces (iproute2 missing, or not allowed here)" }
            return nil
        }

        /// Why `shape` cannot be applied here, or nil.
        public func cannotApply(_ shape: LinkShape) -> String? {
            if shape.bitsPerSecond != nil && !tbf { return "this kernel has no tbf queueing discipline (CONFIG_NET_SCH_TBF)" }
            if shape.delayMilliseconds != nil && !netem {
                return "this kernel has no netem queueing discipline (CONFIG_NET_SCH_NETEM), so links cannot be given a delay"
            }
            if shape.lossPercent != nil && !netem && !nftables { return "neither netem nor nftables is available for packet loss" }
            return nil
        }

        /// Probes once, in a scratch namespace.
        public static let probed: Capabilities = {
            var found = Capabilities(namespaces: false, tbf: false, netem: false, nftables: false)
            guard getuid() == 0 else { return found }
            let name = "dlabprobe\(getpid() % 100_000)"
            _ = try? NetworkLab.run(["ip", "netns", "del", name])
            guard (try? NetworkLab.run(["ip", "netns", "add", name])) != nil else { return found }
            defer { _ = try? NetworkLab.run(["ip", "netns", "del", name]) }
            found.namespaces = true
            _ = try? NetworkLab.run(["ip", "-n", name, "link", "add", "p0", "type", "veth", "peer", "name", "p1"])
            found.tbf = (try? NetworkLab.run(["ip", "netns", "exec", name, "tc", "qdisc", "add", "dev", "p0", "root", "tbf",
                                              "rate", "1gbit", "burst", "128kb", "latency", "50ms"])) != nil
            _ = try? NetworkLab.run(["ip", "netns", "exec", name, "tc", "qdisc", "del", "dev", "p0", "root"])
            found.netem = (try? NetworkLab.run(["ip", "netns", "exec", name, "tc", "qdisc", "add", "dev", "p0", "root", "netem",
                                                "delay", "1ms"])) != nil
            found.nftables = (try? NetworkLab.run(["ip", "netns", "exec", name, "nft", "add", "table", "inet", "probe"])) != nil
            return found
        }()
    }

    public let suffix: String
    public let subnet: String
    public private(set) var hosts: [String] = []
    private var created: [String] = []

    /// `subnet` is the first three octets of a private /24 used only inside these namespaces.
    public init(subnet: String = "10.231.9", tag: String = "") {
        self.subnet = subnet
        suffix = tag + String(getpid() % 100_000)
    }

    public func namespace(_ host: String) -> String { "d\(host)\(suffix)" }
    public func address(of host: String) -> String { "\(subnet).\((hosts.firstIndex(of: host) ?? 0) + 1)" }
    func inside(_ host: String) -> String { "v\(host)\(suffix)" }
    func outside(_ host: String) -> String { "b\(host)\(suffix)" }

    /// Creates the bridge and one namespace per host, the i-th at `subnet.(i+1)`, each link shaped.
    public mutating func create(hosts names: [String], shape: (String) -> LinkShape = { _ in LinkShape() }) throws {
        // A run killed before its cleanup may have left namespaces of the same names.
        for host in ["br"] + names { _ = try? Self.run(["ip", "netns", "del", namespace(host)]) }
        let bridge = namespace("br")
        try Self.run(["ip", "netns", "add", bridge]); created.append(bridge)
        try Self.run(["ip", "-n", bridge, "link", "add", "br0", "type", "bridge"])
        try Self.run(["ip", "-n", bridge, "link", "set", "br0", "up"])
        for (index, host) in names.enumerated() {
            let ns = namespace(host)
            try Self.run(["ip", "netns", "add", ns]); created.append(ns)
            hosts.append(host)
            try Self.run(["ip", "link", "add", inside(host), "type", "veth", "peer", "name", outside(host)])
            try Self.run(["ip", "link", "set", inside(host), "netns", ns])
            try Self.run(["ip", "link", "set", outside(host), "netns", bridge])
            try Self.run(["ip", "-n", bridge, "link", "set", outside(host), "master", "br0"])
            try Self.run(["ip", "-n", bridge, "link", "set", outside(host), "up"])
            try Self.run(["ip", "-n", ns, "addr", "add", "\(subnet).\(index + 1)/24", "dev", inside(host)])
            try Self.run(["ip", "-n", ns, "link", "set", inside(host), "up"])
            try Self.run(["ip", "-n", ns, "link", "set", "lo", "up"])
            try apply(shape(host), to: host)
        }
    }

    /// Shapes both directions of `host`'s link: its own interface's egress (what it sends) and the
    /// bridge port's egress (what it receives).
    public func apply(_ shape: LinkShape, to host: String) throws {
        if let reason = Capabilities.probed.cannotApply(shape) { throw LabError(command: "shape \(host)'s link as \(shape)", output: reason) }
        for (ns, device) in [(namespace(host), inside(host)), (namespace("br"), outside(host))] {
            let tc = ["ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", device]
            let netem = shape.delayMilliseconds != nil || (shape.lossPercent != nil && Capabilities.probed.netem)
            var handle = "root"
            if netem {
                var arguments = tc + ["root", "handle", "1:", "netem", "limit", "100000"]
                if let delay = shape.delayMilliseconds { arguments += ["delay", "\(delay)ms"] }
                if let loss = shape.lossPercent { arguments += ["loss", "\(loss)%"] }
                if let rate = shape.bitsPerSecond { arguments += ["rate", "\(Int(rate))bit"] }
                try Self.run(arguments)
                handle = "parent 1:1"
            }
            if let rate = shape.bitsPerSecond, !netem {
                // A bucket of 1 ms at the rate (at least 64 KB): bursts stay short, the average holds.
                let burst = max(65_536, Int(rate / 8 / 1000))
                try Self.run(tc + handle.split(separator: " ").map(String.init)
                             + ["tbf", "rate", "\(Int(rate))bit", "burst", "\(burst)", "latency", "100ms"])
            }
            if let loss = shape.lossPercent, !netem {
                // Without netem: nftables drops that share of the packets leaving the interface.
                let perMillion = Int((loss * 10_000).rounded())
                let table = "descentlab"
                _ = try? Self.run(["ip", "netns", "exec", ns, "nft", "add", "table", "netdev", table])
                try Self.run(["ip", "netns", "exec", ns, "nft", "add", "chain", "netdev", table, "out_\(device)",
                              "{ type filter hook egress device \(device) priority 0 ; }"])
                try Self.run(["ip", "netns", "exec", ns, "nft", "add", "rule", "netdev", table, "out_\(device)",
                              "numgen", "random", "mod", "1000000", "<", "\(perMillion)", "counter", "drop"])
            }
        }
    }

    /// The command line that runs `arguments` inside `host`'s namespace.
    public func inHost(_ host: String, _ arguments: [String]) -> [String] {
        ["ip", "netns", "exec", namespace(host)] + arguments
    }

    /// Packets dropped so far by the nftables loss rules of `host`'s link (0 when netem drops them).
    public func droppedPackets(of host: String) -> Int {
        var total = 0
        for (ns, device) in [(namespace(host), inside(host)), (namespace("br"), outside(host))] {
            let listing = (try? Self.run(["ip", "netns", "exec", ns, "nft", "list", "chain", "netdev", "descentlab", "out_\(device)"])) ?? ""
            for line in listing.split(separator: "\n") {
                if let range = line.range(of: "packets ") { total += Int(line[range.upperBound...].prefix { $0.isNumber }) ?? 0 }
            }
        }
        return total
    }

    /// Deletes every namespace made (their interfaces and rules go with them). Safe to call twice.
    public mutating func destroy() {
        for ns in created.reversed() { _ = try? Self.run(["ip", "netns", "del", ns]) }
        created.removeAll()
    }

    /// Runs a command (through /usr/bin/env) and returns its output; throws with the output on failure.
    @discardableResult
    public static func run(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = (environment["PATH"] ?? "/usr/bin:/bin") + ":/usr/sbin:/sbin"
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw LabError(command: arguments.joined(separator: " "), output: output) }
        return output
    }

    /// A command of the lab that failed, with what it printed.
    public struct LabError: Error, CustomStringConvertible {
        public var command: String
        public var output: String
        public var description: String { "\(command) failed: \(output.trimmingCharacters(in: .whitespacesAndNewlines))" }
    }
}

/// Link rates written as tc writes them: 1gbit, 10gbit, 100mbit.
public enum Rate {
    /// Parses `1gbit`, `10gbit`, `500mbit`, `100kbit` or a number of bits per second.
    public static func parse(_ text: String) -> Double? {
        let lower = text.lowercased()
        for (suffix, scale) in [("gbit", 1e9), ("mbit", 1e6), ("kbit", 1e3), ("bit", 1.0)] where lower.hasSuffix(suffix) {
            guard let value = Double(lower.dropLast(suffix.count)), value > 0, value.isFinite else { return nil }
            return value * scale
        }
        guard let value = Double(lower), value > 0, value.isFinite else { return nil }
        return value
    }

    public static func format(_ bitsPerSecond: Double) -> String {
        for (suffix, scale) in [("gbit", 1e9), ("mbit", 1e6), ("kbit", 1e3)] where bitsPerSecond >= scale {
            let value = bitsPerSecond / scale
            return (value == value.rounded() ? String(Int(value)) : String(format: "%.2f", value)) + suffix
        }
        return "\(Int(bitsPerSecond))bit"
    }
}
