import DescentLogging
import DescentTraining
import Foundation
import Logging
import Testing

@Suite struct RunLogHandlerTests {
    final class Lines: @unchecked Sendable { var all: [String] = [] }

    @Test func jsonRecordHasLevelTimeRoleRankEventAndMetadata() throws {
        let lines = Lines()
        let logger = Logger(label: "test") { _ in RunLogHandler(format: .json, role: "worker", rank: 3) { lines.all.append($0) } }
        logger.warning("messages rejected", metadata: ["event": "rejected", "kind": "past_step", "total": "7"])
        #expect(lines.all.count == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(lines.all[0].utf8)) as? [String: Any])
        #expect(object["level"] as? String == "warning")
        #expect(object["role"] as? String == "worker")
        #expect(object["rank"] as? Int == 3)
        #expect(object["event"] as? String == "rejected")
        #expect(object["kind"] as? String == "past_step")
        #expect(object["total"] as? Double == 7)
        #expect(object["message"] as? String == "messages rejected")
        let time = try #require(object["time"] as? String)
        #expect(time.count == 24 && time.hasSuffix("Z"))
        #expect(ISO8601DateFormatter.withFractions.date(from: time) != nil)
        #expect(!lines.all[0].contains("\n"))
    }

    @Test func humanLineReadsAsASentence() {
        let line = RunLogHandler.format(level: .info, message: "worker joined", metadata: ["worker.rank": "1"],
                                        time: Date(timeIntervalSince1970: 0), format: .human, role: "coordinator", rank: nil)
        #expect(line == "1970-01-01T00:00:00.000Z info coordinator: worker joined worker.rank=1")
    }

    @Test func observerLogsEpochsAndOnlyNewRejections() throws {
        let lines = Lines()
        let logger = Logger(label: "test") { _ in RunLogHandler(format: .json, role: "coordinator") { lines.all.append($0) } }
        let observer = LoggingObserver(logger: logger)
        observer.epochFinished(EpochReport(epoch: 0, steps: 157, step: 157, loss: 0.7, accuracy: 0.8, testLoss: 0.6,
                                           testAccuracy: 0.79, seconds: 1, samplesPerSecond: 5000))
        observer.rejectionsCounted(["malformed": 2])
        observer.rejectionsCounted(["malformed": 2])
        observer.rejectionsCounted(["malformed": 5, "past_step": 1])
        let objects = try lines.all.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        #expect(objects.map { $0["event"] as? String } == ["epoch_finished", "rejected", "rejected", "rejected"])
        #expect(objects[0]["epoch"] as? Double == 1)
        #expect(objects[0]["test_accuracy"] as? Double == 0.79)
        #expect(objects.dropFirst().map { $0["new"] as? Double } == [2, 3, 1])
    }
}

extension ISO8601DateFormatter {
    nonisolated(unsafe) static let withFractions: ISO8601DateFormatter = {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }()
}
