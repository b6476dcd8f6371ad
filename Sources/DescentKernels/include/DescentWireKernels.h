#ifndef DESCENT_WIRE_KERNELS_H
#define DESCENT_WIRE_KERNELS_H
/* bfloat16 on the wire: float32 <-> bfloat16 (the top 16 bits of a binary32), little-endian, at
 * any byte alignment (frames from libzmq may start anywhere). One sweep each, vectorised and
 * multi-versioned like the training kernels, allocating nothing.
 *
 * Rounding: to nearest, ties to even (IEEE 754 roundTiesToEven). A finite float beyond the largest
 * bfloat16 rounds to infinity, as IEEE overflow does; an infinity stays one; a NaN stays a NaN
 * (quiet, sign kept), so a receiver's finiteness check still sees it. Decoding is exact. */
#include <stddef.h>
#include <stdint.h>

/* out[2i..2i+1] = bf16(values[i]) for i in 0..<n. */
void descent_bf16_encode(const float *values, size_t n, void *out);

/* With error feedback: e = values[i] + residual[i]; out[i] = bf16(e); residual[i] = e - float(out[i])
 * (0 where out[i] is not finite, so one bad step does not poison the next). */
void descent_bf16_encode_feedback(const float *values, float *residual, size_t n, void *out);

/* values[i] = float(in[i]) for i in 0..<n (exact). */
void descent_bf16_decode(const void *in, size_t n, float *values);

/* sum[i] += weight * float(in[i]) for i in 0..<n, in float32 (no fused multiply-add). */
void descent_bf16_axpy(const void *in, size_t n, float weight, float *sum);

/* The index of the first NaN or infinity among the n bfloat16 values at in, or n when all are finite. */
size_t descent_bf16_first_nonfinite(const void *in, size_t n);
#endif
