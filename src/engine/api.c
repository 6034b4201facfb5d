/*
 * api.c — the public collection entry points: validation at the boundary, encoding of
 * commands, and dispatch to the collection and the query stages.
 *
 * Every check that depends only on the input happens here, before anything is
 * written: dimensions, NaN/Inf, ids, JSON payloads, limits. The command that results
 * holds the values in stored form (see engine/command.h). Messages name the offending
 * point by its index in the batch and its id.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "engine/indexer.h"
#include "engine/pindex.h"
#include "index/payload_index.h"
#include "index/hnsw_index.h"
#include "engine/store.h"
#include "geo/geo.h"
#include "query/geo_rank.h"
#include "query/search.h"
#include "simd/distance.h"
#include "util/alloc.h"
#include "util/json.h"

vs_id vs_id_str(const char *s) {
    vs_id id = {VS_ID_STR, 0, s, s ? (uint32_t)strlen(s) : 0};
    return id;
}

void vs_free(void *p) { vs__free(p); }

void vs_query_init(vs_query *q) {
    if (!q) return;
    memset(q, 0, sizeof *q);
    q->nq = 1;
    q->k = 10;
    q->with = VS_WITH_PAYLOAD;
}

/* ------------------------------------------------------------ handles ---- */

int vs_coll_open(vs_store *h, const char *name, vs_coll **out) {
    if (!h || !out) return VS_EINVAL;
    *out = NULL;
    if (!name || !vs__name_ok(name, 0))
        return vs__errf(&h->err, VS_ENAME, "invalid collection name '%s'", name ? name : "(null)");
    vs_coll *ch = vs__calloc(1, sizeof *ch);
    if (!ch) return vs__errf(&h->err, VS_ENOMEM, "out of memory");
    int rc = vs__store_coll(h->core, name, &ch->c, &h->err);
    if (rc) {
        vs__free(ch);
        return rc;
    }
    vs__store_core_ref(h->core);
    ch->core = h->core;
    ch->read_only = h->read_only;
    *out = ch;
    return VS_OK;
}

void vs_coll_close(vs_coll *ch) {
    if (!ch) return;
    vs__coll_unref(ch->c);
    vs__store_core_unref(ch->core);
    vs__free(ch);
}

const char *vs_coll_errmsg(const vs_coll *ch) { return ch ? ch->err.msg : "collection handle is NULL"; }

static int usable(vs_coll *ch, int write) {
    if (atomic_load(&ch->c->dropped))
        return vs__errf(&ch->err, VS_ENOTFOUND, "collection '%s' was dropped", ch->c->name);
    if (write && ch->read_only) return vs__errf(&ch->err, VS_EREADONLY, "store is open read-only");
    return VS_OK;
}

int vs_coll_info_get(vs_coll *ch, vs_coll_info *info) {
    if (!ch || !info) return VS_EINVAL;
    int rc = usable(ch, 0);
    if (rc) return rc;
    vs__coll *c = ch->c;
    memset(info, 0, sizeof *info);
    pthread_rwlock_rdlock(&c->lock);
    info->points = c->map.count;
    info->segments = (uint32_t)c->nsegs;
    info->mutable_points = c->mut->rows - c->mut->ndeleted;
    info->deleted = c->mut->ndeleted;
    info->memory_bytes = vs__seg_memory(c->mut) + c->map.cap * sizeof(vs__idmap_ent);
    for (size_t i = 0; i < c->nsegs; i++) {
        info->deleted += c->segs[i]->ndeleted;
        info->disk_bytes += c->segs[i]->disk_bytes;
        info->memory_bytes += vs__seg_memory(c->segs[i]);
    }
    for (size_t i = 0; i < c->nsegs; i++)
        for (uint32_t f = 0; f < c->schema.nfields; f++)
            if (c->segs[i]->idx[f].p) {
                info->index_bytes += c->segs[i]->idx[f].bytes;
                info->indexed_segments++;
            }
    info->mutable_indexed = UINT64_MAX;
    for (uint32_t f = 0; f < c->schema.nfields; f++) {
        const vs__seg_index *mi = &c->mut->idx[f];
        if (c->schema.fields[f].index != VS_INDEX_HNSW) continue;
        uint64_t r = mi->p ? vs__hnsw_rows(((const vs__hnsw_index *)mi->p)->g) : 0;
        if (r < info->mutable_indexed) info->mutable_indexed = r;
        info->index_bytes += mi->bytes;
    }
    if (info->mutable_indexed == UINT64_MAX) info->mutable_indexed = 0;
    info->memory_bytes += info->index_bytes;
    info->last_lsn = c->last_lsn;
    info->checkpoint_lsn = c->checkpoint_lsn;
    info->wal_bytes = vs__wal_bytes(c->wal);
    info->disk_bytes += info->wal_bytes;
    info->n_fields = c->schema.nfields;
    memcpy(info->fields, c->schema.fields, sizeof(vs_field_info) * c->schema.nfields);
    pthread_rwlock_unlock(&c->lock);
    info->pending_segments = (uint32_t)vs__indexer_pending(c);
    return VS_OK;
}

