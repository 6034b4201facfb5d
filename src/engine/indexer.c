/*
 * indexer.c — background index builds for sealed segments (see indexer.h).
 */
#define _GNU_SOURCE
#include "engine/indexer.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "index/hnsw_index.h"
#include "simd/distance.h"
#include "util/alloc.h"

/* A sealed segment's field wants the indexer: no index yet (and enough live rows), or
 * a partial one handed over by a flush. */
static int wants_index(const vs__coll *c, const vs__segment *s, uint32_t f) {
    const vs_field_info *fld = &c->schema.fields[f];
    if (fld->index != VS_INDEX_HNSW || s->is_mutable) return 0;
    if (s->idx[f].p) return s->idx[f].partial;
    return s->rows - s->ndeleted >= fld->index_threshold && s->rows > 0;
}

/* The mutable segment's field wants rows inserted into its graph (or a graph). */
static int mutable_wants(const vs__coll *c, const vs__segment *m, uint32_t f) {
    const vs_field_info *fld = &c->schema.fields[f];
    if (fld->index != VS_INDEX_HNSW) return 0;
    const vs__hnsw_index *x = m->idx[f].p;
    if (x) return vs__hnsw_rows(x->g) < m->rows;
    return m->rows > 0 && m->rows - m->ndeleted >= fld->index_threshold;
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
    for (uint32_t f = 0; f < c->schema.nfields; f++) n += (size_t)mutable_wants(c, c->mut, f);
    pthread_rwlock_unlock(&c->lock);
    return n;
}

static vs__hnsw_index_params params_of(const vs__coll *c, uint32_t f, uint32_t seg_id) {
    const vs_field_info *fld = &c->schema.fields[f];
    /* The seed depends on the segment id alone, which the mutable segment keeps when it
     * is sealed: its growing graph and a bulk build of the same rows draw the same levels. */
    vs__hnsw_index_params p = {{fld->hnsw_m, fld->hnsw_ef_construction, 0x9E3779B9ull ^ seg_id, 0},
                               fld->quant, fld->pq_m};
    return p;
}

static int kind_of(const vs__coll *c, uint32_t f) {
    return c->schema.fields[f].metric == VS_METRIC_L2 ? VS__SCORE_NEGL2 : VS__SCORE_DOT;
}

/* Completes the partial index x of sealed segment s (handed over by a flush): room
 * for every row, the missing rows inserted with all cores (searches go on meanwhile,
 * scoring the rows not yet covered exactly), reachability repaired, then quantized.
 * On success *out is the finished index and owns the graph (x->g is NULL). */
static int complete(vs__coll *c, vs__segment *s, uint32_t f, vs__hnsw_index *x,
                    vs__hnsw_index **out, vs__err *e) {
    vs__hnsw_grow g;
    int rc = vs__hnsw_grow_prepare(x->g, s->rows, 1, NULL, &g, e);
    if (rc) return rc;
    if (g.ready) {
        pthread_rwlock_wrlock(&c->lock);
        vs__hnsw_grow_commit(x->g, &g);
        s->idx[f].bytes = vs__hnsw_index_memory(x);
        pthread_rwlock_unlock(&c->lock);
        vs__hnsw_grow_release(&g);
    }
    if ((rc = vs__hnsw_insert(x->g, s->vec[f], s->rows, 0, e)) || (rc = vs__hnsw_finish(x->g, s->vec[f], e)))
        return rc;
    vs__hnsw_index_params p = params_of(c, f, s->id);
    return vs__hnsw_index_adopt(x, s->vec[f], s->rows, s->dims[f], kind_of(c, f), &p, out, e);
}

int vs__indexer_build_one(vs__coll *c, vs__err *e) {
    pthread_mutex_lock(&c->compact_mu);
    vs__segment *s = NULL;
    vs__hnsw_index *partial = NULL;
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
        if (s->idx[f].p)
            partial = s->idx[f].p;
        else /* Rows deleted now stay out of the graph; later deletes are skipped at search. */
            skip = vs__memdup(s->del, ((s->rows + 63) / 64) * 8);
    }
    pthread_rwlock_unlock(&c->lock);
    if (!s) goto done;
    if (!partial && !skip) {
        rc = vs__errf(e, VS_ENOMEM, "out of memory indexing segment %u", s->id);
        goto done;
    }
    const vs_field_info *fld = &c->schema.fields[f];
    vs__hnsw_index_params p = params_of(c, f, s->id);
    vs__hnsw_index *x = NULL;
    if (partial)
        rc = complete(c, s, f, partial, &x, e);
    else
        rc = vs__hnsw_index_build(s->vec[f], s->rows, s->dims[f], kind_of(c, f), &p, skip, &x, e);
    if (rc) {
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
    if (live && s->idx[f].p == partial) {
        s->idx[f] = (vs__seg_index){x, VS_INDEX_HNSW, free_index, vs__hnsw_index_memory(x), 0};
        x = NULL;
    } else if (partial) {
        partial->g = x->g; /* give the graph back to the index that is still attached */
        x->g = NULL;
        partial = NULL;
    }
    pthread_rwlock_unlock(&c->lock);
    vs__hnsw_index_free(x);
    vs__hnsw_index_free(partial); /* replaced: its graph lives on in the new index */
    rc = 1;
done:
    pthread_mutex_unlock(&c->compact_mu);
    vs__free(skip);
    vs__seg_unref(s);
    return rc;
}

