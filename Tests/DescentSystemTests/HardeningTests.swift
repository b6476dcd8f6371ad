import DescentProtocol
import DescentTransport
import Foundation
import Testing

/// Runs `script` with bash and waits for it (test fixtures: gzip, dd).
@discardableResult
func shell(_ script: String) throws -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/bash")
    process.arguments = ["-c", script]
    try process.run()
    process.waitUntilExit()
    return process.terminationStatus
}

/// The parent process id of `pid` (from /proc), or nil when it is gone.
func parentOf(_ pid: Int32) -> Int32? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return nil }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    guard fields.count > 2, fields[0] != "Z" else { return nil }  // a zombie has exited
    return Int32(fields[1])
}

/// Processes whose parent is `pid`.
/// `launch --workers 2` of an endless run on a small synthetic set, in a new directory, once it
/// has started training; the caller stops it and removes the directory.
func startEndlessLaunch(_ name: String) throws -> (dir: String, config: String, launch: Child) {
    let dir = try Paths.temporaryDirectory(name)
    try SyntheticMNIST.write(to: dir, train: 64, test: 16)
    let config = try writeConfig("data:\n  dir: \(dir)\ntraining:\n  epochs: 100000\n  batch_size: 16\n", in: dir)
    let launch = try Child("launch", ["launch", "--config", config, "--workers", "2"], directory: dir)
    #expect(launch.waitFor("training starts", seconds: 60), "\(launch.stdout)\(launch.stderr)")
    return (dir, config, launch)
}

func childrenOf(_ pid: Int32) -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap(Int32.init).filter { parentOf($0) == pid }
}

extension SystemTests {
    @Test(arguments: [
        (["coordinator", "--workers", "-1"], "--workers must be 1 or more (got -1)"),
        (["launch", "--workers", "-3"], "--workers must be between 1 and 64 (got -3)"),
        (["train", "--threads", "5000000000"], "--threads must be between 1 and 1024 (got 5000000000)"),
        (["train", "--max-steps", "-5"], "--max-steps must be 1 or more (got -5)"),
        (["worker", "--connect", "ipc:///x", "--join-timeout", "inf"], "--join-timeout must be a number of seconds above 0"),
        (["worker", "--connect", "ipc:///x", "--cpu", "-2"], "--cpu must be 0 or more (got -2)"),
        (["coordinator", "--workers", "2", "--bind", "tcp://127.0.0.1:99999", "--insecure"], "has port '99999'; a port is 1-65535"),
        (["worker", "--connect", "tcp://127.0.0.1:0", "--insecure"], "has port '0'; a port is 1-65535"),
        (["coordinator", "--workers", "2", "--bind", "tcp://127.0.0.1:5555"], "give --curve-dir DIR"),
        (["worker", "--connect", "tcp://127.0.0.1:5555"], "give --curve-dir DIR"),
        (["coordinator", "--workers", "1", "--bind", "ipc:///tmp/x", "--curve-dir", "/nonexistent-keys"], "/nonexistent-keys/coordinator.key: no such key file"),
        (["keys", "generate", "/tmp/k", "--workers", "-1"], "--workers must be between 1 and 4096 (got -1)"),
    ])
    func numbersPortsAndKeysAreCheckedInWords(arguments: [String], message: String) throws {
        let dir = try Paths.temporaryDirectory("cli-ranges")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let child = try Child("descent", arguments, directory: dir)
        #expect(child.wait(seconds: 30) != 0)
        #expect(child.stderr.contains(message), "\(child.stderr)")
        #expect(!child.stderr.contains("Missing value") && !child.stderr.contains("NSCocoaErrorDomain"), "\(child.stderr)")
    }

