/*
 * filter.c — the filter language of filter.h: strict compile, owned tree, evaluation on
 * payload text.
 *
 * A filter goes through three stages, each with one job:
 *
 *   1. check   — vs__json_check: strict RFC 8259 syntax with a byte offset for bad text.
 *   2. compile — walk the text once with the in-place cursor (util/jtext.h), validate every
 *                key, type and bound against the grammar in filter.h, and build an owned
 *                tree of fnode (every byte from util/alloc.h): decoded strings, sorted
 *                value sets, parsed paths, datetime bounds in microseconds, compiled
 *                regexes. The tree never points into the filter text.
 *   3. eval    — walk the payload's JSON text along each condition's path (no tree, no
 *                allocation except a scratch buffer for long escaped strings kept in the
 *                caller's vs__filter_ctx), so a filter costs only the bytes it reads.
 *
 * Invariants:
 *   - A partly built tree is always freeable: every allocation is linked into its parent
 *     (zeroed) before anything else can fail, so the single error path is "free the
 *     root". The allocation-failure sweep in the tests checks it.
 *   - Error messages name the place inside the filter ("must[1].range.gte") and the byte
 *     offset of the offending value; the place is built from grammar words and indexes,
 *     user-supplied text appears quoted and truncated.
 *   - Value sets are sorted per type at compile time, so "any" lists and has_id lists of
 *     thousands of entries cost a binary search per value, not a scan.
 *   - Nesting is limited to VS__FILTER_DEPTH_MAX, which bounds compile and eval recursion;
 *     paths are walked with recursion bounded by their length (VS__PATH_MAX components).
 */
#include "query/filter.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "geo/geo.h"
#include "query/datetime.h"
#include "query/filter_text.h"
#include "query/regex.h"
#include "util/alloc.h"
#include "util/jtext.h"
#include "util/json.h"

#define PATH_MAX_COMPS 64
#define TEXT_WORDS_MAX 64
#define SET_MAX 100000 /* values in one any/except/contains_all/has_id list */

enum fnode_kind {
    N_FILTER = 1,
    N_FIELD,    /* per-value predicate with a quantifier */
    N_CONTAINS, /* match.contains_all */
    N_COUNT,    /* values_count */
    N_HAS_ID,
    N_IS_EMPTY,
    N_IS_NULL,
    N_NESTED
};

enum pred_kind { P_EQ = 1, P_EXCEPT, P_RANGE, P_DTRANGE, P_REGEX, P_TEXT, P_GEO };
enum { Q_ANY = 0, Q_ALL = 1 };
enum { B_GT = 1, B_GTE = 2, B_LT = 4, B_LTE = 8 };
enum { C_MUST = 0, C_SHOULD, C_MUST_NOT, C_MIN, C_NCLAUSE };
enum { K_KEY = 1, K_IDX, K_ALL };

typedef struct pcomp {
    int kind;
    uint32_t idx;
    char *name; /* K_KEY: decoded bytes (owned) */
    size_t len;
} pcomp;

typedef vs__fstr fstr;

/* A set of scalar values, sorted per type for binary search. */
typedef struct fset {
    long double *nums;
    size_t nnum;
    fstr *strs;
    size_t nstr;
    unsigned bools; /* bit 0: false is in the set, bit 1: true */
} fset;

typedef struct fid {
    int kind;
    uint64_t num;
    char *str;
    uint32_t len;
} fid;

typedef struct fnode fnode;
struct fnode {
    int kind, pred, quant;
    pcomp *path;
    size_t npath;
    char *cpath;                      /* canonical path text (vs__fpath_text) */
    fset set;
    unsigned bounds;
    long double gt, gte, lt, lte;    /* P_RANGE, N_COUNT */
    int64_t dgt, dgte, dlt, dlte;     /* P_DTRANGE (µs) */
    vs__regex *rx;                    /* P_REGEX */
    fstr *words;                      /* P_TEXT: lower-cased, distinct */
    vs__geo_region *geo;              /* P_GEO */
    size_t nwords;
    fid *ids;                         /* N_HAS_ID, sorted: numbers first */
    size_t nids;
    fnode *sub;                       /* N_NESTED */
    fnode **kids[C_NCLAUSE];          /* N_FILTER */
    size_t nkids[C_NCLAUSE];
    int has_should;
    size_t min_count;
};

struct vs__filter {
    fnode *root;
    int needs_payload;
};

/* --------------------------------------------------------------- compile ---- */

typedef struct cctx {
    vs__err *e;
    const char *text, *end;
    char path[1024];
    size_t plen;
    int needs_payload;
} cctx;

/* Appends ".word" (or "word" at the root, or "[i]" when word is NULL) to the place and
 * returns the old length for path_pop. Truncation only shortens messages. */
static size_t path_push(cctx *c, const char *word, size_t idx) {
    size_t mark = c->plen;
    int n;
    if (word)
        n = snprintf(c->path + c->plen, sizeof c->path - c->plen, "%s%s", c->plen ? "." : "",
                     word);
    else
        n = snprintf(c->path + c->plen, sizeof c->path - c->plen, "[%zu]", idx);
    if (n > 0) c->plen += (size_t)n;
    if (c->plen >= sizeof c->path) c->plen = sizeof c->path - 1;
    return mark;
}

static void path_pop(cctx *c, size_t mark) {
    c->plen = mark;
    c->path[mark] = 0;
}

/* An error at the value starting at `at` (NULL: no offset). */
__attribute__((format(printf, 3, 4))) static int cerr(cctx *c, const char *at, const char *fmt,
                                                      ...) {
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (at)
        return vs__errf(c->e, VS_EFILTER, "%s: %s (at byte %zu)", c->plen ? c->path : "filter",
                        msg, (size_t)(at - c->text));
    return vs__errf(c->e, VS_EFILTER, "%s: %s", c->plen ? c->path : "filter", msg);
}

static int oom(cctx *c) {
    return vs__errf(c->e, VS_ENOMEM, "out of memory compiling filter at %s",
                    c->plen ? c->path : "the root");
}

static void set_free(fset *s) {
    vs__free(s->nums);
    for (size_t i = 0; i < s->nstr; i++) vs__free(s->strs[i].s);
    vs__free(s->strs);
}

static void node_free(fnode *n) {
    if (!n) return;
    for (size_t i = 0; i < n->npath; i++) vs__free(n->path[i].name);
    vs__free(n->path);
    vs__free(n->cpath);
    set_free(&n->set);
    vs__regex_put(n->rx);
    vs__geo_region_free(n->geo);
    for (size_t i = 0; i < n->nwords; i++) vs__free(n->words[i].s);
    vs__free(n->words);
    for (size_t i = 0; i < n->nids; i++) vs__free(n->ids[i].str);
    vs__free(n->ids);
    node_free(n->sub);
    for (int k = 0; k < C_NCLAUSE; k++) {
        for (size_t i = 0; i < n->nkids[k]; i++) node_free(n->kids[k][i]);
        vs__free(n->kids[k]);
    }
    vs__free(n);
}

static const char *type_name(int t) {
    switch (t) {
    case VS__JT_OBJ: return "an object";
    case VS__JT_ARR: return "an array";
    case VS__JT_STR: return "a string";
    case VS__JT_NUM: return "a number";
    case VS__JT_TRUE:
    case VS__JT_FALSE: return "a boolean";
    case VS__JT_NULL: return "null";
    }
    return "bad JSON";
}

static int jtype(cctx *c, const char *p) { return vs__jt_type(p, c->end); }

/* A decoded copy of the string at p (owned by the caller). */
static int dup_str(cctx *c, const char *p, char **out, size_t *len) {
    const char *raw;
    size_t rl;
    if (!vs__jt_str(p, c->end, &raw, &rl)) return cerr(c, p, "malformed string");
    if (!(*out = vs__malloc(rl + 1))) return oom(c);
    *len = vs__jt_unescape(raw, rl, *out);
    (*out)[*len] = 0;
    return VS_OK;
}

/* Members of the object at p, at most cap (the grammar's objects are small: a big one is
 * refused before the quadratic duplicate check could burn CPU). */
typedef struct jmem {
    char key[64];
    const char *val;
} jmem;

static int members(cctx *c, const char *p, jmem *m, size_t cap, size_t *n) {
    vs__jt_iter it;
    if (jtype(c, p) != VS__JT_OBJ)
        return cerr(c, p, "expected an object, got %s", type_name(jtype(c, p)));
    vs__jt_obj_begin(&it, p, c->end);
    const char *k, *v;
    size_t kl;
    int r;
    *n = 0;
    while ((r = vs__jt_obj_next(&it, &k, &kl, &v)) == 1) {
        if (*n == cap) {
            size_t cnt = *n + 1;
            while (vs__jt_obj_next(&it, &k, &kl, &v) == 1) cnt++;
            return cerr(c, p, "an object with %zu keys (at most %zu here)", cnt, cap);
        }
        /* A key cut to 63 bytes cannot equal a grammar word (all shorter), so cutting
         * only shortens what an error message quotes. */
        char full[256];
        size_t fl = vs__jt_unescape(k, kl < 200 ? kl : 200, full);
        size_t cut = fl < sizeof m->key - 1 ? fl : sizeof m->key - 1;
        memcpy(m[*n].key, full, cut);
        m[*n].key[cut] = 0;
        m[*n].val = v;
        for (size_t i = 0; i < *n; i++)
            if (!strcmp(m[i].key, m[*n].key))
                return cerr(c, p, "duplicate key '%.64s'", m[*n].key);
        (*n)++;
    }
    if (r < 0) return cerr(c, p, "malformed object");
    return VS_OK;
}

