/*
 * hnsw.h — the HNSW graph over the rows of one sealed segment's vector field.
 *
 * Malkov & Yashunin, "Efficient and robust approximate nearest neighbor search using
 * Hierarchical Navigable Small World graphs" (2016/2018). This module is the graph alone:
 * it never owns vectors. Every call gets `base` (n rows × dim float32, row-major, the
 * segment's mmap'd column) and the score kind of simd/distance.h (VS__SCORE_DOT for dot and
 * for cosine, whose vectors are stored normalised; VS__SCORE_NEGL2 for l2), where a higher
 * score is nearer. Node i is row i.
 *
 * Lifecycle: built once, in bulk, when a segment is sealed (by the background indexer;
 * multi-threaded), then immutable. Saved next to the segment files and loaded with mmap,
 * without a rebuild. Deletes are not graph operations: search skips rows whose tombstone
 * bit is set (or that `allow` excludes) while still traversing through them, so recall holds
 * under deletes; compaction builds a fresh graph for the merged segment.
 *
 * Threads: vs__hnsw_search may run from any number of threads at once on one graph (it
 * only reads the graph; scratch memory comes from the caller-provided vs__hnsw_scratch).
 *
 * Memory: all allocation goes through util/alloc.h; a build fails cleanly (VS_ENOMEM, no
 * leak) if an allocation fails.
 */
#ifndef VS_INDEX_HNSW_H
#define VS_INDEX_HNSW_H

#include <stddef.h>
#include <stdint.h>

#include "index/index.h"
#include "query/topk.h"
#include "util/err.h"

typedef struct vs__hnsw vs__hnsw;

typedef struct vs__hnsw_params {
    uint32_t m;               /* links per node on layers > 0 (layer 0 has 2·m) */
    uint32_t ef_construction; /* candidate list size while building */
    uint64_t seed;            /* level assignment; same seed + input = same graph */
    uint32_t threads;         /* build threads (0 = all cores) */
} vs__hnsw_params;

/* Builds the graph over rows [0, n). Rows whose bit is set in `skip` (may be NULL) are
 * left out of the graph entirely (tombstoned at build time). */
int vs__hnsw_build(const float *base, size_t n, size_t dim, int kind,
                   const vs__hnsw_params *p, const uint64_t *skip, vs__hnsw **out,
                   vs__err *e);
void vs__hnsw_free(vs__hnsw *h);

/* Per-thread search scratch (visited set, candidate heaps), reusable across queries and
 * graphs; grows as needed. */
typedef struct vs__hnsw_scratch vs__hnsw_scratch;
vs__hnsw_scratch *vs__hnsw_scratch_new(void);
void vs__hnsw_scratch_free(vs__hnsw_scratch *s);

/* Searches with beam width max(ef, t->k) from the entry point and pushes the best rows
 * into t (as (score, slot, row)). A row enters t only if it is allowed: when `allow` is
 * given its bit must be set, else its bit in `deleted` (may be NULL) must be clear; rows
 * that are not allowed are still traversed. Returns VS_OK or VS_ENOMEM (scratch growth).
 * Counts distance computations and visited nodes into st (may be NULL). */
int vs__hnsw_search(const vs__hnsw *h, const float *base, size_t dim, int kind,
                    const float *q, size_t ef, const uint64_t *allow, const uint64_t *deleted,
                    uint32_t slot, vs__topk *t, vs__hnsw_scratch *s, vs__search_stats *st);

/* The same walk over quantized codes (index/quant.h): codes holds code_size bytes per
 * row, qq is prepared for q (the caller's, per thread); the walk compares code scores
 * only. With rescore set, every allowed row of the final beam (beam = max(ef, t->k)) is
 * scored again with its float row in base and pushed with that exact score; without,
 * the code scores are pushed (binary codes' scores are not in the metric's units).
 * Counts rescored rows into st->rescored. VS_OK or VS_ENOMEM. */
struct vs__quant_query;
int vs__hnsw_search_quant(const vs__hnsw *h, const struct vs__quant_query *qq,
                          const uint8_t *codes, size_t code_size, const float *base, size_t dim,
                          int kind, const float *q, size_t ef, int rescore,
                          const uint64_t *allow, const uint64_t *deleted, uint32_t slot,
                          vs__topk *t, vs__hnsw_scratch *s, vs__search_stats *st);

/* Persistence: one framed file (storage/frame.h, magic "VSHNSWG1") holding the params,
 * entry point, levels and link lists; written atomically (tmp + fsync + rename). */
int vs__hnsw_save(const vs__hnsw *h, const char *path, vs__err *e);
/* Loads (mmap, no copy of the links) and verifies checksum and structure against n. */
int vs__hnsw_load(const char *path, size_t n, vs__hnsw **out, vs__err *e);

/* Checks the invariants: links in range, no self links, no duplicate links, degree bounds
 * per layer, every node on layer l > 0 also on the layers below, entry point on the top
 * layer, and every node in the graph reachable from the entry point on layer 0. On failure
 * VS_ECORRUPT with the first violation named. */
int vs__hnsw_validate(const vs__hnsw *h, vs__err *e);

/* Bytes of memory held by the graph (links, levels; mapped bytes when loaded). */
size_t vs__hnsw_memory(const vs__hnsw *h);
size_t vs__hnsw_nodes(const vs__hnsw *h); /* rows in the graph */

#endif
