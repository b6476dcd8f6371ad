import Testing
@testable import DescentSchedules

/// The SVG chart's ticks, labels and document.
@Suite struct ScheduleChartTests {
    @Test func ticksAreRoundMultiplesCoveringTheRange() {
        // 0...15 in about 8 ticks: raw step 1.875 -> 2, so 0, 2, ..., 16.
        #expect(ScheduleChart.ticks(from: 0, to: 15) == [0, 2, 4, 6, 8, 10, 12, 14, 16])
        // 0...0.105: raw 0.013 -> 0.02, so 0 ... 0.12 (7 ticks).
        let y = ScheduleChart.ticks(from: 0, to: 0.105)
        #expect(y.count == 7)
        #expect(abs(y.last! - 0.12) < 1e-12)
    }

    @Test(arguments: [(0.04, 0.02, "0.04"), (5000, 5000, "5000"), (0.0004, 0.0002, "4.0e-04"), (0.0012, 0.0002, "1.2e-03"), (0, 0.1, "0")] as [(Double, Double, String)])
    func tickLabelsHaveJustEnoughDigits(value: Double, step: Double, label: String) {
        #expect(ScheduleChart.label(value, step: step) == label)
    }

    @Test func svgHasTitleAxisTitlesAndOnePolylinePointPerRate() {
        let chart = ScheduleChart(title: "a < b & c", subtitle: "steps per epoch: 3", xTitle: "step",
                                  points: [(0, 0.1), (1, 0.05), (2, 0.025)])
        let svg = chart.svg()
        #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
        #expect(svg.contains(">a &lt; b &amp; c</text>"))
        #expect(svg.contains(">learning rate</text>"))
        #expect(svg.contains(">step</text>"))
        let polyline = svg.split(separator: "\n").first { $0.hasPrefix("<polyline") } ?? ""
        #expect(polyline.split(separator: " ").filter { $0.contains(",") }.count == 3)
        #expect(svg.hasSuffix("</svg>\n"))
    }

    @Test func longTitlesWrapAtCommas() {
        let lines = ScheduleChart.wrap("abcdef(a=1, b=2, c=3)", width: 12)
        #expect(lines == ["abcdef(a=1,", "b=2, c=3)"])
    }
}
