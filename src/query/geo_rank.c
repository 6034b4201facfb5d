/*
 * geo_rank.c — nearest-first geo ordering and distance decay (geo_rank.h).
 *
 * Nearest (vs_geo_nearest), per segment:
 *   - with a geo index on the key: an expanding search. A cap of radius r around the
 *     origin is covered with S2 cells (geo/geo.h makes the covering); every indexed point
 *     in those cells whose row the filter and tombstones allow gets its geodesic distance
 *     (a haversine lower bound first skips points that cannot beat the current k-th);
 *     once k rows lie within r, no point outside the cap can displace them and the
 *     segment is done; otherwise r grows fourfold (from a first guess sized for k points
 *     at the segment's average density) until it reaches the whole Earth. Each round
 *     costs about the points in its covering, so the total is dominated by the last.
 *   - without one: every allowed row's payload is read and its points measured, into a
 *     bounded heap.
 * The per-segment winners are merged and the best k fetched; the score is the distance
 * in metres. Answers are the same with or without the index (tests compare them).
 *
 * Decay: the formulas are in vecstore.h (vs_decay); search.c fetches the candidates and
 * calls vs__decay_term / vs__decay_combine for each.
 */
#include "query/geo_rank.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/pindex.h"
#include "geo/geo.h"
#include "index/payload_index.h"
#include "query/plan.h"
#include "query/result.h"
#include "util/alloc.h"
#include "util/jtext.h"

#define EARTH_AREA 5.10065621724e14 /* m², WGS84 authalic sphere */
#define NEAR_R_MIN 10.0             /* metres: the first cap is never smaller */

/* ---------------------------------------------------------------- decay ---- */

int vs__decay_prepare(const vs_decay *d, vs__fpath **path, vs__err *e) {
    *path = NULL;
    if (d->func < VS_DECAY_LINEAR || d->func > VS_DECAY_GAUSS)
        return vs__errf(e, VS_EINVAL, "decay: unknown function %d (linear 1, exp 2, gauss 3)", d->func);
    if (!d->key || !*d->key) return vs__errf(e, VS_EINVAL, "decay: key (the payload path of the points) is missing");
    const char *why = vs__geo_check(d->lat, d->lon);
    if (why) return vs__errf(e, VS_EINVAL, "decay: origin (%.17g, %.17g): %s", d->lat, d->lon, why);
    if (!(isfinite(d->scale) && d->scale > 0))
        return vs__errf(e, VS_EINVAL, "decay: scale must be a finite number of metres > 0, got %.17g", d->scale);
    if (!(isfinite(d->offset) && d->offset >= 0))
        return vs__errf(e, VS_EINVAL, "decay: offset must be a finite number of metres >= 0, got %.17g", d->offset);
    if (!(d->decay > 0 && d->decay < 1))
        return vs__errf(e, VS_EINVAL, "decay: decay must be in (0, 1), got %.17g", d->decay);
    if (d->combine != VS_COMBINE_MULTIPLY && d->combine != VS_COMBINE_SUM)
        return vs__errf(e, VS_EINVAL, "decay: unknown combine %d (multiply 0, sum 1)", d->combine);
    if (!isfinite(d->weight) || d->weight < 0)
        return vs__errf(e, VS_EINVAL, "decay: weight must be a finite number >= 0, got %.17g", d->weight);
    if (d->candidates > VS_DECAY_CANDIDATES_MAX)
        return vs__errf(e, VS_ERANGE, "decay: candidates %u exceeds %d", d->candidates, VS_DECAY_CANDIDATES_MAX);
    int rc = vs__fpath_compile(d->key, path, e);
    if (rc) return vs__err_ctx(e, "decay: key");
    return VS_OK;
}

double vs__decay_term(const vs_decay *d, double m) {
    if (m < 0) return 0;
    double x = m > d->offset ? (m - d->offset) / d->scale : 0;
    switch (d->func) {
    case VS_DECAY_LINEAR: {
        double t = 1 - x * (1 - d->decay);
        return t > 0 ? t : 0;
    }
    case VS_DECAY_EXP: return pow(d->decay, x);
    default: return pow(d->decay, x * x);
    }
}

double vs__decay_combine(const vs_decay *d, int metric, double s, double t) {
    if (d->combine == VS_COMBINE_SUM) return metric == VS_METRIC_L2 ? s - d->weight * t : s + d->weight * t;
    if (metric == VS_METRIC_L2 || s < 0) return t > 0 ? s / t : (s == 0 ? 0 : (s > 0 ? HUGE_VAL : -HUGE_VAL));
    return s * t;
}

