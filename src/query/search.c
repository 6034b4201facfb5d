/*
 * search.c — query stages over the segments of a collection (see search.h).
 */
#include "query/search.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "geo/geo.h"
#include "index/hnsw.h"
#include "index/index.h"
#include "index/payload_index.h"
#include "engine/pindex.h"
#include "query/filter.h"
#include "query/geo_rank.h"
#include "query/plan.h"
#include "query/profile.h"
#include "query/result.h"
#include "query/topk.h"
#include "simd/distance.h"
#include "util/alloc.h"

void vs__topk_sort(vs__topk *t) {
    /* Heap-sort: repeatedly move the worst to the end → best-first order. */
    size_t n = t->n;
    while (t->n > 1) {
        vs__hit tmp = t->h[0];
        t->h[0] = t->h[t->n - 1];
        t->h[t->n - 1] = tmp;
        t->n--;
        vs__topk_sift_down(t, 0);
    }
    t->n = n;
}

static int is_finite_vec(const float *v, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i])) return 0;
    return 1;
}

/* ---- stages 2-4: plan, candidates, scoring (per segment) ---------------- */

/* Locks (and catches up) the mutable segment's payload indexes while a plan reads them. */
static void plan_lock(vs__segment *s) {
    if (s->is_mutable) vs__pindex_lock_live(s);
}
static void plan_unlock(vs__segment *s) {
    if (s->is_mutable) vs__pindex_unlock_live(s);
}

/* vs__plan_bits with the segment's live indexes locked for it. */
static int plan_bits_locked(vs__segment *s, const vs__filter *f, vs__filter_ctx *fx,
                            vs__seg_plan *p, vs__err *e) {
    plan_lock(s);
    int rc = vs__plan_bits(s, f, fx, p, e);
    plan_unlock(s);
    return rc;
}

/* Moves the hits of a per-segment heap into the query's heap. */
static void topk_merge(vs__topk *dst, const vs__topk *src) {
    for (size_t i = 0; i < src->n; i++) vs__topk_push(dst, src->h[i].score, src->h[i].slot, src->h[i].row);
}

typedef struct seg_job {
    vs__segment *s;
    uint32_t slot, fi;
    int kind;
    size_t K;
    const vs__filter *flt;
    vs__filter_ctx *fx;
    vs__search_ctx *cx;
    vs__seg_plan *plan;
    vs__hit *buf; /* scratch heap storage, room for bufcap hits */
    size_t bufcap;
    vs__prof *prof;
    uint32_t pnode;
    uint64_t fallbacks;
} seg_job;

/* GRAPH for one query into t: the filtered walk, and the exact scan when the walk came
 * back short (the filter cut the graph apart around the query). */
static int graph_one(seg_job *j, const float *q, vs__topk *t, vs__err *e) {
    vs__topk tt = {j->buf, 0, j->K, -INFINITY};
    int rc = vs__index_hnsw.search(j->s, j->slot, j->fi, j->kind, q, j->plan->bits, &tt, j->cx, e);
    if (rc) return rc;
    size_t want = j->K < j->plan->allowed ? j->K : j->plan->allowed;
    if (tt.n < want) {
        tt.n = 0;
        tt.floor = -INFINITY;
        j->fallbacks++;
        vs__flat_scan(j->s, j->slot, j->fi, j->kind, q, j->plan->bits, 0, j->s->rows, &tt, j->cx);
    }
    topk_merge(t, &tt);
    return VS_OK;
}

/* POST for one query: an unfiltered walk for k' hits, filtered afterwards; GRAPH with the
 * bitmap when fewer than k pass. */
static int post_one(seg_job *j, const float *q, vs__topk *t, vs__err *e) {
    double sel = j->plan->live ? j->plan->est / (double)j->plan->live : 1.0;
    size_t kk = (size_t)ceil((double)j->K / (sel > 0.01 ? sel : 0.01) * 1.3) + 8;
    if (kk > j->plan->live) kk = j->plan->live;
    if (kk > j->bufcap) kk = j->bufcap;
    if (kk < j->K) kk = j->K;
    vs__topk tt = {j->buf, 0, kk, -INFINITY};
    uint32_t ef0 = j->cx->ef;
    if (j->cx->ef < kk) j->cx->ef = kk > VS_HNSW_EF_MAX ? VS_HNSW_EF_MAX : (uint32_t)kk;
    int rc = vs__index_hnsw.search(j->s, j->slot, j->fi, j->kind, q, NULL, &tt, j->cx, e);
    j->cx->ef = ef0;
    if (rc) return rc;
    size_t pass = 0;
    uint64_t ev0 = j->fx->evals;
    for (size_t i = 0; i < tt.n; i++) {
        int m = vs__plan_row_matches(j->s, tt.h[i].row, j->flt, j->fx, e);
        if (m < 0) return m;
        if (m) tt.h[pass++] = tt.h[i];
    }
    vs__prof_add(j->prof, j->pnode, VS__PC_FILTER_EVALS, j->fx->evals - ev0);
    if (pass >= j->K || pass == j->plan->live) {
        tt.n = pass;
        topk_merge(t, &tt);
        return VS_OK;
    }
    j->fallbacks++;
    if (!j->plan->bits) {
        rc = plan_bits_locked(j->s, j->flt, j->fx, j->plan, e);
        if (rc) return rc;
    }
    return graph_one(j, q, t, e);
}

/* ---- stage 5: fetch --------------------------------------------------------- */

static int fetch_row(vs_result *res, const vs__segment *s, size_t row, float score, int with) {
    size_t plen = 0;
    const char *pl = (with & VS_WITH_PAYLOAD) ? vs__seg_payload(s, row, &plen) : NULL;
    const float *vecs[VS_FIELDS_MAX];
    if (with & VS_WITH_VECTOR)
        for (uint32_t f = 0; f < s->nfields; f++) vecs[f] = vs__seg_vec(s, f, row);
    return vs__result_add(res, &s->ids[row], score, pl, plen,
                          (with & VS_WITH_VECTOR) ? vecs : NULL);
}

