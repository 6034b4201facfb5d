/*
 * hnsw_simd.c — the graph's distance kernel: one query against a list of rows by id.
 *
 * A graph walk scores the unvisited neighbours of a node, up to 2m scattered rows, one
 * expansion at a time; the build's neighbour selection (Algorithm 4) scores one row
 * against the rows already selected. Both are "q against rows[ids[0..n)]", so one
 * kernel serves them, with the distance "lower is nearer" (||q-x||^2, or -q.x).
 * Against a loop over the pair kernels of simd/distance.h it saves the indirect call and
 * the horizontal sum per row (four rows share one reduction, as in distance_avx512.c),
 * and the four rows' loads are independent, so their cache misses overlap.
 *
 * ISA: the AVX-512 and AVX2 functions carry target attributes (this file is compiled
 * with the portable flags; nothing here runs unless vs__hnsw_kern_for() was handed the
 * matching vs__dist() table, which distance.c gives out only after checking CPUID). So
 * VS_SIMD=scalar|avx2|avx512 forces these kernels along with the rest; the scalar
 * version loops over the scalar pair kernels (the oracle).
 *
 * Prefetch: the caller (hnsw.c) prefetches the rows while it gathers the ids; the
 * kernels add none.
 *
 * Measured: with the rows coming from DRAM the arithmetic hardly shows. On the 1M x 128
 * search of hnsw.c (same method), this kernel against a loop over the AVX-512 pair
 * kernel inside the same batched walk: 39.4k / 15.3k / 8.2k QPS against
 * 37.4k / 15.0k / 8.2k at ef = 16 / 64 / 192, i.e. 0-5 %. It is kept because it costs
 * nothing and matters more where the rows are cached (small segments, the build's
 * neighbour selection, whose rows were just read).
 */
#include <immintrin.h>

#include "index/hnsw_int.h"

#define AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")))
#define AVX2 __attribute__((target("avx2,fma")))
#define AI static inline __attribute__((always_inline))

/* ------------------------------------------------------------------ scalar -- */

static void sc_l2(const float *q, const float *base, size_t dim, const uint32_t *ids,
                  size_t n, float *out) {
    for (size_t i = 0; i < n; i++) out[i] = vs__dist_scalar.l2sq(q, base + (size_t)ids[i] * dim, dim);
}
static void sc_dot(const float *q, const float *base, size_t dim, const uint32_t *ids,
                   size_t n, float *out) {
    for (size_t i = 0; i < n; i++) out[i] = -vs__dist_scalar.dot(q, base + (size_t)ids[i] * dim, dim);
}
static const vs__hnsw_kern k_scalar = {"scalar", {sc_dot, sc_l2}};

#if defined(__x86_64__) || defined(__i386__)

/* ----------------------------------------------------------------- AVX-512 -- */

AI AVX512 __m512 s512(__m512 acc, __m512 x, __m512 q, int l2) {
    if (l2) {
        __m512 d = _mm512_sub_ps(x, q);
        return _mm512_fmadd_ps(d, d, acc);
    }
    return _mm512_fmadd_ps(x, q, acc);
}

/* [sum(a0), sum(a1), sum(a2), sum(a3)] */
AI AVX512 __m128 hsum4_512(__m512 a0, __m512 a1, __m512 a2, __m512 a3) {
    __m256 b0 = _mm256_add_ps(_mm512_castps512_ps256(a0), _mm512_extractf32x8_ps(a0, 1));
    __m256 b1 = _mm256_add_ps(_mm512_castps512_ps256(a1), _mm512_extractf32x8_ps(a1, 1));
    __m256 b2 = _mm256_add_ps(_mm512_castps512_ps256(a2), _mm512_extractf32x8_ps(a2, 1));
    __m256 b3 = _mm256_add_ps(_mm512_castps512_ps256(a3), _mm512_extractf32x8_ps(a3, 1));
    __m256 c01 = _mm256_hadd_ps(b0, b1); /* a0 a0 a1 a1 | a0 a0 a1 a1 */
    __m256 c23 = _mm256_hadd_ps(b2, b3);
    __m256 d = _mm256_hadd_ps(c01, c23); /* a0 a1 a2 a3 | a0 a1 a2 a3 */
    return _mm_add_ps(_mm256_castps256_ps128(d), _mm256_extractf128_ps(d, 1));
}

AI AVX512 void rows512(const float *q, const float *base, size_t dim, const uint32_t *ids,
                       size_t n, float *out, int l2) {
    const size_t full = dim & ~(size_t)15;
    const __mmask16 tm = (__mmask16)((1u << (dim & 15)) - 1u);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const float *r0 = base + (size_t)ids[i] * dim, *r1 = base + (size_t)ids[i + 1] * dim;
        const float *r2 = base + (size_t)ids[i + 2] * dim, *r3 = base + (size_t)ids[i + 3] * dim;
        __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
        __m512 a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
        size_t j = 0;
        for (; j < full; j += 16) {
            __m512 qv = _mm512_loadu_ps(q + j);
            a0 = s512(a0, _mm512_loadu_ps(r0 + j), qv, l2);
            a1 = s512(a1, _mm512_loadu_ps(r1 + j), qv, l2);
            a2 = s512(a2, _mm512_loadu_ps(r2 + j), qv, l2);
            a3 = s512(a3, _mm512_loadu_ps(r3 + j), qv, l2);
        }
        if (tm) {
            __m512 qv = _mm512_maskz_loadu_ps(tm, q + j);
            a0 = s512(a0, _mm512_maskz_loadu_ps(tm, r0 + j), qv, l2);
            a1 = s512(a1, _mm512_maskz_loadu_ps(tm, r1 + j), qv, l2);
            a2 = s512(a2, _mm512_maskz_loadu_ps(tm, r2 + j), qv, l2);
            a3 = s512(a3, _mm512_maskz_loadu_ps(tm, r3 + j), qv, l2);
        }
        __m128 s = hsum4_512(a0, a1, a2, a3);
        if (!l2) s = _mm_sub_ps(_mm_setzero_ps(), s);
        _mm_storeu_ps(out + i, s);
    }
    for (; i < n; i++) {
        const float *r = base + (size_t)ids[i] * dim;
        __m512 a = _mm512_setzero_ps(), b = _mm512_setzero_ps();
        size_t j = 0;
        for (; j + 32 <= full; j += 32) {
            a = s512(a, _mm512_loadu_ps(r + j), _mm512_loadu_ps(q + j), l2);
            b = s512(b, _mm512_loadu_ps(r + j + 16), _mm512_loadu_ps(q + j + 16), l2);
        }
        for (; j < full; j += 16) a = s512(a, _mm512_loadu_ps(r + j), _mm512_loadu_ps(q + j), l2);
        if (tm) a = s512(a, _mm512_maskz_loadu_ps(tm, r + j), _mm512_maskz_loadu_ps(tm, q + j), l2);
        float v = _mm512_reduce_add_ps(_mm512_add_ps(a, b));
        out[i] = l2 ? v : -v;
    }
}

