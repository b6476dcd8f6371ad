import Testing
@testable import DescentLaunch

@Suite("Splitting output into lines")
struct LineSplitterTests {
    @Test("newlines end lines and empty lines are kept")
    func newlinesEndLines() {
        var splitter = LineSplitter(maximumLineBytes: 100)
        #expect(splitter.append(Array("a\n\nb\n".utf8)) == ["a", "", "b"])
        #expect(splitter.finish() == nil)
    }

    @Test("a line split across reads is joined")
    func linesAcrossReads() {
        var splitter = LineSplitter(maximumLineBytes: 100)
        #expect(splitter.append(Array("hel".utf8)) == [])
        #expect(splitter.append(Array("lo\nwor".utf8)) == ["hello"])
        #expect(splitter.append(Array("ld\n".utf8)) == ["world"])
    }

    @Test("CRLF ends one line, not two")
    func carriageReturnLineFeed() {
        var splitter = LineSplitter(maximumLineBytes: 100)
        #expect(splitter.append(Array("a\r\nb\r\n".utf8)) == ["a", "b"])
    }

    @Test("carriage-return redraws become plain lines without empty ones")
    func progressRedraws() {
        var splitter = LineSplitter(maximumLineBytes: 100)
        #expect(splitter.append(Array("\r10%\r20%\r\n".utf8)) == ["10%", "20%"])
    }

    @Test("an over-long line is cut at the limit")
    func longLineIsCut() {
        var splitter = LineSplitter(maximumLineBytes: 8)
        #expect(splitter.append(Array("abcdefghijkl\n".utf8)) == ["abcdefgh", "ijkl"])
    }

    @Test("an over-long line is not cut inside a UTF-8 character")
    func cutKeepsCharactersWhole() {
        var splitter = LineSplitter(maximumLineBytes: 8)
        // "é" is two bytes, the 8th and 9th of the line: the cut moves before it.
        #expect(splitter.append(Array("abcdefgéxyz\n".utf8)) == ["abcdefg", "éxyz"])
    }

    @Test("the unterminated last line comes out once at the end")
    func unterminatedLastLine() {
        var splitter = LineSplitter(maximumLineBytes: 100)
        #expect(splitter.append(Array("done\ntail".utf8)) == ["done"])
        #expect(splitter.finish() == "tail")
        #expect(splitter.finish() == nil)
    }

    @Test("invalid UTF-8 is replaced, not dropped")
    func invalidBytesAreReplaced() {
        var splitter = LineSplitter(maximumLineBytes: 100)
        #expect(splitter.append([0x66, 0xFF, 0x0A]) == ["f\u{FFFD}"])
    }
}

@Suite("Decoding wait statuses")
struct ChildTerminationTests {
    @Test("an exit status sits in the second byte")
    func exitStatus() {
        #expect(ChildTermination(waitStatus: 3 << 8) == .exited(status: 3))
        #expect(ChildTermination(waitStatus: 0) == .exited(status: 0))
    }

    @Test("a terminating signal sits in the low seven bits, with 128 added for the shell code")
    func terminatingSignal() {
        let killed = ChildTermination(waitStatus: 9)
        #expect(killed == .killed(signal: 9))
        #expect(killed.shellExitCode == 137)
        // 0x80 is the core-dump flag; the signal is still 11.
        #expect(ChildTermination(waitStatus: 0x80 | 11) == .killed(signal: 11))
    }
}
