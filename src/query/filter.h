/*
 * filter.h — payload filters: parse once, evaluate per point.
 *
 * Filters use Qdrant's JSON filter structure, so Qdrant clients' filters work unchanged,
 * with VecStore's extensions (marked "ext."). The text syntax of filter_text.h
 * translates to this same language; vs__filter_parse_any picks the syntax by the first
 * character ('{' = JSON).
 *
 *   filter  := { "must": C, "should": C, "must_not": C,
 *                "min_should": { "conditions": C, "min_count": N } }
 *              C is one condition or an array of them; every clause is optional and
 *              null means absent; an empty filter {} matches everything. must: all
 *              match; should: at least one (when present, even as []); must_not: none;
 *              min_should: at least N of its conditions. Clauses combine with AND.
 *   cond    := filter                                       (nesting)
 *            | field
 *            | { "has_id": [id…] }          ids: unsigned integers (exact to 2^64-1) or
 *                                           strings of 1..VS_ID_STR_MAX bytes
 *            | { "is_empty": { "key": PATH } }   the field has no values
 *            | { "is_null": { "key": PATH } }    the field is present and null
 *            | { "nested": { "key": PATH, "filter": filter } }
 *                 some object in the array at PATH satisfies the whole filter (keys in it
 *                 are relative to that object); has_id is not allowed inside
 *   field   := { "key": PATH, OP [, "quantifier": "any" | "all"] }      (quantifier: ext.)
 *   OP      := "match": { "value": V }          a value equals V
 *            | "match": { "any": [V…] }         a value is in the set ([] matches nothing)
 *            | "match": { "except": [V…] }      a value is a scalar outside the set
 *            | "match": { "contains_all": [V…] } (ext.) every listed value is among the
 *                                               field's values (no quantifier)
 *            | "match": { "text": S }           full text: every word of S is a word of
 *                                               the value (words: runs of ASCII letters
 *                                               and digits or non-ASCII bytes, ASCII
 *                                               case-folded; at most 64 words)
 *            | "match": { "regex": S }          (ext.) PCRE2 pattern found in a string
 *                                               value (query/regex.h: cached, JIT, limits)
 *            | "range": { "gt"|"gte"|"lt"|"lte": B, … }
 *                 all bounds numbers: numeric values; all bounds strings: datetimes
 *                 (query/datetime.h) compared as UTC instants against string values that
 *                 parse as datetimes; null bounds are absent; none: any number/datetime
 *            | "values_count": { "gt"|"gte"|"lt"|"lte": n, … }   the number of values
 *            | "geo_radius": { "center": P, "radius": metres }    P = {"lat": …, "lon": …}
 *            | "geo_bounding_box": { "top_left": P, "bottom_right": P }
 *            | "geo_polygon": { "exterior": R [, "interiors": [R…]] }  R = {"points": [P…]}
 *                 a value that is a geo point — an object whose numbers "lat" and "lon"
 *                 make a valid WGS84 point (other members ignored) — lies in the region
 *                 (geo/geo.h: radius by the WGS84 geodesic; a box whose west lon is east
 *                 of its east lon crosses the antimeridian; polygon edges straight in
 *                 lon/lat as in GeoJSON, holes cut out). Query points must be valid
 *                 (lat in [-90, 90], lon in [-180, 180]); radius >= 0.
 *   V       := string | integral number | bool
 *   PATH    := [ "$." ] comp { "." comp | "[" digits "]" | "[]" }     (ext.: [ ], $, "")
 *              comp: bytes other than . [ ] " | '"' bytes other than '"' '"'
 *              a.b.c   member of member; a[2].b   third element's b; a[].b  b of every
 *              element; "a.b"  a key with a dot in it.
 *
 * The values of a field: walk PATH from the payload object (a key through a non-object,
 * an index through a non-array: nothing); what the walk reaches are its terminal values.
 * A terminal array contributes its elements (one level: [[1]] holds the value [1]), a
 * terminal null nothing, anything else itself. With "any" (the default) a field
 * condition holds iff some value satisfies OP; with "all" iff there is at least one value
 * and every value does (a null element satisfies nothing). Hence a condition on a
 * missing key is false (except is_empty), and so is except on []. As in Qdrant: is_null
 * holds iff a terminal value is null; is_empty iff every terminal value is null or []
 * (or there is none) — [null] is not empty; values_count counts the values ([null]: 1).
 *
 * Comparisons: numbers compare by value (1 == 1.0), integers exactly over the whole
 * 64-bit range (compared as long double, which holds them exactly), others as doubles.
 * Strings compare bytewise after decoding escapes. Types never mix ("1" != 1,
 * true != 1). Datetimes: "2024-01-01T02:00:00+02:00" equals "2024-01-01T00:00:00Z".
 *
 * Text rules: strict RFC 8259 JSON in UTF-8 without "\u0000"; empty, whitespace-only or
 * "null" text means no filter. Objects may not repeat a key or carry unknown keys.
 * Errors are VS_EFILTER with the place inside the filter and the byte offset, e.g.
 * "must[1].range.gte: expected a number or a datetime string, got true (at byte 41)";
 * bad JSON: "invalid JSON at byte 17: expected ',' or '}'"; bad regex and datetime
 * messages name the offset inside the string. VS_ENOMEM when memory runs out.
 * Nesting: at most 32 levels of filters (the root is level 1; nested counts).
 *
 * Ownership: vs__filter_parse returns a tree owned by the caller (vs__filter_free). A
 * parsed filter is immutable and may be evaluated from many threads at once, each with
 * its own vs__filter_ctx.
 */
