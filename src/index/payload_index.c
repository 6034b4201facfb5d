/*
 * payload_index.c — sorted (key, row) entries per segment and path (payload_index.h).
 */
#include "index/payload_index.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "geo/geo.h"
#include "os/file.h"
#include "query/datetime.h"
#include "storage/frame.h"
#include "util/alloc.h"
#include "util/checksum.h"
#include "util/jtext.h"
#include "vecstore.h"

#define PIDX_MAGIC "VSSEGPIX"
#define TAIL_MIN 1024 /* live index: unsorted entries tolerated before a merge */

struct vs__pidx {
    int type;
    char *path; /* canonical text */
    vs__fpath *fp; /* live: the compiled path, for syncs */
    int live;
    pthread_mutex_t mu; /* live only */
    size_t rows;
    uint64_t changes;
    /* entries: [0, nsorted) sorted by (key, row); [nsorted, n) in row order */
    uint64_t *key;
    uint32_t *row;
    double *ll; /* geo: lat, lon of each entry (2 per entry), the exact point */
    size_t n, cap, nsorted;
    /* term dictionary (keyword, text): bytes tb[toff[i] .. + tlen[i]) */
    char *tb;
    size_t tblen, tbcap;
    uint64_t *toff;
    uint32_t *tlen;
    size_t nterms, tcap;
    uint32_t *hash; /* open addressing: term id + 1, 0 = empty; hcap a power of two */
    size_t hcap;
    int incomplete; /* a numeric value the keys cannot hold exactly */
    int multi;      /* a row with more than one value (text: more than one string) */
};

/* ---------------------------------------------------------------- keys ---- */

static uint64_t enc_i64(int64_t v) { return (uint64_t)v ^ (1ull << 63); }
static int64_t dec_i64(uint64_t k) { return (int64_t)(k ^ (1ull << 63)); }
static uint64_t enc_f64(double d) {
    uint64_t b;
    memcpy(&b, &d, 8);
    return (b >> 63) ? ~b : b | (1ull << 63);
}
static double dec_f64(uint64_t k) {
    uint64_t b = (k >> 63) ? k & ~(1ull << 63) : ~k;
    double d;
    memcpy(&d, &b, 8);
    return d;
}

/* The number a key stands for (integer and float indexes). */
static long double key_num(const vs__pidx *x, uint64_t k) {
    return x->type == VS_PINDEX_FLOAT ? (long double)dec_f64(k) : (long double)dec_i64(k);
}

/* An integral long double as an int64 key; 0 if it is not one. */
static int num_i64(long double v, int64_t *out) {
    if (!(v == floorl(v)) || v < -9223372036854775808.0L || v >= 9223372036854775808.0L) return 0;
    *out = (int64_t)v;
    return 1;
}

static int num_f64(long double v, double *out) {
    double d = (double)v;
    if ((long double)d != v) return 0;
    *out = d;
    return 1;
}

/* ---------------------------------------------------------------- terms ---- */

static uint64_t term_hash(const char *s, size_t len) { return vs__checksum(s, len); }

static int term_find(const vs__pidx *x, const char *s, size_t len, uint32_t *id) {
    if (!x->hcap) return 0;
    size_t m = x->hcap - 1;
    for (size_t i = term_hash(s, len) & m;; i = (i + 1) & m) {
        uint32_t h = x->hash[i];
        if (!h) return 0;
        if (x->tlen[h - 1] == len && (len == 0 || !memcmp(x->tb + x->toff[h - 1], s, len))) {
            *id = h - 1;
            return 1;
        }
    }
}

static int hash_rebuild(vs__pidx *x, size_t cap) {
    uint32_t *h = vs__calloc(cap, sizeof *h);
    if (!h) return VS_ENOMEM;
    for (size_t t = 0; t < x->nterms; t++) {
        size_t i = term_hash(x->tb + x->toff[t], x->tlen[t]) & (cap - 1);
        while (h[i]) i = (i + 1) & (cap - 1);
        h[i] = (uint32_t)t + 1;
    }
    vs__free(x->hash);
    x->hash = h;
    x->hcap = cap;
    return VS_OK;
}

static int term_intern(vs__pidx *x, const char *s, size_t len, uint32_t *id) {
    if (term_find(x, s, len, id)) return VS_OK;
    if (len > UINT32_MAX || x->nterms >= UINT32_MAX - 1) return VS_ERANGE;
    if ((x->nterms + 1) * 2 > x->hcap && hash_rebuild(x, x->hcap ? x->hcap * 2 : 64))
        return VS_ENOMEM;
    if (x->nterms == x->tcap) {
        size_t nc = x->tcap ? x->tcap * 2 : 64;
        uint64_t *o = vs__realloc(x->toff, nc * sizeof *o);
        if (!o) return VS_ENOMEM;
        x->toff = o;
        uint32_t *l = vs__realloc(x->tlen, nc * sizeof *l);
        if (!l) return VS_ENOMEM;
        x->tlen = l;
        x->tcap = nc;
    }
    if (x->tblen + len > x->tbcap) {
        size_t nc = x->tbcap ? x->tbcap : 1024;
        while (nc < x->tblen + len) nc *= 2;
        char *b = vs__realloc(x->tb, nc);
        if (!b) return VS_ENOMEM;
        x->tb = b;
        x->tbcap = nc;
    }
    if (len) memcpy(x->tb + x->tblen, s, len);
    x->toff[x->nterms] = x->tblen;
    x->tlen[x->nterms] = (uint32_t)len;
    x->tblen += len;
    size_t i = term_hash(s, len) & (x->hcap - 1);
    while (x->hash[i]) i = (i + 1) & (x->hcap - 1);
    x->hash[i] = (uint32_t)x->nterms + 1;
    *id = (uint32_t)x->nterms++;
    return VS_OK;
}

