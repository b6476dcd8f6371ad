// The coordinator's per-step arithmetic with 2 workers, before, after and fused: run one of them
// STEPS times over 101,770 floats (the 784-128-10 MLP).
import Glibc

let n = 101_770
let steps = Int(CommandLine.arguments[2])!
let mode = CommandLine.arguments[1]
func buffer(_ seed: Float) -> UnsafeMutablePointer<Float> {
    let p = UnsafeMutablePointer<Float>.allocate(capacity: n)
    for i in 0..<n { p[i] = seed * Float((i * 7919) % 1000 - 500) * 1e-5 }
    return p
}
let slots = [buffer(1), buffer(-2)]
let parameters = buffer(3)
let received = buffer(0), sum = buffer(0), staged = buffer(0)
var current = sum, spare = staged

// The old Swift check (WirePayload.firstNonFiniteIndex(floatBytes:)).
@inline(never) func firstNonFinite(_ bytes: UnsafeRawBufferPointer) -> Int? {
    let count = bytes.count / 4
    var largest: Int32 = 0
    for index in 0..<count {
        let bits = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self))
        largest = max(largest, Int32(bitPattern: bits & 0x7FFF_FFFF))
    }
    guard largest >= 0x7F80_0000 else { return nil }
    return 0
}

var checksum = 0.0
let start = clock()
for _ in 0..<steps {
    if mode == "before" {
        for slot in slots {
            received.update(from: slot, count: n)   // LocalWorkers.copyGradient
            if firstNonFinite(UnsafeRawBufferPointer(start: received, count: n * 4)) != nil { fatalError() }
            cblas_saxpy(Int32(n), 32, received, 1, sum, 1)   // GradientAverager.add
        }
        cblas_sscal(Int32(n), 1 / 64, sum, 1)
        checksum += Double(cblas_snrm2(Int32(n), sum, 1))
        descent_sgd_step(parameters, nil, sum, n, 1e-9, 0, 0, 0)
        sum.update(repeating: 0, count: n)                   // reset
    } else if mode == "fused" {
        // The last gradient staged, averaged and its norm taken in one sweep.
        if descent_stage_weighted(spare, current, slots[0], n, 32, 1) == 0 { fatalError() }
        swap(&current, &spare)
        var norm = 0.0
        if descent_stage_weighted_mean(spare, current, slots[1], n, 32, 0, 1 / 64, &norm) == 0 { fatalError() }
        swap(&current, &spare)
        checksum += Double(Float(norm))
        descent_sgd_step(parameters, nil, current, n, 1e-9, 0, 0, 0)
    } else {
        var first: Int32 = 1
        for slot in slots {
            if descent_stage_weighted(spare, current, slot, n, 32, first) == 0 { fatalError() }
            swap(&current, &spare)
            first = 0
        }
        checksum += Double(Float(descent_scale_norm(current, n, 1 / 64)))
        descent_sgd_step(parameters, nil, current, n, 1e-9, 0, 0, 0)
    }
}
let seconds = Double(clock() - start) / Double(CLOCKS_PER_SEC)
print("\(mode): \(steps) steps, \(seconds * 1e6 / Double(steps)) us CPU per step, checksum \(checksum)")
