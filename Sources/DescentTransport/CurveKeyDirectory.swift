#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The key directory `descent keys generate DIR` writes and `--curve-dir DIR` reads.
///
/// ```
/// DIR/coordinator.key   the coordinator's secret key (0600)
/// DIR/coordinator.pub   the coordinator's public key: every worker needs it
/// DIR/worker-0.key      worker 0's secret key (0600): only worker 0's host needs it
/// DIR/worker-0.pub      worker 0's public key: the coordinator allows every *.pub but its own
/// ...
/// ```
/// The coordinator's host needs `coordinator.key` and the workers' `.pub` files; a worker's host
/// needs `coordinator.pub` and that worker's `.key` (named with `--curve-key`, or the only
/// worker key in the directory).
public enum CurveKeyDirectory {
    public static let coordinatorSecretName = "coordinator.key"
    public static let coordinatorPublicName = "coordinator.pub"

    /// The file name of worker `index`'s secret key.
    public static func workerSecretName(_ index: Int) -> String { "worker-\(index).key" }

    /// Creates `directory` (mode 0700) when missing and writes a coordinator key pair and `workers`
    /// worker key pairs into it; never overwrites a key. Returns the coordinator's key pair.
    @discardableResult
    public static func generate(in directory: String, workers: Int) throws(CurveKeyError) -> CurveKeyPair {
        if mkdir(directory, 0o700) != 0 && errno != EEXIST {
            throw .file(path: directory, problem: "cannot create the directory: \(String(cString: strerror(errno)))")
        }
        let coordinator = try CurveKeyPair.generate()
        try CurveKeyFiles.writeSecret(coordinator.secretKey, to: path(directory, coordinatorSecretName), comment: "Descent coordinator CURVE secret key")
        try CurveKeyFiles.writePublic(coordinator.publicKey, to: path(directory, coordinatorPublicName), comment: "Descent coordinator CURVE public key")
        for index in 0..<workers {
            let worker = try CurveKeyPair.generate()
            try CurveKeyFiles.writeSecret(worker.secretKey, to: path(directory, workerSecretName(index)), comment: "Descent worker \(index) CURVE secret key")
            try CurveKeyFiles.writePublic(worker.publicKey, to: path(directory, "worker-\(index).pub"), comment: "Descent worker \(index) CURVE public key")
        }
        return coordinator
    }

    /// What a coordinator reads: its key pair and the allow-list (public key -> file name without `.pub`).
    public static func loadServer(from directory: String) throws(CurveKeyError) -> ServerSecurity {
        let keys = try CurveKeyFiles.readSecret(path(directory, coordinatorSecretName))
        var allowed: [String: String] = [:]
        for name in try entries(of: directory) where name.hasSuffix(".pub") && name != coordinatorPublicName {
            allowed[try CurveKeyFiles.readPublic(path(directory, name))] = String(name.dropLast(4))
        }
        guard !allowed.isEmpty else {
            throw .file(path: directory, problem: "no worker public keys (*.pub besides coordinator.pub); no worker could join. Make them with 'descent keys generate DIR --workers N'")
        }
        return .curve(keys: keys, allowedClients: allowed)
    }

    /// What a worker reads: the coordinator's public key and its own key pair, from `keyFile` when
    /// given (a path, or a name in `directory`), else from the only worker key in `directory`.
    public static func loadClient(from directory: String, keyFile: String?) throws(CurveKeyError) -> ClientSecurity {
        let server = try CurveKeyFiles.readPublic(path(directory, coordinatorPublicName))
        let chosen: String
        if let keyFile {
            chosen = keyFile.contains("/") ? keyFile : path(directory, keyFile)
        } else {
            let candidates = try entries(of: directory).filter { $0.hasSuffix(".key") && $0 != coordinatorSecretName }.sorted()
            guard candidates.count == 1 else {
                throw .file(path: directory, problem: candidates.isEmpty
                    ? "no worker secret key (*.key) here; copy this worker's key into it"
                    : "holds \(candidates.count) worker keys (\(candidates.prefix(4).joined(separator: ", "))...); name this worker's with --curve-key")
            }
            chosen = path(directory, candidates[0])
        }
        return .curve(serverPublicKey: server, keys: try CurveKeyFiles.readSecret(chosen))
    }

    static func path(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    private static func entries(of directory: String) throws(CurveKeyError) -> [String] {
        guard let handle = opendir(directory) else {
            throw .file(path: directory, problem: "cannot read the key directory: \(String(cString: strerror(errno)))")
        }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