double vs__decay_t_needed(const vs_decay *dc, int metric, double sc, double tk) {
    double w = dc->weight;
    if (tk == -HUGE_VAL) return 0;
    if (metric == VS_METRIC_L2) {
        double lim = -tk; /* combined distance must be <= lim */
        if (dc->combine == VS_COMBINE_SUM) return w > 0 ? (sc - lim) / w : (sc <= lim ? 0 : 2);
        if (lim <= 0) return sc == 0 && lim == 0 ? 0 : 2;
        return sc / lim;
    }
    if (dc->combine == VS_COMBINE_SUM) return w > 0 ? (tk - sc) / w : (sc >= tk ? 0 : 2);
    if (sc > 0) return tk / sc;
    if (sc == 0) return tk <= 0 ? 0 : 2;
    return tk >= 0 ? 2 : sc / tk;
}

double vs__decay_radius(const vs_decay *d, double t) {
    double x;
    switch (d->func) {
    case VS_DECAY_LINEAR: x = (1 - t) / (1 - d->decay); break;
    case VS_DECAY_EXP: x = log(t) / log(d->decay); break;
    default: x = sqrt(log(t) / log(d->decay)); break;
    }
    return d->offset + x * d->scale;
}

/* ------------------------------------------------------- payload points ---- */

typedef struct pdist {
    double lat, lon, best;
} pdist;

static int on_point(void *arg, const vs__fval *v) {
    pdist *p = arg;
    if (!v->geo) return 0;
    /* the lower bound skips points that cannot be nearer than the best so far */
    if (p->best >= 0 && vs__geo_dist_lo(vs__geo_angle(p->lat, p->lon, v->lat, v->lon)) > p->best) return 0;
    double d = vs__geo_distance(p->lat, p->lon, v->lat, v->lon);
    if (p->best < 0 || d < p->best) p->best = d;
    return 0;
}

/* The points of a payload with the bound of the nearest (a few inline; more are walked
 * again, pruning by the best so far). */
typedef struct pcoll {
    double lat, lon;
    double pts[16][2];
    size_t n;
    double lo;   /* min lower bound over all points */
    double amin; /* the smallest central angle */
} pcoll;

static int on_collect(void *arg, const vs__fval *v) {
    pcoll *p = arg;
    if (!v->geo) return 0;
    double a = vs__geo_angle(p->lat, p->lon, v->lat, v->lon), lo = vs__geo_dist_lo(a);
    if (p->n == 0 || lo < p->lo) p->lo = lo;
    if (p->n == 0 || a < p->amin) p->amin = a;
    if (p->n < 16) {
        p->pts[p->n][0] = v->lat;
        p->pts[p->n][1] = v->lon;
    }
    p->n++;
    return 0;
}

int vs__geo_payload_distance(const vs__fpath *path, vs__filter_ctx *fx, const char *payload,
                             size_t len, double lat, double lon, double *metres, vs__err *e) {
    pcoll c;
    c.lat = lat, c.lon = lon, c.n = 0, c.lo = 0, c.amin = 0;
    int rc = payload ? vs__fpath_values(path, fx, payload, len, on_collect, &c, e) : 0;
    if (rc < 0) return rc;
    if (c.n == 0) {
        *metres = -1;
        return VS_OK;
    }
    if (c.n > 16) { /* many locations: walk them again, pruning by the best so far */
        pdist p = {lat, lon, -1};
        if ((rc = vs__fpath_values(path, fx, payload, len, on_point, &p, e)) < 0) return rc;
        *metres = p.best;
        return VS_OK;
    }
    double best = -1;
    for (size_t i = 0; i < c.n; i++) {
        if (best >= 0 && vs__geo_dist_lo(vs__geo_angle(lat, lon, c.pts[i][0], c.pts[i][1])) > best) continue;
        double d = vs__geo_distance(lat, lon, c.pts[i][0], c.pts[i][1]);
        if (best < 0 || d < best) best = d;
    }
    *metres = best;
    return VS_OK;
}

