#!/bin/sh
# The coordinator's per-step arithmetic with 2 workers (101,770 floats), before and after the
# one-read averaging, in one small program: CPU time per step, and callgrind instruction counts
# (valgrind 3.19 cannot run the descent binary itself here; this program it can).
#   Benchmarks/coordinator_step/run.sh [STEPS]
# "before": copy the slot, check it (the old Swift loop), cblas_saxpy, twice; cblas_sscal,
# cblas_snrm2, SGD, clear the sum. "after": descent_stage_weighted twice, descent_scale_norm, SGD.
# "fused": descent_stage_weighted, then descent_stage_weighted_mean (the last gradient staged,
# averaged and its norm taken in one sweep), SGD.
set -e
cd "$(dirname "$0")"
out=${TMPDIR:-/tmp}/descent-coordinator-step
mkdir -p "$out"
clang -O2 -c ../../Sources/DescentKernels/Averaging.c -I../../Sources/DescentKernels/include -o "$out/averaging.o"
clang -O2 -c ../../Sources/DescentKernels/Kernels.c -I../../Sources/DescentKernels/include -o "$out/kernels.o"
swiftc -O main.swift -import-objc-header bridge.h "$out/averaging.o" "$out/kernels.o" -lopenblas -o "$out/coordinator_step"
steps=${1:-3000}
for round in 1 2 3; do for mode in before after fused; do "$out/coordinator_step" $mode "$steps"; done; done
if command -v valgrind >/dev/null; then
    for mode in before after fused; do
        for n in 100 200; do
            valgrind --tool=callgrind --callgrind-out-file="$out/cg.$mode.$n" "$out/coordinator_step" "$mode" "$n" 2>&1 | grep -o 'refs: *[0-9,]*' | sed "s/^/$mode $n steps: /"
        done
    done
    echo "instructions per step = (refs at 200 steps - refs at 100 steps) / 100"
fi
