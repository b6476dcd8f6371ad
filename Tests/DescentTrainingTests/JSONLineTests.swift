import DescentTraining
import Foundation
import XCTest

/// The traces' own JSON lines against Foundation's `JSONEncoder` and `JSONDecoder`: whatever the
/// values, the line decodes to the record it was written from, its keys come in sorted order,
/// and values JSON cannot hold are refused as the encoder refuses them.
final class JSONLineTests: XCTestCase {
    private var generator = SystemRandomNumberGenerator()

    /// A double from all over the range: tiny, huge, negative, integral, sub-normal.
    private func anyDouble() -> Double {
        switch Int.random(in: 0..<6, using: &generator) {
        case 0: return Double(Int.random(in: -1_000_000...1_000_000, using: &generator))
        case 1: return Double.random(in: -1...1, using: &generator) * pow(10, Double(Int.random(in: -320...300, using: &generator)))
        case 2: return Double(bitPattern: UInt64.random(in: 1...0x000F_FFFF_FFFF_FFFF, using: &generator))  // sub-normal
        case 3: return Double(Float.random(in: 0...1, using: &generator))
        default: return Double.random(in: 0...1000, using: &generator)
        }
    }

    private func anyFloat() -> Float {
        Int.random(in: 0..<2, using: &generator) == 0
            ? Float.random(in: 0...1, using: &generator)
            : Float(bitPattern: UInt32.random(in: 1...0x7F7F_FFFF, using: &generator))
    }

    private func maybe<T>(_ value: @autoclosure () -> T) -> T? { Bool.random(using: &generator) ? value() : nil }

    private func anyRecord() -> StepRecord {
        var record = StepRecord(step: Int.random(in: 0...Int.max, using: &generator), epoch: Int.random(in: 0...1000, using: &generator),
                                rate: anyFloat(), ranks: (0..<Int.random(in: 0...5, using: &generator)).map { _ in Int.random(in: 0...63, using: &generator) },
                                samples: Int.random(in: 0...100_000, using: &generator), loss: anyDouble(), gradientNorm: anyDouble(),
                                slowestRank: maybe(Int.random(in: -5...63, using: &generator)), slowestLatencyMs: maybe(self.anyDouble()),
                                fastestLatencyMs: maybe(self.anyDouble()), timeMs: maybe(self.anyDouble()), updateMs: maybe(self.anyDouble()),
                                rssMB: maybe(self.anyDouble()), exactRate: maybe(self.anyDouble()))
        record.paramStep = maybe(Int.random(in: Int.min...Int.max, using: &generator))
        record.staleness = maybe(Int.random(in: 0...100, using: &generator))
        record.paramSteps = maybe((0..<3).map { _ in Int.random(in: 0...1_000_000, using: &generator) })
        return record
    }

    func testLinesDecodeToTheRecordsTheyWereWrittenFrom() throws {
        let decoder = JSONDecoder()
        for _ in 0..<2000 {
            let record = anyRecord()
            let line = try XCTUnwrap(record.jsonLine())
            XCTAssertEqual(try decoder.decode(StepRecord.self, from: Data(line.utf8)), record, line)
        }
    }