int vs_coll_wait_indexed(vs_coll *ch, int timeout_ms) {
    if (!ch) return VS_EINVAL;
    int rc = usable(ch, 0);
    if (rc) return rc;
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        if (vs__indexer_pending(ch->c) == 0) return VS_OK;
        if (!vs__store_background(ch->core)) {
            /* No background thread: build here, one index at a time, then bring the
             * mutable segment's graph up to date. */
            rc = vs__indexer_build_one(ch->c, &ch->err);
            if (rc == 0) rc = vs__indexer_mutable_step(ch->c, UINT32_MAX, &ch->err);
            if (rc < 0) return rc;
            if (rc == 0) return VS_OK;
            continue;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        long ms = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
        if (timeout_ms >= 0 && ms >= timeout_ms)
            return vs__errf(&ch->err, VS_EBUSY, "%zu segment index(es) still building after %d ms",
                            vs__indexer_pending(ch->c), timeout_ms);
        struct timespec nap = {0, 20 * 1000000L};
        nanosleep(&nap, NULL);
    }
}

/* ------------------------------------------------------------ writes ---- */

static int check_ids(vs__err *e, const vs_id *ids, size_t n) {
    if (n && !ids) return vs__errf(e, VS_EINVAL, "ids is NULL");
    if (n > VS_BATCH_MAX)
        return vs__errf(e, VS_ERANGE, "batch of %zu points exceeds the limit of %d", n, VS_BATCH_MAX);
    for (size_t i = 0; i < n; i++)
        if (vs__id_check(&ids[i], e)) return vs__err_ctx(e, "point %zu", i);
    return VS_OK;
}

static int execute(vs_coll *ch, vs__buf *b, uint64_t *affected) {
    if (b->oom) return vs__errf(&ch->err, VS_ENOMEM, "out of memory encoding the command");
    if (b->len > VS_WAL_RECORD_MAX)
        return vs__errf(&ch->err, VS_ERANGE, "batch encodes to %zu bytes, over the %u-byte limit; split it",
                        b->len, VS_WAL_RECORD_MAX);
    return vs__coll_execute(ch->c, b->data, b->len, affected, &ch->err);
}

/* Copies JSON text without insignificant whitespace. The text has been validated, so
 * only strings need care. Keeping the original tokens (rather than re-printing the
 * parsed tree) preserves numbers exactly: cJSON holds numbers as doubles, which would
 * round integers above 2^53. */
static char *minify(const char *txt, size_t len) {
    char *out = vs__malloc(len + 1);
    if (!out) return NULL;
    size_t o = 0;
    int in_str = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = txt[i];
        if (in_str) {
            out[o++] = ch;
            if (ch == '\\' && i + 1 < len)
                out[o++] = txt[++i];
            else if (ch == '"')
                in_str = 0;
        } else if (ch == '"') {
            in_str = 1;
            out[o++] = ch;
        } else if (ch != ' ' && ch != '\n' && ch != '\t' && ch != '\r') {
            out[o++] = ch;
        }
    }
    out[o] = 0;
    return out;
}

/* Canonical compact text of a JSON object payload (vs__free it). */
static int canon_payload(vs__err *e, const char *txt, size_t len, size_t i, char **out) {
    *out = NULL;
    if (len > VS_PAYLOAD_MAX)
        return vs__errf(e, VS_ERANGE, "point %zu: payload of %zu bytes exceeds %u", i, len, VS_PAYLOAD_MAX);
    size_t at;
    const char *why;
    if (vs__json_check(txt, len, &at, &why) != 0)
        return vs__errf(e, VS_EJSON, "point %zu: payload is not valid JSON at byte %zu: %s", i, at, why);
    size_t a = 0;
    while (a < len && (txt[a] == ' ' || txt[a] == '\n' || txt[a] == '\t' || txt[a] == '\r')) a++;
    if (txt[a] != '{') return vs__errf(e, VS_EJSON, "point %zu: payload must be a JSON object", i);
    *out = minify(txt, len);
    return *out ? VS_OK : vs__errf(e, VS_ENOMEM, "out of memory");
}

