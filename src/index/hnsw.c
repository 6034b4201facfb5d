/*
 * hnsw.c — searching an HNSW graph, and what the build, the loader and the searches
 * share (scratch, free, sizes). The layout is in hnsw_int.h.
 *
 * SEARCH (Malkov & Yashunin, Algorithm 5 = greedy descent + Algorithm 2 on layer 0)
 *   From the entry point, a greedy walk (ef = 1) on each layer above 0 finds the node
 *   nearest to q that the layer leads to; from there a beam search on layer 0 keeps the
 *   ef best nodes found. Algorithm 2 is written with two heaps (candidates C, results W);
 *   here it is one array P sorted by distance, each entry flagged "expanded" or not:
 *   expand the nearest unexpanded entry, insert the neighbours that beat P's worst,
 *   stop when every entry is expanded. That is the same walk: a candidate that falls
 *   out of W in Algorithm 2 is never expanded there either (when it reaches the top of
 *   C it is worse than W's furthest and the search stops). The array makes the
 *   frontier and the result one structure: an insert is a binary search plus a memmove
 *   of at most ef 8-byte entries, the next candidate is found by a cursor (everything
 *   before it is expanded), and the result is already sorted.
 *
 * DELETES AND FILTERS (hnsw.h: "traverse but don't emit")
 *   With a filter, an entry also carries "allowed" (bit set in `allow`, else clear in
 *   `deleted`). The beam is ef *allowed* entries, as in hnswlib: a neighbour enters P if
 *   fewer than ef allowed entries are held or it beats the ef-th allowed one; P keeps
 *   the disallowed entries in between, which are expanded like any other, so the walk
 *   goes through deleted rows. When the ef-th allowed entry changes, P is cut after it.
 *   P is capped at 16 ef + 256 entries: a filter that passes a tiny fraction of the
 *   rows would otherwise make the walk visit the whole graph to find ef allowed rows
 *   (the caller searches exactly when the filter is that selective, index.h); at the
 *   cap, the worst entry goes, and the walk becomes a plain beam search of that width
 *   that collects whatever allowed rows it meets.
 *
 * VISITED SET
 *   One bit per row in the scratch (125 KB for 1M rows, so it stays in L2, where
 *   hnswlib's 2-byte generation stamps take 2 MB and live in L3), cleared after each
 *   walk from a log of the rows it set (a few thousand words; past VS__HNSW_VLOG rows
 *   the whole bitmap is zeroed instead).
 *
 * PREFETCH AND BATCHING
 *   Expanding a node reads its list, marks the unvisited neighbours, and prefetches
 *   each one's whole vector while the ids are gathered; then one kernel call
 *   (hnsw_simd.c) scores them all, so their cache misses overlap instead of being paid
 *   one distance at a time. The list of the next node to expand (the nearest unexpanded
 *   entry, right of the cursor) is prefetched before the current one is scored. hnswlib
 *   instead scores each neighbour as it meets it, prefetching one line of the next.
 *   A search at 128 dims is bound by memory: a row is 8 cache lines that miss to DRAM
 *   (a 1M x 128 base is 512 MB), so what counts is how many misses are in flight.
 *
 *   Measured (bench/bench_hnsw, 1M x 128 clustered, m = 16, ef_construction = 200,
 *   1000 queries on one thread, QPS best of 3 rounds x 3 passes, variants interleaved,
 *   Zen 5 dev box, 4 KB pages), at ef = 16 / 64 / 192 (recall 0.69 / 0.98 / 0.999):
 *     this file as it is                        38.1k / 15.5k / 8.2k
 *     hnswlib's loop (score each neighbour as
 *       met, one-line prefetch of the next)     22.5k /  9.6k / 5.5k
 *     PF_LINES 1 / 2 / 4 (of 8)                  ~34k / 13.6-14.4k / 7.7-8.1k
 *     PF_NEXT 0                                 32.5k / 13.0k / 6.6k
 *     uint16 generation stamps instead of the
 *       visited bitmap (see VISITED SET)        35.0k / 14.2k / 7.3k
 *   hnswlib 0.6.2 (-O3 -march=native), same box, data and parameters, measured the
 *   same way in another run: 20.5k / 8.4k / 4.5k (its graph: recall 0.70 / 0.97 /
 *   0.9995 at those ef).
 *
 * RESCORING (quantized walks)
 *   The walk compares code distances; the rows rescored with their float rows are not
 *   just the final beam but the best max(beam, rescore_pool) allowed rows met anywhere
 *   on layer 0, kept in a small max-heap beside the pool (keep_push). A narrow beam over
 *   coarse codes drops true neighbours whose codes rank them a little too far; they were
 *   met and scored, so the heap still has them. The walk itself is unchanged (same ef,
 *   same nodes visited); the caller picks rescore_pool (k x a factor per code type,
 *   index/quant.h).
 *
 * STATISTICS
 *   st->distances counts distance computations; st->visited counts nodes expanded
 *   (lists read), on every layer.
 *
 * THREADS
 *   A search only reads the graph; all its mutable state is the caller's scratch.
 */