/* Segment list for one read: sealed segments then the mutable one. */
static size_t seg_list(vs__coll *c, vs__segment **list) {
    size_t n = 0;
    for (size_t i = 0; i < c->nsegs; i++) list[n++] = c->segs[i];
    list[n++] = c->mut;
    return n;
}

static int result_for(vs__coll *c, vs_result **out, vs__err *e) {
    uint32_t dims[VS_FIELDS_MAX];
    for (uint32_t f = 0; f < c->schema.nfields; f++) dims[f] = c->schema.fields[f].dim;
    if (vs__result_new(c->schema.nfields, dims, out))
        return vs__errf(e, VS_ENOMEM, "out of memory for the result");
    return VS_OK;
}

static int parse_filter(const char *json, vs__filter **f, vs__err *e) {
    *f = NULL;
    if (!json) return VS_OK;
    return vs__filter_parse_any(json, strlen(json), f, e);
}

/* ---- decay (vs_decay): hybrid geo + vector ranking -------------------------
 *
 * Stage A rescores the vector search's `candidates` hits: each gets its distance decay
 * term t and the combined score. That alone misses points whose vector score ranks
 * below the window but which lie so close to the origin that t lifts them into the
 * top k — exactly the points a "similar and near me" query is for. Stage B finds them
 * with a bound (Fagin's threshold algorithm): every point outside the window has a
 * vector score no better than the window's worst, s_C, so it can only beat the k-th best
 * combined score θ if its term is at least t_min, where combine(s_C, t_min) = θ; terms
 * fall with distance, so such points lie within d* = t⁻¹(t_min) of the origin. Stage B
 * takes the rows within d* (a geo_radius filter, answered by a geo index without payload
 * reads) that pass the query's filter, scores their vectors exactly, and visits them
 * best vector score first, measuring distances only while combine(s, 1) can still beat
 * θ. With an exact window the answer is the exact combined top k; stage B is skipped
 * when the window already held every allowed row, or when no term can lift an outside
 * point (t_min > 1). When t_min <= 0 (even t = 0 could win), stage B reads every allowed
 * row. */

typedef struct dhit {
    double key;    /* higher is better; until exact, a lower bound (from key_hi's sphere) */
    double key_hi; /* an upper bound on the exact key */
    double score;  /* the combined score, once exact */
    double sc;     /* the vector score */
    vs__hit h;
    int exact;
} dhit;

static int dhit_cmp(const void *a, const void *b) {
    const dhit *x = a, *y = b;
    if (x->key != y->key) return x->key > y->key ? -1 : 1;
    if (x->h.slot != y->h.slot) return x->h.slot < y->h.slot ? -1 : 1;
    return (x->h.row > y->h.row) - (x->h.row < y->h.row);
}

typedef struct decay_job {
    const vs_query *q;
    int metric, kind;
    uint32_t fi;
    vs__segment **segs;
    size_t nseg;
    const vs__filter *flt; /* the query's filter, or NULL */
    const vs__fpath *path;
    vs__filter_ctx *fx;
    vs__search_ctx *cx;
    dhit *d;               /* the combined candidates */
    size_t n, cap;
    double *top;           /* min-heap of the best kk keys so far: top[0] is θ's key */
    size_t ntop, kk;
} decay_job;

/* Keeps the kk best keys (higher is better) seen; θ's key is their minimum. */
static void top_offer(decay_job *j, double key) {
    double *h = j->top;
    size_t i;
    if (j->ntop < j->kk) {
        i = j->ntop++;
        h[i] = key;
        while (i > 0 && h[(i - 1) / 2] > h[i]) {
            double x = h[i];
            h[i] = h[(i - 1) / 2];
            h[(i - 1) / 2] = x;
            i = (i - 1) / 2;
        }
        return;
    }
    if (key <= h[0]) return;
    h[0] = key;
    for (i = 0;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < j->ntop && h[l] < h[m]) m = l;
        if (r < j->ntop && h[r] < h[m]) m = r;
        if (m == i) break;
        double x = h[i];
        h[i] = h[m];
        h[m] = x;
        i = m;
    }
}

static double theta_key(const decay_job *j) { return j->ntop == j->kk ? j->top[0] : -HUGE_VAL; }

static double vec_score(int kind, float raw) {
    return kind == VS__SCORE_NEGL2 ? sqrt(raw < 0 ? -raw : 0) : raw;
}

static double dkey(const decay_job *j, double sc, double m) {
    double cs = vs__decay_combine(j->q->decay, j->metric, sc, vs__decay_term(j->q->decay, m));
    return j->metric == VS_METRIC_L2 ? -cs : cs;
}

/* The combined candidate of a hit (its vector score already natural). The distance is
 * first only bounded from the sphere (an angle, ~70 ns): a hit whose best possible key
 * cannot reach θ is dropped (θ only rises), the others enter with their worst possible
 * key, and the geodesic (~1 µs) is paid at the end by those that can still make the
 * top k (decay_exact) — a handful instead of every candidate. */
static int decay_add(decay_job *j, vs__hit h, double sc, vs__err *e) {
    const vs_decay *dc = j->q->decay;
    if (vs__decay_t_needed(dc, j->metric, sc, theta_key(j)) > 1) return VS_OK;
    size_t len;
    const char *pl = vs__seg_payload(j->segs[h.slot], h.row, &len);
    double lo, hi;
    int rc = vs__geo_payload_bounds(j->path, j->fx, pl, len, dc->lat, dc->lon, &lo, &hi, e);
    if (rc) return rc;
    double klo = dkey(j, sc, hi), khi = dkey(j, sc, lo); /* no point: both at t = 0 */
    if (khi < theta_key(j)) return VS_OK;
    if (j->n == j->cap) {
        size_t nc = j->cap ? j->cap * 2 : 64;
        dhit *x = vs__realloc(j->d, nc * sizeof *x);
        if (!x) return vs__errf(e, VS_ENOMEM, "out of memory rescoring with a decay");
        j->d = x;
        j->cap = nc;
    }
    j->d[j->n++] = (dhit){klo, khi, 0, sc, h, lo < 0 || klo == khi};
    if (lo < 0 || klo == khi) j->d[j->n - 1].score = j->metric == VS_METRIC_L2 ? -klo : klo;
    top_offer(j, klo);
    return VS_OK;
}

