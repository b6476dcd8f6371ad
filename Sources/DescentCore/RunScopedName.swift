#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Names of a run's private things (shared-memory segments, socket directories):
/// `PREFIX-PID-RANDOM`, with 64 unpredictable bits so no other user can guess the name before
/// it exists, and the creator's process id so that a later start can find the leftovers of a
/// process that died (SIGKILL runs no cleanup) and remove them.
public enum RunScopedName {
    /// A fresh name for this process.
    public static func make(prefix: String) -> String {
        var generator = SystemRandomNumberGenerator()
        let random = String(generator.next() as UInt64, radix: 16)
        return "\(prefix)-\(getpid())-\(String(repeating: "0", count: 16 - random.count))\(random)"
    }

    /// The creator's process id in a name made by `make(prefix:)`, or nil for other names.
    public static func creator(of name: String, prefix: String) -> pid_t? {
        guard name.hasPrefix(prefix + "-") else { return nil }
        let parts = name.dropFirst(prefix.count + 1).split(separator: "-")
        guard parts.count == 2, parts[1].count == 16, parts[1].allSatisfy(\.isHexDigit), let pid = pid_t(parts[0]), pid > 0 else { return nil }
        return pid
    }

    /// Whether a name by `make(prefix:)` belongs to a process that no longer exists.
    public static func isLeftOver(_ name: String, prefix: String) -> Bool {
        guard let pid = creator(of: name, prefix: prefix), pid != getpid() else { return false }
        return kill(pid, 0) != 0 && errno == ESRCH
    }
}
