/*
 * pindex.c — payload index declarations and their per-segment indexes (pindex.h).
 */
#include "engine/pindex.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "index/payload_index.h"
#include "util/alloc.h"

static const char *seg_pay(void *ctx, size_t row, size_t *len) {
    return vs__seg_payload(ctx, row, len);
}

static int seg_dir(const vs__coll *c, const vs__segment *s, char *buf, size_t cap) {
    return vs__seg_dirname(buf, cap, c->dir, s->id, NULL);
}

void vs__pindex_defs_free(vs__pdef *defs, size_t n) {
    for (size_t i = 0; i < n; i++) vs__fpath_free(defs[i].path);
    vs__free(defs);
}

cJSON *vs__pindex_to_json(const vs__pdef *defs, size_t n) {
    cJSON *a = cJSON_CreateArray();
    if (!a) return NULL;
    for (size_t i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        if (!o) goto oom;
        cJSON_AddItemToArray(a, o);
        if (!cJSON_AddStringToObject(o, "path", vs__fpath_text(defs[i].path)) ||
            !cJSON_AddStringToObject(o, "type", vs__pindex_type_name(defs[i].type)))
            goto oom;
    }
    return a;
oom:
    cJSON_Delete(a);
    return NULL;
}

int vs__pindex_from_json(const cJSON *arr, vs__pdef **defs, size_t *n, vs__err *e) {
    *defs = NULL;
    *n = 0;
    if (!arr) return VS_OK; /* manifests written before payload indexes */
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > VS_PINDEX_MAX)
        return vs__errf(e, VS_ECORRUPT, "manifest: bad payload_indexes");
    vs__pdef *d = vs__calloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof *d);
    if (!d) return vs__errf(e, VS_ENOMEM, "out of memory reading the manifest");
    size_t k = 0;
    const cJSON *o;
    cJSON_ArrayForEach(o, arr) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "path");
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "type");
        int type = cJSON_IsString(t) ? vs__pindex_type_parse(t->valuestring) : -1;
        vs__err pe;
        if (!cJSON_IsString(p) || type < 0) {
            vs__pindex_defs_free(d, k);
            return vs__errf(e, VS_ECORRUPT, "manifest: bad payload index entry");
        }
        int rc = vs__fpath_compile(p->valuestring, &d[k].path, &pe);
        if (rc) {
            vs__pindex_defs_free(d, k);
            return rc == VS_ENOMEM ? vs__errf(e, rc, "%s", pe.msg)
                                   : vs__errf(e, VS_ECORRUPT, "manifest: %s", pe.msg);
        }
        d[k++].type = type;
    }
    *defs = d;
    *n = k;
    return VS_OK;
}

/* The index of a segment for (path text, type), or -1. */
static int seg_find(const vs__segment *s, const char *path, int type) {
    for (uint32_t i = 0; i < s->npidx; i++)
        if (vs__pidx_type(s->pidx[i]) == type && !strcmp(vs__pidx_path(s->pidx[i]), path))
            return (int)i;
    return -1;
}

static void seg_push(vs__segment *s, vs__pidx *x) {
    s->pidx[s->npidx++] = x;
    s->pidx_free = vs__pidx_free_void;
}

/* Saves one index into its segment's directory (derived data: when saving fails the
 * file is removed, and the index is rebuilt at the next open). */
static void save_one(const char *dir, const vs__pidx *x) {
    vs__err se;
    if (vs__pidx_save(x, dir, &se)) vs__pidx_unlink(dir, vs__pidx_path(x), vs__pidx_type(x));
}

