import DescentCore
import Foundation
import Testing

@Suite("Atomic file replacement")
struct AtomicFileTests {
    func directory() throws -> String {
        let path = NSTemporaryDirectory() + "descent-atomic-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test("writing over an existing file replaces it, every time, and leaves no temporary file")
    func replacesAnExistingFile() throws {
        let dir = try directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for round in 0..<3 {
            try AtomicFile.write(Array("round \(round)".utf8), to: "\(dir)/out.txt")
            #expect(try String(contentsOfFile: "\(dir)/out.txt", encoding: .utf8) == "round \(round)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["out.txt"])
    }

    @Test("missing parent directories are created")
    func createsParents() throws {
        let dir = try directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try AtomicFile.write("x", to: "\(dir)/a/b/c.txt")
        #expect(FileManager.default.fileExists(atPath: "\(dir)/a/b/c.txt"))
    }

    @Test("a failure leaves the old file as it was and says why in words")
    func failureKeepsTheOldFile() throws {
        let dir = try directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try AtomicFile.write("old", to: "\(dir)/keep.txt")
        try FileManager.default.createDirectory(atPath: "\(dir)/target", withIntermediateDirectories: false)
        try "inside".write(toFile: "\(dir)/target/x", atomically: false, encoding: .utf8)
        // rename(2) cannot put a file over a non-empty directory.
        #expect(throws: FileWriteError.self) { try AtomicFile.write("new", to: "\(dir)/target") }
        do {
            try AtomicFile.write("new", to: "\(dir)/target")
        } catch {
            #expect(error.description.hasPrefix("cannot write \(dir)/target (replace failed: Is a directory)"))
        }
        #expect(try String(contentsOfFile: "\(dir)/keep.txt", encoding: .utf8) == "old")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["keep.txt", "target"])
    }

    @Test("problemWriting names a parent that is a file, and accepts a new file in a writable directory")
    func problemWriting() throws {
        let dir = try directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "file".write(toFile: "\(dir)/plain", atomically: false, encoding: .utf8)
        #expect(AtomicFile.problemWriting("\(dir)/plain/x.bin") == "\(dir)/plain is not a directory")
        #expect(AtomicFile.problemWriting("\(dir)/new/deeper/x.bin") == nil)
        #expect(AtomicFile.problemWriting(dir) == "\(dir) is a directory")
        // Where no file can be made, whoever asks (root's access() says yes to /proc).
        #expect(AtomicFile.problemWriting("/proc/descent-nowhere/x.bin")?.hasPrefix("cannot write in /proc: ") == true)
        #expect((try FileManager.default.contentsOfDirectory(atPath: dir)).allSatisfy { !$0.hasPrefix(".descent-probe-") })
    }
}
