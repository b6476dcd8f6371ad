import Foundation

/// Runs a fuzz target's entry on files (and the files in directories) named on the command
/// line, as libFuzzer does with a corpus; prints how many it ran. The build of a fuzz target
/// without `-sanitize=fuzzer` uses this as its `main`.
public enum CorpusReplay {
    public static func run(_ target: (UnsafePointer<UInt8>?, Int) -> Int32) {
        var count = 0
        for argument in CommandLine.arguments.dropFirst() {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory) else {
                FileHandle.standardError.write(Data("no such file: \(argument)\n".utf8))
                exit(2)
            }
            let files = isDirectory.boolValue
                ? ((try? FileManager.default.contentsOfDirectory(atPath: argument)) ?? []).sorted().map { argument + "/" + $0 }
                : [argument]
            for file in files {
                guard let data = FileManager.default.contents(atPath: file) else { continue }
                _ = data.withUnsafeBytes { target($0.bindMemory(to: UInt8.self).baseAddress, $0.count) }
                count += 1
            }
        }
        print("replayed \(count) input(s) without a crash")
    }
}
