extension String {
    /// This text made safe to print in a log line, for text a peer supplied (a host name in a
    /// hello): control characters (newlines, carriage returns, ESC and so every terminal escape
    /// sequence, DEL, C1 controls) and Unicode format characters (bidirectional overrides) become
    /// `?`, and the result is cut to `maxCharacters` with `...` after it. A peer can then neither
    /// forge whole output lines nor move the cursor or recolour the terminal.
    public func sanitizedForDisplay(maxCharacters: Int = 64) -> String {
        var result = ""
        var count = 0
        for scalar in unicodeScalars {
            if count == maxCharacters {
                result += "..."
                break
            }
            let unsafe = scalar.properties.generalCategory == .control || scalar.properties.generalCategory == .format
                || scalar.properties.generalCategory == .lineSeparator || scalar.properties.generalCategory == .paragraphSeparator
            result.unicodeScalars.append(unsafe ? "?" : scalar)
            count += 1
        }
        return result.isEmpty ? "?" : result
    }
}