    /// Regression: `--save` over an existing file failed after training and deleted the old file.
    @Test func savingTwiceToTheSameFileWorksAndLeavesNoTemporaryFiles() throws {
        let dir = try Paths.temporaryDirectory("save-twice")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticMNIST.write(to: dir, train: 64, test: 16)
        let config = try writeConfig("data:\n  dir: \(dir)\ntraining:\n  epochs: 1\n  batch_size: 16\n", in: dir)
        for run in 0..<2 {
            let train = try Child("train-\(run)", ["train", "--config", config, "--max-steps", "3", "--save", "\(dir)/out/model.bin",
                                                   "--trace", "\(dir)/out/trace.jsonl"], directory: dir)
            #expect(train.wait(seconds: 120) == 0, "run \(run): \(train.stderr)")
        }
        let parameters = try readParameters("\(dir)/out/model.bin")
        #expect(parameters.count == 784 * 128 + 128 + 128 * 10 + 10)
        #expect(try jsonLines("\(dir)/out/trace.jsonl").count == 3)
        let left = try FileManager.default.contentsOfDirectory(atPath: "\(dir)/out").sorted()
        #expect(left == ["model.bin", "trace.jsonl"], "\(left)")
    }

    @Test func anUnwritableOutputPathFailsBeforeTrainingAndAnExistingEndpointFileIsReplaced() throws {
        let dir = try Paths.temporaryDirectory("outputs")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticMNIST.write(to: dir, train: 64, test: 16)
        let config = try writeConfig("data:\n  dir: \(dir)\ntraining:\n  epochs: 1\n  batch_size: 16\n", in: dir)
        try "a file, not a directory".write(toFile: "\(dir)/plain", atomically: false, encoding: .utf8)
        let train = try Child("train", ["train", "--config", config, "--save", "\(dir)/plain/model.bin"], directory: dir)
        #expect(train.wait(seconds: 60) != 0)
        #expect(train.stderr.contains("--save \(dir)/plain/model.bin: \(dir)/plain is not a directory"), "\(train.stderr)")
        #expect(!train.stdout.contains("Epoch"), "training ran: \(train.stdout)")

        try "stale endpoint".write(toFile: "\(dir)/endpoint", atomically: false, encoding: .utf8)
        let coordinator = try Child("coordinator", ["coordinator", "--config", config, "--workers", "1", "--bind", "ipc://\(dir)/c.sock",
                                                    "--endpoint-file", "\(dir)/endpoint"], directory: dir)
        defer { coordinator.stop() }
        #expect(coordinator.waitFor("Coordinator listening"), "\(coordinator.stderr)")
        #expect(try String(contentsOfFile: "\(dir)/endpoint", encoding: .utf8) == "ipc://\(dir)/c.sock")
    }

    /// Regression: a gzip bomb as the labels file made `descent train` allocate 4 GiB and abort.
    @Test func aGzipBombLabelsFileIsRefusedAfterTheBytesItsHeaderDeclares() throws {
        let dir = try Paths.temporaryDirectory("gzip-bomb")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticMNIST.write(to: dir, train: 32, test: 16)
        // A valid header for 32 labels, then 2 GB of zeros: about 2 MB of gzip.
        try shell("cd '\(dir)' && rm train-labels-idx1-ubyte && { printf '\\x00\\x00\\x08\\x01\\x00\\x00\\x00\\x20'; head -c 2000000000 /dev/zero; } | gzip -1 > train-labels-idx1-ubyte.gz")
        let config = try writeConfig("data:\n  dir: \(dir)\ntraining:\n  epochs: 1\n  batch_size: 16\n", in: dir)
        let train = try Child("train", ["train", "--config", config], directory: dir)
        #expect(train.wait(seconds: 60) != 0)
        #expect(train.stderr.contains("train-labels-idx1-ubyte.gz"), "\(train.stderr)")
        #expect(train.stderr.contains("decompresses to more than the 40 bytes expected"), "\(train.stderr)")
    }