static const jmem *mem_get(const jmem *m, size_t n, const char *key) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(m[i].key, key)) return &m[i];
    return NULL;
}

/* Number of elements of the array at p. */
static size_t arr_len(cctx *c, const char *p) {
    vs__jt_iter it;
    const char *v;
    size_t n = 0;
    vs__jt_arr_begin(&it, p, c->end);
    while (vs__jt_arr_next(&it, &v) == 1) n++;
    return n;
}

/* ---- paths ---- */

/* The canonical text of a path: components joined with '.', indexes as [n] and [],
 * names quoted when they hold '.', '[', ']' or '$' (names never hold '"'). */
static char *canon_path(const pcomp *pc, size_t n) {
    size_t cap = 1;
    for (size_t i = 0; i < n; i++) cap += pc[i].kind == K_KEY ? pc[i].len + 3 : 12;
    char *out = vs__malloc(cap), *o = out;
    if (!out) return NULL;
    for (size_t i = 0; i < n; i++) {
        if (pc[i].kind != K_KEY) {
            o += pc[i].kind == K_ALL ? sprintf(o, "[]") : sprintf(o, "[%u]", pc[i].idx);
            continue;
        }
        if (i) *o++ = '.';
        int q = memchr(pc[i].name, '.', pc[i].len) || memchr(pc[i].name, '[', pc[i].len) ||
                memchr(pc[i].name, ']', pc[i].len) || memchr(pc[i].name, '$', pc[i].len);
        if (q) *o++ = '"';
        memcpy(o, pc[i].name, pc[i].len);
        o += pc[i].len;
        if (q) *o++ = '"';
    }
    *o = 0;
    return out;
}

static int compile_path(cctx *c, const char *p, fnode *n) {
    size_t mark = path_push(c, "key", 0);
    char *s = NULL;
    size_t len = 0;
    int rc = VS_OK;
    if (jtype(c, p) != VS__JT_STR) {
        rc = cerr(c, p, "expected a string, got %s", type_name(jtype(c, p)));
        goto done;
    }
    if ((rc = dup_str(c, p, &s, &len))) goto done;
    if (len == 0) {
        rc = cerr(c, p, "empty key");
        goto done;
    }
    size_t i = 0;
    if (len >= 2 && s[0] == '$' && s[1] == '.') i = 2;
    if (!(n->path = vs__calloc(PATH_MAX_COMPS, sizeof *n->path))) {
        rc = oom(c);
        goto done;
    }
    /* comp { '.' comp | '[' digits? ']' } */
    int want_comp = 1;
    while (i < len || want_comp) {
        if (n->npath == PATH_MAX_COMPS) {
            rc = cerr(c, p, "key '%.64s' has more than %d parts", s, PATH_MAX_COMPS);
            goto done;
        }
        pcomp *pc = &n->path[n->npath];
        if (want_comp) {
            size_t a = i;
            if (i < len && s[i] == '"') {
                a = ++i;
                while (i < len && s[i] != '"') i++;
                if (i == len) {
                    rc = cerr(c, p, "unterminated quote in key '%.64s'", s);
                    goto done;
                }
                pc->len = i - a;
                i++;
            } else {
                while (i < len && s[i] != '.' && s[i] != '[' && s[i] != ']' && s[i] != '"') i++;
                pc->len = i - a;
                if (pc->len == 0) {
                    rc = cerr(c, p, "empty component in key '%.64s'", s);
                    goto done;
                }
            }
            pc->kind = K_KEY;
            if (!(pc->name = vs__strndup(s + a, pc->len))) {
                rc = oom(c);
                goto done;
            }
            n->npath++;
            want_comp = 0;
            continue;
        }
        if (s[i] == '.') {
            i++;
            want_comp = 1;
            continue;
        }
        if (s[i] == '[') {
            size_t a = ++i;
            uint64_t v = 0;
            while (i < len && s[i] >= '0' && s[i] <= '9' && i - a < 10) v = v * 10 + (uint64_t)(s[i++] - '0');
            if (i >= len || s[i] != ']' || v > UINT32_MAX) {
                rc = cerr(c, p, "bad array index in key '%.64s' (expected [n] or [])", s);
                goto done;
            }
            pc->kind = i == a ? K_ALL : K_IDX;
            pc->idx = (uint32_t)v;
            n->npath++;
            i++;
            continue;
        }
        rc = cerr(c, p, "unexpected '%c' in key '%.64s'", s[i], s);
        goto done;
    }
    if (!(n->cpath = canon_path(n->path, n->npath))) rc = oom(c);
done:
    vs__free(s);
    path_pop(c, mark);
    return rc;
}

/* ---- values and sets ---- */

/* The number at p as a long double: integer literals exactly, others via double. */
static long double num_value(const vs__jt_num *v) {
    if (v->is_int) return v->neg ? -(long double)v->u : (long double)v->u;
    return (long double)v->d;
}

static int cmp_ld(const void *a, const void *b) {
    long double x = *(const long double *)a, y = *(const long double *)b;
    return x < y ? -1 : x > y;
}

static int cmp_str(const void *a, const void *b) {
    const fstr *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int r = memcmp(x->s, y->s, n);
    return r ? r : (x->len > y->len) - (x->len < y->len);
}

/* One scalar of a set: string, bool or integral number (Qdrant has no float equality). */
static int set_add(cctx *c, const char *p, fset *s) {
    int t = jtype(c, p);
    if (t == VS__JT_STR) {
        int rc = dup_str(c, p, &s->strs[s->nstr].s, &s->strs[s->nstr].len);
        if (!rc) s->nstr++;
        return rc;
    }
    if (t == VS__JT_TRUE || t == VS__JT_FALSE) {
        s->bools |= t == VS__JT_TRUE ? 2u : 1u;
        return VS_OK;
    }
    if (t == VS__JT_NUM) {
        vs__jt_num v;
        if (!vs__jt_number(p, c->end, &v)) return oom(c);
        if (v.is_int || (isfinite(v.d) && v.d == floor(v.d))) {
            s->nums[s->nnum++] = num_value(&v);
            return VS_OK;
        }
        return cerr(c, p, "expected a string, an integer or a boolean, got a non-integral number");
    }
    return cerr(c, p, "expected a string, an integer or a boolean, got %s", type_name(t));
}

static int set_alloc(cctx *c, fset *s, size_t n) {
    if (!(s->nums = vs__calloc(n ? n : 1, sizeof *s->nums))) return oom(c);
    if (!(s->strs = vs__calloc(n ? n : 1, sizeof *s->strs))) return oom(c);
    return VS_OK;
}

static void set_sort(fset *s) {
    qsort(s->nums, s->nnum, sizeof *s->nums, cmp_ld);
    qsort(s->strs, s->nstr, sizeof *s->strs, cmp_str);
}

/* A list of values (match.any / except / contains_all). */
static int compile_set(cctx *c, const char *p, fset *s) {
    if (jtype(c, p) != VS__JT_ARR)
        return cerr(c, p, "expected an array, got %s", type_name(jtype(c, p)));
    size_t n = arr_len(c, p);
    if (n > SET_MAX) return cerr(c, p, "a list of %zu values (at most %d)", n, SET_MAX);
    int rc = set_alloc(c, s, n);
    if (rc) return rc;
    vs__jt_iter it;
    const char *v;
    size_t i = 0;
    vs__jt_arr_begin(&it, p, c->end);
    while (vs__jt_arr_next(&it, &v) == 1) {
        size_t mark = path_push(c, NULL, i++);
        rc = set_add(c, v, s);
        path_pop(c, mark);
        if (rc) return rc;
    }
    set_sort(s);
    return VS_OK;
}

static int ascii_word(unsigned char ch) {
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           ch >= 0x80;
}

#define fold vs__filter_fold

/* The next word of s[*i..len): [*a, *a + *wl). 0 when none is left. */
int vs__filter_next_word(const char *s, size_t len, size_t *i, size_t *a, size_t *wl) {
    while (*i < len && !ascii_word((unsigned char)s[*i])) (*i)++;
    if (*i == len) return 0;
    *a = *i;
    while (*i < len && ascii_word((unsigned char)s[*i])) (*i)++;
    *wl = *i - *a;
    return 1;
}

static int compile_text(cctx *c, const char *p, fnode *n) {
    if (jtype(c, p) != VS__JT_STR) return cerr(c, p, "expected a string, got %s", type_name(jtype(c, p)));
    char *s;
    size_t len;
    int rc = dup_str(c, p, &s, &len);
    if (rc) return rc;
    n->pred = P_TEXT;
    if (!(n->words = vs__calloc(TEXT_WORDS_MAX, sizeof *n->words))) {
        vs__free(s);
        return oom(c);
    }
    size_t i = 0, a, wl;
    for (size_t k = 0; k < len; k++) s[k] = fold(s[k]);
    while (vs__filter_next_word(s, len, &i, &a, &wl)) {
        int dup = 0;
        for (size_t w = 0; w < n->nwords; w++)
            if (n->words[w].len == wl && !memcmp(n->words[w].s, s + a, wl)) dup = 1;
        if (dup) continue;
        if (n->nwords == TEXT_WORDS_MAX) {
            vs__free(s);
            return cerr(c, p, "more than %d words in a text match", TEXT_WORDS_MAX);
        }
        if (!(n->words[n->nwords].s = vs__strndup(s + a, wl))) {
            vs__free(s);
            return oom(c);
        }
        n->words[n->nwords++].len = wl;
    }
    vs__free(s);
    if (n->nwords == 0) return cerr(c, p, "a text match needs at least one word");
    return VS_OK;
}