#ifndef VS_QUERY_FILTER_H
#define VS_QUERY_FILTER_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "vecstore.h"

typedef struct vs__filter vs__filter;
struct vs__regex_scratch;

#define VS__FILTER_DEPTH_MAX 32

/* JSON filter text json[0..len) (not necessarily NUL-terminated). NULL/empty/"null" →
 * *out = NULL (no filter), VS_OK. Errors: VS_EFILTER, VS_ENOMEM. */
int vs__filter_parse(const char *json, size_t len, vs__filter **out, vs__err *e);
/* JSON when the first non-blank character is '{' (or the text is empty or "null"), the
 * text syntax of filter_text.h otherwise. */
int vs__filter_parse_any(const char *text, size_t len, vs__filter **out, vs__err *e);
void vs__filter_free(vs__filter *f);

/* 1 if the filter reads payloads at all (has_id-only filters do not). */
int vs__filter_needs_payload(const vs__filter *f);

/* Per-thread evaluation state: scratch for decoded strings and regex matching, and the
 * number of evaluations (for the profiler). Zero-initialise or call _init. */
typedef struct vs__filter_ctx {
    char *buf;
    size_t cap;
    struct vs__regex_scratch *rx;
    uint64_t evals;
} vs__filter_ctx;

void vs__filter_ctx_init(vs__filter_ctx *cx);
void vs__filter_ctx_release(vs__filter_ctx *cx);

/* 1 if the point matches, 0 if not, or a negative code (VS_ELIMIT when a regex hits its
 * limits, VS_ENOMEM) with the message in e. f NULL matches everything. payload: the
 * point's JSON object text (len 0 or NULL = no payload); id: the point's id (NULL matches
 * no has_id). */
int vs__filter_eval(const vs__filter *f, vs__filter_ctx *cx, const char *payload, size_t len,
                    const vs_id *id, vs__err *e);

/* ---- for payload indexes and the planner (query/plan.h, index/payload_index.h) ----
 *
 * A payload index answers some field conditions ("leaves") for the rows of one segment
 * without reading payloads. The filter tree is combined here, so the index never needs
 * to know the tree's shape: vs__filter_estimate and vs__filter_rows ask a vs__frows
 * source about each leaf and fold the answers through must / should / must_not.
 * Leaves offered: "match" value/any (EQ), numeric "range" (RANGE), datetime "range"
 * (DTRANGE), "match.text" (TEXT) and the geo conditions (GEO), each with the default
 * quantifier "any"; every other condition is left to vs__filter_eval. */

typedef struct vs__fstr {
    char *s;
    size_t len;
} vs__fstr;

