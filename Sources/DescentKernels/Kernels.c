#include "DescentKernels.h"

#include "Multiversion.h"

DESCENT_MULTIVERSION
void descent_gather_scaled(const uint8_t *pixels, const uint8_t *labelsIn, const intptr_t *indices, size_t count,
                           size_t width, float scale, float *features, int32_t *labelsOut) {
    for (size_t r = 0; r < count; r++) {
        const uint8_t *restrict from = pixels + (size_t)indices[r] * width;
        float *restrict to = features + r * width;
        for (size_t k = 0; k < width; k++) to[k] = (float)from[k] * scale;
        labelsOut[r] = labelsIn[indices[r]];
    }
}

DESCENT_MULTIVERSION
void descent_add_bias(float *matrix, const float *bias, size_t rows, size_t columns, int relu) {
    for (size_t r = 0; r < rows; r++) {
        float *restrict row = matrix + r * columns;
        const float *restrict b = bias;
        if (relu) {
            for (size_t c = 0; c < columns; c++) {
                float v = row[c] + b[c];
                row[c] = v > 0 ? v : 0;
            }
        } else {
            for (size_t c = 0; c < columns; c++) row[c] += b[c];
        }
    }
}

DESCENT_MULTIVERSION
void descent_mask_relu_sum_columns(float *delta, const float *activations, size_t rows, size_t columns,
                                   float *columnSums) {
    float *restrict sums = columnSums;
    for (size_t c = 0; c < columns; c++) sums[c] = 0;
    for (size_t r = 0; r < rows; r++) {
        float *restrict d = delta + r * columns;
        const float *restrict a = activations + r * columns;
        for (size_t c = 0; c < columns; c++) {
            float masked = a[c] > 0 ? d[c] : 0;
            d[c] = masked;
            sums[c] += masked;
        }
    }
}

DESCENT_MULTIVERSION
void descent_sgd_step(float *parameters, float *velocity, const float *gradient, size_t n, float rate,
                      float momentum, float decay, int nesterov) {
    float *restrict p = parameters;
    float *restrict v = velocity;
    const float *restrict g = gradient;
    const float keep = 1 - decay;
    if (!v) {
        if (decay == 0) {
            for (size_t i = 0; i < n; i++) p[i] = p[i] - rate * g[i];
        } else {
            for (size_t i = 0; i < n; i++) p[i] = keep * p[i] - rate * g[i];
        }
    } else if (nesterov) {
        for (size_t i = 0; i < n; i++) {
            float vi = momentum * v[i] - rate * g[i] - decay * p[i];
            v[i] = vi;
            p[i] = keep * p[i] + momentum * vi - rate * g[i];
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            float vi = momentum * v[i] - rate * g[i] - decay * p[i];
            v[i] = vi;
            p[i] = p[i] + vi;
        }
    }
}
