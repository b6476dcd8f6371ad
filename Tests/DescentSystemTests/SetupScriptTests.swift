import Foundation
import Testing

/// Deploy/setup.sh, README's first command, run as a real bash script against stand-ins for the
/// package manager (dpkg-query, apt-get, sudo) and the compiler (swift) on PATH: the packages
/// present, the runs of apt-get and swift and the user (root or not) are what the test chooses.
@Suite(.serialized) struct SetupScriptTests {
    /// A scratch copy of the script in a directory laid out like the repository, with stand-ins.
    struct Sandbox {
        let root: String
        var bin: String { root + "/bin" }
        var log: String { root + "/calls.log" }

        /// `installed` are the packages the stand-in dpkg-query reports installed.
        init(installed: [String], sudo: String? = nil) throws {
            root = try Paths.temporaryDirectory("setup")
            let fm = FileManager.default
            for dir in ["bin", "repo/Deploy", "repo/Sources/DescentCLI"] {
                try fm.createDirectory(atPath: "\(root)/\(dir)", withIntermediateDirectories: true)
            }
            try fm.copyItem(atPath: Paths.packageRoot.appendingPathComponent("Deploy/setup.sh").path, toPath: "\(root)/repo/Deploy/setup.sh")
            try "// swift-tools-version:6.0\n".write(toFile: "\(root)/repo/Package.swift", atomically: true, encoding: .utf8)
            try "print(1)\n".write(toFile: "\(root)/repo/Sources/DescentCLI/main.swift", atomically: true, encoding: .utf8)
            _ = fm.createFile(atPath: log, contents: nil)
            let list = installed.joined(separator: " ")
            try script("dpkg-query", """
                # Stand-in: prints dpkg's status line for the packages in the list only.
                pkg=""; for a in "$@"; do pkg=$a; done
                for p in \(list); do [ "$p" = "$pkg" ] && { printf 'install ok installed'; exit 0; }; done
                echo "dpkg-query: no packages found matching $pkg" >&2; exit 1
                """)
            try script("apt-get", #"echo "apt-get $* (uid $(id -u))" >> \#(log)"#)
            try script("swift", """
                # Stand-in compiler: records the call, writes a binary that echoes its arguments.
                echo "swift $*" >> \(log)
                mkdir -p .build/release
                printf '#!/bin/sh\\necho "descent stand-in: $*"\\n' > .build/release/descent
                chmod +x .build/release/descent
                """)
            if let sudo { try script("sudo", sudo) }
            chmod(root, 0o777); chmod(log, 0o666)
            for dir in ["repo", "repo/Deploy", "repo/Sources", "repo/Sources/DescentCLI"] { chmod("\(root)/\(dir)", 0o777) }
        }

        func script(_ name: String, _ body: String) throws {
            try writeExecutable("#!/bin/sh\n\(body)\n", to: "\(bin)/\(name)")
        }

        /// Runs the script (as `uid` when given) with the stand-ins first on PATH.
        func run(_ arguments: [String], uid: Int? = nil) throws -> (status: Int32, out: String, err: String) {
            var command = ["env", "-i", "PATH=\(bin):/usr/bin:/bin", "HOME=\(root)", "SWIFT=\(bin)/swift",
                           "bash", "\(root)/repo/Deploy/setup.sh"] + arguments
            if let uid { command = ["setpriv", "--reuid=\(uid)", "--regid=\(uid)", "--clear-groups"] + command }
            let child = try Child("setup-\(UInt32.random(in: 0...UInt32.max))", executable: "/usr/bin/env", command, directory: root)
            let status = child.wait(seconds: 60)
            return (status, child.stdout, child.stderr)
        }

        var calls: [String] { ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init) }

        func remove() { try? FileManager.default.removeItem(atPath: root) }
    }

    static let buildPackages = ["libzmq3-dev", "libopenblas-dev", "zlib1g-dev", "pkg-config"]

    @Test func asRootInstallsOnlyTheMissingPackagesAndSaysWhich() throws {
        let box = try Sandbox(installed: ["libopenblas-dev", "pkg-config"])
        defer { box.remove() }
        let result = try box.run(["--install-only"])
        #expect(result.status == 0, "\(result.err)")
        #expect(result.out.contains("setup: installing missing packages: libzmq3-dev zlib1g-dev\n"), "\(result.out)")
        #expect(box.calls == ["apt-get update -qq (uid 0)", "apt-get install -y -qq libzmq3-dev zlib1g-dev (uid 0)"])
    }

