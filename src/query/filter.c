/*
 * filter.c — Qdrant-style payload filters: strict parse, owned tree, evaluation.
 *
 * A filter goes through three stages, each with one job:
 *
 *   1. scan    — a strict RFC 8259 syntax check of the text (no allocation). cJSON is
 *                lenient ("01", "1.", raw control characters, invalid UTF-8, lone
 *                "\u0000" that silently truncates a string) and, worse, reports running
 *                out of memory exactly like a syntax error. Scanning first makes the
 *                accepted language strict, gives a precise byte offset for bad text, and
 *                means a later cJSON failure can only be out-of-memory (VS_ENOMEM).
 *   2. compile — walk the cJSON tree once, validate every key, type and bound against
 *                the grammar in filter.h, and copy what evaluation needs into an owned
 *                tree of fnode (every byte from util/alloc.h). The cJSON tree is freed
 *                before returning; a filter never borrows from its input.
 *   3. match   — evaluate the tree against a payload (a cJSON object owned by the
 *                caller) and a point id. Read-only, no allocation, no global state, so
 *                one parsed filter serves any number of threads.
 *
 * Invariants:
 *   - A partly built tree is always freeable: every allocation is linked into its parent
 *     (zeroed) before anything else can fail, so the single error path is
 *     "free the root". This is what the allocation-failure sweep in the tests checks.
 *   - Error messages name the place inside the filter ("must[1].range.gte: expected a
 *     number"); the path is built only from our own grammar words and array indexes,
 *     user-supplied keys appear quoted and truncated in the message text.
 *   - Value conditions see a field as the set of its values: missing, null and [] are the
 *     empty set; an array contributes its elements (one level); anything else is itself.
 *     match/any/except/range are true iff some value in the set satisfies them. This is
 *     why a condition on a missing key is false, and why except on [] is false.
 *   - Nesting of filters is limited to FILTER_DEPTH_MAX (the root is level 1), which
 *     also bounds the recursion of compile and match.
 */
#include "query/filter.h"

#include "util/json.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/alloc.h"

#define FILTER_DEPTH_MAX 32
/* A filter at FILTER_DEPTH_MAX needs about 2 * FILTER_DEPTH_MAX + 4 levels of JSON,
 * well inside VS_JSON_DEPTH_MAX (util/json.h). */
/* has_id numbers must be below 2^53: cJSON hands us doubles, and from 2^53 on distinct
 * integers round to the same double (2^53 + 1 reads as 2^53), so a larger id would
 * silently match its neighbour. Refusing it is the honest answer. */
#define ID_NUM_LIMIT 9007199254740992.0 /* 2^53 */

enum fnode_kind {
    N_FILTER = 1,
    N_MATCH,  /* match.value: vals[0] */
    N_ANY,    /* match.any: vals */
    N_EXCEPT, /* match.except: vals */
    N_RANGE,
    N_HAS_ID,
    N_IS_EMPTY,
    N_IS_NULL
};

enum fval_kind { V_STR = 1, V_NUM, V_BOOL };

typedef struct fval {
    int kind;
    int b;
    double num;
    char *str; /* owned, NUL-terminated; scan forbids "\u0000" so len == strlen */
    size_t len;
} fval;

typedef struct fid {
    int kind; /* enum vs_id_kind */
    uint64_t num;
    char *str;
    uint32_t len;
} fid;

enum { B_GT = 1, B_GTE = 2, B_LT = 4, B_LTE = 8 };
enum { C_MUST = 0, C_SHOULD = 1, C_MUST_NOT = 2 };

typedef struct fnode fnode;
struct fnode {
    int kind;
    /* field conditions: the path's components, each NUL-terminated, back to back */
    char *path;
    size_t npath;
    fval *vals;
    size_t nvals;
    unsigned bounds; /* B_* */
    double gt, gte, lt, lte;
    fid *ids;
    size_t nids;
    /* N_FILTER: must, should, must_not */
    fnode **kids[3];
    size_t nkids[3];
    int has_should; /* "should" present: then at least one must match, even of none */
};

struct vs__filter {
    fnode *root;
    int needs_payload;
};

/* 0 if text is one strict JSON value with only whitespace around it. */
static int json_scan(const char *text, size_t len, vs__err *e) {
    size_t at;
    const char *why;
    if (vs__json_check(text, len, &at, &why) == 0) return VS_OK;
    return vs__errf(e, VS_EFILTER, "invalid JSON at byte %zu: %s", at, why);
}

