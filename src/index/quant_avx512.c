/*
 * quant_avx512.c — AVX-512 quantization kernels: two tables.
 *
 *   vs__quant_avx512     F + DQ + BW + VL (Skylake-SP, Cascade Lake, ...)
 *   vs__quant_avx512icl  the same plus VNNI and VPOPCNTDQ (Ice Lake, Sapphire Rapids,
 *                        Zen 4 and later): int8 dot products with VPDPWSSD and binary
 *                        popcounts with VPOPCNTQ.
 *
 * The file is compiled with -mavx512f -mavx512dq -mavx512bw -mavx512vl -mavx2 -mpopcnt
 * -O3 -ffp-contract=off (CMakeLists.txt); the functions that need VNNI or VPOPCNTDQ
 * carry __attribute__((target)) (ICL below) instead, so that nothing else in the file can pick
 * those instructions up. quant.c hands out each table only after
 * __builtin_cpu_supports() confirmed every feature it uses.
 *
 * Bit-identity with quant_scalar.c (see quant_avx2.c for the rules): cols vectorises
 * across columns with separate multiply and add; masked-off lanes load as 0 and are
 * never stored; integer kernels are exact.
 *
 * pq_rows is the scalar-load kernel of quant_avx2.c. AVX-512 gathers were tried (16
 * rows per block: one VPGATHERDD for 4 code bytes of each row, then one VGATHERDPS per
 * sub-quantizer, each lane summing its row in order) and lost: bench_quant, 20k and
 * 200k codes of 128 dims, dev box (AMD EPYC), ns per row, best of 5:
 *     m = 16: gather 5.8-6.0, loads 2.9      m = 32: 11.3-16.7 vs 5.7-6.0
 *     m = 64: 24.7-37.8 vs 12.5-15.4
 * The loads kernel is bound by the load ports (two loads per lookup, ~0.65 cycles).
 *
 * bin_rows_icl packs the rows of short codes (1, 2 or 4 words: dim <= 256) 8 / words to
 * a register; 200k x 128 cosine, ns per row: 1-bit query 1.1-1.5 against 2.9-3.2 with
 * one masked register per row, 4-bit 1.4 against 4.2-4.4 (POPCNT on words: 2.6 / 4.8).
 */
#include <immintrin.h>
#include <string.h>

#include "index/quant.h"

#define VS_AI static inline __attribute__((always_inline))
#define ICL __attribute__((target("avx512vnni,avx512vpopcntdq")))

/* ------------------------------------------------------------------- cols -- */

VS_AI __m512 col_step(__m512 acc, __m512 xj, __m512 t, int l2) {
    if (l2) {
        __m512 v = _mm512_sub_ps(xj, t);
        return _mm512_add_ps(acc, _mm512_mul_ps(v, v));
    }
    return _mm512_add_ps(acc, _mm512_mul_ps(xj, t));
}

VS_AI void cols_impl(const float *x, const float *t, size_t d, size_t ncols, size_t ld,
                     float *out, const int l2) {
    size_t k = 0;
    for (; k + 64 <= ncols; k += 64) {
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (size_t j = 0; j < d; j++) {
            const __m512 xj = _mm512_set1_ps(x[j]);
            const float *tj = t + j * ld + k;
            a0 = col_step(a0, xj, _mm512_loadu_ps(tj), l2);
            a1 = col_step(a1, xj, _mm512_loadu_ps(tj + 16), l2);
            a2 = col_step(a2, xj, _mm512_loadu_ps(tj + 32), l2);
            a3 = col_step(a3, xj, _mm512_loadu_ps(tj + 48), l2);
        }
        _mm512_storeu_ps(out + k, a0);
        _mm512_storeu_ps(out + k + 16, a1);
        _mm512_storeu_ps(out + k + 32, a2);
        _mm512_storeu_ps(out + k + 48, a3);
    }
    for (; k < ncols; k += 16) {
        const __mmask16 mk =
            ncols - k >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (ncols - k)) - 1u);
        __m512 a0 = _mm512_setzero_ps();
        for (size_t j = 0; j < d; j++)
            a0 = col_step(a0, _mm512_set1_ps(x[j]), _mm512_maskz_loadu_ps(mk, t + j * ld + k),
                          l2);
        _mm512_mask_storeu_ps(out + k, mk, a0);
    }
}

static void cols_avx512(const float *x, const float *t, size_t d, size_t ncols, size_t ld,
                        int l2, float *out) {
    if (l2)
        cols_impl(x, t, d, ncols, ld, out, 1);
    else
        cols_impl(x, t, d, ncols, ld, out, 0);
}

