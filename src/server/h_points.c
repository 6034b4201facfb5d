/*
 * h_points.c — writing and reading points: upsert, retrieve, delete, the payload
 * operations, scroll, count.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/points.h"

/* Points a filter selects are handled a page at a time: never more ids in memory than
 * this, whatever the filter matches. */
#define SELECT_PAGE 4096

int vs__with_bits(const vs__rec_fmt *f) {
    return (f->wp.on ? VS_WITH_PAYLOAD : 0) | (f->vmask ? VS_WITH_VECTOR : 0);
}

int vs__read_fmt(vs__call *k, const cJSON *obj, int payload_default, vs__rec_fmt *f,
                 vs_coll_info *info, int need_info) {
    char err[VS__ERRLEN];
    memset(f, 0, sizeof *f);
    if (vs__rj_with_payload(obj ? cJSON_GetObjectItemCaseSensitive(obj, "with_payload") : NULL,
                            payload_default, &f->wp, err))
        return vs__fail(k, 400, "Wrong input: %s", err);
    const cJSON *wv = obj ? cJSON_GetObjectItemCaseSensitive(obj, "with_vector") : NULL;
    if (!wv && obj) wv = cJSON_GetObjectItemCaseSensitive(obj, "with_vectors");
    if ((wv && !cJSON_IsNull(wv) && !cJSON_IsFalse(wv)) || need_info) {
        int rc = vs_coll_info_get(k->coll, info);
        if (rc) return vs__fail_coll(k, rc);
        f->info = info;
        if (vs__rj_with_vector(wv, info, &f->vmask, err)) return vs__fail(k, 400, "Wrong input: %s", err);
    }
    return 0;
}

void vs__write_record(vs__sb *b, const vs_result *r, size_t g, size_t row, const vs__rec_fmt *f) {
    vs__sb_puts(b, "{\"id\":");
    vs__sb_id(b, vs_result_id(r, g, row));
    if (f->score) {
        vs__sb_puts(b, ",\"version\":0,\"score\":");
        float sc = vs_result_score(r, g, row);
        vs__sb_float(b, f->score_neg && sc != 0 ? -sc : sc); /* never "-0" */
    }
    vs__sb_puts(b, ",\"payload\":");
    if (f->wp.on)
        vs__write_payload(b, vs_result_payload(r, g, row), &f->wp);
    else
        vs__sb_puts(b, "null");
    vs__sb_puts(b, ",\"vector\":");
    if (!f->vmask) {
        vs__sb_puts(b, "null}");
        return;
    }
    const vs_coll_info *in = f->info;
    int unnamed = in->n_fields == 1 && !in->fields[0].name[0];
    if (!unnamed) vs__sb_putc(b, '{');
    int first = 1;
    for (uint32_t fi = 0; fi < in->n_fields; fi++) {
        if (!(f->vmask & (1u << fi))) continue;
        uint32_t dim = 0;
        const float *v = vs_result_vector(r, g, row, fi, &dim);
        if (!unnamed) {
            if (!first) vs__sb_putc(b, ',');
            vs__sb_json_str(b, in->fields[fi].name, strlen(in->fields[fi].name));
            vs__sb_putc(b, ':');
        }
        first = 0;
        if (!v) {
            vs__sb_puts(b, "null");
            continue;
        }
        vs__sb_putc(b, '[');
        for (uint32_t d = 0; d < dim; d++) {
            if (d) vs__sb_putc(b, ',');
            vs__sb_float(b, v[d]);
        }
        vs__sb_putc(b, ']');
    }
    vs__sb_puts(b, unnamed ? "}" : "}}");
}

int vs__path_id(vs__call *k, const char *seg, vs_id *id, cJSON **holder) {
    int rj; /* a vs__rj_* failure: the library code for the answer */
    char err[VS__ERRLEN];
    *holder = NULL;
    int digits = *seg != 0;
    for (const char *p = seg; *p; p++)
        if (*p < '0' || *p > '9') digits = 0;
    cJSON *j = digits && strlen(seg) <= 16 ? cJSON_CreateNumber((double)strtoull(seg, NULL, 10))
                                           : cJSON_CreateString(seg);
    if (!j) return vs__fail(k, 500, "Service internal error: out of memory");
    if ((rj = vs__rj_id(j, id, "point id", err))) {
        cJSON_Delete(j);
        return vs__fail_rc(k, rj, err);
    }
    *holder = j;
    return 0;
}