static AVX512 void k512_l2(const float *q, const float *base, size_t dim, const uint32_t *ids,
                           size_t n, float *out) {
    rows512(q, base, dim, ids, n, out, 1);
}
static AVX512 void k512_dot(const float *q, const float *base, size_t dim,
                            const uint32_t *ids, size_t n, float *out) {
    rows512(q, base, dim, ids, n, out, 0);
}
static const vs__hnsw_kern k_avx512 = {"avx512", {k512_dot, k512_l2}};

/* -------------------------------------------------------------------- AVX2 -- */

AI AVX2 __m256 s256(__m256 acc, __m256 x, __m256 q, int l2) {
    if (l2) {
        __m256 d = _mm256_sub_ps(x, q);
        return _mm256_fmadd_ps(d, d, acc);
    }
    return _mm256_fmadd_ps(x, q, acc);
}

AI AVX2 __m128 hsum4_256(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
    __m256 c01 = _mm256_hadd_ps(a0, a1);
    __m256 c23 = _mm256_hadd_ps(a2, a3);
    __m256 d = _mm256_hadd_ps(c01, c23);
    return _mm_add_ps(_mm256_castps256_ps128(d), _mm256_extractf128_ps(d, 1));
}

AI AVX2 void rows256(const float *q, const float *base, size_t dim, const uint32_t *ids,
                     size_t n, float *out, int l2) {
    const size_t full = dim & ~(size_t)7;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const float *r[4] = {base + (size_t)ids[i] * dim, base + (size_t)ids[i + 1] * dim,
                             base + (size_t)ids[i + 2] * dim, base + (size_t)ids[i + 3] * dim};
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
        for (size_t j = 0; j < full; j += 8) {
            __m256 qv = _mm256_loadu_ps(q + j);
            a0 = s256(a0, _mm256_loadu_ps(r[0] + j), qv, l2);
            a1 = s256(a1, _mm256_loadu_ps(r[1] + j), qv, l2);
            a2 = s256(a2, _mm256_loadu_ps(r[2] + j), qv, l2);
            a3 = s256(a3, _mm256_loadu_ps(r[3] + j), qv, l2);
        }
        float t[4];
        _mm_storeu_ps(t, hsum4_256(a0, a1, a2, a3));
        for (int k = 0; k < 4; k++) {
            float v = t[k];
            for (size_t j = full; j < dim; j++) {
                float x = r[k][j] - q[j];
                v += l2 ? x * x : r[k][j] * q[j];
            }
            out[i + (size_t)k] = l2 ? v : -v;
        }
    }
    for (; i < n; i++) {
        const float *r = base + (size_t)ids[i] * dim;
        __m256 a = _mm256_setzero_ps(), b = _mm256_setzero_ps();
        size_t j = 0;
        for (; j + 16 <= full; j += 16) {
            a = s256(a, _mm256_loadu_ps(r + j), _mm256_loadu_ps(q + j), l2);
            b = s256(b, _mm256_loadu_ps(r + j + 8), _mm256_loadu_ps(q + j + 8), l2);
        }
        for (; j < full; j += 8) a = s256(a, _mm256_loadu_ps(r + j), _mm256_loadu_ps(q + j), l2);
        float t[4];
        _mm_storeu_ps(t, hsum4_256(_mm256_add_ps(a, b), _mm256_setzero_ps(),
                                   _mm256_setzero_ps(), _mm256_setzero_ps()));
        float v = t[0];
        for (; j < dim; j++) {
            float x = r[j] - q[j];
            v += l2 ? x * x : r[j] * q[j];
        }
        out[i] = l2 ? v : -v;
    }
}

static AVX2 void k256_l2(const float *q, const float *base, size_t dim, const uint32_t *ids,
                         size_t n, float *out) {
    rows256(q, base, dim, ids, n, out, 1);
}
static AVX2 void k256_dot(const float *q, const float *base, size_t dim, const uint32_t *ids,
                          size_t n, float *out) {
    rows256(q, base, dim, ids, n, out, 0);
}
static const vs__hnsw_kern k_avx2 = {"avx2", {k256_dot, k256_l2}};

#endif

const vs__hnsw_kern *vs__hnsw_kern_for(const vs__dist_ops *ops) {
#if defined(__x86_64__) || defined(__i386__)
    if (ops == &vs__dist_avx512) return &k_avx512;
    if (ops == &vs__dist_avx2) return &k_avx2;
#endif
    (void)ops;
    return &k_scalar;
}
