import Foundation
import Testing
import Yams

/// Deploy/kubernetes: no cluster or container engine runs here, so the manifests are read with
/// Yams and checked against each other (ports, labels, names, mounts, counts) and against the
/// real binary (the flags its subcommands accept, the config it loads), and the Dockerfile's
/// runtime packages against the shared libraries the built binary links.
@Suite struct KubernetesManifestTests {
    static let directory = Paths.packageRoot.appendingPathComponent("Deploy/kubernetes").path

    /// Every document of every manifest named in kustomization.yaml.
    static func documents() throws -> [[String: Any]] {
        let kustomization = try #require(try Yams.load(yaml: String(contentsOfFile: "\(directory)/kustomization.yaml", encoding: .utf8)) as? [String: Any])
        let files = try #require(kustomization["resources"] as? [String])
        return try files.flatMap { file in
            try Yams.load_all(yaml: String(contentsOfFile: "\(directory)/\(file)", encoding: .utf8)).compactMap { $0 as? [String: Any] }
        }
    }

    static func object(_ documents: [[String: Any]], kind: String, name: String) throws -> [String: Any] {
        try #require(documents.first { $0["kind"] as? String == kind && (($0["metadata"] as? [String: Any])?["name"] as? String) == name },
                     "no \(kind) \(name)")
    }

    /// Follows a path of keys and indexes through decoded YAML.
    static func at(_ value: Any?, _ path: Any...) -> Any? {
        var current = value
        for step in path {
            if let key = step as? String { current = (current as? [String: Any])?[key] }
            else if let index = step as? Int { current = (current as? [Any]).flatMap { $0.indices.contains(index) ? $0[index] : nil } }
        }
        return current
    }

    static func container(_ podOwner: [String: Any]) throws -> [String: Any] {
        try #require(at(podOwner, "spec", "template", "spec", "containers", 0) as? [String: Any])
    }

    /// The value after `flag` in a container's args.
    static func value(of flag: String, in args: [String]) -> String? {
        guard let index = args.firstIndex(of: flag), index + 1 < args.count else { return nil }
        return args[index + 1]
    }

    @Test func containersPassOnlyFlagsTheBinaryAcceptsBesideTheMarkedPlaceholders() throws {
        let documents = try Self.documents()
        var checked = 0
        for document in documents {
            let pod = Self.at(document, "spec", "template", "spec") as? [String: Any]
            let containers = ((pod?["containers"] as? [Any]) ?? []) + ((pod?["initContainers"] as? [Any]) ?? [])
            for case let container as [String: Any] in containers {
                let args = try #require(container["args"] as? [String])
                // The subcommand path: leading words that are not flags (e.g. ["data", "fetch"]).
                let subcommand = Array(args.prefix { !$0.hasPrefix("-") })
                let accepted = try DescentFlags.of(subcommand)
                #expect(!accepted.isEmpty, "descent \(subcommand) printed no flags")
                for flag in DescentFlags.used(in: args) where !accepted.contains(flag) {
                    #expect(DescentFlags.placeholders.contains(flag), "descent \(subcommand.joined(separator: " ")) does not accept \(flag)")
                    print("Kubernetes: \(flag) is a placeholder; `descent \(subcommand.joined(separator: " "))` does not accept it yet")
                }
                checked += 1
            }
        }
        #expect(checked == 4, "coordinator, workers and their two fetch init containers")
        // Each placeholder flag is marked where it is used.
        for file in ["coordinator.yaml", "workers.yaml"] {
            let text = try String(contentsOfFile: "\(Self.directory)/\(file)", encoding: .utf8)
            for flag in DescentFlags.placeholders where text.contains("- \(flag)\n") {
                let before = text[..<text.range(of: "- \(flag)\n")!.lowerBound].suffix(400)
                #expect(before.contains("PLACEHOLDER"), "\(file): \(flag) is not marked PLACEHOLDER")
            }
        }
    }

    @Test func workersReachTheCoordinatorThroughItsServiceOnTheBoundPort() throws {
        let documents = try Self.documents()
        let service = try Self.object(documents, kind: "Service", name: "descent-coordinator")
        let coordinator = try Self.object(documents, kind: "StatefulSet", name: "descent-coordinator")
        let workers = try Self.object(documents, kind: "Job", name: "descent-workers")

        // The Service selects exactly the coordinator's pods, not the workers'.
        let selector = try #require(Self.at(service, "spec", "selector") as? [String: String])
        let coordinatorLabels = try #require(Self.at(coordinator, "spec", "template", "metadata", "labels") as? [String: String])
        let workerLabels = try #require(Self.at(workers, "spec", "template", "metadata", "labels") as? [String: String])
        #expect(selector.allSatisfy { coordinatorLabels[$0.key] == $0.value })
        #expect(!selector.allSatisfy { workerLabels[$0.key] == $0.value })
        #expect(Self.at(coordinator, "spec", "selector", "matchLabels") as? [String: String] == coordinatorLabels)
        #expect(Self.at(coordinator, "spec", "serviceName") as? String == "descent-coordinator")

        // One port: the Service's, the container's (by name) and the one --bind binds.
        let servicePort = try #require(Self.at(service, "spec", "ports", 0) as? [String: Any])
        let coordinatorContainer = try Self.container(coordinator)
        let containerPort = try #require(Self.at(coordinatorContainer, "ports", 0) as? [String: Any])
        #expect(servicePort["targetPort"] as? String == containerPort["name"] as? String)
        let port = try #require(containerPort["containerPort"] as? Int)
        #expect(servicePort["port"] as? Int == port)
        let coordinatorArgs = try #require(coordinatorContainer["args"] as? [String])
        #expect(Self.value(of: "--bind", in: coordinatorArgs) == "tcp://0.0.0.0:\(port)")
        let workerArgs = try #require(try Self.container(workers)["args"] as? [String])
        #expect(Self.value(of: "--connect", in: workerArgs) == "tcp://descent-coordinator:\(port)")

        // As many worker pods as the coordinator waits for, each with its own rank.
        let count = Int(try #require(Self.value(of: "--workers", in: coordinatorArgs)))
        #expect(Self.at(workers, "spec", "completions") as? Int == count)
        #expect(Self.at(workers, "spec", "parallelism") as? Int == count)
        #expect(Self.at(workers, "spec", "completionMode") as? String == "Indexed")
        #expect(Self.value(of: "--rank", in: workerArgs) == "$(JOB_COMPLETION_INDEX)")
    }

    @Test func configSecretAndStateVolumesAreMountedWhereTheFlagsPoint() throws {
        let documents = try Self.documents()
        let configMap = try Self.object(documents, kind: "ConfigMap", name: "descent-config")
        let secret = try Self.object(documents, kind: "Secret", name: "descent-curve")
        for owner in [try Self.object(documents, kind: "StatefulSet", name: "descent-coordinator"),
                      try Self.object(documents, kind: "Job", name: "descent-workers")] {
            let container = try Self.container(owner)
            let args = try #require(container["args"] as? [String])
            let mounts = try #require(container["volumeMounts"] as? [[String: Any]])
            let volumes = try #require(Self.at(owner, "spec", "template", "spec", "volumes") as? [[String: Any]])
            func volume(mountedAt path: String) -> [String: Any]? {
                guard let mount = mounts.first(where: { path == $0["mountPath"] as? String || path.hasPrefix(($0["mountPath"] as? String ?? "?") + "/") }) else { return nil }
                return volumes.first { $0["name"] as? String == mount["name"] as? String }
                    ?? ["claim": mount["name"] as Any]  // a StatefulSet's volumeClaimTemplate
            }
            // --config is the ConfigMap's key, through a subPath mount.
            let configPath = try #require(Self.value(of: "--config", in: args))
            let configVolume = try #require(volume(mountedAt: configPath))
            #expect(Self.at(configVolume, "configMap", "name") as? String == "descent-config")
            let mount = try #require(mounts.first { $0["mountPath"] as? String == configPath })
            let key = try #require(mount["subPath"] as? String)
            #expect((configMap["data"] as? [String: String])?[key] != nil)
            // --curve-dir is the Secret.
            let curve = try #require(Self.value(of: "--curve-dir", in: args))
            #expect(Self.at(try #require(volume(mountedAt: curve)), "secret", "secretName") as? String == "descent-curve")
            #expect((secret["stringData"] as? [String: String])?.isEmpty == false)
        }
        // The coordinator's trace, parameters and checkpoints are on its persistent volume.
        let coordinator = try Self.object(documents, kind: "StatefulSet", name: "descent-coordinator")
        let args = try #require(try Self.container(coordinator)["args"] as? [String])
        let claim = try #require(Self.at(coordinator, "spec", "volumeClaimTemplates", 0, "metadata", "name") as? String)
        let mounts = try #require(try Self.container(coordinator)["volumeMounts"] as? [[String: Any]])
        let stateDir = try #require(mounts.first { $0["name"] as? String == claim }?["mountPath"] as? String)
        for flag in ["--trace", "--save", "--checkpoint-dir"] {
            #expect(Self.value(of: flag, in: args)?.hasPrefix(stateDir + "/") == true, "\(flag) is not on the volume \(stateDir)")
        }
    }

    @Test func theConfigMapsRunConfigIsOneTheBinaryLoads() throws {
        let documents = try Self.documents()
        let configMap = try Self.object(documents, kind: "ConfigMap", name: "descent-config")
        let yaml = try #require((configMap["data"] as? [String: String])?["run.yaml"])
        let dir = try Paths.temporaryDirectory("k8s-config")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = try writeConfig(yaml, in: dir)
        // `descent schedule` loads the config strictly (unknown keys and bad values refused).
        let result = try Command.run([Paths.descent, "schedule", "--config", path, "--steps", "0:2000:1000"])
        #expect(result.status == 0, "\(result.output)")
        // The check can fail: a misspelt key is refused.
        let bad = try writeConfig(yaml.replacingOccurrences(of: "batch_per_worker", with: "batch_per_workers"), in: dir, name: "bad.yaml")
        #expect(try Command.run([Paths.descent, "schedule", "--config", bad]).status != 0)
    }

    /// The runtime stage installs a package for every shared library the binary links, other
    /// than the C library the base image has and the Swift runtime (linked statically there).
    @Test(.enabled(if: Command.exists("readelf") && Command.exists("dpkg-query"), "needs readelf and dpkg"))
    func dockerRuntimeStageInstallsEverySharedLibraryTheBinaryNeeds() throws {
        let dockerfile = try String(contentsOfFile: "\(Self.directory)/Dockerfile", encoding: .utf8)
        let stages = dockerfile.components(separatedBy: "\nFROM ")
        #expect(stages.count == 3, "a build stage and a runtime stage")
        let runtime = try #require(stages.last)
        #expect(runtime.hasPrefix("debian:bookworm-slim"))
        #expect(runtime.contains("COPY --from=build /out/descent /usr/local/bin/descent"))
        #expect(stages[1].contains("--static-swift-stdlib"))

        let dynamic = try Command.run(["readelf", "-d", Paths.descent])
        let needed = dynamic.output.split(separator: "\n").compactMap { line -> String? in
            guard line.contains("(NEEDED)"), let open = line.firstIndex(of: "["), let close = line.firstIndex(of: "]") else { return nil }
            return String(line[line.index(after: open)..<close])
        }
        #expect(needed.contains("libzmq.so.5") && needed.contains("libopenblas.so.0"), "\(needed)")
        let base: Set<String> = ["libc6"]
        for library in needed {
            let path = try Command.run(["bash", "-c", "ldconfig -p | awk '$1 == \"\(library)\" && /x86-64|x86_64|aarch64/ { print $NF; exit }'"])
                .output.trimmingCharacters(in: .whitespacesAndNewlines)
            if path.isEmpty { continue }  // not a system library: the Swift runtime, static in the image
            let real = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
            // dpkg names a file by the path its package installed (/lib/... on a merged /usr).
            let candidates = [real, real.hasPrefix("/usr/lib/") ? String(real.dropFirst(4)) : "/usr" + real]
            var owner = ""
            for candidate in candidates where owner.isEmpty {
                let result = try Command.run(["dpkg-query", "-S", candidate])
                if result.status == 0 { owner = result.output }
            }
            let package = String(owner.split(separator: ":").first ?? "")
            #expect(!package.isEmpty, "no package owns \(real)")
            if base.contains(package) { continue }
            #expect(runtime.contains(" \(package) ") || runtime.contains(" \(package)\n"),
                    "\(library) (\(real)) comes from \(package), which the runtime stage does not install")
        }
    }
}
