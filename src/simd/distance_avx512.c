/*
 * distance_avx512.c — AVX-512F distance kernels.
 *
 * Compiled with -mavx512f -mavx512dq -mavx512bw -mavx512vl -mavx2 -mfma -O3
 * (CMakeLists.txt). Nothing here may run before distance.c has checked the CPU: the
 * only way in is the vs__dist_avx512 table, which vs__dist_get()/vs__dist_init() hand
 * out only after __builtin_cpu_supports() said yes to all of those features.
 *
 * WHAT MATTERS
 *   A flat scan is one query against a long run of rows (1M x 128 floats = 512 MB), so
 *   the row kernels are limited by how fast one core can stream memory, not by
 *   arithmetic: at 128 dims a row is 8 loads and 8 FMAs, a few cycles of work for
 *   512 bytes that take several times longer to arrive from DRAM. The design keeps the
 *   core out of the way of the memory system:
 *   - Several rows per iteration (ROWS), each with its own accumulator, so the loads of
 *     different rows are independent and many cache misses are in flight at once, and
 *     no FMA chain waits on another row.
 *   - For dim <= 256 the query lives in registers (up to 16 zmm), loaded once per call:
 *     the per-dimension code is instantiated for every chunk count 1..16 so that all
 *     loops over the dimension are fully unrolled with constant offsets. A dimension
 *     that is not a multiple of 16 ends in one masked load; masked-off lanes do not
 *     fault, so a row that ends at the edge of a mapping is safe.
 *   - The horizontal sum is done once per row, and for four rows at a time (hsum4: 7
 *     shuffles and 4 adds for four rows instead of ~4 x 8 for four separate reductions).
 *   - Software prefetch a fixed distance ahead for dim <= 256: see PF_BYTES below for
 *     the measurements (it lifts negl2_rows from ~75 % to ~90 % of the streaming read
 *     bandwidth, and small dimensions by 3-4x).
 *
 * Summation order differs from the scalar oracle (16 lanes, then a tree), so results
 * agree with it to rounding, not bit for bit. Masked-off lanes load as 0.0f in both the
 * query and the row, so they add exactly nothing to either dot or l2.
 */
#include <immintrin.h>

#include "simd/distance.h"

#define VS_AI static inline __attribute__((always_inline))

/* Rows per iteration of the row kernels. */
#define ROWS 4

/* Software prefetch, dim <= 256 only: each block of rows prefetches the bytes PF_BYTES
 * ahead of it (about one memory latency at full bandwidth: 4 KB / 35 GB/s = 117 ns).
 * Measured with bench/bench_kernels on the Zen 5 dev box, 1M x 128, THP, best of 7
 * interleaved passes, three runs each, % of the plain streaming sum (the box is shared,
 * single figures move by 5-10 %):
 *   PF_BYTES     0: dot_rows  90-105 %, negl2_rows 73-80 %
 *   PF_BYTES  2048: dot_rows  95-104 %, negl2_rows 92-96 %
 *   PF_BYTES  4096: dot_rows  94-112 %, negl2_rows 91-104 %   <- chosen
 *   PF_BYTES  8192: dot_rows  93-98 %,  negl2_rows 88-95 %
 * At 4096, hints T1, T2 and NTA, and one prefetch per 128 bytes instead of per line,
 * were no better than T0 per line beyond that noise. negl2 has one more uop per load
 * than dot, so without prefetch fewer loads fit in the reorder window and the hardware
 * prefetcher alone does not keep enough misses in flight. At dim 1..16 prefetch is
 * worth 3-4x (dim 4: 2.8 -> 0.6 ns/row). For the generic path (dim > 256) it costs
 * instead: a block there is 4 x 1..6 KB of loads that already overlap, and the extra
 * prefetch uops cut dim 768/1536 from 37 to 29 GB/s; limited to dim <= 512 or 2048
 * it made 257..1536 no faster (29-36 GB/s either way). */
#ifndef PF_BYTES
#define PF_BYTES 4096
#endif

VS_AI __mmask16 tail_mask(size_t dim) {
    unsigned r = (unsigned)(dim & 15);
    return r ? (__mmask16)((1u << r) - 1u) : (__mmask16)0xFFFF;
}

