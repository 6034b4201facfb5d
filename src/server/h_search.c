/*
 * h_search.c — nearest-neighbour search: /points/search, /points/query and their
 * batches. Each search of a batch runs as its own query (they may differ in filter,
 * limit and vector name); the batch answers in request order.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/points.h"

typedef struct search {
    vs_query q;
    float *vec;          /* owned */
    char *filter;        /* owned (cJSON_free) */
    vs__rec_fmt fmt;
    vs_coll_info info;   /* filled when needed (vector names, with_vector) */
    int have_info;
    vs_id exclude;       /* query by id: the point itself is not a hit */
    int has_exclude;
    cJSON *holder;       /* keeps a string id alive */
    int scroll;          /* query without a vector: points in id order */
} search;

static void search_free(search *s) {
    free(s->vec);
    cJSON_free(s->filter);
    cJSON_Delete(s->holder);
}

static int need_info(vs__call *k, search *s) {
    if (s->have_info) return 0;
    int rc = vs_coll_info_get(k->coll, &s->info);
    if (rc) return vs__fail_coll(k, rc);
    s->have_info = 1;
    return 0;
}

/* A dense vector given inline: its length is its dimension (the library checks it
 * against the field). */
static int inline_vector(vs__call *k, search *s, const cJSON *arr, const char *what) {
    int rj; /* a vs__rj_* failure: the library code for the answer */
    char err[VS__ERRLEN];
    int n = cJSON_GetArraySize(arr);
    if (n < VS_DIM_MIN || n > VS_DIM_MAX)
        return vs__fail(k, 400, "Wrong input: %s must hold %d to %d numbers", what, VS_DIM_MIN, VS_DIM_MAX);
    if (!(s->vec = malloc((size_t)n * sizeof(float)))) return vs__fail(k, 500, "Service internal error: out of memory");
    if ((rj = vs__rj_floats(arr, s->vec, (uint32_t)n, what, err))) return vs__fail_rc(k, rj, err);
    s->q.vectors = s->vec;
    s->q.dim = (uint32_t)n;
    return 0;
}

/* The vector of a stored point (Qdrant's query by id). */
static int vector_of_point(vs__call *k, search *s, cJSON *idj) {
    int rj; /* a vs__rj_* failure: the library code for the answer */
    char err[VS__ERRLEN];
    if ((rj = vs__rj_id(idj, &s->exclude, "query", err))) return vs__fail_rc(k, rj, err);
    if (need_info(k, s)) return -1;
    int f = vs__field_index(&s->info, s->q.field, err);
    if (f < 0) return vs__fail(k, 400, "Wrong input: %s", err);
    vs_result *r;
    int rc = vs_get(k->coll, &s->exclude, 1, VS_WITH_VECTOR, &r);
    if (rc) return vs__fail_coll(k, rc);
    int ret = 0;
    uint32_t dim = 0;
    const float *v = vs_result_rows(r, 0) ? vs_result_vector(r, 0, 0, (size_t)f, &dim) : NULL;
    if (!v)
        ret = vs__fail(k, 404, "Not found: No point with id %s found",
                       cJSON_IsString(idj) ? idj->valuestring : "given");
    else if (!(s->vec = malloc(dim * sizeof(float))))
        ret = vs__fail(k, 500, "Service internal error: out of memory");
    else {
        memcpy(s->vec, v, dim * sizeof(float));
        s->q.vectors = s->vec;
        s->q.dim = dim;
        s->has_exclude = 1;
        if (s->exclude.kind == VS_ID_STR) { /* the id points into idj, which the body owns */
            s->holder = cJSON_CreateString(idj->valuestring);
            if (!s->holder) ret = vs__fail(k, 500, "Service internal error: out of memory");
            else s->exclude.str = s->holder->valuestring;
        }
    }
    vs_result_free(r);
    return ret;
}