static int compile_regex(cctx *c, const char *p, fnode *n) {
    if (jtype(c, p) != VS__JT_STR) return cerr(c, p, "expected a string, got %s", type_name(jtype(c, p)));
    char *s;
    size_t len;
    int rc = dup_str(c, p, &s, &len);
    if (rc) return rc;
    n->pred = P_REGEX;
    vs__err re = {0};
    size_t at = 0;
    rc = vs__regex_get(s, len, &n->rx, &at, &re);
    vs__free(s);
    if (rc == VS_ENOMEM) return oom(c);
    if (rc) return cerr(c, p, "%s", re.msg);
    return VS_OK;
}

static int compile_match(cctx *c, const char *p, fnode *n) {
    jmem m[4];
    size_t cnt;
    int rc = members(c, p, m, 4, &cnt);
    if (rc) return rc;
    static const char *const ops = "'value', 'any', 'except', 'contains_all', 'text' or 'regex'";
    if (cnt == 0) return cerr(c, p, "expected one of %s", ops);
    if (cnt > 1)
        return cerr(c, p, "expected exactly one of %s, got '%.64s' and '%.64s'", ops, m[0].key,
                    m[1].key);
    const char *v = m[0].val;
    size_t mark = path_push(c, m[0].key, 0);
    n->kind = N_FIELD;
    if (!strcmp(m[0].key, "value")) {
        n->pred = P_EQ;
        if (!(rc = set_alloc(c, &n->set, 1))) rc = set_add(c, v, &n->set);
    } else if (!strcmp(m[0].key, "any")) {
        n->pred = P_EQ;
        rc = compile_set(c, v, &n->set);
    } else if (!strcmp(m[0].key, "except")) {
        n->pred = P_EXCEPT;
        rc = compile_set(c, v, &n->set);
    } else if (!strcmp(m[0].key, "contains_all")) {
        n->kind = N_CONTAINS;
        rc = compile_set(c, v, &n->set);
        if (!rc && n->set.nnum + n->set.nstr == 0 && !n->set.bools)
            rc = cerr(c, v, "an empty list (contains_all needs at least one value)");
    } else if (!strcmp(m[0].key, "text")) {
        rc = compile_text(c, v, n);
    } else if (!strcmp(m[0].key, "regex")) {
        rc = compile_regex(c, v, n);
    } else {
        path_pop(c, mark);
        return cerr(c, p, "unknown key '%.64s' (expected %s)", m[0].key, ops);
    }
    path_pop(c, mark);
    return rc;
}

/* range / values_count bounds. count: non-negative integers only. */
static int compile_bounds(cctx *c, const char *p, fnode *n, int count) {
    static const struct {
        const char *name;
        unsigned bit;
    } ops[] = {{"gt", B_GT}, {"gte", B_GTE}, {"lt", B_LT}, {"lte", B_LTE}};
    jmem m[4];
    size_t cnt;
    int rc = members(c, p, m, 4, &cnt);
    if (rc) return rc;
    int kind = 0; /* VS__JT_NUM or VS__JT_STR once a bound is seen */
    for (size_t i = 0; i < cnt; i++) {
        size_t k = 0;
        while (k < 4 && strcmp(m[i].key, ops[k].name)) k++;
        if (k == 4)
            return cerr(c, p, "unknown key '%.64s' (expected 'gt', 'gte', 'lt' or 'lte')", m[i].key);
        const char *v = m[i].val;
        int t = jtype(c, v);
        if (t == VS__JT_NULL) continue; /* serde's Option: null means "no bound" */
        size_t mark = path_push(c, ops[k].name, 0);
        long double x = 0;
        int64_t us = 0;
        if (count) {
            vs__jt_num num;
            if (t != VS__JT_NUM) rc = cerr(c, v, "expected a non-negative integer, got %s", type_name(t));
            else if (!vs__jt_number(v, c->end, &num)) rc = oom(c);
            else if (!num.is_int || num.neg) rc = cerr(c, v, "expected a non-negative integer");
            else x = (long double)num.u;
        } else if (t == VS__JT_NUM) {
            vs__jt_num num;
            if (!vs__jt_number(v, c->end, &num)) rc = oom(c);
            else if (!num.is_int && !isfinite(num.d)) rc = cerr(c, v, "expected a finite number");
            else x = num_value(&num);
        } else if (t == VS__JT_STR) {
            char *s;
            size_t len, at;
            const char *why;
            if (!(rc = dup_str(c, v, &s, &len))) {
                if (vs__datetime_parse(s, len, &us, &at, &why))
                    rc = cerr(c, v, "bad datetime '%.40s': %s at offset %zu", s, why, at);
                vs__free(s);
            }
        } else {
            rc = cerr(c, v, "expected a number or a datetime string, got %s", type_name(t));
        }
        if (!rc && !count && kind && kind != t)
            rc = cerr(c, v, "bounds mix numbers and datetimes");
        path_pop(c, mark);
        if (rc) return rc;
        kind = t;
        n->bounds |= ops[k].bit;
        long double *lds[] = {&n->gt, &n->gte, &n->lt, &n->lte};
        int64_t *dts[] = {&n->dgt, &n->dgte, &n->dlt, &n->dlte};
        *lds[k] = x;
        *dts[k] = us;
    }
    if (count)
        n->kind = N_COUNT;
    else {
        n->kind = N_FIELD;
        n->pred = kind == VS__JT_STR ? P_DTRANGE : P_RANGE;
    }
    return VS_OK;
}

/* ---- geo conditions (geo/geo.h has the geometry) ---- */

/* A number member as a double; "lat"/"lon" members of a point. */
static int geo_num(cctx *c, const char *p, const char *what, double *out) {
    vs__jt_num num;
    int t = jtype(c, p);
    if (t != VS__JT_NUM) return cerr(c, p, "%s must be a number, got %s", what, type_name(t));
    if (!vs__jt_number(p, c->end, &num)) return cerr(c, p, "malformed number");
    if (!isfinite(num.d)) return cerr(c, p, "%s must be a finite number", what);
    *out = num.d;
    return VS_OK;
}

/* {"lat": …, "lon": …} (Qdrant's GeoPoint; key order free, nothing else). */
static int geo_point(cctx *c, const char *p, double *lat, double *lon) {
    jmem m[4];
    size_t cnt;
    int rc = members(c, p, m, 4, &cnt);
    if (rc) return rc;
    const jmem *la = mem_get(m, cnt, "lat"), *lo = mem_get(m, cnt, "lon");
    for (size_t i = 0; i < cnt; i++)
        if (&m[i] != la && &m[i] != lo)
            return cerr(c, p, "unknown key '%.64s' in a point (expected 'lat' and 'lon')", m[i].key);
    if (!la || !lo) return cerr(c, p, "a point needs 'lat' and 'lon'");
    if ((rc = geo_num(c, la->val, "lat", lat)) || (rc = geo_num(c, lo->val, "lon", lon))) return rc;
    if (*lat < -90 || *lat > 90) return cerr(c, la->val, "lat %.17g is outside [-90, 90]", *lat);
    if (*lon < -180 || *lon > 180) return cerr(c, lo->val, "lon %.17g is outside [-180, 180]", *lon);
    return VS_OK;
}

/* Wraps a geo/geo.h constructor's VS_EINVAL as a filter error at p. */
static int geo_made(cctx *c, const char *p, int rc, vs__err *ge) {
    if (rc == VS_ENOMEM) return oom(c);
    if (rc) return cerr(c, p, "%s", ge->msg);
    return VS_OK;
}

static int compile_geo_radius(cctx *c, const char *p, fnode *n) {
    jmem m[4];
    size_t cnt;
    int rc = members(c, p, m, 4, &cnt);
    if (rc) return rc;
    const jmem *ce = mem_get(m, cnt, "center"), *ra = mem_get(m, cnt, "radius");
    for (size_t i = 0; i < cnt; i++)
        if (&m[i] != ce && &m[i] != ra)
            return cerr(c, p, "unknown key '%.64s' (expected 'center' and 'radius')", m[i].key);
    if (!ce || !ra) return cerr(c, p, "geo_radius needs 'center' and 'radius'");
    double lat, lon, r;
    size_t mark = path_push(c, "center", 0);
    rc = geo_point(c, ce->val, &lat, &lon);
    path_pop(c, mark);
    if (rc) return rc;
    mark = path_push(c, "radius", 0);
    if (!(rc = geo_num(c, ra->val, "radius", &r)) && r < 0)
        rc = cerr(c, ra->val, "radius must be >= 0 metres, got %.17g", r);
    path_pop(c, mark);
    if (rc) return rc;
    vs__err ge;
    return geo_made(c, p, vs__geo_cap_new(lat, lon, r, &n->geo, &ge), &ge);
}

static int compile_geo_box(cctx *c, const char *p, fnode *n) {
    jmem m[4];
    size_t cnt;
    int rc = members(c, p, m, 4, &cnt);
    if (rc) return rc;
    const jmem *tl = mem_get(m, cnt, "top_left"), *br = mem_get(m, cnt, "bottom_right");
    for (size_t i = 0; i < cnt; i++)
        if (&m[i] != tl && &m[i] != br)
            return cerr(c, p, "unknown key '%.64s' (expected 'top_left' and 'bottom_right')", m[i].key);
    if (!tl || !br) return cerr(c, p, "geo_bounding_box needs 'top_left' and 'bottom_right'");
    double north, west, south, east;
    size_t mark = path_push(c, "top_left", 0);
    rc = geo_point(c, tl->val, &north, &west);
    path_pop(c, mark);
    if (rc) return rc;
    mark = path_push(c, "bottom_right", 0);
    rc = geo_point(c, br->val, &south, &east);
    path_pop(c, mark);
    if (rc) return rc;
    if (north < south)
        return cerr(c, p, "top_left lat %.17g is south of bottom_right lat %.17g", north, south);
    vs__err ge;
    return geo_made(c, p, vs__geo_rect_new(north, west, south, east, &n->geo, &ge), &ge);
}

