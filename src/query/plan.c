/*
 * plan.c — per-segment filter plans (plan.h).
 */
#include "query/plan.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index/payload_index.h"
#include "util/alloc.h"
#include "vecstore.h"

#define SAMPLE_ROWS 256
#define GRAPH_COST_PER_BEAM 40.0 /* distances of an unfiltered walk per beam entry */
/* POST from this selectivity: with an exact bitmap from the indexes costing little, only
 * when most rows match; when the bitmap means reading payloads, much earlier (a walk for
 * k/s·1.3 hits reads ~k/s payloads instead of all of them). */
#define POST_MIN_SEL 0.5
#define POST_MIN_SEL_UNINDEXED 0.05

int vs__plan_row_matches(const vs__segment *s, size_t r, const vs__filter *f,
                         vs__filter_ctx *fx, vs__err *e) {
    size_t len = 0;
    const char *txt = vs__filter_needs_payload(f) ? vs__seg_payload(s, r, &len) : NULL;
    vs_id id = {s->ids[r].kind, s->ids[r].num, s->ids[r].str, s->ids[r].len};
    return vs__filter_eval(f, fx, txt, len, &id, e);
}

/* ---- the segment's payload indexes as a row source (filter.h, vs__frows) ---- */

typedef struct src_ctx {
    const vs__segment *s;
    char used[120]; /* "keyword 'a', integer 'b'" */
    size_t ulen;
} src_ctx;

static void note_used(src_ctx *c, const vs__pidx *x) {
    char one[80];
    int n = snprintf(one, sizeof one, "%s '%.40s'", vs__pindex_type_name(vs__pidx_type(x)),
                     vs__pidx_path(x));
    if (n <= 0 || strstr(c->used, one)) return;
    int w = snprintf(c->used + c->ulen, sizeof c->used - c->ulen, "%s%s", c->ulen ? ", " : "", one);
    if (w > 0) c->ulen += (size_t)w;
    if (c->ulen >= sizeof c->used) c->ulen = sizeof c->used - 1;
}

/* An index that covers every row of the segment (a live one that could not catch up
 * does not). */
static const vs__pidx *usable(const vs__segment *s, uint32_t i) {
    const vs__pidx *x = s->pidx[i];
    return vs__pidx_rows(x) == s->rows ? x : NULL;
}

static double src_estimate(void *ctx, const vs__fleaf *lf, int *exact) {
    src_ctx *c = ctx;
    double best = -1;
    int best_ex = 0;
    for (uint32_t i = 0; i < c->s->npidx; i++) {
        const vs__pidx *x = usable(c->s, i);
        int ex;
        double r = x ? vs__pidx_estimate(x, lf, &ex) : -1;
        if (r < 0) continue;
        if (best < 0 || (ex && !best_ex) || (ex == best_ex && r < best)) best = r, best_ex = ex;
        note_used(c, x);
    }
    *exact = best_ex;
    return best;
}

static int src_rows(void *ctx, const vs__fleaf *lf, uint64_t *bits, int *exact, vs__err *e) {
    src_ctx *c = ctx;
    int rc = 1;
    /* exact answers first */
    for (int want_exact = 1; want_exact >= 0 && rc == 1; want_exact--)
        for (uint32_t i = 0; i < c->s->npidx && rc == 1; i++) {
            const vs__pidx *x = usable(c->s, i);
            if (!x || vs__pidx_answers(x, lf) != want_exact) continue;
            rc = vs__pidx_rows_of(x, lf, bits, exact);
            if (rc == VS_OK) note_used(c, x);
        }
    if (rc < 0) return vs__errf(e, rc, "out of memory reading a payload index");
    return rc;
}

static void src_init(src_ctx *c, vs__frows *src, const vs__segment *s) {
    memset(c, 0, sizeof *c);
    c->s = s;
    *src = (vs__frows){s->rows, c, src_estimate, src_rows};
}

/* ---- estimates ---- */

static double sample(const vs__segment *s, const vs__filter *f, vs__filter_ctx *fx,
                     uint64_t *evals, vs__err *e, int *rc) {
    size_t live = s->rows - s->ndeleted, step = s->rows / SAMPLE_ROWS, seen = 0, hit = 0;
    if (step == 0) step = 1;
    *rc = VS_OK;
    for (size_t r = step / 2; r < s->rows && seen < SAMPLE_ROWS; r += step) {
        if (vs__seg_deleted(s, r)) continue;
        int m = vs__plan_row_matches(s, r, f, fx, e);
        (*evals)++;
        if (m < 0) {
            *rc = m;
            return 0;
        }
        seen++;
        hit += (size_t)m;
    }
    if (!seen) return 0;
    return (double)hit / (double)seen * (double)live;
}

/* ---- bitmaps ---- */

