import DescentData
import DescentTraining

/// Fuzz target: a checkpoint file as `--resume` reads it. Its seal is a SHA-256 that anyone who
/// can write the file can compute, so every input is sealed here first and reaches the parser
/// behind the seal (magic, version, lengths, the header's JSON: run identity, data plan, schedule
/// policy and its plateau state, SGD velocity, epoch tally; the parameters). A checkpoint that
/// decodes then goes through what resuming asks of it first.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCheckpoint(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    var bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var seal = SHA256Hasher()
    seal.update(bytes)
    bytes += seal.finalize()
    guard let checkpoint = try? Checkpoint.decode(bytes, path: "fuzz") else { return 0 }
    let progress = checkpoint.header.progress
    _ = progress.position
    _ = progress.startsEpoch
    _ = progress.plan.stepsPerEpoch
    _ = progress.policy.rate(at: progress.step)
    return 0
}
