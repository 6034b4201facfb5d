/*
 * distance_avx2.c — AVX2+FMA distance kernels.
 *
 * Compiled with -mavx2 -mfma -O3 (CMakeLists.txt). Reached only through the
 * vs__dist_avx2 table, which distance.c hands out only after __builtin_cpu_supports()
 * confirmed both avx2 and fma.
 *
 * The row kernels follow the same plan as distance_avx512.c (read its header for the
 * reasoning): ROWS rows per iteration with independent accumulators so that the loads
 * of different rows overlap, one horizontal sum per row done four rows at a time, and
 * for dim < 136 the dimension loop is instantiated per chunk count so that it is fully
 * unrolled, with software prefetch ahead (PF_BYTES). With 16 ymm registers the query
 * cannot stay in registers at the dimensions that matter, so each block reloads its
 * chunks from L1: one load next to four row loads that miss, hidden behind them.
 *
 * The last dim % 8 elements (at most 7; GCC vectorises that loop across the four rows)
 * are done in scalar code into a separate float per row that is added after the vector
 * sum. Summation order therefore differs from the scalar oracle; results agree with it
 * to rounding.
 */
#include <immintrin.h>

#include "simd/distance.h"

#define VS_AI static inline __attribute__((always_inline))

#define ROWS 4

/* Software prefetch distance for dim < 136 (the instantiated paths), as in
 * distance_avx512.c. bench/bench_kernels, 1M x 128, % of the streaming read bandwidth,
 * best of 15, three runs each:
 *   PF_BYTES    0: dot_rows 86-93 %, negl2_rows 59-64 %
 *   PF_BYTES 4096: dot_rows 87-92 %, negl2_rows 90-93 % */
#ifndef PF_BYTES
#define PF_BYTES 4096
#endif

VS_AI __m256 step(__m256 acc, __m256 x, __m256 q, int l2) {
    if (l2) {
        __m256 d = _mm256_sub_ps(x, q);
        return _mm256_fmadd_ps(d, d, acc);
    }
    return _mm256_fmadd_ps(x, q, acc);
}

VS_AI float step1(float acc, float x, float q, int l2) {
    if (l2) {
        float d = x - q;
        return acc + d * d;
    }
    return acc + x * q;
}

VS_AI float hsum(__m256 a) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* [sum(a0), sum(a1), sum(a2), sum(a3)]. */
VS_AI __m128 hsum4(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
    __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

/* ------------------------------------------------------------ pair kernels -- */

VS_AI float pair(const float *a, const float *b, size_t dim, int l2) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    __m256 s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    size_t j = 0;
    for (; j + 32 <= dim; j += 32) {
        s0 = step(s0, _mm256_loadu_ps(a + j), _mm256_loadu_ps(b + j), l2);
        s1 = step(s1, _mm256_loadu_ps(a + j + 8), _mm256_loadu_ps(b + j + 8), l2);
        s2 = step(s2, _mm256_loadu_ps(a + j + 16), _mm256_loadu_ps(b + j + 16), l2);
        s3 = step(s3, _mm256_loadu_ps(a + j + 24), _mm256_loadu_ps(b + j + 24), l2);
    }
    for (; j + 8 <= dim; j += 8)
        s0 = step(s0, _mm256_loadu_ps(a + j), _mm256_loadu_ps(b + j), l2);
    float t = 0.0f;
    for (; j < dim; j++) t = step1(t, a[j], b[j], l2);
    return hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3))) + t;
}

static float dot_avx2(const float *a, const float *b, size_t dim) { return pair(a, b, dim, 0); }
static float l2sq_avx2(const float *a, const float *b, size_t dim) { return pair(a, b, dim, 1); }
static float norm_sq_avx2(const float *a, const float *b, size_t dim) {
    (void)b;
    return pair(a, a, dim, 0);
}

/* ---------------------------------------------------------------- row kernels -- */

/* NV = dim / 8 when it is a compile-time constant (0..16 after inlining), or -1 for a
 * run-time loop over the full chunks. */
