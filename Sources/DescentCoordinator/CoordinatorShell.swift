import DescentConfig
import DescentCore
import DescentData
import DescentModel
import DescentProtocol
import DescentTraining
import DescentTransport
import Foundation

/// The coordinator's shell: it feeds the `CoordinatorMachine` events from the transport and the
/// clock and carries out the machine's directives. The arithmetic (averaging, the update) is the
/// `GradientAverager`'s and the `ProgressDriver`'s; the wire is the transport's.
final class CoordinatorShell {
    private var machine: CoordinatorMachine
    private let transport: CoordinatorTransport
    private let driver: ProgressDriver
    private let averager: GradientAverager
    /// Async and bounded modes: one buffer per update that may be in flight (empty in sync mode).
    private let updateBuffers: [GradientAverager]
    private let stalenessAwareRate: Bool
    private let settingsTemplate: RunSettings
    private let options: CoordinatorOptions
    private var stopPolling: StopPolling
    /// The worker this thread also runs (`--local-worker`), a turn after each look at the transport.
    private let colocated: ColocatedWorker?
    private let watch = ProcessWatch()
    private var log = RateLimitedLog()
    private var finished = false
    private var failure: Error?
    private var lastWatch = 0.0
    /// What the transport knows of each rank's connection, for the join line.
    private var joinDetails: [Int: String] = [:]
    private var faults: FaultPlan
    private var hung = false
    /// A gradient of the step in flight was taken and others are still outstanding: the workers
    /// that sent theirs wait, so their CPUs idle, and the last step's record is written then
    /// rather than before the next step goes out (`ProgressDriver.defersRecords`).
    private var partialStep = false
    /// When the gradient being handled arrived (nil outside its handling): where an update it
    /// completes starts.
    private var gradientArrived: Double?

    init(machine: CoordinatorMachine, transport: CoordinatorTransport, driver: ProgressDriver, settings: RunSettings,
         options: CoordinatorOptions, stop: StopRequest?, stalenessAwareRate: Bool = false, colocated: ColocatedWorker? = nil) {
        self.machine = machine
        self.colocated = colocated
        self.transport = transport
        self.driver = driver
        self.settingsTemplate = settings
        self.options = options
        stopPolling = StopPolling(stop)
        averager = GradientAverager(count: transport.parameters.count)
        switch machine.settings.mode {
        case .sync: updateBuffers = []
        case .async: updateBuffers = [GradientAverager(count: transport.parameters.count)]
        case .bounded(let k): updateBuffers = (0...k).map { _ in GradientAverager(count: transport.parameters.count) }
        }
        self.stalenessAwareRate = stalenessAwareRate
        faults = options.faults
        driver.defersRecords = true
        self.machine.prepare(firstRate: Double(driver.progress.rate))
    }

    var rejections: [Rejection: Int] { machine.rejections }

    /// Runs until every step is applied; throws when the run cannot go on (after telling the
    /// workers to stop and saving a checkpoint of the last applied step).
    func run() throws -> RunSummary {
        do {
            while !finished {
                try turn(timeout: 0.1)
            }
        } catch {
            abandon(error)
            throw error
        }
        return try complete()
    }

    /// Every step is applied.
    var isFinished: Bool { finished }

    /// The run cannot go on: stop the workers, keep a checkpoint, close.
    func abandon(_ error: Error) {
        options.run.observer?.rejectionsCounted(rejectionTotals)
        options.run.observer?.runFailed("\(error)")
        try? execute(machine.stopAll(reason: "the coordinator stopped: \(error)"))
        driver.flush()
        saveCheckpoint(because: "\(error)")
        transport.close()
        reportRejections()
    }

    /// After the last step: stop the workers, evaluate, report, save.
    func complete() throws -> RunSummary {
        options.run.observer?.rejectionsCounted(rejectionTotals)
        try? execute(machine.stopAll(reason: "training finished"))
        transport.close()
        let summary = try driver.finish(parameters: UnsafeBufferPointer(transport.parameters), savePath: options.run.savePath)
        reportRejections()
        return summary
    }

    /// One turn of the loop: arrivals, then the clock.
    func turn(timeout: Double) throws {
        if stopPolling.asked() { throw CoordinatorError.interrupted }
        try transport.receive(timeout: timeout) { arrival in
            guard !self.finished else { return }
            try self.handle(arrival)
        }
        // A step published just now is computed here, at once, on this CPU (then the rest of the
        // turn runs while the other workers still compute).
        do { try colocated?.turn() } catch { throw CoordinatorError.localWorker("\(error)") }
        if partialStep {
            partialStep = false
            try driver.writeDeferredRecord()
        }
        let now = monotonicSeconds()
        if now - lastWatch >= 0.05 {
            lastWatch = now
            for peer in watch.exited() {
                try execute(machine.lost(peer, reason: "its process exited", now: now))
            }
        }
        try execute(machine.tick(now: now))
        if let failure { throw failure }
    }

