/*
 * result.h — building a vs_result (the public result object).
 *
 * A result owns copies of everything it exposes (ids, payload texts, vectors), so it
 * stays valid after the collection lock is released and even after the collection is
 * closed. Rows are appended group by group.
 */
#ifndef VS_QUERY_RESULT_H
#define VS_QUERY_RESULT_H

#include "storage/segment.h"
#include "util/err.h"
#include "vecstore.h"

int vs__result_new(uint32_t nfields, const uint32_t *dims, vs_result **out);
int vs__result_group(vs_result *r);
int vs__result_add(vs_result *r, const vs__rowid *id, float score, const char *payload,
                   size_t plen, const float *const *vecs);
int vs__result_set_next(vs_result *r, const vs__rowid *id);
/* Hands the query's profile to the result (which frees it). */
struct vs__prof;
void vs__result_set_profile(vs_result *r, struct vs__prof *p);

#endif