/* Everything but the vector: limit, offset, filter, params, threshold, with_*. */
static int common(vs__call *k, search *s, const cJSON *o) {
    char err[VS__ERRLEN];
    uint64_t limit = 10, offset = 0;
    if (vs__rj_uint(o, "limit", 1, VS_K_MAX, &limit, err) ||
        vs__rj_uint(o, "offset", 0, VS_K_MAX, &offset, err))
        return vs__fail(k, 400, "Wrong input: %s", err);
    if (limit + offset > VS_K_MAX)
        return vs__fail(k, 400, "Wrong input: limit + offset must be at most %d", VS_K_MAX);
    s->q.k = (uint32_t)limit;
    s->q.offset = (uint32_t)offset;
    if (vs__rj_filter(cJSON_GetObjectItemCaseSensitive(o, "filter"), &s->filter, err))
        return vs__fail(k, 400, "Wrong input: %s", err);
    s->q.filter = s->filter;
    const cJSON *th = cJSON_GetObjectItemCaseSensitive(o, "score_threshold");
    if (th && !cJSON_IsNull(th)) {
        if (!cJSON_IsNumber(th) || !isfinite(th->valuedouble))
            return vs__fail(k, 400, "Wrong input: score_threshold must be a number");
        s->q.has_threshold = 1;
        s->q.score_threshold = (float)th->valuedouble;
    }
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "params");
    if (p && !cJSON_IsNull(p)) {
        if (!cJSON_IsObject(p)) return vs__fail(k, 400, "Wrong input: params must be an object");
        uint64_t ef = 0;
        int exact = 0;
        if (vs__rj_uint(p, "hnsw_ef", 0, VS_HNSW_EF_MAX, &ef, err) || vs__rj_bool(p, "exact", &exact, err))
            return vs__fail(k, 400, "Wrong input: params.%s", err);
        s->q.ef = (uint32_t)ef;
        if (exact) s->q.flags |= VS_QUERY_EXACT;
        const cJSON *qu = cJSON_GetObjectItemCaseSensitive(p, "quantization");
        if (qu && !cJSON_IsNull(qu)) {
            int ignore = 0, rescore = 1;
            if (!cJSON_IsObject(qu) || vs__rj_bool(qu, "ignore", &ignore, err) ||
                vs__rj_bool(qu, "rescore", &rescore, err))
                return vs__fail(k, 400, "Wrong input: params.quantization: %s",
                                cJSON_IsObject(qu) ? err : "must be an object");
            const cJSON *os = cJSON_GetObjectItemCaseSensitive(qu, "oversampling");
            if (os && !cJSON_IsNull(os)) {
                if (!cJSON_IsNumber(os) || os->valuedouble < VS_OVERSAMPLING_MIN ||
                    os->valuedouble > VS_OVERSAMPLING_MAX)
                    return vs__fail(k, 400, "Wrong input: params.quantization.oversampling must be %g to %g",
                                    (double)VS_OVERSAMPLING_MIN, (double)VS_OVERSAMPLING_MAX);
                s->q.oversampling = (float)os->valuedouble;
            }
            if (ignore) s->q.flags |= VS_QUERY_IGNORE_QUANT;
            if (!rescore) s->q.flags |= VS_QUERY_NO_RESCORE;
        }
    }
    if (vs__read_fmt(k, o, 0, &s->fmt, &s->info, 0)) return -1;
    if (s->fmt.info) s->have_info = 1;
    s->fmt.score = 1;
    s->q.with = vs__with_bits(&s->fmt);
    if (k->profile) s->q.flags |= VS_QUERY_PROFILE;
    return 0;
}

/* A /points/search body. */
static int parse_search(vs__call *k, search *s, const cJSON *o) {
    vs_query_init(&s->q);
    if (!cJSON_IsObject(o)) return vs__fail(k, 400, "Wrong input: a search must be an object");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "vector");
    if (!v) return vs__fail(k, 400, "Wrong input: \"vector\" is missing");
    if (cJSON_IsObject(v)) { /* NamedVector {"name", "vector"} */
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(v, "name");
        if (!cJSON_IsString(name)) return vs__fail(k, 400, "Wrong input: vector.name must be a string");
        s->q.field = name->valuestring;
        v = cJSON_GetObjectItemCaseSensitive(v, "vector");
        if (cJSON_IsObject(v)) return vs__fail(k, 400, "Wrong input: sparse vectors are not supported yet");
    }
    if (!cJSON_IsArray(v)) return vs__fail(k, 400, "Wrong input: \"vector\" must be an array of numbers or {name, vector}");
    if (inline_vector(k, s, v, "vector")) return -1;
    return common(k, s, o);
}