/* Builds (or loads) the index of one declaration for a sealed segment. */
static int sealed_index(vs__coll *c, vs__segment *s, const vs__pdef *d, vs__pidx **out,
                        vs__err *e) {
    char dir[4200];
    int have_dir = seg_dir(c, s, dir, sizeof dir) == VS_OK;
    if (have_dir) {
        vs__err le;
        int rc = vs__pidx_load(dir, d->path, d->type, s->rows, out, &le);
        if (rc == VS_OK) return VS_OK;
        if (rc == VS_ENOMEM) return vs__errf(e, rc, "%s", le.msg);
        if (rc != VS_ENOTFOUND) {
            c->bad_index_files++;
            snprintf(c->bad_index_msg, sizeof c->bad_index_msg, "%s", le.msg);
        }
    }
    int rc = vs__pidx_build(d->path, d->type, s->rows, seg_pay, s, out, e);
    if (rc) return vs__err_ctx(e, "payload index on '%s' of segment %u", vs__fpath_text(d->path), s->id);
    if (have_dir && !c->opt.read_only) save_one(dir, *out);
    return VS_OK;
}

int vs__pindex_attach(vs__coll *c, vs__segment *s, vs__err *e) {
    for (size_t i = 0; i < c->npdefs; i++) {
        if (seg_find(s, vs__fpath_text(c->pdefs[i].path), c->pdefs[i].type) >= 0) continue;
        vs__pidx *x;
        int rc = sealed_index(c, s, &c->pdefs[i], &x, e);
        if (rc) return rc;
        seg_push(s, x);
    }
    return VS_OK;
}

int vs__pindex_attach_live(vs__coll *c, vs__segment *m, vs__err *e) {
    for (size_t i = 0; i < c->npdefs; i++) {
        vs__pidx *x;
        int rc = vs__pidx_new_live(c->pdefs[i].path, c->pdefs[i].type, &x, e);
        if (rc) return rc;
        seg_push(m, x);
    }
    return VS_OK;
}


int vs__pindex_prepare_seal(vs__coll *c, vs__segment *mut, vs__err *e) {
    for (uint32_t i = 0; i < mut->npidx; i++) {
        vs__pidx *x = mut->pidx[i];
        vs__pidx_lock(x);
        int rc = vs__pidx_sync(x, mut->rows, mut->pay_changes, seg_pay, mut, e);
        if (!rc) rc = vs__pidx_merge(x, e);
        vs__pidx_unlock(x);
        if (rc) return vs__err_ctx(e, "sealing payload indexes");
    }
    return VS_OK;
}

void vs__pindex_move(vs__segment *mut, vs__segment *sealed) {
    for (uint32_t i = 0; i < mut->npidx; i++) {
        vs__pidx_freeze(mut->pidx[i]);
        seg_push(sealed, mut->pidx[i]);
    }
    mut->npidx = 0;
}

void vs__pindex_save_all(vs__coll *c, vs__segment *s) {
    char dir[4200];
    if (c->opt.read_only || seg_dir(c, s, dir, sizeof dir)) return;
    for (uint32_t i = 0; i < s->npidx; i++) save_one(dir, s->pidx[i]);
}

/* Saves the index (path text, type) of a sealed segment, if it has one. */
static void save_named(vs__coll *c, vs__segment *s, const char *pt, int type) {
    char dir[4200];
    int k = seg_find(s, pt, type);
    if (k >= 0 && seg_dir(c, s, dir, sizeof dir) == VS_OK) save_one(dir, s->pidx[k]);
}

void vs__pindex_adopt(vs__segment *s, void **built, size_t n) {
    for (size_t i = 0; i < n; i++) {
        seg_push(s, built[i]);
        built[i] = NULL;
    }
}

int vs__pindex_build_for(vs__coll *c, size_t rows, const char *(*pay)(void *, size_t, size_t *),
                         void *ctx, void **out, vs__err *e) {
    for (size_t i = 0; i < c->npdefs; i++) {
        vs__pidx *x;
        int rc = vs__pidx_build(c->pdefs[i].path, c->pdefs[i].type, rows, pay, ctx, &x, e);
        if (rc) {
            for (size_t j = 0; j < i; j++) vs__pidx_free(out[j]);
            return rc;
        }
        out[i] = x;
    }
    return VS_OK;
}

