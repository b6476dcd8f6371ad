import Foundation
import Testing
import DescentConfig
@testable import DescentSchedules

/// The `schedule:` section: what each family reads, and a refusal naming the key for each mistake.
@Suite struct ScheduleDecodingTests {
    @Test func exponentialSectionDecodesToTheReferenceSchedule() throws {
        let s = try schedule("type: exponential\ninitial_rate: 0.1\ndecay_steps: 1000\ndecay_rate: 0.96\nstaircase: true")
        #expect(s == .exponential(initialRate: 0.1, decaySteps: 1000, decayRate: 0.96, staircase: true))
    }

    @Test func missingScheduleSectionKeepsTheReferenceDefault() throws {
        #expect(try RunConfig.parse(yaml: "seed: 1").schedule == .exponential(initialRate: 0.1, decaySteps: 1000, decayRate: 0.96, staircase: true))
    }

    @Test func sharedKeysDecodeUnitsWarmupAndScale() throws {
        let s = try schedule("""
            type: step_decay
            initial_rate: 0.1
            drop: 0.5
            every: 2
            units: epochs
            warmup: {steps: 500, start_rate: 0.001}
            scale: {reference_batch: 256, warmup_epochs: 5}
            """)
        #expect(s == Schedule(.stepDecay(StepDecay(initialRate: 0.1, drop: 0.5, every: 2)), units: .epochs,
                              warmup: LinearWarmup(length: .steps(500), startRate: 0.001),
                              scaling: LinearScaling(referenceBatch: 256, warmup: .epochs(5))))
    }

    @Test func cosineStyleTorchReadsTMaxAndMinRate() throws {
        let s = try schedule("type: cosine\nstyle: torch\ninitial_rate: 0.1\ndecay_steps: 50\nmin_rate: 0.001")
        #expect(s.family == .cosineAnnealing(CosineAnnealing(initialRate: 0.1, decaySteps: 50, minRate: 0.001)))
    }

    struct Invalid: CustomTestStringConvertible, Sendable {
        var yaml: String
        var key: String
        var words: String
        var testDescription: String { "\(key): \(words)" }
    }

    static let invalid: [Invalid] = [
        .init(yaml: "type: exponential\ninitial_rate: 0.1\ndecay_steps: 0\ndecay_rate: 0.9", key: "schedule.decay_steps", words: "positive integer"),
        .init(yaml: "type: exponential\ninitial_rate: 0\ndecay_steps: 10\ndecay_rate: 0.9", key: "schedule.initial_rate", words: "positive"),
        .init(yaml: "type: exponential\ninitial_rate: -0.1\ndecay_steps: 10\ndecay_rate: 0.9", key: "schedule.initial_rate", words: "positive"),
        .init(yaml: "type: exponential\ninitial_rate: 1e-60\ndecay_steps: 10\ndecay_rate: 0.9", key: "schedule.initial_rate", words: "float32"),
        .init(yaml: "type: exponential\ninitial_rate: 0.1\ndecay_steps: 10\ndecay_rate: 1.5", key: "schedule.decay_rate", words: "(0, 1]"),
        .init(yaml: "type: exponential\ninitial_rate: 0.1\ndecay_steps: 10\ndecay_rate: 0.9\nstaircas: true", key: "schedule.staircas", words: "unknown key"),
        .init(yaml: "type: exponential\ndecay_steps: 10\ndecay_rate: 0.9", key: "schedule.initial_rate", words: "required"),
        .init(yaml: "type: exponentail\ninitial_rate: 0.1", key: "schedule.type", words: "unknown schedule type"),
        .init(yaml: "type: constant\nrate: 0", key: "schedule.rate", words: "positive"),
        .init(yaml: "type: constant\nrate: 0.1\nunits: hours", key: "schedule.units", words: "unknown value 'hours'"),
        .init(yaml: "type: step_decay\ninitial_rate: 0.1\ndrop: 0.5\nevery: 0", key: "schedule.every", words: "positive integer"),
        .init(yaml: "type: step_decay\ninitial_rate: 0.1\ndrop: 0\nevery: 3", key: "schedule.drop", words: "(0, 1]"),
        .init(yaml: "type: inverse_time\ninitial_rate: 0.1\ndecay_steps: 10\ndecay_rate: 0", key: "schedule.decay_rate", words: "positive"),
        .init(yaml: "type: polynomial\ninitial_rate: 0.1\ndecay_steps: 10\npower: 0", key: "schedule.power", words: "positive"),
        .init(yaml: "type: polynomial\ninitial_rate: 0.1\ndecay_steps: 10\nend_rate: -1", key: "schedule.end_rate", words: "0 or more"),
        .init(yaml: "type: piecewise_constant\nboundaries: [10, 10]\nvalues: [0.1, 0.01, 0.001]", key: "schedule.boundaries", words: "strictly increasing"),
        .init(yaml: "type: piecewise_constant\nboundaries: [10, 20]\nvalues: [0.1, 0.01]", key: "schedule.values", words: "one more entry"),
        .init(yaml: "type: piecewise_constant\nboundaries: [10]\nvalues: [0.1, 0.01]\nstyle: torch", key: "schedule.style", words: "unknown value 'torch'"),
        .init(yaml: "type: multi_step\ninitial_rate: 0.1\nmilestones: [30, 20]", key: "schedule.milestones", words: "strictly increasing"),
        .init(yaml: "type: multi_step\ninitial_rate: 0.1\nmilestones: [30]\ngamma: 2", key: "schedule.gamma", words: "(0, 1]"),
        .init(yaml: "type: cosine\ninitial_rate: 0.1\ndecay_steps: -5", key: "schedule.decay_steps", words: "positive integer"),
        .init(yaml: "type: cosine\ninitial_rate: 0.1\ndecay_steps: 5\nalpha: 2", key: "schedule.alpha", words: "[0, 1]"),
        .init(yaml: "type: cosine\ninitial_rate: 0.1\ndecay_steps: 5\nwarmup_steps: 3", key: "schedule.warmup_steps", words: "warmup_target"),
        .init(yaml: "type: cosine\nstyle: optax\ninitial_rate: 0\nwarmup_target: 0.1\nwarmup_steps: 10\ndecay_steps: 10", key: "schedule.decay_steps", words: "exceed warmup_steps"),
        .init(yaml: "type: cosine\nstyle: pytorch\ninitial_rate: 0.1\ndecay_steps: 5", key: "schedule.style", words: "unknown value 'pytorch'"),
        .init(yaml: "type: cosine\nstyle: torch\ninitial_rate: 0.1\ndecay_steps: 5\nalpha: 0.1", key: "schedule.alpha", words: "unknown key"),
        .init(yaml: "type: cosine_restarts\ninitial_rate: 0.1\nfirst_decay_steps: 10\nt_mul: 0", key: "schedule.t_mul", words: "positive"),
        .init(yaml: "type: cosine_restarts\ninitial_rate: 0.1\nfirst_decay_steps: 10\nm_mul: -1", key: "schedule.m_mul", words: "(0, 1]"),
        .init(yaml: "type: one_cycle\nmax_rate: 0.1\ntotal_steps: 100\npct_start: 1", key: "schedule.pct_start", words: "(0, 1)"),
        .init(yaml: "type: one_cycle\nmax_rate: 0.1\ntotal_steps: 100\nanneal: cosine", key: "schedule.anneal", words: "unknown value 'cosine'"),
        .init(yaml: "type: one_cycle\nmax_rate: 0.1\ntotal_steps: 100\nthree_phase: true\npct_start: 0.6", key: "schedule.pct_start", words: "below 0.5"),
        .init(yaml: "type: one_cycle\nmax_rate: 0.1\ntotal_steps: 0", key: "schedule.total_steps", words: "positive integer"),
        .init(yaml: "type: reduce_on_plateau\ninitial_rate: 0.1\nfactor: 1", key: "schedule.factor", words: "(0, 1)"),
        .init(yaml: "type: reduce_on_plateau\ninitial_rate: 0.1\nmode: max", key: "schedule.mode", words: "must be 'min'"),
        .init(yaml: "type: reduce_on_plateau\ninitial_rate: 0.1\nthreshold_mode: relative", key: "schedule.threshold_mode", words: "unknown value"),
        .init(yaml: "type: reduce_on_plateau\ninitial_rate: 0.1\npatience: -1", key: "schedule.patience", words: "0 or a positive"),
        .init(yaml: "type: reduce_on_plateau\ninitial_rate: 0.1\nunits: epochs", key: "schedule.units", words: "does not apply"),
        .init(yaml: "type: constant\nrate: 0.1\nwarmup: {start_rate: 0}", key: "schedule.warmup.steps", words: "give steps or epochs"),
        .init(yaml: "type: constant\nrate: 0.1\nwarmup: {steps: 5, epochs: 1}", key: "schedule.warmup.epochs", words: "not both"),
        .init(yaml: "type: constant\nrate: 0.1\nwarmup: {steps: 5, length: 1}", key: "schedule.warmup.length", words: "unknown key"),
        .init(yaml: "type: constant\nrate: 0.1\nscale: {reference_batch: 0}", key: "schedule.scale.reference_batch", words: "positive integer"),
        .init(yaml: "type: constant\nrate: 0.1\nscale: {reference_batch: 256, warmup_steps: -1}", key: "schedule.scale.warmup_steps", words: "0 or a positive"),
        .init(yaml: "type: exponential\ninitial_rate: 0.1\ndecay_steps: 10\ndecay_rate: 0.9\nstyle: optax", key: "schedule.style", words: "unknown value 'optax'"),
        .init(yaml: "type: exponential\ninitial_rate: 0.1\ndecay_steps: 10\ndecay_rate: 0.9\nend_rate: 0.2", key: "schedule.end_rate", words: "below initial_rate"),
        .init(yaml: "type: exponential\ninitial_rate: 0.1\ndecay_steps: 10\ndecay_rate: 1\nend_rate: 0.01", key: "schedule.end_rate", words: "decay_rate below 1"),
        .init(yaml: "type: step_decay\ninitial_rate: 0.1\ndrop: 0.5\nevery: 3\nstyle: pytorch", key: "schedule.style", words: "unknown value 'pytorch'"),
        .init(yaml: "type: cyclic\nbase_rate: 0.01\nmax_rate: 0.001", key: "schedule.max_rate", words: "at least base_rate"),
        .init(yaml: "type: cyclic\nbase_rate: 0.001\nmax_rate: 0.01\nstep_size_up: 0", key: "schedule.step_size_up", words: "positive integer"),
        .init(yaml: "type: cyclic\nbase_rate: 0.001\nmax_rate: 0.01\nstep_size_down: -1", key: "schedule.step_size_down", words: "0 or a positive"),
        .init(yaml: "type: cyclic\nbase_rate: 0.001\nmax_rate: 0.01\nmode: triangle", key: "schedule.mode", words: "unknown value 'triangle'"),
        .init(yaml: "type: cyclic\nbase_rate: 0.001\nmax_rate: 0.01\ngamma: 0.99", key: "schedule.gamma", words: "only to mode exp_range"),
        .init(yaml: "type: cyclic\nbase_rate: 0.001\nmax_rate: 0.01\nmode: exp_range\ngamma: 1.5", key: "schedule.gamma", words: "(0, 1]"),
        .init(yaml: "type: sequence\nmilestones: []\nschedules: []", key: "schedule.schedules", words: "at least one schedule"),
        .init(yaml: "type: sequence\nmilestones: [5, 10]\nschedules: [{type: constant, rate: 0.1}, {type: constant, rate: 0.01}]", key: "schedule.milestones", words: "one entry fewer than schedules"),
        .init(yaml: "type: sequence\nmilestones: [0]\nschedules: [{type: constant, rate: 0.1}, {type: constant, rate: 0.01}]", key: "schedule.milestones", words: "start above 0"),
        .init(yaml: "type: sequence\nmilestones: [9, 5]\nschedules: [{type: constant, rate: 0.1}, {type: constant, rate: 0.01}, {type: constant, rate: 0.001}]", key: "schedule.milestones", words: "strictly increasing"),
        .init(yaml: "type: sequence\nmilestones: [5]\nschedules: [{type: constant, rate: 0.1}, {type: constant, rate: 0}]", key: "schedule.schedules[1].rate", words: "positive"),
        .init(yaml: "type: sequence\nmilestones: [5]\nschedules: [{type: constant, rate: 0.1}, {type: constant, rate: 0.01, units: epochs}]", key: "schedule.schedules[1].units", words: "outer schedule"),
        .init(yaml: "type: sequence\nmilestones: [5]\nschedules: [{type: constant, rate: 0.1}, {type: reduce_on_plateau, initial_rate: 0.1}]", key: "schedule.schedules[1].type", words: "cannot be part"),
        .init(yaml: "type: product\nschedules: [{type: constant, rate: 0.1}, {type: warp}]", key: "schedule.schedules[1].type", words: "unknown schedule type"),
        .init(yaml: "type: product\nschedules: [{type: constant, rate: 0.1, every: 3}]", key: "schedule.schedules[0].every", words: "unknown key"),
        .init(yaml: "type: product\nschedules: {type: constant, rate: 0.1}", key: "schedule.schedules", words: "expected a list"),
        .init(yaml: "type: product\nmilestones: [3]\nschedules: [{type: constant, rate: 0.1}]", key: "schedule.milestones", words: "unknown key"),
    ]

    @Test(arguments: invalid)
    func invalidScheduleIsRefusedNamingTheKey(_ c: Invalid) {
        let error = scheduleError(c.yaml)
        #expect(error?.key == c.key, "\(String(describing: error))")
        #expect(error?.message.contains(c.words) == true, "\(String(describing: error))")
    }

    @Test(arguments: ConfigExampleTests.exampleFiles())
    func everyExampleScheduleRoundTripsThroughJSON(_ path: String) throws {
        let original = try RunConfig.load(path: path).schedule
        let restored = try JSONDecoder().decode(Schedule.self, from: JSONEncoder().encode(original))
        #expect(restored == original)
    }
}
