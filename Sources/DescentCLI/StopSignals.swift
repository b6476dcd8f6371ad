import DescentCore
import DescentLaunch
import Foundation

/// SIGINT and SIGTERM ask the running loop to stop (it notices within a poll interval); a second
/// signal ends the process at once.
enum StopSignals {
    nonisolated(unsafe) private static var action: (() -> Void)?
    nonisolated(unsafe) private static var received: Int32 = 0

    /// Also arms the parent-death signal when `descent launch` started this process, so that the
    /// process stops (SIGHUP, handled here) when launch dies, even by SIGKILL.
    static func install(_ onStop: @escaping () -> Void) {
        action = onStop
        let handler: @convention(c) (Int32) -> Void = { signal in
            StopSignals.received += 1
            if StopSignals.received > 1 { _exit(128 + signal) }
            StopSignals.action?()
        }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
        // The parent-death signal comes once per exiting thread of `launch`: a stop request, never "at once".
        signal(ParentDeath.signal) { _ in StopSignals.action?() }
        signal(SIGPIPE, SIG_IGN)
        if !ParentDeath.armFromEnvironment() {
            Console.error("descent: the 'descent launch' that started this process has exited; stopping")
            exit(1)
        }
    }
}