/* --------------------------------------------------------------- compile ---- */

typedef struct cctx {
    vs__err *e;
    char path[1024];
    size_t plen;
    int needs_payload;
} cctx;

/* Appends ".word" (or "word" at the root, or "[i]" when word is NULL) to the path and
 * returns the old length, which path_pop restores. Truncation only shortens messages. */
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

__attribute__((format(printf, 2, 3))) static int cerr(cctx *c, const char *fmt, ...) {
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return vs__errf(c->e, VS_EFILTER, "%s: %s", c->plen ? c->path : "filter", msg);
}

static int oom(cctx *c) {
    return vs__errf(c->e, VS_ENOMEM, "out of memory compiling filter at %s",
                    c->plen ? c->path : "the root");
}

static void node_free(fnode *n) {
    if (!n) return;
    vs__free(n->path);
    for (size_t i = 0; i < n->nvals; i++) vs__free(n->vals[i].str);
    vs__free(n->vals);
    for (size_t i = 0; i < n->nids; i++) vs__free(n->ids[i].str);
    vs__free(n->ids);
    for (int k = 0; k < 3; k++) {
        for (size_t i = 0; i < n->nkids[k]; i++) node_free(n->kids[k][i]);
        vs__free(n->kids[k]);
    }
    vs__free(n);
}

static const char *type_name(const cJSON *j) {
    if (cJSON_IsObject(j)) return "an object";
    if (cJSON_IsArray(j)) return "an array";
    if (cJSON_IsString(j)) return "a string";
    if (cJSON_IsNumber(j)) return "a number";
    if (cJSON_IsBool(j)) return "a boolean";
    return "null";
}

/* Objects: refuse repeated keys, which cJSON keeps and would make "which one counts"
 * depend on lookup order. No object of the grammar has more than 4 keys, so a big one
 * is refused before the quadratic check can be used to burn CPU. */
static int check_dups(cctx *c, const cJSON *obj) {
    int n = 0;
    for (const cJSON *a = obj->child; a; a = a->next) n++;
    if (n > 8) return cerr(c, "an object with %d keys (filter objects have at most 4)", n);
    for (const cJSON *a = obj->child; a; a = a->next)
        for (const cJSON *b = obj->child; b != a; b = b->next)
            if (!strcmp(a->string, b->string)) return cerr(c, "duplicate key '%.64s'", a->string);
    return VS_OK;
}

/* "a.b.c" → "a\0b\0c\0". Brackets and quotes are reserved for the array and quoted-key
 * syntax of the full filtering language, so that adding it later changes no meaning. */
static int compile_path(cctx *c, const cJSON *key, fnode *n) {
    size_t mark = path_push(c, "key", 0);
    int rc = VS_OK;
    if (!cJSON_IsString(key)) {
        rc = cerr(c, "expected a string, got %s", type_name(key));
        goto done;
    }
    const char *s = key->valuestring;
    size_t len = strlen(s);
    if (len == 0) {
        rc = cerr(c, "empty key");
        goto done;
    }
    if (s[0] == '.' || s[len - 1] == '.' || strstr(s, "..")) {
        rc = cerr(c, "empty component in key '%.64s'", s);
        goto done;
    }
    if (strpbrk(s, "[]\"")) {
        rc = cerr(c, "array and quoted keys are not supported: '%.64s'", s);
        goto done;
    }
    if (!(n->path = vs__strndup(s, len))) {
        rc = oom(c);
        goto done;
    }
    n->npath = 1;
    for (char *p = n->path; *p; p++)
        if (*p == '.') {
            *p = 0;
            n->npath++;
        }
done:
    path_pop(c, mark);
    return rc;
}

/* A match operand: string, boolean or a number with an integral value (Qdrant's
 * keyword | integer | bool; floats are not equality-matchable there either). */
static int compile_val(cctx *c, const cJSON *j, fval *v) {
    if (cJSON_IsString(j)) {
        v->kind = V_STR;
        v->len = strlen(j->valuestring);
        if (!(v->str = vs__strndup(j->valuestring, v->len))) return oom(c);
        return VS_OK;
    }
    if (cJSON_IsBool(j)) {
        v->kind = V_BOOL;
        v->b = cJSON_IsTrue(j);
        return VS_OK;
    }
    if (cJSON_IsNumber(j) && isfinite(j->valuedouble) && j->valuedouble == floor(j->valuedouble)) {
        v->kind = V_NUM;
        v->num = j->valuedouble;
        return VS_OK;
    }
    return cerr(c, "expected a string, an integer or a boolean, got %s",
                cJSON_IsNumber(j) ? "a non-integral number" : type_name(j));
}