enum { VS__LEAF_EQ = 1, VS__LEAF_RANGE, VS__LEAF_DTRANGE, VS__LEAF_TEXT, VS__LEAF_GEO };
struct vs__geo_region;
enum { VS__BOUND_GT = 1, VS__BOUND_GTE = 2, VS__BOUND_LT = 4, VS__BOUND_LTE = 8 };

typedef struct vs__fleaf {
    int op;                 /* VS__LEAF_* */
    const char *path;       /* canonical path text (vs__fpath_text) */
    const long double *nums; /* EQ: sorted integral numbers */
    size_t nnum;
    const vs__fstr *strs;   /* EQ: sorted strings (bytewise) */
    size_t nstr;
    unsigned bools;         /* EQ: bit 0 false, bit 1 true */
    unsigned bounds;        /* RANGE, DTRANGE: VS__BOUND_* present */
    long double gt, gte, lt, lte;   /* RANGE */
    int64_t dgt, dgte, dlt, dlte;   /* DTRANGE, UTC microseconds */
    const vs__fstr *words;  /* TEXT: distinct ASCII-folded words, all required */
    size_t nwords;
    const struct vs__geo_region *geo; /* GEO: the region (geo/geo.h), with its covering */
} vs__fleaf;

/* A source of row sets over one segment of nrows rows (bitmaps of (nrows+63)/64 words).
 * estimate: rows that may match the leaf (an upper bound) and whether that is exact, or
 *   a negative number when the source cannot answer the leaf.
 * rows: ORs the rows matching the leaf into bits; *exact = 0 when that is a superset.
 *   Returns VS_OK, 1 when it cannot answer, or a negative code. */
typedef struct vs__frows {
    size_t nrows;
    void *ctx;
    double (*estimate)(void *ctx, const vs__fleaf *lf, int *exact);
    int (*rows)(void *ctx, const vs__fleaf *lf, uint64_t *bits, int *exact, vs__err *e);
} vs__frows;

/* Estimated number of matching rows from the leaves src answers (conditions combined
 * as if independent); *complete = 1 when every condition was answered exactly, so no
 * row needs vs__filter_eval. Negative when nothing could be estimated. */
double vs__filter_estimate(const vs__filter *f, const vs__frows *src, int *complete);
/* The rows that may match: *bits (owned by the caller, vs__free; NULL = no condition
 * could be answered, so every row may match) and *exact (1: exactly the matching rows,
 * tombstones aside; 0: a superset to check with vs__filter_eval). Bits past nrows are
 * unspecified. */
int vs__filter_rows(const vs__filter *f, const vs__frows *src, uint64_t **bits, int *exact,
                    vs__err *e);

/* A compiled path, as payload indexes name their field (the grammar of PATH above). */
typedef struct vs__fpath vs__fpath;
/* VS_EINVAL with the reason when key is not a valid path. */
int vs__fpath_compile(const char *key, vs__fpath **out, vs__err *e);
void vs__fpath_free(vs__fpath *p);
/* Canonical text: "$." dropped, components quoted only when they must be, so every
 * spelling of one path has one text. */
const char *vs__fpath_text(const vs__fpath *p);

/* One value of a field (filter.h's "values of a field"), as index builders see it. */
typedef struct vs__fval {
    int type;        /* VS__JT_* (util/jtext.h) */
    const char *s;   /* STR: decoded bytes, valid during the callback */
    size_t len;
    long double num; /* NUM: integers exact, others via double */
    int geo;         /* OBJ: 1 when it is a valid geo point {"lat": …, "lon": …} */
    double lat, lon;
} vs__fval;
typedef int (*vs__fval_fn)(void *arg, const vs__fval *v);
/* Calls fn for every value of the path in the payload text; fn returns 0 to go on, 1 to
 * stop or a negative code. Returns 0, 1 (stopped) or the code. */
int vs__fpath_values(const vs__fpath *p, vs__filter_ctx *cx, const char *payload, size_t len,
                     vs__fval_fn fn, void *arg, vs__err *e);
/* The words of a string as match.text sees them: the next word of s[*i..len) is
 * [*a, *a + *wl) (compare ASCII-folded: vs__filter_fold); 0 when none is left. */
int vs__filter_next_word(const char *s, size_t len, size_t *i, size_t *a, size_t *wl);
static inline char vs__filter_fold(char ch) {
    return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

#endif