#include <string.h>

#include "index/hnsw_int.h"
#include "index/quant.h"
#include "util/alloc.h"

/* ------------------------------------------------------------- common -- */

void vs__hnsw_free(vs__hnsw *h) {
    if (!h) return;
    if (h->mapped) {
        vs__unmap(&h->map);
    } else {
        vs__free(h->level);
        vs__free(h->uoff);
        vs__aligned_free(h->l0);
        vs__free(h->up);
    }
    vs__hnsw_ins_free(h->ins);
    vs__free(h);
}

size_t vs__hnsw_memory(const vs__hnsw *h) {
    if (!h) return 0;
    if (h->mapped) return sizeof *h + h->map.len;
    /* cap and nupper only change while no search runs (hnsw_int.h) */
    return sizeof *h + h->cap * (sizeof(uint8_t) + sizeof(uint32_t)) +
           h->cap * h->stride0 * sizeof(uint32_t) + h->nupper * h->m * sizeof(uint32_t);
}

size_t vs__hnsw_nodes(const vs__hnsw *h) { return h ? h->nodes : 0; }
size_t vs__hnsw_rows(const vs__hnsw *h) { return h ? __atomic_load_n(&h->n, __ATOMIC_ACQUIRE) : 0; }
size_t vs__hnsw_reserved(const vs__hnsw *h) { return h ? h->cap : 0; }

vs__hnsw_scratch *vs__hnsw_scratch_new(void) {
    vs__hnsw_scratch *s = vs__calloc(1, sizeof *s);
    if (!s) return NULL;
    s->ids = vs__malloc(2 * VS__HNSW_M_MAX * sizeof *s->ids);
    s->ds = vs__malloc(2 * VS__HNSW_M_MAX * sizeof *s->ds);
    s->vlog = vs__malloc(VS__HNSW_VLOG * sizeof *s->vlog);
    if (!s->ids || !s->ds || !s->vlog) {
        vs__hnsw_scratch_free(s);
        return NULL;
    }
    return s;
}

void vs__hnsw_scratch_free(vs__hnsw_scratch *s) {
    if (!s) return;
    vs__free(s->vis);
    vs__free(s->vlog);
    vs__free(s->pool);
    vs__free(s->ids);
    vs__free(s->ds);
    vs__free(s->keep);
    vs__free(s);
}

int vs__hnsw_scratch_prepare(vs__hnsw_scratch *s, size_t n, size_t pool) {
    if (n > s->nvis) {
        size_t w0 = (s->nvis + 63) / 64, w1 = (n + 63) / 64;
        uint64_t *v = vs__realloc(s->vis, w1 * sizeof *v);
        if (!v) return VS_ENOMEM;
        memset(v + w0, 0, (w1 - w0) * sizeof *v);
        s->vis = v;
        s->nvis = w1 * 64;
    }
    if (pool + 1 > s->npool) {
        /* Contents need not survive: free first so a failure holds nothing extra. */
        vs__free(s->pool);
        s->pool = vs__malloc((pool + 1) * sizeof *s->pool);
        if (!s->pool) {
            s->npool = 0;
            return VS_ENOMEM;
        }
        s->npool = pool + 1;
    }
    return VS_OK;
}

/* Sets v's visited bit; returns whether it was already set. */
static inline __attribute__((always_inline)) int vis_test_set(vs__hnsw_scratch *s, uint32_t v) {
    uint64_t *w = &s->vis[v >> 6], b = 1ull << (v & 63);
    if (*w & b) return 1;
    *w |= b;
    if (s->nvlog < VS__HNSW_VLOG) s->vlog[s->nvlog] = v;
    s->nvlog++;
    return 0;
}

static void vis_clear(vs__hnsw_scratch *s) {
    if (s->nvlog > VS__HNSW_VLOG)
        memset(s->vis, 0, s->nvis / 8);
    else
        for (size_t i = 0; i < s->nvlog; i++) s->vis[s->vlog[i] >> 6] = 0;
    s->nvlog = 0;
}