static int compile_vals(cctx *c, const cJSON *arr, fnode *n) {
    if (!cJSON_IsArray(arr)) return cerr(c, "expected an array, got %s", type_name(arr));
    size_t cnt = (size_t)cJSON_GetArraySize(arr);
    if (!(n->vals = vs__calloc(cnt ? cnt : 1, sizeof *n->vals))) return oom(c);
    n->nvals = cnt;
    size_t i = 0;
    for (const cJSON *j = arr->child; j; j = j->next, i++) {
        size_t mark = path_push(c, NULL, i);
        int rc = compile_val(c, j, &n->vals[i]);
        path_pop(c, mark);
        if (rc) return rc;
    }
    return VS_OK;
}

static int compile_match(cctx *c, const cJSON *m, fnode *n) {
    if (!cJSON_IsObject(m)) return cerr(c, "expected an object, got %s", type_name(m));
    int rc = check_dups(c, m);
    if (rc) return rc;
    if (!m->child) return cerr(c, "expected one of 'value', 'any' or 'except'");
    if (m->child->next)
        return cerr(c, "expected exactly one of 'value', 'any' or 'except', got '%.64s' and "
                       "'%.64s'", m->child->string, m->child->next->string);
    const cJSON *j = m->child;
    size_t mark = path_push(c, j->string, 0);
    if (!strcmp(j->string, "value")) {
        n->kind = N_MATCH;
        if (!(n->vals = vs__calloc(1, sizeof *n->vals))) {
            rc = oom(c);
            goto done;
        }
        n->nvals = 1;
        rc = compile_val(c, j, &n->vals[0]);
    } else if (!strcmp(j->string, "any")) {
        n->kind = N_ANY;
        rc = compile_vals(c, j, n);
    } else if (!strcmp(j->string, "except")) {
        n->kind = N_EXCEPT;
        rc = compile_vals(c, j, n);
    } else {
        path_pop(c, mark);
        return cerr(c, "unknown key '%.64s' (expected 'value', 'any' or 'except')", j->string);
    }
done:
    path_pop(c, mark);
    return rc;
}

static int compile_range(cctx *c, const cJSON *r, fnode *n) {
    static const struct {
        const char *name;
        unsigned bit;
    } ops[] = {{"gt", B_GT}, {"gte", B_GTE}, {"lt", B_LT}, {"lte", B_LTE}};
    if (!cJSON_IsObject(r)) return cerr(c, "expected an object, got %s", type_name(r));
    int rc = check_dups(c, r);
    if (rc) return rc;
    n->kind = N_RANGE;
    for (const cJSON *j = r->child; j; j = j->next) {
        size_t k = 0;
        while (k < 4 && strcmp(j->string, ops[k].name)) k++;
        if (k == 4)
            return cerr(c, "unknown key '%.64s' (expected 'gt', 'gte', 'lt' or 'lte')",
                        j->string);
        if (cJSON_IsNull(j)) continue; /* serde's Option: null means "no bound" */
        size_t mark = path_push(c, ops[k].name, 0);
        if (!cJSON_IsNumber(j))
            rc = cerr(c, "expected a number, got %s", type_name(j));
        else if (!isfinite(j->valuedouble))
            rc = cerr(c, "expected a finite number");
        path_pop(c, mark);
        if (rc) return rc;
        n->bounds |= ops[k].bit;
        double v = j->valuedouble;
        if (k == 0) n->gt = v;
        if (k == 1) n->gte = v;
        if (k == 2) n->lt = v;
        if (k == 3) n->lte = v;
    }
    return VS_OK;
}

