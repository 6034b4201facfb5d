/*
 * hnsw_index.c — a segment field's index (hnsw_index.h): graph + optional quantizer and
 * codes, their files, and the per-segment index interface (index.h) over them.
 *
 * A batch is a loop of single searches: a graph walk touches scattered rows, so there is
 * no shared block to amortise as sgemm does for the flat index. Scratch (the visited set
 * and heaps) is created once per query call and reused across segments and queries; so
 * is the prepared quantized query, re-created only when the next segment has another
 * quantizer.
 */
#define _GNU_SOURCE
#include "index/hnsw_index.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "index/index.h"
#include "os/file.h"
#include "util/alloc.h"

/* ------------------------------------------------------------ lifecycle -- */

void vs__hnsw_index_free(vs__hnsw_index *x) {
    if (!x) return;
    vs__hnsw_free(x->g);
    vs__quant_codes_close(&x->map);
    vs__free(x->owned);
    vs__quant_free(x->qz);
    vs__free(x);
}

size_t vs__hnsw_index_memory(const vs__hnsw_index *x) {
    if (!x) return 0;
    size_t b = sizeof *x + vs__hnsw_memory(x->g);
    if (x->qz) b += vs__quant_memory(x->qz) + x->n * x->code_size;
    return b;
}

/* Trains x's quantizer on base (n rows) and encodes every row into owned codes. */
static int quantize(vs__hnsw_index *x, const float *base, size_t n, size_t dim, int kind,
                    const vs__hnsw_index_params *p, vs__err *e) {
    vs__quant_params qp;
    vs__quant_params_init(&qp, p->quant, kind);
    qp.pq_m = p->pq_m;
    qp.seed = p->hnsw.seed;
    int rc = vs__quant_train(&qp, base, n, dim, &x->qz, e);
    if (rc) return rc;
    x->code_size = vs__quant_code_size(x->qz);
    size_t bytes;
    if (vs__mul_ok(n ? n : 1, x->code_size, &bytes) || !(x->owned = vs__malloc(bytes)))
        return vs__errf(e, VS_ENOMEM, "out of memory for %zu codes of %zu bytes", n, x->code_size);
    vs__quant_encode(x->qz, base, n, x->owned);
    x->codes = x->owned;
    return VS_OK;
}

int vs__hnsw_index_build(const float *base, size_t n, size_t dim, int kind,
                         const vs__hnsw_index_params *p, const uint64_t *skip,
                         vs__hnsw_index **out, vs__err *e) {
    *out = NULL;
    vs__hnsw_index *x = vs__calloc(1, sizeof *x);
    if (!x) return vs__errf(e, VS_ENOMEM, "out of memory for an index");
    x->n = n;
    int rc;
    /* Quantizer first: it is quick next to the graph, and bad parameters (which the
     * schema has already validated) fail before the long part. */
    if (p->quant != VS_QUANT_NONE && (rc = quantize(x, base, n, dim, kind, p, e))) goto fail;
    if ((rc = vs__hnsw_build(base, n, dim, kind, &p->hnsw, skip, &x->g, e))) goto fail;
    *out = x;
    return VS_OK;
fail:
    vs__hnsw_index_free(x);
    return rc;
}

int vs__hnsw_index_new_growing(size_t dim, int kind, const vs__hnsw_params *p,
                               vs__hnsw_index **out, vs__err *e) {
    *out = NULL;
    vs__hnsw_index *x = vs__calloc(1, sizeof *x);
    if (!x) return vs__errf(e, VS_ENOMEM, "out of memory for an index");
    int rc = vs__hnsw_new(dim, kind, p, &x->g, e);
    if (rc) {
        vs__free(x);
        return rc;
    }
    *out = x;
    return VS_OK;
}

