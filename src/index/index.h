/*
 * index.h — the per-segment vector index interface.
 *
 * Stage 3 of a query (search.h) asks each segment's index for candidates: the index
 * scores rows against the query and pushes (score, row) into the query's bounded top-k.
 * Scores are "higher is better" (simd/distance.h). An index must honour `allow` when
 * given (a bitmap of rows that pass tombstones and the filter; NULL = the segment's
 * tombstones alone decide), so filtered search and deletes are correct for every index
 * kind. It counts its work in vs__search_stats for the profiler.
 *
 * Two kinds: FLAT (exact: every allowed row is scored, with the SIMD row kernels for
 * single queries and blocked sgemm for batches) and HNSW (hnsw_index.h: a graph walk,
 * over quantized codes with rescoring when the field is quantized). A segment's index
 * state lives beside its files and is attached to it as a vs__seg_index.
 */
#ifndef VS_INDEX_INDEX_H
#define VS_INDEX_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "query/topk.h"
#include "storage/segment.h"
#include "util/err.h"

typedef struct vs__search_stats {
    uint64_t distances; /* query-row distance computations */
    uint64_t visited;   /* rows considered */
    uint64_t rescored;  /* quantized candidates scored again with their float rows
                           (also counted in distances) */
} vs__search_stats;

struct vs__hnsw_scratch;
struct vs__quant;
struct vs__quant_query;

/* How a query uses a quantized index (hnsw_index.h). */
enum {
    VS__QUANT_USE = 0,        /* walk the codes, rescore with the float rows */
    VS__QUANT_NO_RESCORE = 1, /* walk the codes, return their scores */
    VS__QUANT_IGNORE = 2      /* walk with the float rows */
};

/* What one query (or batch) carries down to the indexes: knobs, per-thread scratch, and
 * the work counters. Initialise with vs__search_ctx_init, release with
 * vs__search_ctx_release. */
typedef struct vs__search_ctx {
    uint32_t ef;                      /* HNSW beam width */
    int quant;                        /* VS__QUANT_* */
    float oversampling;               /* quantized beam >= k x this (0 = 1) */
    struct vs__hnsw_scratch *scratch; /* created on first use */
    struct vs__quant_query *qq;       /* prepared query of the last quantizer used */
    const struct vs__quant *qq_for;
    vs__search_stats st;
} vs__search_ctx;

void vs__search_ctx_init(vs__search_ctx *cx, uint32_t ef);
void vs__search_ctx_release(vs__search_ctx *cx);

typedef struct vs__index_ops {
    const char *name;
    /* One query q (dim floats, already normalised for cosine) against field fi. */
    int (*search)(const vs__segment *s, uint32_t slot, uint32_t fi, int kind, const float *q,
                  const uint64_t *allow, vs__topk *t, vs__search_ctx *cx, vs__err *e);
    /* nq queries (row-major) into tops[0..nq-1]. May fail only for memory. */
    int (*search_batch)(const vs__segment *s, uint32_t slot, uint32_t fi, int kind,
                        const float *qs, size_t nq, const uint64_t *allow, vs__topk *tops,
                        vs__search_ctx *cx, vs__err *e);
} vs__index_ops;

extern const vs__index_ops vs__index_flat;

/* Scores rows [from, to) of field fi exactly into t (the flat index's single-query
 * loop; also the part of a segment a growing graph does not cover yet). */
void vs__flat_scan(const vs__segment *s, uint32_t slot, uint32_t fi, int kind, const float *q,
                   const uint64_t *allow, size_t from, size_t to, vs__topk *t,
                   vs__search_ctx *cx);
extern const vs__index_ops vs__index_hnsw;

/* The index to use for field fi of a segment: its attached index unless `exact`, or
 * when the filter leaves so few rows (`allowed` of them; SIZE_MAX = no filter) that
 * scoring them directly beats walking a graph. */
const vs__index_ops *vs__index_for(const vs__segment *s, uint32_t fi, int exact, size_t allowed);

static inline int vs__row_allowed(const vs__segment *s, const uint64_t *allow, size_t r) {
    if (allow) return (int)((allow[r >> 6] >> (r & 63)) & 1);
    return !vs__seg_deleted(s, r);
}

#endif
