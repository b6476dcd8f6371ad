import DescentMetrics
import Foundation

/// Helpers of the observability system tests: free ports, a plain HTTP GET, external tools.
enum ObserveSupport {
    static func freePort() -> Int { LoopbackHTTP.freePort() }

    static func get(port: Int, path: String) -> (status: Int, body: String)? { LoopbackHTTP.get(port: port, path: path) }

    /// The first executable of `names` on PATH or at the given absolute paths.
    static func tool(_ names: String...) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for name in names {
            if name.hasPrefix("/") {
                if FileManager.default.isExecutableFile(atPath: name) { return name }
                continue
            }
            for directory in path.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(directory)/\(name)") {
                return "\(directory)/\(name)"
            }
        }
        return nil
    }

    /// A Python that imports tensorboard: $DESCENT_TENSORBOARD_PYTHON, else the venv `.ci/run` makes.
    static var tensorboardPython: String? {
        let environment = ProcessInfo.processInfo.environment
        let candidates = [environment["DESCENT_TENSORBOARD_PYTHON"], environment["HOME"].map { "\($0)/.cache/descent-venv/bin/python" },
                          "/opt/descent-venv/bin/python"].compactMap { $0 }
        return candidates.first { candidate in
            guard FileManager.default.isExecutableFile(atPath: candidate) else { return false }
            return (try? run(candidate, ["-c", "import tensorboard"]).status) == 0
        }
    }

    /// Runs a program to its end: (exit status, stdout, stderr). Spawned with posix_spawn and
    /// waited for with waitpid, its output in temporary files: Foundation's `Process` kept
    /// reporting `tmux new-session -d` as running after it had exited (its server lives on).
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], seconds: Double = 120) throws -> (status: Int32, out: String, err: String) {
        let base = NSTemporaryDirectory() + "descent-run-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer {
            try? FileManager.default.removeItem(atPath: base + ".out")
            try? FileManager.default.removeItem(atPath: base + ".err")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, base + ".out", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, base + ".err", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard spawned == 0 else { throw SpawnFailure(executable: executable, code: spawned) }
        var status: Int32 = 0
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid || (result < 0 && errno != EINTR) { break }
            if Date() > deadline { kill(pid, SIGKILL) }
            usleep(5_000)
        }
        let out = (try? String(contentsOfFile: base + ".out", encoding: .utf8)) ?? ""
        let err = (try? String(contentsOfFile: base + ".err", encoding: .utf8)) ?? ""
        let exited = status & 0x7F == 0
        return (exited ? (status >> 8) & 0xFF : 128 + (status & 0x7F), out, err)
    }

    struct SpawnFailure: Error { var executable: String; var code: Int32 }

}
