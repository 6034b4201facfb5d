/*
 * test_filter_diff.c — randomized differential tests of the whole filter language.
 *
 * Random nested payloads and random filters using every operator are evaluated by the
 * module and by `ref_*` below: a deliberately naive evaluator over cJSON trees that
 * shares no code with the module — its own path walker, a table of datetimes with their
 * instants worked out by hand instead of a parser, POSIX <regex.h> instead of PCRE2 (the
 * generated patterns mean the same in both), and its own word splitter. A bug has to be
 * made twice, differently, to go unnoticed.
 *
 * The second test runs the same filters through a real collection: count and exact
 * search must equal the reference (filter + brute-force distances) exactly, and filtered
 * HNSW search must reach the recall bound.
 */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <regex.h>
#include <stdlib.h>

#include "query/filter.h"
#include "test.h"
#include "vecstore.h"

static uint64_t g_rng;
static uint32_t rnd(uint32_t n) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t)((g_rng >> 11) % n);
}

/* ----------------------------------------------------------- generators ---- */

static const char *const k_strs[] = {"x", "y", "", "xy", "yx"};
static const char *const k_sentences[] = {"the quick fox", "Quick red FOX", "lazy dog",
                                          "red-dog, quick!", "fox", "xy"};
static const char *const k_words[] = {"quick", "fox", "red", "dog", "lazy", "the"};
/* datetimes and their instants (µs since the epoch), worked out by hand */
static const struct {
    const char *s;
    long long us;
} k_dt[] = {
    {"2024-01-01T00:00:00Z", 1704067200000000LL},
    {"2024-01-01T01:00:00+01:00", 1704067200000000LL},
    {"2023-12-31T23:30:00-01:00", 1704069000000000LL},
    {"2024-01-01 00:00:00.5", 1704067200500000LL},
    {"2024-02-29T12:00:00Z", 1709208000000000LL},
    {"2024-03-01", 1709251200000000LL},
    {"1999-12-31T23:59:59Z", 946684799000000LL},
    {"2024-02-29T13:00:00+01:00", 1709208000000000LL},
};
#define NDT (sizeof k_dt / sizeof k_dt[0])
/* PCRE2 pattern, the same as POSIX ERE, case-insensitive? */
static const struct {
    const char *pcre, *ere;
    int icase;
} k_rx[] = {
    {"^x", "^x", 0},          {"y$", "y$", 0},     {"x.y", "x.y", 0},
    {"^$", "^$", 0},          {"[xy]{2}", "[xy]{2}", 0}, {"(?i)^QUICK", "^QUICK", 1},
    {"fox$", "fox$", 0},      {"o", "o", 0},       {"^(x|y)+$", "^(x|y)+$", 0},
};
#define NRX (sizeof k_rx / sizeof k_rx[0])
static const char *const k_paths[] = {"a",     "b",      "c",     "o.a",   "o.b",   "o.o.a",
                                      "zz",    "a[]",    "a[0]",  "a[1]",  "n[].a", "n[0].b",
                                      "n[].b", "o.c[]",  "s",     "t",     "$.a",   "n"};
#define NPATHS (sizeof k_paths / sizeof k_paths[0])

static cJSON *rand_scalar(int allow_float) {
    switch (rnd(allow_float ? 5 : 4)) {
    case 0: return cJSON_CreateNumber((double)rnd(4));
    case 1: return cJSON_CreateString(k_strs[rnd(5)]);
    case 2: return cJSON_CreateBool((int)rnd(2));
    case 3: return cJSON_CreateNumber((double)rnd(4) - 1.0);
    default: return cJSON_CreateNumber((double)rnd(8) * 0.5);
    }
}

static cJSON *rand_value(int depth);

static cJSON *rand_array(int depth) {
    cJSON *a = cJSON_CreateArray();
    uint32_t n = rnd(4);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t k = rnd(8);
        cJSON_AddItemToArray(a, k < 5 ? rand_scalar(1) : k == 5 ? cJSON_CreateNull()
                                    : depth < 2   ? rand_value(depth + 1)
                                                  : cJSON_CreateArray());
    }
    return a;
}

static cJSON *rand_object(int depth) {
    static const char *const keys[] = {"a", "b", "c", "o"};
    cJSON *o = cJSON_CreateObject();
    for (int i = 0; i < 4; i++)
        if (rnd(2)) cJSON_AddItemToObject(o, keys[i], depth < 2 ? rand_value(depth + 1) : rand_scalar(1));
    return o;
}

static cJSON *rand_value(int depth) {
    uint32_t k = rnd(10);
    if (k < 5) return rand_scalar(1);
    if (k == 5) return cJSON_CreateNull();
    if (k < 8) return rand_array(depth);
    return rand_object(depth);
}