    @Test func installsNothingWhenEveryPackageIsThere() throws {
        let box = try Sandbox(installed: Self.buildPackages)
        defer { box.remove() }
        let result = try box.run(["--install-only"])
        #expect(result.status == 0, "\(result.err)")
        #expect(result.out.contains("setup: packages present: libzmq3-dev libopenblas-dev zlib1g-dev pkg-config"), "\(result.out)")
        #expect(box.calls.isEmpty)
    }

    @Test func withTestToolsAlsoInstallsSlurmMungeAndTheNetworkTools() throws {
        let box = try Sandbox(installed: Self.buildPackages + ["python3", "systemd"])
        defer { box.remove() }
        let result = try box.run(["--install-only", "--with-test-tools"])
        #expect(result.status == 0, "\(result.err)")
        #expect(box.calls.last == "apt-get install -y -qq iproute2 slurm-wlm munge nftables (uid 0)", "\(box.calls)")
    }

    @Test(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"),
                   "needs root and setpriv to run the script as another user"))
    func asAnotherUserInstallsThroughSudo() throws {
        let box = try Sandbox(installed: ["libzmq3-dev", "zlib1g-dev", "pkg-config"], sudo: """
            # Stand-in sudo: never asks; runs the command as it is (the test checks that it was asked).
            [ "$1" = -n ] && shift
            [ "$1" = true ] && exit 0
            echo "sudo $1 $2 $3 ..." >> \(Sandbox.logPlaceholder)
            exec "$@"
            """)
        defer { box.remove() }
        let result = try box.run(["--install-only"], uid: 65534)
        #expect(result.status == 0, "\(result.err)")
        #expect(result.out.contains("setup: installing missing packages: libopenblas-dev (through sudo)"), "\(result.out)")
        // The stand-in sudo does not change the user: apt-get ran through it, as the caller.
        #expect(box.calls == ["sudo env DEBIAN_FRONTEND=noninteractive apt-get ...", "apt-get update -qq (uid 65534)",
                              "sudo env DEBIAN_FRONTEND=noninteractive apt-get ...", "apt-get install -y -qq libopenblas-dev (uid 65534)"],
                "\(box.calls)")
    }

    @Test(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"),
                   "needs root and setpriv to run the script as another user"))
    func withoutRootOrSudoNamesThePackagesAndExitsTwo() throws {
        let box = try Sandbox(installed: ["pkg-config"], sudo: """
            echo "sudo: a password is required" >&2
            exit 1
            """)
        defer { box.remove() }
        let result = try box.run(["launch", "--workers", "2"], uid: 65534)
        #expect(result.status == 2)
        #expect(result.err.contains("missing Debian packages: libzmq3-dev libopenblas-dev zlib1g-dev"), "\(result.err)")
        #expect(result.err.contains("apt-get install libzmq3-dev libopenblas-dev zlib1g-dev"), "\(result.err)")
        #expect(box.calls.isEmpty, "nothing installed, nothing built: \(box.calls)")
    }

    @Test func buildsWhenTheBinaryIsMissingOrStaleAndThenRunsIt() throws {
        let box = try Sandbox(installed: Self.buildPackages)
        defer { box.remove() }
        // No binary yet: built, then run with the arguments.
        var result = try box.run(["launch", "--config", "x.yaml", "--workers", "2"])
        #expect(result.status == 0, "\(result.err)")
        #expect(result.out.contains("setup: building the release binary (no release binary yet)"), "\(result.out)")
        #expect(result.out.contains("setup: running: descent launch --config x.yaml --workers 2"))
        #expect(result.out.contains("descent stand-in: launch --config x.yaml --workers 2"))
        #expect(box.calls == ["swift build -c release --product descent"])

        // Nothing changed: not built again.
        result = try box.run(["train"])
        #expect(result.out.contains("setup: release binary up to date: .build/release/descent"), "\(result.out)")
        #expect(result.out.contains("descent stand-in: train"))
        #expect(box.calls.count == 1)

        // A source file newer than the binary: built again, and the output says which file.
        let binary = "\(box.root)/repo/.build/release/descent"
        let built = try FileManager.default.attributesOfItem(atPath: binary)[.modificationDate] as! Date
        try FileManager.default.setAttributes([.modificationDate: built.addingTimeInterval(5)],
                                              ofItemAtPath: "\(box.root)/repo/Sources/DescentCLI/main.swift")
        result = try box.run(["train"])
        #expect(result.out.contains("setup: building the release binary (Sources/DescentCLI/main.swift changed since the last build)"), "\(result.out)")
        #expect(box.calls.count == 2)
    }
}

extension SetupScriptTests.Sandbox {
    /// Replaced by the log's path in stand-in bodies that are written before the sandbox exists.
    static let logPlaceholder = "\"$(dirname \"$0\")/../calls.log\""
}
