import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An exclusive `flock` on a data directory while files are downloaded into it, so that processes
/// fetching into the same directory at once (`descent launch` starts a coordinator and its
/// workers together, each making sure the data is there) take turns: the first downloads, the
/// others wait and then find the files present. Holding it also makes it safe to remove the
/// partial files a killed fetch left behind: no other process is writing one. The kernel
/// releases the lock when its holder dies, however it dies.
final class FetchLock {
    private let descriptor: Int32
    /// Whether another process held the lock first (what it fetched meanwhile is worth a new look).
    let waited: Bool

    /// Locks `directory` (which exists), waiting while another process holds it; `waiting` is
    /// called once, when it has to wait. On a file system without flock it returns unlocked.
    static func acquire(_ directory: String, waiting: () -> Void) async throws -> FetchLock {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw DataError.unwritable(path: directory, reason: "cannot open the directory to lock it: \(String(cString: strerror(errno)))")
        }
        var announced = false
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            if errno == EINTR { continue }
            // A file system without flock (ENOLCK, EOPNOTSUPP on some network mounts): fetch
            // unlocked, as before the lock existed, rather than not at all.
            guard errno == EWOULDBLOCK else { break }
            if !announced {
                announced = true
                waiting()
            }
            do {
                try await Task.sleep(nanoseconds: 100_000_000)
            } catch {
                close(descriptor)
                throw error
            }
        }
        return FetchLock(descriptor: descriptor, waited: announced)
    }

    private init(descriptor: Int32, waited: Bool) {
        self.descriptor = descriptor
        self.waited = waited
    }

    deinit {
        close(descriptor)  // closing the only descriptor of the open file releases the lock
    }
}
