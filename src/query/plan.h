/*
 * plan.h — the filter planner: per segment, how a filtered query finds its candidates.
 *
 * For each segment the planner estimates how many rows the filter leaves, from the
 * segment's payload indexes (index/payload_index.h; conditions combined through
 * must/should/must_not as if independent) or, when no index answers, from the filter
 * evaluated on an even sample of rows. With n live rows, s = estimate / n, and a graph
 * beam of b = max(ef, k), it picks:
 *
 *   EXACT  score exactly the allowed rows (pre-filter) — when the segment has no graph,
 *          or when allowed² ≤ G·n with G = 40·b: a graph walk that must pass over ~1/s
 *          rows per allowed one costs about G/s distances, the flat scan `allowed`
 *          (flat.c scores only allowed rows). Recall 1.
 *   GRAPH  walk the graph with the allowed bitmap (filtered HNSW: disallowed nodes are
 *          expanded but not returned, hnsw.c); if the walk returns fewer than
 *          min(k, allowed) hits — the filter cut the graph apart — the segment is
 *          scored exactly instead (the fallback that keeps recall up).
 *   POST   with a graph, s ≥ 0.5 (estimate from indexes, exact) or s ≥ 0.05 (estimate
 *          from a sample: the bitmap would mean reading every payload): walk unfiltered
 *          for k' = k/s·1.3 + 8 hits and keep the ones the filter accepts (no bitmap,
 *          the filter runs on ~k' payloads); if fewer than k survive, fall back to
 *          GRAPH with the bitmap.
 *
 * The allowed bitmap comes from the indexes when they answer every condition exactly
 * (no payload is read), from the indexes' superset checked with vs__filter_eval, or
 * from evaluating every live row. An index only ever narrows what is read; answers are
 * the same with or without indexes (the differential tests check exactly this).
 */
#ifndef VS_QUERY_PLAN_H
#define VS_QUERY_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "query/filter.h"
#include "storage/segment.h"

enum { VS__PLAN_ALL = 0, VS__PLAN_EXACT, VS__PLAN_GRAPH, VS__PLAN_POST, VS__PLAN_EMPTY };

typedef struct vs__seg_plan {
    int mode;          /* VS__PLAN_* */
    uint64_t *bits;    /* EXACT/GRAPH: allowed rows (tombstones applied); owned */
    size_t allowed;    /* rows in bits */
    size_t live;       /* live rows of the segment */
    double est;        /* estimated matching rows */
    int source;        /* how est was made: 1 sample, 2 indexes (partly), 3 indexes (exact),
                          4 every row evaluated */
    uint64_t evals;    /* filter evaluations spent planning */
    char how[200];     /* one line for profiles and EXPLAIN */
} vs__seg_plan;

/* Plans filter f (not NULL) over segment s for a beam of `beam` and k' = k. has_graph:
 * the segment's field has a graph. explain: decide from estimates only (no bitmap).
 * The mutable segment's live indexes must be locked and synced (engine/pindex.h). */
int vs__plan_segment(const vs__segment *s, const vs__filter *f, vs__filter_ctx *fx,
                     int has_graph, size_t k, size_t beam, int explain, vs__seg_plan *p,
                     vs__err *e);
/* Builds the allowed bitmap of a plan made without one (POST's fallback). */
int vs__plan_bits(const vs__segment *s, const vs__filter *f, vs__filter_ctx *fx,
                  vs__seg_plan *p, vs__err *e);
void vs__plan_release(vs__seg_plan *p);

/* Does row r pass f? 1/0/negative code (payload and id read from the segment). */
int vs__plan_row_matches(const vs__segment *s, size_t r, const vs__filter *f,
                         vs__filter_ctx *fx, vs__err *e);

#endif