    /// Regression: an unreadable data directory was taken for a missing one and a download began.
    @Test(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"), "needs root and setpriv to run as another user"))
    func anUnreadableDataDirectoryIsAnErrorNotADownload() throws {
        let dir = try Paths.temporaryDirectory("unreadable")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        chmod(dir, 0o755)
        try FileManager.default.createDirectory(atPath: "\(dir)/data", withIntermediateDirectories: false)
        try SyntheticMNIST.write(to: "\(dir)/data", train: 32, test: 16)
        chmod("\(dir)/data", 0o700)
        let config = try writeConfig("training:\n  epochs: 1\n", in: dir)
        chmod(config, 0o644)
        let child = try Child("train", executable: "/usr/bin/setpriv", [
            "--reuid=65534", "--regid=65534", "--clear-groups", Paths.descent, "train", "--config", config, "--data", "\(dir)/data",
        ], directory: dir)
        #expect(child.wait(seconds: 60) != 0)
        #expect(child.stderr.contains("\(dir)/data: cannot read: Permission denied"), "\(child.stderr)")
        #expect(!child.stderr.contains("http"), "a download was attempted: \(child.stderr)")
    }

    /// Regression: the host name of a hello was printed raw, so a peer could forge output lines and escapes.
    @Test func aHostNameWithNewlinesAndEscapesIsPrintedDefused() throws {
        let dir = try Paths.temporaryDirectory("host-name")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticMNIST.write(to: dir, train: 32, test: 16)
        let config = try writeConfig("data:\n  dir: \(dir)\ntraining:\n  epochs: 1\n  batch_size: 16\n", in: dir)
        let endpoint = "ipc://\(dir)/c.sock"
        let coordinator = try Child("coordinator", ["coordinator", "--config", config, "--workers", "1", "--bind", endpoint,
                                                    "--no-shared-memory", "--max-steps", "1"], directory: dir)
        defer { coordinator.stop() }
        let worker = try FakeWorker(try ZMQContext(), endpoint: endpoint, identity: Array("forger".utf8))
        let host = "box\nTest loss: 0.0001 - test accuracy: 0.9999\r\u{1b}[2J\u{1b}]0;owned\u{07}" + String(repeating: "x", count: 500)
        let hello = try WireText.encodeJSON(WorkerIntroduction(host: host, pid: 7, requestedRank: nil, hostIdentity: nil, sharedMemory: false))
        try worker.send(WireHeader.hello(configHash: 0, processID: 7, jsonByteCount: UInt32(hello.count)).encoded(), hello)
        #expect(coordinator.waitFor("joined from"), "\(coordinator.stdout)")
        let output = coordinator.stdout + coordinator.stderr
        #expect(!output.contains("\u{1b}") && !output.contains("\r") && !output.contains("\u{07}"))
        #expect(!output.split(separator: "\n").contains { $0.hasPrefix("Test loss: 0.0001") }, "\(output)")
        let line = try #require(output.split(separator: "\n").first { $0.contains("joined from") })
        #expect(line.contains("box?Test loss: 0.0001 - test accuracy: 0.9999??[2J?]0;owned?"), "\(line)")
        #expect(line.count < 200, "\(line)")
    }

    /// Regression: after SIGKILL of `launch` its children ran on and its socket file stayed.
    @Test func launchChildrenDieWithItAndTheNextLaunchRemovesWhatItLeft() throws {
        let (dir, config, launch) = try startEndlessLaunch("launch-kill")
        defer {
            launch.stop()
            try? FileManager.default.removeItem(atPath: dir)
        }
        let children = childrenOf(launch.process.processIdentifier)
        #expect(children.count == 3, "\(children)")
        let runDirectories = try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory())
            .filter { $0.hasPrefix("descent-launch-\(launch.process.processIdentifier)-") }
        #expect(runDirectories.count == 1)
        let segments = try FileManager.default.contentsOfDirectory(atPath: "/dev/shm").filter { name in
            children.contains { name.hasPrefix("descent-shm-\($0)-") }
        }
        #expect(segments.count == 1, "the coordinator's segment: \(segments)")
        for segment in segments {
            let attributes = try FileManager.default.attributesOfItem(atPath: "/dev/shm/\(segment)")
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
            #expect((attributes[.ownerAccountID] as? NSNumber)?.uint32Value == geteuid())
        }

        kill(launch.process.processIdentifier, SIGKILL)
        launch.process.waitUntilExit()
        let deadline = Date().addingTimeInterval(15)
        while children.contains(where: { parentOf($0) != nil }) && Date() < deadline { usleep(50_000) }
        #expect(!children.contains { parentOf($0) != nil }, "children still running after launch was killed: \(children.filter { parentOf($0) != nil })")
        // The coordinator stopped on SIGTERM and unlinked its segment.
        for segment in segments { #expect(!FileManager.default.fileExists(atPath: "/dev/shm/\(segment)"), "\(segment)") }

        // The next launch removes the dead launch's private directory (socket and keys).
        let before = Set(try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory()))
        let next = try Child("launch-2", ["launch", "--config", config, "--workers", "1", "--max-steps", "2"], directory: dir)
        #expect(next.wait(seconds: 120) == 0, "\(next.stderr)")
        for name in runDirectories { #expect(!FileManager.default.fileExists(atPath: NSTemporaryDirectory() + name), "\(name) left behind") }
        // (Only what appeared since it started: an earlier process with the same id may have left
        // a name with that id, as a failed `launch --max-restarts` keeps its checkpoints.)
        let after = try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory())
            .filter { $0.hasPrefix("descent-launch-") && $0.contains("-\(next.process.processIdentifier)-") && !before.contains($0) }
        #expect(after.isEmpty, "the finished launch left \(after)")
    }
}