/* ----------------------------------------------------------------- argmin -- */

static size_t argmin_avx512(const float *d, size_t n) {
    const __m512 inf = _mm512_set1_ps(__builtin_inff());
    __m512 m = inf;
    size_t k = 0;
    for (; k + 16 <= n; k += 16) m = _mm512_min_ps(m, _mm512_loadu_ps(d + k));
    const __mmask16 tail = (__mmask16)((1u << (n - k)) - 1u);
    if (tail) m = _mm512_min_ps(m, _mm512_mask_loadu_ps(inf, tail, d + k));
    const __m512 b = _mm512_set1_ps(_mm512_reduce_min_ps(m));
    for (k = 0; k + 16 <= n; k += 16) {
        __mmask16 eq = _mm512_cmp_ps_mask(_mm512_loadu_ps(d + k), b, _CMP_EQ_OQ);
        if (eq) return k + (size_t)__builtin_ctz((unsigned)eq);
    }
    if (tail) {
        __mmask16 eq = _mm512_mask_cmp_ps_mask(tail, _mm512_maskz_loadu_ps(tail, d + k), b,
                                               _CMP_EQ_OQ);
        if (eq) return k + (size_t)__builtin_ctz((unsigned)eq);
    }
    return 0; /* not reached for finite input */
}

/* ---------------------------------------------------------------- pq_rows -- */

/* As quant_avx2.c (see there): eight rows in flight, scalar loads, _mm_add_ss. */
#define PQ_ROWS 8

static void pq_rows_avx512(const float *table, const uint8_t *codes, size_t n, size_t m,
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

/* Software prefetch of the rows PF_BYTES ahead, one per line (prefetches never fault),
 * for the int8 kernels of this file and quant_avx2.c. Without it the int8 scan read
 * its codes at half the bandwidth the float scan reaches, the more so the longer the
 * rows. bench_quant --no-pq, dev box, best of 3 alternating runs, ns per row for
 * icl / avx512 / avx2:
 *                            no prefetch         PF_BYTES 4096
 *   200k x 128, l2 (132 B)   4.5 / 4.8 / 5.9     4.0 / 4.2 / 4.5
 *   200k x 128, cos (128 B)  3.7 / 3.7 / 4.2     3.3 / 3.3 / 3.7
 *   50k x 1024, l2 (1028 B)  54 / 60 / 42        27 / 26 / 32    (38 GB/s)
 *   50k x 1024, cos          50 / 57 / 37        26 / 27 / 30
 * 4096 as in simd/distance_avx512.c; a trial run with 8192 was no better. */
#ifndef PF_BYTES
#define PF_BYTES 4096
#endif

VS_AI void prefetch_rows(const uint8_t *r, size_t bytes) {
#if PF_BYTES > 0
    for (size_t o = 0; o < bytes; o += 64) _mm_prefetch((const char *)r + PF_BYTES + o, _MM_HINT_T0);
#else
    (void)r;
    (void)bytes;
#endif
}

/* F/BW: widen 32 code bytes to int16 (VPMOVZXBW) and VPMADDWD with the int16 query. */
VS_AI __m512i i8w_load(const uint8_t *c, __mmask32 mk) {
    return _mm512_cvtepu8_epi16(_mm256_maskz_loadu_epi8(mk, c));
}

static void i8_rows_avx512(const int16_t *q16, const uint8_t *codes, size_t n, size_t dim,
                           size_t stride, int32_t *out) {
    const size_t full = dim & ~(size_t)31;
    const __mmask32 tm = (__mmask32)((1ull << (dim - full)) - 1u); /* 0 if none */
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const uint8_t *r0 = codes + i * stride, *r1 = r0 + stride, *r2 = r1 + stride,
                      *r3 = r2 + stride;
        prefetch_rows(r0, 4 * stride);
        __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
        for (size_t j = 0; j < full; j += 32) {
            __m512i q = _mm512_loadu_si512(q16 + j);
            a0 = _mm512_add_epi32(a0, _mm512_madd_epi16(i8w_load(r0 + j, ~(__mmask32)0), q));
            a1 = _mm512_add_epi32(a1, _mm512_madd_epi16(i8w_load(r1 + j, ~(__mmask32)0), q));
            a2 = _mm512_add_epi32(a2, _mm512_madd_epi16(i8w_load(r2 + j, ~(__mmask32)0), q));
            a3 = _mm512_add_epi32(a3, _mm512_madd_epi16(i8w_load(r3 + j, ~(__mmask32)0), q));
        }
        if (tm) {
            __m512i q = _mm512_loadu_si512(q16 + full); /* zero-padded */
            a0 = _mm512_add_epi32(a0, _mm512_madd_epi16(i8w_load(r0 + full, tm), q));
            a1 = _mm512_add_epi32(a1, _mm512_madd_epi16(i8w_load(r1 + full, tm), q));
            a2 = _mm512_add_epi32(a2, _mm512_madd_epi16(i8w_load(r2 + full, tm), q));
            a3 = _mm512_add_epi32(a3, _mm512_madd_epi16(i8w_load(r3 + full, tm), q));
        }
        out[i] = _mm512_reduce_add_epi32(a0);
        out[i + 1] = _mm512_reduce_add_epi32(a1);
        out[i + 2] = _mm512_reduce_add_epi32(a2);
        out[i + 3] = _mm512_reduce_add_epi32(a3);
    }
    for (; i < n; i++) {
        const uint8_t *r = codes + i * stride;
        __m512i a = _mm512_setzero_si512();
        for (size_t j = 0; j < full; j += 32)
            a = _mm512_add_epi32(
                a, _mm512_madd_epi16(i8w_load(r + j, ~(__mmask32)0), _mm512_loadu_si512(q16 + j)));
        if (tm)
            a = _mm512_add_epi32(
                a, _mm512_madd_epi16(i8w_load(r + full, tm), _mm512_loadu_si512(q16 + full)));
        out[i] = _mm512_reduce_add_epi32(a);
    }
}

