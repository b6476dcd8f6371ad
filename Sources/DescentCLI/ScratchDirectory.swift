import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A new, empty directory in the temporary directory for one measurement's files (configs,
/// traces), made by `mkdtemp`: never one that an earlier run with the same process id left
/// behind, whose files could be read as this run's.
enum ScratchDirectory {
    static func make(_ label: String) throws -> String {
        var template = Array((NSTemporaryDirectory() + "descent-\(label)-XXXXXX").utf8CString)
        // The path is read inside the closure: mkdtemp returns the template's own storage.
        guard let made = template.withUnsafeMutableBufferPointer({ buffer in mkdtemp(buffer.baseAddress!).map { String(cString: $0) } }) else {
            throw ScratchDirectoryError(directory: NSTemporaryDirectory(), reason: String(cString: strerror(errno)))
        }
        return made
    }
}

/// The temporary directory could not take a scratch directory.
struct ScratchDirectoryError: Error, CustomStringConvertible {
    let directory: String
    let reason: String
    var description: String { "cannot create a scratch directory in \(directory): \(reason) (set TMPDIR to a writable directory)" }
}