static int compile_field(cctx *c, const cJSON *obj, fnode *n) {
    const cJSON *key = NULL, *match = NULL, *range = NULL;
    for (const cJSON *j = obj->child; j; j = j->next) {
        if (!strcmp(j->string, "key"))
            key = j;
        else if (!strcmp(j->string, "match"))
            match = j;
        else if (!strcmp(j->string, "range"))
            range = j;
        else
            return cerr(c, "unknown key '%.64s' in a field condition (expected 'key' with "
                           "'match' or 'range')", j->string);
    }
    if (!key) return cerr(c, "missing 'key' in a field condition");
    int rc = compile_path(c, key, n);
    if (rc) return rc;
    if (!match && !range) return cerr(c, "expected 'match' or 'range' with 'key'");
    if (match && range) return cerr(c, "'match' and 'range' cannot be combined; use 'must'");
    size_t mark = path_push(c, match ? "match" : "range", 0);
    rc = match ? compile_match(c, match, n) : compile_range(c, range, n);
    path_pop(c, mark);
    c->needs_payload = 1;
    return rc;
}

static int compile_has_id(cctx *c, const cJSON *arr, fnode *n) {
    n->kind = N_HAS_ID;
    if (!cJSON_IsArray(arr)) return cerr(c, "expected an array of ids, got %s", type_name(arr));
    size_t cnt = (size_t)cJSON_GetArraySize(arr);
    if (!(n->ids = vs__calloc(cnt ? cnt : 1, sizeof *n->ids))) return oom(c);
    n->nids = cnt;
    size_t i = 0;
    int rc = VS_OK;
    for (const cJSON *j = arr->child; j && !rc; j = j->next, i++) {
        size_t mark = path_push(c, NULL, i);
        fid *id = &n->ids[i];
        if (cJSON_IsNumber(j)) {
            double d = j->valuedouble;
            if (!(d >= 0 && d == floor(d)))
                rc = cerr(c, "expected an unsigned integer id");
            else if (d >= ID_NUM_LIMIT)
                rc = cerr(c, "id %.17g is not below 2^53 and cannot be matched exactly", d);
            else {
                id->kind = VS_ID_NUM;
                id->num = (uint64_t)d;
            }
        } else if (cJSON_IsString(j)) {
            size_t len = strlen(j->valuestring);
            if (len == 0 || len > VS_ID_STR_MAX)
                rc = cerr(c, "string id of %zu bytes (expected 1..%d)", len, VS_ID_STR_MAX);
            else if (!(id->str = vs__strndup(j->valuestring, len)))
                rc = oom(c);
            else {
                id->kind = VS_ID_STR;
                id->len = (uint32_t)len;
            }
        } else
            rc = cerr(c, "expected an unsigned integer or a string id, got %s", type_name(j));
        path_pop(c, mark);
    }
    return rc;
}

/* is_empty / is_null: { "key": PATH } and nothing else. */
static int compile_keyonly(cctx *c, const cJSON *obj, fnode *n) {
    if (!cJSON_IsObject(obj)) return cerr(c, "expected an object, got %s", type_name(obj));
    int rc = check_dups(c, obj);
    if (rc) return rc;
    for (const cJSON *j = obj->child; j; j = j->next)
        if (strcmp(j->string, "key"))
            return cerr(c, "unknown key '%.64s' (expected 'key')", j->string);
    const cJSON *key = cJSON_GetObjectItemCaseSensitive(obj, "key");
    if (!key) return cerr(c, "missing 'key'");
    c->needs_payload = 1;
    return compile_path(c, key, n);
}

static int compile_filter(cctx *c, const cJSON *obj, int depth, fnode **out);

/* One condition of a clause. The keys present decide what it is; a key from another
 * kind of condition in the same object is an error, not silently ignored. */
static int compile_cond(cctx *c, const cJSON *obj, int depth, fnode **out) {
    if (!cJSON_IsObject(obj)) return cerr(c, "expected a condition object, got %s", type_name(obj));
    int rc = check_dups(c, obj);
    if (rc) return rc;
    const cJSON *j;
    if (cJSON_GetObjectItemCaseSensitive(obj, "key") ||
        cJSON_GetObjectItemCaseSensitive(obj, "match") ||
        cJSON_GetObjectItemCaseSensitive(obj, "range")) {
        if (!(*out = vs__calloc(1, sizeof **out))) return oom(c);
        return compile_field(c, obj, *out);
    }
    static const char *const single[] = {"has_id", "is_empty", "is_null"};
    for (int k = 0; k < 3; k++) {
        if (!(j = cJSON_GetObjectItemCaseSensitive(obj, single[k]))) continue;
        for (const cJSON *o = obj->child; o; o = o->next)
            if (o != j)
                return cerr(c, "unknown key '%.64s' next to '%s'", o->string, single[k]);
        if (!(*out = vs__calloc(1, sizeof **out))) return oom(c);
        size_t mark = path_push(c, single[k], 0);
        if (k == 0)
            rc = compile_has_id(c, j, *out);
        else {
            (*out)->kind = k == 1 ? N_IS_EMPTY : N_IS_NULL;
            rc = compile_keyonly(c, j, *out);
        }
        path_pop(c, mark);
        return rc;
    }
    return compile_filter(c, obj, depth + 1, out);
}

