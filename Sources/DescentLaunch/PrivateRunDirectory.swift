import DescentCore
import Foundation

/// A directory only this user can enter (mode 0700), for one `launch`'s ipc socket and its
/// ephemeral keys: other users can neither connect to the socket nor read the keys. Removed
/// with everything in it by `remove()`; the directories of launches that died (SIGKILL) are
/// removed by the next launch of the same user.
public struct PrivateRunDirectory: Sendable {
    public static let prefix = "descent-launch"
    public let path: String

    /// Creates a fresh directory in the temporary directory, after removing stale ones.
    public static func create(in parent: String = NSTemporaryDirectory()) throws -> PrivateRunDirectory {
        reclaimStale(in: parent)
        let path = (parent.hasSuffix("/") ? parent : parent + "/") + RunScopedName.make(prefix: prefix)
        guard mkdir(path, 0o700) == 0 else {
            throw LaunchDirectoryError(path: path, reason: String(cString: strerror(errno)))
        }
        // mkdir honours the umask, which can only remove bits; check what exists is ours and private.
        var info = stat()
        guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR, info.st_uid == geteuid(), info.st_mode & 0o077 == 0 else {
            throw LaunchDirectoryError(path: path, reason: "it is not a private directory of this user after creation")
        }
        return PrivateRunDirectory(path: path)
    }

    /// Where `launch --max-restarts` keeps a run's checkpoints when given no --checkpoint-dir: a
    /// fresh name each time, as process ids are reused (a later launch with the same id must not
    /// resume an earlier run's checkpoints). `reclaimStale` leaves it: after a run that did not
    /// finish it is the way back (`--resume DIR`).
    public static func restartCheckpointsPath(in parent: String = NSTemporaryDirectory()) -> String {
        (parent.hasSuffix("/") ? parent : parent + "/") + RunScopedName.make(prefix: prefix + "-checkpoints")
    }

    /// Removes the directory and what it holds.
    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Removes this user's launch directories whose creating process is gone.
    public static func reclaimStale(in parent: String = NSTemporaryDirectory()) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: parent) else { return }
        for name in names where RunScopedName.isLeftOver(name, prefix: prefix) {
            let path = (parent.hasSuffix("/") ? parent : parent + "/") + name
            var info = stat()
            guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR, info.st_uid == geteuid() else { continue }
            try? FileManager.default.removeItem(atPath: path)
        }
    }
}

/// A launch directory that cannot be made.
public struct LaunchDirectoryError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "cannot create the private run directory \(path): \(reason)" }
}