    private func handle(_ arrival: CoordinatorArrival) throws {
        let now = monotonicSeconds()
        switch arrival {
        case let .malformed(peer, error):
            machine.count(.malformed)
            log.log(kind: "malformed", "coordinator: rejected a message from \(peer.map(String.init(describing:)) ?? "a peer"): \(error)")
            if case .unsupportedVersion(let version) = error, let peer {
                // Tell a worker of another version why it is not admitted, instead of letting it wait.
                transport.send(.reject(WireMessage.Envelope(runID: machine.settings.runID, generation: machine.settings.generation),
                                       reason: "this coordinator speaks protocol version \(WireHeader.protocolVersion), the worker \(version); run the same Descent version on every host"), to: peer)
            }
        case let .refused(_, kind, reason):
            machine.count(kind)
            log.log(kind: kind.rawValue, "coordinator: refused \(reason) [\(kind.rawValue)]")
        case let .gone(peer, reason):
            try execute(machine.lost(peer, reason: reason, now: now))
        case let .message(.gradient(result), peer, floats):
            // A step this gradient completes counts its update from here: the sweep that reads it
            // also averages (and, with an update target, makes the update).
            gradientArrived = now
            defer { gradientArrived = nil }
            // The payload's checks happen here, once, before the machine accepts the gradient.
            guard result.count == transport.parameters.count, let floats else {
                return try execute(machine.payloadRefused(from: peer, .wrongCount,
                                                          "gradient from \(peer) has the wrong element count (\(result.count) floats, the model has \(transport.parameters.count))", now: now))
            }
            // One sweep reads the floats: the finiteness check, and the weighted sum the machine's
            // `.accumulate` then commits.
            // (Async and bounded modes check it here and add it into its update buffer when accepted.)
            let finite = result.lossSum.isFinite && (updateBuffers.isEmpty ? averager.stage(floats, samples: result.samples, rank: Int(exactly: result.rank))
                : floats.withBytes { WirePayload.firstNonFiniteIndex(bytes: $0, encoding: floats.encoding) == nil })
            guard finite else {
                // The coordinator's own worker's gradient is checked by the sweep that reads it,
                // which may be this one's: then that worker is at fault, not this one.
                if let rank = averager.nonFiniteInPlaceRank { return try execute(machine.acceptedGradientNonFinite(rank: rank, now: now)) }
                return try execute(machine.nonFiniteGradient(result, from: peer, now: now))
            }
            try execute(machine.receive(.gradient(result), from: peer, now: now), floats: floats)
        case let .message(message, peer, _):
            try execute(machine.receive(message, from: peer, now: now))
        }
    }

    // MARK: Directives

    /// `floats`: the payload of the gradient the directives answer (async and bounded modes add it).
    private func execute(_ directives: [CoordinatorMachine.Directive], floats: GradientFloats? = nil) throws {
        for directive in directives {
            switch directive {
            case let .send(message, peer):
                transport.send(message, to: peer)
            case let .admit(rank, peer, introduction, rejoined):
                admit(rank: rank, peer: peer, introduction: introduction, rejoined: rejoined)
            case let .remove(rank, peer):
                transport.removed(rank: rank)
                watch.forget(peer)
            case let .sendStep(order, recipients):
                averager.expect(participants: order.participants, update: updateTarget())
                guard injectFault(step: order.step) else { continue }
                transport.sendStep(order, to: recipients)
            case .discardPartialStep:
                averager.reset()
                partialStep = false
            case let .accumulate(_, samples, lossSum, correct):
                averager.commit(samples: samples, lossSum: lossSum, correct: correct)
                partialStep = true
            case let .applyStep(step, ranks, latencies):
                try apply(step: step, ranks: ranks, latencies: latencies)
                partialStep = false
            case let .accumulateGradient(_, samples, lossSum, correct, buffer, staleness):
                let scale: Float = stalenessAwareRate ? 1 / Float(staleness + 1) : 1
                if let floats { updateBuffers[buffer].add(floats, samples: samples, lossSum: lossSum, correct: correct, scale: scale) }
                partialStep = true
            case let .applyUpdate(step, buffer, ranks, latencies, paramSteps):
                try apply(step: step, ranks: ranks, latencies: latencies, averager: updateBuffers[buffer], paramSteps: paramSteps)
                partialStep = false
            case .discardInFlight:
                for buffer in updateBuffers { buffer.reset() }
            case .log(let event):
                report(event)
            case .trainingStarted:
                Console.out("All \(machine.registeredCount) workers registered; training \(machine.step == 0 ? "starts" : "resumes at step \(machine.step)")"
                            + (machine.settings.mode.isPipelined ? " (\(machine.settings.mode) mode)" : ""))
                driver.begin(now: monotonicSeconds(), role: "coordinator", workers: machine.registeredCount)
            case .finish:
                finished = true
            case .fail(.diverged(let step, let rank)):
                failure = DivergenceError(step: step, rate: driver.progress.rate,
                                          detail: "the gradient of rank \(rank) is NaN or infinite")
            case .fail(let failure):
                self.failure = CoordinatorError(failure)
            }
        }
    }

