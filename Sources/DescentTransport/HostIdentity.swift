import Foundation

/// What identifies "the same host" for shared memory: the same kernel boot and the same network
/// namespace (processes in other namespaces count as other hosts, as they would be on a cluster).
public enum HostIdentity {
    public static func current() -> String? {
        guard let boot = try? readText("/proc/sys/kernel/random/boot_id") else { return nil }
        var buffer = [CChar](repeating: 0, count: 256)
        let n = readlink("/proc/self/ns/net", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        let namespace = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return boot.trimmingCharacters(in: .whitespacesAndNewlines) + "/" + namespace
    }

    private static func readText(_ path: String) throws -> String {
        try String(contentsOfFile: path, encoding: .utf8)
    }
}
