/*
 * flat.c — the exact index: score every allowed row.
 *
 * Single queries stream the segment through the SIMD row kernels in blocks of
 * SCAN_BLOCK rows: 1024 × 128-d floats = 512 KiB per kernel call, while the 4 KiB score
 * buffer stays in L1 for the selection pass, which rejects most rows with one compare
 * against the heap's floor. Batches use sgemm on tiles of GEMM_ROWS rows ×
 * GEMM_QUERIES queries (a 2 MiB score tile) so each row block is read once per tile of
 * queries instead of once per query.
 */
#include <stdlib.h>

#include "index/index.h"
#include "simd/distance.h"
#include "util/alloc.h"

#define SCAN_BLOCK 1024
#define GEMM_ROWS 2048
#define GEMM_QUERIES 256

static void flat_search(const vs__segment *s, uint32_t slot, uint32_t fi, int kind,
                        const float *q, const uint64_t *allow, vs__topk *t,
                        vs__search_stats *st) {
    const vs__dist_ops *d = vs__dist();
    size_t dim = s->dims[fi];
    vs__dist_rows_fn fn = kind == VS__SCORE_NEGL2 ? d->negl2_rows : d->dot_rows;
    float buf[SCAN_BLOCK];
    for (size_t b = 0; b < s->rows; b += SCAN_BLOCK) {
        size_t n = s->rows - b < SCAN_BLOCK ? s->rows - b : SCAN_BLOCK;
        fn(q, s->vec[fi] + b * dim, n, dim, buf);
        for (size_t i = 0; i < n; i++) {
            if (buf[i] < t->floor || (t->n == t->k && buf[i] == t->floor)) continue;
            if (!vs__row_allowed(s, allow, b + i)) continue;
            vs__topk_push(t, buf[i], slot, (uint32_t)(b + i));
        }
    }
    if (st) {
        st->distances += s->rows;
        st->visited += s->rows;
    }
}

static int flat_search_batch(const vs__segment *s, uint32_t slot, uint32_t fi, int kind,
                             const float *qs, size_t nq, const uint64_t *allow, vs__topk *tops,
                             vs__search_stats *st, vs__err *e) {
    const vs__dist_ops *d = vs__dist();
    size_t dim = s->dims[fi];
    size_t qb = nq < GEMM_QUERIES ? nq : GEMM_QUERIES;
    float *scores = vs__malloc(qb * GEMM_ROWS * sizeof(float));
    float *norms = vs__malloc(GEMM_ROWS * sizeof(float));
    int rc = VS_OK;
    if (!scores || !norms) {
        rc = vs__errf(e, VS_ENOMEM, "out of memory for a batch of %zu queries", nq);
        goto done;
    }
    for (size_t b = 0; b < s->rows && !rc; b += GEMM_ROWS) {
        size_t n = s->rows - b < GEMM_ROWS ? s->rows - b : GEMM_ROWS;
        const float *base = s->vec[fi] + b * dim;
        /* ||x||² per row costs n·d flops against nq·n·d for the product: negligible. */
        if (kind == VS__SCORE_NEGL2)
            for (size_t i = 0; i < n; i++) norms[i] = d->norm_sq(base + i * dim, NULL, dim);
        for (size_t q0 = 0; q0 < nq; q0 += qb) {
            size_t m = nq - q0 < qb ? nq - q0 : qb;
            if (vs__dist_gemm(kind, qs + q0 * dim, m, base, n, dim,
                              kind == VS__SCORE_NEGL2 ? norms : NULL, scores, n) != 0) {
                rc = vs__errf(e, VS_ENOMEM, "out of memory in sgemm");
                break;
            }
            for (size_t qi = 0; qi < m; qi++) {
                vs__topk *t = &tops[q0 + qi];
                const float *row = scores + qi * n;
                for (size_t i = 0; i < n; i++) {
                    if (row[i] < t->floor || (t->n == t->k && row[i] == t->floor)) continue;
                    if (!vs__row_allowed(s, allow, b + i)) continue;
                    vs__topk_push(t, row[i], slot, (uint32_t)(b + i));
                }
            }
        }
    }
    if (st) {
        st->distances += (uint64_t)s->rows * nq;
        st->visited += (uint64_t)s->rows * nq;
    }
done:
    vs__free(scores);
    vs__free(norms);
    return rc;
}

const vs__index_ops vs__index_flat = {"flat", flat_search, flat_search_batch};

const vs__index_ops *vs__index_for(const vs__segment *s, uint32_t fi) {
    (void)s;
    (void)fi;
    return &vs__index_flat;
}
