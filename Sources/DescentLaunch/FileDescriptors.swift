#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The few file-descriptor operations a launch needs, with `errno` turned into text.
enum FileDescriptors {
    /// A pipe whose two ends close on `exec`, so children inherit only what is dup2'ed onto them.
    static func makePipe() throws -> (readEnd: Int32, writeEnd: Int32) {
        var ends: [Int32] = [-1, -1]
        // pipe2(O_CLOEXEC) is not in Swift's Glibc module; set the flag right after instead.
        let result = pipe(&ends)
        if result == 0 {
            _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
            _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
        }
        guard result == 0 else {
            throw LaunchError.systemCallFailed(call: "pipe", reason: errorText(errno))
        }
        return (ends[0], ends[1])
    }

    static func setNonBlocking(_ descriptor: Int32) {
        let flags = fcntl(descriptor, F_GETFL)
        if flags >= 0 { _ = fcntl(descriptor, F_SETFL, flags | O_NONBLOCK) }
    }

    static func close(_ descriptor: Int32) {
        guard descriptor >= 0 else { return }
        #if canImport(Glibc)
        _ = Glibc.close(descriptor)
        #else
        _ = Darwin.close(descriptor)
        #endif
    }

    /// `read` into `buffer`, retried on EINTR: the byte count, 0 at end of file, -1 with `errno` set.
    static func read(_ descriptor: Int32, into buffer: inout [UInt8]) -> Int {
        buffer.withUnsafeMutableBytes { raw in
            while true {
                #if canImport(Glibc)
                let count = Glibc.read(descriptor, raw.baseAddress, raw.count)
                #else
                let count = Darwin.read(descriptor, raw.baseAddress, raw.count)
                #endif
                if count < 0 && errno == EINTR { continue }
                return count
            }
        }
    }

    static func errorText(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "error \(code)" }
        return String(cString: text)
    }
}
