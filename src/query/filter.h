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
 * Numbers compare as doubles: 1 == 1.0. Strings compare bytewise. Types never mix
 * ("1" != 1, true != 1).
 *
 * Values of a field (sharpened by the implementation, checked by tests/unit/test_filter.c):
 *   - A field is the set of its values: missing, null and [] are the empty set; an array
 *     gives its elements (one level: [[1]] holds the value [1], not 1); anything else is
 *     itself. match/any/except/range hold iff some value satisfies them, so a condition
 *     on a missing key is false (except is_empty), and so is "except" on [].
 *   - except: some value is a string, number or bool outside the set.
 *   - A path walks objects only; through a non-object (or an array) the field is missing.
 *     '[', ']' and '"' in a key are reserved for the array/quoted path syntax to come.
 *   - match.value must be a string, a bool or an integral number (Qdrant has no float
 *     equality); any/except lists may mix those types; [] in any matches nothing.
 *   - range bounds are finite numbers; a null bound is absent; no bounds: any number.
 *   - has_id ids are integers 0..2^53-1 (cJSON yields doubles, which are exact only that
 *     far; larger ids are refused, never rounded) or strings of 1..VS_ID_STR_MAX bytes.
 *   - A clause that is null is absent (Qdrant clients send nulls). "should" present,
 *     even as [], requires at least one match — Qdrant's rule. "min_should" is refused.
 *   - Objects may not repeat a key.
 *
 * The text must be strict RFC 8259 JSON in UTF-8 without "\u0000" (which would cut a
 * string short in cJSON); text that is empty or only whitespace means no filter. Unknown
 * keys/operators, wrong types and malformed JSON are rejected at parse time with
 * VS_EFILTER and a message that names the offending element by its path within the
 * filter (e.g. "must[1].range.gte: expected a number, got a string"; bad JSON: "invalid
 * JSON at byte 17: expected ',' or '}'"). Running out of memory is VS_ENOMEM, also
 * inside cJSON.
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
 * (no filter), VS_OK. Depth is limited to 32 levels of nesting, the root filter being
 * level 1 (VS_EFILTER beyond). Errors: VS_EFILTER (message as above), VS_ENOMEM. */
int vs__filter_parse(const char *json, size_t len, vs__filter **out, vs__err *e);
void vs__filter_free(vs__filter *f);

/* 1 if the point matches, 0 if not. f NULL (no filter) matches everything. payload: the
 * parsed payload object (may be NULL = empty payload). id: the point's id (for has_id;
 * NULL = matches no has_id). Reads only; no allocation. */
int vs__filter_match(const vs__filter *f, const struct cJSON *payload, const vs_id *id);

/* 1 if the filter needs the payload at all (has_id-only filters do not). */
int vs__filter_needs_payload(const vs__filter *f);

#endif
