import ArgumentParser
import DescentConfig
import DescentCore
import DescentSchedules
import Foundation

/// `descent schedule`: prints (and optionally plots) the learning rates a config's schedule gives,
/// without training.
struct ScheduleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedule",
        abstract: "Print the learning rates a config's schedule gives, without training.",
        discussion: """
            Steps per epoch are ceil(train size / global batch), the last partial batch included (as Keras).
            The train size is --train-size (MNIST: 60000), cut by data.train_limit and multiplied by
            data.train_repeat; the global batch is the config's (batch_per_worker x --workers).
            Without --steps or --epochs, prints the rate at the start of every epoch and after the last update.
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, csv, json
    }

    @Option(help: "The run config (YAML).")
    var config: String

    @Option(help: "Steps to print: A:B:S, from A to B inclusive every S (S defaults to 1).")
    var steps: String?

    @Option(help: "Epochs to print: A:B:S; epoch e is the step e x steps_per_epoch.")
    var epochs: String?

    @Option(help: "Output format: table, csv or json.")
    var format: Format = .table

    @Option(help: "Also draw the rates over the same range as an SVG file.")
    var plot: String?

    @Option(name: .customLong("train-size"), help: "Training images per epoch before train_limit and train_repeat.")
    var trainSize: Int = 60_000

    @Option(help: "Workers, for configs that give batch_per_worker.")
    var workers: Int = 1

    func validate() throws {
        if steps != nil && epochs != nil { throw ValidationError("give either --steps or --epochs, not both") }
        guard trainSize > 0 else { throw ValidationError("--train-size must be a positive integer (got \(trainSize))") }
        guard workers > 0 else { throw ValidationError("--workers must be a positive integer (got \(workers))") }
        if let steps { _ = try StepRange(parsing: steps, option: "--steps") }
        if let epochs { _ = try StepRange(parsing: epochs, option: "--epochs") }
        if let plot, !plot.hasSuffix(".svg") { throw ValidationError("--plot must name an .svg file (got '\(plot)')") }
    }

    func run() throws {
        let runConfig: RunConfig
        do {
            runConfig = try RunConfig.load(path: config)
        } catch {
            throw ScheduleCommandError(message: "\(error)")
        }
        let geometry = RunGeometry(config: runConfig, trainSize: trainSize, workers: workers)
        let policy = LearningRatePolicy(schedule: runConfig.schedule, stepsPerEpoch: geometry.stepsPerEpoch, globalBatch: geometry.globalBatch)
        let totalSteps = runConfig.training.epochs * geometry.stepsPerEpoch

        let range: StepRange
        let inEpochs: Bool
        if let epochs {
            range = try StepRange(parsing: epochs, option: "--epochs")
            inEpochs = true
        } else if let steps {
            range = try StepRange(parsing: steps, option: "--steps")
            inEpochs = false
        } else {
            range = StepRange(first: 0, last: runConfig.training.epochs, stride: 1)
            inEpochs = true
        }
        let scale = inEpochs ? geometry.stepsPerEpoch : 1
        let rows = range.values.map { value -> ScheduleRow in
            let step = value * scale
            return ScheduleRow(step: step, epoch: Double(step) / Double(geometry.stepsPerEpoch), rate: policy.rate(at: step))
        }

        var notes = ["schedule: \(policy.schedule.summary)", geometry.description,
                     "training: \(runConfig.training.epochs) epochs = \(totalSteps) updates"]
        if case .reduceOnPlateau = runConfig.schedule.family {
            notes.append("reduce_on_plateau changes the rate only on validation losses; none are given here")
        }
        print(ScheduleOutput.render(rows: rows, notes: notes, format: format, geometry: geometry, summary: policy.schedule.summary))
        if format != .table {
            for note in notes { FileHandle.standardError.write(Data("# \(note)\n".utf8)) }
        }

        if let plot {
            let first = range.first * scale, last = max(range.last * scale, range.first * scale + 1)
            let stride = max(1, (last - first) / 2000)
            let points = Swift.stride(from: first, through: last, by: stride).map { step in
                (x: inEpochs ? Double(step) / Double(geometry.stepsPerEpoch) : Double(step), y: Double(policy.rate(at: step)))
            }
            let chart = ScheduleChart(title: policy.schedule.summary, subtitle: geometry.description,
                                      xTitle: inEpochs ? "epoch" : "step", points: points)
            try AtomicFile.write(chart.svg(), to: plot)
            FileHandle.standardError.write(Data("wrote \(plot)\n".utf8))
        }
    }
}

/// Steps per epoch and the global batch of a run, and where each number came from.
struct RunGeometry: CustomStringConvertible {
    var trainSize: Int
    var effectiveSize: Int
    var globalBatch: Int
    var stepsPerEpoch: Int
    var batchSource: String

    init(config: RunConfig, trainSize: Int, workers: Int) {
        self.trainSize = trainSize
        effectiveSize = min(config.data.trainLimit ?? trainSize, trainSize) * config.data.trainRepeat
        globalBatch = config.globalBatch(workers: workers)
        stepsPerEpoch = (effectiveSize + globalBatch - 1) / globalBatch
        if let perWorker = config.training.batchPerWorker {
            batchSource = "training.batch_per_worker \(perWorker) x \(workers) workers"
        } else {
            batchSource = "training.batch_size"
        }
    }

    var description: String {
        "steps per epoch: \(stepsPerEpoch) = ceil(\(effectiveSize) / \(globalBatch)); train size \(effectiveSize) (--train-size \(trainSize), data.train_limit, data.train_repeat), global batch \(globalBatch) (\(batchSource))"
    }
}

/// A range A:B:S of steps or epochs, B inclusive.
struct StepRange {
    var first: Int
    var last: Int
    var stride: Int

    init(first: Int, last: Int, stride: Int) {
        self.first = first
        self.last = last
        self.stride = stride
    }

    init(parsing text: String, option: String) throws {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard (2...3).contains(parts.count), parts.allSatisfy({ $0 != nil }) else {
            throw ValidationError("\(option) must look like A:B or A:B:S with integers (got '\(text)'), e.g. 0:28125:1000")
        }
        first = parts[0]!
        last = parts[1]!
        stride = parts.count == 3 ? parts[2]! : 1
        guard first >= 0, last >= first, stride > 0 else {
            throw ValidationError("\(option) needs 0 <= A <= B and S > 0 (got '\(text)')")
        }
    }

    var values: [Int] { Array(Swift.stride(from: first, through: last, by: stride)) }
}

/// One printed rate.
struct ScheduleRow: Encodable {
    var step: Int
    var epoch: Double
    var rate: Float
}

/// The rows as a table, CSV or JSON.
enum ScheduleOutput {
    static func render(rows: [ScheduleRow], notes: [String], format: ScheduleCommand.Format, geometry: RunGeometry, summary: String) -> String {
        switch format {
        case .table:
            var lines = notes.map { "# " + $0 }
            lines.append(pad("step", 12) + pad("epoch", 12) + "  learning rate")
            for row in rows {
                lines.append(pad(String(row.step), 12) + pad(String(format: "%.3f", row.epoch), 12) + "  \(row.rate)")
            }
            return lines.joined(separator: "\n")
        case .csv:
            return (["step,epoch,rate"] + rows.map { "\($0.step),\(String(format: "%.6f", $0.epoch)),\($0.rate)" }).joined(separator: "\n")
        case .json:
            struct Document: Encodable {
                var schedule: String
                var steps_per_epoch: Int
                var global_batch: Int
                var train_size: Int
                var rates: [ScheduleRow]
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let document = Document(schedule: summary, steps_per_epoch: geometry.stepsPerEpoch, global_batch: geometry.globalBatch,
                                    train_size: geometry.effectiveSize, rates: rows)
            return (try? encoder.encode(document)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        }
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - text.count)) + text
    }
}

/// A failure of `descent schedule` after its arguments parsed (unreadable config, unwritable plot).
struct ScheduleCommandError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