/* A /points/query body. */
static int parse_query(vs__call *k, search *s, cJSON *o) {
    vs_query_init(&s->q);
    if (!cJSON_IsObject(o)) return vs__fail(k, 400, "Wrong input: a query must be an object");
    static const char *const unsupported[] = {"prefetch", "lookup_from"};
    for (size_t i = 0; i < 2; i++) {
        const cJSON *u = cJSON_GetObjectItemCaseSensitive(o, unsupported[i]);
        if (u && !cJSON_IsNull(u) && !(cJSON_IsArray(u) && !u->child))
            return vs__fail(k, 400, "Wrong input: %s is not supported yet", unsupported[i]);
    }
    const cJSON *using = cJSON_GetObjectItemCaseSensitive(o, "using");
    if (using && !cJSON_IsNull(using)) {
        if (!cJSON_IsString(using)) return vs__fail(k, 400, "Wrong input: using must be a vector name");
        s->q.field = using->valuestring;
    }
    if (common(k, s, o)) return -1;
    cJSON *q = cJSON_GetObjectItemCaseSensitive(o, "query");
    if (!q || cJSON_IsNull(q)) {
        s->scroll = 1;
        return 0;
    }
    if (cJSON_IsObject(q)) {
        cJSON *n = cJSON_GetObjectItemCaseSensitive(q, "nearest");
        if (!n) {
            const char *what = q->child && q->child->string ? q->child->string : "?";
            return vs__fail(k, 400, "Wrong input: query {\"%.40s\": …} is not supported yet (use a vector, "
                                    "a point id or {\"nearest\": …})", what);
        }
        q = n;
    }
    if (cJSON_IsArray(q)) {
        if (q->child && cJSON_IsArray(q->child))
            return vs__fail(k, 400, "Wrong input: multi-vector queries are not supported yet");
        return inline_vector(k, s, q, "query");
    }
    if (cJSON_IsNumber(q) || cJSON_IsString(q)) return vector_of_point(k, s, q);
    if (cJSON_IsObject(q) && cJSON_GetObjectItemCaseSensitive(q, "indices"))
        return vs__fail(k, 400, "Wrong input: sparse vectors are not supported yet");
    return vs__fail(k, 400, "Wrong input: query must be a vector, a point id or {\"nearest\": …}");
}

/* Runs s and writes its hits as a JSON array. */
static int run(vs__call *k, search *s, vs__sb *profiles) {
    vs_result *r = NULL;
    int rc;
    if (s->scroll) {
        rc = vs_scroll(k->coll, NULL, s->q.k + s->q.offset, s->filter, s->q.with, &r);
    } else {
        if (s->has_exclude) s->q.k++; /* room for the point itself, dropped below */
        rc = vs_query_run(k->coll, &s->q, &r);
        if (s->has_exclude) s->q.k--;
    }
    if (rc) {
        vs_result_free(r);
        return vs__fail_coll(k, rc);
    }
    if (s->fmt.vmask && !s->fmt.info) s->fmt.info = &s->info;
    vs__sb_putc(&k->out, '[');
    size_t rows = vs_result_rows(r, 0), written = 0;
    for (size_t i = s->scroll ? s->q.offset : 0; i < rows && written < s->q.k; i++) {
        if (s->has_exclude) {
            vs_id id = vs_result_id(r, 0, i);
            if (id.kind == s->exclude.kind &&
                (id.kind == VS_ID_NUM ? id.num == s->exclude.num
                                      : id.len == s->exclude.len && !memcmp(id.str, s->exclude.str, id.len)))
                continue;
        }
        if (written++) vs__sb_putc(&k->out, ',');
        vs__write_record(&k->out, r, 0, i, &s->fmt);
    }
    vs__sb_putc(&k->out, ']');
    if (profiles && !s->scroll) {
        const char *p = vs_result_profile(r, VS_PROFILE_JSON);
        if (profiles->len) vs__sb_putc(profiles, ',');
        vs__sb_puts(profiles, p ? p : "null");
    }
    vs_result_free(r);
    return 0;
}