void vs__pindex_lock_live(vs__segment *m) {
    for (uint32_t i = 0; i < m->npidx; i++) {
        vs__pidx *x = m->pidx[i];
        if (!vs__pidx_is_live(x)) continue;
        vs__err e;
        vs__pidx_lock(x);
        vs__pidx_sync(x, m->rows, m->pay_changes, seg_pay, m, &e);
    }
}

void vs__pindex_unlock_live(vs__segment *m) {
    for (uint32_t i = 0; i < m->npidx; i++) vs__pidx_unlock(m->pidx[i]);
}

/* ---------------------------------------------------------- create / drop ---- */

static int writable(vs__coll *c, vs__err *e) {
    if (atomic_load(&c->dropped)) return vs__errf(e, VS_ENOTFOUND, "collection '%s' was dropped", c->name);
    if (c->opt.read_only) return vs__errf(e, VS_EREADONLY, "store is open read-only");
    if (c->fatal) return vs__errf(e, VS_EFATAL, "collection '%s' stopped after an error: %s", c->name, c->fatal_err.msg);
    return VS_OK;
}

static int def_index(const vs__coll *c, const char *path, int type) {
    for (size_t i = 0; i < c->npdefs; i++)
        if (c->pdefs[i].type == type && !strcmp(vs__fpath_text(c->pdefs[i].path), path)) return (int)i;
    return -1;
}

int vs__pindex_create(vs__coll *c, const char *path, int type, vs__err *e) {
    if (type < VS_PINDEX_KEYWORD || type > VS_PINDEX_GEO)
        return vs__errf(e, VS_EINVAL, "unknown payload index type %d", type);
    vs__fpath *fp;
    int rc = vs__fpath_compile(path, &fp, e);
    if (rc) return rc;
    vs__pdef d = {type, fp};
    const char *pt = vs__fpath_text(fp);
    vs__segment **snap = NULL, **late = NULL;
    vs__pidx **built = NULL, **late_built = NULL, *live = NULL;
    size_t nsnap = 0, nlate = 0;
    pthread_mutex_lock(&c->compact_mu);
    pthread_mutex_lock(&c->wmu);
    if ((rc = writable(c, e))) goto unlock_w;
    if (def_index(c, pt, type) >= 0) goto unlock_w; /* exists */
    if (c->npdefs == VS_PINDEX_MAX) {
        rc = vs__errf(e, VS_ERANGE, "collection '%s' has %d payload indexes already", c->name, VS_PINDEX_MAX);
        goto unlock_w;
    }
    pthread_mutex_unlock(&c->wmu);

    /* 1. Build for the sealed segments, writers going on (they only add segments, and
     * compaction waits for compact_mu). */
    pthread_rwlock_rdlock(&c->lock);
    nsnap = c->nsegs;
    snap = vs__calloc(nsnap + 1, sizeof *snap);
    built = vs__calloc(nsnap + 1, sizeof *built);
    if (snap && built)
        for (size_t i = 0; i < nsnap; i++) {
            snap[i] = c->segs[i];
            vs__seg_ref(snap[i]);
        }
    pthread_rwlock_unlock(&c->lock);
    if (!snap || !built) {
        nsnap = 0;
        rc = vs__errf(e, VS_ENOMEM, "out of memory creating a payload index");
        goto out;
    }
    for (size_t i = 0; i < nsnap && !rc; i++)
        rc = vs__pidx_build(fp, type, snap[i]->rows, seg_pay, snap[i], &built[i], e);
    if (rc) goto out;

    /* 2. Declare it: segments flushed meanwhile are built now (small: each is one
     * flush), the mutable segment gets a live index, the manifest names it. */
    pthread_mutex_lock(&c->wmu);
    if ((rc = writable(c, e))) goto unlock_w;
    late = vs__calloc(c->nsegs + 1, sizeof *late);
    late_built = vs__calloc(c->nsegs + 1, sizeof *late_built);
    vs__pdef *nd = vs__realloc(c->pdefs, (c->npdefs + 1) * sizeof *nd);
    if (nd) c->pdefs = nd; /* same contents, maybe moved (the old block is gone): guarded by wmu */
    if (!late || !late_built || !nd) {
        rc = vs__errf(e, VS_ENOMEM, "out of memory creating a payload index");
        goto unlock_w;
    }
    for (size_t i = 0; i < c->nsegs && !rc; i++) {
        int seen = 0;
        for (size_t j = 0; j < nsnap; j++) seen |= snap[j] == c->segs[i];
        if (seen) continue;
        late[nlate] = c->segs[i];
        rc = vs__pidx_build(fp, type, c->segs[i]->rows, seg_pay, c->segs[i], &late_built[nlate], e);
        nlate += !rc;
    }
    if (!rc) rc = vs__pidx_new_live(fp, type, &live, e);
    if (rc) goto unlock_w;
    c->pdefs[c->npdefs] = d;
    c->npdefs++;
    if ((rc = vs__coll_write_manifest(c, e))) {
        c->npdefs--;
        goto unlock_w;
    }
    d.path = NULL; /* owned by the declaration now */
    pthread_rwlock_wrlock(&c->lock);
    for (size_t i = 0; i < nsnap; i++) {
        int present = 0;
        for (size_t j = 0; j < c->nsegs; j++) present |= c->segs[j] == snap[i];
        if (present) {
            seg_push(snap[i], built[i]);
            built[i] = NULL;
        }
    }
    for (size_t i = 0; i < nlate; i++) {
        seg_push(late[i], late_built[i]);
        late_built[i] = NULL;
    }
    seg_push(c->mut, live);
    live = NULL;
    pthread_rwlock_unlock(&c->lock);
    pthread_mutex_unlock(&c->wmu);
    /* 3. Save (derived data: a failure only costs a rebuild at the next open). */
    for (size_t i = 0; i < nsnap; i++) save_named(c, snap[i], pt, type);
    for (size_t i = 0; i < nlate; i++) save_named(c, late[i], pt, type);
    goto out;
unlock_w:
    pthread_mutex_unlock(&c->wmu);
out:
    pthread_mutex_unlock(&c->compact_mu);
    for (size_t i = 0; i < nsnap; i++) {
        vs__pidx_free(built[i]);
        vs__seg_unref(snap[i]);
    }
    for (size_t i = 0; late_built && i < nlate; i++) vs__pidx_free(late_built[i]);
    vs__pidx_free(live);
    vs__free(snap);
    vs__free(built);
    vs__free(late);
    vs__free(late_built);
    vs__fpath_free(d.path);
    return rc;
}

