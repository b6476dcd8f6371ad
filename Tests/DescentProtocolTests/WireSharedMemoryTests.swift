import Testing
@testable import DescentProtocol

@Suite("Shared-memory steps and gradients")
struct WireSharedMemoryTests {
    let step = WireHeader.step(runID: 5, generation: 1, rank: 0, step: 9, participants: 2, batchIndex: 3, rate: 0.25, parameterCount: 1000)

    @Test func sharedStepTravelsWithoutAPayloadFrameAndKeepsItsFields() throws {
        let shared = step.inSharedMemory()
        let bytes = shared.encoded()
        // Type 9 at offset 6, dtype 3 at offset 36, as docs/protocol.md says.
        #expect(bytes[6] == 9 && bytes[7] == 0)
        #expect(bytes[36] == 3)
        let decoded = try WireHeader.decode(bytes, payloadByteCount: nil)
        #expect(decoded.type == .stepShared)
        #expect(decoded.count == 1000 && decoded.rate == 0.25 && decoded.participants == 2 && decoded.batchIndex == 3)
    }

    @Test func sharedMessagesRefuseAPayloadFrame() {
        #expect(throws: WireError.unexpectedPayload(type: .stepShared, byteCount: 4000)) {
            try WireHeader.decode(step.inSharedMemory().encoded(), payloadByteCount: 4000)
        }
    }

    @Test func aSharedGradientCarriesItsLossEvenWhenNotFiniteForTheCoordinatorToJudge() {
        var gradient = WireHeader.gradient(runID: 5, generation: 1, rank: 2, step: 9, samples: 16, lossSum: .nan, correct: 3,
                                           parameterCount: 1000).inSharedMemory()
        #expect(gradient.type == .gradientShared)
        #expect((try? WireHeader.decode(gradient.encoded(), payloadByteCount: nil))?.lossSum.isNaN == true)
        gradient.a = 4.5
        #expect((try? WireHeader.decode(gradient.encoded(), payloadByteCount: nil))?.lossSum == 4.5)
    }

    @Test func layoutPutsEachRegionOnItsOwn64ByteLineAndEachBufferOnItsOwnPage() {
        // Control: 2 lines + 2 lines per rank = 8 lines of 64 bytes = 512 bytes for 3 ranks,
        // rounded up to a 4096-byte page so the buffers start on pages (a worker maps some read-only).
        // 101,770 floats = 407,080 bytes, rounded up to a multiple of 4096: 100 pages = 409,600.
        let layout = SharedStepLayout(parameterCount: 101_770, slots: 3)
        #expect(layout.controlByteCount == 4096)
        #expect(layout.stepHeaderOffset == 64)
        #expect(layout.doneSequenceOffset(rank: 0) == 128 && layout.gradientHeaderOffset(rank: 0) == 192)
        #expect(layout.doneSequenceOffset(rank: 2) == 384 && layout.gradientHeaderOffset(rank: 2) == 448)
        #expect(layout.stride == 409_600)
        // Two parameter buffers, then the slots: 5 buffers of 409,600 bytes after the control page.
        #expect(layout.parametersOffset(buffer: 0) == 4096)
        #expect(layout.parametersOffset(buffer: 1) == 4096 + 409_600)
        #expect(layout.gradientOffset(rank: 0) == 4096 + 2 * 409_600)
        #expect(layout.gradientOffset(rank: 2) == 4096 + 4 * 409_600)
        #expect(layout.byteCount == 4096 + 5 * 409_600)
        // The parameter buffer word shares line 0 with the step sequence and the completions.
        #expect(layout.parameterBufferOffset == 8 && layout.completionsOffset == 4 && layout.stepSequenceOffset == 0)
    }
}