static void id_desc(const vs_id *id, char *buf, size_t cap) {
    if (id->kind == VS_ID_NUM)
        snprintf(buf, cap, "%llu", (unsigned long long)id->num);
    else
        snprintf(buf, cap, "\"%.*s\"", (int)(id->len > 40 ? 40 : id->len), id->str);
}

int vs_upsert(vs_coll *ch, const vs_upsert_batch *bt) {
    if (!ch) return VS_EINVAL;
    vs__err *e = &ch->err;
    if (!bt) return vs__errf(e, VS_EINVAL, "batch is NULL");
    int rc = usable(ch, 1);
    if (rc) return rc;
    const vs_schema *sc = &ch->c->schema;
    size_t n = bt->n;
    if (n == 0) return VS_OK;
    if ((rc = check_ids(e, bt->ids, n))) return rc;
    /* Map the columns to schema fields. */
    const float *col[VS_FIELDS_MAX] = {0};
    if (!bt->vectors || bt->n_vectors != sc->nfields)
        return vs__errf(e, VS_EINVAL, "batch has %zu vector columns, the collection has %u vector fields",
                        bt->vectors ? bt->n_vectors : 0, sc->nfields);
    for (size_t v = 0; v < bt->n_vectors; v++) {
        const vs_vectors *vc = &bt->vectors[v];
        int f = vs__schema_field(sc, vc->field);
        if (f < 0)
            return vs__errf(e, VS_ENOTFOUND, "collection has no vector field '%s'",
                            vc->field && *vc->field ? vc->field : "(default)");
        if (col[f]) return vs__errf(e, VS_EINVAL, "vector field '%s' given twice", sc->fields[f].name);
        if (!vc->data) return vs__errf(e, VS_EINVAL, "vector column %zu has no data", v);
        if (vc->dim != sc->fields[f].dim)
            return vs__errf(e, VS_EDIM, "field '%s': expected %u dimensions, got %u",
                            sc->fields[f].name, sc->fields[f].dim, vc->dim);
        col[f] = vc->data;
    }
    for (uint32_t f = 0; f < sc->nfields; f++) {
        size_t dim = sc->fields[f].dim;
        for (size_t i = 0; i < n; i++) {
            const float *x = col[f] + i * dim;
            for (size_t j = 0; j < dim; j++)
                if (!isfinite(x[j])) {
                    char id[64];
                    id_desc(&bt->ids[i], id, sizeof id);
                    return vs__errf(e, VS_EVALUE, "point %zu (id %s): component %zu of vector '%s' is %s",
                                    i, id, j, sc->fields[f].name, isnan(x[j]) ? "NaN" : "infinite");
                }
        }
    }
    /* Encode. */
    vs__buf b = {0};
    char **canon = vs__calloc(n, sizeof *canon);
    float *tmp = NULL;
    if (!canon) return vs__errf(e, VS_ENOMEM, "out of memory");
    for (size_t i = 0; i < n && bt->payloads; i++) {
        const char *p = bt->payloads[i];
        if (!p) continue;
        size_t len = bt->payload_lens ? bt->payload_lens[i] : strlen(p);
        if ((rc = canon_payload(e, p, len, i, &canon[i]))) goto done;
    }
    vs__cmd_begin(&b, VS_CMD_UPSERT, sc->nfields, n);
    for (uint32_t f = 0; f < sc->nfields; f++) vs__buf_u32(&b, sc->fields[f].dim);
    for (size_t i = 0; i < n; i++) vs__buf_id(&b, &bt->ids[i]);
    const vs__dist_ops *d = vs__dist();
    for (uint32_t f = 0; f < sc->nfields; f++) {
        size_t dim = sc->fields[f].dim;
        if (sc->fields[f].metric != VS_METRIC_COSINE) {
            vs__buf_put(&b, col[f], n * dim * sizeof(float));
            continue;
        }
        /* Cosine: store unit vectors, so scoring is a dot product. */
        if (!tmp && !(tmp = vs__malloc(dim * sizeof(float)))) {
            b.oom = 1;
            break;
        }
        for (size_t i = 0; i < n; i++) {
            const float *x = col[f] + i * dim;
            float n2 = d->norm_sq(x, NULL, dim);
            float inv = n2 > 0 ? 1.0f / sqrtf(n2) : 0.0f;
            for (size_t j = 0; j < dim; j++) tmp[j] = x[j] * inv;
            vs__buf_put(&b, tmp, dim * sizeof(float));
        }
        vs__free(tmp);
        tmp = NULL;
    }
    for (size_t i = 0; i < n; i++) {
        const char *p = canon[i] ? canon[i] : "{}";
        size_t len = strlen(p);
        vs__buf_u32(&b, (uint32_t)len);
        vs__buf_put(&b, p, len);
    }
    rc = execute(ch, &b, NULL);
done:
    for (size_t i = 0; i < n; i++) vs__free(canon[i]);
    vs__free(canon);
    vs__free(tmp);
    vs__buf_free(&b);
    return rc;
}