int vs__plan_bits(const vs__segment *s, const vs__filter *f, vs__filter_ctx *fx,
                  vs__seg_plan *p, vs__err *e) {
    src_ctx c;
    vs__frows src;
    src_init(&c, &src, s);
    uint64_t *b;
    int exact, rc = vs__filter_rows(f, &src, &b, &exact, e);
    if (rc) return rc;
    size_t nw = (s->rows + 63) / 64;
    uint64_t ev0 = fx->evals;
    if (b) {
        if (s->ndeleted) /* a pass over the bitmap saved when nothing is deleted */
            for (size_t w = 0; w < nw; w++) b[w] &= ~s->del[w];
        if (s->rows & 63) b[nw - 1] &= (1ull << (s->rows & 63)) - 1;
        b[nw] = 0;
        for (size_t w = 0; w < nw && !exact; w++)
            for (uint64_t m = b[w]; m; m &= m - 1) {
                size_t r = w * 64 + (size_t)__builtin_ctzll(m);
                int ok = vs__plan_row_matches(s, r, f, fx, e);
                if (ok < 0) {
                    vs__free(b);
                    return ok;
                }
                if (!ok) b[w] &= ~(1ull << (r & 63));
            }
    } else {
        if (!(b = vs__calloc(nw + 1, 8))) return vs__errf(e, VS_ENOMEM, "out of memory filtering");
        for (size_t r = 0; r < s->rows; r++) {
            if (vs__seg_deleted(s, r)) continue;
            int ok = vs__plan_row_matches(s, r, f, fx, e);
            if (ok < 0) {
                vs__free(b);
                return ok;
            }
            if (ok) b[r >> 6] |= 1ull << (r & 63);
        }
    }
    p->evals += fx->evals - ev0;
    size_t n = 0;
    for (size_t w = 0; w < nw; w++) n += (size_t)__builtin_popcountll(b[w]);
    vs__free(p->bits);
    p->bits = b;
    p->allowed = n;
    return VS_OK;
}

static const char *mode_name(int m) {
    switch (m) {
    case VS__PLAN_EXACT: return "exact scan of the matching rows";
    case VS__PLAN_GRAPH: return "filtered graph walk";
    case VS__PLAN_POST: return "graph walk, then filter";
    case VS__PLAN_EMPTY: return "no rows";
    }
    return "all rows";
}

int vs__plan_segment(const vs__segment *s, const vs__filter *f, vs__filter_ctx *fx,
                     int has_graph, size_t k, size_t beam, int explain, vs__seg_plan *p,
                     vs__err *e) {
    memset(p, 0, sizeof *p);
    p->live = s->rows - s->ndeleted;
    src_ctx c;
    vs__frows src;
    src_init(&c, &src, s);
    int complete, rc = VS_OK;
    double est = vs__filter_estimate(f, &src, &complete);
    const char *from;
    if (est >= 0) {
        /* estimates count rows with tombstones; scale to the live ones */
        if (s->rows) est *= (double)p->live / (double)s->rows;
        p->source = complete ? 3 : 2;
        from = complete ? "indexes" : "indexes (partial)";
    } else if (!explain && (!has_graph || p->live <= 4 * SAMPLE_ROWS)) {
        /* the answer does not depend on an estimate, or sampling costs about as much as
         * evaluating every row: count exactly */
        if ((rc = vs__plan_bits(s, f, fx, p, e))) return rc;
        est = (double)p->allowed;
        p->source = 4;
        from = "every row";
    } else {
        est = sample(s, f, fx, &p->evals, e, &rc);
        if (rc) return rc;
        p->source = 1;
        from = "a sample";
    }
    p->est = est;
    double n = p->live ? (double)p->live : 1.0, sel = est / n;
    double post_min = p->source == 3 ? POST_MIN_SEL : POST_MIN_SEL_UNINDEXED;
    double G = GRAPH_COST_PER_BEAM * (double)(beam > k ? beam : k);
    /* VS_PLAN=exact|graph|post forces a strategy (tests exercise each on small data) */
    const char *force = explain ? NULL : getenv("VS_PLAN");
    if (force && !strcmp(force, "exact")) {
        if (!p->bits && (rc = vs__plan_bits(s, f, fx, p, e))) return rc;
        p->mode = p->allowed ? VS__PLAN_EXACT : VS__PLAN_EMPTY;
    } else if (force && has_graph && !strcmp(force, "graph")) {
        if (!p->bits && (rc = vs__plan_bits(s, f, fx, p, e))) return rc;
        p->mode = p->allowed ? VS__PLAN_GRAPH : VS__PLAN_EMPTY;
    } else if (force && has_graph && !strcmp(force, "post")) {
        p->mode = VS__PLAN_POST;
    } else if (explain) {
        if (p->source >= 3 && est == 0)
            p->mode = VS__PLAN_EMPTY;
        else if (!has_graph || est * est <= G * n)
            p->mode = VS__PLAN_EXACT;
        else
            p->mode = sel >= post_min ? VS__PLAN_POST : VS__PLAN_GRAPH;
    } else if (has_graph && sel >= post_min && !p->bits) {
        p->mode = VS__PLAN_POST;
    } else {
        if (!p->bits && (rc = vs__plan_bits(s, f, fx, p, e))) return rc;
        double a = (double)p->allowed;
        p->mode = p->allowed == 0 ? VS__PLAN_EMPTY
                  : (!has_graph || a * a <= G * n) ? VS__PLAN_EXACT
                                                   : VS__PLAN_GRAPH;
    }
    char used[140] = "";
    if (c.ulen) snprintf(used, sizeof used, " [%s]", c.used);
    char head[200];
    snprintf(head, sizeof head, "%s: est %.0f of %zu rows from %s%s", mode_name(p->mode), est,
             p->live, from, used);
    snprintf(p->how, sizeof p->how, "%s", head);
    return VS_OK;
}

void vs__plan_release(vs__seg_plan *p) {
    vs__free(p->bits);
    p->bits = NULL;
}