    func testTheWriterWritesEachLineAsTheRecordWritesItself() throws {
        // The writer builds every line in one buffer it keeps: a long line must not leave bytes
        // in a shorter one after it, nor a refused record in the next.
        let path = NSTemporaryDirectory() + "descent-jsonline-reuse-\(getpid()).jsonl"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let writer = try JSONLinesWriter(path: path)
        var expected: [String] = []
        for index in 0..<500 {
            var record = anyRecord()
            if index % 50 == 7 {
                record.loss = .nan
                XCTAssertThrowsError(try writer.append(record))
                continue
            }
            if index % 2 == 0 { (record.paramSteps, record.ranks) = (nil, []) }
            expected.append(try XCTUnwrap(record.jsonLine()))
            try writer.append(record)
        }
        try writer.close()
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init), expected)
    }

    func testIntegersAreWrittenAsStringWritesThem() throws {
        for value in [0, 7, -7, 10, -10, 1_000_000, Int.max, Int.min] {
            var record = StepRecord(step: 3, epoch: 0, rate: 0.1, ranks: [value], samples: 32, loss: 0.5, gradientNorm: 1)
            record.paramStep = value
            XCTAssertEqual(record.jsonLine(), #"{"epoch":0,"gradient_norm":1.0,"loss":0.5,"param_step":"# + String(value)
                           + #","ranks":["# + String(value) + #"],"rate":0.1,"samples":32,"step":3}"#)
        }
    }

    func testKeysComeSortedAsTheEncodersSortedKeysWriteThem() throws {
        var record = anyRecord()
        (record.slowestRank, record.slowestLatencyMs, record.fastestLatencyMs, record.timeMs) = (1, 2, 3, 4)
        (record.updateMs, record.rssMB, record.exactRate, record.paramStep, record.staleness, record.paramSteps) = (5, 6, 7, 8, 9, [10])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let reference = try JSONSerialization.jsonObject(with: encoder.encode(record)) as? [String: Any]
        let line = try XCTUnwrap(record.jsonLine())
        let keys = try NSRegularExpression(pattern: "\"([a-z_]+)\":").matches(in: line, range: NSRange(line.startIndex..., in: line))
            .map { String(line[Range($0.range(at: 1), in: line)!]) }
        XCTAssertEqual(keys, reference?.keys.sorted())
        XCTAssertEqual(keys.count, 17)
    }

    func testAbsentOptionalsAreLeftOutAsTheEncoderLeavesThem() throws {
        let record = StepRecord(step: 3, epoch: 0, rate: 0.1, ranks: [0], samples: 32, loss: 0.5, gradientNorm: 1)
        XCTAssertEqual(record.jsonLine(), #"{"epoch":0,"gradient_norm":1.0,"loss":0.5,"ranks":[0],"rate":0.1,"samples":32,"step":3}"#)
    }

    func testNonFiniteValuesAreRefusedAsTheEncoderRefusesThem() throws {
        let path = NSTemporaryDirectory() + "descent-jsonline-\(getpid()).jsonl"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let writer = try JSONLinesWriter(path: path)
        for bad in [Double.nan, .infinity, -.infinity] {
            let record = StepRecord(step: 1, epoch: 0, rate: 0.1, ranks: [0], samples: 32, loss: bad, gradientNorm: 1)
            XCTAssertNil(record.jsonLine())
            XCTAssertThrowsError(try JSONEncoder().encode(record))
            XCTAssertThrowsError(try writer.append(record))
        }
        let finite = StepRecord(step: 2, epoch: 0, rate: .infinity, ranks: [0], samples: 32, loss: 1, gradientNorm: 1)
        XCTAssertNil(finite.jsonLine())
        XCTAssertThrowsError(try writer.append(finite))
        try writer.append(StepRecord(step: 3, epoch: 0, rate: 0.1, ranks: [0], samples: 32, loss: 1, gradientNorm: 1))
        try writer.close()
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "a refused record leaves nothing half-written")
        XCTAssertEqual(try JSONDecoder().decode(StepRecord.self, from: Data(lines[0].utf8)).step, 3)
    }
}

/// A trace that cannot be opened says so in the project's words: the path, the step that failed
/// and the system's reason, not Foundation's error domains.
final class TraceOpenErrorTests: XCTestCase {
    func testAnUncreatableDirectoryIsNamedInWords() {
        // /proc refuses new directories even to root, whose permission checks pass elsewhere.
        XCTAssertThrowsError(try JSONLinesWriter(path: "/proc/descent-nope/trace.jsonl")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("/proc/descent-nope"), text)
            XCTAssertTrue(text.contains("create the directory"), text)
            XCTAssertFalse(text.contains("NSCocoaErrorDomain") || text.contains("Error Domain"), text)
        }
    }

    /// A full disk (`/dev/full` answers every write with ENOSPC) is named with the path and the
    /// system's reason when the buffered lines are written.
    func testAFullDiskIsNamedInWords() throws {
        let writer = try JSONLinesWriter(path: "/dev/full")
        try writer.append(StepRecord(step: 0, epoch: 0, rate: 0.1, ranks: [0], samples: 1, loss: 1, gradientNorm: 1))
        XCTAssertThrowsError(try writer.flush()) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("cannot write /dev/full (write failed: No space left on device)"), text)
            XCTAssertFalse(text.contains("Error Domain"), text)
        }
        XCTAssertThrowsError(try writer.close())  // what could not be written is still pending
    }

    func testAPathThatIsADirectoryIsNamedInWords() throws {
        let directory = NSTemporaryDirectory() + "descent-trace-dir-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        XCTAssertThrowsError(try JSONLinesWriter(path: directory)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains(directory) && text.contains("open failed: Is a directory"), text)
        }
    }
}
