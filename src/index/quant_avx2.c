/*
 * quant_avx2.c — AVX2 quantization kernels.
 *
 * Compiled with -mavx2 -mpopcnt -O3 -ffp-contract=off (CMakeLists.txt); reached only
 * through the vs__quant_avx2 table, which quant.c hands out after
 * __builtin_cpu_supports() confirmed avx2 and popcnt.
 *
 * Every kernel must return the same bits as quant_scalar.c:
 *   cols     vectorises across the columns (centroids or points), never across the
 *            summed index, so each lane performs the scalar loop's operations in the
 *            scalar loop's order; multiply and add stay separate (no FMA: the file is
 *            built without -mfma and with -ffp-contract=off).
 *   argmin   finds the minimum value, then the first index holding it.
 *   pq_rows  table lookups summed per row in sub-quantizer order, eight rows in
 *            flight so that their add chains overlap. Two loads per lookup (code byte,
 *            table entry): ~0.65 cycles, bound by the load ports (2.9 ns/row at m = 16
 *            on the dev box). Tried and no faster: four rows (2.9-3.0), 12 and 16 rows
 *            (3.2-3.9), reading 8 code bytes at once and shifting them out (3.2-3.5);
 *            AVX-512 gathers were 2x slower (quant_avx512.c).
 *   i8_rows  exact integers: codes widened u8 -> i16 (VPMOVZXBW) and multiplied with
 *            the int16 query by VPMADDWD (pairs summed into int32: 2 * 255 * 32767
 *            < 2^31, and the caller keeps every partial sum in range); rows are
 *            prefetched 4 KB ahead (measurements in quant_avx512.c).
 *   bin_rows POPCNT on 64-bit words.
 */
#include <immintrin.h>
#include <string.h>

#include "index/quant.h"

#define VS_AI static inline __attribute__((always_inline))

/* ------------------------------------------------------------------- cols -- */

VS_AI __m256 col_step(__m256 acc, __m256 xj, __m256 t, int l2) {
    if (l2) {
        __m256 v = _mm256_sub_ps(xj, t);
        return _mm256_add_ps(acc, _mm256_mul_ps(v, v));
    }
    return _mm256_add_ps(acc, _mm256_mul_ps(xj, t));
}

VS_AI void cols_impl(const float *x, const float *t, size_t d, size_t ncols, size_t ld,
                     float *out, const int l2) {
    size_t k = 0;
    /* 32 columns at a time: four independent add chains per summed index. */
    for (; k + 32 <= ncols; k += 32) {
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (size_t j = 0; j < d; j++) {
            const __m256 xj = _mm256_set1_ps(x[j]);
            const float *tj = t + j * ld + k;
            a0 = col_step(a0, xj, _mm256_loadu_ps(tj), l2);
            a1 = col_step(a1, xj, _mm256_loadu_ps(tj + 8), l2);
            a2 = col_step(a2, xj, _mm256_loadu_ps(tj + 16), l2);
            a3 = col_step(a3, xj, _mm256_loadu_ps(tj + 24), l2);
        }
        _mm256_storeu_ps(out + k, a0);
        _mm256_storeu_ps(out + k + 8, a1);
        _mm256_storeu_ps(out + k + 16, a2);
        _mm256_storeu_ps(out + k + 24, a3);
    }
    for (; k + 8 <= ncols; k += 8) {
        __m256 a0 = _mm256_setzero_ps();
        for (size_t j = 0; j < d; j++)
            a0 = col_step(a0, _mm256_set1_ps(x[j]), _mm256_loadu_ps(t + j * ld + k), l2);
        _mm256_storeu_ps(out + k, a0);
    }
    for (; k < ncols; k++) {
        float s = 0.0f;
        for (size_t j = 0; j < d; j++) {
            if (l2) {
                float v = x[j] - t[j * ld + k];
                s = s + v * v;
            } else {
                s = s + x[j] * t[j * ld + k];
            }
        }
        out[k] = s;
    }
}

static void cols_avx2(const float *x, const float *t, size_t d, size_t ncols, size_t ld,
                      int l2, float *out) {
    if (l2)
        cols_impl(x, t, d, ncols, ld, out, 1);
    else
        cols_impl(x, t, d, ncols, ld, out, 0);
}

/* ----------------------------------------------------------------- argmin -- */

static size_t argmin_avx2(const float *d, size_t n) {
    size_t k = 0;
    float best = d[0];
    if (n >= 8) {
        __m256 m = _mm256_loadu_ps(d);
        for (k = 8; k + 8 <= n; k += 8) m = _mm256_min_ps(m, _mm256_loadu_ps(d + k));
        __m128 h = _mm_min_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        h = _mm_min_ps(h, _mm_movehl_ps(h, h));
        h = _mm_min_ss(h, _mm_movehdup_ps(h));
        best = _mm_cvtss_f32(h);
    }
    for (; k < n; k++)
        if (d[k] < best) best = d[k];
    const __m256 b = _mm256_set1_ps(best);
    for (k = 0; k + 8 <= n; k += 8) {
        int mask = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(d + k), b, _CMP_EQ_OQ));
        if (mask) return k + (size_t)__builtin_ctz((unsigned)mask);
    }
    for (; k < n; k++)
        if (d[k] == best) return k;
    return 0; /* not reached for finite input */
}

