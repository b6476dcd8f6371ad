#ifndef DESCENT_AVERAGING_H
#define DESCENT_AVERAGING_H
/* The coordinator's per-step passes over the workers' gradients: each gradient is read once, to
 * check it and to add it in; the mean is one more sweep. Same build as DescentKernels.h: one
 * version per vector width, no contraction (s + w * g rounds the product, then the sum). */
#include <stddef.h>
#include <stdint.h>

/* staged[i] = 0 + w * g[i] (first) or sum[i] + w * g[i], reading each of the n floats of gradient
 * once (any alignment, little-endian float32 bytes), so the check and the sum see the same
 * values even if another process writes the buffer meanwhile. Returns 1 when every g[i] was
 * finite, 0 when one was NaN or infinite (staged then holds garbage). sum may be NULL when first. */
int descent_stage_weighted(float *staged, const float *sum, const void *gradient, size_t n, float weight,
                           int first);

/* sum[i] *= scale; returns the L2 norm of the result (squares added in double, in a fixed order). */
double descent_scale_norm(float *sum, size_t n, float scale);

/* descent_stage_weighted and then descent_scale_norm(staged, n, scale) in one sweep, with the same
 * results bit for bit: for the gradient that completes a step's sum. Returns 1 when every g[i] was
 * finite; the mean's L2 norm goes to *norm (meaningless, like staged, when one was not). */
int descent_stage_weighted_mean(float *staged, const float *sum, const void *gradient, size_t n, float weight,
                                int first, float scale, double *norm);

/* descent_stage_weighted_mean for a step's first gradient read where it lies rather than staged:
 * the same bits as descent_stage_weighted(tmp, NULL, first, n, firstWeight, 1) followed by
 * descent_stage_weighted_mean(staged, tmp, gradient, n, weight, 0, scale, norm). Returns 1 when
 * every g[i] was finite; *firstFinite (when not NULL) gets 1 when every first[i] the sweep read was
 * finite, else 0 (with firstWeight 0 first is not read: its 0 * first[i] terms count as no sum). */
int descent_stage_mean_of_two(float *staged, const float *first, float firstWeight, const void *gradient, size_t n,
                              float weight, float scale, double *norm, int *firstFinite);

/* The sweep that completes a step's sum and applies plain SGD with it, without writing the mean:
 * updated[i] = parameters[i] - rate * m[i], where m[i] is the mean descent_stage_weighted_mean
 * (sumInPlace 0: sum staged, or NULL for none) or descent_stage_mean_of_two (sumInPlace 1: sum is
 * the step's first gradient read where it lies, weighted by firstWeight) would have staged, so
 * updated holds the same bits as that mean followed by descent_sgd_step without momentum or
 * decay. updated must not be parameters (they stay as they were, to be kept if the update is
 * refused). *norm gets the mean's L2 norm, *largest the largest magnitude in updated (NaN above
 * infinity). Returns 1 when every g[i] was finite; *firstFinite (when not NULL) as for
 * descent_stage_mean_of_two when sumInPlace, else 1 (a staged sum was checked as it was staged).
 * When updated is 64-byte aligned its 16-float blocks are written with non-temporal stores (not
 * fetched into this CPU's cache first), fenced before the function returns. */
int descent_stage_mean_update(float *updated, const float *parameters, float rate, const float *sum, int sumInPlace,
                              float firstWeight, const void *gradient, size_t n, float weight, float scale, double *norm,
                              float *largest, int *firstFinite);

#endif
