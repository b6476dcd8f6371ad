/// Turns the bytes of one output stream into lines.
///
/// A line ends at `\n`; a carriage return also ends a line, so progress bars redrawn with `\r`
/// become plain lines (an empty redraw and the `\n` of a `\r\n` add no line). A line longer than
/// `maximumLineBytes` is cut there (not inside a UTF-8 character) instead of growing without bound.
/// Invalid UTF-8 is replaced with U+FFFD.
struct LineSplitter {
    let maximumLineBytes: Int
    private var pending: [UInt8] = []
    private var afterCarriageReturn = false

    init(maximumLineBytes: Int) {
        self.maximumLineBytes = max(maximumLineBytes, 4)
    }

    /// Adds `bytes` and returns the lines they complete.
    mutating func append(_ bytes: some Sequence<UInt8>) -> [String] {
        var lines: [String] = []
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\n"):
                if afterCarriageReturn && pending.isEmpty {
                    afterCarriageReturn = false
                    continue
                }
                lines.append(takePending(count: pending.count))
            case UInt8(ascii: "\r"):
                if !pending.isEmpty { lines.append(takePending(count: pending.count)) }
                afterCarriageReturn = true
                continue
            default:
                pending.append(byte)
                if pending.count > maximumLineBytes { lines.append(takePending(count: cutPoint())) }
            }
            afterCarriageReturn = false
        }
        return lines
    }

    /// The unterminated last line, if any (when the stream ends).
    mutating func finish() -> String? {
        afterCarriageReturn = false
        return pending.isEmpty ? nil : takePending(count: pending.count)
    }

    /// Where to cut an over-long line: at the limit, moved back to the start of a UTF-8 character.
    private func cutPoint() -> Int {
        var cut = maximumLineBytes
        while cut > maximumLineBytes - 3 && pending[cut] & 0xC0 == 0x80 { cut -= 1 }
        return cut
    }

    private mutating func takePending(count: Int) -> String {
        let line = String(decoding: pending[..<count], as: UTF8.self)
        pending.removeFirst(count)
        return line
    }
}
