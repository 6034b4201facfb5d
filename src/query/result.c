/*
 * result.c — the result object: groups of rows with owned ids, payloads and vectors.
 */
#include "query/result.h"

#include "query/profile.h"

#include <math.h>
#include <string.h>

#include "util/alloc.h"

typedef struct rrow {
    vs_id id;
    float score;
    char *payload;
    float *vecs; /* all fields concatenated, or NULL */
} rrow;

struct vs_result {
    size_t ngroups, capgroups;
    size_t *gstart; /* row index where each group starts */
    rrow *rows;
    size_t nrows, caprows;
    uint32_t nfields;
    uint32_t dims[VS_FIELDS_MAX];
    uint32_t voff[VS_FIELDS_MAX];
    int has_next;
    vs_id next;
    struct vs__prof *prof;          /* VS_QUERY_PROFILE: the query's stage tree */
    char *prof_text[VS_PROFILE_NFORMATS]; /* exports, made on first request */
    int64_t *mat_ids;               /* vs_result_matrix: groups x mat_k, made once */
    float *mat_scores;
    uint32_t mat_k;
};

int vs__result_new(uint32_t nfields, const uint32_t *dims, vs_result **out) {
    vs_result *r = vs__calloc(1, sizeof *r);
    if (!r) return VS_ENOMEM;
    r->nfields = nfields;
    uint32_t off = 0;
    for (uint32_t f = 0; f < nfields; f++) {
        r->dims[f] = dims[f];
        r->voff[f] = off;
        off += dims[f];
    }
    *out = r;
    return VS_OK;
}

int vs__result_group(vs_result *r) {
    if (r->ngroups == r->capgroups) {
        size_t cap = r->capgroups ? r->capgroups * 2 : 4;
        size_t *g = vs__realloc(r->gstart, (cap + 1) * sizeof *g);
        if (!g) return VS_ENOMEM;
        r->gstart = g;
        r->capgroups = cap;
    }
    r->gstart[r->ngroups++] = r->nrows;
    return VS_OK;
}

static char *dup_id(const vs__rowid *id) {
    return id->kind == VS_ID_STR ? vs__strndup(id->str, id->len) : NULL;
}

int vs__result_add(vs_result *r, const vs__rowid *id, float score, const char *payload,
                   size_t plen, const float *const *vecs) {
    if (r->nrows == r->caprows) {
        size_t cap = r->caprows ? r->caprows * 2 : 16;
        rrow *n = vs__realloc(r->rows, cap * sizeof *n);
        if (!n) return VS_ENOMEM;
        r->rows = n;
        r->caprows = cap;
    }
    rrow *w = &r->rows[r->nrows];
    memset(w, 0, sizeof *w);
    w->id.kind = id->kind;
    w->id.num = id->num;
    w->id.len = id->len;
    w->score = score;
    if (id->kind == VS_ID_STR && !(w->id.str = dup_id(id))) return VS_ENOMEM;
    if (payload && !(w->payload = vs__strndup(payload, plen))) goto oom;
    if (vecs) {
        size_t total = 0;
        for (uint32_t f = 0; f < r->nfields; f++) total += r->dims[f];
        if (!(w->vecs = vs__malloc(total * sizeof(float)))) goto oom;
        for (uint32_t f = 0; f < r->nfields; f++)
            memcpy(w->vecs + r->voff[f], vecs[f], r->dims[f] * sizeof(float));
    }
    r->nrows++;
    return VS_OK;
oom:
    vs__free((void *)w->id.str);
    vs__free(w->payload);
    return VS_ENOMEM;
}

int vs__result_set_next(vs_result *r, const vs__rowid *id) {
    char *s = NULL;
    if (id->kind == VS_ID_STR && !(s = dup_id(id))) return VS_ENOMEM;
    r->has_next = 1;
    r->next.kind = id->kind;
    r->next.num = id->num;
    r->next.str = s;
    r->next.len = id->len;
    return VS_OK;
}

void vs_result_free(vs_result *r) {
    if (!r) return;
    for (size_t i = 0; i < r->nrows; i++) {
        vs__free((void *)r->rows[i].id.str);
        vs__free(r->rows[i].payload);
        vs__free(r->rows[i].vecs);
    }
    vs__free((void *)r->next.str);
    vs__prof_free(r->prof);
    for (int f = 0; f < VS_PROFILE_NFORMATS; f++) vs__free(r->prof_text[f]);
    vs__free(r->mat_ids);
    vs__free(r->mat_scores);
    vs__free(r->rows);
    vs__free(r->gstart);
    vs__free(r);
}