static cJSON *rand_text_value(void) {
    if (rnd(4) == 0) {
        cJSON *a = cJSON_CreateArray();
        for (uint32_t i = rnd(3); i > 0; i--) cJSON_AddItemToArray(a, cJSON_CreateString(k_sentences[rnd(6)]));
        return a;
    }
    return rnd(8) ? cJSON_CreateString(k_sentences[rnd(6)]) : rand_scalar(1);
}

static cJSON *rand_dt_value(void) {
    if (rnd(4) == 0) {
        cJSON *a = cJSON_CreateArray();
        for (uint32_t i = rnd(3); i > 0; i--) cJSON_AddItemToArray(a, cJSON_CreateString(k_dt[rnd(NDT)].s));
        return a;
    }
    return rnd(6) ? cJSON_CreateString(k_dt[rnd(NDT)].s)
                  : rnd(2) ? cJSON_CreateString("soon") : cJSON_CreateNumber(1704067200);
}

static cJSON *rand_payload(void) {
    cJSON *o = rand_object(0);
    if (rnd(3)) cJSON_AddItemToObject(o, "s", rand_text_value());
    if (rnd(3)) cJSON_AddItemToObject(o, "t", rand_dt_value());
    if (rnd(3)) {
        cJSON *n = cJSON_CreateArray();
        for (uint32_t i = rnd(4); i > 0; i--)
            cJSON_AddItemToArray(n, rnd(5) ? rand_object(1) : rand_scalar(1));
        cJSON_AddItemToObject(o, "n", rnd(6) ? n : (cJSON_Delete(n), rand_object(1)));
    }
    return o;
}

static cJSON *rand_filter(int depth, int nested);

static void add_bounds(cJSON *obj, int kind) {
    static const char *const ops[] = {"gt", "gte", "lt", "lte"};
    for (int i = 0; i < 4; i++) {
        if (rnd(3)) continue;
        if (kind == 0) cJSON_AddNumberToObject(obj, ops[i], (double)rnd(8) * 0.5 - 0.5);
        else if (kind == 1) cJSON_AddStringToObject(obj, ops[i], k_dt[rnd(NDT)].s);
        else cJSON_AddNumberToObject(obj, ops[i], (double)rnd(5));
    }
}

static cJSON *rand_list(int allow_empty) {
    cJSON *arr = cJSON_CreateArray();
    uint32_t n = rnd(4) + (allow_empty ? 0 : 1);
    for (uint32_t i = 0; i < n; i++) cJSON_AddItemToArray(arr, rand_scalar(0));
    return arr;
}

static cJSON *rand_field(void) {
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "key", k_paths[rnd(NPATHS)]);
    uint32_t k = rnd(10);
    int per_value = 1;
    if (k < 4) {
        cJSON *m = cJSON_AddObjectToObject(c, "match");
        if (k == 0) cJSON_AddItemToObject(m, "value", rand_scalar(0));
        else cJSON_AddItemToObject(m, k == 1 ? "any" : k == 2 ? "except" : "contains_all",
                                   rand_list(k != 3));
        per_value = k != 3;
    } else if (k < 6) {
        add_bounds(cJSON_AddObjectToObject(c, "range"), k - 4);
    } else if (k == 6) {
        cJSON *m = cJSON_AddObjectToObject(c, "match");
        char words[64];
        snprintf(words, sizeof words, "%s%s%s", k_words[rnd(6)], rnd(2) ? " " : "",
                 rnd(2) ? k_words[rnd(6)] : "");
        cJSON_AddStringToObject(m, "text", words);
    } else if (k == 7) {
        cJSON_AddStringToObject(cJSON_AddObjectToObject(c, "match"), "regex", k_rx[rnd(NRX)].pcre);
    } else {
        add_bounds(cJSON_AddObjectToObject(c, "values_count"), 2);
        per_value = 0;
    }
    if (per_value && rnd(3) == 0) cJSON_AddStringToObject(c, "quantifier", rnd(2) ? "all" : "any");
    return c;
}

