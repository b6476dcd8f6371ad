import CLinuxSync
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Children of a `ProcessGroup` die with it, even when it is killed with SIGKILL and cannot
/// forward anything: the group names itself in `environmentVariable`, and a child that finds it
/// asks the kernel (`prctl(PR_SET_PDEATHSIG)`) for `signal` (SIGHUP) when its parent exits.
/// The kernel sends it once per exiting thread of the parent, so handle it as an idempotent stop request. (`posix_spawn`
/// runs no code of ours between fork and exec, so the child does it itself, first thing.)
public enum ParentDeath {
    /// Holds the process id of the group's process, set in every child's environment.
    public static let environmentVariable = "DESCENT_LAUNCH_PARENT"

    /// The signal a child gets when the group's process dies.
    public static let signal = SIGHUP

    /// In a child of a group: arranges for `signal` when the group's process exits. Returns false
    /// when that process is already gone (the caller should stop at once); true otherwise,
    /// including when this process was not started by a group.
    @discardableResult
    public static func armFromEnvironment() -> Bool {
        guard let value = getenv(environmentVariable), let parent = pid_t(String(cString: value)) else { return true }
        _ = descent_set_parent_death_signal(signal)
        // The group may have died between our start and the prctl: then our parent is another process.
        return getppid() == parent
    }
}