/* -------------------------------------------------------------- building ---- */

typedef struct bctx {
    vs__pidx *x;
    uint64_t *k; /* this row's keys */
    double *ll;  /* geo: this row's points, 2 per key */
    size_t nk, capk;
    size_t nvals;
    char *w; /* folded word */
    size_t wcap;
} bctx;

static int push_key(bctx *b, uint64_t k) {
    if (b->nk == b->capk) {
        size_t nc = b->capk ? b->capk * 2 : 16;
        uint64_t *p = vs__realloc(b->k, nc * sizeof *p);
        if (!p) return VS_ENOMEM;
        b->k = p;
        if (b->x->type == VS_PINDEX_GEO) {
            double *l = vs__realloc(b->ll, nc * 2 * sizeof *l);
            if (!l) return VS_ENOMEM;
            b->ll = l;
        }
        b->capk = nc;
    }
    b->k[b->nk++] = k;
    return 0;
}

static int on_value(void *arg, const vs__fval *v) {
    bctx *b = arg;
    vs__pidx *x = b->x;
    uint32_t id;
    int rc;
    switch (x->type) {
    case VS_PINDEX_KEYWORD:
        if (v->type != VS__JT_STR) return 0;
        b->nvals++;
        if ((rc = term_intern(x, v->s, v->len, &id))) return rc < 0 ? rc : VS_ENOMEM;
        return push_key(b, id);
    case VS_PINDEX_TEXT: {
        if (v->type != VS__JT_STR) return 0;
        b->nvals++;
        size_t i = 0, a, wl;
        while (vs__filter_next_word(v->s, v->len, &i, &a, &wl)) {
            if (wl > b->wcap) {
                char *nw = vs__realloc(b->w, wl);
                if (!nw) return VS_ENOMEM;
                b->w = nw;
                b->wcap = wl;
            }
            for (size_t j = 0; j < wl; j++) b->w[j] = vs__filter_fold(v->s[a + j]);
            if ((rc = term_intern(x, b->w, wl, &id))) return rc < 0 ? rc : VS_ENOMEM;
            if ((rc = push_key(b, id))) return rc;
        }
        return 0;
    }
    case VS_PINDEX_INTEGER: {
        if (v->type != VS__JT_NUM) return 0;
        int64_t i64;
        b->nvals++;
        if (!num_i64(v->num, &i64)) {
            x->incomplete = 1;
            return 0;
        }
        return push_key(b, enc_i64(i64));
    }
    case VS_PINDEX_FLOAT: {
        if (v->type != VS__JT_NUM) return 0;
        double d;
        b->nvals++;
        if (!num_f64(v->num, &d)) {
            x->incomplete = 1;
            return 0;
        }
        return push_key(b, enc_f64(d));
    }
    case VS_PINDEX_BOOL:
        if (v->type != VS__JT_TRUE && v->type != VS__JT_FALSE) return 0;
        b->nvals++;
        return push_key(b, v->type == VS__JT_TRUE);
    case VS_PINDEX_GEO:
        if (!v->geo) return 0;
        b->nvals++;
        if ((rc = push_key(b, vs__s2_from_latlng(v->lat, v->lon)))) return rc;
        b->ll[2 * (b->nk - 1)] = v->lat;
        b->ll[2 * (b->nk - 1) + 1] = v->lon;
        return 0;
    case VS_PINDEX_DATETIME: {
        if (v->type != VS__JT_STR) return 0;
        int64_t us;
        size_t at;
        const char *why;
        if (vs__datetime_parse(v->s, v->len, &us, &at, &why)) return 0;
        b->nvals++;
        return push_key(b, enc_i64(us));
    }
    }
    return 0;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int reserve(vs__pidx *x, size_t need) {
    if (need <= x->cap) return VS_OK;
    size_t nc = x->cap ? x->cap : 1024;
    while (nc < need) nc *= 2;
    uint64_t *k = vs__realloc(x->key, nc * sizeof *k);
    if (!k) return VS_ENOMEM;
    x->key = k;
    uint32_t *r = vs__realloc(x->row, nc * sizeof *r);
    if (!r) return VS_ENOMEM;
    x->row = r;
    if (x->type == VS_PINDEX_GEO) {
        double *l = vs__realloc(x->ll, nc * 2 * sizeof *l);
        if (!l) return VS_ENOMEM;
        x->ll = l;
    }
    x->cap = nc;
    return VS_OK;
}

/* Geo: a row's points sorted by cell, exact repeats dropped (the keys alone would merge
 * distinct points 1 cm apart). */
static size_t geo_unique(uint64_t *k, double *ll, size_t n) {
    for (size_t i = 1; i < n; i++) { /* insertion sort: rows hold few points */
        uint64_t kk = k[i];
        double a = ll[2 * i], o = ll[2 * i + 1];
        size_t j = i;
        while (j > 0 && k[j - 1] > kk) {
            k[j] = k[j - 1];
            ll[2 * j] = ll[2 * j - 2];
            ll[2 * j + 1] = ll[2 * j - 1];
            j--;
        }
        k[j] = kk;
        ll[2 * j] = a;
        ll[2 * j + 1] = o;
    }
    size_t u = 0;
    for (size_t i = 0; i < n; i++) {
        int dup = 0;
        for (size_t j = u; j-- > 0 && k[j] == k[i];)
            if (ll[2 * j] == ll[2 * i] && ll[2 * j + 1] == ll[2 * i + 1]) dup = 1;
        if (dup) continue;
        k[u] = k[i];
        ll[2 * u] = ll[2 * i];
        ll[2 * u + 1] = ll[2 * i + 1];
        u++;
    }
    return u;
}

/* Appends the entries of rows [from, to) in row order. On failure the entries are cut
 * back (terms interned meanwhile stay: unused terms are harmless). */
static int add_rows(vs__pidx *x, const vs__fpath *path, size_t from, size_t to,
                    vs__pidx_payload_fn pay, void *ctx, vs__err *e) {
    bctx b = {x, NULL, NULL, 0, 0, 0, NULL, 0};
    vs__filter_ctx fx;
    vs__filter_ctx_init(&fx);
    size_t n0 = x->n;
    int rc = VS_OK, multi = x->multi;
    for (size_t r = from; r < to && !rc; r++) {
        size_t len;
        const char *p = pay(ctx, r, &len);
        b.nk = b.nvals = 0;
        if (!p) continue;
        rc = vs__fpath_values(path, &fx, p, len, on_value, &b, e);
        if (rc > 0) rc = VS_OK;
        if (rc) break;
        if (b.nvals > 1) multi = 1;
        if (b.ll && b.nk > 1) {
            b.nk = geo_unique(b.k, b.ll, b.nk);
        } else if (b.nk > 1) { /* distinct keys per row */
            qsort(b.k, b.nk, sizeof *b.k, cmp_u64);
            size_t u = 1;
            for (size_t i = 1; i < b.nk; i++)
                if (b.k[i] != b.k[u - 1]) b.k[u++] = b.k[i];
            b.nk = u;
        }
        if ((rc = reserve(x, x->n + b.nk))) break;
        for (size_t i = 0; i < b.nk; i++) {
            if (x->ll) {
                x->ll[2 * x->n] = b.ll[2 * i];
                x->ll[2 * x->n + 1] = b.ll[2 * i + 1];
            }
            x->key[x->n] = b.k[i];
            x->row[x->n++] = (uint32_t)r;
        }
    }
    vs__free(b.k);
    vs__free(b.ll);
    vs__free(b.w);
    vs__filter_ctx_release(&fx);
    if (rc) {
        x->n = n0;
        if (rc == VS_ENOMEM) return vs__errf(e, VS_ENOMEM, "out of memory building a payload index");
        if (rc == VS_ERANGE) return vs__errf(e, VS_ERANGE, "payload index on '%s': too many terms", x->path);
        return rc;
    }
    x->multi = multi;
    return VS_OK;
}

/* Stable LSD radix sort of (key, row [, point]) by key, over the bytes that vary. ll:
 * NULL, or the geo points (2 doubles per entry) carried along. */
static int sort_entries(uint64_t *key, uint32_t *row, double *ll, size_t n) {
    if (n < 2) return VS_OK;
    uint64_t diff = 0;
    for (size_t i = 1; i < n; i++) diff |= key[i] ^ key[0];
    if (!diff) return VS_OK;
    uint64_t *k2 = vs__malloc(n * sizeof *k2);
    uint32_t *r2 = vs__malloc(n * sizeof *r2);
    double *l2 = ll ? vs__malloc(n * 2 * sizeof *l2) : NULL;
    if (!k2 || !r2 || (ll && !l2)) {
        vs__free(k2);
        vs__free(r2);
        vs__free(l2);
        return VS_ENOMEM;
    }
    uint64_t *ks = key, *kd = k2;
    uint32_t *rs = row, *rd = r2;
    double *ls = ll, *ld = l2;
    for (int sh = 0; sh < 64; sh += 8) {
        if (!((diff >> sh) & 0xff)) continue;
        size_t cnt[257] = {0};
        for (size_t i = 0; i < n; i++) cnt[((ks[i] >> sh) & 0xff) + 1]++;
        for (int d = 0; d < 256; d++) cnt[d + 1] += cnt[d];
        for (size_t i = 0; i < n; i++) {
            size_t at = cnt[(ks[i] >> sh) & 0xff]++;
            kd[at] = ks[i];
            rd[at] = rs[i];
            if (ls) {
                ld[2 * at] = ls[2 * i];
                ld[2 * at + 1] = ls[2 * i + 1];
            }
        }
        uint64_t *tk = ks;
        ks = kd, kd = tk;
        uint32_t *tr = rs;
        rs = rd, rd = tr;
        double *tl = ls;
        ls = ld, ld = tl;
    }
    if (ks != key) {
        memcpy(key, ks, n * sizeof *key);
        memcpy(row, rs, n * sizeof *row);
        if (ll) memcpy(ll, ls, n * 2 * sizeof *ll);
    }
    vs__free(k2);
    vs__free(r2);
    vs__free(l2);
    return VS_OK;
}

/* Sorts the tail and merges it into the sorted run (tail rows are all newer). */
static int merge_tail(vs__pidx *x) {
    size_t t = x->n - x->nsorted;
    if (!t) return VS_OK;
    if (sort_entries(x->key + x->nsorted, x->row + x->nsorted, x->ll ? x->ll + 2 * x->nsorted : NULL, t))
        return VS_ENOMEM;
    if (x->nsorted == 0) {
        x->nsorted = x->n;
        return VS_OK;
    }
    uint64_t *k = vs__malloc(x->cap * sizeof *k);
    uint32_t *r = vs__malloc(x->cap * sizeof *r);
    double *l = x->ll ? vs__malloc(x->cap * 2 * sizeof *l) : NULL;
    if (!k || !r || (x->ll && !l)) {
        vs__free(k);
        vs__free(r);
        vs__free(l);
        return VS_ENOMEM;
    }
    size_t i = 0, j = x->nsorted, o = 0;
    while (i < x->nsorted || j < x->n) {
        int from_main = j == x->n || (i < x->nsorted && x->key[i] <= x->key[j]);
        size_t s = from_main ? i++ : j++;
        if (l) {
            l[2 * o] = x->ll[2 * s];
            l[2 * o + 1] = x->ll[2 * s + 1];
        }
        k[o] = x->key[s];
        r[o++] = x->row[s];
    }
    vs__free(x->key);
    vs__free(x->row);
    vs__free(x->ll);
    x->key = k;
    x->row = r;
    x->ll = l;
    x->nsorted = x->n;
    return VS_OK;
}

/* A frozen index never grows: give back the doubling slack (a failed shrink keeps the
 * larger block, which is still correct). */
static void shrink_to_fit(vs__pidx *x) {
    if (x->cap <= x->n || x->n == 0) return;
    uint64_t *k = vs__realloc(x->key, x->n * sizeof *k);
    if (k) x->key = k;
    uint32_t *r = vs__realloc(x->row, x->n * sizeof *r);
    if (r) x->row = r;
    double *l = x->ll ? vs__realloc(x->ll, x->n * 2 * sizeof *l) : NULL;
    if (l) x->ll = l;
    x->cap = x->n; /* every block holds at least n, shrunk or not */
}

static vs__pidx *pidx_new(const vs__fpath *path, int type) {
    vs__pidx *x = vs__calloc(1, sizeof *x);
    if (!x) return NULL;
    x->type = type;
    if (!(x->path = vs__strdup(vs__fpath_text(path)))) {
        vs__free(x);
        return NULL;
    }
    return x;
}

static void pidx_clear(vs__pidx *x) {
    vs__free(x->key);
    vs__free(x->row);
    vs__free(x->ll);
    vs__free(x->tb);
    vs__free(x->toff);
    vs__free(x->tlen);
    vs__free(x->hash);
}

void vs__pidx_free(vs__pidx *x) {
    if (!x) return;
    pidx_clear(x);
    if (x->live) pthread_mutex_destroy(&x->mu);
    vs__fpath_free(x->fp);
    vs__free(x->path);
    vs__free(x);
}

void vs__pidx_free_void(void *x) { vs__pidx_free(x); }

int vs__pidx_build(const vs__fpath *path, int type, size_t rows, vs__pidx_payload_fn pay,
                   void *ctx, vs__pidx **out, vs__err *e) {
    *out = NULL;
    vs__pidx *x = pidx_new(path, type);
    if (!x) return vs__errf(e, VS_ENOMEM, "out of memory building a payload index");
    int rc = add_rows(x, path, 0, rows, pay, ctx, e);
    if (!rc && sort_entries(x->key, x->row, x->ll, x->n))
        rc = vs__errf(e, VS_ENOMEM, "out of memory building a payload index");
    if (rc) {
        vs__pidx_free(x);
        return rc;
    }
    x->nsorted = x->n;
    x->rows = rows;
    shrink_to_fit(x);
    *out = x;
    return VS_OK;
}

int vs__pidx_new_live(const vs__fpath *path, int type, vs__pidx **out, vs__err *e) {
    if (!(*out = pidx_new(path, type)))
        return vs__errf(e, VS_ENOMEM, "out of memory creating a payload index");
    int rc = vs__fpath_compile(vs__fpath_text(path), &(*out)->fp, e);
    if (rc) {
        vs__pidx_free(*out);
        *out = NULL;
        return rc;
    }
    (*out)->live = 1;
    pthread_mutex_init(&(*out)->mu, NULL);
    return VS_OK;
}

int vs__pidx_type(const vs__pidx *x) { return x->type; }
const char *vs__pidx_path(const vs__pidx *x) { return x->path; }
int vs__pidx_is_live(const vs__pidx *x) { return x->live; }
size_t vs__pidx_rows(const vs__pidx *x) { return x->rows; }
size_t vs__pidx_entries(const vs__pidx *x) { return x->n; }
int vs__pidx_multi(const vs__pidx *x) { return x->multi; }
size_t vs__pidx_memory(const vs__pidx *x) {
    return sizeof *x + x->cap * (x->type == VS_PINDEX_GEO ? 28 : 12) + x->tbcap + x->tcap * 12 +
           x->hcap * 4;
}

void vs__pidx_lock(vs__pidx *x) {
    if (x->live) pthread_mutex_lock(&x->mu);
}
void vs__pidx_unlock(vs__pidx *x) {
    if (x->live) pthread_mutex_unlock(&x->mu);
}

int vs__pidx_sync(vs__pidx *x, size_t rows, uint64_t changes, vs__pidx_payload_fn pay,
                  void *ctx, vs__err *e) {
    if (!x->live) return VS_OK;
    const vs__fpath *path = x->fp;
    if (changes != x->changes) { /* a payload changed in place: start over */
        vs__pidx *y;
        int rc = vs__pidx_build(path, x->type, rows, pay, ctx, &y, e);
        if (rc) return rc;
        pidx_clear(x);
        x->key = y->key, x->row = y->row, x->ll = y->ll, x->n = y->n, x->cap = y->cap;
        x->nsorted = y->nsorted;
        x->tb = y->tb, x->tblen = y->tblen, x->tbcap = y->tbcap;
        x->toff = y->toff, x->tlen = y->tlen, x->nterms = y->nterms, x->tcap = y->tcap;
        x->hash = y->hash, x->hcap = y->hcap;
        x->incomplete = y->incomplete, x->multi = y->multi;
        x->rows = rows;
        x->changes = changes;
        vs__free(y->path);
        vs__free(y);
        return VS_OK;
    }
    if (rows <= x->rows) return VS_OK;
    int rc = add_rows(x, path, x->rows, rows, pay, ctx, e);
    if (rc) return rc;
    x->rows = rows;
    size_t tail = x->n - x->nsorted;
    if (tail > TAIL_MIN && tail > x->nsorted / 8) merge_tail(x); /* failure: stays a tail */
    return VS_OK;
}

int vs__pidx_merge(vs__pidx *x, vs__err *e) {
    if (merge_tail(x)) return vs__errf(e, VS_ENOMEM, "out of memory sorting a payload index");
    return VS_OK;
}

void vs__pidx_freeze(vs__pidx *x) {
    if (!x->live) return;
    if (x->nsorted == x->n) shrink_to_fit(x);
    pthread_mutex_destroy(&x->mu);
    x->live = 0;
}

/* ------------------------------------------------------------- queries ---- */

/* First sorted entry with key >= k. */
static size_t lower(const vs__pidx *x, uint64_t k) {
    size_t lo = 0, hi = x->nsorted;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (x->key[mid] < k)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Geo: the sorted entries whose leaf cell lies in S2 cell `cell`, [*a, *b). */
static void cell_slice(const vs__pidx *x, vs__s2cell cell, size_t *a, size_t *b) {
    *a = lower(x, vs__s2_range_min(cell));
    *b = lower(x, vs__s2_range_max(cell) + 1);
}

/* The query keys of an EQ leaf the index answers (vs__pidx_answers), sorted; *nk may be
 * 0 (no value can be present: matches nothing). keys must hold nnum + nstr + 2. */
static void eq_keys(const vs__pidx *x, const vs__fleaf *lf, uint64_t *keys, size_t *nk) {
    size_t n = 0;
    switch (x->type) {
    case VS_PINDEX_KEYWORD:
        for (size_t i = 0; i < lf->nstr; i++) {
            uint32_t id;
            if (term_find(x, lf->strs[i].s, lf->strs[i].len, &id)) keys[n++] = id;
        }
        break;
    case VS_PINDEX_INTEGER:
    case VS_PINDEX_FLOAT:
        for (size_t i = 0; i < lf->nnum; i++) {
            int64_t v;
            double d;
            if (x->type == VS_PINDEX_INTEGER ? num_i64(lf->nums[i], &v) : num_f64(lf->nums[i], &d))
                keys[n++] = x->type == VS_PINDEX_INTEGER ? enc_i64(v) : enc_f64(d);
        }
        break;
    case VS_PINDEX_BOOL:
        if (lf->bools & 1u) keys[n++] = 0;
        if (lf->bools & 2u) keys[n++] = 1;
        break;
    }
    qsort(keys, n, sizeof *keys, cmp_u64);
    *nk = n;
}

static int in_keys(const uint64_t *keys, size_t nk, uint64_t k) {
    size_t lo = 0, hi = nk;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (keys[mid] < k)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < nk && keys[lo] == k;
}

/* Does the key satisfy the lower / upper bounds of a range leaf? */
static int low_ok(const vs__pidx *x, const vs__fleaf *lf, uint64_t k) {
    if (lf->op == VS__LEAF_DTRANGE) {
        int64_t v = dec_i64(k);
        return (!(lf->bounds & VS__BOUND_GT) || v > lf->dgt) &&
               (!(lf->bounds & VS__BOUND_GTE) || v >= lf->dgte);
    }
    long double v = key_num(x, k);
    return (!(lf->bounds & VS__BOUND_GT) || v > lf->gt) &&
           (!(lf->bounds & VS__BOUND_GTE) || v >= lf->gte);
}
static int high_ok(const vs__pidx *x, const vs__fleaf *lf, uint64_t k) {
    if (lf->op == VS__LEAF_DTRANGE) {
        int64_t v = dec_i64(k);
        return (!(lf->bounds & VS__BOUND_LT) || v < lf->dlt) &&
               (!(lf->bounds & VS__BOUND_LTE) || v <= lf->dlte);
    }
    long double v = key_num(x, k);
    return (!(lf->bounds & VS__BOUND_LT) || v < lf->lt) &&
           (!(lf->bounds & VS__BOUND_LTE) || v <= lf->lte);
}

/* The sorted slice of a range leaf. */
static void range_slice(const vs__pidx *x, const vs__fleaf *lf, size_t *a, size_t *b) {
    size_t lo = 0, hi = x->nsorted;
    while (lo < hi) { /* first entry meeting the lower bounds */
        size_t mid = lo + (hi - lo) / 2;
        if (low_ok(x, lf, x->key[mid]))
            hi = mid;
        else
            lo = mid + 1;
    }
    *a = lo;
    hi = x->nsorted;
    while (lo < hi) { /* first entry past the upper bounds */
        size_t mid = lo + (hi - lo) / 2;
        if (high_ok(x, lf, x->key[mid]))
            lo = mid + 1;
        else
            hi = mid;
    }
    *b = lo;
}

int vs__pidx_answers(const vs__pidx *x, const vs__fleaf *lf) {
    if (strcmp(lf->path, x->path)) return -1;
    int ok = 0;
    switch (lf->op) {
    case VS__LEAF_EQ:
        switch (x->type) {
        case VS_PINDEX_KEYWORD: ok = !lf->nnum && !lf->bools; break;
        case VS_PINDEX_INTEGER:
        case VS_PINDEX_FLOAT: ok = !lf->nstr && !lf->bools && !x->incomplete; break;
        case VS_PINDEX_BOOL: ok = !lf->nstr && !lf->nnum; break;
        }
        return ok ? 1 : -1;
    case VS__LEAF_RANGE:
        ok = (x->type == VS_PINDEX_INTEGER || x->type == VS_PINDEX_FLOAT) && !x->incomplete;
        return ok ? 1 : -1;
    case VS__LEAF_DTRANGE: return x->type == VS_PINDEX_DATETIME ? 1 : -1;
    case VS__LEAF_TEXT:
        ok = x->type == VS_PINDEX_TEXT && lf->nwords > 0 && lf->nwords <= 64;
        return ok ? !x->multi : -1;
    case VS__LEAF_GEO: return x->type == VS_PINDEX_GEO ? 1 : -1;
    }
    return -1;
}

/* Term ids of a TEXT leaf's words: 1 all present, 0 some word is in no row. */
static int text_terms(const vs__pidx *x, const vs__fleaf *lf, uint32_t *ids) {
    for (size_t i = 0; i < lf->nwords; i++)
        if (!term_find(x, lf->words[i].s, lf->words[i].len, &ids[i])) return 0;
    return 1;
}

static size_t count_key(const vs__pidx *x, uint64_t k) {
    size_t a = lower(x, k), c = 0;
    while (a + c < x->nsorted && x->key[a + c] == k) c++;
    for (size_t i = x->nsorted; i < x->n; i++) c += x->key[i] == k;
    return c;
}

double vs__pidx_estimate(const vs__pidx *x, const vs__fleaf *lf, int *exact) {
    int ans = vs__pidx_answers(x, lf);
    if (ans < 0) return -1;
    *exact = ans;
    switch (lf->op) {
    case VS__LEAF_EQ: {
        uint64_t kbuf[64], *keys = kbuf;
        size_t want = lf->nnum + lf->nstr + 2, nk;
        if (want > 64 && !(keys = vs__malloc(want * sizeof *keys))) return -1;
        double r = 0;
        eq_keys(x, lf, keys, &nk);
        for (size_t i = 0; i < nk; i++) r += (double)count_key(x, keys[i]);
        if (keys != kbuf) vs__free(keys);
        return r;
    }
    case VS__LEAF_RANGE:
    case VS__LEAF_DTRANGE: {
        size_t lo, hi, c = 0;
        range_slice(x, lf, &lo, &hi);
        for (size_t i = x->nsorted; i < x->n; i++)
            c += low_ok(x, lf, x->key[i]) && high_ok(x, lf, x->key[i]);
        return (double)(hi - lo + c);
    }
    case VS__LEAF_TEXT: {
        uint32_t ids[64];
        if (!text_terms(x, lf, ids)) {
            *exact = 1; /* some word is in no row: exactly none */
            return 0;
        }
        double m = (double)x->rows;
        for (size_t i = 0; i < lf->nwords; i++) {
            double c = (double)count_key(x, ids[i]);
            if (c < m) m = c;
        }
        return m;
    }
    case VS__LEAF_GEO: {
        /* Entries in the covering's cells: an upper bound (boundary cells' points are
         * checked by vs__pidx_rows_of, so the answer itself is exact). */
        const vs__s2_covering *cv = vs__geo_region_covering(lf->geo);
        size_t c = 0;
        for (size_t i = 0; i < cv->n; i++) {
            size_t a, b;
            cell_slice(x, cv->cells[i], &a, &b);
            c += b - a;
        }
        return (double)(c + (x->n - x->nsorted));
    }
    }
    return -1;
}

static void set_rows_key(const vs__pidx *x, uint64_t k, uint64_t *bits) {
    for (size_t a = lower(x, k); a < x->nsorted && x->key[a] == k; a++)
        bits[x->row[a] >> 6] |= 1ull << (x->row[a] & 63);
    for (size_t i = x->nsorted; i < x->n; i++)
        if (x->key[i] == k) bits[x->row[i] >> 6] |= 1ull << (x->row[i] & 63);
}

int vs__pidx_rows_of(const vs__pidx *x, const vs__fleaf *lf, uint64_t *bits, int *exact) {
    int ans = vs__pidx_answers(x, lf);
    if (ans < 0) return 1;
    *exact = ans;
    switch (lf->op) {
    case VS__LEAF_EQ: {
        uint64_t kbuf[64], *keys = kbuf;
        size_t want = lf->nnum + lf->nstr + 2, nk;
        if (want > 64 && !(keys = vs__malloc(want * sizeof *keys))) return VS_ENOMEM;
        eq_keys(x, lf, keys, &nk);
        if (nk <= 8) {
            for (size_t i = 0; i < nk; i++) set_rows_key(x, keys[i], bits);
        } else { /* many values: one pass over the tail */
            for (size_t i = 0; i < nk; i++)
                for (size_t a = lower(x, keys[i]); a < x->nsorted && x->key[a] == keys[i]; a++)
                    bits[x->row[a] >> 6] |= 1ull << (x->row[a] & 63);
            for (size_t i = x->nsorted; i < x->n; i++)
                if (in_keys(keys, nk, x->key[i])) bits[x->row[i] >> 6] |= 1ull << (x->row[i] & 63);
        }
        if (keys != kbuf) vs__free(keys);
        return VS_OK;
    }
    case VS__LEAF_RANGE:
    case VS__LEAF_DTRANGE: {
        size_t lo, hi;
        range_slice(x, lf, &lo, &hi);
        for (size_t i = lo; i < hi; i++) bits[x->row[i] >> 6] |= 1ull << (x->row[i] & 63);
        for (size_t i = x->nsorted; i < x->n; i++)
            if (low_ok(x, lf, x->key[i]) && high_ok(x, lf, x->key[i]))
                bits[x->row[i] >> 6] |= 1ull << (x->row[i] & 63);
        return VS_OK;
    }
    case VS__LEAF_TEXT: {
        uint32_t ids[64];
        if (!text_terms(x, lf, ids)) {
            *exact = 1; /* some word is in no row: exactly none */
            return VS_OK;
        }
        size_t nw = (x->rows + 63) / 64;
        uint64_t *acc = vs__calloc(nw + 1, 8), *one = lf->nwords > 1 ? vs__malloc(nw * 8 + 8) : NULL;
        if (!acc || (lf->nwords > 1 && !one)) {
            vs__free(acc);
            vs__free(one);
            return VS_ENOMEM;
        }
        set_rows_key(x, ids[0], acc);
        for (size_t w = 1; w < lf->nwords; w++) {
            memset(one, 0, nw * 8 + 8);
            set_rows_key(x, ids[w], one);
            for (size_t i = 0; i < nw; i++) acc[i] &= one[i];
        }
        for (size_t i = 0; i < nw; i++) bits[i] |= acc[i];
        vs__free(acc);
        vs__free(one);
        return VS_OK;
    }
    case VS__LEAF_GEO: {
        /* Cells the region holds whole need no check; the boundary cells' points are
         * tested exactly with the coordinates kept beside the keys. */
        const vs__s2_covering *cv = vs__geo_region_covering(lf->geo);
        for (size_t i = 0; i < cv->n; i++) {
            size_t a, b;
            cell_slice(x, cv->cells[i], &a, &b);
            if (cv->inside[i]) {
                for (size_t j = a; j < b; j++) bits[x->row[j] >> 6] |= 1ull << (x->row[j] & 63);
                continue;
            }
            for (size_t j = a; j < b; j++)
                if (vs__geo_region_contains(lf->geo, x->ll[2 * j], x->ll[2 * j + 1]))
                    bits[x->row[j] >> 6] |= 1ull << (x->row[j] & 63);
        }
        for (size_t j = x->nsorted; j < x->n; j++)
            if (vs__geo_region_contains(lf->geo, x->ll[2 * j], x->ll[2 * j + 1]))
                bits[x->row[j] >> 6] |= 1ull << (x->row[j] & 63);
        return VS_OK;
    }
    }
    return 1;
}

int vs__pidx_geo_scan(const vs__pidx *x, const vs__s2_covering *cv, vs__pidx_geo_fn fn,
                      void *ctx) {
    if (x->type != VS_PINDEX_GEO) return 0;
    for (size_t i = 0; i < cv->n; i++) {
        size_t a, b;
        cell_slice(x, cv->cells[i], &a, &b);
        for (size_t j = a; j < b; j++) {
            int r = fn(ctx, x->row[j], x->ll[2 * j], x->ll[2 * j + 1]);
            if (r) return r;
        }
    }
    for (size_t j = x->nsorted; j < x->n; j++) {
        int r = fn(ctx, x->row[j], x->ll[2 * j], x->ll[2 * j + 1]);
        if (r) return r;
    }
    return 0;
}

/* --------------------------------------------------------------- files ---- */

/* Body (little-endian):
 *   u32 type | u32 flags (1 incomplete, 2 multi) | u64 rows | u64 n | u64 nterms
 *   u64 term bytes | u32 path length | path bytes | zero pad to 8
 *   n × u64 key | n × u32 row | pad to 8 | nterms × u64 offset | nterms × u32 length
 *   | pad to 8 | term bytes | geo only: pad to 8 | n × (f64 lat, f64 lon)
 * A geo entry's key is the S2 leaf cell of its point (checked on load). */
static void file_name(char *buf, size_t cap, const char *path_text, int type) {
    uint64_t h = vs__checksum_seed(path_text, strlen(path_text), (uint64_t)type);
    snprintf(buf, cap, "pidx-%016" PRIx64, h);
}

static size_t pad8(size_t n) { return (n + 7) & ~(size_t)7; }

int vs__pidx_save(const vs__pidx *x, const char *seg_dir, vs__err *e) {
    size_t pl = strlen(x->path);
    size_t geo_off = pad8(44 + pl) + pad8(x->n * 12) + pad8(x->nterms * 12) + pad8(x->tblen);
    size_t len = x->type == VS_PINDEX_GEO ? geo_off + x->n * 16
                                          : pad8(44 + pl) + pad8(x->n * 12) + pad8(x->nterms * 12) + x->tblen;
    uint8_t *b = vs__calloc(1, len ? len : 1), *p = b;
    if (!b) return vs__errf(e, VS_ENOMEM, "out of memory saving a payload index");
    vs__put_u32(p, (uint32_t)x->type);
    vs__put_u32(p + 4, (uint32_t)(x->incomplete | x->multi << 1));
    vs__put_u64(p + 8, x->rows);
    vs__put_u64(p + 16, x->n);
    vs__put_u64(p + 24, x->nterms);
    vs__put_u64(p + 32, x->tblen);
    vs__put_u32(p + 40, (uint32_t)pl);
    memcpy(p + 44, x->path, pl);
    p += pad8(44 + pl);
    for (size_t i = 0; i < x->n; i++) vs__put_u64(p + 8 * i, x->key[i]);
    p += 8 * x->n;
    for (size_t i = 0; i < x->n; i++) vs__put_u32(p + 4 * i, x->row[i]);
    p = b + pad8(44 + pl) + pad8(x->n * 12);
    for (size_t i = 0; i < x->nterms; i++) vs__put_u64(p + 8 * i, x->toff[i]);
    p += 8 * x->nterms;
    for (size_t i = 0; i < x->nterms; i++) vs__put_u32(p + 4 * i, x->tlen[i]);
    p = b + pad8(44 + pl) + pad8(x->n * 12) + pad8(x->nterms * 12);
    if (x->tblen) memcpy(p, x->tb, x->tblen);
    if (x->type == VS_PINDEX_GEO)
        for (size_t i = 0; i < 2 * x->n; i++) {
            uint64_t u;
            memcpy(&u, &x->ll[i], 8);
            vs__put_u64(b + geo_off + 8 * i, u);
        }
    char name[40], path[4200];
    file_name(name, sizeof name, x->path, x->type);
    int rc = vs__path_join(path, sizeof path, seg_dir, name, e);
    if (!rc) rc = vs__frame_write_file(path, PIDX_MAGIC, b, len, e);
    vs__free(b);
    return rc;
}

void vs__pidx_unlink(const char *seg_dir, const char *path_text, int type) {
    char name[40], path[4200];
    file_name(name, sizeof name, path_text, type);
    if (vs__path_join(path, sizeof path, seg_dir, name, NULL) == VS_OK) vs__file_unlink(path, NULL);
}

int vs__pidx_load(const char *seg_dir, const vs__fpath *fpath, int type, size_t rows,
                  vs__pidx **out, vs__err *e) {
    *out = NULL;
    char name[40], path[4200];
    const char *pt = vs__fpath_text(fpath);
    file_name(name, sizeof name, pt, type);
    int rc = vs__path_join(path, sizeof path, seg_dir, name, e);
    if (rc) return rc;
    if (!vs__path_exists(path)) return vs__errf(e, VS_ENOTFOUND, "%s: no payload index file", path);
    uint8_t *b;
    size_t len;
    if ((rc = vs__frame_read_file(path, PIDX_MAGIC, &b, &len, e))) return rc;
    vs__pidx *x = NULL;
    size_t pl = strlen(pt);
#define BAD(why)                                                                       \
    do {                                                                               \
        rc = vs__errf(e, VS_ECORRUPT, "%s: payload index %s", path, why);              \
        goto fail;                                                                     \
    } while (0)
    if (len < 44) BAD("is truncated");
    uint64_t n = vs__get_u64(b + 16), nt = vs__get_u64(b + 24), tbl = vs__get_u64(b + 32);
    uint32_t flags = vs__get_u32(b + 4);
    if ((int)vs__get_u32(b) != type || vs__get_u32(b + 40) != pl || len < 44 + pl ||
        memcmp(b + 44, pt, pl))
        BAD("is for another path or type");
    if (vs__get_u64(b + 8) != rows) BAD("covers another number of rows");
    if (n > len / 12 || nt > len / 12 || tbl > len || flags > 3) BAD("has bad counts");
    size_t off = pad8(44 + pl);
    size_t geo_off = off + pad8(n * 12) + pad8(nt * 12) + pad8(tbl);
    if (type == VS_PINDEX_GEO ? (n > (len - geo_off) / 16 || geo_off + n * 16 != len)
                              : off + pad8(n * 12) + pad8(nt * 12) + tbl != len)
        BAD("has the wrong size");
    if (type != VS_PINDEX_KEYWORD && type != VS_PINDEX_TEXT && (nt || tbl)) BAD("has stray terms");
    if (!(x = pidx_new(fpath, type))) goto oom;
    x->rows = rows;
    x->incomplete = flags & 1;
    x->multi = (flags >> 1) & 1;
    if (reserve(x, n ? n : 1)) goto oom;
    const uint8_t *kp = b + off, *rp = kp + 8 * n;
    for (size_t i = 0; i < n; i++) {
        x->key[i] = vs__get_u64(kp + 8 * i);
        x->row[i] = vs__get_u32(rp + 4 * i);
        if (x->row[i] >= rows) BAD("names a row past the segment");
        if (i && (x->key[i] < x->key[i - 1] || (x->key[i] == x->key[i - 1] && x->row[i] <= x->row[i - 1])))
            BAD("is not sorted");
        if ((type == VS_PINDEX_KEYWORD || type == VS_PINDEX_TEXT) && x->key[i] >= nt)
            BAD("names an unknown term");
        if (type == VS_PINDEX_BOOL && x->key[i] > 1) BAD("holds a bad boolean");
        if (type == VS_PINDEX_GEO) {
            uint64_t ua = vs__get_u64(b + geo_off + 16 * i), uo = vs__get_u64(b + geo_off + 16 * i + 8);
            memcpy(&x->ll[2 * i], &ua, 8);
            memcpy(&x->ll[2 * i + 1], &uo, 8);
            if (vs__geo_check(x->ll[2 * i], x->ll[2 * i + 1]) ||
                vs__s2_from_latlng(x->ll[2 * i], x->ll[2 * i + 1]) != x->key[i])
                BAD("holds a bad point");
        }
    }
    x->n = x->nsorted = n;
    if (nt) {
        const uint8_t *op = b + off + pad8(n * 12), *lp = op + 8 * nt;
        const uint8_t *tp = b + off + pad8(n * 12) + pad8(nt * 12);
        if (!(x->toff = vs__malloc(nt * 8)) || !(x->tlen = vs__malloc(nt * 4)) ||
            !(x->tb = vs__malloc(tbl ? tbl : 1)))
            goto oom;
        x->tcap = nt;
        x->tbcap = tbl ? tbl : 1;
        memcpy(x->tb, tp, tbl);
        x->tblen = tbl;
        for (size_t i = 0; i < nt; i++) {
            x->toff[i] = vs__get_u64(op + 8 * i);
            x->tlen[i] = vs__get_u32(lp + 4 * i);
            if (x->toff[i] > tbl || x->tlen[i] > tbl - x->toff[i]) BAD("has a bad term");
        }
        x->nterms = nt;
        size_t hc = 64;
        while (hc < nt * 2) hc *= 2;
        if (hash_rebuild(x, hc)) goto oom;
        for (size_t i = 0; i < nt; i++) { /* each term once */
            uint32_t id;
            if (!term_find(x, x->tb + x->toff[i], x->tlen[i], &id) || id != i) BAD("repeats a term");
        }
    }
#undef BAD
    vs__free(b);
    *out = x;
    return VS_OK;
oom:
    rc = vs__errf(e, VS_ENOMEM, "out of memory loading a payload index");
fail:
    vs__free(b);
    vs__pidx_free(x);
    return rc;
}

/* ---------------------------------------------------------------- names ---- */

static const char *const type_names[] = {NULL, "keyword", "integer", "float", "bool", "datetime", "text", "geo"};

const char *vs__pindex_type_name(int type) {
    return type >= VS_PINDEX_KEYWORD && type <= VS_PINDEX_GEO ? type_names[type] : "unknown";
}

int vs__pindex_type_parse(const char *s) {
    if (!s) return -1;
    for (int t = VS_PINDEX_KEYWORD; t <= VS_PINDEX_GEO; t++)
        if (!strcmp(s, type_names[t])) return t;
    return -1;
}
