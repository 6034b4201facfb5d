/*
 * h_search.c — nearest-neighbour search: /points/search, /points/query and their
 * batches. Each search of a batch runs as its own query (they may differ in filter,
 * limit and vector name); the batch answers in request order.
 *
 * Geo ranking rides on Qdrant's Query API formula (score boosting), of which VecStore
 * runs the two shapes its library has an operation for:
 *   - hybrid: {"prefetch": {"query": V, "limit": N, ...}, "query": {"formula":
 *     {"sum"|"mult": ["$score", DECAY]}}}, DECAY a gauss_decay/exp_decay/lin_decay of
 *     {"geo_distance": {"origin", "to"}} (in a sum, optionally {"mult": [W, DECAY]}):
 *     vs_query with a vs_decay over the prefetch's N candidates (Qdrant's midpoint is
 *     vs_decay.decay, "offset" a VecStore extension);
 *   - nearest first: {"query": {"formula": {"neg": {"geo_distance": …}}}} without a
 *     prefetch: vs_geo_nearest, each score the formula's value, −metres.
 * Any other formula is refused with 400 naming the construct, before anything runs.
 * Values the library checks (coordinate ranges, scale > 0, 0 < midpoint < 1) are left to
 * it, so the answer carries its code (VS_EINVAL) like any other refusal.
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
    vs_decay decay;      /* a formula's decay; q.decay points here when there is one */
    vs_geo_query geo;    /* nearest first: {"neg": {"geo_distance": …}} */
    int nearest;
    int empty;           /* the answer is [] without running anything */
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

/* o's "params" (search parameters: hnsw_ef, exact, quantization), if any; where
 * prefixes the messages ("prefetch."). */
static int parse_params(vs__call *k, search *s, const cJSON *o, const char *where) {
    char err[VS__ERRLEN];
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "params");
    if (!p || cJSON_IsNull(p)) return 0;
    if (!cJSON_IsObject(p)) return vs__fail(k, 400, "Wrong input: %sparams must be an object", where);
    uint64_t ef = 0;
    int exact = 0;
    if (vs__rj_uint(p, "hnsw_ef", 0, VS_HNSW_EF_MAX, &ef, err) || vs__rj_bool(p, "exact", &exact, err))
        return vs__fail(k, 400, "Wrong input: %sparams.%s", where, err);
    if (ef) s->q.ef = (uint32_t)ef;
    if (exact) s->q.flags |= VS_QUERY_EXACT;
    const cJSON *qu = cJSON_GetObjectItemCaseSensitive(p, "quantization");
    if (qu && !cJSON_IsNull(qu)) {
        int ignore = 0, rescore = 1;
        if (!cJSON_IsObject(qu) || vs__rj_bool(qu, "ignore", &ignore, err) ||
            vs__rj_bool(qu, "rescore", &rescore, err))
            return vs__fail(k, 400, "Wrong input: %sparams.quantization: %s", where,
                            cJSON_IsObject(qu) ? err : "must be an object");
        const cJSON *os = cJSON_GetObjectItemCaseSensitive(qu, "oversampling");
        if (os && !cJSON_IsNull(os)) {
            if (!cJSON_IsNumber(os) || os->valuedouble < VS_OVERSAMPLING_MIN ||
                os->valuedouble > VS_OVERSAMPLING_MAX)
                return vs__fail(k, 400, "Wrong input: %sparams.quantization.oversampling must be %g to %g",
                                where, (double)VS_OVERSAMPLING_MIN, (double)VS_OVERSAMPLING_MAX);
            s->q.oversampling = (float)os->valuedouble;
        }
        if (ignore) s->q.flags |= VS_QUERY_IGNORE_QUANT;
        if (!rescore) s->q.flags |= VS_QUERY_NO_RESCORE;
    }
    return 0;
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
    if (parse_params(k, s, o, "")) return -1;
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

/* ------------------------------------------------------------- formulas ---- */

/* What names a JSON value in a message: an object's first key, else its type. */
static const char *shape_of(const cJSON *j) {
    if (cJSON_IsObject(j)) return j->child && j->child->string ? j->child->string : "{}";
    if (cJSON_IsArray(j)) return "[…]";
    if (cJSON_IsString(j)) return j->valuestring;
    if (cJSON_IsNumber(j)) return "a number";
    return "null";
}

/* "$score" (Qdrant's score of the prefetch; "$score[0]" names the only one). */
static int is_score_var(const cJSON *j) {
    return cJSON_IsString(j) && (!strcmp(j->valuestring, "$score") || !strcmp(j->valuestring, "$score[0]"));
}

