/*
 * search.h — the read paths of a collection: query (top-k), get, count, scroll.
 *
 * A query runs as explicit stages, each a function below, so that filters, indexes,
 * hybrid fusion and the profiler plug in per stage:
 *   1. prepare     validate, normalise the query vectors (cosine), parse the filter
 *   2. candidates  per segment: the rows allowed by tombstones and the filter
 *                  (a bitmap; later: an index's candidate list)
 *   3. score       per segment: flat scan with the SIMD row kernels (one query) or
 *                  blocked sgemm (batches) — the per-segment index interface (index/)
 *   4. top-k       bounded heaps per query, merged across segments
 *   5. fetch       ids, payloads and vectors copied into the result
 * The whole query holds the collection lock shared.
 */
#ifndef VS_QUERY_SEARCH_H
#define VS_QUERY_SEARCH_H

#include "engine/collection.h"

int vs__query(vs__coll *c, const vs_query *q, vs_result **out, vs__err *e);
int vs__get(vs__coll *c, const vs_id *ids, size_t n, int with, vs_result **out, vs__err *e);
int vs__count(vs__coll *c, const char *filter, uint64_t *count, vs__err *e);
int vs__scroll(vs__coll *c, const vs_id *offset, uint32_t limit, const char *filter, int with,
               vs_result **out, vs__err *e);

/* Batches at least this large use the sgemm path. */
#define VS_GEMM_MIN_QUERIES 8

#endif
