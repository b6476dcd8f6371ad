#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A started child: its pid and the read ends of the pipes on its standard output and error.
struct SpawnedChild {
    let pid: pid_t
    let standardOutput: Int32
    let standardError: Int32
}

/// Starts one child with `posix_spawn`: stdin from /dev/null, stdout and stderr each onto its own
/// pipe, in a new process group of its own (so a signal to the group reaches what it starts too),
/// with the default disposition and an empty mask for the signals a launcher changes.
enum ChildSpawner {
    /// Why `posix_spawn` (or a pipe for it) failed, as text for `LaunchError.spawnFailed`.
    struct Failure: Error {
        let reason: String
    }

    /// Throws a `LaunchError` naming the path when `child`'s executable is missing, a directory,
    /// or lacks execute permission.
    static func checkExecutable(of child: ChildProcess) throws {
        let path = child.executablePath
        var info = stat()
        guard !path.isEmpty, stat(path, &info) == 0 else {
            throw LaunchError.executableNotFound(label: child.label, path: path)
        }
        if info.st_mode & S_IFMT == S_IFDIR {
            throw LaunchError.notExecutable(label: child.label, path: path, reason: "is a directory, not an executable file")
        }
        guard access(path, X_OK) == 0 else {
            throw LaunchError.notExecutable(
                label: child.label, path: path, reason: "is not executable; check its permissions (chmod +x)")
        }
    }

    static func spawn(_ child: ChildProcess) throws(Failure) -> SpawnedChild {
        let output: (readEnd: Int32, writeEnd: Int32)
        let error: (readEnd: Int32, writeEnd: Int32)
        do {
            output = try FileDescriptors.makePipe()
            do { error = try FileDescriptors.makePipe() } catch {
                FileDescriptors.close(output.readEnd)
                FileDescriptors.close(output.writeEnd)
                throw error
            }
        } catch {
            throw Failure(reason: "\(error)")
        }
        // The parent keeps only the read ends; the children hold the write ends.
        defer {
            FileDescriptors.close(output.writeEnd)
            FileDescriptors.close(error.writeEnd)
        }

        var pid: pid_t = 0
        let status = withSpawnSettings(standardOutput: output.writeEnd, standardError: error.writeEnd) { actions, attributes in
            withCStrings([child.executablePath] + child.arguments) { argv in
                withCStrings(environment(adding: child.environment.merging([ParentDeath.environmentVariable: "\(getpid())"]) { own, _ in own })) { envp in
                    posix_spawn(&pid, child.executablePath, actions, attributes, argv, envp)
                }
            }
        }
        guard status == 0 else {
            FileDescriptors.close(output.readEnd)
            FileDescriptors.close(error.readEnd)
            throw Failure(reason: FileDescriptors.errorText(status))
        }
        FileDescriptors.setNonBlocking(output.readEnd)
        FileDescriptors.setNonBlocking(error.readEnd)
        return SpawnedChild(pid: pid, standardOutput: output.readEnd, standardError: error.readEnd)
    }

    #if os(Linux)
    typealias FileActions = posix_spawn_file_actions_t
    typealias Attributes = posix_spawnattr_t
    #else
    typealias FileActions = posix_spawn_file_actions_t?
    typealias Attributes = posix_spawnattr_t?
    #endif

    /// Calls `body` with file actions and attributes set up for a child, and destroys them after.
    private static func withSpawnSettings(
        standardOutput: Int32, standardError: Int32,
        _ body: (UnsafePointer<FileActions>, UnsafePointer<Attributes>) -> Int32
    ) -> Int32 {
        #if os(Linux)
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        #else
        var actions: posix_spawn_file_actions_t? = nil
        var attributes: posix_spawnattr_t? = nil
        #endif
        posix_spawn_file_actions_init(&actions)
        posix_spawnattr_init(&attributes)
        defer {
            posix_spawn_file_actions_destroy(&actions)
            posix_spawnattr_destroy(&attributes)
        }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, standardOutput, 1)
        posix_spawn_file_actions_adddup2(&actions, standardError, 2)

        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM] {
            sigaddset(&defaults, signal)
        }
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        return body(&actions, &attributes)
    }

    /// The launcher's environment with `extra` added, as `NAME=value` strings.
    private static func environment(adding extra: [String: String]) -> [String] {
        var entries: [String] = []
        #if os(Linux)
        let variables: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = environ
        #else
        let variables: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = _NSGetEnviron().pointee
        #endif
        if var cursor = variables {
            while let entry = cursor.pointee {
                let text = String(cString: entry)
                let name = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? text
                if extra[name] == nil { entries.append(text) }
                cursor += 1
            }
        }
        for (name, value) in extra.sorted(by: { $0.key < $1.key }) { entries.append("\(name)=\(value)") }
        return entries
    }

    /// Calls `body` with a NULL-terminated C array of copies of `strings`, freed after.
    private static func withCStrings<R>(
        _ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R
    ) -> R {
        var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        pointers.append(nil)
        defer { for pointer in pointers { free(pointer) } }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}
