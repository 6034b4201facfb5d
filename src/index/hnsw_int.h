/*
 * hnsw_int.h — the private layout of an HNSW graph (index/hnsw.h), shared by hnsw.c
 * (search), hnsw_build.c (bulk build), hnsw_io.c (save/load/validate), hnsw_simd.c
 * (distance kernels) and the white-box tests.
 *
 * LAYOUT
 *   Node i is row i of the segment; the graph never holds vectors. A node's level is
 *   level[i] (0..VS__HNSW_MAX_LEVEL), or VS__HNSW_ABSENT for a row left out of the graph
 *   (skipped at build time). A node of level L has one link list on each layer
 *   0..L, so "a node on layer l > 0 is also on every layer below" holds by construction.
 *
 *   layer 0   l0: one fixed slot array per row (present or not), stride0 uint32 words,
 *             m0 = 2m of them usable. stride0 is m0 rounded up to 16 words, so every
 *             list starts on a 64-byte line and, for m = 16, is exactly two lines (the
 *             array itself is 64-byte aligned, also in a mapped file). No count word:
 *             a list is its links followed by VS__HNSW_NONE up to the end of the
 *             stride, so a list is read until the first NONE (or m0 links). (A count
 *             would make an m = 16 list 132 bytes, three lines to fetch, or 192 bytes
 *             padded; hnswlib keeps one and 2m + 1 words per node, unaligned.)
 *   layers>0  up: lists of exactly m words (same NONE padding), the node's layer-l list
 *             (1 <= l <= level[i]) at up + (uoff[i] + l - 1) * m. uoff[i] is the number
 *             of upper lists of the rows before i (a prefix sum over the levels), so
 *             the upper lists of all nodes are packed in row order with no gaps.
 *
 *   Memory per row: stride0*4 (128 B for m = 16) + 1 (level) + 4 (uoff), plus m*4 per
 *   upper list (about n/(m-1) lists in all: ~4 B per row for m = 16).
 *
 * INVARIANTS (checked by vs__hnsw_validate)
 *   - every link is a present row < n, never the list's own node, at most once per
 *     list, and its target's level is >= the list's layer;
 *   - a list holds at most m0 (layer 0) or m (above) links, then only NONE;
 *   - entry is a node of the top level (entry == NONE and top == -1 iff nodes == 0);
 *   - every node is reachable from the entry on layer 0 (the build repairs the rare
 *     node that pruning cut off, see hnsw_build.c).
 *
 * THREADS
 *   After the build the graph is immutable and read by any number of searches. During
 *   the build, lists are read without locks while other threads rewrite them (the
 *   words are loaded and stored with relaxed atomics, see vs__hnsw_ld): a reader may see
 *   a mix of an old and a new list, every word of which is a valid node or NONE, which
 *   costs nothing but a slightly different walk.
 *
 * GROWING GRAPHS (hnsw.h: incremental insertion)
 *   cap rows have arrays, a level and their upper lists reserved (levels are drawn per
 *   row from the seed, and rows are inserted in row order, so the layout is the one a
 *   bulk build of the same rows produces); rows [0, n) are inserted and published.
 *   Searches run while rows are inserted: a search reads `pub` (entry and top level,
 *   one word) and then n, both with acquire, and ignores links to rows >= that n (a
 *   neighbour's list may already name a row whose insertion is under way or published
 *   after the search started). The inserter stores n, then pub, with release, after
 *   the rows' own lists are written, so every row a search reaches below its n has
 *   its level, offset and lists in place; entry < n always holds in what a search
 *   reads. Arrays are only replaced (growth) while no search runs (the caller's
 *   exclusive lock).
 */
#ifndef VS_INDEX_HNSW_INT_H
#define VS_INDEX_HNSW_INT_H

#include <stddef.h>
#include <stdint.h>

#include "index/hnsw.h"
#include "os/file.h"
#include "simd/distance.h"

#define VS__HNSW_NONE UINT32_MAX
#define VS__HNSW_ABSENT 0xFF
#define VS__HNSW_MAX_LEVEL 31
/* Search pools keep two flag bits in the id word, so rows are < 2^30. */
#define VS__HNSW_MAX_ROWS ((size_t)1 << 30)
#define VS__HNSW_M_MIN 2
#define VS__HNSW_M_MAX 128
#define VS__HNSW_EF_MAX 65536

struct vs__hnsw {
    size_t n;       /* rows covered (inserted, published): node ids are < n */
    size_t dim;     /* dimension built with (informational: search takes dim) */
    int kind;       /* VS__SCORE_DOT or VS__SCORE_NEGL2 */
    uint32_t m;     /* links per list above layer 0 */
    uint32_t m0;    /* links per list on layer 0 (2m) */
    uint32_t stride0; /* words per layer-0 list (m0 rounded up to 16) */
    uint32_t ef_construction;
    uint64_t seed;
    uint32_t entry; /* NONE when the graph is empty */
    int top;        /* level of entry; -1 when empty */
    size_t nodes;   /* rows in the graph (present among the first cap) */
    size_t nupper;  /* upper lists in up */
    uint8_t *level; /* cap */
    uint32_t *uoff; /* cap */
    uint32_t *l0;   /* n * stride0, 64-byte aligned */
    uint32_t *up;   /* nupper * m */
    vs__map map;    /* loaded graphs: every array above points into this mapping */
    int mapped;
    size_t repaired; /* build diagnostics: nodes the reachability repair linked (not saved) */
    /* growing graphs (GROWING GRAPHS above); a finished graph has cap == n, growing 0 */
    size_t cap;     /* rows with arrays and levels (n <= cap) */
    int growing;    /* searches read n and pub with acquire */
    uint64_t pub;   /* entry | (uint64_t)(top + 1) << 32, published with n */
    struct vs__hnsw_ins *ins; /* insertion state (hnsw_build.c), kept between calls */
};

