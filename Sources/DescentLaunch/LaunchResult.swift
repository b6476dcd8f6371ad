/// How one child of a `ProcessGroup` ended.
public struct ChildReport: Sendable, Equatable, CustomStringConvertible {
    public let label: String
    public let pid: Int32
    public let termination: ChildTermination
    /// Whether the group had signalled the process (after another failed, after the primary
    /// finished, or on an interrupt) before it ended: then its ending is not its own failure.
    public let stoppedByLaunch: Bool

    /// Whether this process failed on its own: it ended unsuccessfully without being stopped.
    public var isFailure: Bool { !stoppedByLaunch && !termination.isSuccess }

    public var description: String {
        stoppedByLaunch ? "\(label) stopped by launch: \(termination)" : "\(label) \(termination)"
    }
}

/// The outcome of `ProcessGroup.run`: how every child ended and the exit code for the launcher.
public struct LaunchResult: Sendable, Equatable {
    /// One report per child, in the order they were given.
    public let children: [ChildReport]
    /// The first SIGINT or SIGTERM the launcher received (or was asked to act on), if any.
    public let interruptingSignal: Int32?
    /// 0 when every child exited 0 or was stopped after the primary succeeded; otherwise the
    /// status of the first child that failed (128 + signal when a signal killed it), or 128 +
    /// the interrupting signal (130 for SIGINT, 143 for SIGTERM) when that came first.
    public let exitCode: Int32

    /// Whether the launch succeeded (`exitCode == 0`).
    public var succeeded: Bool { exitCode == 0 }

    /// The report of the child labelled `label`, if there is one.
    public func child(_ label: String) -> ChildReport? { children.first { $0.label == label } }
}