/* VNNI: VPDPWSSD multiplies 32 pairs of int16 and adds each pair's sum into an int32
 * lane, the VPMADDWD + VPADDD of the F/BW kernel in one instruction. */
ICL static void i8_rows_icl(const int16_t *q16, const uint8_t *codes, size_t n, size_t dim,
                            size_t stride, int32_t *out) {
    const size_t full = dim & ~(size_t)31;
    const __mmask32 tm = (__mmask32)((1ull << (dim - full)) - 1u); /* 0 if none */
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const uint8_t *r0 = codes + i * stride, *r1 = r0 + stride, *r2 = r1 + stride,
                      *r3 = r2 + stride;
        prefetch_rows(r0, 4 * stride);
        __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
        for (size_t j = 0; j < full; j += 32) {
            __m512i q = _mm512_loadu_si512(q16 + j);
            a0 = _mm512_dpwssd_epi32(a0, i8w_load(r0 + j, ~(__mmask32)0), q);
            a1 = _mm512_dpwssd_epi32(a1, i8w_load(r1 + j, ~(__mmask32)0), q);
            a2 = _mm512_dpwssd_epi32(a2, i8w_load(r2 + j, ~(__mmask32)0), q);
            a3 = _mm512_dpwssd_epi32(a3, i8w_load(r3 + j, ~(__mmask32)0), q);
        }
        if (tm) {
            __m512i q = _mm512_loadu_si512(q16 + full); /* zero-padded */
            a0 = _mm512_dpwssd_epi32(a0, i8w_load(r0 + full, tm), q);
            a1 = _mm512_dpwssd_epi32(a1, i8w_load(r1 + full, tm), q);
            a2 = _mm512_dpwssd_epi32(a2, i8w_load(r2 + full, tm), q);
            a3 = _mm512_dpwssd_epi32(a3, i8w_load(r3 + full, tm), q);
        }
        out[i] = _mm512_reduce_add_epi32(a0);
        out[i + 1] = _mm512_reduce_add_epi32(a1);
        out[i + 2] = _mm512_reduce_add_epi32(a2);
        out[i + 3] = _mm512_reduce_add_epi32(a3);
    }
    for (; i < n; i++) {
        const uint8_t *r = codes + i * stride;
        __m512i a = _mm512_setzero_si512();
        for (size_t j = 0; j < full; j += 32)
            a = _mm512_dpwssd_epi32(a, i8w_load(r + j, ~(__mmask32)0), _mm512_loadu_si512(q16 + j));
        if (tm)
            a = _mm512_dpwssd_epi32(a, i8w_load(r + full, tm), _mm512_loadu_si512(q16 + full));
        out[i] = _mm512_reduce_add_epi32(a);
    }
}

/* --------------------------------------------------------------- bin_rows -- */