size_t vs_result_groups(const vs_result *r) { return r ? r->ngroups : 0; }

static const rrow *row_at(const vs_result *r, size_t g, size_t i) {
    if (!r || g >= r->ngroups) return NULL;
    size_t a = r->gstart[g], b = g + 1 < r->ngroups ? r->gstart[g + 1] : r->nrows;
    if (i >= b - a) return NULL;
    return &r->rows[a + i];
}

size_t vs_result_rows(const vs_result *r, size_t g) {
    if (!r || g >= r->ngroups) return 0;
    size_t a = r->gstart[g], b = g + 1 < r->ngroups ? r->gstart[g + 1] : r->nrows;
    return b - a;
}

vs_id vs_result_id(const vs_result *r, size_t g, size_t i) {
    const rrow *w = row_at(r, g, i);
    vs_id none = {0, 0, NULL, 0};
    return w ? w->id : none;
}

float vs_result_score(const vs_result *r, size_t g, size_t i) {
    const rrow *w = row_at(r, g, i);
    return w ? w->score : NAN;
}

const char *vs_result_payload(const vs_result *r, size_t g, size_t i) {
    const rrow *w = row_at(r, g, i);
    return w ? w->payload : NULL;
}

const float *vs_result_vector(const vs_result *r, size_t g, size_t i, size_t fi, uint32_t *dim) {
    const rrow *w = row_at(r, g, i);
    if (!w || !w->vecs || fi >= r->nfields) return NULL;
    if (dim) *dim = r->dims[fi];
    return w->vecs + r->voff[fi];
}

int vs_result_next(const vs_result *r, vs_id *next) {
    if (!r || !r->has_next) return 0;
    if (next) *next = r->next;
    return 1;
}

void vs__result_set_profile(vs_result *r, struct vs__prof *p) {
    vs__prof_free(r->prof);
    r->prof = p;
}

const char *vs_result_profile(vs_result *r, int format) {
    if (!r || !r->prof || format < 0 || format >= VS_PROFILE_NFORMATS) return NULL;
    if (!r->prof_text[format]) {
        switch (format) {
        case VS_PROFILE_JSON: r->prof_text[format] = vs__prof_json(r->prof); break;
        case VS_PROFILE_FOLDED: r->prof_text[format] = vs__prof_folded(r->prof); break;
        case VS_PROFILE_SVG: r->prof_text[format] = vs__prof_svg(r->prof); break;
        default: r->prof_text[format] = vs__prof_text(r->prof); break;
        }
    }
    return r->prof_text[format];
}

int vs_result_matrix(vs_result *r, uint32_t k, const int64_t **ids, const float **scores) {
    if (!r || !ids || !scores) return VS_EINVAL;
    *ids = NULL;
    *scores = NULL;
    if (r->mat_ids) {
        if (k != r->mat_k) return VS_EINVAL;
        *ids = r->mat_ids;
        *scores = r->mat_scores;
        return VS_OK;
    }
    /* Every id must be numeric and fit int64 (the -1 padding needs the sign bit). */
    for (size_t i = 0; i < r->nrows; i++)
        if (r->rows[i].id.kind != VS_ID_NUM || r->rows[i].id.num > (uint64_t)INT64_MAX) return VS_ERANGE;
    size_t cells = r->ngroups * (size_t)k;
    if (k && cells / k != r->ngroups) return VS_ERANGE;
    /* One allocation even for an empty matrix, so a successful call never gives NULL. */
    int64_t *mi = vs__malloc((cells ? cells : 1) * sizeof *mi);
    float *ms = vs__malloc((cells ? cells : 1) * sizeof *ms);
    if (!mi || !ms) {
        vs__free(mi);
        vs__free(ms);
        return VS_ENOMEM;
    }
    for (size_t g = 0; g < r->ngroups; g++) {
        size_t n = vs_result_rows(r, g), a = r->gstart[g];
        if (n > k) n = k;
        for (size_t i = 0; i < k; i++) {
            mi[g * k + i] = i < n ? (int64_t)r->rows[a + i].id.num : -1;
            ms[g * k + i] = i < n ? r->rows[a + i].score : NAN;
        }
    }
    r->mat_ids = mi;
    r->mat_scores = ms;
    r->mat_k = k;
    *ids = mi;
    *scores = ms;
    return VS_OK;
}