/* [sum(a0), sum(a1), sum(a2), sum(a3)]. */
VS_AI __m128 hsum4(__m512 a0, __m512 a1, __m512 a2, __m512 a3) {
    /* 256-bit halves: u = [a0.l0+a0.l2, a0.l1+a0.l3, a1.l0+a1.l2, a1.l1+a1.l3] */
    __m512 u = _mm512_add_ps(_mm512_shuffle_f32x4(a0, a1, _MM_SHUFFLE(1, 0, 1, 0)),
                             _mm512_shuffle_f32x4(a0, a1, _MM_SHUFFLE(3, 2, 3, 2)));
    __m512 v = _mm512_add_ps(_mm512_shuffle_f32x4(a2, a3, _MM_SHUFFLE(1, 0, 1, 0)),
                             _mm512_shuffle_f32x4(a2, a3, _MM_SHUFFLE(3, 2, 3, 2)));
    /* 128-bit lane k of w holds the four partial sums of a_k */
    __m512 w = _mm512_add_ps(_mm512_shuffle_f32x4(u, v, _MM_SHUFFLE(2, 0, 2, 0)),
                             _mm512_shuffle_f32x4(u, v, _MM_SHUFFLE(3, 1, 3, 1)));
    w = _mm512_add_ps(w, _mm512_permute_ps(w, _MM_SHUFFLE(2, 3, 0, 1)));
    w = _mm512_add_ps(w, _mm512_permute_ps(w, _MM_SHUFFLE(1, 0, 3, 2)));
    const __m512i idx = _mm512_setr_epi32(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    return _mm512_castps512_ps128(_mm512_permutexvar_ps(idx, w));
}

VS_AI __m512 step(__m512 acc, __m512 x, __m512 q, int l2) {
    if (l2) {
        __m512 d = _mm512_sub_ps(x, q);
        return _mm512_fmadd_ps(d, d, acc);
    }
    return _mm512_fmadd_ps(x, q, acc);
}

/* bytes is a compile-time constant where it is called, so the loop unrolls into one
 * prefetch per line. Prefetches never fault, even past the end of the rows. */
VS_AI void prefetch_rows(const float *r, const size_t bytes) {
#if PF_BYTES > 0
    const char *p = (const char *)r + PF_BYTES;
#pragma GCC unroll 64
    for (size_t o = 0; o < bytes; o += 64) _mm_prefetch(p + o, _MM_HINT_T0);
#else
    (void)r;
    (void)bytes;
#endif
}

/* ------------------------------------------------------------ pair kernels -- */

VS_AI float pair(const float *a, const float *b, size_t dim, int l2) {
    /* Four accumulators hide the FMA latency on long vectors. */
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    __m512 s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
    size_t j = 0;
    for (; j + 64 <= dim; j += 64) {
        s0 = step(s0, _mm512_loadu_ps(a + j), _mm512_loadu_ps(b + j), l2);
        s1 = step(s1, _mm512_loadu_ps(a + j + 16), _mm512_loadu_ps(b + j + 16), l2);
        s2 = step(s2, _mm512_loadu_ps(a + j + 32), _mm512_loadu_ps(b + j + 32), l2);
        s3 = step(s3, _mm512_loadu_ps(a + j + 48), _mm512_loadu_ps(b + j + 48), l2);
    }
    for (; j + 16 <= dim; j += 16)
        s0 = step(s0, _mm512_loadu_ps(a + j), _mm512_loadu_ps(b + j), l2);
    if (j < dim) {
        __mmask16 m = tail_mask(dim);
        s1 = step(s1, _mm512_maskz_loadu_ps(m, a + j), _mm512_maskz_loadu_ps(m, b + j), l2);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

static float dot_avx512(const float *a, const float *b, size_t dim) { return pair(a, b, dim, 0); }
static float l2sq_avx512(const float *a, const float *b, size_t dim) { return pair(a, b, dim, 1); }
static float norm_sq_avx512(const float *a, const float *b, size_t dim) {
    (void)b;
    return pair(a, a, dim, 0);
}

/* ----------------------------------------------------------- row kernels -- */

VS_AI void store4(float *out, __m512 a0, __m512 a1, __m512 a2, __m512 a3, int l2) {
    __m128 s = hsum4(a0, a1, a2, a3);
    if (l2) s = _mm_sub_ps(_mm_setzero_ps(), s);
    _mm_storeu_ps(out, s);
}

/* dim in (16*(NV-1), 16*NV], NV a compile-time constant 1..16 after inlining: the query
 * chunks stay in registers and every loop over the dimension is unrolled. */
VS_AI void rows_fixed(const float *q, const float *base, size_t n, size_t dim, float *out,
                      const int NV, const int l2) {
    const __mmask16 tm = tail_mask(dim);
    const float sign = l2 ? -1.0f : 1.0f;
    __m512 qv[16];
#pragma GCC unroll 16
    for (int k = 0; k < NV - 1; k++) qv[k] = _mm512_loadu_ps(q + 16 * k);
    qv[NV - 1] = _mm512_maskz_loadu_ps(tm, q + 16 * (NV - 1));

    size_t i = 0;
    for (; i + ROWS <= n; i += ROWS) {
        const float *r0 = base + i * dim, *r1 = r0 + dim, *r2 = r1 + dim, *r3 = r2 + dim;
        /* Hide how the four pointers relate: otherwise GCC's induction-variable pass
         * turns every r_m + 64k into a base plus a separate offset register and runs out
         * of registers (20+ spills to xmm per block at dim 128). */
        __asm__("" : "+r"(r1), "+r"(r2), "+r"(r3));
        prefetch_rows(r0, ROWS * 64 * (size_t)NV); /* covers ROWS * dim floats */
        __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
        __m512 a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
#pragma GCC unroll 16
        for (int k = 0; k < NV - 1; k++) {
            a0 = step(a0, _mm512_loadu_ps(r0 + 16 * k), qv[k], l2);
            a1 = step(a1, _mm512_loadu_ps(r1 + 16 * k), qv[k], l2);
            a2 = step(a2, _mm512_loadu_ps(r2 + 16 * k), qv[k], l2);
            a3 = step(a3, _mm512_loadu_ps(r3 + 16 * k), qv[k], l2);
        }
        const size_t t = 16 * (size_t)(NV - 1);
        a0 = step(a0, _mm512_maskz_loadu_ps(tm, r0 + t), qv[NV - 1], l2);
        a1 = step(a1, _mm512_maskz_loadu_ps(tm, r1 + t), qv[NV - 1], l2);
        a2 = step(a2, _mm512_maskz_loadu_ps(tm, r2 + t), qv[NV - 1], l2);
        a3 = step(a3, _mm512_maskz_loadu_ps(tm, r3 + t), qv[NV - 1], l2);
        store4(out + i, a0, a1, a2, a3, l2);
    }

    for (; i < n; i++) {
        const float *r = base + i * dim;
        __m512 a = _mm512_setzero_ps();
#pragma GCC unroll 16
        for (int k = 0; k < NV - 1; k++) a = step(a, _mm512_loadu_ps(r + 16 * k), qv[k], l2);
        a = step(a, _mm512_maskz_loadu_ps(tm, r + 16 * (NV - 1)), qv[NV - 1], l2);
        out[i] = sign * _mm512_reduce_add_ps(a);
    }
}

/* Any dim; the query chunks come from L1 each time, one extra load next to four row
 * loads that mostly miss. */
VS_AI void rows_any(const float *q, const float *base, size_t n, size_t dim, float *out,
                    const int l2) {
    const __mmask16 tm = tail_mask(dim);
    const size_t full = dim & ~(size_t)15;
    const float sign = l2 ? -1.0f : 1.0f;
    size_t i = 0;
    for (; i + ROWS <= n; i += ROWS) {
        const float *r0 = base + i * dim, *r1 = r0 + dim, *r2 = r1 + dim, *r3 = r2 + dim;
        __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
        __m512 a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
        size_t j = 0;
        for (; j < full; j += 16) {
            __m512 qj = _mm512_loadu_ps(q + j);
            a0 = step(a0, _mm512_loadu_ps(r0 + j), qj, l2);
            a1 = step(a1, _mm512_loadu_ps(r1 + j), qj, l2);
            a2 = step(a2, _mm512_loadu_ps(r2 + j), qj, l2);
            a3 = step(a3, _mm512_loadu_ps(r3 + j), qj, l2);
        }
        if (j < dim) {
            __m512 qj = _mm512_maskz_loadu_ps(tm, q + j);
            a0 = step(a0, _mm512_maskz_loadu_ps(tm, r0 + j), qj, l2);
            a1 = step(a1, _mm512_maskz_loadu_ps(tm, r1 + j), qj, l2);
            a2 = step(a2, _mm512_maskz_loadu_ps(tm, r2 + j), qj, l2);
            a3 = step(a3, _mm512_maskz_loadu_ps(tm, r3 + j), qj, l2);
        }
        store4(out + i, a0, a1, a2, a3, l2);
    }
    for (; i < n; i++) out[i] = sign * pair(q, base + i * dim, dim, l2);
}

/* One function per (chunk count, metric), picked from a table: one indirect call per
 * call of the kernel, not per row. */
#define NV_LIST(X)                                                                     \
    X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15) X(16)

#define DEF_FIXED(nv)                                                                  \
    static void dot_rows_##nv(const float *q, const float *b, size_t n, size_t dim,    \
                              float *out) {                                            \
        rows_fixed(q, b, n, dim, out, nv, 0);                                          \
    }                                                                                  \
    static void negl2_rows_##nv(const float *q, const float *b, size_t n, size_t dim,  \
                                float *out) {                                          \
        rows_fixed(q, b, n, dim, out, nv, 1);                                          \
    }
NV_LIST(DEF_FIXED)

#define REF_DOT(nv) dot_rows_##nv,
#define REF_L2(nv) negl2_rows_##nv,
static const vs__dist_rows_fn g_dot_fixed[16] = {NV_LIST(REF_DOT)};
static const vs__dist_rows_fn g_l2_fixed[16] = {NV_LIST(REF_L2)};

static void dot_rows_avx512(const float *q, const float *base, size_t n, size_t dim,
                            float *out) {
    if (dim <= 256)
        g_dot_fixed[(dim + 15) / 16 - 1](q, base, n, dim, out);
    else
        rows_any(q, base, n, dim, out, 0);
}

static void negl2_rows_avx512(const float *q, const float *base, size_t n, size_t dim,
                              float *out) {
    if (dim <= 256)
        g_l2_fixed[(dim + 15) / 16 - 1](q, base, n, dim, out);
    else
        rows_any(q, base, n, dim, out, 1);
}

const vs__dist_ops vs__dist_avx512 = {
    .name = "avx512",
    .dot = dot_avx512,
    .l2sq = l2sq_avx512,
    .dot_rows = dot_rows_avx512,
    .negl2_rows = negl2_rows_avx512,
    .norm_sq = norm_sq_avx512,
};
