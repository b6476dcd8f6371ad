import DescentTraining
import Foundation
import Testing

/// The trace's `rss_mb` against the kernel's other account of the same figure: `VmRSS` in
/// /proc/self/status (kB), read right after.
@Suite struct ResidentMemoryTests {
    @Test func theResidentSizeIsTheOneProcStatusGives() throws {
        // 64 MB touched, so the figure is well above any rounding.
        let block = UnsafeMutableRawPointer.allocate(byteCount: 64 << 20, alignment: 4096)
        defer { block.deallocate() }
        memset(block, 1, 64 << 20)
        let measured = try #require(residentMemoryMB())
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") })
        let kilobytes = try #require(Double(line.split(separator: " ", omittingEmptySubsequences: true)[1]))
        #expect(measured >= 64)
        #expect(abs(measured - kilobytes / 1024) < 2, "statm \(measured) MB, status \(kilobytes / 1024) MB")
    }
}
