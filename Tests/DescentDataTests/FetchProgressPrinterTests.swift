import Foundation
import Testing
@testable import DescentData

/// A clock the test moves by hand, and the lines printed so far.
private final class Recorder: @unchecked Sendable {
    private let lock = NSLock()
    private var time = 0.0
    private var lines: [String] = []
    var now: Double { lock.withLock { time } }
    var printed: [String] { lock.withLock { lines } }
    func advance(_ seconds: Double) { lock.withLock { time += seconds } }
    func append(_ line: String) { lock.withLock { lines.append(line) } }
}

@Suite("Fetch progress printer")
struct FetchProgressPrinterTests {
    @Test func printsAtMostOneProgressLinePerInterval() {
        let recorder = Recorder()
        let printer = FetchProgressPrinter(interval: 0.5, clock: { recorder.now }, write: { recorder.append($0) })
        printer.handle(.downloading(file: "f", url: "http://h/f", total: 1000))
        for bytes in stride(from: 100, through: 900, by: 100) {
            printer.handle(.progress(file: "f", bytes: bytes, total: 1000))
            recorder.advance(0.2)
        }
        printer.handle(.downloaded(file: "f", url: "http://h/f", bytes: 1000))
        // Progress at t = 0.0 ... 1.6 in steps of 0.2; the download began at 0: lines at 0.6 (400) and 1.2 (700).
        #expect(recorder.printed == [
            "f: downloading http://h/f (1000 bytes)",
            "f: 400 / 1000 bytes (40%)",
            "f: 700 / 1000 bytes (70%)",
            "f: 1000 / 1000 bytes, verified",
        ])
    }
}