int vs__hnsw_index_adopt(vs__hnsw_index *from, const float *base, size_t n, size_t dim, int kind,
                         const vs__hnsw_index_params *p, vs__hnsw_index **out, vs__err *e) {
    *out = NULL;
    if (vs__hnsw_rows(from->g) != n)
        return vs__errf(e, VS_EINVAL, "index adopt: graph holds %zu rows, segment %zu",
                        vs__hnsw_rows(from->g), n);
    vs__hnsw_index *x = vs__calloc(1, sizeof *x);
    if (!x) return vs__errf(e, VS_ENOMEM, "out of memory for an index");
    x->n = n;
    int rc;
    if (p->quant != VS_QUANT_NONE && (rc = quantize(x, base, n, dim, kind, p, e))) {
        vs__hnsw_index_free(x);
        return rc;
    }
    x->g = from->g;
    from->g = NULL;
    *out = x;
    return VS_OK;
}

/* ----------------------------------------------------------------- files -- */

static int file_path(char *buf, size_t cap, const char *dir, const char *stem, uint32_t f,
                     vs__err *e) {
    char name[32];
    snprintf(name, sizeof name, "%s-%u", stem, f);
    return vs__path_join(buf, cap, dir, name, e);
}

void vs__hnsw_index_unlink(const char *dir, uint32_t f) {
    static const char *const stems[] = {"hnsw", "quant", "qcodes"};
    for (size_t i = 0; i < sizeof stems / sizeof *stems; i++) {
        char path[4200];
        vs__err e;
        if (file_path(path, sizeof path, dir, stems[i], f, &e) == VS_OK)
            (void)vs__file_unlink(path, &e);
    }
}

int vs__hnsw_index_save(const vs__hnsw_index *x, const char *dir, uint32_t f, vs__err *e) {
    char path[4200];
    int rc;
    if (x->qz) {
        if ((rc = file_path(path, sizeof path, dir, "quant", f, e)) ||
            (rc = vs__quant_save(x->qz, path, e)) ||
            (rc = file_path(path, sizeof path, dir, "qcodes", f, e)) ||
            (rc = vs__quant_codes_save(x->qz, x->codes, x->n, path, e)))
            return rc;
    }
    if ((rc = file_path(path, sizeof path, dir, "hnsw", f, e))) return rc;
    return vs__hnsw_save(x->g, path, e);
}

int vs__hnsw_index_load(const char *dir, uint32_t f, size_t n, int quant, uint32_t pq_m,
                        vs__hnsw_index **out, vs__err *e) {
    *out = NULL;
    char path[4200];
    int rc;
    if ((rc = file_path(path, sizeof path, dir, "hnsw", f, e))) return rc;
    if (access(path, F_OK) != 0) return vs__errf(e, VS_ENOTFOUND, "%s: no index file", path);
    vs__hnsw_index *x = vs__calloc(1, sizeof *x);
    if (!x) return vs__errf(e, VS_ENOMEM, "out of memory loading %s", path);
    x->n = n;
    if ((rc = vs__hnsw_load(path, n, &x->g, e))) goto fail;
    if (quant != VS_QUANT_NONE) {
        if ((rc = file_path(path, sizeof path, dir, "quant", f, e)) ||
            (rc = vs__quant_load(path, &x->qz, e)))
            goto fail;
        if (vs__quant_type(x->qz) != quant ||
            (quant == VS_QUANT_PQ && vs__quant_code_size(x->qz) != pq_m)) {
            rc = vs__errf(e, VS_ECORRUPT, "%s: quantizer is %s with %zu-byte codes, the schema "
                          "asks for %s%s", path, vs__quant_type_name(vs__quant_type(x->qz)),
                          vs__quant_code_size(x->qz), vs__quant_type_name(quant),
                          quant == VS_QUANT_PQ ? " (pq_m differs)" : "");
            goto fail;
        }
        x->code_size = vs__quant_code_size(x->qz);
        if ((rc = file_path(path, sizeof path, dir, "qcodes", f, e)) ||
            (rc = vs__quant_codes_open(x->qz, path, &x->map, e)))
            goto fail;
        if (x->map.n != n) {
            rc = vs__errf(e, VS_ECORRUPT, "%s: %zu codes for a segment of %zu rows", path,
                          x->map.n, n);
            goto fail;
        }
        x->codes = x->map.codes;
    }
    *out = x;
    return VS_OK;
fail:
    /* With the graph file present, a missing companion is damage, not "not built". */
    if (rc == VS_ENOTFOUND) rc = e->rc = VS_ECORRUPT;
    vs__hnsw_index_free(x);
    return rc;
}

