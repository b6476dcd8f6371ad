import ArgumentParser
import DescentCore
import DescentTransport
import Foundation

/// The coordinator's security flags: its CURVE keys and workers' allow-list, or `--insecure`.
struct ServerSecurityArguments: ParsableArguments {
    @Option(help: ArgumentHelp("Directory of CURVE keys: coordinator.key and the public keys (*.pub) of the workers allowed to join (make it with 'descent keys generate DIR --workers N').", valueName: "dir"))
    var curveDir: String?

    @Flag(help: "Allow a tcp:// endpoint without CURVE: parameters and gradients in plaintext, any peer that reaches the port may join (a warning is printed).")
    var insecure = false

    func validate(endpoint: String) throws {
        if curveDir != nil && insecure { throw ValidationError("--curve-dir and --insecure exclude each other") }
        if EndpointCheck.isNetwork(endpoint) && curveDir == nil && !insecure {
            throw ValidationError("\(endpoint) is a network endpoint: give --curve-dir DIR (keys made with 'descent keys generate DIR --workers N'; workers need coordinator.pub and their own key) or --insecure to run in plaintext")
        }
    }

    /// The security for a socket bound to `endpoint`; prints the warning of an insecure TCP socket.
    func load(endpoint: String) throws -> ServerSecurity {
        guard let curveDir else {
            if EndpointCheck.isNetwork(endpoint) { Console.error(SocketSecurity.insecureWarning(role: "coordinator", endpoint: endpoint)) }
            if endpoint.hasPrefix("ipc://"), let mode = Self.directoryMode(of: String(endpoint.dropFirst("ipc://".count))), mode & 0o077 != 0 {
                Console.error("coordinator: note: the directory of \(endpoint) has mode \(String(mode, radix: 8)); other users on this host may "
                              + "reach the socket. Put it in a directory of mode 0700 (descent launch does), or use --curve-dir.")
            }
            return .insecure
        }
        return try CurveKeyDirectory.loadServer(from: curveDir)
    }
}

extension ServerSecurityArguments {
    /// The permission bits of the directory holding `path`, nil when it cannot be read.
    static func directoryMode(of path: String) -> mode_t? {
        let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        var info = stat()
        guard stat(directory.isEmpty ? "/" : directory, &info) == 0 else { return nil }
        return info.st_mode & 0o777
    }
}

/// A worker's security flags: the coordinator's public key and its own key pair, or `--insecure`.
struct ClientSecurityArguments: ParsableArguments {
    @Option(help: ArgumentHelp("Directory with the coordinator's public key (coordinator.pub) and this worker's secret key (*.key).", valueName: "dir"))
    var curveDir: String?

    @Option(help: ArgumentHelp("This worker's secret key file: a path, or a name in --curve-dir (needed when the directory holds several worker keys).", valueName: "file"))
    var curveKey: String?

    @Flag(help: "Connect to a tcp:// endpoint without CURVE (plaintext; only to a coordinator started with --insecure).")
    var insecure = false

    func validate(endpoint: String) throws {
        if curveDir != nil && insecure { throw ValidationError("--curve-dir and --insecure exclude each other") }
        if curveKey != nil && curveDir == nil { throw ValidationError("--curve-key needs --curve-dir (the directory with coordinator.pub)") }
        if EndpointCheck.isNetwork(endpoint) && curveDir == nil && !insecure {
            throw ValidationError("\(endpoint) is a network endpoint: give --curve-dir DIR (with the coordinator's coordinator.pub and this worker's key) or --insecure to run in plaintext")
        }
    }

    func load(endpoint: String) throws -> ClientSecurity {
        guard let curveDir else {
            if EndpointCheck.isNetwork(endpoint) { Console.error(SocketSecurity.insecureWarning(role: "worker", endpoint: endpoint)) }
            return .insecure
        }
        return try CurveKeyDirectory.loadClient(from: curveDir, keyFile: curveKey)
    }
}

/// `descent keys generate DIR`: CURVE keys for a coordinator and its workers.
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Make CURVE keys for encrypted, authenticated sockets.",
        subcommands: [Generate.self])

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a coordinator key pair and one key pair per worker into DIR (secret keys mode 0600; nothing is overwritten).",
            discussion: """
                The coordinator's host needs DIR/coordinator.key and every worker's .pub file (each *.pub in its \
                --curve-dir is allowed to join); worker r's host needs DIR/coordinator.pub and DIR/worker-r.key \
                (pass --curve-key worker-r.key when the directory holds several worker keys).
                """)

        @Argument(help: "The directory to write (created with mode 0700 when missing).")
        var directory: String

        @Option(parsing: .unconditional, help: "How many worker key pairs to make.")
        var workers: Int = 1

        func validate() throws {
            guard (1...4096).contains(workers) else { throw ValidationError("--workers must be between 1 and 4096 (got \(workers))") }
        }

        func run() throws {
            let coordinator = try CurveKeyDirectory.generate(in: directory, workers: workers)
            print("Wrote a coordinator key pair and \(workers) worker key pair(s) to \(directory)")
            print("Coordinator public key: \(coordinator.publicKey)")
        }
    }
}
