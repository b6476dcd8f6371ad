import DescentCore
import Testing

@Suite("Peer text made safe to print")
struct DisplayTextTests {
    @Test("control characters, escapes and bidirectional overrides become '?'", arguments: [
        ("node-1", "node-1"),
        ("a\nTest loss: 0.0", "a?Test loss: 0.0"),
        ("x\r\u{1b}[2J", "x??[2J"),
        ("\u{1b}]0;title\u{07}", "?]0;title?"),
        ("tab\there\u{7f}", "tab?here?"),
        ("c1\u{85}\u{9b}", "c1??"),
        ("rtl\u{202e}gnp.exe", "rtl?gnp.exe"),
        ("line\u{2028}sep", "line?sep"),
        ("", "?"),
        ("hôte-ünïcode", "hôte-ünïcode"),
    ])
    func unsafeCharactersAreReplaced(input: String, expected: String) {
        #expect(input.sanitizedForDisplay() == expected)
    }

    @Test("long text is cut to the limit with '...'")
    func longTextIsCut() {
        #expect(String(repeating: "h", count: 1000).sanitizedForDisplay(maxCharacters: 10) == "hhhhhhhhhh...")
        #expect(String(repeating: "h", count: 10).sanitizedForDisplay(maxCharacters: 10) == "hhhhhhhhhh")
    }
}