/* The geodesic for every candidate that can still reach θ; the rest keep their bounds
 * (they rank below the k best whatever their exact key). */
static int decay_exact(decay_job *j, vs__err *e) {
    const vs_decay *dc = j->q->decay;
    double th = theta_key(j);
    for (size_t i = 0; i < j->n; i++) {
        dhit *d = &j->d[i];
        if (d->exact || d->key_hi < th) continue;
        size_t len;
        const char *pl = vs__seg_payload(j->segs[d->h.slot], d->h.row, &len);
        double m;
        int rc = vs__geo_payload_distance(j->path, j->fx, pl, len, dc->lat, dc->lon, &m, e);
        if (rc) return rc;
        d->key = d->key_hi = dkey(j, d->sc, m);
        d->score = j->metric == VS_METRIC_L2 ? -d->key : d->key;
        d->exact = 1;
    }
    return VS_OK;
}

/* A geo_radius filter on the decay's key: r metres around its origin. */
static int ring_filter(const vs_decay *dc, double r, vs__filter **out, vs__err *e) {
    cJSON *k = cJSON_CreateString(dc->key);
    char *ks = k ? cJSON_PrintUnformatted(k) : NULL;
    cJSON_Delete(k);
    char *txt = ks ? vs__malloc(strlen(ks) + 200) : NULL;
    if (!txt) {
        cJSON_free(ks);
        return vs__errf(e, VS_ENOMEM, "out of memory rescoring with a decay");
    }
    sprintf(txt, "{\"must\":[{\"key\":%s,\"geo_radius\":{\"center\":{\"lat\":%.17g,\"lon\":%.17g},\"radius\":%.17g}}]}",
            ks, dc->lat, dc->lon, r);
    cJSON_free(ks);
    int rc = vs__filter_parse(txt, strlen(txt), out, e);
    vs__free(txt);
    return rc;
}

/* Stage B over one segment's rows in bits (NULL: every live row): best vector scores
 * first, each new row measured and combined, until combine(s, 1) cannot reach θ. */
static int ring_segment(decay_job *j, size_t si, const float *qv, const uint64_t *bits, size_t allowed,
                        double t_cap, uint64_t *seen, vs__err *e) {
    const vs_decay *dc = j->q->decay;
    vs__segment *s = j->segs[si];
    int rc = VS_OK;
    for (size_t k2 = 64; !rc && allowed;) {
        if (k2 > allowed) k2 = allowed;
        vs__hit *buf = vs__malloc(k2 * sizeof *buf);
        if (!buf) return vs__errf(e, VS_ENOMEM, "out of memory rescoring with a decay");
        vs__topk tt = {buf, 0, k2, -INFINITY};
        rc = vs__index_flat.search(s, (uint32_t)si, j->fi, j->kind, qv, bits, &tt, j->cx, e);
        vs__topk_sort(&tt);
        int stopped = 0;
        for (size_t i = 0; i < tt.n && !rc; i++) {
            /* θ only rises as near points come in, so the walk stops sooner */
            double sc = vec_score(j->kind, tt.h[i].score);
            double best = vs__decay_combine(dc, j->metric, sc, t_cap);
            if ((j->metric == VS_METRIC_L2 ? -best : best) < theta_key(j)) {
                stopped = 1;
                break;
            }
            uint32_t r = tt.h[i].row;
            if ((seen[r >> 6] >> (r & 63)) & 1) continue;
            seen[r >> 6] |= 1ull << (r & 63);
            rc = decay_add(j, tt.h[i], sc, e);
        }
        vs__free(buf);
        if (rc || stopped || k2 == allowed) break;
        k2 *= 4; /* rows already added are skipped */
    }
    return rc;
}

/* How far from the origin a point with the window's worst vector score sc_c can still
 * reach θ (HUGE_VAL: anywhere; 0: nowhere). */
static double need_radius(const decay_job *j, double sc_c) {
    double tn = vs__decay_t_needed(j->q->decay, j->metric, sc_c, theta_key(j));
    if (tn > 1) return 0;
    if (tn <= 0) return HUGE_VAL;
    return vs__decay_radius(j->q->decay, tn) * (1 + 1e-12) + 1e-6;
}

/* Stage B: rings of growing radius around the origin until no point outside the ring
 * can beat θ. sc_c: the window's worst vector score (natural units). */
/* A ring's rows straight from a geo index: every indexed point in the covering of the
 * ring's cap (a superset of the rows within r, which is all the bound needs), allowed by
 * the query's filter and tombstones and not yet seen, marked in rb and listed for the
 * clean-up. */
typedef struct ring_scan {
    const vs__segment *s;
    const uint64_t *ub, *seen;
    uint64_t *rb;
    uint32_t *list;
    size_t n, cap;
    int oom;
} ring_scan;

static int on_ring_point(void *arg, uint32_t row, double lat, double lon) {
    ring_scan *x = arg;
    (void)lat, (void)lon;
    uint64_t bit = 1ull << (row & 63);
    if ((x->rb[row >> 6] & bit) || (x->seen[row >> 6] & bit)) return 0;
    if (x->ub ? !(x->ub[row >> 6] & bit) : vs__seg_deleted(x->s, row)) return 0;
    if (x->n == x->cap) {
        size_t nc = x->cap ? x->cap * 2 : 256;
        uint32_t *l = vs__realloc(x->list, nc * sizeof *l);
        if (!l) {
            x->oom = 1;
            return 1;
        }
        x->list = l;
        x->cap = nc;
    }
    x->list[x->n++] = row;
    x->rb[row >> 6] |= bit;
    return 0;
}

