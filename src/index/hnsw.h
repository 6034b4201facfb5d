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
 * multi-threaded), then immutable; or grown row by row while searched (the mutable
 * segment's graph, see "growing graphs" below), then finished and kept. Saved next to
 * the segment files and loaded with mmap, without a rebuild. Deletes are not graph
 * operations: search skips rows whose tombstone bit is set (or that `allow` excludes)
 * while still traversing through them, so recall holds under deletes; compaction
 * builds a fresh graph for the merged segment.
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

/* ------------------------------------------------------------ growing graphs --
 * A graph can also grow: created empty, given room for more rows (prepare + commit),
 * rows inserted in row order (each row once, by one caller at a time, with any number
 * of threads), searched all the while (a search sees the rows published when it
 * started; hnsw_int.h, GROWING GRAPHS), then finished (reachability repair). Inserting
 * rows 0..n-1 this way builds the same graph as vs__hnsw_build over them with the same
 * seed and one thread (vs__hnsw_build is these steps).
 *
 * Growth replaces the arrays, so vs__hnsw_grow_commit must run while no search does
 * (the caller's exclusive lock); prepare (allocation and copy) and release (freeing
 * the old arrays) need not. Everything else may run beside searches. Rows whose bit is
 * set in `skip` are left out of the graph, as in vs__hnsw_build. */
typedef struct vs__hnsw_grow {
    size_t cap, nupper, nodes;
    int ready;
    uint8_t *level;
    uint32_t *uoff, *l0, *up;
} vs__hnsw_grow;

int vs__hnsw_new(size_t dim, int kind, const vs__hnsw_params *p, vs__hnsw **out, vs__err *e);
/* Room for at least `rows` rows (growing by half or more at a time), or exactly `rows`
 * when exact is set (which may also give back room beyond them; never below the rows
 * inserted). g->ready is 0 when nothing needs doing. */
int vs__hnsw_grow_prepare(const vs__hnsw *h, size_t rows, int exact, const uint64_t *skip,
                          vs__hnsw_grow *g, vs__err *e);
void vs__hnsw_grow_commit(vs__hnsw *h, vs__hnsw_grow *g); /* g then holds the old arrays */
void vs__hnsw_grow_release(vs__hnsw_grow *g);
/* Inserts rows [vs__hnsw_rows(h), to) of base (to <= the room made) with `threads`
 * threads (0 = all cores) and publishes them. VS_ENOMEM leaves the graph as it was. */
int vs__hnsw_insert(vs__hnsw *h, const float *base, size_t to, size_t threads, vs__err *e);
/* After the last insertion, with every reserved row inserted: repairs reachability
 * (hnsw_build.c) and frees the insertion state. The graph can then be saved and
 * validated; it stays searchable throughout. base is where the rows' vectors live *now*:
 * a graph grown over the mutable segment is finished over the sealed segment's copy
 * (the mutable one is freed by then), so no pointer from an earlier insert is reused. */
int vs__hnsw_finish(vs__hnsw *h, const float *base, vs__err *e);
size_t vs__hnsw_rows(const vs__hnsw *h);     /* rows inserted and published */
size_t vs__hnsw_reserved(const vs__hnsw *h); /* rows with room */

/* Per-thread search scratch (visited set, candidate heaps), reusable across queries and
 * graphs; grows as needed. */
typedef struct vs__hnsw_scratch vs__hnsw_scratch;
vs__hnsw_scratch *vs__hnsw_scratch_new(void);
void vs__hnsw_scratch_free(vs__hnsw_scratch *s);

/* Searches with beam width max(ef, t->k) from the entry point and pushes the best rows
 * into t (as (score, slot, row)). A row enters t only if it is allowed: when `allow` is
 * given its bit must be set, else its bit in `deleted` (may be NULL) must be clear; rows
 * that are not allowed are still traversed. Returns VS_OK or VS_ENOMEM (scratch growth).
 * Counts distance computations and visited nodes into st (may be NULL). *covered (may
 * be NULL) receives the rows the search could reach, [0, covered): of a growing graph,
 * those published when it started; the caller scores the rest itself. */
int vs__hnsw_search(const vs__hnsw *h, const float *base, size_t dim, int kind,
                    const float *q, size_t ef, const uint64_t *allow, const uint64_t *deleted,
                    uint32_t slot, vs__topk *t, vs__hnsw_scratch *s, vs__search_stats *st,
                    size_t *covered);

/* The same walk over quantized codes (index/quant.h): codes holds code_size bytes per
 * row, qq is prepared for q (the caller's, per thread); the walk compares code scores
 * only. With rescore set, the best max(beam, rescore_pool) allowed rows met on the walk
 * by code score (beam = max(ef, t->k)) are scored again with their float rows in base
 * and pushed with those exact scores; without, the beam's code scores are pushed
 * (binary codes' scores are not in the metric's units). Counts rescored rows into
 * st->rescored. VS_OK or VS_ENOMEM. */
struct vs__quant_query;
int vs__hnsw_search_quant(const vs__hnsw *h, const struct vs__quant_query *qq,
                          const uint8_t *codes, size_t code_size, const float *base, size_t dim,
                          int kind, const float *q, size_t ef, int rescore,
                          size_t rescore_pool, const uint64_t *allow, const uint64_t *deleted,
                          uint32_t slot, vs__topk *t, vs__hnsw_scratch *s, vs__search_stats *st,
                          size_t *covered);

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
