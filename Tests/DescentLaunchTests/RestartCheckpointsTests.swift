import DescentCore
import DescentLaunch
import Foundation
import Testing

@Suite("Launch's own checkpoint directory")
struct RestartCheckpointsTests {
    /// Process ids are reused (pid_max is 32,768 on many machines). A directory named after the
    /// process id alone was found again by a later launch with the same id, whose coordinator
    /// (--auto-resume) would have resumed another run's checkpoints.
    @Test("a fresh path every time, even in one process")
    func aFreshPathEveryTime() {
        let parent = NSTemporaryDirectory()
        let paths = (0..<100).map { _ in PrivateRunDirectory.restartCheckpointsPath(in: parent) }
        #expect(Set(paths).count == 100)
        for path in paths.prefix(3) {
            #expect(path.hasPrefix(parent.hasSuffix("/") ? parent : parent + "/"))
            #expect(!FileManager.default.fileExists(atPath: path))
        }
    }

    /// After a run that did not finish, the directory is the way back (`--resume DIR`): the next
    /// launch's sweep of dead launches' directories must leave it, even when its creator is gone.
    @Test("a dead launch's checkpoints are not swept with its private directory")
    func notSweptWithDeadLaunchesDirectories() throws {
        let parent = NSTemporaryDirectory() + "descent-test-restart-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/true")
        try process.run()
        process.waitUntilExit()
        let dead = process.processIdentifier
        // What a launch with process id `dead` left: its private directory and its checkpoints.
        let ownName = PrivateRunDirectory.restartCheckpointsPath(in: parent).split(separator: "/").last.map(String.init) ?? ""
        let checkpoints = ownName.replacingOccurrences(of: "-\(getpid())-", with: "-\(dead)-")
        try #require(checkpoints != ownName, "the name does not carry the process id: \(ownName)")
        let privateDirectory = "\(PrivateRunDirectory.prefix)-\(dead)-0123456789abcdef"
        for name in [checkpoints, privateDirectory] {
            try FileManager.default.createDirectory(atPath: "\(parent)/\(name)", withIntermediateDirectories: false)
        }
        PrivateRunDirectory.reclaimStale(in: parent)
        #expect(FileManager.default.fileExists(atPath: "\(parent)/\(checkpoints)"))
        #expect(!FileManager.default.fileExists(atPath: "\(parent)/\(privateDirectory)"))
    }
}
