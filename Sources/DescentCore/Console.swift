#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Unbuffered line output, so the lines of several processes interleave whole and nothing is
/// lost when a process is stopped.
public enum Console {
    /// Writes `line` and a newline to standard output.
    public static func out(_ line: String) { write(line + "\n", to: 1) }

    /// Writes `line` and a newline to standard error.
    public static func error(_ line: String) { write(line + "\n", to: 2) }

    /// Writes `text` as it is to standard error (for progress lines redrawn in place).
    public static func errorRaw(_ text: String) { write(text, to: 2) }

    /// Text a peer supplied (a host name), made safe to print: control characters and escape
    /// sequences become '?', and it is cut to `limit` characters, so a peer cannot forge output lines.
    public static func sanitized(_ text: String, limit: Int = 64) -> String {
        var out = ""
        for scalar in text.unicodeScalars.prefix(limit) {
            let c = scalar.value
            out.unicodeScalars.append(c < 0x20 || c == 0x7F || (0x80..<0xA0).contains(c) ? "?" : scalar)
        }
        return text.unicodeScalars.count > limit ? out + "..." : out
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