int vs__geo_payload_bounds(const vs__fpath *path, vs__filter_ctx *fx, const char *payload,
                           size_t len, double lat, double lon, double *lo, double *hi, vs__err *e) {
    pcoll c;
    c.lat = lat, c.lon = lon, c.n = 0, c.lo = 0, c.amin = 0;
    int rc = payload ? vs__fpath_values(path, fx, payload, len, on_collect, &c, e) : 0;
    if (rc < 0) return rc;
    if (c.n == 0) {
        *lo = *hi = -1;
        return VS_OK;
    }
    /* the nearest point is no farther than the upper bound of the smallest angle */
    *lo = c.lo;
    *hi = vs__geo_dist_hi(c.amin);
    return VS_OK;
}

/* ----------------------------------------------------------------- nearest ---- */

typedef struct nhit {
    double d;
    uint32_t slot, row;
} nhit;

/* Bounded max-heap on distance: the k nearest seen so far, worst at the root. */
typedef struct nheap {
    nhit *h;
    size_t n, k;
} nheap;

static void nh_down(nheap *t, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < t->n && t->h[l].d > t->h[m].d) m = l;
        if (r < t->n && t->h[r].d > t->h[m].d) m = r;
        if (m == i) return;
        nhit x = t->h[i];
        t->h[i] = t->h[m];
        t->h[m] = x;
        i = m;
    }
}

static void nh_push(nheap *t, double d, uint32_t slot, uint32_t row) {
    if (t->n == t->k) {
        if (d >= t->h[0].d) return;
        t->h[0] = (nhit){d, slot, row};
        nh_down(t, 0);
        return;
    }
    size_t i = t->n++;
    t->h[i] = (nhit){d, slot, row};
    while (i > 0 && t->h[(i - 1) / 2].d < t->h[i].d) {
        nhit x = t->h[i];
        t->h[i] = t->h[(i - 1) / 2];
        t->h[(i - 1) / 2] = x;
        i = (i - 1) / 2;
    }
}

static double nh_worst(const nheap *t) { return t->n == t->k ? t->h[0].d : HUGE_VAL; }

