import DescentCore
import DescentProtocol
import DescentTransport
#if canImport(Glibc)
import Glibc
#endif

/// Shared memory for the workers on the coordinator's host, on top of the socket: the model
/// lives in the segment, a step to local ranks is a header written there and a futex wake, and
/// their gradients are announced the same way. Control messages and workers on other hosts go
/// through the socket.
public final class SharedMemoryTransport: CoordinatorTransport {
    private let local: LocalWorkers
    private let socket: SocketTransport

    /// A segment for the run, or nil (with the reason on standard error) where none can be made.
    public static func make(bind: String, runID: UInt64, generation: UInt32, parameterCount: Int, slots: Int,
                            security: ServerSecurity = .insecure, spinSeconds: Double = 0.0005,
                            wireEncoding: WireEncoding = .float32) throws -> CoordinatorTransport {
        guard let local = LocalWorkers.create(runID: runID, generation: generation, parameterCount: parameterCount, workers: slots) else {
            return try SocketTransport(bind: bind, parameterCount: parameterCount, security: security, workers: slots, wireEncoding: wireEncoding)
        }
        return SharedMemoryTransport(local: local, socket: try SocketTransport(bind: bind, parameterCount: parameterCount, parameters: local.parameters,
                                                                               security: security, workers: slots, wireEncoding: wireEncoding),
                                     spinSeconds: spinSeconds)
    }

    private init(local: LocalWorkers, socket: SocketTransport, spinSeconds: Double) {
        self.local = local
        self.socket = socket
        self.spinSeconds = max(0, spinSeconds)
    }

    public var parameters: UnsafeMutableBufferPointer<Float> { local.parameters }
    public var spareParameters: UnsafeMutableBufferPointer<Float>? { local.spareParameters }

    public func adoptSpareParameters() {
        local.adoptSpareParameters()
        socket.follow(parameters: local.parameters)
    }
    public var endpoint: String { socket.endpoint }

    public func receive(timeout: Double, _ handle: (CoordinatorArrival) throws -> Void) throws {
        guard local.any else { return try socket.receive(timeout: timeout, handle) }
        // Sleep on the futex the workers on this host bump; look at the socket between naps. While
        // fewer local workers compute than there are CPUs, one CPU idles anyway (the finished
        // workers sleep): spin there first, so the last gradient is taken up without a wakeup.
        let spin = local.computing > 0 && local.computing < Self.processors ? spinSeconds : 0
        let nap = napBeforeLooking(timeout: timeout)
        local.waitForGradients(timeout: nap, spin: nap > 0 ? spin : 0)
        var announced = false
        try local.forEachAnnouncement { rank, peer, decoded in
            switch decoded {
            case .failure(let error):
                try handle(.malformed(from: peer, error))
            case .success(let header) where header.type != .gradientShared:
                try handle(.malformed(from: peer, .unknownType(header.type.rawValue)))
            case .success(let header):
                announced = true
                try handle(.message(try WireMessage.decode(header, text: nil), from: peer, floats: local.gradient(rank: rank)))
            }
        }
        if socketLooks.due(now: monotonicSeconds(), everyWorkerLocal: local.all, backlog: socketBacklog, announced: announced) {
            socketBacklog = try socket.drain(handle)
        }
    }

    /// When `receive` looks at the socket after the segment.
    private var socketLooks = SocketLooks()

    /// Whether the last look at the socket stopped at its drain limit (more messages queued).
    private var socketBacklog = false

    /// How long the next `receive` sleeps on the futex before it looks at the socket: none while
    /// the socket has a backlog (a flood is read at the socket's pace, not 256 messages a nap),
    /// else 5 ms when every worker is local, 0.5 ms when some are not (their gradients come by
    /// the socket), and never past `timeout`.
    func napBeforeLooking(timeout: Double) -> Double {
        socketBacklog ? 0 : min(timeout, local.all ? 0.005 : 0.0005)
    }

    /// Unlinks the segments of coordinators of this user that died without removing theirs (a
    /// SIGKILL, a crash); returns their names. `launch` calls it when its processes have ended, so a
    /// killed coordinator's 400 KB-per-worker segment does not wait for the next run to go.
    @discardableResult
    public static func reclaimSegmentsOfDeadCoordinators() -> [String] {
        SharedMemorySegment.reclaimStale(prefix: LocalWorkers.segmentPrefix)
    }

    /// The most the coordinator spins for a gradient before sleeping on the futex.
    private let spinSeconds: Double
    /// CPUs this process may run on.
    static let processors = max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))

    public func send(_ message: WireMessage, to peer: PeerID) { socket.send(message, to: peer) }

    public func sendStep(_ order: WireMessage.StepOrder, to recipients: [CoordinatorMachine.Recipient]) {
        let viaSegment = recipients.filter { local.ranks[$0.rank] }
        if !viaSegment.isEmpty {
            var shared = order
            shared.parameterCount = parameters.count
            shared.parameters = .sharedMemory
            local.publish(shared.header, recipients: viaSegment.count)
        }
        socket.sendStep(order, to: recipients.filter { !local.ranks[$0.rank] })
    }

    public func admitted(rank: Int, peer: PeerID, introduction: WorkerIntroduction) -> String? {
        _ = socket.admitted(rank: rank, peer: peer, introduction: introduction)
        return local.admit(rank: rank, peer: peer, introduction) ? local.segment.name : nil
    }

    public func removed(rank: Int) {
        socket.removed(rank: rank)
        local.remove(rank: rank)
    }
    public func parametersChanged() { socket.parametersChanged() }
    public func address(of peer: PeerID) -> String? { socket.address(of: peer) }

    public func close() { socket.close() }
}

/// When a shared-memory coordinator looks at its socket, after the segment. Where every worker is
/// local the socket carries control messages only (hellos, heartbeats, stops), which wait up to a
/// nap (5 ms) anyway, and a look (a libzmq poll, 0.9 µs here) at every turn sat on the step's
/// critical path with `--local-worker`: then it is looked at when the turn saw no
/// gradient, while it has a backlog, and otherwise once a millisecond at most.
struct SocketLooks {
    static let interval = 0.001
    private var last = -Double.infinity

    mutating func due(now: Double, everyWorkerLocal: Bool, backlog: Bool, announced: Bool) -> Bool {
        guard !everyWorkerLocal || backlog || !announced || now - last >= Self.interval else { return false }
        last = now
        return true
    }
}
