/*
 * reqjson.h — reading the pieces of Qdrant request bodies.
 *
 * Every function validates what it reads and, on failure, returns -1 with a message in
 * err (room VS__ERRLEN) saying which field was wrong and why; the caller answers 400.
 */
#ifndef VS_SERVER_REQJSON_H
#define VS_SERVER_REQJSON_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "server/sbuf.h"
#include "vecstore.h"

#define VS__ERRLEN 320
/* Numeric ids travel as JSON numbers, which clients (JavaScript's above all) hold as
 * doubles: larger integers cannot be told apart, so they are refused, not rounded. */
#define VS__ID_JSON_MAX 9007199254740992ull /* 2^53 */

/* 0 if the JSON text nests at most max deep (strings skipped); else -1. Run before
 * parsing, so a hostile body cannot make the parser recurse deeply. */
int vs__json_depth_ok(const char *s, size_t n, int max);

/* A point id: an unsigned integer <= 2^53 or a string of 1..VS_ID_STR_MAX bytes. A
 * string that is a UUID in any of its spellings (braces, "urn:uuid:", no hyphens,
 * upper case) is rewritten in j to the canonical lower-case hyphenated form first, as
 * Qdrant does, so every spelling names the same point. The id points into j.
 * These three return the library's code for what is wrong (VS_EID, VS_EDIM, VS_EVALUE,
 * VS_EINVAL, VS_ERANGE, VS_ENOMEM), so a handler answers with vs__fail_rc and the client
 * learns the same code the library would have given. */
int vs__rj_id(cJSON *j, vs_id *out, const char *what, char *err);
/* An array of ids; *ids is malloc'd (NULL when n == 0). */
int vs__rj_ids(cJSON *arr, vs_id **ids, size_t *n, const char *what, char *err);

/* Exactly dim finite float32 values from a JSON array into out. */
int vs__rj_floats(const cJSON *arr, float *out, uint32_t dim, const char *what, char *err);

/* A filter (Qdrant JSON object, or VecStore's text syntax as a string) as text for
 * vs_query/vs_count (*text from cJSON_malloc: free with cJSON_free; NULL when the filter
 * is absent or null). */
int vs__rj_filter(const cJSON *f, char **text, char *err);

/* with_payload: true/false, a list of keys to include, {"include": [...]} or
 * {"exclude": [...]}. */
typedef struct vs__wp {
    int on;
    const cJSON *include, *exclude; /* arrays of key strings, borrowed */
} vs__wp;
int vs__rj_with_payload(const cJSON *j, int dflt, vs__wp *out, char *err);
/* Writes a stored payload (compact JSON, may be NULL = {}) projected by wp. */
void vs__write_payload(vs__sb *b, const char *payload, const vs__wp *wp);

/* with_vector: true/false or a list of vector names; *mask gets bit i for field i of
 * info. */
int vs__rj_with_vector(const cJSON *j, const vs_coll_info *info, uint32_t *mask, char *err);

/* Optional unsigned integer member in [lo, hi]; *out untouched when absent or null. */
int vs__rj_uint(const cJSON *obj, const char *key, uint64_t lo, uint64_t hi, uint64_t *out,
                char *err);
/* Optional boolean member. */
int vs__rj_bool(const cJSON *obj, const char *key, int *out, char *err);

/* The field of a collection a vector name selects ("" = the unnamed default field or
 * the only field); -1 with a message if the collection has no such field. */
int vs__field_index(const vs_coll_info *info, const char *name, char *err);

#endif
