import Foundation
import Testing
@testable import DescentTransport

@Suite("Socket and context lifecycle")
struct LifecycleTests {
    @Test("a new socket has LINGER 0")
    func lingerIsZeroByDefault() throws {
        let context = try ZMQContext()
        let socket = try ZMQSocket(context, kind: .dealer)
        #expect(try socket.lingerMilliseconds() == 0)
    }

    @Test("closing a socket with unsent messages and dropping its context returns")
    func closeWithQueuedMessagesDoesNotHang() throws {
        let finished = DispatchSemaphore(value: 0)
        let failure = ErrorBox()
        let thread = Thread {
            do {
                let context = try ZMQContext()
                let dealer = try ZMQSocket(context, kind: .dealer)
                // Nothing listens here: the messages stay queued until close.
                try dealer.connect("tcp://127.0.0.1:1")
                for _ in 0..<10 { try dealer.send(header: [1], mode: .dontWait) }
                dealer.close()
            } catch {
                failure.set("\(error)")
            }
            finished.signal()
        }
        thread.start()
        // A bound on the wait, so a regression fails instead of hanging the suite.
        #expect(finished.wait(timeout: .now() + 20) == .success)
        #expect(failure.get() == nil)
    }

    @Test("calls on a closed socket throw instead of crashing")
    func closedSocketThrows() throws {
        let context = try ZMQContext()
        let socket = try ZMQSocket(context, kind: .router)
        socket.close()
        #expect(socket.isClosed)
        #expect(throws: ZMQError.self) { try socket.bind("inproc://descent-test-closed") }
    }

    @Test("a malformed endpoint throws an error naming the call")
    func badEndpointThrows() throws {
        let context = try ZMQContext()
        let socket = try ZMQSocket(context, kind: .router)
        do {
            try socket.bind("nonsense://x")
            Issue.record("binding a malformed endpoint succeeded")
        } catch {
            #expect(error.call == "zmq_bind(nonsense://x)")
            #expect(error.kind == .other)
        }
    }

    @Test("a shut-down context makes a blocking receive fail with the context-terminated error")
    func shutdownWakesBlockingReceive() throws {
        let context = try ZMQContext()
        let socket = try ZMQSocket(context, kind: .dealer)
        try context.shutdown()
        do {
            _ = try socket.receiveMultipart(maxFrames: 2)
            Issue.record("the receive returned after shutdown")
        } catch {
            #expect(error.kind == .contextTerminated)
        }
    }
}

/// A lock-protected slot for an error text produced on another thread.
final class ErrorBox: @unchecked Sendable {
    private let lock = NSLock()
    private var text: String?
    func set(_ value: String) { lock.withLock { text = value } }
    func get() -> String? { lock.withLock { text } }
}