    /// Applies the fault plan to a step about to go out; false when it must not.
    private func injectFault(step: Int) -> Bool {
        guard !hung else { return false }
        switch faults.action(step: step) {
        case .proceed: return true
        case .exit:
            Console.error("coordinator: fault injected: exiting at step \(step)")
            _exit(70)
        case .hang:
            Console.error("coordinator: fault injected: sending no step from step \(step) on")
            hung = true
            return false
        case .drop:
            Console.error("coordinator: fault injected: dropping step \(step)")
            return false
        case .delay(let seconds):
            Console.error("coordinator: fault injected: delaying step \(step) by \(seconds) s")
            usleep(UInt32(min(seconds, 600) * 1_000_000))
            return true
        }
    }

    private func admit(rank: Int, peer: PeerID, introduction: WorkerIntroduction, rejoined: Bool) {
        let shared = transport.admitted(rank: rank, peer: peer, introduction: introduction)
        joinDetails[rank] = (transport.address(of: peer).map { ", address \(Console.sanitized($0))" } ?? "") + (shared != nil ? ", shared memory" : "")
            + (peer == .inProcess ? ", in the coordinator's process" : peer.keyName.map { ", key \($0)" } ?? "")
        if peer != .inProcess { watch.watch(peer, introduction: introduction) }
        var settings = settingsTemplate
        settings.rank = rank
        settings.sharedMemoryName = shared
        transport.send(.welcome(WireMessage.Welcome(runID: machine.settings.runID, generation: machine.settings.generation,
                                                    rank: rank, settings: settings)), to: peer)
    }

    /// Where the sweep that completes a step's mean may write the update (sync mode, plain SGD,
    /// and a transport with a spare parameter buffer); nil: the mean is written, then applied.
    private func updateTarget() -> GradientAverager.UpdateTarget? {
        guard updateBuffers.isEmpty, driver.progress.optimizer.isPlain, let spare = transport.spareParameters?.baseAddress,
              let parameters = transport.parameters.baseAddress else { return nil }
        return GradientAverager.UpdateTarget(parameters: parameters, updated: spare, rate: driver.progress.rate)
    }

    /// Averages the step's gradients and applies the update; a divergent update stops the run.
    /// `paramSteps` (async and bounded modes): the step whose parameters each rank's gradient came from.
    private func apply(step: Int, ranks: [Int], latencies: [Double], averager: GradientAverager? = nil, paramSteps: [Int]? = nil) throws {
        let averager = averager ?? self.averager
        let started = gradientArrived ?? monotonicSeconds()
        let norm = averager.average()
        let parameters = transport.parameters
        let update: ProgressDriver.Update
        if let applied = averager.appliedUpdate {
            assert(applied.rate == driver.progress.rate && applied.updated == transport.spareParameters?.baseAddress,
                   "the update was written at the step's rate into the transport's spare buffer")
            update = .written(updated: UnsafeMutableBufferPointer(start: applied.updated, count: parameters.count), largest: applied.largest,
                              adopt: { self.transport.adoptSpareParameters() })
        } else {
            update = .descend(meanGradient: averager.sum)
        }
        try driver.apply(parameters: parameters, update: update, gradientNorm: norm, lossSum: averager.lossSum,
                         correct: averager.correct, samples: averager.samples, workerLatencies: latencies) { record in
            let slowest = latencies.indices.max { latencies[$0] < latencies[$1] }
            let now = monotonicSeconds()
            record.ranks = ranks
            record.slowestRank = slowest.map { ranks[$0] }
            record.slowestLatencyMs = slowest.map { latencies[$0] * 1000 }
            record.fastestLatencyMs = (latencies.min() ?? 0) * 1000
            record.timeMs = (now - driver.started) * 1000
            record.updateMs = (now - started) * 1000
            record.rssMB = step % 100 == 0 ? residentMemoryMB() : nil
            if let paramSteps, let oldest = paramSteps.min() {
                record.paramStep = oldest
                record.staleness = step - oldest
                record.paramSteps = paramSteps
            }
        }
        if let paramSteps {
            driver.recordStaleness(paramSteps.map { step - $0 })
            transport.parametersChanged()
        }
        averager.reset()
        try execute(machine.stepApplied(nextRate: Double(driver.progress.rate), now: monotonicSeconds()))
    }

