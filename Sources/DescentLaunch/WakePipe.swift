#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A self-pipe: writing a byte (a signal number) to it wakes the group's `poll` loop. Writing is
/// async-signal-safe and thread-safe, so signal handlers and other threads use it to ask the
/// loop to stop. Both ends are non-blocking; a full pipe drops the byte, which is harmless
/// because the loop already has requests to read.
final class WakePipe: Sendable {
    let readEnd: Int32
    let writeEnd: Int32

    init() throws {
        let ends = try FileDescriptors.makePipe()
        readEnd = ends.readEnd
        writeEnd = ends.writeEnd
        FileDescriptors.setNonBlocking(readEnd)
        FileDescriptors.setNonBlocking(writeEnd)
    }

    deinit {
        FileDescriptors.close(readEnd)
        FileDescriptors.close(writeEnd)
    }

    func post(_ byte: UInt8) {
        var byte = byte
        #if canImport(Glibc)
        _ = Glibc.write(writeEnd, &byte, 1)
        #else
        _ = Darwin.write(writeEnd, &byte, 1)
        #endif
    }

    /// Every byte posted since the last call.
    func drain() -> [UInt8] {
        var posted: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64)
        while true {
            let count = FileDescriptors.read(readEnd, into: &buffer)
            if count <= 0 { return posted }
            posted.append(contentsOf: buffer[..<count])
        }
    }
}
