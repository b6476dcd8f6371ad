#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
import DescentLaunch

extension ProcessGroupTests {
    @Suite("Forwarding signals")
    struct SignalForwarding {
        /// Prints a line when SIGTERM arrives and exits 0; says `ready` once the trap is set.
        static let reportsTerm = #"trap 'echo "got TERM"; exit 0' TERM; echo ready; while :; do sleep 0.05; done"#

        @Test("a stop request sends SIGTERM to the children, keeps their output and returns 128 + signal",
              arguments: [(SIGINT, Int32(130)), (SIGTERM, Int32(143))])
        func stopRequestIsForwarded(signal: Int32, expectedCode: Int32) throws {
            let group = try ProcessGroup(options: .init(gracePeriod: .seconds(30), forwardsSignals: false))
            let lines = CapturedLines()
            lines.onLine = { if $0 == "[trapper] ready" { group.requestStop(signal: signal) } }
            let result = try group.run([shell("trapper", Self.reportsTerm)], output: lines)

            #expect(lines.standardOutputLines == ["[trapper] ready", "[trapper] got TERM"])
            #expect(result.interruptingSignal == signal)
            #expect(result.exitCode == expectedCode)
            #expect(result.child("trapper")?.termination == .exited(status: 0))
            #expect(result.child("trapper")?.stoppedByLaunch == true)
        }

        @Test("a second stop request kills children that outlive the first")
        func secondRequestKills() throws {
            let group = try ProcessGroup(options: .init(gracePeriod: .seconds(30), forwardsSignals: false))
            let lines = CapturedLines()
            lines.onLine = { line in
                if line == "[stubborn] ready" || line == "[stubborn] ignoring TERM" { group.requestStop(signal: SIGINT) }
            }
            let result = try group.run([
                shell("stubborn", #"trap 'echo "ignoring TERM"' TERM; echo ready; while :; do sleep 0.05; done"#),
            ], output: lines)

            #expect(result.child("stubborn")?.termination == .killed(signal: SIGKILL))
            #expect(result.exitCode == 130)
        }

        @Test("the parent-death signal repeated (once per thread of the dying parent) stops the children gracefully, never kills them")
        func repeatedParentDeathSignalIsOneRequest() throws {
            let group = try ProcessGroup(options: .init(gracePeriod: .seconds(30), forwardsSignals: false))
            let lines = CapturedLines()
            lines.onLine = { line in
                if line == "[trapper] ready" { for _ in 0..<4 { group.requestStop(signal: SIGHUP) } }
            }
            let result = try group.run([shell("trapper", Self.reportsTerm)], output: lines)

            #expect(lines.standardOutputLines == ["[trapper] ready", "[trapper] got TERM"])
            #expect(result.child("trapper")?.termination == .exited(status: 0))
            #expect(result.exitCode == 128 + SIGHUP)
        }

        @Test("a real SIGTERM to the launcher reaches the children, and the previous handlers come back")
        func realSignalIsForwarded() throws {
            let termBefore = currentDisposition(of: SIGTERM)
            let interruptBefore = currentDisposition(of: SIGINT)
            let group = try ProcessGroup(options: .init(gracePeriod: .seconds(30), forwardsSignals: true))
            let lines = CapturedLines()
            // The child signals its parent, this test process, once its own trap is set.
            let result = try group.run([
                shell("trapper", #"trap 'echo "got TERM"; exit 0' TERM; kill -TERM $PPID; while :; do sleep 0.05; done"#),
            ], output: lines)

            #expect(lines.standardOutputLines == ["[trapper] got TERM"])
            #expect(result.interruptingSignal == SIGTERM)
            #expect(result.exitCode == 143)
            #expect(currentDisposition(of: SIGTERM) == termBefore)
            #expect(currentDisposition(of: SIGINT) == interruptBefore)
        }

        @Test("SIGPIPE is ignored while the group runs and restored after")
        func brokenPipeCannotKillTheLauncher() throws {
            let before = currentDisposition(of: SIGPIPE)
            let ignored = 1  // SIG_IGN
            var duringRun: [Int] = []
            let lines = CapturedLines()
            lines.onLine = { _ in duringRun.append(currentDisposition(of: SIGPIPE)) }
            _ = try ProcessGroup(options: .init(forwardsSignals: false)).run([shell("c", "echo hi")], output: lines)

            #expect(!duringRun.isEmpty)
            #expect(duringRun.allSatisfy { $0 == ignored })
            #expect(currentDisposition(of: SIGPIPE) == before)
        }
    }
}
