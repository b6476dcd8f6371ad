import DescentCore
import Testing
@testable import DescentProtocol

/// Steps and gradients of a `--wire-encoding bf16` run: dtype 4, two bytes an element; nothing
/// else about the header changes, and a float32 header is byte for byte what it was.
@Suite("Wire headers with bfloat16 payloads")
struct WireBFloat16HeaderTests {
    static func bf16(_ header: WireHeader) -> WireHeader {
        var header = header
        header.encoding = .bf16
        return header
    }

    static let step = bf16(.step(runID: 99, generation: 3, step: 7, participants: 3, batchIndex: 5, rate: 0.125, parameterCount: 101_770))
    static let gradient = bf16(.gradient(runID: 99, generation: 3, rank: 1, step: 7, samples: 32, lossSum: 73.5, correct: 29,
                                         parameterCount: 101_770))

    @Test("a bf16 step and gradient carry dtype 4 and count x 2 payload bytes, and decode to themselves",
          arguments: [step, gradient])
    func roundTrip(header: WireHeader) throws {
        let bytes = header.encoded()
        #expect(bytes[36] == 4)
        #expect(header.payloadByteCount == 203_540)
        let decoded = try WireHeader.decode(bytes, payloadByteCount: 203_540)
        #expect(decoded == header && decoded.encoding == .bf16)
        var float32 = header
        float32.encoding = .float32
        #expect(float32.encoded()[36] == 1)
        #expect(Array(float32.encoded()[..<36]) == Array(bytes[..<36]) && Array(float32.encoded()[37...]) == Array(bytes[37...]),
                "only the dtype byte differs")
    }

    @Test("a bf16 payload of the float32 size is refused with a message in bfloat16 terms")
    func wrongSize() {
        #expect(throws: WireError.bfloat16PayloadSizeMismatch(type: .step, count: 101_770, byteCount: 407_080)) {
            try WireHeader.decode(Self.step.encoded(), payloadByteCount: 407_080)
        }
        #expect(WireError.bfloat16PayloadSizeMismatch(type: .step, count: 10, byteCount: 40).description
                == "wire: step header announces 10 bfloat16 elements (20 bytes) but the payload has 40 bytes")
    }

    @Test("dtype 4 is refused on types that do not carry floats in a frame",
          arguments: [MessageType.hello, .heartbeat, .stop, .stepShared, .gradientShared])
    func onlyStepsAndGradients(type: MessageType) {
        var header = WireHeader(type: type, runID: 1, generation: 0)
        if type.isStep || type.isGradient { header.a = 0.5 }
        var bytes = header.encoded()
        bytes[36] = 4
        #expect(throws: WireError.wrongDType(type: type, dtype: 4)) { try WireHeader.decode(bytes, payloadByteCount: nil) }
    }

    @Test("the step order and gradient result keep their encoding through the header")
    func messagesKeepTheEncoding() throws {
        var order = WireMessage.StepOrder(runID: 1, generation: 0, step: 4, round: 0, batch: 4, rate: 0.1, participants: 1,
                                          parameterCount: 10, parameters: .frame)
        order.encoding = .bf16
        let decoded = try WireMessage.decode(try WireHeader.decode(order.header.encoded(), payloadByteCount: 20), text: nil)
        #expect(decoded == .step(order))
    }

    @Test("the settings name the encoding only when it is not float32, and an older welcome means float32")
    func settingsField() throws {
        let json = #"{"rank":0,"workers":1,"seed":1,"hidden":[4],"parameterCount":10,"globalBatch":2,"sampleCount":4,"trainRepeat":1,"threads":1,"backend":"onednn","labelsDigest":5,"heartbeatSeconds":1,"silenceLimitSeconds":30}"#
        let old = try WireText.decodeJSON(RunSettings.self, from: Array(json.utf8), in: .welcome)
        #expect(old.wireEncoding == nil && old.encoding == .float32)
        var settings = old
        settings.wireEncoding = .bf16
        let text = String(decoding: try WireText.encodeJSON(settings), as: UTF8.self)
        #expect(text.contains(#""wireEncoding":"bf16""#))
        #expect(try WireText.decodeJSON(RunSettings.self, from: Array(text.utf8), in: .welcome).encoding == .bf16)
    }

    @Test("a bf16 run refuses a worker that does not say it reads bf16, and admits one that does")
    func coordinatorRefusesOlderWorkers() {
        let plan = EpochPlan(sampleCount: 10, globalBatch: 4, seed: 1)
        var settings = CoordinatorMachine.Settings(runID: 5, plan: plan, totalSteps: 3, slots: 2, configHash: 9)
        settings.wireEncoding = .bf16
        var machine = CoordinatorMachine(settings: settings, now: 0)
        machine.prepare(firstRate: 0.1)
        let old = WorkerIntroduction(host: "h", pid: 1, requestedRank: nil)
        let refused = machine.receive(.hello(.init(runID: 0, generation: 0, requestedRank: WireHeader.unassignedRank, configHash: 0,
                                                   processID: 1, introduction: old)), from: PeerID([1]), now: 0)
        #expect(refused.contains { if case .send(.reject(_, let reason), _) = $0 { return reason.contains("does not read it") } else { return false } })
        #expect(machine.registeredCount == 0 && machine.rejections[.configMismatch] == 1)
        let current = WorkerIntroduction(host: "h", pid: 2, requestedRank: nil, wireEncodings: ["float32", "bf16"])
        let admitted = machine.receive(.hello(.init(runID: 0, generation: 0, requestedRank: WireHeader.unassignedRank, configHash: 0,
                                                    processID: 2, introduction: current)), from: PeerID([2]), now: 0)
        #expect(admitted.contains { if case .admit = $0 { return true } else { return false } })
    }
}