static int decay_func_of(const cJSON *j) {
    if (!cJSON_IsObject(j) || !j->child || j->child->next) return 0;
    const char *n = j->child->string;
    return !strcmp(n, "gauss_decay") ? VS_DECAY_GAUSS
           : !strcmp(n, "exp_decay") ? VS_DECAY_EXP
           : !strcmp(n, "lin_decay") ? VS_DECAY_LINEAR
                                     : 0;
}

/* An optional number member of o (null = absent). */
static int opt_num(vs__call *k, const cJSON *o, const char *key, const char *where, double *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsNumber(v)) return vs__fail(k, 400, "Wrong input: formula: %s.%s must be a number", where, key);
    *out = v->valuedouble;
    return 0;
}

/* {"geo_distance": {"origin": {"lat", "lon"}, "to": PATH}}: the coordinates' ranges are
 * the library's to check (it names them, with its code). */
static int parse_geo_distance(vs__call *k, const cJSON *x, const char *where, double *lat, double *lon,
                              const char **key) {
    const cJSON *g = cJSON_IsObject(x) ? cJSON_GetObjectItemCaseSensitive(x, "geo_distance") : NULL;
    if (!g)
        return vs__fail(k, 400, "Wrong input: formula: %s must be {\"geo_distance\": {\"origin\": {\"lat\", \"lon\"}, "
                                "\"to\": key}}; \"%.40s\" is not supported", where, shape_of(x));
    for (const cJSON *m = x->child; m; m = m->next)
        if (strcmp(m->string, "geo_distance"))
            return vs__fail(k, 400, "Wrong input: formula: %s.%.40s is not supported (only geo_distance)", where,
                            m->string);
    if (!cJSON_IsObject(g)) return vs__fail(k, 400, "Wrong input: formula: %s.geo_distance must be an object", where);
    for (const cJSON *m = g->child; m; m = m->next)
        if (strcmp(m->string, "origin") && strcmp(m->string, "to"))
            return vs__fail(k, 400, "Wrong input: formula: %s.geo_distance.%.40s is not supported", where, m->string);
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(g, "origin");
    if (!o) return vs__fail(k, 400, "Wrong input: formula: %s.geo_distance.origin is missing", where);
    const cJSON *la = cJSON_GetObjectItemCaseSensitive(o, "lat"), *lo = cJSON_GetObjectItemCaseSensitive(o, "lon");
    if (!cJSON_IsObject(o) || !cJSON_IsNumber(la) || !cJSON_IsNumber(lo))
        return vs__fail(k, 400, "Wrong input: formula: %s.geo_distance.origin must be {\"lat\": number, \"lon\": number}",
                        where);
    const cJSON *to = cJSON_GetObjectItemCaseSensitive(g, "to");
    if (!cJSON_IsString(to) || !to->valuestring[0])
        return vs__fail(k, 400, "Wrong input: formula: %s.geo_distance.to must be the payload key of the locations",
                        where);
    *lat = la->valuedouble;
    *lon = lo->valuedouble;
    *key = to->valuestring;
    return 0;
}

/* A gauss_decay / exp_decay / lin_decay of a geo_distance into s->decay. */
static int parse_decay_expr(vs__call *k, search *s, const cJSON *j) {
    vs_decay *d = &s->decay;
    d->func = decay_func_of(j);
    const char *name = j->child->string;
    const cJSON *p = j->child;
    if (!cJSON_IsObject(p)) return vs__fail(k, 400, "Wrong input: formula: %s must be an object", name);
    for (const cJSON *m = p->child; m; m = m->next)
        if (strcmp(m->string, "x") && strcmp(m->string, "target") && strcmp(m->string, "scale") &&
            strcmp(m->string, "midpoint") && strcmp(m->string, "offset"))
            return vs__fail(k, 400, "Wrong input: formula: %s.%.40s is not supported (x, target, scale, midpoint, "
                                    "offset)", name, m->string);
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(p, "x");
    if (!x) return vs__fail(k, 400, "Wrong input: formula: %s.x is missing (a {\"geo_distance\": …})", name);
    char where[40];
    snprintf(where, sizeof where, "%s.x", name);
    if (parse_geo_distance(k, x, where, &d->lat, &d->lon, &d->key)) return -1;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(p, "target");
    if (t && !cJSON_IsNull(t) && !(cJSON_IsNumber(t) && t->valuedouble == 0))
        return vs__fail(k, 400, "Wrong input: formula: %s.target must be 0 or absent (the decay is of the distance "
                                "from geo_distance.origin)", name);
    /* Qdrant's defaults: scale 1, midpoint 0.5 (the value at distance scale) */
    d->scale = 1;
    if (opt_num(k, p, "scale", name, &d->scale) || opt_num(k, p, "midpoint", name, &d->decay) ||
        opt_num(k, p, "offset", name, &d->offset))
        return -1;
    s->q.decay = d;
    return 0;
}