int vs__pindex_drop(vs__coll *c, const char *path, int type, vs__err *e) {
    if (type != 0 && (type < VS_PINDEX_KEYWORD || type > VS_PINDEX_GEO))
        return vs__errf(e, VS_EINVAL, "unknown payload index type %d", type);
    vs__fpath *fp;
    int rc = vs__fpath_compile(path, &fp, e);
    if (rc) return rc;
    const char *pt = vs__fpath_text(fp);
    vs__pdef *keep = NULL, *gone = NULL;
    size_t nkeep = 0, ngone = 0;
    vs__pidx **dead = NULL;
    size_t ndead = 0;
    pthread_mutex_lock(&c->compact_mu);
    pthread_mutex_lock(&c->wmu);
    if ((rc = writable(c, e))) goto unlock;
    keep = vs__calloc(c->npdefs + 1, sizeof *keep);
    gone = vs__calloc(c->npdefs + 1, sizeof *gone);
    dead = vs__calloc((c->nsegs + 1) * VS_PINDEX_MAX, sizeof *dead);
    if (!keep || !gone || !dead) {
        rc = vs__errf(e, VS_ENOMEM, "out of memory dropping a payload index");
        goto unlock;
    }
    for (size_t i = 0; i < c->npdefs; i++) {
        int hit = !strcmp(vs__fpath_text(c->pdefs[i].path), pt) && (type == 0 || c->pdefs[i].type == type);
        if (hit)
            gone[ngone++] = c->pdefs[i];
        else
            keep[nkeep++] = c->pdefs[i];
    }
    if (!ngone) {
        rc = vs__errf(e, VS_ENOTFOUND, "collection '%s' has no %s%spayload index on '%s'", c->name,
                      type ? vs__pindex_type_name(type) : "", type ? " " : "", pt);
        goto unlock;
    }
    vs__pdef *old = c->pdefs;
    size_t nold = c->npdefs;
    pthread_rwlock_wrlock(&c->lock);
    c->pdefs = keep;
    c->npdefs = nkeep;
    pthread_rwlock_unlock(&c->lock);
    if ((rc = vs__coll_write_manifest(c, e))) {
        pthread_rwlock_wrlock(&c->lock);
        c->pdefs = old;
        c->npdefs = nold;
        pthread_rwlock_unlock(&c->lock);
        goto unlock;
    }
    keep = old; /* freed below: the array only; paths of `gone` are freed with them */
    pthread_rwlock_wrlock(&c->lock);
    for (size_t si = 0; si <= c->nsegs; si++) {
        vs__segment *s = si < c->nsegs ? c->segs[si] : c->mut;
        for (uint32_t i = 0; i < s->npidx;) {
            int hit = !strcmp(vs__pidx_path(s->pidx[i]), pt) && (type == 0 || vs__pidx_type(s->pidx[i]) == type);
            if (!hit) {
                i++;
                continue;
            }
            dead[ndead++] = s->pidx[i];
            s->pidx[i] = s->pidx[--s->npidx];
        }
    }
    pthread_rwlock_unlock(&c->lock);
    for (size_t si = 0; si < c->nsegs; si++) {
        char dir[4200];
        if (seg_dir(c, c->segs[si], dir, sizeof dir)) continue;
        for (size_t g = 0; g < ngone; g++) vs__pidx_unlink(dir, pt, gone[g].type);
    }
    for (size_t g = 0; g < ngone; g++) vs__fpath_free(gone[g].path);
unlock:
    pthread_mutex_unlock(&c->wmu);
    pthread_mutex_unlock(&c->compact_mu);
    for (size_t i = 0; i < ndead; i++) vs__pidx_free(dead[i]);
    vs__free(dead);
    vs__free(keep);
    vs__free(gone);
    vs__fpath_free(fp);
    return rc;
}

