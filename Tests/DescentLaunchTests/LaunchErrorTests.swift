#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
import DescentLaunch

extension ProcessGroupTests {
    @Suite("Errors before and while starting")
    struct StartErrors {
        let group: ProcessGroup

        init() throws {
            group = try ProcessGroup(options: .init(gracePeriod: .seconds(5), forwardsSignals: false))
        }

        @Test("a missing executable throws an error naming the path")
        func missingExecutable() throws {
            let path = uniqueTemporaryPath("no-such-program")
            let error = #expect(throws: LaunchError.self) {
                try group.run([ChildProcess(label: "worker 0", executablePath: path)], output: CapturedLines())
            }
            #expect(error == .executableNotFound(label: "worker 0", path: path))
            #expect(error?.description.contains("'\(path)'") == true)
        }

        @Test("a directory given as the executable throws an error saying so")
        func directoryIsNotExecutable() throws {
            let error = #expect(throws: LaunchError.self) {
                try group.run([ChildProcess(label: "worker 0", executablePath: "/tmp")], output: CapturedLines())
            }
            #expect(error?.description.contains("'/tmp' is a directory") == true)
        }

        @Test("a file without execute permission throws an error naming it, and nothing is started")
        func fileWithoutPermission() throws {
            let path = uniqueTemporaryPath("not-executable")
            writeFile(path, "#!/bin/sh\necho hello\n", mode: 0o644)
            defer { unlink(path) }
            let lines = CapturedLines()
            let error = #expect(throws: LaunchError.self) {
                try group.run([
                    shell("first", "echo started"),
                    ChildProcess(label: "second", executablePath: path),
                ], output: lines)
            }
            #expect(error?.description.contains("'\(path)' is not executable") == true)
            #expect(lines.standardOutputLines.isEmpty)
        }

        @Test("when the system refuses to start a child, the ones already started are stopped and named")
        func spawnFailureStopsStartedChildren() throws {
            // Executable by permission but not a program: execve fails with ENOEXEC.
            let path = uniqueTemporaryPath("not-a-program")
            writeFile(path, "this is not a program\n", mode: 0o755)
            defer { unlink(path) }
            let lines = CapturedLines()
            let error = #expect(throws: LaunchError.self) {
                try group.run([
                    shell("sleeper", "exec sleep 30"),
                    ChildProcess(label: "broken", executablePath: path),
                ], output: lines)
            }
            guard case .spawnFailed(let label, let failedPath, _, let stopped)? = error else {
                Issue.record("expected spawnFailed, got \(String(describing: error))")
                return
            }
            #expect(label == "broken")
            #expect(failedPath == path)
            #expect(stopped == ["sleeper"])
            #expect(lines.standardErrorLines.contains("[launch] could not start broken; stopping sleeper"))
        }

        @Test("no children, or two primaries, are refused")
        func invalidGroups() throws {
            #expect(throws: LaunchError.noProcesses) { try group.run([], output: CapturedLines()) }
            #expect(throws: LaunchError.severalPrimaries(labels: ["a", "b"])) {
                try group.run([shell("a", "true", isPrimary: true), shell("b", "true", isPrimary: true)], output: CapturedLines())
            }
        }
    }
}