/* The operand of a sum that is not "$score": DECAY, or {"mult": [W, DECAY]} either way. */
static int parse_sum_term(vs__call *k, search *s, const cJSON *t) {
    s->decay.combine = VS_COMBINE_SUM;
    if (decay_func_of(t)) return parse_decay_expr(k, s, t);
    const cJSON *m = cJSON_IsObject(t) ? cJSON_GetObjectItemCaseSensitive(t, "mult") : NULL;
    if (cJSON_IsArray(m) && !t->child->next && cJSON_GetArraySize(m) == 2) {
        const cJSON *a = m->child, *b = a->next;
        if (cJSON_IsNumber(b)) a = b, b = m->child;
        if (cJSON_IsNumber(a) && decay_func_of(b)) {
            s->decay.weight = a->valuedouble;
            return parse_decay_expr(k, s, b);
        }
    }
    return vs__fail(k, 400, "Wrong input: formula: sum operand {\"%.40s\": …} is not supported (expected a "
                            "gauss_decay, exp_decay or lin_decay of geo_distance, or {\"mult\": [weight, decay]})",
                    shape_of(t));
}

/* "$score" and one other operand of a sum or mult, in either order. */
static int score_and_other(vs__call *k, const cJSON *arr, const char *op, const cJSON **other) {
    int n = cJSON_GetArraySize(arr);
    if (!cJSON_IsArray(arr) || n != 2)
        return vs__fail(k, 400, "Wrong input: formula: %s of %d operands is not supported (exactly \"$score\" and "
                                "one decay)", op, cJSON_IsArray(arr) ? n : 1);
    const cJSON *a = arr->child, *b = a->next;
    if (is_score_var(b)) a = b, b = arr->child;
    if (!is_score_var(a))
        return vs__fail(k, 400, "Wrong input: formula: %s must have \"$score\" (the prefetch's score) as an operand",
                        op);
    *other = b;
    return 0;
}

/* query.formula (see the file's head); pf is the prefetch, or NULL. */
static int parse_formula(vs__call *k, search *s, const cJSON *qo, const cJSON *pf) {
    for (const cJSON *m = qo->child; m; m = m->next)
        if (strcmp(m->string, "formula") && strcmp(m->string, "defaults"))
            return vs__fail(k, 400, "Wrong input: query: \"%.40s\" cannot be combined with a formula", m->string);
    const cJSON *df = cJSON_GetObjectItemCaseSensitive(qo, "defaults");
    if (df && !cJSON_IsNull(df) && !(cJSON_IsObject(df) && !df->child))
        return vs__fail(k, 400, "Wrong input: formula: defaults is not supported (a point without a location has "
                                "decay 0)");
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(qo, "formula");
    if (!cJSON_IsObject(f) || !f->child)
        return vs__fail(k, 400, "Wrong input: formula must be an expression object such as {\"sum\": [\"$score\", …]}");
    if (f->child->next)
        return vs__fail(k, 400, "Wrong input: formula must hold one expression, not {\"%.40s\", \"%.40s\", …}",
                        f->child->string, f->child->next->string);
    const char *op = f->child->string;
    const cJSON *arg = f->child, *other = NULL;
    vs_decay_init(&s->decay);
    if (!strcmp(op, "neg")) {
        if (pf) return vs__fail(k, 400, "Wrong input: formula: {\"neg\": {\"geo_distance\": …}} ranks every point by "
                                        "distance and takes no prefetch");
        vs_geo_query_init(&s->geo);
        if (parse_geo_distance(k, arg, "neg", &s->geo.lat, &s->geo.lon, &s->geo.key)) return -1;
        s->nearest = 1;
        return 0;
    }
    if (!strcmp(op, "sum")) {
        if (score_and_other(k, arg, op, &other) || parse_sum_term(k, s, other)) return -1;
    } else if (!strcmp(op, "mult")) {
        if (score_and_other(k, arg, op, &other)) return -1;
        if (!decay_func_of(other))
            return vs__fail(k, 400, "Wrong input: formula: mult operand {\"%.40s\": …} is not supported (expected a "
                                    "gauss_decay, exp_decay or lin_decay of geo_distance)", shape_of(other));
        s->decay.combine = VS_COMBINE_MULTIPLY;
        if (parse_decay_expr(k, s, other)) return -1;
    } else if (decay_func_of(f)) {
        return vs__fail(k, 400, "Wrong input: formula: a %s alone is not supported: combine it with the prefetch's "
                                "score, {\"sum\": [\"$score\", …]} or {\"mult\": [\"$score\", …]}", op);
    } else {
        return vs__fail(k, 400, "Wrong input: formula: \"%.40s\" is not supported (VecStore runs {\"sum\"|\"mult\": "
                                "[\"$score\", DECAY]} with a prefetch and {\"neg\": {\"geo_distance\": …}}; see "
                                "docs/http-api.md)", op);
    }
    if (!pf)
        return vs__fail(k, 400, "Wrong input: formula: a decay rescores the hits of a prefetch: add \"prefetch\": "
                                "{\"query\": [vector], \"limit\": N}");
    return 0;
}

