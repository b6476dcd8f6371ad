@testable import DescentCLI
import XCTest

/// The paired benches' statistic: each round's candidate/base ratio and their median, worked out by hand.
final class PairedRoundsTests: XCTestCase {
    func testMedianOfAnOddNumberOfRoundsIsTheMiddleRatio() {
        // Ratios 0.9, 1.2, 1.0: sorted 0.9, 1.0, 1.2.
        let comparison = PairedRounds(base: [100, 100, 200], candidate: [90, 120, 200])
        XCTAssertEqual(comparison.ratios, [0.9, 1.2, 1.0])
        XCTAssertEqual(comparison.medianRatio, 1.0, accuracy: 1e-12)
    }

    func testMedianOfAnEvenNumberOfRoundsIsTheMeanOfTheMiddleTwo() {
        // Ratios 0.5, 0.8, 1.0, 1.5: middle two 0.8 and 1.0.
        let comparison = PairedRounds(base: [200, 100, 100, 100], candidate: [100, 80, 150, 100])
        XCTAssertEqual(comparison.medianRatio, 0.9, accuracy: 1e-12)
    }

    func testOneRoundOnASlowMachineMovesTheMedianLessThanTheMean() {
        // Four rounds at an exact 0.98, one where the "on" run was twice as fast by chance.
        let comparison = PairedRounds(base: [100, 100, 100, 100, 100], candidate: [98, 98, 98, 98, 196])
        XCTAssertEqual(comparison.medianRatio, 0.98, accuracy: 1e-12)
    }

    func testRoundsWithoutAFigureAreLeftOutAndNoRoundsGiveZero() {
        XCTAssertEqual(PairedRounds(base: [0, 100], candidate: [50, 97]).ratios, [0.97])
        XCTAssertEqual(PairedRounds(base: [.nan, 100], candidate: [50, 97]).ratios, [0.97])
        XCTAssertEqual(PairedRounds(base: [], candidate: []).medianRatio, 0)
    }

    func testRoundsAlternateWhichSideRunsFirst() {
        XCTAssertEqual((0..<4).map(PairedRounds.candidateFirst(round:)), [true, false, true, false])
    }
}