static cJSON *rand_cond(int depth, int nested) {
    uint32_t k = rnd(depth < 3 ? 12 : 9);
    if (k < 5) return rand_field();
    cJSON *c = cJSON_CreateObject();
    if (k == 5 && !nested) {
        cJSON *arr = cJSON_AddArrayToObject(c, "has_id");
        for (uint32_t i = rnd(4); i > 0; i--)
            cJSON_AddItemToArray(arr, rnd(2) ? cJSON_CreateNumber((double)rnd(5))
                                             : cJSON_CreateString(rnd(2) ? "p1" : "p2"));
    } else if (k <= 7) {
        cJSON *o = cJSON_AddObjectToObject(c, k == 6 ? "is_empty" : "is_null");
        cJSON_AddStringToObject(o, "key", k_paths[rnd(NPATHS)]);
    } else if (k == 8) {
        cJSON_Delete(c);
        return rand_field();
    } else if (k == 9 && depth < 3) {
        cJSON *o = cJSON_AddObjectToObject(c, "nested");
        cJSON_AddStringToObject(o, "key", rnd(3) ? "n" : "o");
        cJSON_AddItemToObject(o, "filter", rand_filter(depth + 1, 1));
    } else {
        cJSON_Delete(c);
        return rand_filter(depth + 1, nested);
    }
    return c;
}

static cJSON *rand_clause(int depth, int nested) {
    if (rnd(4) == 0) return rand_cond(depth, nested);
    cJSON *arr = cJSON_CreateArray();
    for (uint32_t j = rnd(4); j > 0; j--) cJSON_AddItemToArray(arr, rand_cond(depth, nested));
    return arr;
}

static cJSON *rand_filter(int depth, int nested) {
    static const char *const cl[] = {"must", "should", "must_not"};
    cJSON *f = cJSON_CreateObject();
    for (int i = 0; i < 3; i++)
        if (rnd(5)) cJSON_AddItemToObject(f, cl[i], rand_clause(depth, nested));
    if (rnd(6) == 0) {
        cJSON *ms = cJSON_AddObjectToObject(f, "min_should");
        cJSON_AddItemToObject(ms, "conditions", rand_clause(depth, nested));
        cJSON_AddNumberToObject(ms, "min_count", (double)rnd(3));
    }
    return f;
}

/* ------------------------------------------------------------ reference ---- */

#define MAXV 256

typedef struct vlist {
    const cJSON *v[MAXV];
    int n;
} vlist;

static void push(vlist *l, const cJSON *v) {
    if (l->n < MAXV) l->v[l->n++] = v;
}

/* The terminal values of `path` (already split at '.') from v. */
static void ref_walk(const cJSON *v, char **comps, int nc, vlist *out) {
    if (!v) return;
    if (nc == 0) {
        push(out, v);
        return;
    }
    char name[64];
    snprintf(name, sizeof name, "%s", comps[0]);
    char *br = strchr(name, '[');
    char *suffix = br ? comps[0] + (br - name) : NULL;
    if (br) *br = 0;
    const cJSON *cur = v;
    if (name[0]) {
        if (cur->type != cJSON_Object) return;
        const cJSON *next = NULL;
        for (const cJSON *ch = cur->child; ch; ch = ch->next)
            if (!strcmp(ch->string, name)) {
                next = ch;
                break;
            }
        cur = next;
    }
    if (!suffix) {
        ref_walk(cur, comps + 1, nc - 1, out);
        return;
    }
    /* one [..] suffix per component in the generator */
    if (!cur || cur->type != cJSON_Array) return;
    if (suffix[1] == ']') {
        for (const cJSON *el = cur->child; el; el = el->next) ref_walk(el, comps + 1, nc - 1, out);
        return;
    }
    int idx = atoi(suffix + 1), i = 0;
    for (const cJSON *el = cur->child; el; el = el->next, i++)
        if (i == idx) ref_walk(el, comps + 1, nc - 1, out);
}

static void ref_terminals(const cJSON *payload, const char *path, vlist *out) {
    char buf[128], *comps[16];
    int nc = 0;
    snprintf(buf, sizeof buf, "%s", strncmp(path, "$.", 2) ? path : path + 2);
    for (char *t = strtok(buf, "."); t && nc < 16; t = strtok(NULL, ".")) comps[nc++] = t;
    out->n = 0;
    ref_walk(payload, comps, nc, out);
}

static void ref_values(const cJSON *payload, const char *path, vlist *out) {
    vlist t;
    ref_terminals(payload, path, &t);
    out->n = 0;
    for (int i = 0; i < t.n; i++) {
        if (t.v[i]->type == cJSON_NULL) continue;
        if (t.v[i]->type != cJSON_Array) {
            push(out, t.v[i]);
            continue;
        }
        for (const cJSON *el = t.v[i]->child; el; el = el->next) push(out, el);
    }
}

static int is_scalar(const cJSON *v) {
    return v->type == cJSON_String || v->type == cJSON_Number || v->type == cJSON_True ||
           v->type == cJSON_False;
}

