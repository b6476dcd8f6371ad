import DescentCore
import Foundation
import Testing

@Suite("Run-scoped names")
struct RunScopedNameTests {
    @Test("a name carries this process's id and 16 random hex digits, and differs every time")
    func namesAreUnpredictableAndCarryThePID() {
        let names = (0..<1000).map { _ in RunScopedName.make(prefix: "descent-test") }
        #expect(Set(names).count == 1000)
        for name in names.prefix(5) {
            #expect(name.hasPrefix("descent-test-\(getpid())-"))
            #expect(name.split(separator: "-").last?.count == 16)
            #expect(RunScopedName.creator(of: name, prefix: "descent-test") == getpid())
        }
        #expect(RunScopedName.creator(of: "descent-test-12-xyz", prefix: "descent-test") == nil)
        #expect(RunScopedName.creator(of: "other-12-0123456789abcdef", prefix: "descent-test") == nil)
    }

    @Test("a name is left over only when its creator is gone")
    func leftOverOnlyWhenTheCreatorIsGone() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/true")
        try process.run()
        process.waitUntilExit()
        let dead = "descent-test-\(process.processIdentifier)-0123456789abcdef"
        #expect(RunScopedName.isLeftOver(dead, prefix: "descent-test"))
        #expect(!RunScopedName.isLeftOver(RunScopedName.make(prefix: "descent-test"), prefix: "descent-test"))
        #expect(!RunScopedName.isLeftOver("descent-test-1-0123456789abcdef", prefix: "descent-test"))  // init lives
    }
}
