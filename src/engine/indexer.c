/*
 * indexer.c — background index builds for sealed segments (see indexer.h).
 */
#define _GNU_SOURCE
#include "engine/indexer.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "index/hnsw_index.h"
#include "simd/distance.h"
#include "util/alloc.h"

static int wants_index(const vs__coll *c, const vs__segment *s, uint32_t f) {
    const vs_field_info *fld = &c->schema.fields[f];
    return fld->index == VS_INDEX_HNSW && !s->is_mutable && !s->idx[f].p &&
           s->rows - s->ndeleted >= fld->index_threshold && s->rows > 0;
}

static int seg_dir(char *buf, size_t cap, const vs__coll *c, const vs__segment *s) {
    return vs__seg_dirname(buf, cap, c->dir, s->id, NULL) ? -1 : 0;
}

static void free_index(void *p) { vs__hnsw_index_free(p); }

size_t vs__indexer_pending(vs__coll *c) {
    size_t n = 0;
    pthread_rwlock_rdlock(&c->lock);
    for (size_t i = 0; i < c->nsegs; i++)
        for (uint32_t f = 0; f < c->schema.nfields; f++) n += (size_t)wants_index(c, c->segs[i], f);
    pthread_rwlock_unlock(&c->lock);
    return n;
}

static int kind_of(const vs__coll *c, uint32_t f) {
    return c->schema.fields[f].metric == VS_METRIC_L2 ? VS__SCORE_NEGL2 : VS__SCORE_DOT;
}

int vs__indexer_build_one(vs__coll *c, vs__err *e) {
    pthread_mutex_lock(&c->compact_mu);
    vs__segment *s = NULL;
    uint32_t f = 0;
    uint64_t *skip = NULL;
    int rc = 0;
    pthread_rwlock_rdlock(&c->lock);
    for (size_t i = 0; i < c->nsegs && !s; i++)
        for (f = 0; f < c->schema.nfields; f++)
            if (wants_index(c, c->segs[i], f)) {
                s = c->segs[i];
                break;
            }
    if (s) {
        vs__seg_ref(s);
        /* Rows deleted now stay out of the graph; later deletes are skipped at search. */
        skip = vs__memdup(s->del, ((s->rows + 63) / 64) * 8);
    }
    pthread_rwlock_unlock(&c->lock);
    if (!s) goto done;
    if (!skip) {
        rc = vs__errf(e, VS_ENOMEM, "out of memory indexing segment %u", s->id);
        goto done;
    }
    const vs_field_info *fld = &c->schema.fields[f];
    vs__hnsw_index_params p = {{fld->hnsw_m, fld->hnsw_ef_construction, 0x9E3779B9ull ^ s->id, 0},
                               fld->quant, fld->pq_m};
    vs__hnsw_index *x = NULL;
    if ((rc = vs__hnsw_index_build(s->vec[f], s->rows, s->dims[f], kind_of(c, f), &p, skip, &x, e))) {
        vs__err_ctx(e, "indexing segment %u field '%s'", s->id, fld->name);
        goto done;
    }
    char dir[4200];
    if (!c->opt.read_only && seg_dir(dir, sizeof dir, c, s) == 0) {
        vs__err se;
        /* The index is derived data: if saving fails it is still used, and rebuilt on
         * the next open. */
        if (vs__hnsw_index_save(x, dir, f, &se)) vs__hnsw_index_unlink(dir, f);
    }
    pthread_rwlock_wrlock(&c->lock);
    int live = 0;
    for (size_t i = 0; i < c->nsegs; i++) live |= c->segs[i] == s;
    if (live && !s->idx[f].p) {
        s->idx[f] = (vs__seg_index){x, VS_INDEX_HNSW, free_index, vs__hnsw_index_memory(x)};
        x = NULL;
    }
    pthread_rwlock_unlock(&c->lock);
    vs__hnsw_index_free(x);
    rc = 1;
done:
    pthread_mutex_unlock(&c->compact_mu);
    vs__free(skip);
    vs__seg_unref(s);
    return rc;
}

void vs__indexer_load(vs__coll *c, vs__segment *s) {
    char dir[4200];
    if (seg_dir(dir, sizeof dir, c, s)) return;
    for (uint32_t f = 0; f < c->schema.nfields; f++) {
        const vs_field_info *fld = &c->schema.fields[f];
        if (fld->index != VS_INDEX_HNSW) continue;
        vs__hnsw_index *x;
        vs__err e;
        int rc = vs__hnsw_index_load(dir, f, s->rows, fld->quant, fld->pq_m, &x, &e);
        if (rc == VS_OK) {
            s->idx[f] = (vs__seg_index){x, VS_INDEX_HNSW, free_index, vs__hnsw_index_memory(x)};
            continue;
        }
        if (rc == VS_ENOTFOUND) continue; /* not built yet */
        c->bad_index_files++;
        snprintf(c->bad_index_msg, sizeof c->bad_index_msg, "%s", e.msg);
        if (!c->opt.read_only) vs__hnsw_index_unlink(dir, f); /* rebuilt by the indexer */
    }
}

int vs__indexer_validate(vs__coll *c, vs__err *e) {
    int rc = VS_OK;
    pthread_rwlock_rdlock(&c->lock);
    for (size_t i = 0; i < c->nsegs && !rc; i++)
        for (uint32_t f = 0; f < c->schema.nfields && !rc; f++)
            if (c->segs[i]->idx[f].p && (rc = vs__hnsw_index_validate(c->segs[i]->idx[f].p, e)))
                vs__err_ctx(e, "segment %u field %u index", c->segs[i]->id, f);
    pthread_rwlock_unlock(&c->lock);
    return rc;
}