/* Appends the points of {"points": [point…]} to the growing arrays. */
typedef struct geo_rings {
    double *lat, *lon;
    size_t n, cap;
    size_t *count;
    size_t nrings;
} geo_rings;

static int geo_ring(cctx *c, const char *p, geo_rings *g) {
    jmem m[2];
    size_t cnt;
    int rc = members(c, p, m, 2, &cnt);
    if (rc) return rc;
    const jmem *pts = mem_get(m, cnt, "points");
    if (!pts || cnt != 1) return cerr(c, p, "a ring is {\"points\": [{\"lat\": …, \"lon\": …}, …]}");
    if (jtype(c, pts->val) != VS__JT_ARR)
        return cerr(c, pts->val, "points must be an array, got %s", type_name(jtype(c, pts->val)));
    size_t len = arr_len(c, pts->val);
    if (g->n + len > VS__GEO_POLY_POINTS_MAX)
        return cerr(c, pts->val, "a polygon has at most %d points", VS__GEO_POLY_POINTS_MAX);
    if (g->n + len > g->cap) {
        size_t nc = g->cap ? g->cap : 64;
        while (nc < g->n + len) nc *= 2;
        double *a = vs__realloc(g->lat, nc * sizeof *a);
        if (!a) return oom(c);
        g->lat = a;
        double *b = vs__realloc(g->lon, nc * sizeof *b);
        if (!b) return oom(c);
        g->lon = b;
        g->cap = nc;
    }
    size_t *cn = vs__realloc(g->count, (g->nrings + 1) * sizeof *cn);
    if (!cn) return oom(c);
    g->count = cn;
    size_t mark = path_push(c, "points", 0), i = 0;
    vs__jt_iter it;
    const char *v;
    vs__jt_arr_begin(&it, pts->val, c->end);
    while (!rc && vs__jt_arr_next(&it, &v) == 1) {
        size_t m2 = path_push(c, NULL, i++);
        rc = geo_point(c, v, &g->lat[g->n], &g->lon[g->n]);
        g->n++;
        path_pop(c, m2);
    }
    path_pop(c, mark);
    if (rc) return rc;
    g->count[g->nrings++] = len;
    return VS_OK;
}

static int compile_geo_polygon(cctx *c, const char *p, fnode *n) {
    jmem m[4];
    size_t cnt;
    int rc = members(c, p, m, 4, &cnt);
    if (rc) return rc;
    const jmem *ex = mem_get(m, cnt, "exterior"), *in = mem_get(m, cnt, "interiors");
    for (size_t i = 0; i < cnt; i++)
        if (&m[i] != ex && &m[i] != in)
            return cerr(c, p, "unknown key '%.64s' (expected 'exterior' and 'interiors')", m[i].key);
    if (!ex) return cerr(c, p, "geo_polygon needs 'exterior'");
    geo_rings g = {0};
    size_t mark = path_push(c, "exterior", 0);
    rc = geo_ring(c, ex->val, &g);
    path_pop(c, mark);
    if (!rc && in && jtype(c, in->val) != VS__JT_NULL) {
        mark = path_push(c, "interiors", 0);
        if (jtype(c, in->val) != VS__JT_ARR)
            rc = cerr(c, in->val, "expected an array of rings, got %s", type_name(jtype(c, in->val)));
        else if (arr_len(c, in->val) + 1 > VS__GEO_POLY_RINGS_MAX)
            rc = cerr(c, in->val, "a polygon has at most %d holes", VS__GEO_POLY_RINGS_MAX - 1);
        vs__jt_iter it;
        const char *v;
        size_t i = 0;
        if (!rc) vs__jt_arr_begin(&it, in->val, c->end);
        while (!rc && vs__jt_arr_next(&it, &v) == 1) {
            size_t m2 = path_push(c, NULL, i++);
            rc = geo_ring(c, v, &g);
            path_pop(c, m2);
        }
        path_pop(c, mark);
    }
    if (!rc) {
        vs__err ge;
        rc = geo_made(c, p, vs__geo_polygon_new(g.nrings, g.count, g.lat, g.lon, &n->geo, &ge), &ge);
    }
    vs__free(g.lat);
    vs__free(g.lon);
    vs__free(g.count);
    return rc;
}

static int compile_field(cctx *c, const char *p, const jmem *m, size_t cnt, fnode *n) {
    const jmem *key = NULL, *op = NULL, *quant = NULL;
    for (size_t i = 0; i < cnt; i++) {
        if (!strcmp(m[i].key, "key"))
            key = &m[i];
        else if (!strcmp(m[i].key, "quantifier"))
            quant = &m[i];
        else if (!strcmp(m[i].key, "match") || !strcmp(m[i].key, "range") ||
                 !strcmp(m[i].key, "values_count") || !strcmp(m[i].key, "geo_radius") ||
                 !strcmp(m[i].key, "geo_bounding_box") || !strcmp(m[i].key, "geo_polygon")) {
            if (op)
                return cerr(c, p, "'%s' and '%s' cannot be combined; use 'must'", op->key,
                            m[i].key);
            op = &m[i];
        } else
            return cerr(c, p, "unknown key '%.64s' in a field condition (expected 'key' with "
                              "'match', 'range', 'values_count', 'geo_radius', "
                              "'geo_bounding_box' or 'geo_polygon')", m[i].key);
    }
    if (!key) return cerr(c, p, "missing 'key' in a field condition");
    int rc = compile_path(c, key->val, n);
    if (rc) return rc;
    if (!op)
        return cerr(c, p, "expected 'match', 'range', 'values_count', 'geo_radius', "
                          "'geo_bounding_box' or 'geo_polygon' with 'key'");
    size_t mark = path_push(c, op->key, 0);
    if (!strcmp(op->key, "match"))
        rc = compile_match(c, op->val, n);
    else if (!strncmp(op->key, "geo_", 4)) {
        n->kind = N_FIELD;
        n->pred = P_GEO;
        rc = op->key[4] == 'r'   ? compile_geo_radius(c, op->val, n)
             : op->key[4] == 'b' ? compile_geo_box(c, op->val, n)
                                 : compile_geo_polygon(c, op->val, n);
    } else
        rc = compile_bounds(c, op->val, n, op->key[0] == 'v');
    path_pop(c, mark);
    if (rc) return rc;
    c->needs_payload = 1;
    if (quant) {
        mark = path_push(c, "quantifier", 0);
        const char *v = quant->val;
        if (jtype(c, v) != VS__JT_STR)
            rc = cerr(c, v, "expected \"any\" or \"all\", got %s", type_name(jtype(c, v)));
        else {
            const char *raw;
            size_t rl;
            vs__jt_str(v, c->end, &raw, &rl);
            if (vs__jt_str_eq(raw, rl, "all", 3))
                n->quant = Q_ALL;
            else if (!vs__jt_str_eq(raw, rl, "any", 3))
                rc = cerr(c, v, "expected \"any\" or \"all\"");
            else
                n->quant = Q_ANY;
            if (!rc && n->kind != N_FIELD)
                rc = cerr(c, v, "a quantifier does not apply to %s",
                          n->kind == N_COUNT ? "values_count" : "contains_all");
        }
        path_pop(c, mark);
    }
    return rc;
}

static int id_cmp(const void *a, const void *b) {
    const fid *x = a, *y = b;
    if (x->kind != y->kind) return x->kind - y->kind;
    if (x->kind == VS_ID_NUM) return (x->num > y->num) - (x->num < y->num);
    fstr sx = {x->str, x->len}, sy = {y->str, y->len};
    return cmp_str(&sx, &sy);
}

static int compile_has_id(cctx *c, const char *p, fnode *n) {
    n->kind = N_HAS_ID;
    if (jtype(c, p) != VS__JT_ARR)
        return cerr(c, p, "expected an array of ids, got %s", type_name(jtype(c, p)));
    size_t cnt = arr_len(c, p);
    if (cnt > SET_MAX) return cerr(c, p, "%zu ids (at most %d)", cnt, SET_MAX);
    if (!(n->ids = vs__calloc(cnt ? cnt : 1, sizeof *n->ids))) return oom(c);
    vs__jt_iter it;
    const char *j;
    int rc = VS_OK;
    vs__jt_arr_begin(&it, p, c->end);
    while (!rc && vs__jt_arr_next(&it, &j) == 1) {
        size_t mark = path_push(c, NULL, n->nids);
        fid *id = &n->ids[n->nids];
        int t = jtype(c, j);
        if (t == VS__JT_NUM) {
            vs__jt_num v;
            if (!vs__jt_number(j, c->end, &v)) rc = oom(c);
            else if (v.is_int && !v.neg) {
                id->kind = VS_ID_NUM;
                id->num = v.u;
            } else if (!v.is_int && v.d >= 0 && v.d == floor(v.d) && v.d < 9007199254740992.0) {
                id->kind = VS_ID_NUM; /* 1e3: exact as a double below 2^53 */
                id->num = (uint64_t)v.d;
            } else
                rc = cerr(c, j, "expected an unsigned integer id below 2^64");
        } else if (t == VS__JT_STR) {
            char *s;
            size_t len;
            if (!(rc = dup_str(c, j, &s, &len))) {
                if (len == 0 || len > VS_ID_STR_MAX) {
                    vs__free(s);
                    rc = cerr(c, j, "string id of %zu bytes (expected 1..%d)", len, VS_ID_STR_MAX);
                } else {
                    id->kind = VS_ID_STR;
                    id->str = s;
                    id->len = (uint32_t)len;
                }
            }
        } else
            rc = cerr(c, j, "expected an unsigned integer or a string id, got %s", type_name(t));
        if (!rc) n->nids++;
        path_pop(c, mark);
    }
    if (!rc) qsort(n->ids, n->nids, sizeof *n->ids, id_cmp);
    return rc;
}

