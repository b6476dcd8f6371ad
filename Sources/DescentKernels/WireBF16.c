#include "DescentWireKernels.h"
#include <string.h>

#include "Multiversion.h"

static inline uint32_t bits_of(float value) {
    uint32_t bits;
    memcpy(&bits, &value, 4);
    return bits;
}

static inline float float_of(uint32_t bits) {
    float value;
    memcpy(&value, &bits, 4);
    return value;
}

/* Round to nearest even by adding 0x7FFF plus the lowest kept bit, then dropping 16 bits (no
 * overflow of 32 bits: the largest non-NaN pattern is 0xFF800000). A NaN keeps its top bits with
 * the quiet bit set, so it cannot round into an infinity. */
static inline uint16_t bf16_round(uint32_t bits) {
    uint32_t rounded = (bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16;
    uint32_t nan = (bits >> 16) | 0x0040u;
    return (uint16_t)((bits & 0x7FFFFFFFu) > 0x7F800000u ? nan : rounded);
}

static inline uint16_t load16(const uint8_t *p, size_t i) {
    uint16_t v;
    memcpy(&v, p + 2 * i, 2);
    return v;
}

static inline void store16(uint8_t *p, size_t i, uint16_t v) { memcpy(p + 2 * i, &v, 2); }

DESCENT_MULTIVERSION
void descent_bf16_encode(const float *values, size_t n, void *out) {
    uint8_t *restrict o = out;
    for (size_t i = 0; i < n; i++) store16(o, i, bf16_round(bits_of(values[i])));
}

DESCENT_MULTIVERSION
void descent_bf16_encode_feedback(const float *values, float *residual, size_t n, void *out) {
    uint8_t *restrict o = out;
    float *restrict r = residual;
    for (size_t i = 0; i < n; i++) {
        float e = values[i] + r[i];
        uint16_t q = bf16_round(bits_of(e));
        float sent = float_of((uint32_t)q << 16);
        r[i] = (q & 0x7F80u) == 0x7F80u ? 0.0f : e - sent;
        store16(o, i, q);
    }
}

DESCENT_MULTIVERSION
void descent_bf16_decode(const void *in, size_t n, float *values) {
    const uint8_t *restrict p = in;
    float *restrict v = values;
    for (size_t i = 0; i < n; i++) v[i] = float_of((uint32_t)load16(p, i) << 16);
}

DESCENT_MULTIVERSION
void descent_bf16_axpy(const void *in, size_t n, float weight, float *sum) {
    const uint8_t *restrict p = in;
    float *restrict s = sum;
    for (size_t i = 0; i < n; i++) s[i] = s[i] + weight * float_of((uint32_t)load16(p, i) << 16);
}

DESCENT_MULTIVERSION
size_t descent_bf16_first_nonfinite(const void *in, size_t n) {
    const uint8_t *restrict p = in;
    uint16_t largest = 0;
    for (size_t i = 0; i < n; i++) {
        uint16_t magnitude = load16(p, i) & 0x7FFFu;
        largest = magnitude > largest ? magnitude : largest;
    }
    if (largest < 0x7F80u) return n;
    for (size_t i = 0; i < n; i++) {
        if ((load16(p, i) & 0x7FFFu) >= 0x7F80u) return i;
    }
    return n;
}