/* ------------------------------------------------------------- search -- */

#define AI static inline __attribute__((always_inline))

/* PF_LINES: lines of each unvisited neighbour's vector prefetched as its id is
 * gathered (0 = all of them, up to PF_MAX_BYTES: at high dimensions a list's worth of
 * whole rows does not fit in L1, and the rest of a row is streamed by the kernel's
 * sequential loads, which the hardware prefetcher follows). Measured at 768 dims
 * (100k rows, same bench and method as above), QPS at ef = 16 / 64:
 *   PF_MAX_BYTES 512: 21.0k / 12.0k;  1024: 19.3k / 11.6k;  2048: 18.1k / 10.7k;
 *   whole rows: 17.1k / 10.4k.
 * At 128 dims a row is 512 bytes, so the cap changes nothing there. */
#ifndef PF_LINES
#define PF_LINES 0
#endif
#ifndef PF_MAX_BYTES
#define PF_MAX_BYTES 512
#endif
/* PF_NEXT: prefetch the list of the next node to expand. */
#ifndef PF_NEXT
#define PF_NEXT 1
#endif

AI void prefetch_row(const float *r, size_t bytes) {
    const char *p = (const char *)((uintptr_t)r & ~(uintptr_t)63);
    const char *end = (const char *)r + bytes;
    if (PF_LINES && end > p + 64 * PF_LINES) end = p + 64 * PF_LINES;
    if (end > p + PF_MAX_BYTES) end = p + PF_MAX_BYTES;
    for (; p < end; p += 64) __builtin_prefetch(p, 0, 3);
}

AI int bit(const uint64_t *b, uint32_t i) { return (int)((b[i >> 6] >> (i & 63)) & 1); }

/* May row v be returned: its bit set in allow when given, else clear in deleted. */
AI int row_ok(const uint64_t *allow, const uint64_t *deleted, uint32_t v) {
    return allow ? bit(allow, v) : !(deleted && bit(deleted, v));
}

/* Offers (d, v) to the keep heap (a max-heap on d of at most keepcap entries). */
AI void keep_push(vs__hnsw_scratch *s, float d, uint32_t v) {
    vs__hnsw_cand *H = s->keep;
    size_t n = s->nkeep, i;
    if (n < s->keepcap) {
        for (i = n; i > 0 && H[(i - 1) / 2].d < d; i = (i - 1) / 2) H[i] = H[(i - 1) / 2];
        H[i] = (vs__hnsw_cand){d, v};
        s->nkeep = n + 1;
        return;
    }
    if (!(d < H[0].d)) return;
    for (i = 0;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && H[c + 1].d > H[c].d) c++;
        if (!(H[c].d > d)) break;
        H[i] = H[c];
        i = c;
    }
    H[i] = (vs__hnsw_cand){d, v};
}

/* First index in P[0..np) whose distance is greater than d. */
AI size_t upper_bound(const vs__hnsw_cand *P, size_t np, float d) {
    size_t lo = 0;
    while (np > 0) {
        size_t half = np >> 1;
        if (P[lo + half].d <= d) {
            lo += half + 1;
            np -= half + 1;
        } else {
            np = half;
        }
    }
    return lo;
}

AI void insert_at(vs__hnsw_cand *P, size_t np, size_t pos, float d, uint32_t idf) {
    memmove(P + pos + 1, P + pos, (np - pos) * sizeof *P);
    P[pos].d = d;
    P[pos].id = idf;
}

/* What a walk scores: the float rows (dist over base), or, when quant is set at the
 * call site, the codes of a quantizer (qq prepared for the query; distance = -score). */
typedef struct scorer {
    vs__hnsw_dist_fn dist;
    const float *q, *base;
    size_t dim;
    const vs__quant_query *qq;
    const uint8_t *codes;
    const char *pf; /* row v starts at pf + v * prow (prefetched while gathering) */
    size_t prow;
    size_t lim; /* rows >= lim are not visited: a growing graph's view, checked only
                   where the call site sets `grow` (a search of a growing graph). The
                   build's own walks need no check: every link is below cap. */
} scorer;

AI void score(const scorer *sc, int quant, const uint32_t *ids, size_t u, float *ds) {
    if (!quant) {
        sc->dist(sc->q, sc->base, sc->dim, ids, u, ds);
        return;
    }
    vs__quant_score_ids(sc->qq, sc->codes, ids, u, ds);
    for (size_t k = 0; k < u; k++) ds[k] = -ds[k];
}

