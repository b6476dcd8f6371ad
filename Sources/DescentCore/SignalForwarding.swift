#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The write end of the running group's wake pipe, read by the signal handler. A C-style global
/// because a signal handler can capture nothing; only one group forwards signals at a time.
nonisolated(unsafe) private var forwardingDescriptor: Int32 = -1

/// The SIGINT/SIGTERM handler: writes the signal number to the wake pipe (async-signal-safe:
/// one `write`, `errno` preserved).
private func forwardToWakePipe(_ signal: Int32) {
    let descriptor = forwardingDescriptor
    guard descriptor >= 0 else { return }
    let savedErrno = errno
    var byte = UInt8(truncatingIfNeeded: signal)
    _ = write(descriptor, &byte, 1)
    errno = savedErrno
}

/// Signal dispositions while a group runs: SIGINT and SIGTERM go to the wake pipe, SIGPIPE is
/// ignored (a closed output must not kill the launcher). `restore()` puts the previous ones back.
public struct SignalForwarding: Sendable {
    private var saved: [SavedAction] = []

    private struct SavedAction: @unchecked Sendable {
        var signal: Int32
        var action: sigaction
    }

    /// Ignores SIGPIPE and, when `forwardTo` is given, sends SIGINT, SIGTERM and SIGHUP (the
    /// parent-death signal of `launch`'s children, see `ParentDeath`) to that descriptor.
    public init(forwardTo descriptor: Int32?) {
        save(SIGPIPE, installing: SignalForwarding.action(ignoring: true))
        if let descriptor {
            forwardingDescriptor = descriptor
            save(SIGINT, installing: SignalForwarding.action(ignoring: false))
            save(SIGTERM, installing: SignalForwarding.action(ignoring: false))
            save(SIGHUP, installing: SignalForwarding.action(ignoring: false))
        }
    }

    /// Puts back the dispositions that were in place before `init`.
    public func restore() {
        for entry in saved.reversed() {
            var previous = entry.action
            _ = sigaction(entry.signal, &previous, nil)
        }
        forwardingDescriptor = -1
    }

    private mutating func save(_ signal: Int32, installing action: sigaction) {
        var action = action
        var previous = sigaction()
        if sigaction(signal, &action, &previous) == 0 { saved.append(SavedAction(signal: signal, action: previous)) }
    }

    private static func action(ignoring: Bool) -> sigaction {
        var action = sigaction()
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        #if os(Linux)
        action.__sigaction_handler.sa_handler = ignoring ? SIG_IGN : forwardToWakePipe
        #else
        action.__sigaction_u.__sa_handler = ignoring ? SIG_IGN : forwardToWakePipe
        #endif
        return action
    }
}
