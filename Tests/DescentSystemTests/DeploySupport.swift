import Foundation

/// Runs a command to its end and keeps what it printed (stdout and stderr together).
enum Command {
    struct Result {
        var status: Int32
        var output: String
    }

    /// Runs through posix_spawn and waitpid (not Foundation's Process, whose exit watch was seen
    /// to miss a child's exit when the child started daemons); output goes to a scratch file,
    /// so a daemon that keeps a copy of it cannot block the read.
    @discardableResult
    static func run(_ arguments: [String], environment: [String: String]? = nil, directory: String? = nil) throws -> Result {
        let outputPath = NSTemporaryDirectory() + "descent-command-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).out"
        defer { unlink(outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = (["/usr/bin/env"] + (directory.map { ["-C", $0] } ?? []) + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let env = (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { env.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/usr/bin/env", &actions, nil, argv, env)
        guard spawned == 0 else { throw CommandError(command: arguments.joined(separator: " "), errno: spawned) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        let exited = status & 0x7f == 0
        return Result(status: exited ? (status >> 8) & 0xff : 128 + (status & 0x7f), output: output)
    }

    struct CommandError: Error, CustomStringConvertible {
        var command: String
        var errno: Int32
        var description: String { "cannot start \(command): \(String(cString: strerror(errno)))" }
    }

    /// True when `name` is an executable in one of PATH's directories or /usr/sbin, /sbin.
    static func exists(_ name: String) -> Bool {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin") + ":/usr/sbin:/sbin"
        return path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(name)") }
    }
}

/// The long flags a `descent` subcommand really accepts, read from its `--help`.
enum DescentFlags {
    static func of(_ subcommand: [String]) throws -> Set<String> {
        let help = try Command.run([Paths.descent] + subcommand + ["--help"])
        var flags: Set<String> = []
        let pattern = try NSRegularExpression(pattern: "(?<![A-Za-z0-9-])--[a-z][a-z0-9-]*")
        let text = help.output
        for match in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
            flags.insert(String(text[Range(match.range, in: text)!]))
        }
        return flags
    }

    /// The `--flags` among `arguments`.
    static func used(in arguments: [String]) -> [String] {
        arguments.filter { $0.hasPrefix("--") }.map { String($0.split(separator: "=", maxSplits: 1)[0]) }
    }

    /// Flags the deployment files name ahead of the binary (issue 6's keys), each marked
    /// PLACEHOLDER where it is used. The tests accept them only while the binary lacks them, and say so.
    static let placeholders: Set<String> = []
}

/// A child started with posix_spawn with an empty signal mask and default signal actions (a
/// process started from a test thread otherwise inherits that thread's blocked signals, and a
/// shell's `trap` then never runs), output to a file, waited for with waitpid.
final class SpawnedScript {
    let pid: pid_t
    let outputPath: String
    private(set) var status: Int32?

    init(_ arguments: [String], outputPath: String) throws {
        self.outputPath = outputPath
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t(), all = sigset_t()
        sigemptyset(&empty)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = (["/usr/bin/env"] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/usr/bin/env", &actions, &attributes, argv, environ)
        guard spawned == 0 else { throw Command.CommandError(command: arguments.joined(separator: " "), errno: spawned) }
        self.pid = pid
    }

    /// The exit status (128 + signal when killed), or nil while it runs past `seconds` (then it is killed).
    func wait(seconds: Double) -> Int32? {
        if let status { return status }
        let deadline = Date().addingTimeInterval(seconds)
        var raw: Int32 = 0
        while Date() < deadline {
            if waitpid(pid, &raw, WNOHANG) == pid {
                status = raw & 0x7f == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)
                return status
            }
            usleep(20_000)
        }
        kill(pid, SIGKILL)
        _ = waitpid(pid, &raw, 0)
        status = nil
        return nil
    }

    var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }
}

/// Writes an executable script with O_CLOEXEC, so that a process another test starts meanwhile
/// does not inherit the open file and make every later exec of the script fail with ETXTBSY.
func writeExecutable(_ text: String, to path: String) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o755)
    guard fd >= 0 else { throw Command.CommandError(command: "open \(path)", errno: errno) }
    defer { close(fd) }
    let bytes = Array(text.utf8)
    var written = 0
    while written < bytes.count {
        let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if n < 0 { if errno == EINTR { continue }; throw Command.CommandError(command: "write \(path)", errno: errno) }
        written += n
    }
    fchmod(fd, 0o755)
}