/* Gathers the unvisited neighbours of c on `layer` into ids (marking them), prefetching
 * their rows. Returns how many. */
AI size_t gather(const vs__hnsw *h, const scorer *sc, int grow, uint32_t c, int layer,
                 vs__hnsw_scratch *s) {
    const uint32_t *L = vs__hnsw_list(h, c, layer);
    const uint32_t cap = vs__hnsw_cap(h, layer);
    uint32_t *ids = s->ids;
    size_t u = 0;
    for (uint32_t j = 0; j < cap; j++) {
        uint32_t v = vs__hnsw_ld(L + j);
        if (v == VS__HNSW_NONE) break;
        if ((grow && v >= sc->lim) || vis_test_set(s, v)) continue;
        ids[u++] = v;
        prefetch_row((const float *)(sc->pf + (size_t)v * sc->prow), sc->prow);
    }
    return u;
}

/* The walk on one layer (see SEARCH and DELETES above). filt is a constant at each
 * call site, so the unfiltered walk carries none of the filter's bookkeeping. Returns
 * the pool size; the pool is s->pool, sorted, best first. */
AI size_t walk(const vs__hnsw *h, const scorer *sc, int quant, int grow, uint32_t ep, float dep,
               size_t ef, size_t pcap, int layer, int filt, const uint64_t *allow,
               const uint64_t *deleted, vs__hnsw_scratch *s, uint64_t *ndist, uint64_t *nexp) {
    vs__hnsw_cand *P = s->pool;
    float *ds = s->ds;
    vis_test_set(s, ep);
    int ok0 = filt ? row_ok(allow, deleted, ep) : 1;
    if (quant && s->keepcap && ok0) keep_push(s, dep, ep);
    P[0].d = dep;
    P[0].id = ep | (ok0 ? VS__HNSW_F_OK : 0);
    size_t np = 1, nok = (size_t)ok0, cur = 0;
    uint64_t nd = 0, ne = 0;
    while (cur < np) {
        uint32_t c = P[cur].id & VS__HNSW_ID_MASK;
        P[cur].id |= VS__HNSW_F_EXP;
        ne++;
#if PF_NEXT
        for (size_t k = cur + 1; k < np; k++)
            if (!(P[k].id & VS__HNSW_F_EXP)) {
                const uint32_t *nl = vs__hnsw_list(h, P[k].id & VS__HNSW_ID_MASK, layer);
                __builtin_prefetch(nl, 0, 3);
                __builtin_prefetch((const char *)nl + 64, 0, 3);
                break;
            }
#endif
        size_t u = gather(h, sc, grow, c, layer, s);
        size_t lo = cur + 1;
        if (u) {
            const uint32_t *ids = s->ids;
            score(sc, quant, ids, u, ds);
            nd += u;
            for (size_t k = 0; k < u; k++) {
                float d = ds[k];
                uint32_t v = ids[k];
                size_t pos;
                if (quant && s->keepcap && (!filt || row_ok(allow, deleted, v))) keep_push(s, d, v);
                if (!filt) {
                    if (np == ef) {
                        if (!(d < P[np - 1].d)) continue;
                        np--;
                    }
                    pos = upper_bound(P, np, d);
                    insert_at(P, np, pos, d, v | VS__HNSW_F_OK);
                    np++;
                } else {
                    if (nok == ef && !(d < P[np - 1].d)) continue;
                    int ok = row_ok(allow, deleted, v);
                    if (np == pcap) {
                        if (!(d < P[np - 1].d)) continue;
                        if (P[np - 1].id & VS__HNSW_F_OK) nok--;
                        np--;
                    }
                    pos = upper_bound(P, np, d);
                    insert_at(P, np, pos, d, v | (ok ? VS__HNSW_F_OK : 0));
                    np++;
                    if (ok) {
                        if (++nok > ef) {
                            /* drop the old ef-th allowed entry and what lies after it */
                            while (!(P[np - 1].id & VS__HNSW_F_OK)) np--;
                            np--;
                            nok--;
                        }
                        if (nok == ef)
                            while (!(P[np - 1].id & VS__HNSW_F_OK)) np--;
                    }
                }
                if (pos < lo) lo = pos;
            }
        }
        cur = lo;
        while (cur < np && (P[cur].id & VS__HNSW_F_EXP)) cur++;
    }
    vis_clear(s);
    *ndist += nd;
    *nexp += ne;
    return np;
}

