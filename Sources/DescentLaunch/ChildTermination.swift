#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How a child process ended, decoded from `waitpid`'s status.
public enum ChildTermination: Sendable, Equatable, CustomStringConvertible {
    /// It called `exit` (or returned from `main`) with this status.
    case exited(status: Int32)
    /// A signal ended it.
    case killed(signal: Int32)
    /// Someone else collected its status first, so it is not known.
    case unknown

    /// Decodes a status from `waitpid` (the `WIFEXITED` / `WTERMSIG` macros, which Swift does not import).
    init(waitStatus status: Int32) {
        let low = status & 0x7f
        if low == 0 {
            self = .exited(status: (status >> 8) & 0xff)
        } else if low != 0x7f {
            self = .killed(signal: low)
        } else {
            self = .unknown
        }
    }

    /// Whether the process exited with status 0.
    public var isSuccess: Bool { self == .exited(status: 0) }

    /// The code a shell would report: the exit status, 128 + the signal, or 1 when unknown.
    public var shellExitCode: Int32 {
        switch self {
        case .exited(let status): return status
        case .killed(let signal): return 128 + signal
        case .unknown: return 1
        }
    }

    public var description: String {
        switch self {
        case .exited(let status): return "exited with status \(status)"
        case .killed(let signal): return "killed by signal \(signal) (\(SignalName.of(signal)))"
        case .unknown: return "ended with an unknown status (it was collected elsewhere)"
        }
    }
}

/// Conventional names of the signals a launch reports.
enum SignalName {
    static func of(_ signal: Int32) -> String {
        switch signal {
        case SIGHUP: return "SIGHUP"
        case SIGINT: return "SIGINT"
        case SIGQUIT: return "SIGQUIT"
        case SIGILL: return "SIGILL"
        case SIGABRT: return "SIGABRT"
        case SIGBUS: return "SIGBUS"
        case SIGFPE: return "SIGFPE"
        case SIGKILL: return "SIGKILL"
        case SIGUSR1: return "SIGUSR1"
        case SIGSEGV: return "SIGSEGV"
        case SIGUSR2: return "SIGUSR2"
        case SIGPIPE: return "SIGPIPE"
        case SIGALRM: return "SIGALRM"
        case SIGTERM: return "SIGTERM"
        default: return "signal \(signal)"
        }
    }
}