static int take_profile(vs__call *k, vs__sb *p, int batch) {
    if (!k->profile) return 0;
    vs__sb out = {0};
    if (batch) vs__sb_putc(&out, '[');
    if (p->len) vs__sb_put(&out, p->p, p->len);
    else vs__sb_puts(&out, "null");
    if (batch) vs__sb_putc(&out, ']');
    if (out.oom) {
        vs__sb_free(&out);
        return vs__fail(k, 500, "Service internal error: out of memory");
    }
    k->profile_json = vs__sb_take(&out, NULL);
    return 0;
}

int vs__h_search(vs__call *k) {
    if (!k->json) return vs__fail(k, 400, "Wrong input: a body with \"vector\" is required");
    search s;
    memset(&s, 0, sizeof s);
    vs__sb prof = {0};
    int r = parse_search(k, &s, k->json);
    if (!r) r = run(k, &s, k->profile ? &prof : NULL);
    if (!r) r = take_profile(k, &prof, 0);
    search_free(&s);
    vs__sb_free(&prof);
    return r;
}

int vs__h_query(vs__call *k) {
    search s;
    memset(&s, 0, sizeof s);
    vs__sb prof = {0};
    cJSON *empty = NULL;
    cJSON *body = k->json ? k->json : (empty = cJSON_CreateObject());
    if (!body) return vs__fail(k, 500, "Service internal error: out of memory");
    int r = parse_query(k, &s, body);
    if (!r) {
        vs__sb_puts(&k->out, "{\"points\":");
        r = run(k, &s, k->profile ? &prof : NULL);
        vs__sb_putc(&k->out, '}');
    }
    if (!r) r = take_profile(k, &prof, 0);
    search_free(&s);
    vs__sb_free(&prof);
    cJSON_Delete(empty);
    return r;
}

static int batch(vs__call *k, int query) {
    cJSON *arr = k->json ? cJSON_GetObjectItemCaseSensitive(k->json, "searches") : NULL;
    if (!cJSON_IsArray(arr)) return vs__fail(k, 400, "Wrong input: \"searches\" must be an array");
    int n = cJSON_GetArraySize(arr);
    if (n > VS_SERVER_BATCH_SEARCHES_MAX)
        return vs__fail(k, 400, "Wrong input: %d searches, at most %d in one batch", n, VS_SERVER_BATCH_SEARCHES_MAX);
    /* Parse all before running any: a bad search fails the batch before work is done. */
    search *s = calloc((size_t)(n ? n : 1), sizeof *s);
    if (!s) return vs__fail(k, 500, "Service internal error: out of memory");
    vs__sb prof = {0};
    int r = 0, i = 0;
    cJSON *e;
    cJSON_ArrayForEach(e, arr) {
        if (k->profile) k->profile = 1;
        r = query ? parse_query(k, &s[i], e) : parse_search(k, &s[i], e);
        if (r) {
            char inner[sizeof k->err];
            snprintf(inner, sizeof inner, "%s", k->err);
            vs__fail(k, k->err_status, "%s (searches[%d])", inner, i);
            break;
        }
        i++;
    }
    if (!r) {
        vs__sb_putc(&k->out, '[');
        for (int j = 0; j < n && !r; j++) {
            if (j) vs__sb_putc(&k->out, ',');
            if (query) vs__sb_puts(&k->out, "{\"points\":");
            r = run(k, &s[j], k->profile ? &prof : NULL);
            if (query) vs__sb_putc(&k->out, '}');
        }
        vs__sb_putc(&k->out, ']');
    }
    if (!r) r = take_profile(k, &prof, 1);
    for (int j = 0; j < n; j++) search_free(&s[j]);
    free(s);
    vs__sb_free(&prof);
    return r;
}

int vs__h_search_batch(vs__call *k) { return batch(k, 0); }
int vs__h_query_batch(vs__call *k) { return batch(k, 1); }
