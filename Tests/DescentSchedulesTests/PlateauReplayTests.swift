import Testing
@testable import DescentSchedules

/// `descent schedule --losses`: torch ReduceLROnPlateau (mode min) replayed on given losses, worked by hand.
@Suite struct PlateauReplayTests {
    // patience 2, cooldown 1, factor 0.5, threshold 1e-4 rel. Losses: 0.9 (best), 0.8 (best), 0.81 (bad 1),
    // 0.82 (bad 2), 0.83 (bad 3 > 2: 0.05 -> 0.025, cooldown 1), 0.79 (best; cooldown 1 -> 0), nan (bad 1),
    // 0.9 (bad 2), 0.95 (bad 3: 0.025 -> 0.0125).
    @Test func replayReducesAfterPatienceAndCountsTheCooldown() {
        let s = Schedule(.reduceOnPlateau(ReduceOnPlateau(initialRate: 0.05, factor: 0.5, patience: 2, cooldown: 1)))
        let replay = PlateauReplay(policy: policy(s, stepsPerEpoch: 100), losses: [0.9, 0.8, 0.81, 0.82, 0.83, 0.79, .nan, 0.9, 0.95])
        #expect(replay.epochs.map(\.rate) == [0.05, 0.05, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.025])
        #expect(replay.epochs.map(\.nextRate) == [0.05, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.025, 0.0125])
        #expect(replay.epochs.map(\.state.badEpochs) == [0, 0, 1, 2, 0, 0, 1, 2, 0])
        #expect(replay.epochs.map(\.state.cooldownLeft) == [0, 0, 0, 0, 1, 0, 0, 0, 1])
        #expect(replay.epochs.map(\.reduced) == [false, false, false, false, true, false, false, false, true])
        #expect(replay.epochs.map(\.state.best) == [0.9, 0.8, 0.8, 0.8, 0.8, 0.79, 0.79, 0.79, 0.79])
    }

    @Test func replayIncludesTheWarmupAtEachEpochsFirstStep() {
        // Warmup 150 steps from 0 at 100 steps per epoch: epoch 2 starts at step 100, 0.05 * 100 / 150.
        let s = Schedule(.reduceOnPlateau(ReduceOnPlateau(initialRate: 0.05)), warmup: LinearWarmup(length: .steps(150)))
        let replay = PlateauReplay(policy: policy(s, stepsPerEpoch: 100), losses: [1, 1])
        #expect(replay.epochs.map(\.rate) == [0, 0.05 * (100.0 / 150.0)])
        #expect(replay.epochs[1].nextRate == 0.05)
    }

    @Test func lossFileSkipsCommentsAndBlankLinesAndNamesABadLine() throws {
        #expect(try PlateauReplay.losses(fromText: "# epoch losses\n0.5\n\n 0.25 \r\nnan\n", source: "f") .count == 3)
        #expect(throws: PlateauReplay.LossFileError.self) { try PlateauReplay.losses(fromText: "0.5\n0,4\n", source: "f") }
        do {
            _ = try PlateauReplay.losses(fromText: "0.5\n0,4\n", source: "losses.txt")
        } catch {
            #expect("\(error)" == "losses.txt line 2: '0,4' is not a number; write one validation loss per line (one per epoch)")
        }
        #expect(throws: PlateauReplay.LossFileError.self) { try PlateauReplay.losses(fromText: "\n# none\n", source: "f") }
    }
}