static int decay_stage_b(decay_job *j, const float *qv, double sc_c, vs__err *e) {
    const vs_decay *dc = j->q->decay;
    int rc = VS_OK;
    /* even at t = 1 nothing outside the window reaches θ: the window decided */
    double top = vs__decay_combine(dc, j->metric, sc_c, 1.0);
    if ((j->metric == VS_METRIC_L2 ? -top : top) <= theta_key(j)) return VS_OK;
    uint64_t **seen = vs__calloc(j->nseg, sizeof *seen), **ub = vs__calloc(j->nseg, sizeof *ub);
    uint64_t **rb = vs__calloc(j->nseg, sizeof *rb);
    size_t *un = vs__calloc(j->nseg, sizeof *un);
    ring_scan sc;
    memset(&sc, 0, sizeof sc);
    if (!seen || !ub || !un || !rb) rc = vs__errf(e, VS_ENOMEM, "out of memory rescoring with a decay");
    /* per segment: the rows already among the candidates, the query filter's rows */
    for (size_t si = 0; si < j->nseg && !rc; si++) {
        vs__segment *s = j->segs[si];
        if (!(seen[si] = vs__calloc((s->rows + 63) / 64 + 1, 8))) {
            rc = vs__errf(e, VS_ENOMEM, "out of memory rescoring with a decay");
            break;
        }
        un[si] = s->rows - s->ndeleted;
        if (j->flt) {
            vs__seg_plan pa;
            memset(&pa, 0, sizeof pa);
            rc = plan_bits_locked(s, j->flt, j->fx, &pa, e);
            ub[si] = pa.bits;
            un[si] = pa.allowed;
        }
    }
    for (size_t a = 0; a < j->n && !rc; a++) seen[j->d[a].h.slot][j->d[a].h.row >> 6] |= 1ull << (j->d[a].h.row & 63);
    /* unseen rows of a ring lie beyond the previous ring (term <= t_cap), or inside it
     * and already ruled out by its walk */
    double t_cap = 1;
    /* The first ring: the radius θ already demands (every point farther than it has a
     * term too small for the window's worst score to reach θ) when that is closer than
     * offset + scale; later rings go to the radius the risen θ demands (at most 8× the
     * last), after which the bound stops the walk. */
    double r = dc->offset + dc->scale, dn = need_radius(j, sc_c);
    if (dn < r) r = dn > 1 ? dn : 1;
    for (; !rc;) {
        int all = r >= VS__GEO_RADIUS_MAX;
        vs__filter *geo = NULL;
        vs__geo_region *cap = NULL;
        for (size_t si = 0; si < j->nseg && !rc; si++) {
            vs__segment *s = j->segs[si];
            if (s->rows == s->ndeleted || !un[si]) continue;
            vs__seg_plan pb;
            memset(&pb, 0, sizeof pb);
            const uint64_t *bits = ub[si];
            size_t allowed = un[si];
            plan_lock(s);
            const vs__pidx *gx = all ? NULL : vs__geo_index_of(s, vs__fpath_text(j->path));
            if (gx) { /* the index gives the ring's rows: no filter, no payload */
                /* 8 cells: a ring's extra points cost a bitmap bit, cells cost relate calls */
                if (!cap && (rc = vs__geo_cap_new_cells(dc->lat, dc->lon, r, 8, &cap, e))) {
                    plan_unlock(s);
                    break;
                }
                if (!rb[si] && !(rb[si] = vs__calloc((s->rows + 63) / 64 + 1, 8))) {
                    plan_unlock(s);
                    rc = vs__errf(e, VS_ENOMEM, "out of memory rescoring with a decay");
                    break;
                }
                sc.s = s, sc.ub = ub[si], sc.seen = seen[si], sc.rb = rb[si], sc.n = 0;
                vs__pidx_geo_scan(gx, vs__geo_region_covering(cap), on_ring_point, &sc);
                plan_unlock(s);
                if (sc.oom) {
                    rc = vs__errf(e, VS_ENOMEM, "out of memory rescoring with a decay");
                    break;
                }
                if (sc.n) rc = ring_segment(j, si, qv, rb[si], sc.n, t_cap, seen[si], e);
                for (size_t i = 0; i < sc.n; i++) rb[si][sc.list[i] >> 6] = 0;
                continue;
            }
            plan_unlock(s);
            if (!all && !geo && (rc = ring_filter(dc, r, &geo, e))) break;
            if (geo) {
                rc = plan_bits_locked(s, geo, j->fx, &pb, e);
                if (!rc && ub[si]) {
                    allowed = 0;
                    for (size_t w = 0; w < (s->rows + 63) / 64; w++) {
                        pb.bits[w] &= ub[si][w];
                        allowed += (size_t)__builtin_popcountll(pb.bits[w]);
                    }
                } else if (!rc) {
                    allowed = pb.allowed;
                }
                bits = pb.bits;
            }
            if (!rc) rc = ring_segment(j, si, qv, bits, allowed, t_cap, seen[si], e);
            vs__plan_release(&pb);
        }
        vs__filter_free(geo);
        vs__geo_region_free(cap);
        if (all || rc) break;
        /* outside the ring: vector score <= sc_c, term <= t(r); a tie cannot displace */
        double bound = vs__decay_combine(dc, j->metric, sc_c, vs__decay_term(dc, r));
        if ((j->metric == VS_METRIC_L2 ? -bound : bound) <= theta_key(j)) break;
        t_cap = vs__decay_term(dc, r);
        dn = need_radius(j, sc_c);
        r = dn > r ? fmin(dn, 8 * r) : 1.5 * r;
    }
    for (size_t si = 0; seen && si < j->nseg; si++) vs__free(seen[si]);
    for (size_t si = 0; ub && si < j->nseg; si++) vs__free(ub[si]);
    for (size_t si = 0; rb && si < j->nseg; si++) vs__free(rb[si]);
    vs__free(seen);
    vs__free(ub);
    vs__free(rb);
    vs__free(un);
    vs__free(sc.list);
    return rc;
}

/* Replaces the query's sorted hits by the combined candidates of stages A and B, best
 * first (scores are the combined ones: l2 a distance, ascending; else descending).
 * *out (owned) holds *nout entries. */