int vs_delete(vs_coll *ch, const vs_id *ids, size_t n, uint64_t *deleted) {
    if (!ch) return VS_EINVAL;
    if (deleted) *deleted = 0;
    int rc = usable(ch, 1);
    if (rc || (rc = check_ids(&ch->err, ids, n))) return rc;
    if (n == 0) return VS_OK;
    vs__buf b = {0};
    vs__cmd_begin(&b, VS_CMD_DELETE, 0, n);
    for (size_t i = 0; i < n; i++) vs__buf_id(&b, &ids[i]);
    rc = execute(ch, &b, deleted);
    vs__buf_free(&b);
    return rc;
}

int vs_set_payload(vs_coll *ch, const vs_id *ids, size_t n, int op, const char *json,
                   uint64_t *updated) {
    if (!ch) return VS_EINVAL;
    vs__err *e = &ch->err;
    if (updated) *updated = 0;
    int rc = usable(ch, 1);
    if (rc || (rc = check_ids(e, ids, n))) return rc;
    if (op < VS_PAYLOAD_SET || op > VS_PAYLOAD_CLEAR)
        return vs__errf(e, VS_EINVAL, "unknown payload operation %d", op);
    char *text = NULL;
    if (op != VS_PAYLOAD_CLEAR) {
        if (!json) return vs__errf(e, VS_EJSON, "payload JSON is NULL");
        size_t at;
        const char *why;
        if (vs__json_check(json, strlen(json), &at, &why) != 0)
            return vs__errf(e, VS_EJSON, "payload update is not valid JSON at byte %zu: %s", at, why);
        cJSON *j = cJSON_Parse(json);
        if (!j) return vs__errf(e, VS_ENOMEM, "out of memory parsing the payload update");
        int ok = op == VS_PAYLOAD_DELETE ? cJSON_IsArray(j) : cJSON_IsObject(j);
        const cJSON *k;
        if (ok && op == VS_PAYLOAD_DELETE)
            cJSON_ArrayForEach(k, j) ok &= cJSON_IsString(k);
        if (!ok) {
            cJSON_Delete(j);
            return vs__errf(e, VS_EJSON, op == VS_PAYLOAD_DELETE
                                             ? "payload keys to delete must be a JSON array of strings"
                                             : "payload must be a JSON object");
        }
        text = cJSON_PrintUnformatted(j);
        cJSON_Delete(j);
        if (!text) return vs__errf(e, VS_ENOMEM, "out of memory");
        if (strlen(text) > VS_PAYLOAD_MAX) {
            cJSON_free(text);
            return vs__errf(e, VS_ERANGE, "payload exceeds %u bytes", VS_PAYLOAD_MAX);
        }
    }
    if (n == 0) {
        cJSON_free(text);
        return VS_OK;
    }
    vs__buf b = {0};
    vs__cmd_begin(&b, VS_CMD_SET_PAYLOAD, 0, n);
    vs__buf_u8(&b, (uint8_t)op);
    size_t tl = text ? strlen(text) : 0;
    vs__buf_u32(&b, (uint32_t)tl);
    vs__buf_put(&b, text, tl);
    for (size_t i = 0; i < n; i++) vs__buf_id(&b, &ids[i]);
    cJSON_free(text);
    rc = execute(ch, &b, updated);
    vs__buf_free(&b);
    return rc;
}

