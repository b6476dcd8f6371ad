import DescentCore
import DescentData
import DescentProtocol
import DescentTraining
import DescentTransport
import Foundation

/// The worker's shell: it feeds the `WorkerMachine` what the transport delivers and the clock,
/// and carries out its directives (hello, heartbeats, computing slots of a step through the
/// `WorkerSession`). It makes no protocol decision of its own.
public final class WorkerShell {
    private let options: WorkerOptions
    private let train: LabeledImages
    private let transport: WorkerTransport
    private let introduction: WorkerIntroduction
    private var machine: WorkerMachine
    private var session: WorkerSession?
    private var lastGradientSent: Double?
    private var coordinatorPID: Int32?
    private var lastPIDCheck = 0.0
    /// Malformed messages are logged in full the first 10 times, then one in 1,000, at most once a second.
    private var log = RateLimitedLog()
    private let trace: JSONLinesWriter?
    private var faults: FaultPlan
    private var hung = false
    private var stopPolling: StopPolling
    public private(set) var ending: WorkerMachine.Ending?
    /// Steps this worker computed (for tests and the trace).
    public private(set) var computedSteps = 0

    public init(options: WorkerOptions, train: LabeledImages, transport: WorkerTransport, hostName: String = ProcessInfo.processInfo.hostName) throws {
        self.options = options
        self.train = train
        self.transport = transport
        introduction = WorkerIntroduction(host: hostName, pid: Int(getpid()), requestedRank: options.requestedRank,
                                          hostIdentity: HostIdentity.current(),
                                          sharedMemory: options.sharedMemory,
                                          wireEncodings: WireEncoding.allCases.map(\.rawValue))
        machine = WorkerMachine(timing: .init(joinTimeout: options.joinTimeoutSeconds, rejoinTimeout: options.rejoinTimeoutSeconds),
                                now: monotonicSeconds())
        trace = try options.tracePath.map { try JSONLinesWriter(path: $0) }
        faults = options.faults
        stopPolling = StopPolling(options.stop)
    }

    deinit { try? trace?.close() }

    /// Runs until the coordinator says stop (returns), or the worker is refused, gives up or the
    /// run failed (throws).
    public func run() throws {
        while ending == nil {
            try turn(timeout: 0.1)
        }
        transport.close()
        try finish()
    }

    /// One turn of the loop: the clock, then what arrives within `timeout`.
    public func turn(timeout: Double) throws {
        if stopPolling.asked() { throw WorkerError.interrupted }
        let now = monotonicSeconds()
        try execute(machine.tick(now: now))
        if let pid = coordinatorPID, now - lastPIDCheck >= 0.05 {
            lastPIDCheck = now
            if kill(pid, 0) != 0 && errno == ESRCH {
                coordinatorPID = nil
                session = nil
                transport.detach()
                try execute(machine.coordinatorGone(now: now))
            }
        }
        guard ending == nil else { return }
        try transport.receive(timeout: timeout) { arrival in
            guard self.ending == nil else { return }
            switch arrival {
            case .malformed(let error):
                self.log.log(kind: "malformed", "worker: ignored a malformed message: \(error)")
            case let .message(message, parameters):
                try self.execute(self.machine.receive(message, now: monotonicSeconds()), parameters: parameters)
            }
        }
    }

    func finish() throws {
        switch ending {
        case .stopped(let reason)?:
            Console.out("Worker stopping: \(reason)")
            // A stop because the run failed (or this worker was dropped) ends the worker with a failure too.
            if reason.hasPrefix("the coordinator stopped") || reason.hasPrefix("the coordinator treats") {
                throw WorkerError.runFailed(reason: reason)
            }
        case .refused(let reason)?:
            throw WorkerError.refused(reason: reason)
        case let .gaveUp(reason, admitted)?:
            let state = admitted ? "this worker had been admitted" : transport.connected ? "connected, but the coordinator never admitted this worker" : "no connection could be made"
            throw WorkerError.gaveUp(endpoint: options.connect, reason: reason, state: state)
        case nil:
            break
        }
    }

