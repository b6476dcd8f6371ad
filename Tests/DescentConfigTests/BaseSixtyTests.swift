import Testing
@testable import DescentConfig
import DescentCore

/// YAML 1.1's base-60 numbers: `1:30` is 90. Yams computes them with trapping arithmetic, so a
/// long one decoded as an integer killed the process (the FuzzConfig fuzzer found it in CI); a
/// short one silently meant something else. Both are refused, naming the key.
struct BaseSixtyTests {
    @Test(arguments: [
        ("seed: 1:2:3:4:5:6:7:8:9:10:11:12\n", "seed", "1:2:3:4:5:6:7:8:9:10:11:12"),  // 60^11 overflows Int64
        ("training:\n  epochs: 1:30\n", "training.epochs", "1:30"),                     // silently 90 before
        ("seed: 1:2:3:4:5:6:7:8:9:10:11:+12\n", "seed", "1:2:3:4:5:6:7:8:9:10:11:+12"),  // a group with its own sign
        ("training:\n  epochs: -1:59:59\n", "training.epochs", "-1:59:59"),
        ("schedule:\n  type: constant\n  rate: 1:30.5\n", "schedule.rate", "1:30.5"),
        ("schedule:\n  type: piecewise_constant\n  boundaries: [1000, 2:0:0:0:0:0:0:0:0:0:0:0]\n  values: [0.1, 0.05, 0.01]\n",
         "schedule.boundaries[1]", "2:0:0:0:0:0:0:0:0:0:0:0"),
    ])
    func aBaseSixtyNumberIsRefusedWithItsKey(yaml: String, key: String, value: String) {
        #expect {
            _ = try RunConfig.parse(yaml: yaml)
        } throws: { error in
            guard let error = error as? ConfigError else { return false }
            return error.key == key && error.message.contains("'\(value)' is a base-60 number")
        }
    }

    @Test func quotedTextWithColonsAndOrdinaryNumbersStillLoad() throws {
        let config = try RunConfig.parse(yaml: "seed: 7\ndata:\n  dir: \"1:30\"\ntraining:\n  epochs: 3\n")
        #expect(config.seed == 7 && config.data.dir == "1:30" && config.training.epochs == 3)
    }

    @Test(arguments: [("1:30", true), ("+1:2", true), ("1_0:2.5", true), ("12:30:45", true), ("_1:2", true),
                      ("1:2:3:4:5:6:7:8:9:10:11:+12", true), ("1:-5", true), ("1e3:2", true),
                      ("1:", false), (":1", false), ("1::2", false), ("a:1", false), ("1:2a", false),
                      ("127.0.0.1:9100", false), ("::1", false), ("1", false), ("tcp://h:1", false)])
    func whatCountsAsBaseSixty(text: String, expected: Bool) {
        #expect(BaseSixtyGuard.isBaseSixty(text) == expected)
    }
}