int vs_coll_flush(vs_coll *ch) {
    if (!ch) return VS_EINVAL;
    int rc = usable(ch, 1);
    return rc ? rc : vs__coll_flush(ch->c, &ch->err);
}

int vs_coll_compact(vs_coll *ch) {
    if (!ch) return VS_EINVAL;
    int rc = usable(ch, 1);
    return rc ? rc : vs__coll_compact(ch->c, 1, &ch->err);
}

int vs_coll_create_payload_index(vs_coll *ch, const char *path, int type) {
    if (!ch) return VS_EINVAL;
    int rc = usable(ch, 1);
    return rc ? rc : vs__pindex_create(ch->c, path, type, &ch->err);
}

int vs_coll_drop_payload_index(vs_coll *ch, const char *path, int type) {
    if (!ch) return VS_EINVAL;
    int rc = usable(ch, 1);
    return rc ? rc : vs__pindex_drop(ch->c, path, type, &ch->err);
}

int vs_coll_payload_indexes(vs_coll *ch, vs_pindex_info **out, size_t *n) {
    if (!ch || !out || !n) return VS_EINVAL;
    *out = NULL;
    *n = 0;
    int rc = usable(ch, 0);
    return rc ? rc : vs__pindex_list(ch->c, out, n, &ch->err);
}

int vs_pindex_type_parse(const char *s) {
    if (s && !strcmp(s, "uuid")) return VS_PINDEX_KEYWORD; /* Qdrant's name for ids-as-keys */
    return vs__pindex_type_parse(s);
}

const char *vs_pindex_type_name(int type) { return vs__pindex_type_name(type); }

int vs_coll_snapshot(vs_coll *ch, const char *path) {
    if (!ch) return VS_EINVAL;
    if (!path || !*path) return vs__errf(&ch->err, VS_EINVAL, "snapshot path is empty");
    int rc = usable(ch, 0);
    return rc ? rc : vs__coll_snapshot(ch->c, path, &ch->err);
}

/* ------------------------------------------------------------ reads ---- */

int vs_query_run(vs_coll *ch, const vs_query *q, vs_result **out) {
    if (!ch || !out) return VS_EINVAL;
    *out = NULL;
    int rc = usable(ch, 0);
    return rc ? rc : vs__query(ch->c, q, out, &ch->err);
}

/* ------------------------------------------------------------- geo ---- */

int vs_geo_distance(double lat1, double lon1, double lat2, double lon2, double *metres) {
    if (!metres || vs__geo_check(lat1, lon1) || vs__geo_check(lat2, lon2)) return VS_EINVAL;
    *metres = vs__geo_distance(lat1, lon1, lat2, lon2);
    return VS_OK;
}

void vs_geo_query_init(vs_geo_query *q) {
    if (!q) return;
    memset(q, 0, sizeof *q);
    q->k = 10;
    q->max_distance = -1;
    q->with = VS_WITH_PAYLOAD;
}

int vs_geo_nearest(vs_coll *ch, const vs_geo_query *q, vs_result **out) {
    if (!ch || !out) return VS_EINVAL;
    *out = NULL;
    int rc = usable(ch, 0);
    return rc ? rc : vs__geo_nearest(ch->c, q, out, &ch->err);
}

void vs_decay_init(vs_decay *d) {
    if (!d) return;
    memset(d, 0, sizeof *d);
    d->func = VS_DECAY_GAUSS;
    d->decay = 0.5;
    d->combine = VS_COMBINE_MULTIPLY;
    d->weight = 1;
}

int vs_get(vs_coll *ch, const vs_id *ids, size_t n, int with, vs_result **out) {
    if (!ch || !out) return VS_EINVAL;
    *out = NULL;
    int rc = usable(ch, 0);
    return rc ? rc : vs__get(ch->c, ids, n, with, out, &ch->err);
}

int vs_count(vs_coll *ch, const char *filter, uint64_t *count) {
    if (!ch || !count) return VS_EINVAL;
    int rc = usable(ch, 0);
    return rc ? rc : vs__count(ch->c, filter, count, &ch->err);
}

int vs_scroll(vs_coll *ch, const vs_id *offset, uint32_t limit, const char *filter, int with,
              vs_result **out) {
    if (!ch || !out) return VS_EINVAL;
    *out = NULL;
    int rc = usable(ch, 0);
    return rc ? rc : vs__scroll(ch->c, offset, limit, filter, with, out, &ch->err);
}
