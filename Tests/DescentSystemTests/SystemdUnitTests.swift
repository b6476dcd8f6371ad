import Foundation
import Testing

/// The units in Deploy/systemd, checked by systemd's own `systemd-analyze verify` (with the
/// binary's path pointed at the built `descent`), and their ExecStart lines against the flags
/// the binary accepts.
@Suite struct SystemdUnitTests {
    static let units = ["descent-coordinator.service", "descent-worker@.service"]
    static let toolReason = Command.exists("systemd-analyze") ? nil : "systemd-analyze is absent (Debian's systemd package)"

    /// Copies the units into a scratch directory with /usr/local/bin/descent replaced by the
    /// built binary (verify checks that the command exists), and optionally breaks one line.
    static func scratchCopy(replacing: (String, String)? = nil) throws -> String {
        let dir = try Paths.temporaryDirectory("systemd")
        for unit in units {
            var text = try String(contentsOfFile: Paths.packageRoot.appendingPathComponent("Deploy/systemd/\(unit)").path, encoding: .utf8)
            text = text.replacingOccurrences(of: "/usr/local/bin/descent", with: Paths.descent)
            if let (old, new) = replacing { text = text.replacingOccurrences(of: old, with: new) }
            try text.write(toFile: "\(dir)/\(unit)", atomically: true, encoding: .utf8)
        }
        return dir
    }

    /// `systemd-analyze verify` of the units; its status and every line it printed about them.
    static func verify(in dir: String) throws -> (status: Int32, complaints: [String]) {
        let result = try Command.run(["systemd-analyze", "verify", "--man=no"] + units.map { "./\($0)" } + ["./descent-worker@0.service"],
                                     directory: dir)
        let complaints = result.output.split(separator: "\n").map(String.init).filter { $0.contains("descent-") }
        return (result.status, complaints)
    }

    @Test(.enabled(if: toolReason == nil, "\(toolReason ?? "")"))
    func unitsPassSystemdAnalyzeVerify() throws {
        let dir = try Self.scratchCopy()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let verified = try Self.verify(in: dir)
        #expect(verified.status == 0 && verified.complaints.isEmpty, "\(verified.complaints.joined(separator: "\n"))")
    }

    /// The check above can fail: a misspelt restart policy is reported.
    @Test(.enabled(if: toolReason == nil, "\(toolReason ?? "")"))
    func verifyReportsAMisspeltRestartPolicy() throws {
        let dir = try Self.scratchCopy(replacing: ("Restart=on-failure", "Restart=on-failures"))
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let verified = try Self.verify(in: dir)
        #expect(verified.complaints.contains { $0.contains("on-failures") }, "\(verified.complaints)")
    }

    /// Reads a unit's `Key=value` lines (continuations joined), in order.
    static func settings(_ unit: String) throws -> [(key: String, value: String)] {
        let text = try String(contentsOfFile: Paths.packageRoot.appendingPathComponent("Deploy/systemd/\(unit)").path, encoding: .utf8)
        return text.replacingOccurrences(of: "\\\n", with: " ").split(separator: "\n").compactMap { line in
            guard !line.hasPrefix("#"), !line.hasPrefix("["), let equals = line.firstIndex(of: "=") else { return nil }
            return (String(line[..<equals]), String(line[line.index(after: equals)...]))
        }
    }

    @Test(arguments: [("descent-coordinator.service", "coordinator"), ("descent-worker@.service", "worker")])
    func execStartNamesOnlyFlagsTheBinaryAccepts(unit: String, subcommand: String) throws {
        let settings = try Self.settings(unit)
        let execStart = try #require(settings.first { $0.key == "ExecStart" }?.value)
        let words = execStart.split(whereSeparator: \.isWhitespace).map(String.init)
        #expect(words.first == "/usr/local/bin/descent" && words.dropFirst().first == subcommand, "\(words)")
        let accepted = try DescentFlags.of([subcommand])
        let unknown = DescentFlags.used(in: words).filter { !accepted.contains($0) }
        #expect(unknown.isEmpty, "\(unit) passes flags `descent \(subcommand)` does not accept: \(unknown)")
    }

    @Test func restartPoliciesRetryFailuresButNotBadCommandLines() throws {
        for unit in Self.units {
            let settings = Dictionary(try Self.settings(unit).map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
            #expect(settings["Restart"] == "on-failure", "\(unit)")
            // descent exits 64 (EX_USAGE) on a bad command line: restarting cannot help.
            #expect(settings["RestartPreventExitStatus"] == "64", "\(unit)")
            // The keys arrive as credentials, not as environment variables.
            #expect(settings["LoadCredential"] == "curve:/etc/descent/curve", "\(unit)")
        }
        // The exit status the units rely on, from the binary itself.
        let bad = try Command.run([Paths.descent, "coordinator", "--workers", "0"])
        #expect(bad.status == 64, "\(bad.output)")
    }
}
