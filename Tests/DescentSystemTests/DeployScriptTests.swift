import DescentTransport
import Foundation
import Testing

extension SystemTests {
    /// Deploy/cluster.sh with a hostfile of two hosts. There is no ssh server here, so `ssh` is a
    /// stand-in on PATH that drops the options and the host name and runs the command locally;
    /// everything else (the hostfile, the processes, TCP, the prefixes, the exit status) is real.
    @Test func clusterScriptStartsTheSlotsOfEveryHostAndPrefixesTheirOutput() throws {
        let dir = try Paths.temporaryDirectory("cluster")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticMNIST.write(to: dir, train: 96, test: 10)
        try FileManager.default.createDirectory(atPath: "\(dir)/bin", withIntermediateDirectories: true)
        try """
            #!/bin/sh
            # Stand-in for ssh: drop the options and the host, run the command here.
            while [ $# -gt 0 ]; do case "$1" in -tt|-t) shift ;; -o) shift 2 ;; *) break ;; esac; done
            shift
            exec "$@"
            """.write(toFile: "\(dir)/bin/ssh", atomically: true, encoding: .utf8)
        chmod("\(dir)/bin/ssh", 0o755)
        try "# two hosts\nalpha slots=1\nbeta slots=2\n".write(toFile: "\(dir)/hosts", atomically: true, encoding: .utf8)
        let config = try writeConfig("training:\n  epochs: 2\n  batch_size: 24\n", in: dir)
        let port = 20_000 + Int(getpid()) % 20_000
        let script = Paths.packageRoot.appendingPathComponent("Deploy/cluster.sh").path
        try CurveKeyDirectory.generate(in: "\(dir)/keys", workers: 3)
        let environment = "PATH=\(dir)/bin:/usr/bin:/bin DESCENT=\(Paths.descent) COORDINATOR_ADDRESS=127.0.0.1 PORT=\(port) DATA=\(dir) CURVE_DIR=\(dir)/keys"
        let child = try Child("cluster", executable: "/bin/sh", ["-c", "env \(environment) bash \(script) \(dir)/hosts \(config)"], directory: dir)
        #expect(child.wait(seconds: 120) == 0, "\(child.stdout)\n\(child.stderr)")
        let out = child.stdout
        #expect(out.contains("[coordinator] All 3 workers registered; training starts"), "\(out)")
        for prefix in ["[alpha:0] Worker rank", "[beta:0] Worker rank", "[beta:1] Worker rank"] {
            #expect(out.contains(prefix), "no line starts with \(prefix):\n\(out)")
        }
        #expect(out.contains("[coordinator] Test loss:"))
    }
}