static int ref_same(const cJSON *x, const cJSON *y) {
    if (x->type == cJSON_String && y->type == cJSON_String) return !strcmp(x->valuestring, y->valuestring);
    if (x->type == cJSON_Number && y->type == cJSON_Number) return x->valuedouble == y->valuedouble;
    if ((x->type == cJSON_True || x->type == cJSON_False) && x->type == y->type) return 1;
    return 0;
}

static int ref_in(const cJSON *v, const cJSON *list) {
    for (const cJSON *x = list->child; x; x = x->next)
        if (ref_same(v, x)) return 1;
    return 0;
}

static int dt_lookup(const char *s, long long *us) {
    for (size_t i = 0; i < NDT; i++)
        if (!strcmp(k_dt[i].s, s)) {
            *us = k_dt[i].us;
            return 1;
        }
    return 0;
}

static int bounds_ok(const cJSON *b, double x, int dt) {
    static const char *const ops[] = {"gt", "gte", "lt", "lte"};
    for (int i = 0; i < 4; i++) {
        const cJSON *v = cJSON_GetObjectItem(b, ops[i]);
        if (!v) continue;
        double bound = v->valuedouble;
        long long us = 0;
        if (dt) {
            dt_lookup(v->valuestring, &us);
            bound = (double)us;
        }
        if ((i == 0 && !(x > bound)) || (i == 1 && !(x >= bound)) || (i == 2 && !(x < bound)) ||
            (i == 3 && !(x <= bound)))
            return 0;
    }
    return 1;
}

static int has_word(const char *s, const char *w) {
    size_t wl = strlen(w);
    for (const char *p = s; *p;) {
        while (*p && !isalnum((unsigned char)*p)) p++;
        const char *a = p;
        while (*p && isalnum((unsigned char)*p)) p++;
        if ((size_t)(p - a) == wl && !strncasecmp(a, w, wl)) return 1;
    }
    return 0;
}

static int ref_pred(const cJSON *c, const cJSON *v) {
    const cJSON *m = cJSON_GetObjectItem(c, "match"), *r = cJSON_GetObjectItem(c, "range"), *x;
    if (r) {
        int dt = 0;
        for (const cJSON *b = r->child; b; b = b->next) dt |= b->type == cJSON_String;
        if (!dt) return v->type == cJSON_Number && bounds_ok(r, v->valuedouble, 0);
        long long us;
        return v->type == cJSON_String && dt_lookup(v->valuestring, &us) && bounds_ok(r, (double)us, 1);
    }
    if ((x = cJSON_GetObjectItem(m, "value"))) return ref_same(v, x);
    if ((x = cJSON_GetObjectItem(m, "any"))) return ref_in(v, x);
    if ((x = cJSON_GetObjectItem(m, "except"))) return is_scalar(v) && !ref_in(v, x);
    if ((x = cJSON_GetObjectItem(m, "text"))) {
        if (v->type != cJSON_String) return 0;
        char buf[64];
        snprintf(buf, sizeof buf, "%s", x->valuestring);
        for (char *w = strtok(buf, " "); w; w = strtok(NULL, " "))
            if (!has_word(v->valuestring, w)) return 0;
        return 1;
    }
    x = cJSON_GetObjectItem(m, "regex");
    if (v->type != cJSON_String) return 0;
    for (size_t i = 0; i < NRX; i++) {
        if (strcmp(k_rx[i].pcre, x->valuestring)) continue;
        regex_t re;
        if (regcomp(&re, k_rx[i].ere, REG_EXTENDED | REG_NOSUB | (k_rx[i].icase ? REG_ICASE : 0)))
            return -1;
        int hit = regexec(&re, v->valuestring, 0, NULL, 0) == 0;
        regfree(&re);
        return hit;
    }
    return -1;
}

static int ref_filter(const cJSON *f, const cJSON *payload, const vs_id *id, int nested);

