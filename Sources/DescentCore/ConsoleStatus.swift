#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One status line kept at the bottom of a terminal on standard output (the live progress):
/// `show` redraws it in place, and while it is shown every `Console` line is written above it,
/// so the run's plain lines scroll by whole and the status stays last.
public enum ConsoleStatus {
    private static let lock = StatusLock()

    /// Draws `text` as the status line, replacing the one shown.
    public static func show(_ text: String) {
        lock.withLock { state in
            state.text = text
            state.active = true
            Console.writeRaw("\r\u{1B}[K" + text, to: 1)
        }
    }

    /// Erases the status line; `Console` lines go out plainly again.
    public static func clear() {
        lock.withLock { state in
            guard state.active else { return }
            state.active = false
            state.text = ""
            Console.writeRaw("\r\u{1B}[K", to: 1)
        }
    }

    /// Whether a status line is on screen, or a live progress is drawn elsewhere (by the
    /// `launch` that reads this process's lines): other progress lines stay quiet meanwhile.
    public static var isShowing: Bool { lock.withLock { $0.active || $0.drawnElsewhere } }

    /// Says that this process's live progress is drawn by another process.
    public static func progressDrawnElsewhere() { lock.withLock { $0.drawnElsewhere = true } }

    /// Writes `line` to `descriptor`: above the status line when one is shown.
    static func write(line: String, to descriptor: Int32) -> Bool {
        lock.withLock { state in
            guard state.active else { return false }
            Console.writeRaw("\r\u{1B}[K", to: 1)
            Console.writeRaw(line + "\n", to: descriptor)
            Console.writeRaw(state.text, to: 1)
            return true
        }
    }
}

/// A pthread mutex around the status line's state.
private final class StatusLock: @unchecked Sendable {
    struct State {
        var active = false
        var drawnElsewhere = false
        var text = ""
    }

    private var mutex = pthread_mutex_t()
    private var state = State()

    init() { pthread_mutex_init(&mutex, nil) }

    func withLock<R>(_ body: (inout State) -> R) -> R {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return body(&state)
    }
}