/* Whether filter text is JSON (the library's rule: it starts with '{'). */
static int filter_is_json(const char *t) {
    while (*t == ' ' || *t == '\t' || *t == '\n' || *t == '\r') t++;
    return *t == '{';
}

/* The prefetch's filter and the body's combined with "must" (text: AND). */
static int combine_filters(vs__call *k, search *s, char *pf) {
    if (!pf) return 0;
    if (!s->filter) {
        s->filter = pf;
        s->q.filter = pf;
        return 0;
    }
    int j = filter_is_json(s->filter);
    if (j != filter_is_json(pf)) {
        cJSON_free(pf);
        return vs__fail(k, 400, "Wrong input: prefetch.filter and filter are combined with \"must\": give both as "
                                "JSON objects or both in the text syntax");
    }
    size_t n = strlen(s->filter) + strlen(pf) + 32;
    char *both = cJSON_malloc(n);
    if (both) snprintf(both, n, j ? "{\"must\":[%s,%s]}" : "(%s) AND (%s)", pf, s->filter);
    cJSON_free(pf);
    if (!both) return vs__fail(k, 500, "Service internal error: out of memory");
    cJSON_free(s->filter);
    s->filter = both;
    s->q.filter = both;
    return 0;
}

/* The vector of a query: an array, {"nearest": array} or a point id. */
static int query_vector(vs__call *k, search *s, cJSON *q, const char *what) {
    if (cJSON_IsObject(q)) {
        cJSON *n = cJSON_GetObjectItemCaseSensitive(q, "nearest");
        if (!n) {
            if (cJSON_GetObjectItemCaseSensitive(q, "indices"))
                return vs__fail(k, 400, "Wrong input: sparse vectors are not supported yet");
            return vs__fail(k, 400, "Wrong input: %s {\"%.40s\": …} is not supported yet (use a vector, "
                                    "a point id or {\"nearest\": …})", what, shape_of(q));
        }
        q = n;
    }
    if (cJSON_IsArray(q)) {
        if (q->child && cJSON_IsArray(q->child))
            return vs__fail(k, 400, "Wrong input: multi-vector queries are not supported yet");
        return inline_vector(k, s, q, what);
    }
    if (cJSON_IsNumber(q) || cJSON_IsString(q)) return vector_of_point(k, s, q);
    if (cJSON_IsObject(q) && cJSON_GetObjectItemCaseSensitive(q, "indices"))
        return vs__fail(k, 400, "Wrong input: sparse vectors are not supported yet");
    return vs__fail(k, 400, "Wrong input: %s must be a vector, a point id or {\"nearest\": …}", what);
}

/* The prefetch of a formula: its vector query, limit (the decay's candidates: a window
 * the library widens where points outside it could win, so unlike Qdrant's a small limit
 * does not cut the answer short), filter, using and params. One prefetch, not nested. */