/* is_empty / is_null: { "key": PATH } and nothing else. */
static int compile_keyonly(cctx *c, const char *p, fnode *n) {
    jmem m[4];
    size_t cnt;
    int rc = members(c, p, m, 4, &cnt);
    if (rc) return rc;
    for (size_t i = 0; i < cnt; i++)
        if (strcmp(m[i].key, "key")) return cerr(c, p, "unknown key '%.64s' (expected 'key')", m[i].key);
    const jmem *key = mem_get(m, cnt, "key");
    if (!key) return cerr(c, p, "missing 'key'");
    c->needs_payload = 1;
    return compile_path(c, key->val, n);
}

static int compile_filter(cctx *c, const char *p, int depth, int nested, fnode **out);

static int compile_nested(cctx *c, const char *p, int depth, fnode *n) {
    jmem m[4];
    size_t cnt;
    int rc = members(c, p, m, 4, &cnt);
    if (rc) return rc;
    n->kind = N_NESTED;
    for (size_t i = 0; i < cnt; i++)
        if (strcmp(m[i].key, "key") && strcmp(m[i].key, "filter"))
            return cerr(c, p, "unknown key '%.64s' (expected 'key' and 'filter')", m[i].key);
    const jmem *key = mem_get(m, cnt, "key"), *flt = mem_get(m, cnt, "filter");
    if (!key) return cerr(c, p, "missing 'key'");
    if (!flt) return cerr(c, p, "missing 'filter'");
    if ((rc = compile_path(c, key->val, n))) return rc;
    c->needs_payload = 1;
    size_t mark = path_push(c, "filter", 0);
    rc = compile_filter(c, flt->val, depth + 1, 1, &n->sub);
    path_pop(c, mark);
    return rc;
}

/* One condition of a clause. The keys present decide what it is; a key from another kind
 * of condition in the same object is an error, not silently ignored. */
static int compile_cond(cctx *c, const char *p, int depth, int nested, fnode **out) {
    jmem m[8];
    size_t cnt;
    if (jtype(c, p) != VS__JT_OBJ)
        return cerr(c, p, "expected a condition object, got %s", type_name(jtype(c, p)));
    int rc = members(c, p, m, 8, &cnt);
    if (rc) return rc;
    if (mem_get(m, cnt, "key") || mem_get(m, cnt, "match") || mem_get(m, cnt, "range") ||
        mem_get(m, cnt, "values_count") || mem_get(m, cnt, "quantifier") ||
        mem_get(m, cnt, "geo_radius") || mem_get(m, cnt, "geo_bounding_box") ||
        mem_get(m, cnt, "geo_polygon")) {
        if (!(*out = vs__calloc(1, sizeof **out))) return oom(c);
        return compile_field(c, p, m, cnt, *out);
    }
    static const char *const single[] = {"has_id", "is_empty", "is_null", "nested"};
    for (int k = 0; k < 4; k++) {
        const jmem *j = mem_get(m, cnt, single[k]);
        if (!j) continue;
        for (size_t i = 0; i < cnt; i++)
            if (&m[i] != j) return cerr(c, p, "unknown key '%.64s' next to '%s'", m[i].key, single[k]);
        if (k == 0 && nested)
            return cerr(c, p, "has_id cannot be used inside nested (it tests the point, not "
                              "an element)");
        if (!(*out = vs__calloc(1, sizeof **out))) return oom(c);
        size_t mark = path_push(c, single[k], 0);
        if (k == 0)
            rc = compile_has_id(c, j->val, *out);
        else if (k == 3)
            rc = compile_nested(c, j->val, depth, *out);
        else {
            (*out)->kind = k == 1 ? N_IS_EMPTY : N_IS_NULL;
            rc = compile_keyonly(c, j->val, *out);
        }
        path_pop(c, mark);
        return rc;
    }
    return compile_filter(c, p, depth + 1, nested, out);
}

static int compile_clause(cctx *c, const char *val, int depth, int nested, fnode *n, int k) {
    int t = jtype(c, val);
    if (t == VS__JT_NULL) return VS_OK; /* serde's Option: null = absent */
    if (k == C_SHOULD) n->has_should = 1;
    if (t == VS__JT_OBJ) {
        if (!(n->kids[k] = vs__calloc(1, sizeof *n->kids[k]))) return oom(c);
        n->nkids[k] = 1;
        return compile_cond(c, val, depth, nested, &n->kids[k][0]);
    }
    if (t != VS__JT_ARR)
        return cerr(c, val, "expected an array of conditions or a condition, got %s", type_name(t));
    size_t cnt = arr_len(c, val);
    if (cnt > SET_MAX) return cerr(c, val, "%zu conditions (at most %d)", cnt, SET_MAX);
    if (!(n->kids[k] = vs__calloc(cnt ? cnt : 1, sizeof *n->kids[k]))) return oom(c);
    n->nkids[k] = cnt;
    vs__jt_iter it;
    const char *j;
    size_t i = 0;
    vs__jt_arr_begin(&it, val, c->end);
    while (vs__jt_arr_next(&it, &j) == 1) {
        size_t mark = path_push(c, NULL, i);
        int rc = compile_cond(c, j, depth, nested, &n->kids[k][i]);
        path_pop(c, mark);
        if (rc) return rc;
        i++;
    }
    return VS_OK;
}

static int compile_min_should(cctx *c, const char *p, int depth, int nested, fnode *n) {
    jmem m[4];
    size_t cnt;
    if (jtype(c, p) == VS__JT_NULL) return VS_OK;
    int rc = members(c, p, m, 4, &cnt);
    if (rc) return rc;
    for (size_t i = 0; i < cnt; i++)
        if (strcmp(m[i].key, "conditions") && strcmp(m[i].key, "min_count"))
            return cerr(c, p, "unknown key '%.64s' (expected 'conditions' and 'min_count')",
                        m[i].key);
    const jmem *conds = mem_get(m, cnt, "conditions"), *mc = mem_get(m, cnt, "min_count");
    if (!conds) return cerr(c, p, "missing 'conditions'");
    if (!mc) return cerr(c, p, "missing 'min_count'");
    vs__jt_num v;
    size_t mark = path_push(c, "min_count", 0);
    if (jtype(c, mc->val) != VS__JT_NUM)
        rc = cerr(c, mc->val, "expected a non-negative integer, got %s", type_name(jtype(c, mc->val)));
    else if (!vs__jt_number(mc->val, c->end, &v))
        rc = oom(c);
    else if (!v.is_int || v.neg)
        rc = cerr(c, mc->val, "expected a non-negative integer");
    path_pop(c, mark);
    if (rc) return rc;
    n->min_count = v.u > SIZE_MAX ? SIZE_MAX : (size_t)v.u;
    mark = path_push(c, "conditions", 0);
    rc = compile_clause(c, conds->val, depth, nested, n, C_MIN);
    path_pop(c, mark);
    return rc;
}

static int compile_filter(cctx *c, const char *p, int depth, int nested, fnode **out) {
    static const char *const clause[] = {"must", "should", "must_not", "min_should"};
    if (jtype(c, p) != VS__JT_OBJ)
        return cerr(c, p, "expected an object, got %s", type_name(jtype(c, p)));
    if (depth > VS__FILTER_DEPTH_MAX)
        return cerr(c, p, "filters nested deeper than %d levels", VS__FILTER_DEPTH_MAX);
    jmem m[8];
    size_t cnt;
    int rc = members(c, p, m, 8, &cnt);
    if (rc) return rc;
    if (!(*out = vs__calloc(1, sizeof **out))) return oom(c);
    (*out)->kind = N_FILTER;
    for (size_t i = 0; i < cnt; i++) {
        int k = 0;
        while (k < C_NCLAUSE && strcmp(m[i].key, clause[k])) k++;
        if (k == C_NCLAUSE) {
            static const char *const conds[] = {"key", "has_id", "is_empty", "is_null", "nested"};
            int is_cond = 0;
            for (int q = 0; q < 5; q++) is_cond |= !strcmp(m[i].key, conds[q]);
            return cerr(c, p, "unknown key '%.64s'%s", m[i].key,
                        depth == 1 && is_cond
                            ? " (conditions go inside 'must', 'should' or 'must_not')"
                            : " (expected 'must', 'should', 'must_not' or 'min_should')");
        }
        size_t mark = path_push(c, clause[k], 0);
        rc = k == C_MIN ? compile_min_should(c, m[i].val, depth, nested, *out)
                        : compile_clause(c, m[i].val, depth, nested, *out, k);
        path_pop(c, mark);
        if (rc) return rc;
    }
    return VS_OK;
}

