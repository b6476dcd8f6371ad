#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
import DescentLaunch

extension ProcessGroupTests {
    @Suite("Exit policy")
    struct ExitPolicy {
        @Test("a child exiting 3 makes the group stop a sleeping sibling and return 3")
        func failureStopsSiblings() throws {
            let lines = CapturedLines()
            // A long grace period: the sibling must go on SIGTERM, not on a later SIGKILL.
            let group = try ProcessGroup(options: .init(gracePeriod: .seconds(30), forwardsSignals: false))
            let result = try group.run([
                shell("sleeper", "exec sleep 30"),
                shell("failer", "exit 3"),
            ], output: lines)

            #expect(result.exitCode == 3)
            #expect(!result.succeeded)
            #expect(result.child("failer")?.termination == .exited(status: 3))
            #expect(result.child("failer")?.isFailure == true)
            #expect(result.child("sleeper")?.termination == .killed(signal: SIGTERM))
            #expect(result.child("sleeper")?.stoppedByLaunch == true)
            #expect(result.child("sleeper")?.isFailure == false)
            #expect(lines.standardErrorLines.contains("[launch] failer exited with status 3"))
            #expect(lines.standardErrorLines.contains("[launch] sleeper stopped by launch: killed by signal 15 (SIGTERM)"))
        }

        @Test("a child killed by a signal is reported with it, and the exit code is 128 plus the signal")
        func killedChildIsReported() throws {
            let lines = CapturedLines()
            let result = try ProcessGroup(options: .init(forwardsSignals: false)).run([
                shell("victim", "kill -KILL $$"),
            ], output: lines)

            #expect(result.child("victim")?.termination == .killed(signal: 9))
            #expect(result.exitCode == 128 + 9)
            #expect(lines.standardErrorLines.contains("[launch] victim killed by signal 9 (SIGKILL)"))
        }

        @Test("when the primary exits 0, a sibling still running after the grace period is stopped and the launch succeeds")
        func primarySuccessStopsTheRest() throws {
            let lines = CapturedLines()
            let group = try ProcessGroup(options: .init(gracePeriod: .milliseconds(200), forwardsSignals: false))
            let result = try group.run([
                shell("coordinator", "echo finished", isPrimary: true),
                shell("worker 0", "exec sleep 30"),
            ], output: lines)

            #expect(result.exitCode == 0)
            #expect(result.succeeded)
            #expect(result.child("coordinator")?.termination == .exited(status: 0))
            #expect(result.child("worker 0")?.termination == .killed(signal: SIGTERM))
            #expect(result.child("worker 0")?.stoppedByLaunch == true)
            #expect(lines.standardErrorLines.contains("[launch] worker 0 stopped by launch: killed by signal 15 (SIGTERM)"))
        }

        @Test("when the primary exits 0, siblings get the grace period to exit on their own")
        func primarySuccessWaitsForTheRest() throws {
            let marker = uniqueTemporaryPath("primary-done")
            defer { unlink(marker) }
            let group = try ProcessGroup(options: .init(gracePeriod: .seconds(30), forwardsSignals: false))
            let result = try group.run([
                shell("coordinator", #"touch "$MARK""#, environment: ["MARK": marker], isPrimary: true),
                // Exits only after the primary has finished.
                shell("worker 0", #"while [ ! -e "$MARK" ]; do sleep 0.02; done; sleep 0.2; exit 0"#, environment: ["MARK": marker]),
            ], output: CapturedLines())

            #expect(result.exitCode == 0)
            #expect(result.child("worker 0")?.termination == .exited(status: 0))
            #expect(result.child("worker 0")?.stoppedByLaunch == false)
        }

        @Test("a sibling that ignores SIGTERM is killed once the grace period is over")
        func stubbornSiblingIsKilled() throws {
            let marker = uniqueTemporaryPath("stubborn-ready")
            defer { unlink(marker) }
            let lines = CapturedLines()
            let group = try ProcessGroup(options: .init(gracePeriod: .milliseconds(200), forwardsSignals: false))
            let result = try group.run([
                shell("stubborn", #"trap '' TERM; touch "$MARK"; while :; do sleep 0.05; done"#, environment: ["MARK": marker]),
                // Fails only once the sibling ignores SIGTERM.
                shell("failer", #"while [ ! -e "$MARK" ]; do sleep 0.02; done; exit 4"#, environment: ["MARK": marker]),
            ], output: lines)

            #expect(result.exitCode == 4)
            #expect(result.child("stubborn")?.termination == .killed(signal: SIGKILL))
            #expect(result.child("stubborn")?.stoppedByLaunch == true)
            #expect(lines.standardErrorLines.contains { $0.hasPrefix("[launch] killing stubborn") })
        }
    }
}
