import ArgumentParser
import DescentCore
import DescentLaunch
import DescentModel
import DescentNetworkLab
import Foundation

/// `descent bench network`: samples/s of a coordinator and workers on separate "hosts" (Linux
/// network namespaces) whose links are shaped with tc, beside the bound the link rate sets.
struct BenchNetwork: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "network",
        abstract: "Throughput across hosts joined by shaped links (network namespaces + tc; needs root).",
        discussion: """
            Makes a host (network namespace) for the coordinator and one for each worker, joined by a \
            bridge; each host's link is shaped in both directions (tbf for --rate; netem for --delay, and \
            for --loss where the kernel has it, else an nftables rule). For each rate and batch size it \
            trains the seed MLP over real TCP between the hosts for --steps steps, reads the coordinator's \
            trace and reports samples/s beside the link bound: every step sends the parameters (407 KB) \
            to each worker through the coordinator's link, and the last worker to get them sends its \
            gradient (407 KB) back through it afterwards, so a step takes at least \
            (workers + 1) x 407 KB x 8 / rate. An unshaped row (veth links) is measured in the same run. \
            The namespaces are removed at the end, also when a run fails. Traffic never leaves them.
            """)

    @Option(help: "Comma-separated link rates (tc units: 1gbit, 10gbit, 500mbit).", transform: RateList.parse)
    var rate = RateList(values: [1e9, 1e10])

    @Option(help: "Workers (each on its own host).")
    var workers: Int = 2

    @Option(help: "Comma-separated batch sizes per worker.", transform: CountList.batchSizes)
    var batch = CountList(values: [32, 128])

    @Option(help: "Steps per measurement (the first 20 are warm-up).")
    var steps: Int = 400

    @Option(help: "One-way delay of every link in ms (needs the kernel's netem).")
    var delay: Double?

    @Option(help: "Packet loss of every link in percent.")
    var loss: Double?

    @Option(help: "Comma-separated wire encodings to measure side by side: float32, bf16 (half the bytes on the links).",
            transform: WireEncodingList.parse)
    var wireEncoding = WireEncodingList(values: [.float32])

    @Option(help: "MNIST directory (default: $DESCENT_MNIST_SAMPLE, else ../shared/data/mnist-sample, else $DESCENT_DATA, else ./data/mnist).")
    var data: String?

    func validate() throws {
        guard workers >= 1 && workers <= 8 else { throw ValidationError("--workers must be 1 to 8 (got \(workers))") }
        guard steps >= 50 else { throw ValidationError("--steps must be 50 or more (the first 20 steps are warm-up)") }
        if let delay, !(delay >= 0 && delay <= 1000) { throw ValidationError("--delay must be 0 to 1000 ms (got \(delay))") }
        if let loss, !(loss >= 0 && loss < 50) { throw ValidationError("--loss must be a percentage in [0, 50) (got \(loss))") }
    }

    func run() throws {
        let capabilities = NetworkLab.Capabilities.probed
        if let reason = capabilities.unavailableReason { throw ValidationError("bench network \(reason)") }
        let shapes = [NetworkLab.LinkShape()] + rate.values.map {
            NetworkLab.LinkShape(bitsPerSecond: $0, delayMilliseconds: delay, lossPercent: loss)
        }
        for shape in shapes.dropFirst() {
            if let reason = capabilities.cannotApply(shape) { throw ValidationError("cannot shape links as \(shape): \(reason)") }
        }
        let dataDirectory = resolveData()
        let executable = try Launch.currentExecutable()
        let parameterCount = Double(MLPShape(inputs: 784, hidden: [128], classes: 10).parameterCount)
        print("descent bench network: \(workers) worker host(s) + a coordinator host, \(steps) steps a measurement, data \(dataDirectory)")
        print("links: veth pairs to a bridge, each shaped in both directions; loss via \(capabilities.netem ? "netem" : "nftables")")
        var rows = [["link", "batch/w", "wire", "samples/s", "step ms", "link-bound samples/s", "of bound"]]
        var lines: [String] = []
        var measuredRates: [String: Double] = [:]
        for size in batch.values {
            for shape in shapes {
                for encoding in wireEncoding.values {
                    let measured = try measure(shape: shape, batch: size, data: dataDirectory, executable: executable, encoding: encoding)
                    measuredRates["\(shape.description) \(size) \(encoding)"] = measured.samplesPerSecond
                    let bound = shape.bitsPerSecond.map { rate -> Double in
                        // All parameters out through the coordinator's link, then the last gradient back.
                        let stepSeconds = Double(workers + 1) * parameterCount * Double(encoding.bytesPerValue) * 8 / rate
                        return Double(workers * size) / stepSeconds
                    }
                    rows.append([shape.description, "\(size)", encoding.rawValue, fmt(measured.samplesPerSecond, 0), fmt(measured.stepMs, 3),
                                 bound.map { fmt($0, 0) } ?? "-", bound.map { fmt(measured.samplesPerSecond / $0 * 100, 0) + "%" } ?? "-"])
                    lines.append("bench=network link=\(shape.description.replacingOccurrences(of: " ", with: "")) workers=\(workers) "
                                 + "batch_per_worker=\(size) wire_encoding=\(encoding) samples_per_s=\(fmt(measured.samplesPerSecond, 0)) step_ms=\(fmt(measured.stepMs, 3)) "
                                 + "link_bound_samples_per_s=\(bound.map { fmt($0, 0) } ?? "na")")
                }
                if let float32 = measuredRates["\(shape.description) \(size) float32"], let bf16 = measuredRates["\(shape.description) \(size) bf16"] {
                    lines.append("bench=network_wire link=\(shape.description.replacingOccurrences(of: " ", with: "")) batch_per_worker=\(size) "
                                 + "bf16_over_float32=\(fmt(bf16 / float32, 3))")
                }
            }
        }
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            print(row.enumerated().map { String(repeating: " ", count: widths[$0] - $1.count) + $1 }.joined(separator: "  "))
        }
        for line in lines { print(line) }
    }

    private func measure(shape: NetworkLab.LinkShape, batch size: Int, data: String, executable: String,
                         encoding: WireEncoding) throws -> (samplesPerSecond: Double, stepMs: Double) {
        let directory = try ScratchDirectory.make("bench-network-\(size)")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var lab = NetworkLab(subnet: "10.231.11", tag: "n")
        defer { lab.destroy() }
        let hosts = ["c"] + (0..<workers).map { "w\($0)" }
        try lab.create(hosts: hosts) { _ in shape }
        let config = """
            seed: 42
            data:
              train_repeat: 12
            training:
              epochs: 100
              batch_per_worker: \(size)
              threads: 1
            """
        let configPath = directory + "/bench.yaml"
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        let endpoint = "tcp://\(lab.address(of: "c")):5555"
        var children = [ChildProcess(label: "coordinator", executablePath: "/usr/bin/env", arguments: lab.inHost("c", [
            executable, "coordinator", "--config", configPath, "--data", data, "--workers", "\(workers)", "--bind", endpoint, "--insecure",
            "--trace", "\(directory)/coordinator.jsonl", "--max-steps", "\(steps)", "--registration-timeout", "60",
            "--wire-encoding", encoding.rawValue,
        ]), isPrimary: true)]
        for rank in 0..<workers {
            children.append(ChildProcess(label: "worker \(rank)", executablePath: "/usr/bin/env", arguments: lab.inHost("w\(rank)", [
                executable, "worker", "--connect", endpoint, "--insecure", "--data", data, "--config", configPath, "--rank", "\(rank)",
                "--wire-encoding", encoding.rawValue,
            ])))
        }
        let sink = QuietSink()
        let result = try ProcessGroup().run(children, output: sink)
        guard result.exitCode == 0 else {
            throw ValidationError("the run over \(shape) links failed:\n" + sink.lines.suffix(20).joined(separator: "\n"))
        }
        let trace = try String(contentsOfFile: "\(directory)/coordinator.jsonl", encoding: .utf8).split(separator: "\n").compactMap {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        let warmup = min(20, trace.count / 2)
        guard trace.count > warmup + 1 else { throw ValidationError("the run over \(shape) links wrote only \(trace.count) steps") }
        let start = trace[warmup - 1]["time_ms"] as? Double ?? 0
        let end = trace.last?["time_ms"] as? Double ?? start
        let measured = trace[warmup...]
        let samples = measured.reduce(0) { $0 + ($1["samples"] as? Int ?? 0) }
        let seconds = (end - start) / 1000
        return (seconds > 0 ? Double(samples) / seconds : 0, (end - start) / Double(measured.count))
    }

    private func resolveData() -> String {
        if let data { return data }
        let environment = ProcessInfo.processInfo.environment
        if let sample = environment["DESCENT_MNIST_SAMPLE"] { return sample }
        if FileManager.default.fileExists(atPath: "../shared/data/mnist-sample/train-images-idx3-ubyte.gz") {
            return URL(fileURLWithPath: "../shared/data/mnist-sample").standardizedFileURL.path
        }
        return environment["DESCENT_DATA"] ?? "data/mnist"
    }

    private func fmt(_ value: Double, _ decimals: Int) -> String { String(format: "%.\(decimals)f", value) }
}

/// A comma-separated list of link rates (`1gbit,10gbit`).
struct RateList: Sendable {
    var values: [Double]

    static func parse(_ text: String) throws -> RateList {
        let values = try text.split(separator: ",").map { item -> Double in
            guard let value = Rate.parse(String(item)) else {
                throw ValidationError("'\(item)' is not a link rate; write it as tc does: 1gbit, 10gbit, 500mbit")
            }
            return value
        }
        guard !values.isEmpty else { throw ValidationError("give at least one link rate, e.g. --rate 1gbit") }
        return RateList(values: values)
    }
}
