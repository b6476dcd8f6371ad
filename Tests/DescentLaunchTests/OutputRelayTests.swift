#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
import DescentLaunch

extension ProcessGroupTests {
    @Suite("Relaying output")
    struct OutputRelay {
        let options = ProcessGroup.Options(gracePeriod: .seconds(5), forwardsSignals: false)

        @Test("every line of two children arrives whole, prefixed with its label, in order")
        func twoChildrenLinesArriveWhole() throws {
            let script = #"i=1; while [ $i -le 200 ]; do echo "line $i of $NAME"; i=$((i+1)); done"#
            let lines = CapturedLines()
            let result = try ProcessGroup(options: options).run([
                shell("alpha", script, environment: ["NAME": "alpha"]),
                shell("beta", script, environment: ["NAME": "beta"]),
            ], output: lines)

            #expect(result.exitCode == 0)
            #expect(lines.standardOutputLines.count == 400)
            for name in ["alpha", "beta"] {
                let expected = (1...200).map { "[\(name)] line \($0) of \(name)" }
                #expect(lines.standardOutputLines.filter { $0.hasPrefix("[\(name)] ") } == expected)
            }
        }

        @Test("standard error lines go to the error path, standard output lines to the output path")
        func streamsKeepTheirPaths() throws {
            let lines = CapturedLines()
            _ = try ProcessGroup(options: options).run([
                shell("worker 1", "echo to-out; echo to-err >&2"),
            ], output: lines)

            #expect(lines.standardOutputLines == ["[worker 1] to-out"])
            #expect(lines.standardErrorLines.contains("[worker 1] to-err"))
            #expect(!lines.standardErrorLines.contains("[worker 1] to-out"))
        }

        @Test("an unterminated last line is relayed when the child exits")
        func partialLastLine() throws {
            let lines = CapturedLines()
            _ = try ProcessGroup(options: options).run([shell("c", "printf 'no newline'")], output: lines)
            #expect(lines.standardOutputLines == ["[c] no newline"])
        }

        @Test("carriage-return progress redraws arrive as separate lines")
        func progressRedraws() throws {
            let lines = CapturedLines()
            _ = try ProcessGroup(options: options).run([
                shell("c", #"printf 'progress 1\rprogress 2\rdone\n'"#),
            ], output: lines)
            #expect(lines.standardOutputLines == ["[c] progress 1", "[c] progress 2", "[c] done"])
        }

        @Test("a child gets the extra environment, the launcher's environment, and an empty stdin")
        func environmentAndStandardInput() throws {
            let launcherPath = getenv("PATH").map { String(cString: $0) } ?? ""
            let lines = CapturedLines()
            _ = try ProcessGroup(options: options).run([
                shell("c", #"echo "value=$DESCENT_TEST_VALUE"; echo "path=$PATH"; if read line; then echo "read a line"; else echo "stdin empty"; fi"#,
                      environment: ["DESCENT_TEST_VALUE": "42"]),
            ], output: lines)
            #expect(lines.standardOutputLines == ["[c] value=42", "[c] path=\(launcherPath)", "[c] stdin empty"])
        }

        @Test("the launch ends with one report per child on the error path")
        func endingReports() throws {
            let lines = CapturedLines()
            _ = try ProcessGroup(options: options).run([
                shell("coordinator", "exit 0", isPrimary: true),
            ], output: lines)
            #expect(lines.standardErrorLines == ["[launch] coordinator exited with status 0"])
        }
    }
}