/* ------------------------------------------------------------- upsert ---- */

typedef struct cols {
    float *v[VS_FIELDS_MAX];
    vs_vectors vv[VS_FIELDS_MAX];
    char **payloads;
    vs_id *ids;
    size_t n;
} cols;

static void cols_free(cols *c, uint32_t nf) {
    for (uint32_t f = 0; f < nf; f++) free(c->v[f]);
    if (c->payloads)
        for (size_t i = 0; i < c->n; i++) cJSON_free(c->payloads[i]);
    free(c->payloads);
    free(c->ids);
}

/* One point's vectors: an array (the default field) or {name: array}. */
static int read_vectors(vs__call *k, const cJSON *v, const vs_coll_info *in, cols *c, size_t i,
                        const char *what) {
    char err[VS__ERRLEN], w[160];
    int rj; /* a vs__rj_* failure: the library code for the answer */
    if (cJSON_IsArray(v)) {
        int f = vs__field_index(in, "", err);
        if (f < 0) return vs__fail(k, 400, "Wrong input: %s: %s", what, err);
        if (in->n_fields != 1)
            return vs__fail(k, 400, "Wrong input: %s: the collection has %u vectors: give them by name",
                            what, in->n_fields);
        if ((rj = vs__rj_floats(v, c->v[f] + i * in->fields[f].dim, in->fields[f].dim, what, err)))
            return vs__fail_rc(k, rj, err);
        return 0;
    }
    if (!cJSON_IsObject(v)) return vs__fail(k, 400, "Wrong input: %s must be an array or {name: array}", what);
    uint32_t seen = 0;
    for (const cJSON *e = v->child; e; e = e->next) {
        int f = vs__field_index(in, e->string, err);
        if (f < 0) return vs__fail(k, 400, "Wrong input: %s: %s", what, err);
        snprintf(w, sizeof w, "%s.%s", what, e->string);
        if (cJSON_IsObject(e) && (cJSON_GetObjectItemCaseSensitive(e, "indices")))
            return vs__fail(k, 400, "Wrong input: %s: sparse vectors are not supported yet", w);
        if ((rj = vs__rj_floats(e, c->v[f] + i * in->fields[f].dim, in->fields[f].dim, w, err)))
            return vs__fail_rc(k, rj, err);
        seen |= 1u << f;
    }
    for (uint32_t f = 0; f < in->n_fields; f++)
        if (!(seen & (1u << f)))
            return vs__fail(k, 400, "Wrong input: %s: vector '%s' is missing (every point needs all "
                                    "of the collection's vectors)", what, in->fields[f].name);
    return 0;
}

static int read_payload(vs__call *k, const cJSON *p, cols *c, size_t i, const char *what) {
    if (!p || cJSON_IsNull(p)) return 0;
    if (!cJSON_IsObject(p)) return vs__fail(k, 400, "Wrong input: %s.payload must be an object", what);
    if (!(c->payloads[i] = cJSON_PrintUnformatted(p))) return vs__fail(k, 500, "Service internal error: out of memory");
    return 0;
}