static int decay_rank(decay_job *j, vs__topk *t, size_t window, const float *qv, dhit **out,
                      size_t *nout, vs__err *e) {
    int rc = VS_OK;
    size_t kk = (size_t)j->q->k + j->q->offset;
    j->n = 0;
    j->ntop = 0;
    j->kk = kk;
    if (!j->top && !(j->top = vs__malloc(kk * sizeof *j->top)))
        return vs__errf(e, VS_ENOMEM, "out of memory rescoring with a decay");
    for (size_t i = 0; i < t->n && !rc; i++) rc = decay_add(j, t->h[i], vec_score(j->kind, t->h[i].score), e);
    if (rc) return rc;
    if (t->n >= window) /* the window did not hold every allowed row: stage B */
        if ((rc = decay_stage_b(j, qv, vec_score(j->kind, t->h[t->n - 1].score), e))) return rc;
    if ((rc = decay_exact(j, e))) return rc;
    if (j->n) qsort(j->d, j->n, sizeof *j->d, dhit_cmp);
    *out = j->d;
    *nout = j->n;
    return VS_OK;
}

int vs__query(vs__coll *c, const vs_query *q, vs_result **out, vs__err *e) {
    *out = NULL;
    /* ---- stage 1: prepare ---- */
    if (!q || !q->vectors) return vs__errf(e, VS_EINVAL, "query has no vectors");
    int fi = vs__schema_field(&c->schema, q->field);
    if (fi < 0)
        return vs__errf(e, VS_ENOTFOUND, "collection '%s' has no vector field '%s'", c->name,
                        q->field && *q->field ? q->field : "(default)");
    const vs_field_info *fld = &c->schema.fields[fi];
    if (q->dim != fld->dim)
        return vs__errf(e, VS_EDIM, "expected %u dimensions, got %u", fld->dim, q->dim);
    if (q->nq == 0 || q->nq > VS_BATCH_MAX)
        return vs__errf(e, VS_ERANGE, "number of queries %zu is out of range 1..%d", q->nq, VS_BATCH_MAX);
    if (q->k == 0 || q->k > VS_K_MAX)
        return vs__errf(e, VS_ERANGE, "k = %u is out of range 1..%d", q->k, VS_K_MAX);
    if (q->offset > VS_K_MAX)
        return vs__errf(e, VS_ERANGE, "offset %u exceeds %d", q->offset, VS_K_MAX);
    if (q->ef > VS_HNSW_EF_MAX)
        return vs__errf(e, VS_ERANGE, "ef %u is out of range %d..%d", q->ef, VS_HNSW_EF_MIN,
                        VS_HNSW_EF_MAX);
    if (q->flags & ~(VS_QUERY_EXACT | VS_QUERY_NO_RESCORE | VS_QUERY_IGNORE_QUANT | VS_QUERY_PROFILE |
                     VS_QUERY_EXPLAIN))
        return vs__errf(e, VS_EINVAL, "unknown query flags 0x%x", q->flags);
    if (q->oversampling != 0 && !(q->oversampling >= VS_OVERSAMPLING_MIN &&
                                  q->oversampling <= VS_OVERSAMPLING_MAX))
        return vs__errf(e, VS_ERANGE, "oversampling %g is out of range %g..%g (0 = default)",
                        (double)q->oversampling, (double)VS_OVERSAMPLING_MIN,
                        (double)VS_OVERSAMPLING_MAX);
    if (q->has_threshold && !isfinite(q->score_threshold))
        return vs__errf(e, VS_EVALUE, "score threshold is not a finite number");
    size_t dim = fld->dim, nq = q->nq;
    for (size_t i = 0; i < nq; i++)
        if (!is_finite_vec(q->vectors + i * dim, dim))
            return vs__errf(e, VS_EVALUE, "query %zu holds NaN or infinity", i);
    int kind = fld->metric == VS_METRIC_L2 ? VS__SCORE_NEGL2 : VS__SCORE_DOT;
    const vs__dist_ops *d = vs__dist();
    /* The profile (off: NULL, and every vs__prof_* call below returns at once). */
    vs__prof *prof = NULL;
    if ((q->flags & (VS_QUERY_PROFILE | VS_QUERY_EXPLAIN)) && !(prof = vs__prof_new()))
        return vs__errf(e, VS_ENOMEM, "out of memory for the query profile");
    vs__filter *flt = NULL;
    uint32_t ps = vs__prof_enter(prof, "parse filter", NULL);
    int rc = parse_filter(q->filter, &flt, e);
    vs__prof_exit(prof, ps);
    if (rc) {
        vs__prof_free(prof);
        return rc;
    }
    vs__filter_ctx fx;
    vs__filter_ctx_init(&fx);
    size_t K = (size_t)q->k + q->offset;
    /* a decay rescores the `candidates` nearest vectors (geo_rank.h) */
    vs__fpath *dpath = NULL;
    decay_job dj;
    memset(&dj, 0, sizeof dj);
    if (q->decay) {
        if ((rc = vs__decay_prepare(q->decay, &dpath, e))) {
            vs__filter_free(flt);
            vs__prof_free(prof);
            return rc;
        }
        size_t kc = q->decay->candidates ? q->decay->candidates : (5 * K > 50 ? 5 * K : 50);
        if (kc > K) K = kc;
    }
    float *qs = NULL;
    vs__topk *tops = NULL;
    vs__hit *heap = NULL;
    vs__hit *sbuf = NULL;
    size_t sbufcap = 0;
    const int explain = (q->flags & VS_QUERY_EXPLAIN) != 0;
    vs__segment **segs = NULL;
    size_t nseg = 0;
    vs_result *res = NULL;
    vs__search_ctx cx;
    vs__search_ctx_init(&cx, q->ef ? q->ef : VS_HNSW_EF_DEFAULT);
    cx.quant = (q->flags & VS_QUERY_IGNORE_QUANT) ? VS__QUANT_IGNORE
               : (q->flags & VS_QUERY_NO_RESCORE) ? VS__QUANT_NO_RESCORE
                                                  : VS__QUANT_USE;
    cx.oversampling = q->oversampling;
    ps = vs__prof_enter(prof, "prepare", NULL);
    qs = vs__aligned_alloc(64, nq * dim * sizeof(float));
    tops = vs__calloc(nq, sizeof *tops);
    if (!qs || !tops) goto oom;
    memcpy(qs, q->vectors, nq * dim * sizeof(float));
    if (fld->metric == VS_METRIC_COSINE) {
        for (size_t i = 0; i < nq; i++) {
            float *v = qs + i * dim;
            float n2 = d->norm_sq(v, NULL, dim);
            if (n2 > 0) {
                float inv = 1.0f / sqrtf(n2);
                for (size_t j = 0; j < dim; j++) v[j] *= inv;
            }
        }
    }
    /* The heap storage is one block: nq × min(K, live rows). */
    pthread_rwlock_rdlock(&c->lock);
    size_t live = c->map.count;
    size_t cap = K < live ? K : live;
    if (cap == 0) cap = 1;
    heap = vs__malloc(nq * cap * sizeof *heap);
    segs = vs__malloc((c->nsegs + 1) * sizeof *segs);
    /* a segment's own heap: GRAPH needs K, POST k/s·1.3 + 8 with s >= 0.05 (plan.h) */
    sbufcap = 27 * K + 16;
    if (sbufcap > live + K + 16) sbufcap = live + K + 16;
    sbuf = flt ? vs__malloc(sbufcap * sizeof *sbuf) : NULL;
    if (!heap || !segs || (flt && !sbuf)) {
        pthread_rwlock_unlock(&c->lock);
        goto oom;
    }
    for (size_t i = 0; i < nq; i++) {
        tops[i].h = heap + i * cap;
        tops[i].k = cap;
        tops[i].n = 0;
        tops[i].floor = -INFINITY;
    }
    nseg = seg_list(c, segs);
    vs__prof_exit(prof, ps);
    for (size_t si = 0; si < nseg && !rc; si++) {
        vs__segment *s = segs[si];
        if (s->rows == 0 || s->rows == s->ndeleted) continue;
        uint32_t psg = 0, pst;
        if (prof) {
            char lab[48];
            snprintf(lab, sizeof lab, "%zu%s (%zu rows)", si, si + 1 == nseg ? " mutable" : "",
                     s->rows - s->ndeleted);
            psg = vs__prof_enter(prof, "segment", lab);
        }
        /* ---- stage 2: the plan (and the allowed rows) ---- */
        const int exact = (q->flags & VS_QUERY_EXACT) != 0;
        const int has_graph = !exact && s->idx[fi].p && s->idx[fi].kind == VS_INDEX_HNSW;
        vs__seg_plan plan;
        memset(&plan, 0, sizeof plan);
        if (flt) {
            pst = vs__prof_enter(prof, "plan", NULL);
            uint64_t ev0 = fx.evals;
            plan_lock(s);
            rc = vs__plan_segment(s, flt, &fx, has_graph, K, cx.ef, explain, &plan, e);
            plan_unlock(s);
            vs__prof_label(prof, pst, plan.how);
            vs__prof_add(prof, pst, VS__PC_FILTER_EVALS, fx.evals - ev0);
            vs__prof_add(prof, pst, VS__PC_CANDIDATES, plan.bits ? plan.allowed : (uint64_t)plan.est);
            vs__prof_exit(prof, pst);
            if (rc) {
                vs__plan_release(&plan);
                vs__prof_exit(prof, psg);
                break;
            }
        }
        if (explain || plan.mode == VS__PLAN_EMPTY) {
            vs__plan_release(&plan);
            vs__prof_exit(prof, psg);
            continue;
        }
        /* ---- stages 3+4: the segment's index scores into the top-k heaps ---- */
        const vs__index_ops *ix = !flt ? vs__index_for(s, (uint32_t)fi, exact, SIZE_MAX)
                                  : plan.mode == VS__PLAN_EXACT ? &vs__index_flat
                                                                : &vs__index_hnsw;
        static const char *const stage[] = {NULL, "flat", "hnsw filtered", "hnsw then filter"};
        pst = vs__prof_enter(prof, flt ? stage[plan.mode] : ix->name, NULL);
        vs__search_stats st0 = cx.st;
        seg_job job = {s, (uint32_t)si, (uint32_t)fi, kind, K, flt, &fx, &cx, &plan, sbuf, sbufcap,
                       prof, pst, 0};
        if (flt && plan.mode == VS__PLAN_GRAPH) {
            for (size_t i = 0; i < nq && !rc; i++) rc = graph_one(&job, qs + i * dim, &tops[i], e);
        } else if (flt && plan.mode == VS__PLAN_POST) {
            for (size_t i = 0; i < nq && !rc; i++) rc = post_one(&job, qs + i * dim, &tops[i], e);
        } else if (ix == &vs__index_flat && nq >= VS_GEMM_MIN_QUERIES) {
            rc = ix->search_batch(s, (uint32_t)si, (uint32_t)fi, kind, qs, nq, plan.bits, tops, &cx, e);
        } else {
            for (size_t i = 0; i < nq && !rc; i++)
                rc = ix->search(s, (uint32_t)si, (uint32_t)fi, kind, qs + i * dim, plan.bits,
                                &tops[i], &cx, e);
        }
        if (job.fallbacks) {
            char lab[64];
            snprintf(lab, sizeof lab, "%" PRIu64 " of %zu queries fell back", job.fallbacks, nq);
            vs__prof_label(prof, pst, lab);
        }
        vs__plan_release(&plan);
        vs__prof_add(prof, pst, VS__PC_DISTANCES, cx.st.distances - st0.distances);
        vs__prof_add(prof, pst, VS__PC_VISITED, cx.st.visited - st0.visited);
        vs__prof_add(prof, pst, VS__PC_RESCORED, cx.st.rescored - st0.rescored);
        vs__prof_exit(prof, pst);
        vs__prof_exit(prof, psg);
    }
    /* ---- stage 5 ---- */
    ps = vs__prof_enter(prof, "merge and fetch", NULL);
    dj = (decay_job){q, fld->metric, kind, (uint32_t)fi, segs, nseg, flt, dpath, &fx, &cx, NULL, 0, 0, NULL, 0, 0};
    if (!rc && (rc = result_for(c, &res, e)) == VS_OK) {
        for (size_t i = 0; i < nq && !rc; i++) {
            vs__topk *t = &tops[i];
            vs__topk_sort(t);
            if (vs__result_group(res)) {
                rc = vs__errf(e, VS_ENOMEM, "out of memory for the result");
                break;
            }
            size_t want = (size_t)q->k + q->offset, nh = t->n;
            dhit *dh = NULL;
            if (dpath) {
                dj.n = 0;
                if ((rc = decay_rank(&dj, t, K, qs + i * dim, &dh, &nh, e))) break;
            }
            for (size_t j = q->offset; j < nh && j < want; j++) {
                float sc = dh ? (float)dh[j].score : t->h[j].score;
                const vs__hit *hj = dh ? &dh[j].h : &t->h[j];
                if (kind == VS__SCORE_NEGL2 && !dh) sc = sqrtf(sc < 0 ? -sc : 0);
                if (q->has_threshold &&
                    (kind == VS__SCORE_NEGL2 ? sc > q->score_threshold : sc < q->score_threshold))
                    break;
                if (fetch_row(res, segs[hj->slot], hj->row, sc, q->with)) {
                    rc = vs__errf(e, VS_ENOMEM, "out of memory for the result");
                    break;
                }
            }
        }
    }
    pthread_rwlock_unlock(&c->lock);
    vs__prof_exit(prof, ps);
    goto done;
oom:
    rc = vs__errf(e, VS_ENOMEM, "out of memory for a query of %zu vectors, k=%u", nq, q->k);
done:
    vs__free(sbuf);
    vs__free(segs);
    vs__free(heap);
    vs__free(tops);
    vs__aligned_free(qs);
    vs__filter_free(flt);
    vs__fpath_free(dpath);
    vs__free(dj.d);
    vs__free(dj.top);
    vs__filter_ctx_release(&fx);
    vs__search_ctx_release(&cx);
    if (rc) {
        vs__prof_free(prof);
        vs_result_free(res);
        return rc;
    }
    if (prof) {
        for (size_t g = 0; g < vs_result_groups(res); g++)
            vs__prof_add(prof, 0, VS__PC_CANDIDATES, vs_result_rows(res, g));
        vs__prof_finish(prof);
        vs__result_set_profile(res, prof);
    }
    *out = res;
    return VS_OK;
}

