import DescentReport
import DescentTraining
import Foundation
import Testing

@Suite struct ReportTests {
    @Test(arguments: [
        (0.0, 1.0, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]),
        (0.0, 2355.0, [0.0, 500, 1000, 1500, 2000, 2500]),
        (0.031, 0.1, [0.02, 0.04, 0.06, 0.08, 0.1]),  // span 0.069 / 6 = 0.0115 -> step 0.02
    ])
    func ticksAreRound(low: Double, high: Double, expected: [Double]) {
        let ticks = SVGChart.ticks(low, high)
        #expect(ticks.count == expected.count)
        for (a, b) in zip(ticks, expected) { #expect(abs(a - b) < 1e-9) }
    }

    @Test func eventLinesRoundTrip() throws {
        let lines: [RunEventLine] = [
            .runStarted(RunDescription(role: "coordinator", workers: 2, epochs: 3, stepsPerEpoch: 10, totalSteps: 30, globalBatch: 64, schedule: "s")),
            .epoch(EpochReport(epoch: 0, steps: 10, step: 10, loss: 1, accuracy: 0.5, testLoss: 1.1, testAccuracy: 0.4, seconds: 2, samplesPerSecond: 320)),
            .event(RunEvent(.workerLost, step: 12, rank: 1, detail: "host b")),
            .rejections(["malformed": 3]),
            .runFinished(RunEnd(steps: 30, testLoss: 0.5, testAccuracy: 0.9, finalRate: 0.01, seconds: 6)),
            .runFailed("worker 1 lost"),
        ]
        for line in lines {
            let data = try JSONEncoder().encode(line)
            #expect(try JSONDecoder().decode(RunEventLine.self, from: data) == line)
        }
        let epochJSON = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(lines[1])) as? [String: Any])
        #expect(epochJSON["type"] as? String == "epoch")
        #expect(epochJSON["test_accuracy"] as? Double == 0.4)
    }

    /// 10 steps of 32 samples, 100 ms apart: windows of 0.5 s hold 5 steps -> 160 samples / 0.5 s.
    @Test func throughputOverWindows() {
        let steps = (0..<11).map { StepRecord(step: $0, epoch: 0, rate: 0.1, ranks: [0], samples: 32, loss: 1, gradientNorm: 1, timeMs: Double($0) * 100) }
        let points = RunReport.throughput(steps)
        #expect(points.count == 2)
        #expect(points.allSatisfy { abs($0.y - 320) < 1e-9 })
        #expect(points.map(\.x) == [0.5, 1.0])
    }

    @Test func missingTraceIsExplained() throws {
        let path = NSTemporaryDirectory() + "descent-report-empty-\(getpid())"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: ReportError.noTrace(path)) { try RunDirectory(path: path) }
        #expect(throws: ReportError.notADirectory(path + "/nope")) { try RunDirectory(path: path + "/nope") }
    }

    /// A trace that is not text, or is a directory, is named with what is wrong with it.
    @Test func unreadableTraceSaysWhy() throws {
        let path = NSTemporaryDirectory() + "descent-report-binary-\(getpid())"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data([0x7B, 0xFF, 0xFE, 0x0A]).write(to: URL(fileURLWithPath: path + "/trace.jsonl"))
        #expect(throws: ReportError.badFile(path + "/trace.jsonl", "is not UTF-8 text")) { try RunDirectory(path: path) }
        try FileManager.default.removeItem(atPath: path + "/trace.jsonl")
        try FileManager.default.createDirectory(atPath: path + "/trace.jsonl", withIntermediateDirectories: true)
        #expect(throws: ReportError.badFile(path + "/trace.jsonl", "is a directory, not a file")) { try RunDirectory(path: path) }
    }
}