VS_AI void rows(const float *q, const float *base, size_t n, size_t dim, float *out,
                const int NV, const int l2) {
    const size_t full = NV >= 0 ? 8 * (size_t)NV : (dim & ~(size_t)7);
    const float sign = l2 ? -1.0f : 1.0f;
    size_t i = 0;
    for (; i + ROWS <= n; i += ROWS) {
        const float *r0 = base + i * dim, *r1 = r0 + dim, *r2 = r1 + dim, *r3 = r2 + dim;
        /* See distance_avx512.c: keeps GCC from one offset register per load. */
        __asm__("" : "+r"(r1), "+r"(r2), "+r"(r3));
#if PF_BYTES > 0
        if (NV >= 0) {
            /* A constant trip count (ROWS * (8 NV + 7) floats >= ROWS * dim), unrolled. */
            const char *p = (const char *)r0 + PF_BYTES;
#pragma GCC unroll 64
            for (size_t o = 0; o < ROWS * (8 * (size_t)NV + 7) * sizeof(float); o += 64)
                _mm_prefetch(p + o, _MM_HINT_T0);
        } else if (dim <= 256) { /* 200, 256 dims: +35 % (25 -> 34 GB/s) */
            const char *p = (const char *)r0 + PF_BYTES;
            for (size_t o = 0; o < ROWS * dim * sizeof(float); o += 64)
                _mm_prefetch(p + o, _MM_HINT_T0);
        }
#endif
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
#pragma GCC unroll 16
        for (size_t j = 0; j < full; j += 8) {
            __m256 qj = _mm256_loadu_ps(q + j);
            a0 = step(a0, _mm256_loadu_ps(r0 + j), qj, l2);
            a1 = step(a1, _mm256_loadu_ps(r1 + j), qj, l2);
            a2 = step(a2, _mm256_loadu_ps(r2 + j), qj, l2);
            a3 = step(a3, _mm256_loadu_ps(r3 + j), qj, l2);
        }
        float t0 = 0.0f, t1 = 0.0f, t2 = 0.0f, t3 = 0.0f;
        /* Counting to dim & 7 (not to dim) tells GCC the loop is short; otherwise it
         * vectorises it into a large never-taken path. */
        for (size_t j = 0; j < (dim & 7); j++) {
            t0 = step1(t0, r0[full + j], q[full + j], l2);
            t1 = step1(t1, r1[full + j], q[full + j], l2);
            t2 = step1(t2, r2[full + j], q[full + j], l2);
            t3 = step1(t3, r3[full + j], q[full + j], l2);
        }
        __m128 s = _mm_add_ps(hsum4(a0, a1, a2, a3), _mm_setr_ps(t0, t1, t2, t3));
        if (l2) s = _mm_sub_ps(_mm_setzero_ps(), s);
        _mm_storeu_ps(out + i, s);
    }
    for (; i < n; i++) out[i] = sign * pair(q, base + i * dim, dim, l2);
}

#define NV_LIST(X)                                                                     \
    X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14)    \
    X(15) X(16)

#define DEF_FIXED(nv)                                                                  \
    static void dot_rows_##nv(const float *q, const float *b, size_t n, size_t dim,    \
                              float *out) {                                            \
        rows(q, b, n, dim, out, nv, 0);                                                \
    }                                                                                  \
    static void negl2_rows_##nv(const float *q, const float *b, size_t n, size_t dim,  \
                                float *out) {                                          \
        rows(q, b, n, dim, out, nv, 1);                                                \
    }
NV_LIST(DEF_FIXED)

#define REF_DOT(nv) dot_rows_##nv,
#define REF_L2(nv) negl2_rows_##nv,
static const vs__dist_rows_fn g_dot_fixed[17] = {NV_LIST(REF_DOT)};
static const vs__dist_rows_fn g_l2_fixed[17] = {NV_LIST(REF_L2)};

static void dot_rows_avx2(const float *q, const float *base, size_t n, size_t dim,
                          float *out) {
    if (dim < 17 * 8)
        g_dot_fixed[dim / 8](q, base, n, dim, out);
    else
        rows(q, base, n, dim, out, -1, 0);
}

static void negl2_rows_avx2(const float *q, const float *base, size_t n, size_t dim,
                            float *out) {
    if (dim < 17 * 8)
        g_l2_fixed[dim / 8](q, base, n, dim, out);
    else
        rows(q, base, n, dim, out, -1, 1);
}

const vs__dist_ops vs__dist_avx2 = {
    .name = "avx2",
    .dot = dot_avx2,
    .l2sq = l2sq_avx2,
    .dot_rows = dot_rows_avx2,
    .negl2_rows = negl2_rows_avx2,
    .norm_sq = norm_sq_avx2,
};