int vs__get(vs__coll *c, const vs_id *ids, size_t n, int with, vs_result **out, vs__err *e) {
    *out = NULL;
    if (n && !ids) return vs__errf(e, VS_EINVAL, "ids is NULL");
    if (n > VS_BATCH_MAX) return vs__errf(e, VS_ERANGE, "%zu ids exceed the batch limit %d", n, VS_BATCH_MAX);
    for (size_t i = 0; i < n; i++) {
        int rc = vs__id_check(&ids[i], e);
        if (rc) return vs__err_ctx(e, "id %zu", i);
    }
    vs_result *res;
    int rc = result_for(c, &res, e);
    if (rc) return rc;
    if (vs__result_group(res)) {
        vs_result_free(res);
        return vs__errf(e, VS_ENOMEM, "out of memory");
    }
    pthread_rwlock_rdlock(&c->lock);
    for (size_t i = 0; i < n && !rc; i++) {
        vs__idloc loc;
        if (!vs__idmap_get(&c->map, &ids[i], vs__id_hash(&ids[i]), &loc)) continue;
        if (fetch_row(res, vs__coll_seg(c, loc.seg), loc.row, 0.0f, with))
            rc = vs__errf(e, VS_ENOMEM, "out of memory");
    }
    pthread_rwlock_unlock(&c->lock);
    if (rc) {
        vs_result_free(res);
        return rc;
    }
    *out = res;
    return VS_OK;
}

