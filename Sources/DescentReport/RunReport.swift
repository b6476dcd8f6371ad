import DescentTraining
import Foundation

/// One self-contained HTML page (inline SVG and CSS, no script, nothing fetched) about one or
/// several runs: rate vs step (the config's schedule beside the rates applied), loss and
/// accuracy vs epoch, samples/s over time, per-worker latency, event marks, a summary table.
/// Several runs are overlaid, one color each.
public struct RunReport: Sendable {
    public var runs: [RunDirectory]
    public var title: String

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"]

    public init(runs: [RunDirectory], title: String = "Descent run report") {
        self.runs = runs
        self.title = title
    }

    public func html() -> String {
        var body = "<h1>\(escape(title))</h1>\n"
        body += "<p class=\"sub\">\(runs.count) run(s): \(runs.map { escape($0.name) }.joined(separator: ", ")). Generated \(escape(ISO8601DateFormatter().string(from: Date()))).</p>\n"
        body += summaryTable()
        for chart in charts() { body += "<figure>\(chart.svg())</figure>\n" }
        body += eventsTable()
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title>
            <style>
            body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:900px}
            h1{font-size:22px;margin:0 0 4px} .sub{color:#666;margin:0 0 16px}
            table{border-collapse:collapse;margin:12px 0 20px} th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}
            th{background:#f3f3f3} td.name,th.name{text-align:left} table{font-size:13px}
            ul.schedules{margin:-8px 0 18px;padding-left:18px;color:#444;font-size:13px}
            figure{margin:0 0 18px} .chart text{font:12px system-ui,sans-serif;fill:#333} .chart .title{font-size:14px;font-weight:600}
            .chart .grid{stroke:#eee} .chart .frame{fill:none;stroke:#999} .chart .tick{fill:#555}
            .chart .marklabel{font-size:10px} .chart .empty{fill:#999}
            </style></head><body>
            \(body)</body></html>

            """
    }

    // MARK: Charts

    func charts() -> [SVGChart] {
        [rateChart(), epochChart(loss: true), epochChart(loss: false), throughputChart(), latencyChart()]
    }

    private func color(_ index: Int) -> String { Self.palette[index % Self.palette.count] }

    /// The i-th run's line width: wider for earlier runs, so equal curves stay visible.
    private func width(_ index: Int) -> Double { 1.6 + 1.6 * Double(runs.count - 1 - index) }

    private func widened(_ series: [SVGChart.Series], run index: Int) -> [SVGChart.Series] {
        series.map { var s = $0; s.lineWidth = width(index); return s }
    }
    private var several: Bool { runs.count > 1 }
    private func name(_ run: RunDirectory, _ what: String) -> String { several ? "\(run.name) \(what)" : what }

    private func marks(_ run: RunDirectory, x: (RunEvent) -> Double?) -> [SVGChart.Mark] {
        run.events.compactMap { event in
            guard let position = x(event) else { return nil }
            let label = event.kind.rawValue.replacingOccurrences(of: "_", with: " ") + (event.rank.map { " \($0)" } ?? "")
            let color = event.kind == .workerJoined ? "#2a7" : event.kind == .checkpoint ? "#888" : "#c00"
            return SVGChart.Mark(x: position, label: label, color: color)
        }
    }

    /// Joins before the first step are drawn at step 0; only events during training are marked.
    private func trainingMarks(_ run: RunDirectory, x: (RunEvent) -> Double?) -> [SVGChart.Mark] {
        marks(run) { $0.kind == .workerJoined && $0.step == 0 ? nil : x($0) }
    }

    func rateChart() -> SVGChart {
        var series: [SVGChart.Series] = []
        var allMarks: [SVGChart.Mark] = []
        for (i, run) in runs.enumerated() {
            var own: [SVGChart.Series] = []
            if let scheduled = run.scheduledRates() {
                own.append(.init(name: name(run, "schedule (config)"), color: color(i),
                                 points: scheduled.enumerated().map { (Double($0.offset), Double($0.element)) }, dashed: true))
            }
            own.append(.init(name: name(run, "applied"), color: color(i), points: run.steps.map { (Double($0.step), Double($0.rate)) }))
            series += widened(own, run: i)
            allMarks += trainingMarks(run) { Double($0.step) }
        }
        return SVGChart(id: "rate", title: "Learning rate vs step", xLabel: "global step", yLabel: "learning rate",
                        series: series, marks: allMarks)
    }

    func epochChart(loss: Bool) -> SVGChart {
        var series: [SVGChart.Series] = []
        for (i, run) in runs.enumerated() {
            let epochs = run.epochs
            series += widened([
                .init(name: name(run, loss ? "train loss" : "train accuracy"), color: color(i),
                      points: epochs.map { (Double($0.epoch + 1), loss ? $0.loss : $0.accuracy) }, dots: true),
                .init(name: name(run, loss ? "test loss" : "test accuracy"), color: color(i),
                      points: epochs.map { (Double($0.epoch + 1), loss ? $0.testLoss : $0.testAccuracy) }, dashed: true, dots: true),
            ], run: i)
        }
        var chart = loss
            ? SVGChart(id: "loss", title: "Loss vs epoch", xLabel: "epoch", yLabel: "loss", series: series)
            : SVGChart(id: "accuracy", title: "Accuracy vs epoch", xLabel: "epoch", yLabel: "accuracy", series: series)
        chart.wholeNumbersOnX = true
        return chart
    }

    /// Samples/s in windows of about half a second of the trace's clock.
    func throughputChart() -> SVGChart {
        var series: [SVGChart.Series] = []
        var allMarks: [SVGChart.Mark] = []
        for (i, run) in runs.enumerated() {
            let points = Self.throughput(run.steps)
            series += widened([.init(name: name(run, "samples/s"), color: color(i), points: points)], run: i)
            let times = Dictionary(run.steps.compactMap { s in s.timeMs.map { (s.step, $0 / 1000) } }, uniquingKeysWith: { a, _ in a })
            allMarks += trainingMarks(run) { times[$0.step] ?? times[$0.step - 1] }
        }
        return SVGChart(id: "throughput", title: "Samples per second over time", xLabel: "seconds since training started",
                        yLabel: "samples/s", series: series, marks: allMarks)
    }

    public static func throughput(_ steps: [StepRecord], window: Double = 0.5) -> [(x: Double, y: Double)] {
        var points: [(x: Double, y: Double)] = []
        var startMs: Double?
        var samples = 0
        for step in steps {
            guard let t = step.timeMs else { continue }
            guard let start = startMs else { startMs = t; continue }
            samples += step.samples
            if t - start >= window * 1000 {
                points.append((t / 1000, Double(samples) / ((t - start) / 1000)))
                startMs = t
                samples = 0
            }
        }
        return points
    }

    /// The slowest worker's latency per step (coordinator trace, mean over 1% of the steps) and
    /// each worker's compute time (worker traces), in ms.
    func latencyChart() -> SVGChart {
        var series: [SVGChart.Series] = []
        for (i, run) in runs.enumerated() {
            let slowest = run.steps.compactMap { s in s.slowestLatencyMs.map { (Double(s.step), $0) } }
            if !slowest.isEmpty {
                series.append(.init(name: name(run, "slowest worker"), color: color(i), points: Self.smooth(slowest)))
            }
            let fastest = run.steps.compactMap { s in s.fastestLatencyMs.map { (Double(s.step), $0) } }
            if !fastest.isEmpty {
                series.append(.init(name: name(run, "fastest worker"), color: color(i), points: Self.smooth(fastest), dashed: true))
            }
            for (rank, points) in run.workerCompute.sorted(by: { $0.key < $1.key }) {
                series.append(.init(name: name(run, "rank \(rank) compute"), color: color(i + 1 + rank),
                                    points: Self.smooth(points.map { (Double($0.step), $0.ms) }), dashed: true))
            }
        }
        return SVGChart(id: "latency", title: "Per-worker step latency (ms, moving mean)", xLabel: "global step",
                        yLabel: "milliseconds", series: series)
    }

    static func smooth(_ points: [(x: Double, y: Double)]) -> [(x: Double, y: Double)] {
        let window = max(1, points.count / 100)
        guard window > 1 else { return points }
        var out: [(x: Double, y: Double)] = []
        var i = 0
        while i < points.count {
            let chunk = points[i..<min(i + window, points.count)]
            out.append((chunk.first!.x, chunk.map(\.y).reduce(0, +) / Double(chunk.count)))
            i += window
        }
        return out
    }

    // MARK: Tables

    func summaryTable() -> String {
        var rows = "<table id=\"summary\"><tr><th class=\"name\">run</th><th>workers</th><th>global batch</th><th>steps</th><th>epochs</th>"
            + "<th>final test loss</th><th>final test accuracy</th><th>final rate</th><th>mean samples/s</th><th>seconds</th><th>rejected</th></tr>\n"
        for run in runs {
            let d = run.description
            let seconds = (run.steps.last?.timeMs ?? 0) / 1000
            let rejected = run.rejections.values.reduce(0, +)
            var cells: [String] = []
            cells.append(d.map { "\($0.workers)" } ?? "?")
            cells.append(d.map { "\($0.globalBatch)" } ?? "?")
            cells.append("\(run.steps.count)")
            cells.append("\(run.epochs.count)")
            if let end = run.end {
                cells.append(String(format: "%.4f", end.testLoss))
                cells.append(String(format: "%.4f", end.testAccuracy))
                cells.append("\(end.finalRate)")
            } else {
                cells += ["-", run.failure == nil ? "-" : "failed (see events)", "-"]
            }
            cells.append(run.meanSamplesPerSecond.map { String(format: "%.0f", $0) } ?? "-")
            cells.append(String(format: "%.1f", run.end?.seconds ?? seconds))
            cells.append("\(rejected)")
            rows += "<tr><td class=\"name\">\(escape(run.name))</td>" + cells.map { "<td>\(escape($0))</td>" }.joined() + "</tr>\n"
        }
        rows += "</table>\n<ul class=\"schedules\">"
        for run in runs { rows += "<li><b>\(escape(run.name))</b>: \(escape(run.description?.schedule ?? "schedule unknown (no events.jsonl)"))</li>" }
        return rows + "</ul>\n"
    }

    func eventsTable() -> String {
        let rows = runs.flatMap { run in run.events.map { (run.name, $0) } }
        guard !rows.isEmpty || runs.contains(where: { !$0.rejections.isEmpty || $0.failure != nil }) else { return "" }
        var out = "<h2>Events</h2><table id=\"events\"><tr><th class=\"name\">run</th><th>step</th><th class=\"name\">event</th><th>rank</th><th class=\"name\">detail</th></tr>\n"
        for (name, event) in rows {
            out += "<tr><td class=\"name\">\(escape(name))</td><td>\(event.step)</td><td class=\"name\">\(escape(event.kind.rawValue))</td>"
                + "<td>\(event.rank.map(String.init) ?? "")</td><td class=\"name\">\(escape(event.detail))</td></tr>\n"
        }
        for run in runs {
            guard let failure = run.failure else { continue }
            out += "<tr><td class=\"name\">\(escape(run.name))</td><td>\(run.steps.count)</td><td class=\"name\">run failed</td><td></td><td class=\"name\">\(escape(failure))</td></tr>\n"
        }
        for run in runs where !run.rejections.isEmpty {
            let text = run.rejections.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            out += "<tr><td class=\"name\">\(escape(run.name))</td><td></td><td class=\"name\">rejected messages</td><td></td><td class=\"name\">\(escape(text))</td></tr>\n"
        }
        return out + "</table>\n"
    }
}