static int ref_cond(const cJSON *c, const cJSON *payload, const vs_id *id, int nested) {
    const cJSON *key = cJSON_GetObjectItem(c, "key"), *x;
    vlist vals, terms;
    if (key) {
        ref_values(payload, key->valuestring, &vals);
        const cJSON *m = cJSON_GetObjectItem(c, "match"), *vc = cJSON_GetObjectItem(c, "values_count");
        if (vc) {
            /* values: array elements count, nulls inside arrays included */
            return bounds_ok(vc, (double)vals.n, 0);
        }
        if (m && (x = cJSON_GetObjectItem(m, "contains_all"))) {
            for (const cJSON *w = x->child; w; w = w->next) {
                int found = 0;
                for (int i = 0; i < vals.n && !found; i++) found = ref_same(vals.v[i], w);
                if (!found) return 0;
            }
            return 1;
        }
        const cJSON *q = cJSON_GetObjectItem(c, "quantifier");
        int all = q && !strcmp(q->valuestring, "all");
        if (all) {
            if (vals.n == 0) return 0;
            for (int i = 0; i < vals.n; i++)
                if (!ref_pred(c, vals.v[i])) return 0;
            return 1;
        }
        for (int i = 0; i < vals.n; i++)
            if (ref_pred(c, vals.v[i])) return 1;
        return 0;
    }
    if ((x = cJSON_GetObjectItem(c, "has_id"))) {
        if (!id) return 0;
        for (const cJSON *el = x->child; el; el = el->next) {
            if (el->type == cJSON_Number && id->kind == VS_ID_NUM && (double)id->num == el->valuedouble)
                return 1;
            if (el->type == cJSON_String && id->kind == VS_ID_STR &&
                strlen(el->valuestring) == id->len && !memcmp(el->valuestring, id->str, id->len))
                return 1;
        }
        return 0;
    }
    if ((x = cJSON_GetObjectItem(c, "is_empty"))) {
        ref_terminals(payload, cJSON_GetObjectItem(x, "key")->valuestring, &terms);
        for (int i = 0; i < terms.n; i++)
            if (terms.v[i]->type != cJSON_NULL && !(terms.v[i]->type == cJSON_Array && !terms.v[i]->child))
                return 0;
        return 1;
    }
    if ((x = cJSON_GetObjectItem(c, "is_null"))) {
        ref_terminals(payload, cJSON_GetObjectItem(x, "key")->valuestring, &terms);
        for (int i = 0; i < terms.n; i++)
            if (terms.v[i]->type == cJSON_NULL) return 1;
        return 0;
    }
    if ((x = cJSON_GetObjectItem(c, "nested"))) {
        ref_values(payload, cJSON_GetObjectItem(x, "key")->valuestring, &vals);
        for (int i = 0; i < vals.n; i++)
            if (vals.v[i]->type == cJSON_Object &&
                ref_filter(cJSON_GetObjectItem(x, "filter"), vals.v[i], id, 1))
                return 1;
        return 0;
    }
    return ref_filter(c, payload, id, nested);
}

/* how many conditions of a clause (array or single) hold */
static int ref_count(const cJSON *cl, const cJSON *payload, const vs_id *id, int nested, int *total) {
    if (cl->type == cJSON_Object) {
        *total = 1;
        return ref_cond(cl, payload, id, nested);
    }
    int hits = 0;
    *total = 0;
    for (const cJSON *c = cl->child; c; c = c->next, (*total)++) hits += ref_cond(c, payload, id, nested);
    return hits;
}

static int ref_filter(const cJSON *f, const cJSON *payload, const vs_id *id, int nested) {
    const cJSON *c;
    int total;
    if ((c = cJSON_GetObjectItem(f, "must")) && ref_count(c, payload, id, nested, &total) != total) return 0;
    if ((c = cJSON_GetObjectItem(f, "should")) && ref_count(c, payload, id, nested, &total) == 0) return 0;
    if ((c = cJSON_GetObjectItem(f, "must_not")) && ref_count(c, payload, id, nested, &total) > 0) return 0;
    if ((c = cJSON_GetObjectItem(f, "min_should")) &&
        ref_count(cJSON_GetObjectItem(c, "conditions"), payload, id, nested, &total) <
            (int)cJSON_GetObjectItem(c, "min_count")->valuedouble)
        return 0;
    return 1;
}

/* ----------------------------------------------------------------- tests ---- */

