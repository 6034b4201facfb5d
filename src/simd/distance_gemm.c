/*
 * distance_gemm.c — scores many queries against many rows with one BLAS sgemm.
 *
 * For a batch of queries the row kernels would stream the rows once per query; sgemm
 * streams them once per block and does the arithmetic from cache, so above a handful
 * of queries it wins by a wide margin. out = Q · Xᵀ (row-major, Q is nq x dim, X is
 * n x dim); for l2 the identity ||q - x||² = ||q||² + ||x||² - 2 q·x gives
 *   score = 2 q·x - ||x||² - ||q||²
 * with the caller's precomputed row norms and query norms computed here (scratch from
 * vs__malloc: the only way this function fails).
 *
 * BLOCKING (measured, and not done)
 *   The l2 correction is a second pass over the output, so calling sgemm per block of
 *   scores small enough to stay in cache looks attractive. Measured on the Zen 5 dev box
 *   (1000 queries x 64K rows x 128 dims, output in 1000 x 16384 blocks as the engine
 *   consumes it, OPENBLAS_CORETYPE=SkylakeX, 1 thread, best of 10, GFLOP/s dot/negl2):
 *     one call per output block   198 / 163
 *     blocks of 1000 x 512        180 / 164
 *     blocks of 1000 x 1024       175 / 155
 *     blocks of 1000 x 2048       175 / 148
 *     blocks of  256 x 1024       172 / 156
 *   Every call re-packs the query block, and that costs sgemm more than the cached l2
 *   pass saves, so this makes one call (split only where BLAS's int sizes require).
 *   What did pay: the l2 pass in SSE (see negl2_fix).
 *
 * NUMERICS
 *   The identity cancels when q and x are close: the result carries an absolute error
 *   of a few ulps of ||q||² + ||x||², not of ||q - x||². A score that rounds above zero
 *   is clamped to 0 so that the engine's sqrt(-score) never sees a negative number.
 *   Exact l2 between near-duplicates needs the row kernels, not this.
 *
 * OPENBLAS ON ZEN 5
 *   OpenBLAS 0.3.21 (Debian 12) does not know Zen 5 and falls back to its Haswell
 *   (AVX2) kernels. Exporting OPENBLAS_CORETYPE=SkylakeX selects the AVX-512 sgemm
 *   kernel: 1000 x 1M x 128 dot went from 95 to 174 GFLOP/s single-threaded on the
 *   Zen 5 dev box (1.6-1.9x over several runs; bench/bench_kernels prints the core
 *   OpenBLAS chose and the GFLOP/s). The library never sets it: the variable is read
 *   when libopenblas is loaded, before any code of ours runs, and it is process-wide
 *   policy that belongs to the application.
 *
 * THREADS
 *   sgemm uses OpenBLAS's own thread pool (OPENBLAS_NUM_THREADS); this function holds
 *   no state and may be called from several threads at once.
 */
#include <cblas.h>
#include <limits.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "simd/distance.h"
#include "util/alloc.h"

/* Rows and queries per sgemm call: BLAS sizes are int. */
#define CHUNK ((size_t)INT_MAX)

static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }

/* out[i][j] = min(out[i][j] - rn[j] - qn[i], 0). SSE2 is part of x86-64, so it needs no
 * dispatch. GCC -O2 leaves the plain loop scalar, and then negl2 ran 15-25 % below dot
 * (1000 x 128K, SkylakeX, 1 thread: 135 vs 173 GFLOP/s; with SSE 150 vs 173). */
static void negl2_fix(float *out, size_t ld_out, size_t nq, size_t n, const float *qn,
                      const float *rn) {
    for (size_t i = 0; i < nq; i++) {
        float *o = out + i * ld_out;
        const float qi = qn[i];
        size_t j = 0;
#ifdef __SSE2__
        const __m128 vq = _mm_set1_ps(qi), zero = _mm_setzero_ps();
        for (; j + 4 <= n; j += 4) {
            __m128 v = _mm_sub_ps(_mm_sub_ps(_mm_loadu_ps(o + j), _mm_loadu_ps(rn + j)), vq);
            _mm_storeu_ps(o + j, _mm_min_ps(v, zero)); /* NaN -> 0, as below */
        }
#endif
        for (; j < n; j++) {
            float v = o[j] - rn[j] - qi;
            o[j] = v < 0.0f ? v : 0.0f;
        }
    }
}

int vs__dist_gemm(int kind, const float *queries, size_t nq, const float *base, size_t n,
                  size_t dim, const float *row_norms, float *out, size_t ld_out) {
    int rc = 0;
    float *qn = NULL;
    const int l2 = kind == VS__SCORE_NEGL2;
    if (nq == 0 || n == 0) goto done;

    if (l2) {
        size_t bytes;
        if (vs__mul_ok(nq, sizeof(float), &bytes) != 0 || !(qn = vs__malloc(bytes))) {
            rc = -1;
            goto done;
        }
        const vs__dist_ops *ops = vs__dist();
        for (size_t i = 0; i < nq; i++) qn[i] = ops->norm_sq(queries + i * dim, NULL, dim);
    }

    /* dim <= VS_DIM_MAX fits an int; an ld_out beyond INT_MAX can only be honoured one
     * query (one output row) at a time. */
    const size_t bq = ld_out > CHUNK ? 1 : CHUNK;
    const float alpha = l2 ? 2.0f : 1.0f;
    for (size_t j0 = 0; j0 < n; j0 += CHUNK) {
        const size_t nb = min_sz(CHUNK, n - j0);
        for (size_t i0 = 0; i0 < nq; i0 += bq) {
            const size_t qb = min_sz(bq, nq - i0);
            float *o = out + i0 * ld_out + j0;
            const int ldc = bq == 1 ? (int)nb : (int)ld_out;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)qb, (int)nb, (int)dim,
                        alpha, queries + i0 * dim, (int)dim, base + j0 * dim, (int)dim, 0.0f,
                        o, ldc);
            if (l2) negl2_fix(o, ld_out, qb, nb, qn + i0, row_norms + j0);
        }
    }

done:
    vs__free(qn);
    return rc;
}
