#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Unbuffered line output, so the lines of several processes interleave whole and nothing is
/// lost when a process is stopped.
public enum Console {
    /// Writes `line` and a newline to standard output.
    public static func out(_ line: String) {
        if ConsoleStatus.write(line: line, to: 1) { return }
        write(line + "\n", to: 1)
    }

    /// Writes `line` and a newline to standard error (through the redirection, when one is set).
    public static func error(_ line: String) {
        if let redirect = errorRedirection.handler { return redirect(line) }
        writeErrorLine(line)
    }

    /// Writes `line` and a newline to standard error as it is, above the status line if one is shown.
    public static func writeErrorLine(_ line: String) {
        if ConsoleStatus.write(line: line, to: 2) { return }
        write(line + "\n", to: 2)
    }

    /// Sends every later `error` line to `handler` instead (`--log-format json` makes them log
    /// records). Set once at startup, before other threads write.
    public static func redirectErrors(to handler: @escaping @Sendable (String) -> Void) {
        errorRedirection.handler = handler
    }

    private final class ErrorRedirection: @unchecked Sendable {
        var handler: (@Sendable (String) -> Void)?
    }

    private static let errorRedirection = ErrorRedirection()

    /// Writes `text` as it is to `descriptor` (for `ConsoleStatus`).
    static func writeRaw(_ text: String, to descriptor: Int32) { write(text, to: descriptor) }

    /// Writes `text` as it is to standard error (for progress lines redrawn in place).
    public static func errorRaw(_ text: String) { write(text, to: 2) }

    /// Text a peer supplied (a host name), made safe to print: control characters and escape
    /// sequences become '?', and it is cut to `limit` characters, so a peer cannot forge output lines.
    public static func sanitized(_ text: String, limit: Int = 64) -> String {
        text.sanitizedForDisplay(maxCharacters: limit)
    }

    private static func write(_ text: String, to descriptor: Int32) {
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                #if canImport(Glibc)
                let n = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                #else
                let n = Darwin.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                #endif
                if n > 0 { offset += n } else if n < 0 && errno == EINTR { continue } else { return }
            }
        }
    }
}
