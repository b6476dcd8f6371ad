import Foundation
import Testing

/// The C programs under Benchmarks/ are what README's performance figures were measured with:
/// they must build warning-free with the toolchain's clang and the system oneDNN, and run.
struct BenchmarkProgramTests {
    static let twoCPUs = ProcessInfo.processInfo.activeProcessorCount >= 2

    /// Builds `source` (relative to the package root) into a temporary directory; returns the program.
    static func build(_ source: String) throws -> String {
        let directory = try Paths.temporaryDirectory("bench-program")
        let program = directory + "/" + URL(fileURLWithPath: source).deletingPathExtension().lastPathComponent
        let built = try Command.run(["clang", "-O3", "-march=native", "-Wall", "-Wextra", "-Werror",
                                     Paths.packageRoot.appendingPathComponent(source).path, "-o", program, "-ldnnl", "-lpthread", "-lm"])
        #expect(built.status == 0, "\(built.output)")
        return program
    }

    /// Removes the temporary directory `build` (or `Paths.temporaryDirectory`) made for `file`.
    static func remove(_ file: String) {
        try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: file).deletingLastPathComponent().path)
    }

    /// Runs `program` at the lowest priority: its spinning threads take what the tests running
    /// beside it leave.
    static func run(_ program: String, _ arguments: [String]) throws -> Command.Result {
        var environment = ProcessInfo.processInfo.environment
        environment["OMP_NUM_THREADS"] = "1"
        return try Command.run(["nice", "-n", "19", program] + arguments, environment: environment)
    }

    @Test func theInnerProductComparisonBuilds() throws {
        let program = try Self.build("Benchmarks/inner_product_vs_sgemm.c")
        Self.remove(program)
    }

    @Test(.enabled(if: twoCPUs, "one_host_structure pins to CPUs 0 and 1"))
    func theStructureProgramRunsWithThreadsAndProcessesAndProbes() throws {
        let program = try Self.build("Benchmarks/one_host_structure/one_host_structure.c")
        defer { Self.remove(program) }

        let refused = try Self.run(program, ["32", "1", "forks"])
        #expect(refused.status == 2 && refused.output.contains("usage:"), "\(refused.output)")

        // Processes: every variant's median ratio over one core is a positive number.
        let structure = try Self.run(program, ["256", "1", "processes"])
        #expect(structure.status == 0, "\(structure.output)")
        let summary = try #require(structure.output.split(separator: "\n").last { $0.contains("medians of 1 rounds") })
        #expect(summary.contains("worker processes"), "\(summary)")
        let ratios = summary.split(separator: " ").filter { $0.hasSuffix("x") }.compactMap { Double($0.dropLast()) }
        #expect(ratios.count == 4 && ratios.allSatisfy { $0.isFinite && $0 > 0 }, "\(summary)")

        // The probe: one median per variant, each a positive number of microseconds.
        let probe = try Self.run(program, ["probe", "256", "1"])
        #expect(probe.status == 0, "\(probe.output)")
        for variant in ["update on this CPU", "update on the other CPU", "other CPU, private copies"] {
            let line = try #require(probe.output.split(separator: "\n").first { $0.contains(variant) }, "\(probe.output)")
            let median = line.components(separatedBy: variant).last?.split(separator: " ").first.flatMap { Double($0) }
            #expect(median.map { $0.isFinite && $0 > 0 } == true, "\(line)")
        }
    }

    @Test(.enabled(if: twoCPUs, "one_host_structure pins to CPUs 0 and 1"))
    func aKilledWorkerProcessStopsTheProgramAndTheOtherWorker() throws {
        let program = try Self.build("Benchmarks/one_host_structure/one_host_structure.c")
        defer { Self.remove(program) }
        let errors = try Paths.temporaryDirectory("bench-program-kill") + "/stderr"
        defer { Self.remove(errors) }
        #expect(FileManager.default.createFile(atPath: errors, contents: nil))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/nice")
        process.arguments = ["-n", "19", program, "256", "3", "processes"]
        process.environment = ProcessInfo.processInfo.environment.merging(["OMP_NUM_THREADS": "1"]) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errors))
        try process.run()
        // Its first variant starts two worker processes at once: kill one of them.
        var workers: [Int32] = []
        for _ in 0..<1000 where workers.count < 2 && process.isRunning {
            usleep(10_000)
            workers = childrenOf(process.processIdentifier)
        }
        let victim = try #require(workers.first, "no worker processes appeared")
        kill(victim, SIGKILL)
        for _ in 0..<600 where process.isRunning { usleep(100_000) }
        if process.isRunning {
            // SIGKILL: a process spawned from a test thread inherits its blocked SIGTERM.
            for pid in [process.processIdentifier] + workers { kill(pid, SIGKILL) }
            Issue.record("still running 60 s after a worker process was killed")
        }
        process.waitUntilExit()
        let said = (try? String(contentsOfFile: errors, encoding: .utf8)) ?? ""
        #expect(process.terminationStatus == 1, "\(said)")
        #expect(said.contains("worker process \(victim) was killed by signal 9"), "\(said)")
        #expect(workers.allSatisfy { parentOf($0) == nil }, "worker processes left: \(workers.filter { parentOf($0) != nil })")
    }
}
