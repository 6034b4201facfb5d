/*
 * filter.h — payload filters: parse once, evaluate per point.
 *
 * Filters use Qdrant's JSON structure so that Qdrant clients' filters work unchanged.
 * This module is the basic subset of the core issue; the filtering issue extends it
 * (JSON paths with arrays, regex, datetimes, payload indexes) behind the same interface.
 *
 *   filter    := { "must": [cond…] | cond, "should": [cond…] | cond,
 *                  "must_not": [cond…] | cond, "min_should": {...} (later) }
 *                 every clause optional; an empty filter {} matches everything.
 *                 must = all match; should = at least one matches (if present);
 *                 must_not = none matches.
 *   cond      := filter                                  (nesting)
 *              | { "key": PATH, "match": { "value": V } }  V string | integer | bool;
 *                 an array payload value matches if any element equals V
 *              | { "key": PATH, "match": { "any": [V…] } }    value in set
 *              | { "key": PATH, "match": { "except": [V…] } } value not in set
 *              | { "key": PATH, "range": { "gt"|"gte"|"lt"|"lte": number, … } }
 *                 numeric values only (an array matches if any element is in range)
 *              | { "has_id": [id…] }                      ids: unsigned ints or strings
 *              | { "is_empty": { "key": PATH } }          missing, null or []
 *              | { "is_null": { "key": PATH } }           present and null
 *   PATH      := dotted keys into nested objects: "a.b.c"
 *
 * Numbers compare as doubles: 1 == 1.0. Strings compare bytewise. A condition on a
 * missing key is false (except is_empty). Unknown keys/operators, wrong types and
 * malformed JSON are rejected at parse time with VS_EFILTER and a message that names
 * the offending element and its path within the filter (e.g. "must[1].range: expected
 * a number for 'gte'").
 *
 * Ownership: vs__filter_parse returns a tree owned by the caller (vs__filter_free).
 * A parsed filter is immutable and may be evaluated from many threads at once.
 * All memory goes through util/alloc.h.
 */
#ifndef VS_QUERY_FILTER_H
#define VS_QUERY_FILTER_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "vecstore.h"

struct cJSON;
typedef struct vs__filter vs__filter;

/* json: len bytes (not necessarily NUL-terminated). NULL/empty/"null" → *out = NULL
 * (no filter), VS_OK. Depth is limited to 32 levels of nesting (VS_EFILTER beyond). */
int vs__filter_parse(const char *json, size_t len, vs__filter **out, vs__err *e);
void vs__filter_free(vs__filter *f);

/* 1 if the point matches, 0 if not. payload: the parsed payload object (may be NULL =
 * empty payload). id: the point's id (for has_id). */
int vs__filter_match(const vs__filter *f, const struct cJSON *payload, const vs_id *id);

/* 1 if the filter needs the payload at all (has_id-only filters do not). */
int vs__filter_needs_payload(const vs__filter *f);

#endif