static void bin_rows_avx512(const uint64_t *planes, size_t nplanes, const uint8_t *codes,
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

/* VPOPCNTQ on 8 words at a time. Both results share one 64-bit lane: popcount(x) in the
 * low half, sum_b 2^b popcount(plane_b & x) in the high half (it is at most
 * 255 * 65536 < 2^32, and the low half at most 65536, so neither carries into the
 * other), so a row needs one horizontal sum. */
ICL static inline __m512i bin_lane(__m512i x, const __m512i *pat, size_t nplanes) {
    __m512i acc = _mm512_popcnt_epi64(x);
    for (size_t b = 0; b < nplanes; b++) {
        __m512i pc = _mm512_popcnt_epi64(_mm512_and_si512(pat[b], x));
        acc = _mm512_add_epi64(acc, _mm512_sll_epi64(pc, _mm_cvtsi32_si128((int)(32 + b))));
    }
    return acc;
}

/* Splits the packed lanes of v selected by `keep` (one per row, in order) into sums
 * (high halves) and pcs (low halves). */
ICL static inline void bin_store(__m512i v, __mmask8 keep, unsigned rows, uint32_t *sums,
                                 uint32_t *pcs) {
    v = _mm512_maskz_compress_epi64(keep, v);
    const __mmask8 st = (__mmask8)((1u << rows) - 1u);
    _mm256_mask_storeu_epi32(pcs, st, _mm512_cvtepi64_epi32(v));
    _mm256_mask_storeu_epi32(sums, st, _mm512_cvtepi64_epi32(_mm512_srli_epi64(v, 32)));
}

ICL static void bin_rows_icl(const uint64_t *planes, size_t nplanes, const uint8_t *codes,
                             size_t n, size_t words, uint32_t *sums, uint32_t *pcs) {
    size_t i = 0;
    if (words == 1 || words == 2 || words == 4) {
        /* Short codes (dim <= 256): 8 / words rows per register, the query planes
         * repeated to match, then the words of each row summed in-register. Per row
         * this is 4-8x fewer instructions than a masked register per row. */
        __m512i pat[VS_QUANT_BIN_QBITS_MAX];
        for (size_t b = 0; b < nplanes; b++) {
            const uint64_t *p = planes + b * words;
            pat[b] = words == 1   ? _mm512_set1_epi64((long long)p[0])
                     : words == 2 ? _mm512_broadcast_i64x2(_mm_loadu_si128((const __m128i *)p))
                                  : _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)p));
        }
        const unsigned rpz = (unsigned)(8 / words);
        for (; i + rpz <= n; i += rpz) {
            __m512i v = bin_lane(_mm512_loadu_si512(codes + i * words * 8), pat, nplanes);
            if (words >= 2) v = _mm512_add_epi64(v, _mm512_shuffle_epi32(v, _MM_PERM_BADC));
            if (words == 4)
                v = _mm512_add_epi64(v, _mm512_permutex_epi64(v, _MM_SHUFFLE(1, 0, 3, 2)));
            bin_store(v, words == 1 ? 0xFF : words == 2 ? 0x55 : 0x11, rpz, sums + i, pcs + i);
        }
    }
    for (; i < n; i++) {
        const uint8_t *c = codes + i * words * 8;
        __m512i acc = _mm512_setzero_si512();
        for (size_t w = 0; w < words; w += 8) {
            const __mmask8 mk =
                words - w >= 8 ? (__mmask8)0xFF : (__mmask8)((1u << (words - w)) - 1u);
            __m512i pat[VS_QUANT_BIN_QBITS_MAX];
            for (size_t b = 0; b < nplanes; b++)
                pat[b] = _mm512_maskz_loadu_epi64(mk, planes + b * words + w);
            acc = _mm512_add_epi64(acc, bin_lane(_mm512_maskz_loadu_epi64(mk, c + w * 8), pat,
                                                 nplanes));
        }
        uint64_t t = (uint64_t)_mm512_reduce_add_epi64(acc);
        sums[i] = (uint32_t)(t >> 32);
        pcs[i] = (uint32_t)t;
    }
}

const vs__quant_ops vs__quant_avx512 = {
    .name = "avx512",
    .cols = cols_avx512,
    .argmin = argmin_avx512,
    .pq_rows = pq_rows_avx512,
    .i8_rows = i8_rows_avx512,
    .bin_rows = bin_rows_avx512,
};

const vs__quant_ops vs__quant_avx512icl = {
    .name = "avx512icl",
    .cols = cols_avx512,
    .argmin = argmin_avx512,
    .pq_rows = pq_rows_avx512,
    .i8_rows = i8_rows_icl,
    .bin_rows = bin_rows_icl,
};
