import Foundation
import Testing
@testable import DescentSchedules

/// Descent against the rates Keras 3 and optax themselves give (Fixtures/reference_rates.json,
/// written by Fixtures/generate.py; Fixtures/optax_compositions.json, written by
/// Fixtures/generate_optax_compositions.py: join_schedules and end_value; library versions recorded in the files).
@Suite struct LibraryFixtureTests {
    struct Fixture: Decodable {
        var versions: [String: String]
        var cases: [Case]
    }

    struct Case: Decodable, CustomTestStringConvertible, Sendable {
        var name: String
        var library: String
        var schedule: Schedule
        var steps: [Int]
        var rates: [Double]
        var testDescription: String { "\(library): \(name)" }
    }

    static let fixtureURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/reference_rates.json")

    static let compositionsURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/optax_compositions.json")

    static func loadCases() -> [Case] {
        [fixtureURL, compositionsURL].flatMap { url -> [Case] in
            guard let data = try? Data(contentsOf: url),
                  let fixture = try? JSONDecoder().decode(Fixture.self, from: data) else { return [] }
            return fixture.cases
        }
    }

    @Test func optaxCompositionFixtureLoadsWithEveryCase() throws {
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: Self.compositionsURL))
        #expect(fixture.cases.count == 4)
        #expect(fixture.versions["optax"] != nil)
    }

    @Test func fixtureFileLoadsWithEveryCase() throws {
        let data = try Data(contentsOf: Self.fixtureURL)
        let fixture = try JSONDecoder().decode(Fixture.self, from: data)
        #expect(fixture.cases.count >= 15)
        #expect(fixture.versions["keras"] != nil)
    }

    @Test(arguments: loadCases())
    func descentMatchesTheReferenceLibrary(_ reference: Case) {
        // Relative 1e-6, plus 1e-6 of the schedule's peak: near the bottom of a decay the libraries
        // lose digits to float32 cancellation (e.g. 1 + cos(0.999 pi), 1 - 1999 / 2000), which
        // Descent's float64 formula does not.
        let p = policy(reference.schedule)
        let peak = reference.rates.max() ?? 0
        for (step, expected) in zip(reference.steps, reference.rates) {
            let tolerance = 1e-6 * abs(expected) + 1e-6 * peak
            let actual = Double(p.rate(at: step))
            #expect(abs(actual - expected) <= tolerance, "step \(step): got \(actual), expected \(expected)")
        }
    }
}