static int is_ws(char ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n'; }

int vs__filter_parse(const char *json, size_t len, vs__filter **out, vs__err *e) {
    vs__filter *f = NULL;
    cctx c;
    memset(&c, 0, sizeof c);
    c.e = e;
    int rc = VS_OK;
    *out = NULL;
    if (!json) return VS_OK;
    size_t a = 0, b = len;
    while (a < b && is_ws(json[a])) a++;
    while (b > a && is_ws(json[b - 1])) b--;
    if (a == b || (b - a == 4 && !memcmp(json + a, "null", 4))) return VS_OK;
    size_t at;
    const char *why;
    if (vs__json_check(json, len, &at, &why))
        return vs__errf(e, VS_EFILTER, "invalid JSON at byte %zu: %s", at, why);
    c.text = json;
    c.end = json + len;
    if (!(f = vs__calloc(1, sizeof *f))) return vs__errf(e, VS_ENOMEM, "out of memory compiling filter");
    if ((rc = compile_filter(&c, json + a, 1, 0, &f->root))) {
        vs__filter_free(f);
        return rc;
    }
    f->needs_payload = c.needs_payload;
    *out = f;
    return VS_OK;
}

int vs__filter_parse_any(const char *text, size_t len, vs__filter **out, vs__err *e) {
    *out = NULL;
    if (!text) return VS_OK;
    size_t a = 0, b = len;
    while (a < b && is_ws(text[a])) a++;
    while (b > a && is_ws(text[b - 1])) b--;
    /* JSON: an object, or the whole text "null" (no filter). "null = 1" is the text syntax
     * (a field named null). */
    if (a == b || text[a] == '{' || (b - a == 4 && !memcmp(text + a, "null", 4)))
        return vs__filter_parse(text, len, out, e);
    char *json;
    size_t jl;
    int rc = vs__filter_text_to_json(text, len, &json, &jl, e);
    if (rc) return rc;
    rc = vs__filter_parse(json, jl, out, e);
    vs__free(json);
    return rc;
}

void vs__filter_free(vs__filter *f) {
    if (!f) return;
    node_free(f->root);
    vs__free(f);
}

int vs__filter_needs_payload(const vs__filter *f) { return f ? f->needs_payload : 0; }

/* ------------------------------------------------------------------ eval ---- */

void vs__filter_ctx_init(vs__filter_ctx *cx) { memset(cx, 0, sizeof *cx); }

void vs__filter_ctx_release(vs__filter_ctx *cx) {
    vs__free(cx->buf);
    vs__regex_scratch_free(cx->rx);
    memset(cx, 0, sizeof *cx);
}

typedef struct ectx {
    vs__filter_ctx *cx;
    vs__err *e;
    const char *end; /* of the payload text */
} ectx;

/* The decoded bytes of the string at p: raw when it has no escapes, else decoded into
 * cx->buf (grown as needed). */
static int str_of(ectx *x, const char *p, const char **s, size_t *len) {
    const char *raw;
    size_t rl;
    if (!vs__jt_str(p, x->end, &raw, &rl)) return 0;
    if (!memchr(raw, '\\', rl)) {
        *s = raw;
        *len = rl;
        return 1;
    }
    if (x->cx->cap < rl) {
        char *nb = vs__realloc(x->cx->buf, rl);
        if (!nb) return vs__errf(x->e, VS_ENOMEM, "out of memory decoding a payload string");
        x->cx->buf = nb;
        x->cx->cap = rl;
    }
    *len = vs__jt_unescape(raw, rl, x->cx->buf);
    *s = x->cx->buf;
    return 1;
}

static int set_has_num(const fset *s, long double v) {
    size_t lo = 0, hi = s->nnum;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->nums[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->nnum && s->nums[lo] == v;
}

static int set_has_str(const fset *s, const char *str, size_t len) {
    fstr key = {(char *)str, len};
    return bsearch(&key, s->strs, s->nstr, sizeof *s->strs, cmp_str) != NULL;
}

static int read_num(ectx *x, const char *p, long double *v) {
    vs__jt_num n;
    if (!vs__jt_number(p, x->end, &n)) return 0;
    *v = num_value(&n);
    return 1;
}

/* Is the scalar at p in the set? 1/0, or a negative code. `scalar` is set to 0 for
 * values that are not strings, numbers or bools. */
static int in_set(ectx *x, const fset *s, const char *p, int *scalar) {
    const char *str;
    size_t len;
    long double v;
    int r;
    *scalar = 1;
    switch (vs__jt_type(p, x->end)) {
    case VS__JT_STR:
        if ((r = str_of(x, p, &str, &len)) <= 0) return r;
        return set_has_str(s, str, len);
    case VS__JT_NUM: return read_num(x, p, &v) && set_has_num(s, v);
    case VS__JT_TRUE: return (s->bools & 2u) != 0;
    case VS__JT_FALSE: return (s->bools & 1u) != 0;
    }
    *scalar = 0;
    return 0;
}

static int words_ok(const fnode *n, const char *s, size_t len) {
    uint64_t need = n->nwords == 64 ? ~0ull : (1ull << n->nwords) - 1, have = 0;
    size_t i = 0, a, wl;
    while (have != need && vs__filter_next_word(s, len, &i, &a, &wl))
        for (size_t w = 0; w < n->nwords; w++) {
            if (n->words[w].len != wl) continue;
            size_t k = 0;
            while (k < wl && fold(s[a + k]) == n->words[w].s[k]) k++;
            if (k == wl) have |= 1ull << w;
        }
    return have == need;
}

static int range_ok(const fnode *n, long double x) {
    if ((n->bounds & B_GT) && !(x > n->gt)) return 0;
    if ((n->bounds & B_GTE) && !(x >= n->gte)) return 0;
    if ((n->bounds & B_LT) && !(x < n->lt)) return 0;
    if ((n->bounds & B_LTE) && !(x <= n->lte)) return 0;
    return 1;
}

static int dtrange_ok(const fnode *n, int64_t x) {
    if ((n->bounds & B_GT) && !(x > n->dgt)) return 0;
    if ((n->bounds & B_GTE) && !(x >= n->dgte)) return 0;
    if ((n->bounds & B_LT) && !(x < n->dlt)) return 0;
    if ((n->bounds & B_LTE) && !(x <= n->dlte)) return 0;
    return 1;
}

/* The point a payload value holds: an object with numbers "lat" and "lon" that make a
 * valid WGS84 point (other members are ignored). 1 with the point, else 0. */
static int geo_value(const char *p, const char *end, double *lat, double *lon) {
    const char *a = vs__jt_get(p, end, "lat", 3), *o = vs__jt_get(p, end, "lon", 3);
    vs__jt_num na, no;
    if (!a || !o || vs__jt_type(a, end) != VS__JT_NUM || vs__jt_type(o, end) != VS__JT_NUM ||
        !vs__jt_number(a, end, &na) || !vs__jt_number(o, end, &no))
        return 0;
    *lat = na.d;
    *lon = no.d;
    return vs__geo_check(na.d, no.d) == NULL;
}

/* The per-value predicate of an N_FIELD node on the value at p: 1/0/negative code. */
static int pred_ok(ectx *x, const fnode *n, const char *p) {
    int t = vs__jt_type(p, x->end), r, scalar;
    const char *s;
    size_t len;
    switch (n->pred) {
    case P_EQ: return in_set(x, &n->set, p, &scalar);
    case P_EXCEPT: r = in_set(x, &n->set, p, &scalar); return r < 0 ? r : scalar && !r;
    case P_RANGE: {
        long double v;
        return t == VS__JT_NUM && read_num(x, p, &v) && range_ok(n, v);
    }
    case P_DTRANGE: {
        int64_t us;
        size_t at;
        const char *why;
        if (t != VS__JT_STR) return 0;
        if ((r = str_of(x, p, &s, &len)) <= 0) return r;
        return vs__datetime_parse(s, len, &us, &at, &why) == 0 && dtrange_ok(n, us);
    }
    case P_REGEX:
        if (t != VS__JT_STR) return 0;
        if ((r = str_of(x, p, &s, &len)) <= 0) return r;
        return vs__regex_match(n->rx, s, len, &x->cx->rx, x->e);
    case P_TEXT:
        if (t != VS__JT_STR) return 0;
        if ((r = str_of(x, p, &s, &len)) <= 0) return r;
        return words_ok(n, s, len);
    case P_GEO: {
        double lat, lon;
        return t == VS__JT_OBJ && geo_value(p, x->end, &lat, &lon) &&
               vs__geo_region_contains(n->geo, lat, lon);
    }
    }
    return 0;
}

/* Visits the values of a path: fn(arg, p) for each; fn returns 1 to stop, 0 to go on, or
 * a negative code. flatten: an array at the end gives its elements (nulls included), a
 * null at the end gives nothing; without it the terminal values are visited as they are
 * (is_null, is_empty). Returns 1 if stopped, 0, or the code. */
typedef int (*visit_fn)(ectx *x, void *arg, const char *p);

static int walk(ectx *x, const pcomp *c, size_t nc, const char *p, int flatten, visit_fn fn,
                void *arg) {
    if (!p) return 0;
    if (nc == 0) {
        int t = vs__jt_type(p, x->end);
        if (!flatten) return fn(x, arg, p);
        if (t == VS__JT_NULL) return 0;
        if (t != VS__JT_ARR) return fn(x, arg, p);
        vs__jt_iter it;
        const char *v;
        vs__jt_arr_begin(&it, p, x->end);
        while (vs__jt_arr_next(&it, &v) == 1) {
            int r = fn(x, arg, v);
            if (r) return r;
        }
        return 0;
    }
    int t = vs__jt_type(p, x->end);
    if (c->kind == K_KEY) {
        if (t != VS__JT_OBJ) return 0;
        return walk(x, c + 1, nc - 1, vs__jt_get(p, x->end, c->name, c->len), flatten, fn, arg);
    }
    if (t != VS__JT_ARR) return 0;
    vs__jt_iter it;
    const char *v;
    uint32_t i = 0;
    vs__jt_arr_begin(&it, p, x->end);
    while (vs__jt_arr_next(&it, &v) == 1) {
        if (c->kind == K_ALL) {
            int r = walk(x, c + 1, nc - 1, v, flatten, fn, arg);
            if (r) return r;
        } else if (i++ == c->idx)
            return walk(x, c + 1, nc - 1, v, flatten, fn, arg);
    }
    return 0;
}

typedef struct qstate {
    const fnode *n;
    size_t seen;
    int failed; /* ALL: some value did not satisfy */
} qstate;

static int visit_pred(ectx *x, void *arg, const char *p) {
    qstate *q = arg;
    int r = pred_ok(x, q->n, p);
    if (r < 0) return r;
    q->seen++;
    if (q->n->quant == Q_ANY) return r; /* stop at the first that holds */
    if (!r) q->failed = 1;
    return !r; /* ALL: stop at the first that fails */
}

static int visit_count(ectx *x, void *arg, const char *p) {
    (void)x, (void)p;
    (*(size_t *)arg)++;
    return 0;
}

/* A terminal value that makes a field non-empty: anything but null and []. */
static int visit_nonempty(ectx *x, void *arg, const char *p) {
    (void)arg;
    int t = vs__jt_type(p, x->end);
    if (t == VS__JT_NULL) return 0;
    if (t != VS__JT_ARR) return 1;
    vs__jt_iter it;
    const char *v;
    vs__jt_arr_begin(&it, p, x->end);
    return vs__jt_arr_next(&it, &v) == 1;
}

static int visit_null(ectx *x, void *arg, const char *p) {
    (void)arg;
    return vs__jt_type(p, x->end) == VS__JT_NULL;
}

/* contains_all: one listed value, looked for among the field's values. */
typedef struct want1 {
    int type;
    long double num;
    const fstr *str;
} want1;

static int visit_eq1(ectx *x, void *arg, const char *p) {
    const want1 *w = arg;
    int t = vs__jt_type(p, x->end), r;
    if (w->type == VS__JT_TRUE || w->type == VS__JT_FALSE) return t == w->type;
    if (w->type == VS__JT_NUM) {
        long double v;
        return t == VS__JT_NUM && read_num(x, p, &v) && v == w->num;
    }
    if (t != VS__JT_STR) return 0;
    const char *s;
    size_t len;
    if ((r = str_of(x, p, &s, &len)) <= 0) return r;
    return len == w->str->len && !memcmp(s, w->str->s, len);
}

typedef struct nstate {
    const fnode *sub;
    const vs_id *id;
} nstate;

static int node_eval(ectx *x, const fnode *n, const char *root, const vs_id *id);

static int visit_nested(ectx *x, void *arg, const char *p) {
    const nstate *s = arg;
    if (vs__jt_type(p, x->end) != VS__JT_OBJ) return 0;
    return node_eval(x, s->sub, p, s->id);
}

static int id_in(const fnode *n, const vs_id *id) {
    if (!id) return 0;
    fid key = {id->kind, id->num, (char *)id->str, id->len};
    if (id->kind == VS_ID_STR && !id->str) return 0;
    return bsearch(&key, n->ids, n->nids, sizeof *n->ids, id_cmp) != NULL;
}

static int node_eval(ectx *x, const fnode *n, const char *root, const vs_id *id) {
    int r;
    switch (n->kind) {
    case N_FILTER:
        for (size_t i = 0; i < n->nkids[C_MUST]; i++)
            if ((r = node_eval(x, n->kids[C_MUST][i], root, id)) <= 0) return r;
        for (size_t i = 0; i < n->nkids[C_MUST_NOT]; i++) {
            if ((r = node_eval(x, n->kids[C_MUST_NOT][i], root, id)) < 0) return r;
            if (r) return 0;
        }
        if (n->min_count) {
            size_t hit = 0;
            for (size_t i = 0; i < n->nkids[C_MIN] && hit < n->min_count; i++) {
                if ((r = node_eval(x, n->kids[C_MIN][i], root, id)) < 0) return r;
                hit += (size_t)r;
            }
            if (hit < n->min_count) return 0;
        }
        if (!n->has_should) return 1;
        for (size_t i = 0; i < n->nkids[C_SHOULD]; i++)
            if ((r = node_eval(x, n->kids[C_SHOULD][i], root, id)) != 0) return r;
        return 0;
    case N_HAS_ID: return id_in(n, id);
    case N_IS_EMPTY:
        r = walk(x, n->path, n->npath, root, 0, visit_nonempty, NULL);
        return r < 0 ? r : !r;
    case N_IS_NULL: return walk(x, n->path, n->npath, root, 0, visit_null, NULL);
    case N_COUNT: {
        size_t cnt = 0;
        if ((r = walk(x, n->path, n->npath, root, 1, visit_count, &cnt)) < 0) return r;
        return range_ok(n, (long double)cnt);
    }
    case N_CONTAINS: {
        want1 w = {VS__JT_NUM, 0, NULL};
        for (size_t i = 0; i < n->set.nnum; i++) {
            w.num = n->set.nums[i];
            if ((r = walk(x, n->path, n->npath, root, 1, visit_eq1, &w)) <= 0) return r;
        }
        w.type = VS__JT_STR;
        for (size_t i = 0; i < n->set.nstr; i++) {
            w.str = &n->set.strs[i];
            if ((r = walk(x, n->path, n->npath, root, 1, visit_eq1, &w)) <= 0) return r;
        }
        for (unsigned b = 0; b < 2; b++) {
            if (!(n->set.bools & (1u << b))) continue;
            w.type = b ? VS__JT_TRUE : VS__JT_FALSE;
            if ((r = walk(x, n->path, n->npath, root, 1, visit_eq1, &w)) <= 0) return r;
        }
        return 1;
    }
    case N_NESTED: {
        nstate s = {n->sub, id};
        return walk(x, n->path, n->npath, root, 1, visit_nested, &s);
    }
    case N_FIELD: {
        qstate q = {n, 0, 0};
        if ((r = walk(x, n->path, n->npath, root, 1, visit_pred, &q)) < 0) return r;
        if (n->quant == Q_ANY) return r;
        return q.seen > 0 && !q.failed;
    }
    }
    return 0;
}

int vs__filter_eval(const vs__filter *f, vs__filter_ctx *cx, const char *payload, size_t len,
                    const vs_id *id, vs__err *e) {
    if (!f) return 1;
    cx->evals++;
    ectx x = {cx, e, payload ? payload + len : NULL};
    const char *root = payload && len ? vs__jt_ws(payload, payload + len) : NULL;
    if (root && vs__jt_type(root, x.end) != VS__JT_OBJ) root = NULL;
    return node_eval(&x, f->root, root, id);
}

/* ------------------------------------------------ paths for payload indexes ---- */

struct vs__fpath {
    fnode *n; /* only path, npath and cpath are set */
};

int vs__fpath_compile(const char *key, vs__fpath **out, vs__err *e) {
    *out = NULL;
    if (!key) return vs__errf(e, VS_EINVAL, "payload index path is NULL");
    /* Compile through the filter grammar: quote the key as a JSON string. */
    size_t kl = strlen(key);
    if (kl == 0) return vs__errf(e, VS_EINVAL, "payload index path is empty");
    if (kl > 4096) return vs__errf(e, VS_EINVAL, "payload index path is longer than 4096 bytes");
    char *js = vs__malloc(kl * 6 + 3), *o = js;
    if (!js) return vs__errf(e, VS_ENOMEM, "out of memory");
    *o++ = '"';
    for (size_t i = 0; i < kl; i++) {
        unsigned char ch = (unsigned char)key[i];
        if (ch < 0x20 || ch == '"' || ch == '\\')
            o += sprintf(o, "\\u%04x", ch);
        else
            *o++ = (char)ch;
    }
    *o++ = '"';
    size_t at;
    const char *why;
    int rc = VS_OK;
    fnode *n = vs__calloc(1, sizeof *n);
    vs__fpath *p = vs__calloc(1, sizeof *p);
    if (!n || !p) {
        rc = vs__errf(e, VS_ENOMEM, "out of memory");
        goto done;
    }
    if (vs__json_check(js, (size_t)(o - js), &at, &why)) {
        rc = vs__errf(e, VS_EINVAL, "payload index path is not valid UTF-8");
        goto done;
    }
    cctx c;
    memset(&c, 0, sizeof c);
    c.e = e;
    c.text = js;
    c.end = o;
    if ((rc = compile_path(&c, js, n))) {
        if (rc == VS_EFILTER) {
            /* "key: bad array index in key 'a[x' (at byte 0)" → a path error */
            const char *m = strstr(e->msg, ": ");
            char msg[sizeof e->msg];
            snprintf(msg, sizeof msg, "%s", m ? m + 2 : e->msg);
            char *cut = strstr(msg, " (at byte");
            if (cut) *cut = 0;
            rc = vs__errf(e, VS_EINVAL, "bad payload index path: %s", msg);
        }
        goto done;
    }
    p->n = n;
    n = NULL;
    *out = p;
    p = NULL;
done:
    node_free(n);
    vs__free(p);
    vs__free(js);
    return rc;
}

void vs__fpath_free(vs__fpath *p) {
    if (!p) return;
    node_free(p->n);
    vs__free(p);
}

const char *vs__fpath_text(const vs__fpath *p) { return p->n->cpath; }

typedef struct vstate {
    vs__fval_fn fn;
    void *arg;
} vstate;

static int visit_value(ectx *x, void *arg, const char *p) {
    const vstate *st = arg;
    vs__fval v;
    memset(&v, 0, sizeof v);
    v.type = vs__jt_type(p, x->end);
    if (v.type == VS__JT_OBJ) {
        v.geo = geo_value(p, x->end, &v.lat, &v.lon);
    } else if (v.type == VS__JT_STR) {
        int r = str_of(x, p, &v.s, &v.len);
        if (r <= 0) return r < 0 ? r : 0;
    } else if (v.type == VS__JT_NUM && !read_num(x, p, &v.num)) {
        return 0;
    }
    return st->fn(st->arg, &v);
}

int vs__fpath_values(const vs__fpath *p, vs__filter_ctx *cx, const char *payload, size_t len,
                     vs__fval_fn fn, void *arg, vs__err *e) {
    ectx x = {cx, e, payload ? payload + len : NULL};
    const char *root = payload && len ? vs__jt_ws(payload, payload + len) : NULL;
    if (!root || vs__jt_type(root, x.end) != VS__JT_OBJ) return 0;
    vstate st = {fn, arg};
    return walk(&x, p->n->path, p->n->npath, root, 1, visit_value, &st);
}

/* ------------------------------------------------------- planning over rows ---- */

/* The leaf a node offers to a row source, or 0 when it is not one. */
static int as_leaf(const fnode *n, vs__fleaf *lf) {
    if (n->kind != N_FIELD || n->quant != Q_ANY) return 0;
    memset(lf, 0, sizeof *lf);
    lf->path = n->cpath;
    lf->bounds = n->bounds; /* B_* and VS__BOUND_* are the same bits */
    switch (n->pred) {
    case P_EQ:
        lf->op = VS__LEAF_EQ;
        lf->nums = n->set.nums;
        lf->nnum = n->set.nnum;
        lf->strs = n->set.strs;
        lf->nstr = n->set.nstr;
        lf->bools = n->set.bools;
        return 1;
    case P_RANGE:
        lf->op = VS__LEAF_RANGE;
        lf->gt = n->gt, lf->gte = n->gte, lf->lt = n->lt, lf->lte = n->lte;
        return 1;
    case P_DTRANGE:
        lf->op = VS__LEAF_DTRANGE;
        lf->dgt = n->dgt, lf->dgte = n->dgte, lf->dlt = n->dlt, lf->dlte = n->dlte;
        return 1;
    case P_TEXT:
        lf->op = VS__LEAF_TEXT;
        lf->words = n->words;
        lf->nwords = n->nwords;
        return 1;
    case P_GEO:
        lf->op = VS__LEAF_GEO;
        lf->geo = n->geo;
        return 1;
    }
    return 0;
}

_Static_assert((int)B_GT == (int)VS__BOUND_GT && (int)B_GTE == (int)VS__BOUND_GTE &&
                   (int)B_LT == (int)VS__BOUND_LT && (int)B_LTE == (int)VS__BOUND_LTE,
               "bound bits are shared with vs__fleaf");

/* Selectivity in [0, 1], or -1 when unknown; *exact stays 1 only if every condition
 * was answered exactly. */
static double node_est(const fnode *n, const vs__frows *src, int *exact) {
    double nr = src->nrows ? (double)src->nrows : 1.0;
    vs__fleaf lf;
    if (as_leaf(n, &lf)) {
        int ex = 0;
        double r = src->estimate(src->ctx, &lf, &ex);
        if (r < 0) {
            *exact = 0;
            return -1;
        }
        if (!ex) *exact = 0;
        return r >= nr ? 1.0 : r / nr;
    }
    if (n->kind != N_FILTER) {
        *exact = 0;
        return -1;
    }
    double s = 1.0;
    int known = 0;
    for (size_t i = 0; i < n->nkids[C_MUST]; i++) {
        double k = node_est(n->kids[C_MUST][i], src, exact);
        if (k >= 0) s *= k, known = 1;
    }
    for (size_t i = 0; i < n->nkids[C_MUST_NOT]; i++) {
        int ex = 1;
        double k = node_est(n->kids[C_MUST_NOT][i], src, &ex);
        if (k >= 0 && ex)
            s *= 1.0 - k, known = 1;
        else
            *exact = 0;
    }
    int ors[2] = {n->has_should, n->min_count == 1};
    const int ork[2] = {C_SHOULD, C_MIN};
    if (n->min_count > 1) *exact = 0;
    for (int o = 0; o < 2; o++) {
        if (!ors[o]) continue;
        double none = 1.0;
        int all = 1;
        for (size_t i = 0; i < n->nkids[ork[o]] && all; i++) {
            double k = node_est(n->kids[ork[o]][i], src, exact);
            if (k < 0)
                all = 0;
            else
                none *= 1.0 - k;
        }
        if (all) s *= 1.0 - none, known = 1;
    }
    if (!known && (n->nkids[C_MUST] || n->nkids[C_MUST_NOT] || n->has_should || n->min_count))
        return -1;
    return s; /* {} matches everything: 1, exact */
}

double vs__filter_estimate(const vs__filter *f, const vs__frows *src, int *complete) {
    *complete = 1;
    if (!f) return (double)src->nrows;
    double s = node_est(f->root, src, complete);
    if (s < 0) {
        *complete = 0;
        return -1;
    }
    return s * (double)src->nrows;
}

/* A row set while folding: known = 0 → every row may match (unknown); known with
 * b == NULL → every row matches. */
typedef struct rset {
    uint64_t *b;
    int known, exact;
} rset;

static int rset_all(size_t nw, uint64_t **out) {
    if (!(*out = vs__malloc(nw * 8 + 8))) return VS_ENOMEM;
    memset(*out, 0xff, nw * 8 + 8);
    return VS_OK;
}

static int node_rows(const fnode *n, const vs__frows *src, rset *out, vs__err *e);

/* AND of `acc` with x (consumes x). */
static int rset_and(rset *acc, rset *x, size_t nw) {
    if (!x->known) {
        acc->exact = 0;
        return VS_OK;
    }
    if (!x->exact) acc->exact = 0;
    if (!x->b) return VS_OK; /* all rows */
    if (!acc->known || !acc->b) {
        int ex = acc->exact;
        vs__free(acc->b);
        *acc = *x;
        acc->known = 1;
        acc->exact = ex && x->exact;
        x->b = NULL;
        return VS_OK;
    }
    for (size_t w = 0; w < nw; w++) acc->b[w] &= x->b[w];
    vs__free(x->b);
    x->b = NULL;
    return VS_OK;
}

static int node_rows(const fnode *n, const vs__frows *src, rset *out, vs__err *e) {
    size_t nw = (src->nrows + 63) / 64;
    memset(out, 0, sizeof *out);
    vs__fleaf lf;
    if (as_leaf(n, &lf)) {
        uint64_t *b = vs__calloc(nw + 1, 8);
        if (!b) return vs__errf(e, VS_ENOMEM, "out of memory planning a filter");
        int ex = 0, r = src->rows(src->ctx, &lf, b, &ex, e);
        if (r) {
            vs__free(b);
            return r < 0 ? r : VS_OK; /* 1: unknown */
        }
        *out = (rset){b, 1, ex};
        return VS_OK;
    }
    if (n->kind != N_FILTER) return VS_OK;
    rset acc = {NULL, 1, 1}; /* all rows, exactly */
    int rc = VS_OK;
    for (size_t i = 0; i < n->nkids[C_MUST] && !rc; i++) {
        rset x;
        if (!(rc = node_rows(n->kids[C_MUST][i], src, &x, e))) rc = rset_and(&acc, &x, nw);
    }
    for (size_t i = 0; i < n->nkids[C_MUST_NOT] && !rc; i++) {
        rset x;
        if ((rc = node_rows(n->kids[C_MUST_NOT][i], src, &x, e))) break;
        if (!x.known || !x.exact) { /* NOT of a superset says nothing */
            vs__free(x.b);
            acc.exact = 0;
            continue;
        }
        if (!x.b) { /* NOT all rows: none */
            if ((rc = rset_all(nw, &x.b))) break;
        } else {
            for (size_t w = 0; w < nw; w++) x.b[w] = ~x.b[w];
            x.exact = 1;
            rc = rset_and(&acc, &x, nw);
            continue;
        }
        memset(x.b, 0, nw * 8 + 8);
        rc = rset_and(&acc, &x, nw);
    }
    int ors[2] = {n->has_should, n->min_count == 1};
    const int ork[2] = {C_SHOULD, C_MIN};
    if (n->min_count > 1) acc.exact = 0;
    for (int o = 0; o < 2 && !rc; o++) {
        if (!ors[o]) continue;
        rset u = {vs__calloc(nw + 1, 8), 1, 1};
        if (!u.b) {
            rc = VS_ENOMEM;
            break;
        }
        for (size_t i = 0; i < n->nkids[ork[o]] && u.known && !rc; i++) {
            rset x;
            if ((rc = node_rows(n->kids[ork[o]][i], src, &x, e))) break;
            if (!x.known) {
                u.known = 0;
            } else if (!x.b) {
                memset(u.b, 0xff, nw * 8 + 8);
                if (!x.exact) u.exact = 0;
            } else {
                for (size_t w = 0; w < nw; w++) u.b[w] |= x.b[w];
                if (!x.exact) u.exact = 0;
            }
            vs__free(x.b);
        }
        if (!rc) rc = rset_and(&acc, &u, nw);
        vs__free(u.b);
    }
    if (rc) {
        vs__free(acc.b);
        return rc == VS_ENOMEM ? vs__errf(e, VS_ENOMEM, "out of memory planning a filter") : rc;
    }
    *out = acc;
    return VS_OK;
}

int vs__filter_rows(const vs__filter *f, const vs__frows *src, uint64_t **bits, int *exact,
                    vs__err *e) {
    *bits = NULL;
    *exact = 1;
    if (!f) return VS_OK;
    rset r;
    int rc = node_rows(f->root, src, &r, e);
    if (rc) return rc;
    if (!r.known || (!r.b && !r.exact)) { /* nothing learnt */
        vs__free(r.b);
        *exact = 0;
        return VS_OK;
    }
    if (!r.b && (rc = rset_all((src->nrows + 63) / 64, &r.b)))
        return vs__errf(e, VS_ENOMEM, "out of memory planning a filter");
    *bits = r.b;
    *exact = r.exact;
    return VS_OK;
}
