import DescentTransport
import Foundation
import Testing

extension SystemTests {
    /// libzmq 4.3.4 aborts a ROUTER (`Assertion failed: !_io_error`, stream_engine_base.cpp:331)
    /// when a connection whose queue is full (the coordinator busy: the high-water mark reached)
    /// hangs up and then the socket's own ZMTP heartbeat timer fires. Any peer that reaches the
    /// port could do it: send more than 8 messages while the coordinator evaluates an epoch, then
    /// disconnect. A link that drops mid-run did it by accident (the network-outage test, now
    /// and then). The coordinator sends no ZMTP heartbeats of its own, so the timer never runs.
    /// Here a fault plan makes the coordinator sleep 4 s before steps 6 and 7; during the sleep a peer
    /// floods 200 messages and hangs up; the run must finish, the peer's messages refused.
    @Test func aPeerThatFloodsAndHangsUpWhileTheCoordinatorIsBusyCannotCrashIt() throws {
        let dir = try Paths.temporaryDirectory("hangup")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticMNIST.write(to: dir, train: 256, test: 32)
        let config = try writeConfig("data:\n  dir: \(dir)\ntraining:\n  epochs: 1\n  batch_size: 32\n", in: dir)
        let port = UInt16(20_000 + Int(getpid() + 7) % 20_000)
        let endpoint = "tcp://127.0.0.1:\(port)"
        let coordinator = try Child("coordinator", [
            "coordinator", "--config", config, "--workers", "1", "--bind", endpoint, "--insecure", "--no-shared-memory",
            "--fault", "delay:ms=4000,step=6",
        ], directory: dir)
        defer { coordinator.stop() }
        #expect(coordinator.waitFor("Coordinator listening"), "\(coordinator.stderr)")

        let context = try ZMQContext()
        let peer = try ZMQSocket(context, kind: .dealer)
        try peer.setLinger(milliseconds: 0)
        try peer.connect(endpoint)
        let worker = try Child("worker", ["worker", "--connect", endpoint, "--config", config, "--insecure", "--no-shared-memory"],
                               directory: dir)
        defer { worker.stop() }
        #expect(coordinator.waitFor("fault injected: delaying step 6", seconds: 60), "\(coordinator.stderr)")
        var sent = 0
        for _ in 0..<200 where try peer.send(header: [UInt8](repeating: 0x42, count: 64), mode: .dontWait) == .sent { sent += 1 }
        usleep(1_000_000)
        peer.close()  // the hangup, with the coordinator's queue for this connection full
        #expect(sent > 8, "only \(sent) messages left the peer")

        #expect(coordinator.wait(seconds: 120) == 0, "\(coordinator.stdout.suffix(2000))\n\(coordinator.stderr.suffix(3000))")
        #expect(!coordinator.stderr.contains("Assertion failed"), "\(coordinator.stderr.suffix(2000))")
        #expect(coordinator.stdout.contains("Rejected messages:"), "\(coordinator.stdout.suffix(2000))")
        #expect(worker.wait(seconds: 30) == 0, "\(worker.stderr.suffix(2000))")
    }
}