int vs__count(vs__coll *c, const char *filter, uint64_t *count, vs__err *e) {
    vs__filter *f;
    int rc = parse_filter(filter, &f, e);
    if (rc) return rc;
    vs__filter_ctx fx;
    vs__filter_ctx_init(&fx);
    pthread_rwlock_rdlock(&c->lock);
    if (!f) {
        *count = c->map.count;
    } else {
        vs__segment **segs = vs__malloc((c->nsegs + 1) * sizeof *segs);
        size_t n = segs ? seg_list(c, segs) : 0;
        if (!segs) rc = vs__errf(e, VS_ENOMEM, "out of memory counting");
        uint64_t total = 0;
        for (size_t i = 0; i < n && !rc; i++) {
            vs__seg_plan pl;
            memset(&pl, 0, sizeof pl);
            rc = plan_bits_locked(segs[i], f, &fx, &pl, e);
            if (rc) break;
            total += pl.allowed;
            vs__plan_release(&pl);
        }
        *count = total;
        vs__free(segs);
    }
    pthread_rwlock_unlock(&c->lock);
    vs__filter_free(f);
    vs__filter_ctx_release(&fx);
    return rc;
}

/* ---- scroll --------------------------------------------------------------- */

typedef struct sref {
    const vs__rowid *id;
    uint32_t slot, row;
} sref;

/* Id order: numbers ascending, then strings in byte order (shorter prefix first). */
static int id_cmp(const vs__rowid *a, const vs__rowid *b) {
    if (a->kind != b->kind) return a->kind < b->kind ? -1 : 1;
    if (a->kind == VS_ID_NUM) return a->num < b->num ? -1 : a->num > b->num;
    uint32_t m = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->str, b->str, m);
    if (c) return c;
    return a->len < b->len ? -1 : a->len > b->len;
}

static int sref_cmp(const void *x, const void *y) {
    return id_cmp(((const sref *)x)->id, ((const sref *)y)->id);
}

static void sref_sift_down(sref *h, size_t n, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && id_cmp(h[l].id, h[m].id) > 0) m = l;
        if (r < n && id_cmp(h[r].id, h[m].id) > 0) m = r;
        if (m == i) return;
        sref t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