int vs__h_upsert(vs__call *k) {
    int rj; /* a vs__rj_* failure: the library code for the answer */
    if (!k->json) return vs__fail(k, 400, "Wrong input: a body with \"points\" or \"batch\" is required");
    cJSON *pts = cJSON_GetObjectItemCaseSensitive(k->json, "points");
    cJSON *batch = cJSON_GetObjectItemCaseSensitive(k->json, "batch");
    if (!!pts == !!batch) return vs__fail(k, 400, "Wrong input: give exactly one of \"points\" and \"batch\"");
    vs_coll_info in;
    int rc = vs_coll_info_get(k->coll, &in);
    if (rc) return vs__fail_coll(k, rc);
    cols c;
    memset(&c, 0, sizeof c);
    int r = 0;
    cJSON *ids_arr = NULL, *vecs = NULL, *pays = NULL;
    if (pts) {
        if (!cJSON_IsArray(pts)) return vs__fail(k, 400, "Wrong input: \"points\" must be an array");
        c.n = (size_t)cJSON_GetArraySize(pts);
    } else {
        if (!cJSON_IsObject(batch)) return vs__fail(k, 400, "Wrong input: \"batch\" must be an object");
        ids_arr = cJSON_GetObjectItemCaseSensitive(batch, "ids");
        vecs = cJSON_GetObjectItemCaseSensitive(batch, "vectors");
        pays = cJSON_GetObjectItemCaseSensitive(batch, "payloads");
        if (!cJSON_IsArray(ids_arr)) return vs__fail(k, 400, "Wrong input: batch.ids must be an array");
        c.n = (size_t)cJSON_GetArraySize(ids_arr);
        if (pays && !cJSON_IsNull(pays) && (!cJSON_IsArray(pays) || (size_t)cJSON_GetArraySize(pays) != c.n))
            return vs__fail(k, 400, "Wrong input: batch.payloads must be an array as long as batch.ids");
    }
    if (c.n > VS_BATCH_MAX)
        return vs__fail(k, 400, "Wrong input: %zu points, at most %d in one request", c.n, VS_BATCH_MAX);
    if (c.n == 0) {
        vs__write_op(k);
        return 0;
    }
    c.ids = calloc(c.n, sizeof *c.ids);
    c.payloads = calloc(c.n, sizeof *c.payloads);
    if (!c.ids || !c.payloads) {
        r = vs__fail(k, 500, "Service internal error: out of memory");
        goto out;
    }
    for (uint32_t f = 0; f < in.n_fields; f++) {
        if (c.n > SIZE_MAX / sizeof(float) / in.fields[f].dim ||
            !(c.v[f] = malloc(c.n * in.fields[f].dim * sizeof(float)))) {
            r = vs__fail(k, 500, "Service internal error: out of memory for %zu vectors", c.n);
            goto out;
        }
        c.vv[f].field = in.fields[f].name;
        c.vv[f].data = c.v[f];
        c.vv[f].dim = in.fields[f].dim;
    }
    char err[VS__ERRLEN], what[64];
    if (pts) {
        size_t i = 0;
        cJSON *p;
        cJSON_ArrayForEach(p, pts) {
            snprintf(what, sizeof what, "points[%zu]", i);
            if (!cJSON_IsObject(p)) {
                r = vs__fail(k, 400, "Wrong input: %s must be an object", what);
                goto out;
            }
            cJSON *id = cJSON_GetObjectItemCaseSensitive(p, "id");
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, "vector");
            if (!v) v = cJSON_GetObjectItemCaseSensitive(p, "vectors");
            char wid[80];
            snprintf(wid, sizeof wid, "%s.id", what);
            if (!id) {
                r = vs__fail(k, 400, "Wrong input: %s.id is missing", what);
                goto out;
            }
            if ((rj = vs__rj_id(id, &c.ids[i], wid, err))) {
                r = vs__fail_rc(k, rj, err);
                goto out;
            }
            snprintf(wid, sizeof wid, "%s.vector", what);
            if (!v) {
                r = vs__fail(k, 400, "Wrong input: %s is missing", wid);
                goto out;
            }
            if ((r = read_vectors(k, v, &in, &c, i, wid)) ||
                (r = read_payload(k, cJSON_GetObjectItemCaseSensitive(p, "payload"), &c, i, what)))
                goto out;
            i++;
        }
    } else {
        size_t i = 0;
        cJSON *id;
        cJSON_ArrayForEach(id, ids_arr) {
            snprintf(what, sizeof what, "batch.ids[%zu]", i);
            if ((rj = vs__rj_id(id, &c.ids[i], what, err))) {
                r = vs__fail_rc(k, rj, err);
                goto out;
            }
            i++;
        }
        /* vectors: [[…], …] for the default field, or {name: [[…], …]} */
        int named = cJSON_IsObject(vecs);
        if (!named && !cJSON_IsArray(vecs)) {
            r = vs__fail(k, 400, "Wrong input: batch.vectors must be an array of vectors or {name: [vectors]}");
            goto out;
        }
        uint32_t seen = 0;
        for (const cJSON *col = named ? vecs->child : vecs; col; col = named ? col->next : NULL) {
            int f = vs__field_index(&in, named ? col->string : "", err);
            if (f < 0) {
                r = vs__fail(k, 400, "Wrong input: batch.vectors: %s", err);
                goto out;
            }
            if (!cJSON_IsArray(col) || (size_t)cJSON_GetArraySize(col) != c.n) {
                r = vs__fail(k, 400, "Wrong input: batch.vectors%s%s must hold %zu vectors", named ? "." : "",
                             named ? col->string : "", c.n);
                goto out;
            }
            size_t j = 0;
            const cJSON *e;
            cJSON_ArrayForEach(e, col) {
                snprintf(what, sizeof what, "batch.vectors[%zu]", j);
                if ((rj = vs__rj_floats(e, c.v[f] + j * in.fields[f].dim, in.fields[f].dim, what, err))) {
                    r = vs__fail_rc(k, rj, err);
                    goto out;
                }
                j++;
            }
            seen |= 1u << f;
        }
        for (uint32_t f = 0; f < in.n_fields; f++)
            if (!(seen & (1u << f))) {
                r = vs__fail(k, 400, "Wrong input: batch.vectors: vector '%s' is missing", in.fields[f].name);
                goto out;
            }
        if (pays && cJSON_IsArray(pays)) {
            size_t j = 0;
            const cJSON *p;
            cJSON_ArrayForEach(p, pays) {
                snprintf(what, sizeof what, "batch.payloads[%zu]", j);
                if (p && !cJSON_IsNull(p) && !cJSON_IsObject(p)) {
                    r = vs__fail(k, 400, "Wrong input: %s must be an object", what);
                    goto out;
                }
                if ((r = read_payload(k, p, &c, j, "batch"))) goto out;
                j++;
            }
        }
    }
    vs_upsert_batch b = {c.n, c.ids, c.vv, in.n_fields, (const char *const *)c.payloads, NULL};
    if ((rc = vs_upsert(k->coll, &b))) {
        r = vs__fail_coll(k, rc);
        goto out;
    }
    vs__write_op(k);
