import DescentCore

/// The `async` and `bounded` modes of the coordinator's machine (`SyncMode`): more than one
/// update's gradients may be in flight, each worker gets work of its own as soon as it may.
///
/// Both modes keep the global step as the count of applied updates, and remember for every
/// assignment the step whose parameters went out with it, so that each applied gradient's
/// staleness (applied step - parameter step) is known.
///
/// - `async`: update t is one worker's gradient, on a batch of the (per-worker) plan. Batches are
///   dealt in order: the d-th assignment of the run computes the plan's batch d (its epoch and
///   position), whatever step it is applied at; a lost worker's batch is dealt again (first) to the
///   next worker that asks, so every batch of an epoch is applied exactly once.
/// - `bounded(k)`: update t is the mean of every participant's share of global batch t, applied in
///   step order, as in `sync`. Rank r computes steps one after another and may start step s once
///   s <= t + k (t: the updates applied so far) with the parameters of step t; the shares of up to
///   k + 1 steps are summed in k + 1 buffers. A membership change (a worker lost or joining)
///   drops the work in flight and deals it again from step t in a new round, like `sync`'s redeal.
extension CoordinatorMachine {
    /// What a rank computes now (async and bounded modes).
    struct Assignment: Sendable, Equatable {
        /// The plan step (async: the batch) it computes.
        var step: Int
        var round: UInt16
        /// The global step whose parameters went out with it.
        var paramStep: Int
        var sentAt: Double
    }

    /// One step of the bounded window: whose shares are in, and the parameter steps they came from.
    struct WindowStep: Sendable, Equatable {
        var received: UInt64 = 0
        var paramSteps: [Int]
        var latencies: [Double]

        init(slots: Int) {
            paramSteps = Array(repeating: 0, count: slots)
            latencies = Array(repeating: 0, count: slots)
        }
    }

    private var staleness: Int {
        if case .bounded(let k) = settings.mode { return k }
        return 0
    }

    private var isAsync: Bool { settings.mode == .async }

    /// The update buffer of step `s` (bounded), or the one buffer (async).
    private func buffer(of s: Int) -> Int { isAsync ? 0 : s % (staleness + 1) }

    private func order(step s: Int, round: UInt16, participants: UInt64) -> WireMessage.StepOrder {
        WireMessage.StepOrder(runID: settings.runID, generation: settings.generation, step: s, round: round,
                              batch: settings.plan.position(ofStep: s).batch, rate: rate, participants: participants,
                              parameterCount: 0, parameters: .frame)
    }

    // MARK: Events

    /// A worker was admitted (new, or back) while the run is registering, training or paused.
    mutating func pipelinedJoin(now: Double) -> [Directive] {
        switch phase {
        case .registering where rankOf.count >= settings.initialWorkers:
            return [.trainingStarted] + restart(now: now, log: false)
        case .paused where activeRanks.count >= settings.minWorkers:
            return restart(now: now, log: true)
        case .training where isAsync:
            return dealIdle(now: now)
        case .training:
            // Bounded: the newcomer takes part from a fresh window (its shares change everyone's).
            return restart(now: now, log: true)
        default:
            return []
        }
    }

    /// A registered peer said hello again: send it its assignment again, with the parameters of now.
    mutating func resendAssignment(rank: Int, now: Double) -> [Directive] {
        guard var assignment = assignments[rank], let member = members[rank] else { return dealIdle(now: now) }
        assignment.paramStep = step
        assignment.sentAt = now
        assignments[rank] = assignment
        let mask = isAsync ? bit(rank) : participants
        return [.sendStep(order(step: assignment.step, round: assignment.round, participants: mask),
                          to: [Recipient(rank: rank, peer: member.peer)])]
    }