int vs__hnsw_index_validate(const vs__hnsw_index *x, vs__err *e) {
    int rc = vs__hnsw_validate(x->g, e);
    if (rc || !x->qz) return rc;
    if (!x->codes) return vs__errf(e, VS_ECORRUPT, "quantized index without codes");
    if (x->map.codes && x->map.n != x->n)
        return vs__errf(e, VS_ECORRUPT, "%zu codes for an index over %zu rows", x->map.n, x->n);
    return VS_OK;
}

/* ---------------------------------------------------------------- search -- */

void vs__search_ctx_init(vs__search_ctx *cx, uint32_t ef) {
    memset(cx, 0, sizeof *cx);
    cx->ef = ef;
}

void vs__search_ctx_release(vs__search_ctx *cx) {
    vs__hnsw_scratch_free(cx->scratch);
    vs__quant_query_free(cx->qq);
    cx->scratch = NULL;
    cx->qq = NULL;
    cx->qq_for = NULL;
}

static int quant_query_for(vs__search_ctx *cx, const vs__quant *qz, vs__err *e) {
    if (cx->qq && cx->qq_for == qz) return VS_OK;
    vs__quant_query_free(cx->qq);
    cx->qq = NULL;
    cx->qq_for = NULL;
    if (vs__quant_query_new(qz, &cx->qq, e)) return e->rc;
    cx->qq_for = qz;
    return VS_OK;
}

static int hnsw_search(const vs__segment *s, uint32_t slot, uint32_t fi, int kind,
                       const float *q, const uint64_t *allow, vs__topk *t, vs__search_ctx *cx,
                       vs__err *e) {
    const vs__hnsw_index *x = s->idx[fi].p;
    if (!cx->scratch && !(cx->scratch = vs__hnsw_scratch_new()))
        return vs__errf(e, VS_ENOMEM, "out of memory for search scratch");
    const uint64_t *del = allow ? NULL : s->del;
    size_t covered = 0;
    int rc;
    if (x->qz && cx->quant != VS__QUANT_IGNORE) {
        if ((rc = quant_query_for(cx, x->qz, e))) return rc;
        vs__quant_query_prepare(cx->qq, q);
        /* beam = max(ef, k x oversampling) */
        double os = cx->oversampling > 0 ? cx->oversampling : 1.0;
        double want = ceil((double)t->k * os);
        size_t ef = cx->ef;
        if (want > (double)ef) ef = want >= (double)VS_HNSW_EF_MAX ? VS_HNSW_EF_MAX : (size_t)want;
        size_t pool = (size_t)t->k * vs__quant_rescore_factor(vs__quant_type(x->qz));
        rc = vs__hnsw_search_quant(x->g, cx->qq, x->codes, x->code_size, s->vec[fi], s->dims[fi],
                                   kind, q, ef, cx->quant != VS__QUANT_NO_RESCORE, pool, allow,
                                   del, slot, t, cx->scratch, &cx->st, &covered);
    } else {
        rc = vs__hnsw_search(x->g, s->vec[fi], s->dims[fi], kind, q, cx->ef, allow, del, slot, t,
                             cx->scratch, &cx->st, &covered);
    }
    if (rc) return vs__errf(e, rc, "out of memory in graph search");
    /* Rows a growing graph does not cover yet are scored exactly: results stay complete. */
    if (covered < s->rows) vs__flat_scan(s, slot, fi, kind, q, allow, covered, s->rows, t, cx);
    return VS_OK;
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