out:
    cols_free(&c, in.n_fields);
    return r;
}

/* ------------------------------------------------------------- reads ----- */

int vs__h_retrieve(vs__call *k) {
    int rj; /* a vs__rj_* failure: the library code for the answer */
    if (!k->json) return vs__fail(k, 400, "Wrong input: a body with \"ids\" is required");
    vs_id *ids;
    size_t n;
    char err[VS__ERRLEN];
    if ((rj = vs__rj_ids(cJSON_GetObjectItemCaseSensitive(k->json, "ids"), &ids, &n, "ids", err)))
        return vs__fail_rc(k, rj, err);
    vs__rec_fmt f;
    vs_coll_info in;
    int r = vs__read_fmt(k, k->json, 1, &f, &in, 0);
    vs_result *res = NULL;
    if (!r) {
        int rc = vs_get(k->coll, ids, n, vs__with_bits(&f), &res);
        if (rc) r = vs__fail_coll(k, rc);
    }
    if (!r) {
        vs__sb_putc(&k->out, '[');
        for (size_t i = 0; i < vs_result_rows(res, 0); i++) {
            if (i) vs__sb_putc(&k->out, ',');
            vs__write_record(&k->out, res, 0, i, &f);
        }
        vs__sb_putc(&k->out, ']');
    }
    vs_result_free(res);
    free(ids);
    return r;
}

int vs__h_get_point(vs__call *k) {
    vs_id id;
    cJSON *holder;
    if (vs__path_id(k, k->seg[3], &id, &holder)) return -1;
    vs__rec_fmt f;
    vs_coll_info in;
    int r = vs__read_fmt(k, NULL, 1, &f, &in, 1);
    f.vmask = in.n_fields >= 32 ? ~0u : (1u << in.n_fields) - 1; /* Qdrant returns the vectors here */
    vs_result *res = NULL;
    if (!r) {
        int rc = vs_get(k->coll, &id, 1, vs__with_bits(&f), &res);
        if (rc)
            r = vs__fail_coll(k, rc);
        else if (vs_result_rows(res, 0) == 0)
            r = vs__fail(k, 404, "Not found: No point with id %s found", k->seg[3]);
        else
            vs__write_record(&k->out, res, 0, 0, &f);
    }
    vs_result_free(res);
    cJSON_Delete(holder);
    return r;
}

/* ------------------------------------------------- selectors and writes -- */

typedef int (*page_fn)(vs__call *k, const vs_id *ids, size_t n, void *ctx);

/* Runs fn over the points the body selects: {"points": [ids]} or {"filter": F}. A
 * filter is resolved a page at a time in id order (stable under concurrent writes). */
