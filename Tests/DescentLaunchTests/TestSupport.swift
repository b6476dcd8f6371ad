#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
@testable import DescentLaunch

/// Keeps the lines a group relays, and lets a test react to a line as it arrives.
final class CapturedLines: LineSink {
    private(set) var standardOutputLines: [String] = []
    private(set) var standardErrorLines: [String] = []
    /// Called with every line, after it is stored.
    var onLine: (String) -> Void = { _ in }

    func standardOutput(_ line: String) {
        standardOutputLines.append(line)
        onLine(line)
    }

    func standardError(_ line: String) {
        standardErrorLines.append(line)
        onLine(line)
    }
}

/// A child that runs `script` with /bin/sh.
func shell(_ label: String, _ script: String, environment: [String: String] = [:], isPrimary: Bool = false) -> ChildProcess {
    ChildProcess(label: label, executablePath: "/bin/sh", arguments: ["-c", script],
                 environment: environment, isPrimary: isPrimary)
}

/// A path in /tmp no other test or run uses, for marker files.
func uniqueTemporaryPath(_ name: String) -> String {
    "/tmp/descent-launch-test-\(getpid())-\(UInt64.random(in: 0...UInt64.max))-\(name)"
}

/// Creates a file at `path` holding `contents` with permissions `mode`.
func writeFile(_ path: String, _ contents: String, mode: mode_t) {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode)
    precondition(descriptor >= 0, "cannot create test file \(path)")
    var contents = contents
    contents.withUTF8 { _ = write(descriptor, $0.baseAddress, $0.count) }
    close(descriptor)
    chmod(path, mode)
}

/// The raw handler address of `signal`'s current disposition (SIG_DFL is 0, SIG_IGN is 1).
func currentDisposition(of signal: Int32) -> Int {
    var action = sigaction()
    sigaction(signal, nil, &action)
    #if os(Linux)
    return unsafeBitCast(action.__sigaction_handler.sa_handler, to: Int.self)
    #else
    return unsafeBitCast(action.__sigaction_u.__sa_handler, to: Int.self)
    #endif
}

/// Every test that starts processes runs under this suite, one at a time: a group changes
/// process-wide signal dispositions while it runs.
@Suite("Process groups", .serialized, .timeLimit(.minutes(1)))
struct ProcessGroupTests {}