/* ---------------------------------------------------------------- pq_rows -- */

/* Rows in flight. Each row's sum is a chain of dependent adds (the order is part of
 * the contract), so several rows are interleaved; the adds are _mm_add_ss on purpose:
 * written as float adds GCC's SLP vectoriser packs the rows into one ymm through
 * vinsertps and register spills, 1.5x slower. See the header for the measurements. */
#define PQ_ROWS 8

static void pq_rows_avx2(const float *table, const uint8_t *codes, size_t n, size_t m,
                         float *out) {
    size_t i = 0;
    for (; i + PQ_ROWS <= n; i += PQ_ROWS) {
        const uint8_t *c = codes + i * m;
        __m128 s[PQ_ROWS];
#pragma GCC unroll 8
        for (int r = 0; r < PQ_ROWS; r++) s[r] = _mm_setzero_ps();
        for (size_t j = 0; j < m; j++) {
            const float *tj = table + j * 256;
#pragma GCC unroll 8
            for (int r = 0; r < PQ_ROWS; r++)
                s[r] = _mm_add_ss(s[r], _mm_load_ss(tj + c[r * m + j]));
        }
#pragma GCC unroll 8
        for (int r = 0; r < PQ_ROWS; r++) out[i + r] = _mm_cvtss_f32(s[r]);
    }
    for (; i < n; i++) {
        const uint8_t *c = codes + i * m;
        float s1 = 0.0f;
        for (size_t j = 0; j < m; j++) s1 = s1 + table[j * 256 + c[j]];
        out[i] = s1;
    }
}

/* ---------------------------------------------------------------- i8_rows -- */

/* Software prefetch distance of the int8 kernel (see quant_avx512.c). */
#define PF_BYTES 4096

VS_AI int32_t hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

VS_AI __m256i i8_step(__m256i acc, const uint8_t *c, __m256i q) {
    __m256i x = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)c));
    return _mm256_add_epi32(acc, _mm256_madd_epi16(x, q));
}

static void i8_rows_avx2(const int16_t *q16, const uint8_t *codes, size_t n, size_t dim,
                         size_t stride, int32_t *out) {
    const size_t full = dim & ~(size_t)15;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const uint8_t *r0 = codes + i * stride, *r1 = r0 + stride, *r2 = r1 + stride,
                      *r3 = r2 + stride;
        for (size_t o = 0; o < 4 * stride; o += 64) /* as quant_avx512.c */
            _mm_prefetch((const char *)r0 + PF_BYTES + o, _MM_HINT_T0);
        __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
        for (size_t j = 0; j < full; j += 16) {
            __m256i q = _mm256_loadu_si256((const __m256i *)(q16 + j));
            a0 = i8_step(a0, r0 + j, q);
            a1 = i8_step(a1, r1 + j, q);
            a2 = i8_step(a2, r2 + j, q);
            a3 = i8_step(a3, r3 + j, q);
        }
        int32_t t0 = 0, t1 = 0, t2 = 0, t3 = 0;
        for (size_t j = full; j < dim; j++) {
            t0 += q16[j] * r0[j];
            t1 += q16[j] * r1[j];
            t2 += q16[j] * r2[j];
            t3 += q16[j] * r3[j];
        }
        out[i] = hsum_epi32(a0) + t0;
        out[i + 1] = hsum_epi32(a1) + t1;
        out[i + 2] = hsum_epi32(a2) + t2;
        out[i + 3] = hsum_epi32(a3) + t3;
    }
    for (; i < n; i++) {
        const uint8_t *r = codes + i * stride;
        __m256i a = _mm256_setzero_si256();
        for (size_t j = 0; j < full; j += 16)
            a = i8_step(a, r + j, _mm256_loadu_si256((const __m256i *)(q16 + j)));
        int32_t t = 0;
        for (size_t j = full; j < dim; j++) t += q16[j] * r[j];
        out[i] = hsum_epi32(a) + t;
    }
}

/* --------------------------------------------------------------- bin_rows -- */

static void bin_rows_avx2(const uint64_t *planes, size_t nplanes, const uint8_t *codes,
                          size_t n, size_t words, uint32_t *sums, uint32_t *pcs) {
    for (size_t i = 0; i < n; i++) {
        const uint8_t *c = codes + i * words * 8;
        uint64_t s = 0, pc = 0;
        for (size_t w = 0; w < words; w++) {
            uint64_t x;
            memcpy(&x, c + w * 8, 8);
            pc += (uint64_t)_mm_popcnt_u64(x);
            for (size_t b = 0; b < nplanes; b++)
                s += (uint64_t)_mm_popcnt_u64(planes[b * words + w] & x) << b;
        }
        sums[i] = (uint32_t)s;
        pcs[i] = (uint32_t)pc;
    }
}

const vs__quant_ops vs__quant_avx2 = {
    .name = "avx2",
    .cols = cols_avx2,
    .argmin = argmin_avx2,
    .pq_rows = pq_rows_avx2,
    .i8_rows = i8_rows_avx2,
    .bin_rows = bin_rows_avx2,
};
