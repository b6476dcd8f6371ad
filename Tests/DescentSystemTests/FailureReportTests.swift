import DescentProtocol
import DescentTransport
import Foundation
import Testing

extension SystemTests {
    @Test func aWorkerThatCannotReachTheCoordinatorSaysWhereAndHowLongThenGivesUp() throws {
        let dir = try Paths.temporaryDirectory("unreachable")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticMNIST.write(to: dir, train: 20, test: 10)
        // Port 9 (discard) on loopback: nothing listens there.
        let worker = try Child("worker", ["worker", "--connect", "tcp://127.0.0.1:9", "--insecure", "--data", dir, "--join-timeout", "6"], directory: dir)
        #expect(worker.wait(seconds: 30) != 0)
        let err = worker.stderr
        #expect(err.contains("still trying to join the coordinator at tcp://127.0.0.1:9 after 5 s (no connection yet)"), "\(err)")
        #expect(err.contains("gave up on the coordinator at tcp://127.0.0.1:9: not admitted after 6 s (no connection could be made)"), "\(err)")
    }

    @Test func aCoordinatorSaysWhichWorkersItWaitsForAndGoesOnWithoutOneThatFallsSilent() throws {
        let dir = try Paths.temporaryDirectory("waiting")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticMNIST.write(to: dir, train: 64, test: 10)
        let config = try writeConfig("data:\n  dir: \(dir)\ntraining:\n  batch_size: 16\n  epochs: 1\n", in: dir)
        let endpoint = "ipc://\(dir)/c.sock"
        let coordinator = try Child("coordinator", [
            "coordinator", "--config", config, "--workers", "2", "--bind", endpoint, "--silence-limit", "8",
        ], directory: dir)
        defer { coordinator.stop() }
        #expect(coordinator.waitFor("waiting for 2 of 2 worker(s) to register at \(endpoint)", seconds: 20), "\(coordinator.stderr)")

        // Rank 0 is a real worker; rank 1 registers by hand and then never answers.
        let worker = try Child("worker", ["worker", "--connect", endpoint, "--data", dir, "--rank", "0"], directory: dir)
        defer { worker.stop() }
        let context = try ZMQContext()
        let mute = try FakeWorker(context, endpoint: endpoint, identity: Array("mute".utf8))
        let hello = try WireText.encodeJSON(WorkerIntroduction(host: "mute-host", pid: 2, requestedRank: 1))
        try mute.send(WireHeader.hello(configHash: 0, processID: 2, jsonByteCount: UInt32(hello.count)).encoded(), hello)

        #expect(coordinator.waitFor("step 0 waiting", seconds: 20), "\(coordinator.stderr)")
        #expect(coordinator.stderr.contains("for rank(s) 1 (mute-host)"), "\(coordinator.stderr)")
        // The silent rank is dropped; its share of step 0 goes to rank 0 and the run finishes.
        #expect(coordinator.wait(seconds: 60) == 0, "\(coordinator.stderr)")
        #expect(coordinator.stdout.contains("Worker rank 1 (mute-host) lost: silent for 8 s; 1 worker(s) go on"), "\(coordinator.stdout)")
        #expect(coordinator.stdout.contains("Step 0 dealt again (round 1) to rank(s) 0"), "\(coordinator.stdout)")
        #expect(coordinator.stdout.contains("Test loss:"), "\(coordinator.stdout)")
        // The mute rank, still connected, was told to stop when it was lost: the coordinator does
        // not wait at its exit for a worker it lost (it waits only for those it stopped at the end).
        #expect(!coordinator.stderr.contains("had not hung up"), "\(coordinator.stderr)")
        #expect(worker.wait(seconds: 20) == 0, "\(worker.stderr)\n--- coordinator:\n\(coordinator.stderr)\n\(coordinator.stdout)")
        #expect(worker.stdout.contains("Worker stopping: training finished"), "\(worker.stdout)")
    }

    @Test func aCoordinatorGivesUpWhenWorkersNeverRegister() throws {
        let dir = try Paths.temporaryDirectory("registration")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticMNIST.write(to: dir, train: 20, test: 10)
        let config = try writeConfig("data:\n  dir: \(dir)\n", in: dir)
        let coordinator = try Child("coordinator", [
            "coordinator", "--config", config, "--workers", "3", "--bind", "ipc://\(dir)/c.sock", "--registration-timeout", "5",
        ], directory: dir)
        #expect(coordinator.wait(seconds: 30) != 0)
        #expect(coordinator.stderr.contains("3 worker(s) had not registered after 5 s"), "\(coordinator.stderr)")
    }
}