    mutating func pipelinedGradient(_ result: WireMessage.GradientResult, finite: Bool, rank: Int, now: Double) -> [Directive] {
        guard let assignment = assignments[rank], result.round == assignment.round, result.step == UInt64(assignment.step) else {
            if let assignment = assignments[rank], result.round == assignment.round {
                return result.step < UInt64(assignment.step)
                    ? reject(.pastStep, "gradient from rank \(rank) for past step \(result.step), it computes step \(assignment.step)")
                    : reject(.futureStep, "gradient from rank \(rank) for future step \(result.step), it computes step \(assignment.step)")
            }
            return reject(assignments[rank] == nil ? .unexpected : .staleRound,
                          "gradient from rank \(rank) for step \(result.step) round \(result.round), which is not its assignment (dropped)")
        }
        let mask = isAsync ? bit(rank) : participants
        let expected = SlotAssignment.expectedSamples(plan: settings.plan, batch: settings.plan.position(ofStep: assignment.step).batch,
                                                      rank: rank, participants: mask, slotCount: settings.slots)
        guard result.samples == UInt64(expected), result.correct <= result.samples else {
            return reject(.wrongSamples, "gradient from rank \(rank) for step \(assignment.step) covers \(result.samples) samples (\(result.correct) correct), its share is \(expected)")
        }
        guard finite else {
            phase = .finished
            return reject(.nonFinite, "gradient from rank \(rank) for step \(assignment.step) holds NaN or infinity")
                + [.fail(.diverged(step: step, rank: rank))]
        }
        assignments[rank] = nil
        if isAsync {
            // Applied now, as update `step`, at the rate of `step`.
            phase = .applying
            return [
                .accumulateGradient(rank: rank, samples: expected, lossSum: result.lossSum, correct: Int(result.correct), buffer: 0,
                                    staleness: step - assignment.paramStep),
                .applyUpdate(step: step, buffer: 0, ranks: [rank], latencies: [now - assignment.sentAt], paramSteps: [assignment.paramStep]),
            ]
        }
        let index = buffer(of: assignment.step)
        window[index].received |= bit(rank)
        window[index].paramSteps[rank] = assignment.paramStep
        window[index].latencies[rank] = now - assignment.sentAt
        var directives: [Directive] = [
            .accumulateGradient(rank: rank, samples: expected, lossSum: result.lossSum, correct: Int(result.correct), buffer: index,
                                staleness: assignment.step - assignment.paramStep),
        ]
        if let apply = applyIfComplete() { return directives + [apply] }
        directives += dealIdle(now: now)
        return directives
    }

    /// Bounded: the update of `step` when all its shares are in.
    private mutating func applyIfComplete() -> Directive? {
        let entry = window[buffer(of: step)]
        guard participants != 0, entry.received == participants else { return nil }
        phase = .applying
        let ranks = SlotAssignment.ranks(in: participants, slotCount: settings.slots)
        return .applyUpdate(step: step, buffer: buffer(of: step), ranks: ranks, latencies: ranks.map { entry.latencies[$0] },
                            paramSteps: ranks.map { entry.paramSteps[$0] })
    }

    mutating func pipelinedStepApplied(nextRate: Double, now: Double) -> [Directive] {
        if !isAsync { window[buffer(of: step)] = WindowStep(slots: settings.slots) }
        step += 1
        rate = nextRate
        if step >= settings.totalSteps {
            phase = .finished
            return [.finish]
        }
        if !isAsync, let apply = applyIfComplete() { return [apply] }
        phase = .training
        return dealIdle(now: now)
    }

    /// `rank` has just been removed: its assignment is dropped (a gradient of it is refused from
    /// now on); async deals its batch again, bounded starts a new window.
    mutating func pipelinedLoss(rank: Int, now: Double) -> [Directive] {
        let assignment = assignments[rank]
        assignments[rank] = nil
        switch phase {
        case .training where isAsync:
            guard let assignment else { return [] }
            redeal.append(assignment.step)
            redeal.sort()
            // Workers accept an order only from a newer round or a later step: a new round lets a
            // worker that has computed later batches take this one.
            round &+= 1
            if activeRanks.count < settings.minWorkers || activeRanks.isEmpty { return pause(now: now) }
            return dealIdle(now: now)
        case .training where participants & bit(rank) != 0:
            return restart(now: now, log: true)
        default:
            return []
        }
    }