static int compile_clause(cctx *c, const cJSON *val, int depth, fnode *n, int k) {
    if (cJSON_IsNull(val)) return VS_OK; /* serde's Option: null = absent */
    if (k == C_SHOULD) n->has_should = 1;
    if (cJSON_IsObject(val)) {
        if (!(n->kids[k] = vs__calloc(1, sizeof *n->kids[k]))) return oom(c);
        n->nkids[k] = 1;
        return compile_cond(c, val, depth, &n->kids[k][0]);
    }
    if (!cJSON_IsArray(val))
        return cerr(c, "expected an array of conditions or a condition, got %s", type_name(val));
    size_t cnt = (size_t)cJSON_GetArraySize(val);
    if (!(n->kids[k] = vs__calloc(cnt ? cnt : 1, sizeof *n->kids[k]))) return oom(c);
    n->nkids[k] = cnt;
    size_t i = 0;
    for (const cJSON *j = val->child; j; j = j->next, i++) {
        size_t mark = path_push(c, NULL, i);
        int rc = compile_cond(c, j, depth, &n->kids[k][i]);
        path_pop(c, mark);
        if (rc) return rc;
    }
    return VS_OK;
}

static int compile_filter(cctx *c, const cJSON *obj, int depth, fnode **out) {
    static const char *const clause[] = {"must", "should", "must_not"};
    if (!cJSON_IsObject(obj)) return cerr(c, "expected an object, got %s", type_name(obj));
    if (depth > FILTER_DEPTH_MAX)
        return cerr(c, "filters nested deeper than %d levels", FILTER_DEPTH_MAX);
    int rc = check_dups(c, obj);
    if (rc) return rc;
    if (!(*out = vs__calloc(1, sizeof **out))) return oom(c);
    (*out)->kind = N_FILTER;
    for (const cJSON *j = obj->child; j; j = j->next) {
        int k = 0;
        while (k < 3 && strcmp(j->string, clause[k])) k++;
        if (k == 3) {
            if (!strcmp(j->string, "min_should"))
                return cerr(c, "'min_should' is not supported yet");
            return cerr(c, "unknown key '%.64s'%s", j->string,
                        depth == 1 && (!strcmp(j->string, "key") || !strcmp(j->string, "has_id") ||
                                       !strcmp(j->string, "is_empty") ||
                                       !strcmp(j->string, "is_null"))
                            ? " (conditions go inside 'must', 'should' or 'must_not')"
                            : " (expected 'must', 'should' or 'must_not')");
        }
        size_t mark = path_push(c, clause[k], 0);
        rc = compile_clause(c, j, depth, *out, k);
        path_pop(c, mark);
        if (rc) return rc;
    }
    return VS_OK;
}

