/*
 * hnsw_index.c — the HNSW graph (index/hnsw.h) behind the per-segment index interface.
 *
 * A batch is a loop of single searches: a graph walk touches scattered rows, so there is
 * no shared block to amortise as sgemm does for the flat index. Scratch (the visited set
 * and heaps) is created once per query call and reused across segments and queries.
 */
#include "index/hnsw.h"
#include "index/index.h"

static int hnsw_search(const vs__segment *s, uint32_t slot, uint32_t fi, int kind,
                       const float *q, const uint64_t *allow, vs__topk *t, vs__search_ctx *cx,
                       vs__err *e) {
    if (!cx->scratch && !(cx->scratch = vs__hnsw_scratch_new()))
        return vs__errf(e, VS_ENOMEM, "out of memory for search scratch");
    int rc = vs__hnsw_search(s->idx[fi].p, s->vec[fi], s->dims[fi], kind, q, cx->ef, allow,
                             allow ? NULL : s->del, slot, t, cx->scratch, &cx->st);
    return rc ? vs__errf(e, rc, "out of memory in graph search") : VS_OK;
}

static int hnsw_search_batch(const vs__segment *s, uint32_t slot, uint32_t fi, int kind,
                             const float *qs, size_t nq, const uint64_t *allow, vs__topk *tops,
                             vs__search_ctx *cx, vs__err *e) {
    int rc = VS_OK;
    for (size_t i = 0; i < nq && !rc; i++)
        rc = hnsw_search(s, slot, fi, kind, qs + i * s->dims[fi], allow, &tops[i], cx, e);
    return rc;
}

const vs__index_ops vs__index_hnsw = {"hnsw", hnsw_search, hnsw_search_batch};
