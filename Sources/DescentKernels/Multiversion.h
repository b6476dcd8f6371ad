/* What every kernel file of this target starts with (private: not in include/). */
#ifndef DESCENT_MULTIVERSION_H
#define DESCENT_MULTIVERSION_H

/* No fused multiply-add: each version must round as the expression is written. */
#pragma clang fp contract(off)

/* One version of a kernel for AVX-512 (x86-64-v4), one for AVX2 (x86-64-v3) and a baseline,
 * picked at load time. */
#if defined(__x86_64__) && defined(__clang__)
#define DESCENT_MULTIVERSION __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define DESCENT_MULTIVERSION
#endif

#endif