static int for_selected(vs__call *k, const char *ids_key, page_fn fn, void *ctx) {
    int rj; /* a vs__rj_* failure: the library code for the answer */
    cJSON *pts = cJSON_GetObjectItemCaseSensitive(k->json, ids_key);
    const cJSON *flt = cJSON_GetObjectItemCaseSensitive(k->json, "filter");
    char err[VS__ERRLEN];
    if (pts && cJSON_IsObject(pts) && !strcmp(ids_key, "points")) { /* {"points": {"filter": …}} */
        flt = cJSON_GetObjectItemCaseSensitive(pts, "filter");
        pts = NULL;
        if (!flt) return vs__fail(k, 400, "Wrong input: points must be a list of ids or {\"filter\": …}");
    }
    if (!!pts == !!(flt && !cJSON_IsNull(flt)))
        return vs__fail(k, 400, "Wrong input: select points with exactly one of \"%s\" (ids) and \"filter\"", ids_key);
    if (pts) {
        vs_id *ids;
        size_t n;
        if ((rj = vs__rj_ids(pts, &ids, &n, ids_key, err))) return vs__fail_rc(k, rj, err);
        int r = n ? fn(k, ids, n, ctx) : 0;
        free(ids);
        return r;
    }
    char *ftext;
    if (vs__rj_filter(flt, &ftext, err)) return vs__fail(k, 400, "Wrong input: %s", err);
    int r = 0;
    vs_id off;
    int have_off = 0;
    char *off_str = NULL;
    for (;;) {
        vs_result *res;
        int rc = vs_scroll(k->coll, have_off ? &off : NULL, SELECT_PAGE, ftext, 0, &res);
        if (rc) {
            r = vs__fail_coll(k, rc);
            break;
        }
        size_t n = vs_result_rows(res, 0);
        vs_id *ids = malloc((n ? n : 1) * sizeof *ids);
        if (!ids) {
            vs_result_free(res);
            r = vs__fail(k, 500, "Service internal error: out of memory");
            break;
        }
        for (size_t i = 0; i < n; i++) ids[i] = vs_result_id(res, 0, i);
        vs_id next;
        int more = vs_result_next(res, &next);
        if (n) r = fn(k, ids, n, ctx);
        free(ids);
        if (!r && more) { /* the next offset outlives this page */
            free(off_str);
            off_str = NULL;
            if (next.kind == VS_ID_STR) {
                off_str = malloc(next.len + 1);
                if (!off_str) r = vs__fail(k, 500, "Service internal error: out of memory");
                else {
                    memcpy(off_str, next.str, next.len);
                    off_str[next.len] = 0;
                    next.str = off_str;
                }
            }
            off = next;
            have_off = 1;
        }
        vs_result_free(res);
        if (r || !more) break;
    }
    free(off_str);
    cJSON_free(ftext);
    return r;
}

static int del_page(vs__call *k, const vs_id *ids, size_t n, void *ctx) {
    (void)ctx;
    int rc = vs_delete(k->coll, ids, n, NULL);
    return rc ? vs__fail_coll(k, rc) : 0;
}

int vs__h_delete(vs__call *k) {
    if (!k->json) return vs__fail(k, 400, "Wrong input: a body with \"points\" or \"filter\" is required");
    if (for_selected(k, "points", del_page, NULL)) return -1;
    vs__write_op(k);
    return 0;
}

typedef struct pay_op {
    int op;
    const char *json;
} pay_op;

static int pay_page(vs__call *k, const vs_id *ids, size_t n, void *ctx) {
    const pay_op *p = ctx;
    int rc = vs_set_payload(k->coll, ids, n, p->op, p->json, NULL);
    return rc ? vs__fail_coll(k, rc) : 0;
}

