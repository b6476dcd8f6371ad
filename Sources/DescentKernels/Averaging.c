#include "DescentAveraging.h"
#include <math.h>
#include <string.h>

#include "Multiversion.h"

/* Exponent bits all ones: infinity or NaN, whatever the sign and the mantissa. */
#define DESCENT_EXPONENT_ALL_ONES 0x7F800000u

DESCENT_MULTIVERSION
int descent_stage_weighted(float *staged, const float *sum, const void *gradient, size_t n, float weight,
                           int first) {
    float *restrict out = staged;
    const unsigned char *restrict bytes = gradient;
    uint32_t largest = 0;
    if (first || !sum) {
        for (size_t i = 0; i < n; i++) {
            uint32_t bits;
            memcpy(&bits, bytes + 4 * i, 4);
            uint32_t magnitude = bits & 0x7FFFFFFFu;
            largest = magnitude > largest ? magnitude : largest;
            float g;
            memcpy(&g, &bits, 4);
            out[i] = 0.0f + weight * g;
        }
    } else {
        const float *restrict s = sum;
        for (size_t i = 0; i < n; i++) {
            uint32_t bits;
            memcpy(&bits, bytes + 4 * i, 4);
            uint32_t magnitude = bits & 0x7FFFFFFFu;
            largest = magnitude > largest ? magnitude : largest;
            float g;
            memcpy(&g, &bits, 4);
            out[i] = s[i] + weight * g;
        }
    }
    return largest < DESCENT_EXPONENT_ALL_ONES;
}

/* The sum of squares in 16 fixed lanes, added together at the end: the same order (and so the
 * same result) for every vector width, and vectorisable without reassociating. */
#define DESCENT_NORM_LANES 16

DESCENT_MULTIVERSION
double descent_scale_norm(float *sum, size_t n, float scale) {
    float *restrict s = sum;
    double lanes[DESCENT_NORM_LANES] = {0};
    size_t whole = n - n % DESCENT_NORM_LANES;
    for (size_t i = 0; i < whole; i += DESCENT_NORM_LANES) {
        for (size_t j = 0; j < DESCENT_NORM_LANES; j++) {
            float m = s[i + j] * scale;
            s[i + j] = m;
            lanes[j] += (double)m * (double)m;
        }
    }
    for (size_t i = whole; i < n; i++) {
        float m = s[i] * scale;
        s[i] = m;
        lanes[i - whole] += (double)m * (double)m;
    }
    double squares = 0;
    for (size_t j = 0; j < DESCENT_NORM_LANES; j++) squares += lanes[j];
    return sqrt(squares);
}