int vs__pindex_list(vs__coll *c, vs_pindex_info **out, size_t *n, vs__err *e) {
    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&c->wmu);
    pthread_rwlock_rdlock(&c->lock);
    vs__pindex_lock_live(c->mut); /* caught up, so entries count every row */
    size_t bytes = (c->npdefs + 1) * sizeof(vs_pindex_info);
    for (size_t i = 0; i < c->npdefs; i++) bytes += strlen(vs__fpath_text(c->pdefs[i].path)) + 1;
    vs_pindex_info *info = vs__calloc(1, bytes);
    int rc = VS_OK;
    if (!info) {
        rc = vs__errf(e, VS_ENOMEM, "out of memory listing payload indexes");
    } else {
        char *str = (char *)(info + c->npdefs + 1);
        for (size_t i = 0; i < c->npdefs; i++) {
            const char *pt = vs__fpath_text(c->pdefs[i].path);
            size_t pl = strlen(pt) + 1;
            memcpy(str, pt, pl);
            info[i].path = str;
            str += pl;
            info[i].type = c->pdefs[i].type;
            for (size_t si = 0; si <= c->nsegs; si++) {
                vs__segment *s = si < c->nsegs ? c->segs[si] : c->mut;
                int k = seg_find(s, pt, c->pdefs[i].type);
                if (k < 0) continue;
                vs__pidx *x = s->pidx[k]; /* the live ones are locked (below) */
                info[i].entries += vs__pidx_entries(x);
                info[i].memory_bytes += vs__pidx_memory(x);
            }
        }
        *out = info;
        *n = c->npdefs;
    }
    vs__pindex_unlock_live(c->mut);
    pthread_rwlock_unlock(&c->lock);
    pthread_mutex_unlock(&c->wmu);
    return rc;
}
