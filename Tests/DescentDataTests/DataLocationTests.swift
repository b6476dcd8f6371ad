import Testing
@testable import DescentData

@Suite("Data location")
struct DataLocationTests {
    @Test func commandLineWinsOverEverything() {
        let location = DataLocation.resolve(commandLine: "/cli", environment: ["DESCENT_DATA": "/env"], config: "/config")
        #expect(location == DataLocation(directory: "/cli", source: .commandLine(flag: "--data")))
        #expect(location.description == "data directory /cli (from --data)")
    }

    @Test func environmentWinsOverConfig() {
        let location = DataLocation.resolve(commandLine: nil, environment: ["DESCENT_DATA": "/env"], config: "/config")
        #expect(location == DataLocation(directory: "/env", source: .environment))
        #expect(location.description == "data directory /env (from $DESCENT_DATA)")
    }

    @Test func configIsUsedWhenNothingElseIsSet() {
        let location = DataLocation.resolve(commandLine: "", environment: ["DESCENT_DATA": ""], config: "/config")
        #expect(location == DataLocation(directory: "/config", source: .config))
    }

    @Test func defaultsToDataMnist() {
        let location = DataLocation.resolve(commandLine: nil, environment: [:], config: nil)
        #expect(location == DataLocation(directory: "data/mnist", source: .defaultPath))
        #expect(location.description == "data directory data/mnist (from default)")
    }

    @Test func namesTheFlagItCameFrom() {
        let location = DataLocation.resolve(commandLine: "d", flag: "--dir", environment: [:], config: nil)
        #expect(location.description == "data directory d (from --dir)")
    }
}