TEST(filter_diff, random_filters_all_operators) {
    g_rng = 0x9E3779B97F4A7C15ull ^ vt_seed();
    int nfilters = vt_long() ? 60000 : 6000, npay = 24;
    cJSON *payloads[24];
    char *texts[24];
    vs_id ids[24];
    static const char *const sids[] = {"p1", "p2", "p3"};
    long trues = 0, total = 0;
    vs__filter_ctx cx;
    vs__filter_ctx_init(&cx);
    for (int round = 0; round < nfilters; round++) {
        if (round % 50 == 0) {
            if (round)
                for (int i = 0; i < npay; i++) cJSON_Delete(payloads[i]), cJSON_free(texts[i]);
            for (int i = 0; i < npay; i++) {
                payloads[i] = rand_payload();
                texts[i] = cJSON_PrintUnformatted(payloads[i]);
                ids[i] = rnd(2) ? vs_id_num(rnd(5)) : (vs_id){VS_ID_STR, 0, sids[rnd(3)], 2};
            }
        }
        cJSON *fj = rand_filter(1, 0);
        char *text = cJSON_PrintUnformatted(fj);
        vs__filter *f = NULL;
        vs__err e = {0};
        int rc = vs__filter_parse(text, strlen(text), &f, &e);
        char msg[2048] = "";
        if (rc != VS_OK)
            snprintf(msg, sizeof msg, "seed %u: parse of %s failed: %s", vt_seed(), text, e.msg);
        for (int i = 0; i < npay && rc == VS_OK && !msg[0]; i++) {
            int got = vs__filter_eval(f, &cx, texts[i], strlen(texts[i]), &ids[i], &e);
            int want = ref_filter(fj, payloads[i], &ids[i], 0);
            trues += want;
            total++;
            if (got != want)
                snprintf(msg, sizeof msg, "seed %u: filter %s on payload %s (id %s): module %d, "
                         "reference %d", vt_seed(), text, texts[i],
                         ids[i].kind == VS_ID_NUM ? "num" : ids[i].str, got, want);
        }
        vs__filter_free(f);
        cJSON_free(text);
        cJSON_Delete(fj);
        if (msg[0]) {
            for (int i = 0; i < npay; i++) cJSON_Delete(payloads[i]), cJSON_free(texts[i]);
            vs__filter_ctx_release(&cx);
            ASSERT_MSG(0, "%s", msg);
        }
    }
    for (int i = 0; i < npay; i++) cJSON_Delete(payloads[i]), cJSON_free(texts[i]);
    vs__filter_ctx_release(&cx);
    ASSERT_MSG(trues > total / 20 && trues < total - total / 20, "seed %u: %ld of %ld true",
               vt_seed(), trues, total);
}

/* The same random filters through a collection: two sealed segments (one with an HNSW
 * graph) and the mutable segment, with deletes. count and exact search must equal the
 * reference exactly; the default (indexed) search must reach recall 0.95. */
#define CD 8

static double dist2(const float *a, const float *b) {
    double s = 0;
    for (int j = 0; j < CD; j++) s += ((double)a[j] - b[j]) * ((double)a[j] - b[j]);
    return s;
}

typedef struct cand {
    double d;
    uint64_t id;
} cand;

static int cand_cmp(const void *x, const void *y) {
    const cand *a = x, *b = y;
    return a->d < b->d ? -1 : a->d > b->d;
}

/* The collection under test and the reference state beside it. */
typedef struct coll_ref {
    vs_coll *c;
    size_t n;
    float *vec;
    cJSON **pay;
    char **txt;
    vs_id *ids;
    int *live;
    cand *cs;
} coll_ref;

/* Random filters against the reference: count equal, exact search equal (ids by
 * distance), and recall@10 of the planner's choice and of each forced strategy
 * (VS_PLAN, plan.h) ≥ 0.95. */