/* What one search sees of a graph: entry, top level, and the rows it may visit. */
typedef struct vs__hnsw_view {
    uint32_t entry;
    int top;
    size_t lim;
} vs__hnsw_view;

static inline uint64_t vs__hnsw_pack(uint32_t entry, int top) {
    return (uint64_t)entry | (uint64_t)(uint32_t)(top + 1) << 32;
}

static inline void vs__hnsw_view_of(const vs__hnsw *h, vs__hnsw_view *v) {
    if (!h->growing) {
        v->entry = h->entry;
        v->top = h->top;
        v->lim = h->n;
        return;
    }
    uint64_t p = __atomic_load_n(&h->pub, __ATOMIC_ACQUIRE);
    v->lim = __atomic_load_n(&h->n, __ATOMIC_ACQUIRE);
    v->entry = (uint32_t)p;
    v->top = (int)(uint32_t)(p >> 32) - 1;
}

/* Relaxed atomic access to link words (plain movs on x86; see THREADS above). */
static inline uint32_t vs__hnsw_ld(const uint32_t *p) {
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}
static inline void vs__hnsw_st(uint32_t *p, uint32_t v) {
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static inline uint32_t *vs__hnsw_list(const vs__hnsw *h, uint32_t i, int l) {
    if (l == 0) return h->l0 + (size_t)i * h->stride0;
    return h->up + ((size_t)h->uoff[i] + (size_t)l - 1) * h->m;
}
static inline uint32_t vs__hnsw_cap(const vs__hnsw *h, int l) { return l ? h->m : h->m0; }

/* ---------------------------------------------------------------- kernels -- */

/* out[i] = distance(q, base + ids[i]*dim), "lower is nearer": ||q-x||^2 for l2, -q.x
 * for dot (so score = -distance in the engine's convention). */
typedef void (*vs__hnsw_dist_fn)(const float *q, const float *base, size_t dim,
                                 const uint32_t *ids, size_t n, float *out);
typedef struct vs__hnsw_kern {
    const char *name;
    vs__hnsw_dist_fn dist[2]; /* indexed by VS__SCORE_DOT / VS__SCORE_NEGL2 */
} vs__hnsw_kern;

/* The kernels of the same instruction set as `ops` (a vs__dist() table), so VS_SIMD
 * forces both. Never NULL. */
const vs__hnsw_kern *vs__hnsw_kern_for(const vs__dist_ops *ops);

/* ------------------------------------------------------- search internals -- */

/* A pool entry: distance and node, with two flag bits in the node word. */
typedef struct vs__hnsw_cand {
    float d;
    uint32_t id;
} vs__hnsw_cand;
#define VS__HNSW_F_EXP (1u << 31) /* expanded */
#define VS__HNSW_F_OK (1u << 30)  /* may be returned (allowed, not deleted) */
#define VS__HNSW_ID_MASK (VS__HNSW_F_OK - 1)

/* Rows logged for clearing the visited bits after a walk; past this many, the whole
 * bitmap is zeroed instead. */
#define VS__HNSW_VLOG 16384

struct vs__hnsw_scratch {
    uint64_t *vis;     /* visited bitmap, one bit per row; all clear between walks */
    size_t nvis;       /* rows it covers */
    uint32_t *vlog;    /* rows set in vis during this walk (VS__HNSW_VLOG) */
    size_t nvlog;      /* entries in vlog; > VS__HNSW_VLOG: overflowed */
    vs__hnsw_cand *pool;
    size_t npool;      /* capacity of pool */
    uint32_t *ids;     /* batch buffers, VS__HNSW_M_MAX * 2 entries */
    float *ds;
    /* Quantized walks with rescoring: the best `keepcap` allowed rows met (a max-heap on
     * the code distance), whichever of them the beam kept (hnsw.c, RESCORING). */
    vs__hnsw_cand *keep;
    size_t nkeep, keepcap, keepalloc;
};

/* Makes room for a search over n rows with a pool of `pool` entries. VS_ENOMEM on
 * failure (the scratch stays usable). */
int vs__hnsw_scratch_prepare(vs__hnsw_scratch *s, size_t n, size_t pool);

/* One search on layer `layer` (Algorithm 2 of the paper, as a sorted pool; see hnsw.c)
 * from entry `ep` at distance `dep`, beam ef, no filter: the pool holds the result,
 * best first; returns its size. Used by the build: every row < h->cap may be visited.
 * The scratch must have been prepared for h->cap rows and ef entries. Counts into st
 * (may be NULL). */
size_t vs__hnsw_search_layer(const vs__hnsw *h, const float *base, size_t dim,
                             vs__hnsw_dist_fn dist, const float *q, uint32_t ep, float dep,
                             size_t ef, int layer, vs__hnsw_scratch *s,
                             vs__search_stats *st);
/* Greedy descent (Algorithm 2 with ef = 1, as hnswlib's) from layer `from` down to
 * layer `to` + 1; updates *ep and *dep. */
void vs__hnsw_descend(const vs__hnsw *h, const float *base, size_t dim, vs__hnsw_dist_fn dist,
                      const float *q, int from, int to, uint32_t *ep, float *dep,
                      vs__hnsw_scratch *s, vs__search_stats *st);

/* Frees a graph's insertion state (hnsw_build.c). */
void vs__hnsw_ins_free(struct vs__hnsw_ins *ins);

/* Lightweight structure check used on load (bounds only, O(n m)); validate is the full
 * one. */
int vs__hnsw_check_bounds(const vs__hnsw *h, vs__err *e);

#endif