/* Rows inserted per vs__hnsw_insert call while the collection lock is held shared:
 * small, so the time budget is checked often and a writer waits little. */
#define MUT_CHUNK 8

static uint64_t mono_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

int vs__indexer_mutable_step(vs__coll *c, uint32_t budget_us, vs__err *e) {
    pthread_mutex_lock(&c->ins_mu);
    vs__segment *m = NULL;
    vs__hnsw_index *fresh = NULL, *x = NULL;
    vs__hnsw_grow g = {0};
    uint32_t f;
    int rc = 0;
    pthread_rwlock_rdlock(&c->lock);
    for (f = 0; f < c->schema.nfields; f++)
        if (mutable_wants(c, c->mut, f)) break;
    if (f == c->schema.nfields) {
        pthread_rwlock_unlock(&c->lock);
        goto out;
    }
    m = c->mut;
    vs__seg_ref(m);
    if (!(x = m->idx[f].p)) {
        vs__hnsw_index_params p = params_of(c, f, m->id);
        rc = vs__hnsw_index_new_growing(m->dims[f], kind_of(c, f), &p.hnsw, &fresh, e);
        x = fresh;
    }
    /* Growth copies the graph: done under the shared lock, so a flush cannot hand the
     * graph to a sealed segment (and its completer) while it is read. Only this thread
     * writes the mutable graph (ins_mu). */
    if (!rc && m->rows > vs__hnsw_reserved(x->g))
        rc = vs__hnsw_grow_prepare(x->g, m->rows, 0, NULL, &g, e);
    pthread_rwlock_unlock(&c->lock);
    if (rc) goto out;
    if (fresh || g.ready) {
        pthread_rwlock_wrlock(&c->lock);
        int same = c->mut == m && m->idx[f].p == (fresh ? NULL : x);
        if (same) {
            if (fresh) m->idx[f] = (vs__seg_index){fresh, VS_INDEX_HNSW, free_index, 0, 0};
            fresh = NULL;
            vs__hnsw_grow_commit(x->g, &g);
            m->idx[f].bytes = vs__hnsw_index_memory(x);
        }
        pthread_rwlock_unlock(&c->lock);
        vs__hnsw_grow_release(&g);
        if (!same) { /* flushed meanwhile: the next step sees the new state */
            rc = 1;
            goto out;
        }
    }
    const uint64_t deadline = mono_us() + budget_us;
    pthread_rwlock_rdlock(&c->lock);
    if (c->mut == m && m->idx[f].p == x) {
        size_t to = m->rows < vs__hnsw_reserved(x->g) ? m->rows : vs__hnsw_reserved(x->g);
        for (size_t r = vs__hnsw_rows(x->g); r < to && !rc;) {
            r = r + MUT_CHUNK < to ? r + MUT_CHUNK : to;
            rc = vs__hnsw_insert(x->g, m->vec[f], r, 1, e);
            if (mono_us() >= deadline) break;
        }
    }
    pthread_rwlock_unlock(&c->lock);
    if (!rc) rc = 1;
out:
    if (rc < 0) vs__err_ctx(e, "indexing the mutable segment of '%s'", c->name);
    vs__hnsw_index_free(fresh);
    vs__seg_unref(m);
    pthread_mutex_unlock(&c->ins_mu);
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
            s->idx[f] = (vs__seg_index){x, VS_INDEX_HNSW, free_index, vs__hnsw_index_memory(x), 0};
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
            if (c->segs[i]->idx[f].p && !c->segs[i]->idx[f].partial &&
                (rc = vs__hnsw_index_validate(c->segs[i]->idx[f].p, e)))
                vs__err_ctx(e, "segment %u field %u index", c->segs[i]->id, f);
    pthread_rwlock_unlock(&c->lock);
    return rc;
}