static int payload_op(vs__call *k, int op) {
    if (!k->json) return vs__fail(k, 400, "Wrong input: a request body is required");
    char *text = NULL;
    if (op == VS_PAYLOAD_SET || op == VS_PAYLOAD_OVERWRITE) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(k->json, "payload");
        if (!cJSON_IsObject(p)) return vs__fail(k, 400, "Wrong input: \"payload\" must be an object");
        const cJSON *key = cJSON_GetObjectItemCaseSensitive(k->json, "key");
        if (key && !cJSON_IsNull(key))
            return vs__fail(k, 400, "Wrong input: setting a payload under a nested \"key\" is not supported yet");
        text = cJSON_PrintUnformatted(p);
    } else if (op == VS_PAYLOAD_DELETE) {
        const cJSON *keys = cJSON_GetObjectItemCaseSensitive(k->json, "keys");
        int ok = cJSON_IsArray(keys);
        const cJSON *e;
        if (ok) cJSON_ArrayForEach(e, keys) if (!cJSON_IsString(e)) ok = 0;
        if (!ok) return vs__fail(k, 400, "Wrong input: \"keys\" must be an array of strings");
        text = cJSON_PrintUnformatted(keys);
    } else {
        if ((text = cJSON_malloc(3))) memcpy(text, "{}", 3);
    }
    if (!text) return vs__fail(k, 500, "Service internal error: out of memory");
    pay_op p = {op, text};
    int r = for_selected(k, "points", pay_page, &p);
    cJSON_free(text);
    if (!r) vs__write_op(k);
    return r;
}

int vs__h_payload_set(vs__call *k) { return payload_op(k, VS_PAYLOAD_SET); }
int vs__h_payload_overwrite(vs__call *k) { return payload_op(k, VS_PAYLOAD_OVERWRITE); }
int vs__h_payload_delete(vs__call *k) { return payload_op(k, VS_PAYLOAD_DELETE); }
int vs__h_payload_clear(vs__call *k) { return payload_op(k, VS_PAYLOAD_CLEAR); }

/* ------------------------------------------------------- scroll, count --- */

int vs__h_scroll(vs__call *k) {
    cJSON *body = k->json;
    char err[VS__ERRLEN];
    uint64_t limit = 10;
    if (body && vs__rj_uint(body, "limit", 1, VS_K_MAX, &limit, err)) return vs__fail(k, 400, "Wrong input: %s", err);
    const cJSON *ob = body ? cJSON_GetObjectItemCaseSensitive(body, "order_by") : NULL;
    if (ob && !cJSON_IsNull(ob)) return vs__fail(k, 400, "Wrong input: order_by is not supported yet");
    vs_id off;
    cJSON *offj = body ? cJSON_GetObjectItemCaseSensitive(body, "offset") : NULL;
    int have_off = offj && !cJSON_IsNull(offj);
    if (have_off && vs__rj_id(offj, &off, "offset", err)) return vs__fail(k, 400, "Wrong input: %s", err);
    char *ftext = NULL;
    if (body && vs__rj_filter(cJSON_GetObjectItemCaseSensitive(body, "filter"), &ftext, err))
        return vs__fail(k, 400, "Wrong input: %s", err);
    vs__rec_fmt f;
    vs_coll_info in;
    int r = vs__read_fmt(k, body, 1, &f, &in, 0);
    vs_result *res = NULL;
    if (!r) {
        int rc = vs_scroll(k->coll, have_off ? &off : NULL, (uint32_t)limit, ftext, vs__with_bits(&f), &res);
        if (rc) r = vs__fail_coll(k, rc);
    }
    if (!r) {
        vs__sb_puts(&k->out, "{\"points\":[");
        for (size_t i = 0; i < vs_result_rows(res, 0); i++) {
            if (i) vs__sb_putc(&k->out, ',');
            vs__write_record(&k->out, res, 0, i, &f);
        }
        vs__sb_puts(&k->out, "],\"next_page_offset\":");
        vs_id next;
        if (vs_result_next(res, &next))
            vs__sb_id(&k->out, next);
        else
            vs__sb_puts(&k->out, "null");
        vs__sb_putc(&k->out, '}');
    }
    vs_result_free(res);
    cJSON_free(ftext);
    return r;
}

int vs__h_count(vs__call *k) {
    char err[VS__ERRLEN];
    char *ftext = NULL;
    if (k->json && vs__rj_filter(cJSON_GetObjectItemCaseSensitive(k->json, "filter"), &ftext, err))
        return vs__fail(k, 400, "Wrong input: %s", err);
    int exact = 1;
    if (k->json && vs__rj_bool(k->json, "exact", &exact, err)) {
        cJSON_free(ftext);
        return vs__fail(k, 400, "Wrong input: %s", err);
    }
    uint64_t n;
    int rc = vs_count(k->coll, ftext, &n);
    cJSON_free(ftext);
    if (rc) return vs__fail_coll(k, rc);
    vs__sb_printf(&k->out, "{\"count\":%llu}", (unsigned long long)n);
    return 0;
}
