import Foundation
import Testing

extension SystemTests {
    /// What a person sees in a real terminal (a tmux pane, 160 x 40): while the run goes, a
    /// progress line with every figure is the last line, under the plain epoch lines, and moves
    /// forward; at the end it is gone and the plain lines are whole.
    @Test(arguments: ["train", "launch"])
    func progressLineIsRedrawnInPlaceInATerminal(command: String) throws {
        guard let tmux = ObserveSupport.tool("tmux") else {
            print("skipped: tmux is not installed (apt-get install tmux)")
            return
        }
        guard let sample = Paths.mnistSample else {
            print("skipped: the MNIST sample is missing")
            return
        }
        let dir = try Paths.temporaryDirectory("tty")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = "descent-test-\(getpid())-\(command)"
        // The seed run with two 1,024-wide hidden layers: about 60 times the arithmetic a step, so
        // that 400 steps last seconds and the line is redrawn several times (at 128 wide they end
        // between two redraws of `launch`, which draws at most 4 times a second).
        let config = try editedPackageFile("Config/mnist-seed.yaml", replacing: [("hidden: [128]", "hidden: [1024, 1024]")],
                                           in: dir, name: "wide.yaml")
        var arguments = [Paths.descent, command, "--config", config, "--data", sample, "--max-steps", "400"]
        if command == "launch" { arguments += ["--workers", "2"] }
        let shell = arguments.map { "'\($0)'" }.joined(separator: " ") + "; echo __DONE__ $?; sleep 60"
        try ObserveSupport.run(tmux, ["-L", server, "new-session", "-d", "-s", "run", "-x", "160", "-y", "40", shell])
        defer { _ = try? ObserveSupport.run(tmux, ["-L", server, "kill-server"]) }

        var snapshots: [[String]] = []
        let deadline = Date().addingTimeInterval(180)
        var final: [String] = []
        while Date() < deadline {
            let pane = try ObserveSupport.run(tmux, ["-L", server, "capture-pane", "-p", "-t", "run"]).out
            let lines = pane.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            if lines.contains(where: { $0.hasPrefix("__DONE__") }) { final = lines; break }
            if lines.contains(where: { $0.contains(" | step ") }) { snapshots.append(lines) }
            usleep(150_000)
        }
        let visible = final.filter { !$0.isEmpty }
        #expect(visible.contains("__DONE__ 0"), "the run did not end well: \(visible.suffix(15))")
        #expect(!snapshots.isEmpty, "no progress line was ever on screen")

        let prefix = command == "launch" ? "[coordinator] " : ""
        var steps: [Int] = []
        for snapshot in snapshots {
            let shown = snapshot.filter { !$0.isEmpty }
            guard let progress = shown.last, progress.contains(" | step ") else {
                Issue.record("the progress line is not the last line: \(shown.suffix(3))")
                continue
            }
            #expect(progress.hasPrefix("epoch "), "\(progress)")
            for part in ["samples/s", " | loss ", " | rate 0.10000", " | ETA "] { #expect(progress.contains(part), "\(part) missing in \(progress)") }
            if command == "launch" { #expect(progress.contains("| workers 2/2, slowest "), "\(progress)") }
            #expect(shown.contains("\(prefix)Epoch 01: learning rate = 0.10000"), "\(shown.prefix(12))")
            if let start = progress.range(of: " | step ")?.upperBound, let step = Int(progress[start...].prefix { $0.isNumber }) {
                #expect(progress[start...].hasPrefix("\(step)/400 "))
                steps.append(step)
            }
        }
        #expect(steps.count == snapshots.count)
        #expect(steps == steps.sorted(), "the step shown went backwards: \(steps)")
        #expect(Set(steps).count >= 2, "the progress line never moved: \(steps)")

        // At the end: no progress text left, the plain lines whole at the start of their lines.
        #expect(!visible.contains { $0.contains(" | step ") }, "\(visible.suffix(12))")
        #expect(visible.contains { $0.hasPrefix("\(prefix)Epoch 01/15 - 157 steps - ") })
        #expect(visible.contains { $0.hasPrefix("\(prefix)Epoch 03/15 - 86 steps - ") })
        #expect(visible.contains { $0.hasPrefix("\(prefix)Test loss: ") })
        #expect(!visible.contains { $0.contains("epoch ") && $0.contains("Epoch ") })
    }

    /// Not a terminal: today's plain lines, no progress text, no control characters.
    @Test func plainLinesWhenNotATerminal() throws {
        guard let sample = Paths.mnistSample else {
            print("skipped: the MNIST sample is missing")
            return
        }
        let dir = try Paths.temporaryDirectory("notty")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = Paths.packageRoot.appendingPathComponent("Config/mnist-seed.yaml").path
        let child = try Child("train", ["train", "--config", config, "--data", sample, "--max-steps", "200"], directory: dir)
        #expect(child.wait() == 0, "\(child.stderr)")
        #expect(child.stdout.hasPrefix("Epoch 01: learning rate = 0.10000\n"))
        #expect(!child.stdout.contains(" | step "))
        #expect(!child.stdout.contains("\u{1B}") && !child.stdout.contains("\u{1E}") && !child.stdout.contains("\r"))
    }
}
