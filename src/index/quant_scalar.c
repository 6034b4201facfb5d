/*
 * quant_scalar.c — the plain-C quantization kernels: the test oracle and the fallback.
 *
 * Every other build (quant_avx2.c, quant_avx512.c) must produce exactly what these
 * functions produce, bit for bit: the integer kernels (int8 code x int16 query dot products, popcounts)
 * are exact, and the float kernels define the summation order the vector builds keep
 * (each output summed in index order from 0.0f, multiply and add rounded separately).
 * That is why this file is compiled with -O3 -fno-tree-vectorize -ffp-contract=off
 * (CMakeLists.txt): the compiler may neither reorder the sums nor fuse them.
 *
 * Written to be obviously right rather than fast; CPUs without AVX2 and VS_SIMD=scalar
 * use it. Contract: see the kernels section of quant.h.
 */
#include <string.h>

#include "index/quant.h"

static void cols_scalar(const float *x, const float *t, size_t d, size_t ncols, size_t ld,
                        int l2, float *out) {
    for (size_t k = 0; k < ncols; k++) out[k] = 0.0f;
    for (size_t j = 0; j < d; j++) {
        const float xj = x[j], *tj = t + j * ld;
        if (l2) {
            for (size_t k = 0; k < ncols; k++) {
                float v = xj - tj[k];
                out[k] = out[k] + v * v;
            }
        } else {
            for (size_t k = 0; k < ncols; k++) out[k] = out[k] + xj * tj[k];
        }
    }
}

static size_t argmin_scalar(const float *d, size_t n) {
    size_t best = 0;
    for (size_t k = 1; k < n; k++)
        if (d[k] < d[best]) best = k;
    return best;
}

static void pq_rows_scalar(const float *table, const uint8_t *codes, size_t n, size_t m,
                           float *out) {
    for (size_t i = 0; i < n; i++) {
        const uint8_t *c = codes + i * m;
        float s = 0.0f;
        for (size_t j = 0; j < m; j++) s = s + table[j * 256 + c[j]];
        out[i] = s;
    }
}

static void i8_rows_scalar(const int16_t *q16, const uint8_t *codes, size_t n, size_t dim,
                           size_t stride, int32_t *out) {
    for (size_t i = 0; i < n; i++) {
        const uint8_t *c = codes + i * stride;
        int32_t s = 0;
        for (size_t j = 0; j < dim; j++) s += (int32_t)q16[j] * (int32_t)c[j];
        out[i] = s;
    }
}

static void bin_rows_scalar(const uint64_t *planes, size_t nplanes, const uint8_t *codes,
                            size_t n, size_t words, uint32_t *sums, uint32_t *pcs) {
    for (size_t i = 0; i < n; i++) {
        uint32_t s = 0, pc = 0;
        for (size_t w = 0; w < words; w++) {
            uint64_t x;
            memcpy(&x, codes + (i * words + w) * 8, 8); /* codes need not be aligned */
            pc += (uint32_t)__builtin_popcountll(x);
            for (size_t b = 0; b < nplanes; b++)
                s += (uint32_t)__builtin_popcountll(planes[b * words + w] & x) << b;
        }
        sums[i] = s;
        pcs[i] = pc;
    }
}

const vs__quant_ops vs__quant_scalar = {
    .name = "scalar",
    .cols = cols_scalar,
    .argmin = argmin_scalar,
    .pq_rows = pq_rows_scalar,
    .i8_rows = i8_rows_scalar,
    .bin_rows = bin_rows_scalar,
};