static void check_filters(coll_ref *R, int nfilters, const char *phase) {
    static const char *const modes[] = {NULL, "graph", "post", "exact"};
    double recall_sum[4] = {0};
    int recall_n[4] = {0}, nonzero = 0;
    size_t n = R->n;
    for (int fi = 0; fi < nfilters; fi++) {
        /* two in three are simple (one or two field conditions, which the indexes can
         * answer); the rest use the whole language */
        cJSON *fj;
        if (fi % 3 == 2) {
            fj = rand_filter(1, 0);
        } else {
            fj = cJSON_CreateObject();
            cJSON *arr = cJSON_AddArrayToObject(fj, rnd(3) ? "must" : rnd(2) ? "should" : "must_not");
            for (uint32_t k = 1 + rnd(2); k > 0; k--) cJSON_AddItemToArray(arr, rand_field());
        }
        char *ftext = cJSON_PrintUnformatted(fj);
        const float *q = R->vec + (size_t)rnd((uint32_t)n) * CD;
        size_t nc = 0;
        for (size_t i = 0; i < n; i++)
            if (R->live[i] && ref_filter(fj, R->pay[i], &R->ids[i], 0))
                R->cs[nc++] = (cand){dist2(q, R->vec + i * CD), i};
        qsort(R->cs, nc, sizeof *R->cs, cand_cmp);
        nonzero += nc > 0;
        uint64_t cnt;
        ASSERT_OK(vs_count(R->c, ftext, &cnt));
        ASSERT_MSG(cnt == nc, "%s, seed %u: count %" PRIu64 " != reference %zu for %s", phase,
                   vt_seed(), cnt, nc, ftext);
        vs_query qq;
        vs_query_init(&qq);
        qq.vectors = q;
        qq.dim = CD;
        qq.k = 10;
        qq.filter = ftext;
        qq.with = 0;
        qq.ef = 128;
        for (int pass = -1; pass < 4; pass++) {
            qq.flags = pass < 0 ? VS_QUERY_EXACT : 0;
            if (pass > 0)
                setenv("VS_PLAN", modes[pass], 1);
            else
                unsetenv("VS_PLAN");
            vs_result *r;
            ASSERT_OK(vs_query_run(R->c, &qq, &r));
            size_t got = vs_result_rows(r, 0), want = nc < 10 ? nc : 10;
            if (pass < 0 || pass == 3) {
                ASSERT_MSG(got == want, "%s, seed %u: exact search returned %zu, want %zu for %s",
                           phase, vt_seed(), got, want, ftext);
                for (size_t j = 0; j < got; j++) {
                    double d = vs_result_score(r, 0, j);
                    ASSERT_MSG(fabs(d * d - R->cs[j].d) < 1e-4, "%s, seed %u: hit %zu at distance "
                               "%g, reference %g (id %" PRIu64 ") for %s", phase, vt_seed(), j,
                               d * d, R->cs[j].d, R->cs[j].id, ftext);
                }
            } else {
                /* every hit must match the filter, whatever the strategy */
                for (size_t j = 0; j < got; j++) {
                    uint64_t id = vs_result_id(r, 0, j).num;
                    ASSERT_MSG(id < n && R->live[id] && ref_filter(fj, R->pay[id], &R->ids[id], 0),
                               "%s, seed %u, plan %s: id %" PRIu64 " does not match %s", phase,
                               vt_seed(), modes[pass] ? modes[pass] : "auto", id, ftext);
                }
                if (want == 10) {
                    size_t hit = 0;
                    for (size_t j = 0; j < got; j++) {
                        uint64_t id = vs_result_id(r, 0, j).num;
                        for (size_t k = 0; k < 10; k++) hit += R->cs[k].id == id;
                    }
                    recall_sum[pass] += (double)hit / 10;
                    recall_n[pass]++;
                }
            }
            vs_result_free(r);
        }
        unsetenv("VS_PLAN");
        cJSON_free(ftext);
        cJSON_Delete(fj);
    }
    vt_note("%s: %d filters, %d with matches; recall@10 auto %.3f, graph %.3f, post %.3f (over %d)",
            phase, nfilters, nonzero, recall_n[0] ? recall_sum[0] / recall_n[0] : 1.0,
            recall_n[1] ? recall_sum[1] / recall_n[1] : 1.0,
            recall_n[2] ? recall_sum[2] / recall_n[2] : 1.0, recall_n[0]);
    for (int m = 0; m < 3; m++)
        ASSERT_MSG(recall_n[m] == 0 || recall_sum[m] / recall_n[m] >= 0.95, "%s: recall %.3f with plan %s",
                   phase, recall_sum[m] / recall_n[m], modes[m] ? modes[m] : "auto");
    ASSERT(nonzero > nfilters / 10);
}

static void ref_set(coll_ref *R, size_t i, cJSON *p) {
    cJSON_Delete(R->pay[i]);
    cJSON_free(R->txt[i]);
    R->pay[i] = p;
    R->txt[i] = cJSON_PrintUnformatted(p);
}

static vs_coll *open_coll(vs_store **s) {
    vs_store_options o;
    vs_store_options_init(&o);
    o.fsync = VS_FSYNC_OFF;
    o.background = 0;
    char msg[256];
    ASSERT_MSG(vs_store_open(vt_path("db"), &o, s, msg, sizeof msg) == VS_OK, "%s", msg);
    vs_coll *c = NULL;
    if (vs_coll_open(*s, "c", &c) == VS_OK) return c;
    vs_schema *sc;
    ASSERT_OK(vs_schema_new(&sc));
    ASSERT_OK(vs_schema_add_vector(sc, "", CD, VS_METRIC_L2));
    ASSERT_OK(vs_schema_set_hnsw(sc, NULL, 16, 100, 500));
    ASSERT_OK(vs_coll_create(*s, "c", sc));
    vs_schema_free(sc);
    ASSERT_OK(vs_coll_open(*s, "c", &c));
    return c;
}

/* Paths that filters use, each indexed with every type: most leaves can be answered by
 * some index, others (a[1], n[0].b, zz) never are, and types mismatch the values on
 * purpose (an integer index on fields holding 0.5 steps is "incomplete"). */
static const char *const k_ipaths[] = {"a", "b", "c", "o.a", "o.b", "n[].a", "s", "t", "a[0]", "$.o.o.a"};

