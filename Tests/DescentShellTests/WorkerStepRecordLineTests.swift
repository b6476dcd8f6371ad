import DescentTraining
@testable import DescentWorker
import Foundation
import XCTest

/// A worker's trace line, written by itself, decodes to the record it was written from
/// (`JSONDecoder` is the independent side), keys sorted as `JSONEncoder`'s `.sortedKeys` writes them.
final class WorkerStepRecordLineTests: XCTestCase {
    func testLinesDecodeToTheirRecords() throws {
        var generator = SystemRandomNumberGenerator()
        let decoder = JSONDecoder()
        for _ in 0..<1000 {
            let record = WorkerStepRecord(
                step: Int.random(in: 0...Int.max, using: &generator), rank: Int.random(in: 0...63, using: &generator),
                epoch: Int.random(in: 0...100, using: &generator), batch: Int.random(in: 0...10_000, using: &generator),
                rate: Double(bitPattern: UInt64.random(in: 1...0x7FEF_FFFF_FFFF_FFFF, using: &generator)),
                samples: Int.random(in: 0...512, using: &generator), computeMs: Double.random(in: 0...100, using: &generator),
                idleMs: Bool.random(using: &generator) ? Double.random(in: 0...1e-3, using: &generator) : nil,
                rssMB: Bool.random(using: &generator) ? 51.25 : nil, round: UInt16.random(in: 0...UInt16.max, using: &generator),
                slots: (0..<Int.random(in: 0...3, using: &generator)).map { $0 })
            let line = try XCTUnwrap(record.jsonLine())
            XCTAssertEqual(try decoder.decode(WorkerStepRecord.self, from: Data(line.utf8)), record, line)
            let keys = try NSRegularExpression(pattern: "\"([a-z_]+)\":").matches(in: line, range: NSRange(line.startIndex..., in: line))
                .map { String(line[Range($0.range(at: 1), in: line)!]) }
            XCTAssertEqual(keys, keys.sorted())
        }
        XCTAssertNil(WorkerStepRecord(step: 1, rank: 0, epoch: 0, batch: 0, rate: .nan, samples: 1, computeMs: 1).jsonLine())
    }
}
