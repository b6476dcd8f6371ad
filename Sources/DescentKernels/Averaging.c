#include "DescentAveraging.h"
#include <math.h>
#include <string.h>

#include "Multiversion.h"

/* Exponent bits all ones: infinity or NaN, whatever the sign and the mantissa. */
#define DESCENT_EXPONENT_ALL_ONES 0x7F800000u

/* The float at bytes + 4 * i (little-endian, any alignment), read once; its magnitude's bits go
 * into *largest, so one comparison at the end tells whether any float was NaN or infinite. */
static inline __attribute__((always_inline)) float descent_load_checked(const unsigned char *bytes, size_t i, uint32_t *largest) {
    uint32_t bits;
    memcpy(&bits, bytes + 4 * i, 4);
    uint32_t magnitude = bits & 0x7FFFFFFFu;
    *largest = magnitude > *largest ? magnitude : *largest;
    float g;
    memcpy(&g, &bits, 4);
    return g;
}

DESCENT_MULTIVERSION
int descent_stage_weighted(float *staged, const float *sum, const void *gradient, size_t n, float weight,
                           int first) {
    float *restrict out = staged;
    const unsigned char *restrict bytes = gradient;
    uint32_t largest = 0;
    if (first || !sum) {
        for (size_t i = 0; i < n; i++) {
            float g = descent_load_checked(bytes, i, &largest);
            out[i] = 0.0f + weight * g;
        }
    } else {
        const float *restrict s = sum;
        for (size_t i = 0; i < n; i++) {
            float g = descent_load_checked(bytes, i, &largest);
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

/* Sixteen lanes as one value (lowered to whatever vector width the version has), so the lanes of
 * the norm stay in registers across the sweep. */
typedef float descent_f16 __attribute__((vector_size(64)));
typedef double descent_d16 __attribute__((vector_size(128)));
typedef uint32_t descent_u16 __attribute__((vector_size(64)));
typedef int32_t descent_i16 __attribute__((vector_size(64)));

/* Lanes of -1 where the 16 floats whose bits (a descent_u16) these are are NaN or infinite, else 0.
 * The magnitudes are below 2^31, so a signed comparison (one instruction) does. (A macro: a
 * function taking the 64-byte vector by value would warn of its ABI in the baseline build.) */
#define DESCENT_NON_FINITE_LANES(bits) ((descent_i16)((bits) & 0x7FFFFFFFu) > (int32_t)(DESCENT_EXPONENT_ALL_ONES - 1))

/* descent_stage_weighted, then descent_scale_norm on what it staged, in one sweep, for the gradient
 * that completes a step's sum: staged[i] = (base[i] + weight * g[i]) * scale, the product, the sum
 * and the scaling each rounded to float as the two kernels round them, and the squares added in
 * the same 16 lanes; so the mean and its norm are the same bits as the two sweeps give. base[i] is
 * sum[i] (as staged by descent_stage_weighted), 0 when there is none, or, with a firstWeight
 * (firstWeight != 0), 0 + firstWeight * sum[i]: the step's first gradient read where it lies,
 * rounded as descent_stage_weighted would have staged it. */
static inline __attribute__((always_inline)) int descent_stage_mean(float *staged, const float *sum, float firstWeight,
                                                                    const void *gradient, size_t n, float weight,
                                                                    float scale, double *norm, const float *from,
                                                                    float rate, float *updatedLargestOut, int *firstFinite) {
    const unsigned char *bytes = gradient;
    const int fresh = !sum, reference = firstWeight != 0.0f, update = from != NULL;
    /* The update goes around the caches when it can (whole 64-byte lines): its lines were read by
     * the workers of the step before, on other CPUs, and a plain store first fetches each line and
     * takes it from their caches. On this 2-vCPU host that made the sweep 48 us instead of 22 in
     * the stretches where traffic between the vCPUs is slow, and cost nothing elsewhere. */
    const int streaming = update && ((uintptr_t)staged & 63) == 0;
    descent_d16 lanes = {0};
    descent_i16 nonFinite = {0}, firstNonFinite = {0};
    descent_u16 updatedBits = {0};
    size_t whole = n - n % DESCENT_NORM_LANES;
    for (size_t i = 0; i < whole; i += DESCENT_NORM_LANES) {
        descent_u16 bits;
        memcpy(&bits, bytes + 4 * i, sizeof bits);
        nonFinite |= DESCENT_NON_FINITE_LANES(bits);
        descent_f16 g = (descent_f16)bits, base = {0};
        if (!fresh) memcpy(&base, sum + i, sizeof base);
        if (reference) {
            descent_u16 baseBits;
            memcpy(&baseBits, &base, sizeof baseBits);
            firstNonFinite |= DESCENT_NON_FINITE_LANES(baseBits);
            base = 0.0f + firstWeight * base;
        }
        descent_f16 m = (base + weight * g) * scale;
        if (update) {
            descent_f16 p;
            memcpy(&p, from + i, sizeof p);
            p = p - rate * m;
            if (streaming) __builtin_nontemporal_store(p, (descent_f16 *)(staged + i));
            else memcpy(staged + i, &p, sizeof p);
            descent_u16 pBits;
            memcpy(&pBits, &p, sizeof pBits);
            updatedBits = __builtin_elementwise_max(updatedBits, pBits & 0x7FFFFFFFu);
        } else {
            memcpy(staged + i, &m, sizeof m);
        }
        descent_d16 wide = __builtin_convertvector(m, descent_d16);
        lanes += wide * wide;
    }
    double tail[DESCENT_NORM_LANES] = {0};
    uint32_t largest = 0, firstLargest = 0;
    for (size_t i = whole; i < n; i++) {
        float g = descent_load_checked(bytes, i, &largest);
        float base = fresh ? 0.0f : sum[i];
        if (reference) base = 0.0f + firstWeight * descent_load_checked((const unsigned char *)sum, i, &firstLargest);
        float total = base + weight * g;
        float m = total * scale;
        if (update) {
            float p = from[i] - rate * m;
            staged[i] = p;
            uint32_t pBits;
            memcpy(&pBits, &p, sizeof pBits);
            pBits &= 0x7FFFFFFFu;
            updatedBits[0] = pBits > updatedBits[0] ? pBits : updatedBits[0];
        } else {
            staged[i] = m;
        }
        tail[i - whole] = (double)m * (double)m;
    }
    double squares = 0;
    int finite = largest < DESCENT_EXPONENT_ALL_ONES, sumFinite = firstLargest < DESCENT_EXPONENT_ALL_ONES;
    uint32_t updatedLargest = 0;
    for (size_t j = 0; j < DESCENT_NORM_LANES; j++) {
        squares += lanes[j] + tail[j];
        finite &= nonFinite[j] == 0;
        sumFinite &= firstNonFinite[j] == 0;
        updatedLargest = updatedBits[j] > updatedLargest ? updatedBits[j] : updatedLargest;
    }
    /* The streamed stores are seen by every CPU before any store after this function (the
     * publication of the step that reads them). */
    if (streaming) __builtin_ia32_sfence();
    if (firstFinite) *firstFinite = sumFinite;
    *norm = sqrt(squares);
    if (update) {
        /* The bits of a magnitude order as its value does, NaN's above infinity's. */
        memcpy(updatedLargestOut, &updatedLargest, sizeof updatedLargest);
    }
    return finite;
}

DESCENT_MULTIVERSION
int descent_stage_weighted_mean(float *staged, const float *sum, const void *gradient, size_t n, float weight,
                                int first, float scale, double *norm) {
    return descent_stage_mean(staged, first ? NULL : sum, 0.0f, gradient, n, weight, scale, norm, NULL, 0.0f, NULL, NULL);
}

/* A step's first gradient read where it lies, as the sum descent_stage_mean adds to: with weight 0
 * its terms 0 * first[i] are 0 for finite floats, as descent_stage_weighted would have staged
 * them, so it counts as no sum. */
static inline __attribute__((always_inline)) const float *descent_first_as_sum(const float *first, float firstWeight) {
    return firstWeight == 0.0f ? NULL : first;
}

DESCENT_MULTIVERSION
int descent_stage_mean_of_two(float *staged, const float *first, float firstWeight, const void *gradient, size_t n,
                              float weight, float scale, double *norm, int *firstFinite) {
    return descent_stage_mean(staged, descent_first_as_sum(first, firstWeight), firstWeight, gradient, n, weight, scale,
                              norm, NULL, 0.0f, NULL, firstFinite);
}

DESCENT_MULTIVERSION
int descent_stage_mean_update(float *updated, const float *parameters, float rate, const float *sum, int sumInPlace,
                              float firstWeight, const void *gradient, size_t n, float weight, float scale, double *norm,
                              float *largest, int *firstFinite) {
    if (sumInPlace) sum = descent_first_as_sum(sum, firstWeight);
    /* Without a sum read in place nothing is checked as first: *firstFinite gets 1. */
    return descent_stage_mean(updated, sum, sumInPlace ? firstWeight : 0.0f, gradient, n, weight, scale, norm, parameters,
                              rate, largest, firstFinite);
}