extension SystemTests {
    /// Regression: a coordinator killed with SIGKILL under `launch` left its shared-memory segment
    /// in /dev/shm until the next run started; launch now removes it once its processes have ended.
    @Test func aKilledCoordinatorsSegmentIsRemovedByLaunch() throws {
        let (dir, _, launch) = try startEndlessLaunch("coordinator-kill")
        defer {
            launch.stop()
            try? FileManager.default.removeItem(atPath: dir)
        }
        let children = childrenOf(launch.process.processIdentifier)
        let coordinator = try #require(children.first { pid in
            ((try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? "").split(separator: "\0").dropFirst().first == "coordinator"
        }, "no coordinator among \(children)")
        let segments = try FileManager.default.contentsOfDirectory(atPath: "/dev/shm").filter { $0.hasPrefix("descent-shm-\(coordinator)-") }
        #expect(segments.count == 1, "the coordinator's segment: \(segments)")

        kill(coordinator, SIGKILL)
        #expect(launch.wait(seconds: 60) != 0, "a run whose coordinator was killed fails")
        for segment in segments {
            #expect(!FileManager.default.fileExists(atPath: "/dev/shm/\(segment)"), "\(segment) left behind")
            #expect(launch.stderr.contains("removed /dev/shm/\(segment)"), "\(launch.stderr)")
        }
    }

    /// Every fuzz target's seed corpus, and every input a fuzzer ever crashed on (added to the
    /// same folders), runs through the plain build's replayer without a crash.
    @Test(arguments: ["FuzzWire", "FuzzConfig", "FuzzIDX", "FuzzCheckpoint"])
    func fuzzCorporaReplayWithoutACrash(target: String) throws {
        let dir = try Paths.temporaryDirectory("replay")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let replayer = URL(fileURLWithPath: Paths.descent).deletingLastPathComponent().appendingPathComponent(target).path
        try #require(FileManager.default.isExecutableFile(atPath: replayer), "\(replayer) was not built")
        let corpus = Paths.packageRoot.appendingPathComponent("Fuzz/corpus/\(target)").path
        let count = try FileManager.default.contentsOfDirectory(atPath: corpus).count
        let child = try Child(target, executable: replayer, [corpus], directory: dir)
        #expect(child.wait(seconds: 120) == 0, "\(child.stderr)")
        #expect(child.stdout.contains("replayed \(count) input(s) without a crash"), "\(child.stdout)")
    }
}