    private func report(_ event: CoordinatorMachine.Event) {
        switch event {
        case let .joined(rank, host, pid, registered, rejoined):
            Console.out("Worker rank \(rank) \(rejoined ? "rejoined" : "joined") from \(Console.sanitized(host)) (pid \(pid)\(joinDetails[rank] ?? "")); "
                        + "\(registered) of \(machine.settings.initialWorkers) registered")
            options.run.observer?.event(RunEvent(.workerJoined, step: machine.step, rank: rank, detail: Console.sanitized(host)))
            options.run.observer?.membershipChanged(Membership(expected: machine.settings.initialWorkers, registered: registered, alive: registered))
        case let .lost(rank, host, reason, survivors):
            Console.out("Worker rank \(rank) (\(Console.sanitized(host))) lost: \(reason); \(survivors) worker(s) go on")
            options.run.observer?.event(RunEvent(.workerLost, step: machine.step, rank: rank, detail: "\(Console.sanitized(host)): \(reason)"))
            options.run.observer?.membershipChanged(Membership(expected: machine.settings.initialWorkers, registered: survivors, alive: survivors))
        case let .redealt(step, round, participants):
            Console.out("Step \(step) dealt again (round \(round)) to rank(s) \(participants.map(String.init).joined(separator: ", "))")
        case let .waitingForWorkers(have, need, seconds):
            Console.error("coordinator: waiting for \(need - have) of \(need) worker(s) to register at \(transport.endpoint) (\(Int(seconds)) s)")
        case let .waitingForGradients(step, ranks, seconds):
            let names = ranks.map { rank in "\(rank) (\(Console.sanitized(machine.members[rank]?.introduction.host ?? "?")))" }.joined(separator: ", ")
            Console.error("coordinator: step \(step) waiting \(String(format: "%.1f", seconds)) s for rank(s) \(names)")
        case let .rejected(kind, reason):
            log.log(kind: kind.rawValue, "coordinator: rejected \(reason) [\(kind.rawValue)]")
            options.run.observer?.rejectionsCounted(rejectionTotals)
        }
    }

    private func saveCheckpoint(because reason: String) {
        do {
            if let path = try driver.checkpoint(parameters: UnsafeBufferPointer(transport.parameters)) {
                Console.error("coordinator: saved a checkpoint of step \(driver.progress.step) at \(path) (\(reason)); continue with --resume \(options.run.checkpointDirectory ?? "")")
            }
        } catch {
            Console.error("coordinator: could not save a checkpoint: \(error)")
        }
    }

    private var rejectionTotals: [String: Int] {
        Dictionary(uniqueKeysWithValues: machine.rejections.map { ($0.key.rawValue, $0.value) })
    }

    private func reportRejections() {
        let rejections = machine.rejections
        guard !rejections.isEmpty else { return }
        let text = rejections.sorted { $0.key < $1.key }.map { "\($0.key.rawValue)=\($0.value)" }.joined(separator: " ")
        Console.out("Rejected messages: \(text)")
    }
}

/// Workers on this host whose process can be watched: a dead one is noticed within a tick,
/// not after the silence limit.
final class ProcessWatch {
    private let hostIdentity = HostIdentity.current()
    private var watched: [PeerID: Int32] = [:]

    func watch(_ peer: PeerID, introduction: WorkerIntroduction) {
        guard let hostIdentity, introduction.hostIdentity == hostIdentity, let pid = Int32(exactly: introduction.pid), pid > 1 else { return }
        watched[peer] = pid
    }

    func forget(_ peer: PeerID) { watched[peer] = nil }

    /// Peers whose process no longer exists (each reported once).
    func exited() -> [PeerID] {
        var gone: [PeerID] = []
        for (peer, pid) in watched where kill(pid, 0) != 0 && errno == ESRCH {
            gone.append(peer)
        }
        for peer in gone { watched[peer] = nil }
        return gone
    }
}