static int is_ws(char ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n'; }

int vs__filter_parse(const char *json, size_t len, vs__filter **out, vs__err *e) {
    cJSON *doc = NULL;
    vs__filter *f = NULL;
    cctx c = {e, {0}, 0, 0};
    int rc = VS_OK;
    *out = NULL;
    if (!json) goto done;
    size_t a = 0, b = len;
    while (a < b && is_ws(json[a])) a++;
    while (b > a && is_ws(json[b - 1])) b--;
    if (a == b || (b - a == 4 && !memcmp(json + a, "null", 4))) goto done;
    if ((rc = json_scan(json, len, e))) goto done;
    /* The scan accepted the text, so a NULL here is cJSON running out of memory. Not
     * require_null_terminated: that flag wants the NUL inside len, which callers passing
     * a slice of a larger buffer cannot give; the scan already refused trailing text. */
    const char *end = NULL;
    if (!(doc = cJSON_ParseWithLengthOpts(json, len, &end, 0))) {
        rc = vs__errf(e, VS_ENOMEM, "out of memory parsing filter JSON (%zu bytes)", len);
        goto done;
    }
    if (!(f = vs__calloc(1, sizeof *f))) {
        rc = vs__errf(e, VS_ENOMEM, "out of memory compiling filter");
        goto done;
    }
    if ((rc = compile_filter(&c, doc, 1, &f->root))) goto done;
    f->needs_payload = c.needs_payload;
    *out = f;
    f = NULL;
done:
    vs__filter_free(f);
    cJSON_Delete(doc);
    return rc;
}

void vs__filter_free(vs__filter *f) {
    if (!f) return;
    node_free(f->root);
    vs__free(f);
}

int vs__filter_needs_payload(const vs__filter *f) { return f ? f->needs_payload : 0; }

/* ----------------------------------------------------------------- match ---- */

static const cJSON *lookup(const cJSON *payload, const fnode *n) {
    const cJSON *v = payload;
    const char *comp = n->path;
    for (size_t i = 0; i < n->npath; i++) {
        if (!cJSON_IsObject(v)) return NULL;
        v = cJSON_GetObjectItemCaseSensitive(v, comp);
        comp += strlen(comp) + 1;
    }
    return v;
}

static int val_eq(const fval *f, const cJSON *v) {
    switch (f->kind) {
    case V_STR:
        return cJSON_IsString(v) && strlen(v->valuestring) == f->len &&
               !memcmp(v->valuestring, f->str, f->len);
    case V_NUM: return cJSON_IsNumber(v) && v->valuedouble == f->num;
    case V_BOOL: return cJSON_IsBool(v) && cJSON_IsTrue(v) == f->b;
    }
    return 0;
}

static int in_set(const fnode *n, const cJSON *v) {
    for (size_t i = 0; i < n->nvals; i++)
        if (val_eq(&n->vals[i], v)) return 1;
    return 0;
}

/* The predicate of a value condition on one value (never an array of the payload). */
static int value_ok(const fnode *n, const cJSON *v) {
    switch (n->kind) {
    case N_MATCH:
    case N_ANY: return in_set(n, v);
    case N_EXCEPT:
        return (cJSON_IsString(v) || cJSON_IsNumber(v) || cJSON_IsBool(v)) && !in_set(n, v);
    case N_RANGE: {
        if (!cJSON_IsNumber(v)) return 0;
        double x = v->valuedouble;
        if ((n->bounds & B_GT) && !(x > n->gt)) return 0;
        if ((n->bounds & B_GTE) && !(x >= n->gte)) return 0;
        if ((n->bounds & B_LT) && !(x < n->lt)) return 0;
        if ((n->bounds & B_LTE) && !(x <= n->lte)) return 0;
        return 1;
    }
    }
    return 0;
}

static int id_eq(const fid *f, const vs_id *id) {
    if (f->kind != id->kind) return 0;
    if (f->kind == VS_ID_NUM) return f->num == id->num;
    return f->len == id->len && id->str && !memcmp(f->str, id->str, f->len);
}

static int node_match(const fnode *n, const cJSON *payload, const vs_id *id) {
    switch (n->kind) {
    case N_FILTER:
        for (size_t i = 0; i < n->nkids[C_MUST]; i++)
            if (!node_match(n->kids[C_MUST][i], payload, id)) return 0;
        for (size_t i = 0; i < n->nkids[C_MUST_NOT]; i++)
            if (node_match(n->kids[C_MUST_NOT][i], payload, id)) return 0;
        if (!n->has_should) return 1;
        for (size_t i = 0; i < n->nkids[C_SHOULD]; i++)
            if (node_match(n->kids[C_SHOULD][i], payload, id)) return 1;
        return 0;
    case N_HAS_ID:
        if (!id) return 0;
        for (size_t i = 0; i < n->nids; i++)
            if (id_eq(&n->ids[i], id)) return 1;
        return 0;
    case N_IS_EMPTY: {
        const cJSON *v = lookup(payload, n);
        return !v || cJSON_IsNull(v) || (cJSON_IsArray(v) && !v->child);
    }
    case N_IS_NULL: {
        const cJSON *v = lookup(payload, n);
        return v && cJSON_IsNull(v);
    }
    default: {
        const cJSON *v = lookup(payload, n);
        if (!v) return 0;
        if (!cJSON_IsArray(v)) return value_ok(n, v);
        for (const cJSON *el = v->child; el; el = el->next)
            if (value_ok(n, el)) return 1;
        return 0;
    }
    }
}

int vs__filter_match(const vs__filter *f, const cJSON *payload, const vs_id *id) {
    if (!f) return 1;
    return node_match(f->root, payload, id);
}