/* One candidate of next_ids into the bounded max-heap h. */
static void heap_offer(sref *h, size_t *n, size_t cap, const vs__rowid *id, uint32_t si, uint32_t r) {
    if (*n < cap) {
        h[(*n)++] = (sref){id, si, r};
        for (size_t i = *n - 1; i > 0;) { /* sift up */
            size_t p = (i - 1) / 2;
            if (id_cmp(h[i].id, h[p].id) <= 0) break;
            sref t = h[i];
            h[i] = h[p];
            h[p] = t;
            i = p;
        }
    } else if (id_cmp(id, h[0].id) < 0) {
        h[0] = (sref){id, si, r};
        sref_sift_down(h, *n, 0);
    }
}

/* The up-to-cap smallest live ids after `lo` (inclusive if incl; lo NULL = from the
 * start), ascending. A bounded max-heap: O(n log cap) per call and no allocation beyond
 * the page, instead of sorting every id for every page. bits: NULL, or per segment the
 * rows to consider (a filter's answer, tombstones applied): then only their set bits are
 * visited, so a selective filter costs its matches, not the segment. */
static size_t next_ids(vs__segment **segs, size_t nseg, uint64_t *const *bits,
                       const vs__rowid *lo, int incl, sref *h, size_t cap) {
    size_t n = 0;
    for (size_t si = 0; si < nseg; si++) {
        const vs__segment *s = segs[si];
        if (bits) {
            size_t nw = (s->rows + 63) / 64;
            for (size_t w = 0; w < nw; w++)
                for (uint64_t m = bits[si][w]; m; m &= m - 1) {
                    size_t r = w * 64 + (size_t)__builtin_ctzll(m);
                    const vs__rowid *id = &s->ids[r];
                    if (lo) {
                        int c = id_cmp(id, lo);
                        if (c < 0 || (c == 0 && !incl)) continue;
                    }
                    heap_offer(h, &n, cap, id, (uint32_t)si, (uint32_t)r);
                }
            continue;
        }
        for (size_t r = 0; r < s->rows; r++) {
            if (vs__seg_deleted(s, r)) continue;
            const vs__rowid *id = &s->ids[r];
            if (lo) {
                int c = id_cmp(id, lo);
                if (c < 0 || (c == 0 && !incl)) continue;
            }
            heap_offer(h, &n, cap, id, (uint32_t)si, (uint32_t)r);
        }
    }
    qsort(h, n, sizeof *h, sref_cmp);
    return n;
}

int vs__scroll(vs__coll *c, const vs_id *offset, uint32_t limit, const char *filter, int with,
               vs_result **out, vs__err *e) {
    *out = NULL;
    if (limit == 0 || limit > VS_K_MAX)
        return vs__errf(e, VS_ERANGE, "limit %u is out of range 1..%d", limit, VS_K_MAX);
    if (offset && vs__id_check(offset, e)) return vs__err_ctx(e, "offset");
    vs__filter *f;
    int rc = parse_filter(filter, &f, e);
    if (rc) return rc;
    vs__filter_ctx fx;
    vs__filter_ctx_init(&fx);
    vs_result *res = NULL;
    sref *h = NULL;
    vs__segment **segs = NULL;
    /* One round of limit+1 ids decides the page (the extra one is the next offset). With
     * a filter, each segment's matching rows come first as a bitmap (its payload indexes
     * answer without reading payloads where they can, query/plan.h), and only those rows
     * are candidates. */
    size_t cap = (size_t)limit + 1, nbits = 0;
    uint64_t **bits = NULL;
    if ((rc = result_for(c, &res, e))) goto done_nolock;
    if (vs__result_group(res)) goto oom_nolock;
    pthread_rwlock_rdlock(&c->lock);
    segs = vs__malloc((c->nsegs + 1) * sizeof *segs);
    h = vs__malloc(cap * sizeof *h);
    if (!h || !segs) {
        rc = vs__errf(e, VS_ENOMEM, "out of memory scrolling");
        goto done;
    }
    size_t nseg = seg_list(c, segs);
    if (f) {
        if (!(bits = vs__calloc(nseg, sizeof *bits))) {
            rc = vs__errf(e, VS_ENOMEM, "out of memory scrolling");
            goto done;
        }
        nbits = nseg;
        for (size_t i = 0; i < nseg && !rc; i++) {
            vs__seg_plan pl;
            memset(&pl, 0, sizeof pl);
            rc = plan_bits_locked(segs[i], f, &fx, &pl, e);
            bits[i] = pl.bits; /* taken over */
        }
        if (rc) goto done;
    }
    vs__rowid cursor, off;
    const vs__rowid *lo = NULL;
    int incl = 1;
    if (offset) {
        off = (vs__rowid){offset->num, offset->str, offset->len, (uint8_t)offset->kind};
        lo = &off;
    }
    uint32_t got = 0;
    for (int more = 1; more && !rc;) {
        size_t k = next_ids(segs, nseg, bits, lo, incl, h, cap);
        more = k == cap;
        for (size_t i = 0; i < k; i++) {
            const vs__segment *s = segs[h[i].slot];
            if (got == limit) {
                if (vs__result_set_next(res, h[i].id)) rc = vs__errf(e, VS_ENOMEM, "out of memory");
                more = 0;
                break;
            }
            if (fetch_row(res, s, h[i].row, 0.0f, with)) {
                rc = vs__errf(e, VS_ENOMEM, "out of memory scrolling");
                break;
            }
            got++;
        }
        if (more && k) {
            cursor = *h[k - 1].id;
            lo = &cursor;
            incl = 0;
        }
    }
done:
    pthread_rwlock_unlock(&c->lock);
done_nolock:
    for (size_t i = 0; i < nbits; i++) vs__free(bits[i]);
    vs__free(bits);
    vs__free(h);
    vs__free(segs);
    vs__filter_free(f);
    vs__filter_ctx_release(&fx);
    if (rc) {
        vs_result_free(res);
        return rc;
    }
    *out = res;
    return VS_OK;
oom_nolock:
    rc = vs__errf(e, VS_ENOMEM, "out of memory");
    goto done_nolock;
}
