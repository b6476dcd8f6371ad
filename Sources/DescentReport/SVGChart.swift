import Foundation

/// A line chart drawn as inline SVG: axes with round ticks, one polyline per series (dashed
/// when asked), optional dots, vertical marks with labels, a legend. Series longer than
/// `maximumPoints` are thinned to that many points (keeping every bucket's first point).
public struct SVGChart: Sendable {
    public struct Series: Sendable {
        public var name: String
        public var color: String
        public var points: [(x: Double, y: Double)]
        public var dashed: Bool
        public var dots: Bool
        /// Wider lines for the first runs, so that a later run drawn over an equal one leaves it visible.
        public var lineWidth = 1.6

        public init(name: String, color: String, points: [(x: Double, y: Double)], dashed: Bool = false, dots: Bool = false) {
            self.name = name
            self.color = color
            self.points = points
            self.dashed = dashed
            self.dots = dots
        }
    }

    public struct Mark: Sendable {
        public var x: Double
        public var label: String
        public var color: String

        public init(x: Double, label: String, color: String = "#b00") {
            self.x = x
            self.label = label
            self.color = color
        }
    }

    public var id: String
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]
    public var marks: [Mark] = []
    public var width = 860.0
    public var height = 320.0
    public var maximumPoints = 1200
    /// Ticks on whole numbers only along x (epochs).
    public var wholeNumbersOnX = false

    public init(id: String, title: String, xLabel: String, yLabel: String, series: [Series], marks: [Mark] = []) {
        self.id = id
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.marks = marks
    }

    private let left = 78.0, right = 20.0, bottom = 46.0

    /// The legend's entries laid out in rows above the plot: (x, row) each.
    private func legendLayout() -> [(x: Double, row: Int)] {
        var layout: [(x: Double, row: Int)] = []
        var x = left, row = 0
        for s in series {
            let entryWidth = 30 + Double(s.name.count) * 6.6
            if x + entryWidth > width - right && x > left { x = left; row += 1 }
            layout.append((x, row))
            x += entryWidth
        }
        return layout
    }

    public func svg() -> String {
        let legend = legendLayout()
        let top = 40.0 + Double((legend.map(\.row).max() ?? -1) + 1) * 16
        let points = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite }
        var out = "<svg id=\"\(escape(id))\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"\(escape(title))\">"
        out += "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>"
        out += "<text x=\"\(left)\" y=\"18\" class=\"title\">\(escape(title))</text>"
        guard !points.isEmpty else {
            out += "<text x=\"\(width / 2)\" y=\"\(height / 2)\" text-anchor=\"middle\" class=\"empty\">no data</text></svg>"
            return out
        }
        let xs = points.map(\.x) + marks.map(\.x)
        var (x0, x1) = (xs.min()!, xs.max()!)
        var (y0, y1) = (points.map(\.y).min()!, points.map(\.y).max()!)
        if x1 <= x0 { x1 = x0 + 1 }
        if y1 <= y0 { let pad = abs(y0) * 0.1 + 1e-9; y0 -= pad; y1 += pad }
        let yTicks = Self.ticks(y0, y1)
        let xTicks = wholeNumbersOnX ? Self.ticks(x0, x1).filter { $0 == $0.rounded() } : Self.ticks(x0, x1)
        y0 = min(y0, yTicks.first!); y1 = max(y1, yTicks.last!)
        x0 = min(x0, xTicks.first!); x1 = max(x1, xTicks.last!)
        let plotW = width - left - right, plotH = height - top - bottom
        func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * plotW }
        func py(_ y: Double) -> Double { top + (1 - (y - y0) / (y1 - y0)) * plotH }

        for t in yTicks {
            out += "<line x1=\"\(f(left))\" x2=\"\(f(left + plotW))\" y1=\"\(f(py(t)))\" y2=\"\(f(py(t)))\" class=\"grid\"/>"
            out += "<text x=\"\(f(left - 6))\" y=\"\(f(py(t) + 4))\" text-anchor=\"end\" class=\"tick\">\(Self.label(t))</text>"
        }
        for t in xTicks {
            out += "<line x1=\"\(f(px(t)))\" x2=\"\(f(px(t)))\" y1=\"\(f(top))\" y2=\"\(f(top + plotH))\" class=\"grid\"/>"
            out += "<text x=\"\(f(px(t)))\" y=\"\(f(top + plotH + 16))\" text-anchor=\"middle\" class=\"tick\">\(Self.label(t))</text>"
        }
        out += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotW))\" height=\"\(f(plotH))\" class=\"frame\"/>"
        out += "<text x=\"\(f(left + plotW / 2))\" y=\"\(f(height - 8))\" text-anchor=\"middle\" class=\"axis\">\(escape(xLabel))</text>"
        out += "<text transform=\"translate(16 \(f(top + plotH / 2))) rotate(-90)\" text-anchor=\"middle\" class=\"axis\">\(escape(yLabel))</text>"

        for mark in marks {
            out += "<line x1=\"\(f(px(mark.x)))\" x2=\"\(f(px(mark.x)))\" y1=\"\(f(top))\" y2=\"\(f(top + plotH))\" stroke=\"\(mark.color)\" stroke-dasharray=\"2 3\" class=\"mark\"><title>\(escape(mark.label))</title></line>"
            out += "<text x=\"\(f(px(mark.x) + 3))\" y=\"\(f(top + 11))\" class=\"marklabel\" fill=\"\(mark.color)\">\(escape(mark.label))</text>"
        }
        for s in series {
            let thinned = thin(s.points.filter { $0.x.isFinite && $0.y.isFinite })
            guard !thinned.isEmpty else { continue }
            let path = thinned.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
            out += "<polyline fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"\(f(s.lineWidth))\"\(s.dashed ? " stroke-dasharray=\"6 4\"" : "") points=\"\(path)\" class=\"series\"><title>\(escape(s.name))</title></polyline>"
            if s.dots {
                for p in thinned { out += "<circle cx=\"\(f(px(p.x)))\" cy=\"\(f(py(p.y)))\" r=\"2.6\" fill=\"\(s.color)\"/>" }
            }
        }
        for (s, place) in zip(series, legend) {
            let y = 36.0 + Double(place.row) * 16
            out += "<line x1=\"\(f(place.x))\" x2=\"\(f(place.x + 18))\" y1=\"\(f(y - 4))\" y2=\"\(f(y - 4))\" stroke=\"\(s.color)\" stroke-width=\"2\"\(s.dashed ? " stroke-dasharray=\"5 3\"" : "")/>"
            out += "<text x=\"\(f(place.x + 22))\" y=\"\(f(y))\" class=\"legend\">\(escape(s.name))</text>"
        }
        return out + "</svg>"
    }

    private func thin(_ points: [(x: Double, y: Double)]) -> [(x: Double, y: Double)] {
        guard points.count > maximumPoints else { return points }
        let stride = Double(points.count) / Double(maximumPoints)
        var out: [(x: Double, y: Double)] = []
        out.reserveCapacity(maximumPoints + 1)
        var i = 0.0
        while Int(i) < points.count { out.append(points[Int(i)]); i += stride }
        if out.last!.x != points.last!.x { out.append(points.last!) }
        return out
    }

    /// Round tick values covering [low, high]: 1, 2 or 5 times a power of ten apart.
    public static func ticks(_ low: Double, _ high: Double, count: Int = 6) -> [Double] {
        let span = high - low
        guard span > 0, span.isFinite else { return [low] }
        let raw = span / Double(count)
        let power = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= raw } ?? 10 * power
        let first = floor(low / step) * step
        var ticks: [Double] = []
        var t = first
        while t <= high + step * 0.5 && ticks.count < 40 {
            ticks.append(abs(t) < step * 1e-9 ? 0 : t)
            t += step
        }
        if ticks.last! < high { ticks.append(ticks.last! + step) }
        return ticks
    }

    static func label(_ value: Double) -> String {
        if value == 0 { return "0" }
        let magnitude = abs(value)
        if magnitude >= 10_000 { return String(format: "%.0fk", value / 1000) }
        if magnitude >= 100 { return String(format: "%.0f", value) }
        if magnitude >= 1 { return String(format: "%g", (value * 100).rounded() / 100) }
        return String(format: "%g", Double(String(format: "%.3g", value)) ?? value)
    }

    private func f(_ value: Double) -> String { String(format: "%.1f", value) }
}

/// Text escaped for HTML and SVG.
func escape(_ text: String) -> String {
    var out = ""
    for c in text {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        default: out.append(c)
        }
    }
    return out
}
