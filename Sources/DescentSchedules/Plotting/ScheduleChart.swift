import Foundation

/// An SVG line chart of a schedule's rates (axes, labelled ticks, axis titles, a title naming the
/// schedule and its parameters), written as text with no dependencies. Used by `descent schedule --plot`.
public struct ScheduleChart: Sendable {
    public var title: String
    public var subtitle: String
    public var xTitle: String
    public var yTitle: String
    /// (x, rate) points in increasing x.
    public var points: [(x: Double, y: Double)]

    public init(title: String, subtitle: String = "", xTitle: String = "step", yTitle: String = "learning rate",
                points: [(x: Double, y: Double)]) {
        self.title = title
        self.subtitle = subtitle
        self.xTitle = xTitle
        self.yTitle = yTitle
        self.points = points
    }

    /// The chart as a standalone SVG document.
    public func svg(width: Double = 960, height: Double = 560) -> String {
        let titleLines = ScheduleChart.wrap(title, width: 90)
        let top = 30 + 20 * Double(titleLines.count) + (subtitle.isEmpty ? 0 : 20)
        let left = 90.0, right = 30.0, bottom = 70.0
        let plotWidth = width - left - right, plotHeight = height - top - bottom

        let xs = points.map(\.x), ys = points.map(\.y)
        let xTicks = ScheduleChart.ticks(from: xs.min() ?? 0, to: max(xs.max() ?? 1, (xs.min() ?? 0) + 1))
        let yTicks = ScheduleChart.ticks(from: 0, to: max(ys.max() ?? 1, Double.leastNormalMagnitude) * 1.05)
        let (x0, x1) = (xTicks.first ?? 0, xTicks.last ?? 1), (y0, y1) = (yTicks.first ?? 0, yTicks.last ?? 1)
        func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * plotWidth }
        func py(_ y: Double) -> Double { top + plotHeight - (y - y0) / (y1 - y0) * plotHeight }

        var svg = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(f(width))" height="\(f(height))" viewBox="0 0 \(f(width)) \(f(height))" font-family="Helvetica, Arial, sans-serif">
        <rect width="100%" height="100%" fill="white"/>

        """
        for (i, line) in titleLines.enumerated() {
            svg += "<text x=\"\(f(width / 2))\" y=\"\(f(28 + 20 * Double(i)))\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">\(ScheduleChart.escape(line))</text>\n"
        }
        if !subtitle.isEmpty {
            svg += "<text x=\"\(f(width / 2))\" y=\"\(f(28 + 20 * Double(titleLines.count)))\" text-anchor=\"middle\" font-size=\"12\" fill=\"#555\">\(ScheduleChart.escape(subtitle))</text>\n"
        }
        let xStep = xTicks.count > 1 ? xTicks[1] - xTicks[0] : 1
        for tick in xTicks {
            let x = px(tick)
            svg += "<line x1=\"\(f(x))\" y1=\"\(f(top))\" x2=\"\(f(x))\" y2=\"\(f(top + plotHeight))\" stroke=\"#e5e5e5\"/>\n"
            svg += "<line x1=\"\(f(x))\" y1=\"\(f(top + plotHeight))\" x2=\"\(f(x))\" y2=\"\(f(top + plotHeight + 6))\" stroke=\"black\"/>\n"
            svg += "<text x=\"\(f(x))\" y=\"\(f(top + plotHeight + 22))\" text-anchor=\"middle\" font-size=\"12\">\(ScheduleChart.label(tick, step: xStep))</text>\n"
        }
        let yStep = yTicks.count > 1 ? yTicks[1] - yTicks[0] : 1
        for tick in yTicks {
            let y = py(tick)
            svg += "<line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(y))\" stroke=\"#e5e5e5\"/>\n"
            svg += "<line x1=\"\(f(left - 6))\" y1=\"\(f(y))\" x2=\"\(f(left))\" y2=\"\(f(y))\" stroke=\"black\"/>\n"
            svg += "<text x=\"\(f(left - 10))\" y=\"\(f(y + 4))\" text-anchor=\"end\" font-size=\"12\">\(ScheduleChart.label(tick, step: yStep))</text>\n"
        }
        svg += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotWidth))\" height=\"\(f(plotHeight))\" fill=\"none\" stroke=\"black\"/>\n"
        let polyline = points.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
        svg += "<polyline points=\"\(polyline)\" fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" stroke-linejoin=\"round\"/>\n"
        svg += "<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(height - 20))\" text-anchor=\"middle\" font-size=\"14\">\(ScheduleChart.escape(xTitle))</text>\n"
        svg += "<text transform=\"translate(22 \(f(top + plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\" font-size=\"14\">\(ScheduleChart.escape(yTitle))</text>\n"
        svg += "</svg>\n"
        return svg
    }

    private func f(_ value: Double) -> String { String(format: "%.2f", value) }

    /// Round tick positions (1, 2 or 5 times a power of ten apart) covering `low...high`, about `count` of them.
    public static func ticks(from low: Double, to high: Double, count: Int = 8) -> [Double] {
        // A range too narrow for a Double (x near Int.max) gets the smallest distinct pair of ticks.
        guard high > low, low.isFinite, high.isFinite else { return low.isFinite ? [low, max(low + 1, low.nextUp)] : [0, 1] }
        let raw = (high - low) / Double(count)
        let magnitude = pow(10, (log10(raw)).rounded(.down))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        let first = (low / step).rounded(.down), last = (high / step).rounded(.up)
        return stride(from: first, through: last, by: 1).map { $0 * step }
    }

    /// A tick label with just enough digits for ticks `step` apart.
    public static func label(_ value: Double, step: Double) -> String {
        if value == 0 { return "0" }
        guard step > 0, step.isFinite, value.isFinite else { return String(format: "%g", value) }
        if step < 1e-3 || abs(value) >= 1e7 {
            let digits = max(0, Int((log10(abs(value)) - log10(step)).rounded(.up)))
            return String(format: "%.\(digits)e", value)
        }
        let decimals = max(0, -Int(log10(step).rounded(.down)))
        return String(format: "%.\(decimals)f", value)
    }

    /// `text` broken at ", " into lines of at most about `width` characters.
    static func wrap(_ text: String, width: Int) -> [String] {
        var lines: [String] = [], current = ""
        for part in text.components(separatedBy: ", ") {
            let candidate = current.isEmpty ? part : current + ", " + part
            if candidate.count > width, !current.isEmpty {
                lines.append(current + ",")
                current = part
            } else {
                current = candidate
            }
        }
        if !current.isEmpty { lines.append(current) }
        return lines
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