    private func execute(_ directives: [WorkerMachine.Directive], parameters: StepParameters? = nil) throws {
        for directive in directives {
            switch directive {
            case let .sendHello(runID, generation):
                let hello = WireMessage.Hello(runID: runID, generation: generation,
                                              requestedRank: options.requestedRank.flatMap(UInt32.init(exactly:)) ?? WireHeader.unassignedRank,
                                              configHash: options.configHash, processID: UInt64(getpid()), introduction: introduction)
                try transport.send(.hello(hello))
            case .sendHeartbeat(let envelope):
                try transport.send(.heartbeat(envelope))
            case .startSession(let welcome):
                try start(welcome)
            case let .compute(order, rank, slots):
                try compute(order, rank: rank, slots: slots, parameters: parameters)
            case .report(let text):
                Console.error("worker: \(text)")
            case let .stillJoining(seconds, rejoining):
                let state = transport.connected ? "connected, waiting to be admitted" : "no connection yet"
                Console.error("worker: still trying to \(rejoining ? "rejoin" : "join") the coordinator at \(options.connect) after \(Int(seconds)) s (\(state))")
            case .end(let ending):
                self.ending = ending
            }
        }
    }

    private func start(_ welcome: WireMessage.Welcome) throws {
        try BackendMismatch.check(required: options.backend, coordinator: welcome.settings.backend)
        try WireEncodingMismatch.check(required: options.wireEncoding, coordinator: welcome.settings.encoding)
        if session?.settings != welcome.settings {
            session = nil
            session = try WorkerSession(settings: welcome.settings, train: train, shared: try transport.attach(welcome.settings))
        }
        coordinatorPID = welcome.settings.sharedMemoryName != nil ? welcome.settings.coordinatorPID.flatMap(Int32.init(exactly:)) : nil
        Console.out("Worker rank \(welcome.rank) of \(welcome.settings.workers) joined run \(welcome.runID) generation \(welcome.generation): "
                    + "\(welcome.settings.sampleCount) samples per epoch, global batch \(welcome.settings.globalBatch), \(welcome.settings.backend) backend"
                    + (welcome.settings.encoding != .float32 && welcome.settings.sharedMemoryName == nil ? ", \(welcome.settings.encoding) on the wire" : "")
                    + (welcome.settings.sharedMemoryName != nil ? ", parameters through shared memory" : "")
                    + (welcome.settings.sharedMemoryName != nil && options.stepSpinSeconds > 0
                       ? ", spinning up to \(Int((options.stepSpinSeconds * 1e6).rounded())) µs for each next step" : ""))
    }

    /// Computes this worker's slots of one step and hands the gradient to the transport.
    private func compute(_ order: WireMessage.StepOrder, rank: Int, slots: [Int], parameters: StepParameters?) throws {
        guard let session, let parameters, !hung else { return }
        switch faults.action(step: order.step) {
        case .proceed: break
        case .exit:
            Console.error("worker: fault injected: exiting at step \(order.step)")
            _exit(70)
        case .hang:
            Console.error("worker: fault injected: computing nothing from step \(order.step) on (still answering heartbeats)")
            hung = true
            return
        case .drop:
            Console.error("worker: fault injected: dropping the gradient of step \(order.step)")
            return
        case .delay(let seconds):
            usleep(UInt32(min(seconds, 600) * 1_000_000))
        }
        guard order.parameterCount == session.shape.parameterCount, session.holds(batch: order.batch),
              order.batch == order.step % session.batchesPerEpoch else {
            Console.error("worker: ignored step \(order.step): \(order.parameterCount) parameters for batch \(order.batch); "
                          + "the model has \(session.shape.parameterCount) and an epoch \(session.batchesPerEpoch) batches")
            return
        }
        let arrived = monotonicSeconds()
        let epoch = order.step / session.batchesPerEpoch
        let result = try session.compute(parameters, epoch: epoch, batch: order.batch, slots: slots)
        let gradient = WireMessage.GradientResult(
            runID: order.runID, generation: order.generation, rank: UInt32(rank), step: UInt64(order.step), round: order.round,
            samples: UInt64(result.samples), lossSum: result.lossSum, correct: UInt64(result.correct),
            count: session.shape.parameterCount, location: order.parameters)
        if try !transport.sendGradient(gradient, gradient: UnsafeBufferPointer(session.gradient)) {
            Console.error("worker: could not send the gradient of step \(order.step): no connection to the coordinator")
        }
        let done = monotonicSeconds()
        machine.sent(now: done)
        computedSteps += 1
        try trace?.append(WorkerStepRecord(step: order.step, rank: rank, epoch: epoch, batch: order.batch, rate: order.rate,
                                           samples: result.samples, computeMs: (done - arrived) * 1000,
                                           idleMs: lastGradientSent.map { (arrived - $0) * 1000 },
                                           rssMB: order.step % 100 == 0 ? residentMemoryMB() : nil, round: order.round, slots: slots))
        options.observer?.workerStepComputed(rank: rank, step: order.step, rate: order.rate, samples: result.samples,
                                             computeSeconds: done - arrived, idleSeconds: lastGradientSent.map { arrived - $0 })
        lastGradientSent = done
    }
}