TEST(filter_diff, collection_count_and_search_match_reference) {
    g_rng = 0xD1B54A32D192ED03ull ^ vt_seed();
    coll_ref R;
    memset(&R, 0, sizeof R);
    const size_t n = R.n = 3000;
    vs_store *s;
    R.c = open_coll(&s);
    R.vec = malloc(n * CD * sizeof *R.vec);
    R.pay = malloc(n * sizeof *R.pay);
    R.txt = malloc(n * sizeof *R.txt);
    R.ids = malloc(n * sizeof *R.ids);
    R.live = malloc(n * sizeof *R.live);
    R.cs = malloc(n * sizeof *R.cs);
    for (size_t i = 0; i < n; i++) {
        for (int j = 0; j < CD; j++) R.vec[i * CD + j] = (float)rnd(1000000) / 1e6f;
        R.pay[i] = rand_payload();
        R.txt[i] = cJSON_PrintUnformatted(R.pay[i]);
        R.ids[i] = vs_id_num(i);
        R.live[i] = 1;
    }
    /* 1500 + 1000 sealed (flushes), 500 in the mutable segment */
    size_t parts[] = {0, 1500, 2500, 3000};
    for (int p = 0; p < 3; p++) {
        size_t a = parts[p], m = parts[p + 1] - a;
        vs_vectors col = {NULL, R.vec + a * CD, CD};
        vs_upsert_batch b = {m, R.ids + a, &col, 1, (const char *const *)(R.txt + a), NULL};
        ASSERT_OK(vs_upsert(R.c, &b));
        if (p < 2) ASSERT_OK(vs_coll_flush(R.c));
    }
    ASSERT_OK(vs_coll_wait_indexed(R.c, -1));
    /* delete every 7th point */
    for (size_t i = 0; i < n; i += 7) {
        ASSERT_OK(vs_delete(R.c, &R.ids[i], 1, NULL));
        R.live[i] = 0;
    }
    int nf = vt_long() ? 600 : 60;
    check_filters(&R, nf, "no payload indexes");

    /* Every type on every path (60 indexes). */
    for (size_t p = 0; p < sizeof k_ipaths / sizeof *k_ipaths; p++)
        for (int t = VS_PINDEX_KEYWORD; t <= VS_PINDEX_TEXT; t++)
            ASSERT_OK(vs_coll_create_payload_index(R.c, k_ipaths[p], t));
    check_filters(&R, nf, "indexed");

    /* Payloads replaced (sealed rows move to the mutable segment, mutable rows change in
     * place), deleted points come back, new rows arrive in the mutable segment. */
    for (int k = 0; k < 300; k++) {
        size_t i = rnd((uint32_t)n);
        ref_set(&R, i, rand_payload());
        if (R.live[i]) {
            ASSERT_OK(vs_set_payload(R.c, &R.ids[i], 1, VS_PAYLOAD_OVERWRITE, R.txt[i], NULL));
        } else {
            vs_vectors col = {NULL, R.vec + i * CD, CD};
            vs_upsert_batch b = {1, &R.ids[i], &col, 1, (const char *const *)&R.txt[i], NULL};
            ASSERT_OK(vs_upsert(R.c, &b));
            R.live[i] = 1;
        }
    }
    check_filters(&R, nf, "after updates");
    ASSERT_OK(vs_coll_flush(R.c));
    ASSERT_OK(vs_coll_compact(R.c));
    ASSERT_OK(vs_coll_wait_indexed(R.c, -1));
    check_filters(&R, nf, "after compaction");
    /* Reopen: indexes come back from their files. */
    vs_coll_close(R.c);
    vs_store_close(s);
    R.c = open_coll(&s);
    vs_pindex_info *info;
    size_t ni;
    ASSERT_OK(vs_coll_payload_indexes(R.c, &info, &ni));
    ASSERT_EQ(ni, 60);
    uint64_t entries = 0;
    for (size_t i = 0; i < ni; i++) entries += info[i].entries;
    ASSERT(entries > n);
    vs_free(info);
    check_filters(&R, nf, "reopened");
    /* Dropping every index on a path leaves answers unchanged. */
    ASSERT_OK(vs_coll_drop_payload_index(R.c, "a", 0));
    ASSERT_OK(vs_coll_drop_payload_index(R.c, "s", VS_PINDEX_TEXT));
    check_filters(&R, nf / 2, "some dropped");
    for (size_t i = 0; i < n; i++) cJSON_Delete(R.pay[i]), cJSON_free(R.txt[i]);
    free(R.cs), free(R.vec), free(R.pay), free(R.txt), free(R.ids), free(R.live);
    vs_coll_close(R.c);
    vs_store_close(s);
}
