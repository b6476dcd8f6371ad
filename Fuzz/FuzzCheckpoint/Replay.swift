#if FUZZING
/// With libFuzzer (`scripts/fuzz`): SwiftPM links an executable's entry as `FuzzCheckpoint_main`, so that
/// symbol hands control to libFuzzer's driver.
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ target: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

@_cdecl("FuzzCheckpoint_main")
func fuzzerMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments, fuzzCheckpoint)
}
#else
import FuzzReplay

/// Without libFuzzer (a plain `swift build`): runs the target on the files given, e.g. the seed
/// corpus and every crash ever found, so they stay regression tests.
@main struct Replay {
    static func main() { CorpusReplay.run(fuzzCheckpoint) }
}
#endif
