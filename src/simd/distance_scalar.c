/*
 * distance_scalar.c — the plain-C distance kernels: the test oracle and the fallback.
 *
 * Every other build (distance_avx2.c, distance_avx512.c) is checked against these
 * functions, so they are written to be obviously right rather than fast: one float
 * accumulator, elements summed in index order, no tricks. The file is compiled with
 * -O3 -fno-tree-vectorize (CMakeLists.txt) so that the compiler cannot quietly turn the
 * oracle into a vectorised kernel with a different summation order; what the tests
 * compare against is the sequential sum the C source says.
 *
 * The same functions serve CPUs without AVX2 and VS_SIMD=scalar. They are 3-4x slower
 * than the vector builds on a scan from DRAM and ~15x from cache (one add per FP-add
 * latency), which is acceptable for a path that x86-64 hardware of the last decade
 * never selects by itself.
 *
 * Contract: see distance.h (dim >= 1, unaligned rows allowed, never allocates).
 */
#include "simd/distance.h"

static float dot_scalar(const float *a, const float *b, size_t dim) {
    float s = 0.0f;
    for (size_t i = 0; i < dim; i++) s += a[i] * b[i];
    return s;
}

static float l2sq_scalar(const float *a, const float *b, size_t dim) {
    float s = 0.0f;
    for (size_t i = 0; i < dim; i++) {
        float d = a[i] - b[i];
        s += d * d;
    }
    return s;
}

static float norm_sq_scalar(const float *a, const float *b, size_t dim) {
    (void)b;
    float s = 0.0f;
    for (size_t i = 0; i < dim; i++) s += a[i] * a[i];
    return s;
}

static void dot_rows_scalar(const float *q, const float *base, size_t n, size_t dim,
                            float *out) {
    for (size_t i = 0; i < n; i++) out[i] = dot_scalar(q, base + i * dim, dim);
}

static void negl2_rows_scalar(const float *q, const float *base, size_t n, size_t dim,
                              float *out) {
    for (size_t i = 0; i < n; i++) out[i] = -l2sq_scalar(q, base + i * dim, dim);
}

const vs__dist_ops vs__dist_scalar = {
    .name = "scalar",
    .dot = dot_scalar,
    .l2sq = l2sq_scalar,
    .dot_rows = dot_rows_scalar,
    .negl2_rows = negl2_rows_scalar,
    .norm_sq = norm_sq_scalar,
};