size_t vs__hnsw_search_layer(const vs__hnsw *h, const float *base, size_t dim,
                             vs__hnsw_dist_fn dist, const float *q, uint32_t ep, float dep,
                             size_t ef, int layer, vs__hnsw_scratch *s,
                             vs__search_stats *st) {
    uint64_t nd = 0, ne = 0;
    const scorer sc = {dist, q, base, dim, NULL, NULL, (const char *)base, dim * sizeof(float),
                       h->cap};
    size_t np = walk(h, &sc, 0, 0, ep, dep, ef, ef, layer, 0, NULL, NULL, s, &nd, &ne);
    if (st) {
        st->distances += nd;
        st->visited += ne;
    }
    return np;
}

AI void descend(const vs__hnsw *h, const scorer *sc, int quant, int grow, int from, int to,
                uint32_t *ep, float *dep, vs__hnsw_scratch *s, vs__search_stats *st) {
    uint32_t cur = *ep;
    float dcur = *dep;
    uint64_t nd = 0, ne = 0;
    for (int l = from; l > to; l--) {
        for (;;) {
            const uint32_t *L = vs__hnsw_list(h, cur, l);
            size_t u = 0;
            for (uint32_t j = 0; j < h->m; j++) {
                uint32_t v = vs__hnsw_ld(L + j);
                if (v == VS__HNSW_NONE) break;
                if (grow && v >= sc->lim) continue;
                s->ids[u++] = v;
                prefetch_row((const float *)(sc->pf + (size_t)v * sc->prow), sc->prow);
            }
            ne++;
            if (!u) break;
            score(sc, quant, s->ids, u, s->ds);
            nd += u;
            uint32_t best = cur;
            for (size_t k = 0; k < u; k++)
                if (s->ds[k] < dcur) {
                    dcur = s->ds[k];
                    best = s->ids[k];
                }
            if (best == cur) break;
            cur = best;
        }
    }
    *ep = cur;
    *dep = dcur;
    if (st) {
        st->distances += nd;
        st->visited += ne;
    }
}

void vs__hnsw_descend(const vs__hnsw *h, const float *base, size_t dim, vs__hnsw_dist_fn dist,
                      const float *q, int from, int to, uint32_t *ep, float *dep,
                      vs__hnsw_scratch *s, vs__search_stats *st) {
    const scorer sc = {dist, q, base, dim, NULL, NULL, (const char *)base, dim * sizeof(float),
                       h->cap};
    descend(h, &sc, 0, 0, from, to, ep, dep, s, st);
}

/* The walk from the view's entry point down to layer 0 and the beam on layer 0 (the
 * scorer's lim is the view's); returns the pool size (s->pool, best first by the
 * scorer's distance). */
AI size_t search_pool(const vs__hnsw *h, const vs__hnsw_view *v, const scorer *sc, int quant,
                      int grow, size_t beam, const uint64_t *allow, const uint64_t *deleted,
                      vs__hnsw_scratch *s, vs__search_stats *st) {
    const int filt = allow || deleted;
    size_t pcap = filt ? 16 * beam + 256 : beam;
    if (pcap > v->lim) pcap = v->lim > beam ? v->lim : beam;
    if (vs__hnsw_scratch_prepare(s, v->lim, pcap)) return SIZE_MAX;
    uint32_t ep = v->entry;
    float dep;
    score(sc, quant, &ep, 1, &dep);
    if (st) st->distances++;
    descend(h, sc, quant, grow, v->top, 0, &ep, &dep, s, st);
    uint64_t nd = 0, ne = 0;
    size_t np = filt ? walk(h, sc, quant, grow, ep, dep, beam, pcap, 0, 1, allow, deleted, s,
                            &nd, &ne)
                     : walk(h, sc, quant, grow, ep, dep, beam, beam, 0, 0, NULL, NULL, s, &nd,
                            &ne);
    if (st) {
        st->distances += nd;
        st->visited += ne;
    }
    return np;
}

/* Pushes the allowed entries of the pool (distances) into t as scores. */
static void push_pool(const vs__hnsw_cand *P, size_t np, uint32_t slot, vs__topk *t) {
    for (size_t i = 0; i < np; i++)
        if (P[i].id & VS__HNSW_F_OK) vs__topk_push(t, -P[i].d, slot, P[i].id & VS__HNSW_ID_MASK);
}

static size_t beam_for(size_t ef, size_t k) {
    size_t beam = ef > k ? ef : k;
    return beam > VS__HNSW_EF_MAX ? VS__HNSW_EF_MAX : beam;
}