    /// Everything in flight is dropped; below `minWorkers` the run pauses.
    private mutating func pause(now: Double) -> [Directive] {
        for rank in 0..<settings.slots {
            if let assignment = assignments[rank], isAsync { redeal.append(assignment.step) }
            assignments[rank] = nil
        }
        redeal.sort()
        phase = .paused(since: now)
        return [.discardInFlight]
    }

    /// Starts (or starts again) dealing from step `step` to every registered worker in a new round.
    private mutating func restart(now: Double, log: Bool) -> [Directive] {
        for rank in 0..<settings.slots where members[rank] != nil { members[rank]?.active = true }
        guard activeRanks.count >= settings.minWorkers, !activeRanks.isEmpty else {
            if case .paused = phase { return [] }
            return pause(now: now)
        }
        var directives: [Directive] = []
        if phase != .registering {
            round &+= 1
            directives.append(.discardInFlight)
        }
        for rank in 0..<settings.slots {
            if let assignment = assignments[rank], isAsync { redeal.append(assignment.step) }
            assignments[rank] = nil
            nextStep[rank] = step
        }
        redeal.sort()
        for index in window.indices { window[index] = WindowStep(slots: settings.slots) }
        participants = SlotAssignment.mask(activeRanks)
        phase = .training
        lastReport = now
        if log { directives.append(.log(.redealt(step: step, round: round, participants: activeRanks))) }
        return directives + dealIdle(now: now)
    }

    /// Gives every idle worker the work it may do now.
    private mutating func dealIdle(now: Double) -> [Directive] {
        guard phase == .training else { return [] }
        var directives: [Directive] = []
        var groups: [(step: Int, recipients: [Recipient])] = []
        for rank in 0..<settings.slots where assignments[rank] == nil {
            guard let member = members[rank], member.active else { continue }
            if isAsync {
                let next: Int
                if !redeal.isEmpty {
                    next = redeal.removeFirst()
                } else if dealt < settings.totalSteps {
                    next = dealt
                    dealt += 1
                } else {
                    continue
                }
                assignments[rank] = Assignment(step: next, round: round, paramStep: step, sentAt: now)
                directives.append(.sendStep(order(step: next, round: round, participants: bit(rank)),
                                            to: [Recipient(rank: rank, peer: member.peer)]))
            } else {
                guard participants & bit(rank) != 0 else { continue }
                let next = nextStep[rank]
                guard next <= step + staleness, next < settings.totalSteps else { continue }
                nextStep[rank] = next + 1
                assignments[rank] = Assignment(step: next, round: round, paramStep: step, sentAt: now)
                if let index = groups.firstIndex(where: { $0.step == next }) {
                    groups[index].recipients.append(Recipient(rank: rank, peer: member.peer))
                } else {
                    groups.append((next, [Recipient(rank: rank, peer: member.peer)]))
                }
            }
        }
        for group in groups {
            directives.append(.sendStep(order(step: group.step, round: round, participants: participants), to: group.recipients))
        }
        return directives
    }

    /// The clock while training: silent workers and workers past the progress deadline are lost.
    mutating func pipelinedTick(now: Double) -> [Directive] {
        var directives: [Directive] = []
        for rank in 0..<settings.slots {
            guard let member = members[rank] else { continue }
            if now - member.lastHeard > settings.silenceLimit {
                directives += lose(rank: rank, reason: "silent for \(Int(now - member.lastHeard)) s", now: now)
            } else if let assignment = assignments[rank], now - assignment.sentAt > settings.progressDeadline {
                directives += lose(rank: rank, reason: "no gradient for step \(assignment.step) after \(Int(now - assignment.sentAt)) s although it is alive",
                                   now: now)
            }
            if phase != .training { break }
        }
        if phase == .training, now - lastReport >= settings.waitReportInterval {
            let late = (0..<settings.slots).filter { assignments[$0].map { now - $0.sentAt >= settings.waitReportInterval } ?? false }
            if let oldest = late.compactMap({ assignments[$0] }).min(by: { $0.sentAt < $1.sentAt }) {
                lastReport = now
                directives.append(.log(.waitingForGradients(step: oldest.step, ranks: late, seconds: now - oldest.sentAt)))
            }
        }
        return directives
    }
}