static int nhit_cmp(const void *a, const void *b) {
    const nhit *x = a, *y = b;
    if (x->d != y->d) return x->d < y->d ? -1 : 1;
    if (x->slot != y->slot) return x->slot < y->slot ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

typedef struct cand {
    double lo; /* lower bound of the distance (haversine) */
    double lat, lon;
    uint32_t row;
} cand;

typedef struct near_ctx {
    const vs_geo_query *q;
    const vs__segment *s;
    uint32_t slot;
    const uint64_t *allowed; /* NULL: every row not deleted */
    double limit;            /* this round: distances above are not wanted */
    cand *c;                 /* this round's candidates */
    size_t nc, capc;
    int oom;
} near_ctx;

static int row_ok(const near_ctx *x, uint32_t row) {
    if (x->allowed) return (int)((x->allowed[row >> 6] >> (row & 63)) & 1);
    return !vs__seg_deleted(x->s, row);
}

static int on_indexed(void *arg, uint32_t row, double lat, double lon) {
    near_ctx *x = arg;
    if (!row_ok(x, row)) return 0;
    double lo = vs__geo_dist_lo(vs__geo_angle(x->q->lat, x->q->lon, lat, lon));
    if (lo > x->limit) return 0;
    if (x->nc == x->capc) {
        size_t nc = x->capc ? x->capc * 2 : 256;
        cand *m = vs__realloc(x->c, nc * sizeof *m);
        if (!m) {
            x->oom = 1;
            return 1;
        }
        x->c = m;
        x->capc = nc;
    }
    x->c[x->nc++] = (cand){lo, lat, lon, row};
    return 0;
}

static int cand_lo_cmp(const void *a, const void *b) {
    const cand *x = a, *y = b;
    if (x->lo != y->lo) return x->lo < y->lo ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

static int nhit_row_cmp(const void *a, const void *b) {
    const nhit *x = a, *y = b;
    if (x->row != y->row) return x->row < y->row ? -1 : 1;
    return (x->d > y->d) - (x->d < y->d);
}

const vs__pidx *vs__geo_index_of(const vs__segment *s, const char *path) {
    for (uint32_t i = 0; i < s->npidx; i++) {
        const vs__pidx *x = s->pidx[i];
        if (vs__pidx_type(x) == VS_PINDEX_GEO && !strcmp(vs__pidx_path(x), path) &&
            vs__pidx_rows(x) == s->rows)
            return x;
    }
    return NULL;
}

/* One round's candidates into t (emptied first): the rows within x->limit. With one
 * point per row, candidates go in order of their lower bound and the geodesic stops
 * once no later one can beat the k-th; with several, every candidate is measured and
 * each row keeps its nearest point. */
static int near_round(near_ctx *x, int multi, nheap *t) {
    t->n = 0;
    if (x->nc) qsort(x->c, x->nc, sizeof *x->c, cand_lo_cmp);
    if (!multi) {
        for (size_t i = 0; i < x->nc; i++) {
            if (x->c[i].lo > nh_worst(t)) break;
            double d = vs__geo_distance(x->q->lat, x->q->lon, x->c[i].lat, x->c[i].lon);
            if (d <= x->limit) nh_push(t, d, x->slot, x->c[i].row);
        }
        return VS_OK;
    }
    nhit *h = vs__malloc((x->nc ? x->nc : 1) * sizeof *h);
    if (!h) return VS_ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < x->nc; i++) {
        double d = vs__geo_distance(x->q->lat, x->q->lon, x->c[i].lat, x->c[i].lon);
        if (d <= x->limit) h[n++] = (nhit){d, x->slot, x->c[i].row};
    }
    qsort(h, n, sizeof *h, nhit_row_cmp);
    for (size_t i = 0; i < n; i++)
        if (i == 0 || h[i].row != h[i - 1].row) nh_push(t, h[i].d, h[i].slot, h[i].row);
    vs__free(h);
    return VS_OK;
}

static int near_indexed(near_ctx *x, const vs__pidx *ix, nheap *t, vs__err *e) {
    size_t entries = vs__pidx_entries(ix);
    if (!entries) return VS_OK;
    int rc = VS_OK;
    /* a first cap sized to hold about 2k points at the average density */
    double r = sqrt((double)t->k * 2.0 / (double)entries * EARTH_AREA / M_PI);
    if (r < NEAR_R_MIN) r = NEAR_R_MIN;
    double limit = x->q->max_distance >= 0 ? x->q->max_distance : HUGE_VAL;
    for (;;) {
        double rr = r < limit ? r : limit;
        int last = rr >= VS__GEO_RADIUS_MAX || rr >= limit;
        if (rr > VS__GEO_RADIUS_MAX) rr = VS__GEO_RADIUS_MAX;
        vs__geo_region *cap;
        if ((rc = vs__geo_cap_new(x->q->lat, x->q->lon, rr, &cap, e))) break;
        /* the last round without a limit takes every point (the cap is the Earth) */
        x->limit = last && limit == HUGE_VAL ? HUGE_VAL : rr;
        x->nc = 0;
        vs__pidx_geo_scan(ix, vs__geo_region_covering(cap), on_indexed, x);
        vs__geo_region_free(cap);
        if (x->oom || near_round(x, vs__pidx_multi(ix), t)) {
            rc = vs__errf(e, VS_ENOMEM, "out of memory for a nearest search");
            break;
        }
        if (t->n == t->k || last) break;
        r *= 4;
    }
    vs__free(x->c);
    x->c = NULL;
    x->nc = x->capc = 0;
    return rc;
}

static int near_scan(near_ctx *x, const vs__fpath *path, vs__filter_ctx *fx, nheap *t, vs__err *e) {
    double limit = x->q->max_distance >= 0 ? x->q->max_distance : HUGE_VAL;
    for (size_t r = 0; r < x->s->rows; r++) {
        if (!row_ok(x, (uint32_t)r)) continue;
        size_t len;
        const char *pl = vs__seg_payload(x->s, r, &len);
        pdist p = {x->q->lat, x->q->lon, -1};
        /* anything no nearer than the heap's worst cannot enter it */
        double w = nh_worst(t);
        if (w < HUGE_VAL) p.best = w;
        int rc = pl ? vs__fpath_values(path, fx, pl, len, on_point, &p, e) : 0;
        if (rc < 0) return rc;
        if (p.best < 0 || p.best > limit || (w < HUGE_VAL && p.best >= w)) continue;
        nh_push(t, p.best, x->slot, (uint32_t)r);
    }
    return VS_OK;
}

int vs__geo_nearest(vs__coll *c, const vs_geo_query *q, vs_result **out, vs__err *e) {
    *out = NULL;
    if (!q) return vs__errf(e, VS_EINVAL, "query is NULL");
    if (!q->key || !*q->key) return vs__errf(e, VS_EINVAL, "key (the payload path of the points) is missing");
    const char *why = vs__geo_check(q->lat, q->lon);
    if (why) return vs__errf(e, VS_EINVAL, "origin (%.17g, %.17g): %s", q->lat, q->lon, why);
    if (q->k == 0 || q->k > VS_K_MAX) return vs__errf(e, VS_ERANGE, "k = %u is out of range 1..%d", q->k, VS_K_MAX);
    if (isnan(q->max_distance)) return vs__errf(e, VS_EINVAL, "max_distance is NaN");
    if (q->with & ~(VS_WITH_PAYLOAD | VS_WITH_VECTOR)) return vs__errf(e, VS_EINVAL, "unknown with bits 0x%x", q->with);
    vs__fpath *path = NULL;
    vs__filter *f = NULL;
    int rc = vs__fpath_compile(q->key, &path, e);
    if (rc) return vs__err_ctx(e, "key");
    if (q->filter && (rc = vs__filter_parse_any(q->filter, strlen(q->filter), &f, e))) {
        vs__fpath_free(path);
        return rc;
    }
    vs__filter_ctx fx;
    vs__filter_ctx_init(&fx);
    vs_result *res = NULL;
    nhit *all = NULL;
    size_t nall = 0;
    vs__segment **segs = NULL;
    pthread_rwlock_rdlock(&c->lock);
    size_t nseg = c->nsegs + 1;
    segs = vs__malloc(nseg * sizeof *segs);
    all = vs__malloc(nseg * q->k * sizeof *all);
    if (!segs || !all) {
        rc = vs__errf(e, VS_ENOMEM, "out of memory for a nearest search");
        goto unlock;
    }
    for (size_t i = 0; i < c->nsegs; i++) segs[i] = c->segs[i];
    segs[c->nsegs] = c->mut;
    for (size_t si = 0; si < nseg && !rc; si++) {
        vs__segment *s = segs[si];
        if (s->rows == s->ndeleted) continue;
        vs__seg_plan pl;
        memset(&pl, 0, sizeof pl);
        if (s->is_mutable) vs__pindex_lock_live(s);
        if (f && (rc = vs__plan_bits(s, f, &fx, &pl, e))) {
            if (s->is_mutable) vs__pindex_unlock_live(s);
            break;
        }
        near_ctx x = {q, s, (uint32_t)si, f ? pl.bits : NULL, HUGE_VAL, NULL, 0, 0, 0};
        nheap t = {all + nall, 0, q->k};
        const vs__pidx *ix = vs__geo_index_of(s, vs__fpath_text(path));
        if (!f || pl.allowed) rc = ix ? near_indexed(&x, ix, &t, e) : near_scan(&x, path, &fx, &t, e);
        if (s->is_mutable) vs__pindex_unlock_live(s);
        vs__plan_release(&pl);
        nall += t.n;
    }
    if (rc) goto unlock;
    qsort(all, nall, sizeof *all, nhit_cmp);
    if (nall > q->k) nall = q->k;
    uint32_t dims[VS_FIELDS_MAX];
    for (uint32_t fi = 0; fi < c->schema.nfields; fi++) dims[fi] = c->schema.fields[fi].dim;
    if (vs__result_new(c->schema.nfields, dims, &res) || vs__result_group(res)) {
        rc = vs__errf(e, VS_ENOMEM, "out of memory for the result");
        goto unlock;
    }
    for (size_t i = 0; i < nall && !rc; i++) {
        const vs__segment *s = segs[all[i].slot];
        size_t row = all[i].row, plen = 0;
        const char *p = (q->with & VS_WITH_PAYLOAD) ? vs__seg_payload(s, row, &plen) : NULL;
        const float *vecs[VS_FIELDS_MAX];
        if (q->with & VS_WITH_VECTOR)
            for (uint32_t fi = 0; fi < s->nfields; fi++) vecs[fi] = vs__seg_vec(s, fi, row);
        if (vs__result_add(res, &s->ids[row], (float)all[i].d, p, plen,
                           (q->with & VS_WITH_VECTOR) ? vecs : NULL))
            rc = vs__errf(e, VS_ENOMEM, "out of memory for the result");
    }
unlock:
    pthread_rwlock_unlock(&c->lock);
    vs__free(segs);
    vs__free(all);
    vs__filter_free(f);
    vs__filter_ctx_release(&fx);
    vs__fpath_free(path);
    if (rc) {
        vs_result_free(res);
        return rc;
    }
    *out = res;
    return VS_OK;
}