/* The view of h for one search; 0 if there is nothing to walk. */
static int view_for(const vs__hnsw *h, vs__hnsw_view *v, size_t *covered) {
    if (!h) {
        if (covered) *covered = 0;
        return 0;
    }
    vs__hnsw_view_of(h, v);
    if (covered) *covered = v->lim;
    return v->entry != VS__HNSW_NONE;
}

int vs__hnsw_search(const vs__hnsw *h, const float *base, size_t dim, int kind,
                    const float *q, size_t ef, const uint64_t *allow, const uint64_t *deleted,
                    uint32_t slot, vs__topk *t, vs__hnsw_scratch *s, vs__search_stats *st,
                    size_t *covered) {
    vs__hnsw_view v;
    if (!view_for(h, &v, covered) || t->k == 0) return VS_OK;
    const scorer sc = {vs__hnsw_kern_for(vs__dist())->dist[kind == VS__SCORE_NEGL2], q, base, dim,
                       NULL, NULL, (const char *)base, dim * sizeof(float), v.lim};
    /* The bound check on link targets is compiled in only for growing graphs. */
    size_t beam = beam_for(ef, t->k);
    size_t np = h->growing ? search_pool(h, &v, &sc, 0, 1, beam, allow, deleted, s, st)
                           : search_pool(h, &v, &sc, 0, 0, beam, allow, deleted, s, st);
    if (np == SIZE_MAX) return VS_ENOMEM;
    push_pool(s->pool, np, slot, t);
    return VS_OK;
}

int vs__hnsw_search_quant(const vs__hnsw *h, const vs__quant_query *qq, const uint8_t *codes,
                          size_t code_size, const float *base, size_t dim, int kind,
                          const float *q, size_t ef, int rescore, size_t rescore_pool,
                          const uint64_t *allow, const uint64_t *deleted, uint32_t slot,
                          vs__topk *t, vs__hnsw_scratch *s, vs__search_stats *st,
                          size_t *covered) {
    vs__hnsw_view v;
    if (!view_for(h, &v, covered) || t->k == 0) return VS_OK;
    vs__hnsw_dist_fn dist = vs__hnsw_kern_for(vs__dist())->dist[kind == VS__SCORE_NEGL2];
    const scorer sc = {dist, q, base, dim, qq, codes, (const char *)codes, code_size, v.lim};
    size_t beam = beam_for(ef, t->k);
    s->nkeep = 0;
    s->keepcap = 0;
    if (rescore) {
        size_t keep = rescore_pool > beam ? rescore_pool : beam;
        if (keep > VS__HNSW_EF_MAX) keep = VS__HNSW_EF_MAX;
        if (keep > s->keepalloc) {
            vs__free(s->keep);
            s->keepalloc = 0;
            if (!(s->keep = vs__malloc(keep * sizeof *s->keep))) return VS_ENOMEM;
            s->keepalloc = keep;
        }
        s->keepcap = keep;
    }
    size_t np = h->growing ? search_pool(h, &v, &sc, 1, 1, beam, allow, deleted, s, st)
                           : search_pool(h, &v, &sc, 1, 0, beam, allow, deleted, s, st);
    if (np == SIZE_MAX) return VS_ENOMEM;
    const vs__hnsw_cand *P = s->pool;
    if (!rescore) {
        push_pool(P, np, slot, t);
        return VS_OK;
    }
    /* Rescoring (RESCORING above): every row of the keep heap is scored again with its
     * float row, in batches the size of the scratch's id buffer (rows prefetched as ids
     * are taken, so their misses overlap as in the walk). */
    const size_t rowb = dim * sizeof(float), cap = 2 * VS__HNSW_M_MAX;
    const vs__hnsw_cand *H = s->keep;
    uint64_t nr = 0;
    for (size_t i = 0; i < s->nkeep;) {
        size_t u = 0;
        for (; i < s->nkeep && u < cap; i++) {
            uint32_t r = H[i].id;
            s->ids[u++] = r;
            prefetch_row(base + (size_t)r * dim, rowb);
        }
        dist(q, base, dim, s->ids, u, s->ds);
        nr += u;
        for (size_t k = 0; k < u; k++) vs__topk_push(t, -s->ds[k], slot, s->ids[k]);
    }
    s->nkeep = 0;
    if (st) {
        st->distances += nr;
        st->rescored += nr;
    }
    return VS_OK;
}