static int parse_prefetch(vs__call *k, search *s, cJSON *pf) {
    char err[VS__ERRLEN];
    if (!cJSON_IsObject(pf)) return vs__fail(k, 400, "Wrong input: prefetch must be an object");
    static const char *const unsupported[] = {"prefetch", "lookup_from", "score_threshold"};
    for (size_t i = 0; i < 3; i++) {
        const cJSON *u = cJSON_GetObjectItemCaseSensitive(pf, unsupported[i]);
        if (u && !cJSON_IsNull(u) && !(cJSON_IsArray(u) && !u->child))
            return vs__fail(k, 400, "Wrong input: prefetch.%s is not supported", unsupported[i]);
    }
    const cJSON *using = cJSON_GetObjectItemCaseSensitive(pf, "using");
    if (using && !cJSON_IsNull(using)) {
        if (!cJSON_IsString(using)) return vs__fail(k, 400, "Wrong input: prefetch.using must be a vector name");
        s->q.field = using->valuestring;
    }
    uint64_t limit = 0;
    if (vs__rj_uint(pf, "limit", VS_DECAY_CANDIDATES_MIN, VS_DECAY_CANDIDATES_MAX, &limit, err))
        return vs__fail(k, 400, "Wrong input: prefetch.%s", err);
    s->decay.candidates = (uint32_t)limit;
    if (parse_params(k, s, pf, "prefetch.")) return -1;
    char *flt = NULL;
    if (vs__rj_filter(cJSON_GetObjectItemCaseSensitive(pf, "filter"), &flt, err))
        return vs__fail(k, 400, "Wrong input: prefetch.%s", err);
    if (combine_filters(k, s, flt)) return -1;
    cJSON *q = cJSON_GetObjectItemCaseSensitive(pf, "query");
    if (!q || cJSON_IsNull(q))
        return vs__fail(k, 400, "Wrong input: prefetch.query (the vector whose hits the formula rescores) is missing");
    return query_vector(k, s, q, "prefetch.query");
}

/* A /points/query body. */
static int parse_query(vs__call *k, search *s, cJSON *o) {
    vs_query_init(&s->q);
    if (!cJSON_IsObject(o)) return vs__fail(k, 400, "Wrong input: a query must be an object");
    const cJSON *lf = cJSON_GetObjectItemCaseSensitive(o, "lookup_from");
    if (lf && !cJSON_IsNull(lf)) return vs__fail(k, 400, "Wrong input: lookup_from is not supported yet");
    cJSON *pf = cJSON_GetObjectItemCaseSensitive(o, "prefetch");
    if (pf && (cJSON_IsNull(pf) || (cJSON_IsArray(pf) && !pf->child))) pf = NULL;
    if (cJSON_IsArray(pf)) {
        if (pf->child->next)
            return vs__fail(k, 400, "Wrong input: prefetch: %d prefetches are not supported (one, with a formula)",
                            cJSON_GetArraySize(pf));
        pf = pf->child;
    }
    const cJSON *using = cJSON_GetObjectItemCaseSensitive(o, "using");
    if (using && !cJSON_IsNull(using)) {
        if (!cJSON_IsString(using)) return vs__fail(k, 400, "Wrong input: using must be a vector name");
        s->q.field = using->valuestring;
    }
    if (common(k, s, o)) return -1;
    cJSON *q = cJSON_GetObjectItemCaseSensitive(o, "query");
    if (!q || cJSON_IsNull(q)) {
        if (pf) return vs__fail(k, 400, "Wrong input: prefetch without a formula query is not supported");
        s->scroll = 1;
        return 0;
    }
    if (cJSON_IsObject(q) && cJSON_GetObjectItemCaseSensitive(q, "formula")) {
        if (parse_formula(k, s, q, pf)) return -1;
        if (s->nearest) {
            s->geo.k = s->q.k + s->q.offset;
            s->geo.filter = s->filter;
            s->geo.with = s->q.with;
            /* the scores are −metres: a threshold is a largest distance */
            if (s->q.has_threshold) {
                if (s->q.score_threshold > 0) s->empty = 1;
                else s->geo.max_distance = -(double)s->q.score_threshold;
            }
            return 0;
        }
        return parse_prefetch(k, s, pf);
    }
    if (pf)
        return vs__fail(k, 400, "Wrong input: prefetch is supported only with a formula query ({\"formula\": "
                                "{\"sum\": [\"$score\", DECAY]}} and the like)");
    return query_vector(k, s, q, "query");
}

/* Runs s and writes its hits as a JSON array. */
static int run(vs__call *k, search *s, vs__sb *profiles) {
    vs_result *r = NULL;
    int rc;
    if (s->empty) {
        vs__sb_puts(&k->out, "[]");
        if (profiles) vs__sb_puts(profiles, profiles->len ? ",null" : "null");
        return 0;
    }
    if (s->nearest) {
        rc = vs_geo_nearest(k->coll, &s->geo, &r);
        s->fmt.score_neg = 1;
    } else if (s->scroll) {
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
    for (size_t i = s->scroll || s->nearest ? s->q.offset : 0; i < rows && written < s->q.k; i++) {
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
    if (profiles && !s->scroll) { /* nearest has no profile: null */
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
