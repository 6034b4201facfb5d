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
 * BLOCKING
 *   The l2 correction is a second pass over the output, and OpenBLAS with beta = 0
 *   first clears C in a pass of its own. Over the whole nq x n matrix (4 GB for 1000 x
 *   1M) both passes go to DRAM; done per block of BLOCK_Q x BLOCK_N scores (sized to
 *   stay in L2) they are cache hits. BLOCK_MEASURE
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
 *   kernel, about 1.6x faster on this machine (bench/bench_kernels prints the core
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

#include "simd/distance.h"
#include "util/alloc.h"

/* Scores per block: BLOCK_Q x BLOCK_N floats = 1 MB, half of a Zen 5 core's L2. */
#define BLOCK_Q 256
#define BLOCK_N 1024

static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }

static void negl2_fix(float *out, size_t ld_out, size_t nq, size_t n, const float *qn,
                      const float *rn) {
    for (size_t i = 0; i < nq; i++) {
        float *o = out + i * ld_out;
        const float qi = qn[i];
        for (size_t j = 0; j < n; j++) {
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

    /* BLAS takes int sizes. dim <= VS_DIM_MAX fits; an ld_out beyond INT_MAX can only
     * be honoured one query (one output row) at a time. */
    const size_t bq = ld_out > (size_t)INT_MAX ? 1 : BLOCK_Q;
    const float alpha = l2 ? 2.0f : 1.0f;
    for (size_t j0 = 0; j0 < n; j0 += BLOCK_N) {
        const size_t nb = min_sz(BLOCK_N, n - j0);
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
