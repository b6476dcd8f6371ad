#ifndef DESCENT_KERNELS_H
#define DESCENT_KERNELS_H
/* The element-wise passes of a training step around its matrix products: gathering and scaling
 * pixels, bias and ReLU, the ReLU mask with the bias gradient, the SGD update. Each is one sweep,
 * compiled for AVX-512, AVX2 and baseline x86-64 and chosen at load time (function
 * multi-versioning), with floating-point contraction off: every version rounds exactly as the
 * plain C expression does, so the result does not depend on the processor. */
#include <stddef.h>
#include <stdint.h>
#include "DescentAveraging.h"
#include "DescentWireKernels.h"

/* features[r * width + k] = pixels[indices[r] * width + k] * scale and
 * labelsOut[r] = labelsIn[indices[r]], for r in 0..<count. */
void descent_gather_scaled(const uint8_t *pixels, const uint8_t *labelsIn, const intptr_t *indices, size_t count,
                           size_t width, float scale, float *features, int32_t *labelsOut);

/* matrix[r][c] += bias[c], then max(0, .) when relu is non-zero. */
void descent_add_bias(float *matrix, const float *bias, size_t rows, size_t columns, int relu);

/* delta[r][c] = 0 where activations[r][c] <= 0; columnSums[c] = sum over r of the masked delta,
 * added in row order. */
void descent_mask_relu_sum_columns(float *delta, const float *activations, size_t rows, size_t columns,
                                   float *columnSums);

/* One SGD step over n parameters, with decay = rate * weight decay:
 *   velocity NULL:  p = (1 - decay) * p - rate * g
 *   else            v = momentum * v - rate * g - decay * p, then
 *                   nesterov: p = (1 - decay) * p + momentum * v - rate * g;  otherwise p += v */
void descent_sgd_step(float *parameters, float *velocity, const float *gradient, size_t n, float rate,
                      float momentum, float decay, int nesterov);
#endif
