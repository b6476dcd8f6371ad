import DescentCore
import DescentProtocol
import DescentTransport

/// The coordinator's side of the shared-memory segment, for the workers on its own host: the
/// parameters live in the segment, a step is announced by writing its header there and waking a
/// futex, and each worker announces its gradient the same way (see `SharedStepLayout`).
final class LocalWorkers {
    let segment: SharedMemorySegment
    let layout: SharedStepLayout
    /// This host and network namespace; workers that report the same one get the segment.
    let hostIdentity: String
    /// Which ranks use the segment.
    private(set) var ranks: [Bool]
    private var peers: [PeerID?]
    /// Counts publications: a step dealt again in a new round is a new publication.
    private var publications: UInt32 = 0
    private let stepSequence: SharedWord
    private let completions: SharedWord
    private let parameterBufferWord: SharedWord
    /// The parameter buffer that holds the model now (the next step is published from it).
    private(set) var parameterBuffer = 0
    private let doneSequences: [SharedWord]
    private var seenDone: [UInt32]
    private var seenCompletions: UInt32 = 0

    /// A segment for a run, or nil (with the reason on standard error) where none can be made.
    static func create(runID: UInt64, generation: UInt32, parameterCount: Int, workers: Int) -> LocalWorkers? {
        guard let identity = HostIdentity.current() else { return nil }
        let layout = SharedStepLayout(parameterCount: parameterCount, slots: workers)
        do {
            let segment = try SharedMemorySegment.createPrivate(prefix: segmentPrefix, byteCount: layout.byteCount)
            return LocalWorkers(segment: segment, layout: layout, hostIdentity: identity)
        } catch {
            Console.error("coordinator: no shared memory for local workers (\(error)); parameters go through the sockets")
            return nil
        }
    }

    private init(segment: SharedMemorySegment, layout: SharedStepLayout, hostIdentity: String) {
        self.segment = segment
        self.layout = layout
        self.hostIdentity = hostIdentity
        ranks = Array(repeating: false, count: layout.slots)
        peers = Array(repeating: nil, count: layout.slots)
        stepSequence = SharedWord(segment, offset: layout.stepSequenceOffset)
        completions = SharedWord(segment, offset: layout.completionsOffset)
        parameterBufferWord = SharedWord(segment, offset: layout.parameterBufferOffset)
        doneSequences = (0..<layout.slots).map { SharedWord(segment, offset: layout.doneSequenceOffset(rank: $0)) }
        seenDone = Array(repeating: 0, count: layout.slots)
    }

    /// The run's parameters, in the segment: the buffer the next step is published from.
    var parameters: UnsafeMutableBufferPointer<Float> { parameters(buffer: parameterBuffer) }

    /// The other parameter buffer: the workers read it no more once every gradient of the step
    /// published from it has come, so the next update may be written there.
    var spareParameters: UnsafeMutableBufferPointer<Float> { parameters(buffer: 1 - parameterBuffer) }

    private func parameters(buffer: Int) -> UnsafeMutableBufferPointer<Float> {
        segment.floats(at: layout.parametersOffset(buffer: buffer), count: layout.parameterCount)
    }

    /// The spare buffer holds the model now (an update was written there): the next step is
    /// published from it.
    func adoptSpareParameters() { parameterBuffer = 1 - parameterBuffer }

    /// Records whether `rank` (just admitted) runs on this host and takes shared memory.
    func admit(rank: Int, peer: PeerID, _ introduction: WorkerIntroduction) -> Bool {
        ranks[rank] = introduction.sharedMemory == true && introduction.hostIdentity == hostIdentity
        peers[rank] = peer
        seenDone[rank] = doneSequences[rank].load()
        return ranks[rank]
    }

    /// `rank` left the run: its slot is no longer read.
    func remove(rank: Int) {
        ranks[rank] = false
        peers[rank] = nil
    }

    var any: Bool { ranks.contains(true) }
    var all: Bool { ranks.allSatisfy { $0 } }

    /// Local workers computing the step last published (no gradient announced yet).
    private(set) var computing = 0

    /// Announces a step (its header says `stepShared`) to the `recipients` local workers.
    func publish(_ header: WireHeader, recipients: Int) {
        computing = recipients
        header.encode(into: segment.bytes(at: layout.stepHeaderOffset, count: WireHeader.size))
        parameterBufferWord.store(UInt32(parameterBuffer))
        publications &+= 1
        if publications == 0 { publications = 1 }
        stepSequence.store(publications)
        stepSequence.wake()
    }

    /// How long the next spin may last (adapted: see `waitForGradients`); nil until the first.
    private var spinBudget: Double?
    /// Waits left before spinning is tried again, after spins kept timing out.
    private var spinPause = 0

    /// Waits until a local worker announces a gradient, at most `timeout` seconds: spins first
    /// (at most `spin` seconds), then sleeps on the futex. The spin adapts: a spin that sees the
    /// gradient doubles the next one's budget (up to `spin`), one that times out halves it, and
    /// below a sixteenth of `spin` spinning stops for 200 waits. On a host whose CPUs other work
    /// keeps busy, where the gradients do not come within a spin, it then costs next to nothing.
    func waitForGradients(timeout: Double, spin: Double = 0) {
        if spin > 0 {
            var budget = spinBudget ?? spin
            if budget == 0 {
                spinPause -= 1
                if spinPause <= 0 { budget = spin / 4 }
            }
            if budget > 0 {
                let value = completions.spin(whileEquals: seenCompletions, seconds: min(budget, timeout))
                if value != seenCompletions {
                    seenCompletions = value
                    spinBudget = min(spin, budget * 2)
                    return
                }
                budget /= 2
                if budget < spin / 16 {
                    budget = 0
                    spinPause = 200
                }
            }
            spinBudget = budget
        }
        seenCompletions = completions.wait(whileEquals: seenCompletions, timeout: timeout)
    }

    /// Calls `body` with each local rank that announced a new gradient, and its header as decoded.
    func forEachAnnouncement(_ body: (Int, PeerID, Result<WireHeader, WireError>) throws -> Void) rethrows {
        for rank in 0..<layout.slots where ranks[rank] {
            guard let peer = peers[rank] else { continue }
            let done = doneSequences[rank].load()
            guard done != seenDone[rank] else { continue }
            seenDone[rank] = done
            computing = max(0, computing - 1)
            let bytes = UnsafeRawBufferPointer(segment.bytes(at: layout.gradientHeaderOffset(rank: rank), count: WireHeader.size))
            try body(rank, peer, Result { () throws(WireError) -> WireHeader in try WireHeader.decode(bytes, payloadByteCount: nil) })
        }
    }

    /// The gradient floats of `rank`'s slot, where the worker wrote them. The coordinator reads
    /// them once (`GradientAverager.stage` checks and sums in one sweep), so a worker that changed
    /// the slot meanwhile could not make the check and the sum see different values. The slot of
    /// the worker in this process (`descent coordinator --local-worker`) stays as it is until the
    /// next publication: only that worker writes it, on this thread, when a step is published.
    func gradient(rank: Int) -> GradientFloats {
        SegmentFloats(bytes: UnsafeRawBufferPointer(segment.floats(at: layout.gradientOffset(rank: rank), count: layout.parameterCount)),
                      staysUntilNextStep: peers[rank] == .inProcess)
    }

    /// The name prefix of the run segments (`/descent-shm-PID-RANDOM`).
    static let segmentPrefix = "descent-shm"
}

/// A gradient slot of the shared segment.
struct SegmentFloats: GradientFloats {
    let bytes: UnsafeRawBufferPointer
    let staysUntilNextStep: Bool
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R { try body(bytes) }
}
