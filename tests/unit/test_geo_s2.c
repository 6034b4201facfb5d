/*
 * test_geo_s2.c — S2 cell ids, bounds and coverings (src/geo/s2.h).
 *
 * Suite geo: self-contained properties (round trips, parent/child/range relations,
 * tokens, poles and the antimeridian, conservative bounds sampled at every level,
 * coverings of a cap region defined here, allocation failures, timings).
 * Suite geo_oracle: the same functions against Google's libs2 through
 * tests/oracle/s2_oracle.h — ids, tokens, vertices, bounds and coverings. Without the
 * oracle (libs2-dev / libgeographiclib-dev missing) every geo_oracle test fails saying so.
 */
#include <stdlib.h>
#include <time.h>

#include "geo/s2.h"
#include "test.h"
#include "util/alloc.h"
#include "vecstore.h"
#ifdef VS_HAVE_ORACLE
#include "s2_oracle.h"
#endif

#define EARTH_M 6371008.8

/* ---------------------------------------------------------------- helpers ---- */

static uint64_t rnd(uint64_t *s) { /* splitmix64 */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static double unif(uint64_t *s) { return (double)(rnd(s) >> 11) * (1.0 / 9007199254740992.0); }

static void unit(double p[3]) {
    double n = sqrt(p[0] * p[0] + p[1] * p[1] + p[2] * p[2]);
    p[0] /= n;
    p[1] /= n;
    p[2] /= n;
}

/* Uniform on the sphere: z uniform in [-1, 1], azimuth uniform. */
static void rnd_point(uint64_t *s, double p[3]) {
    double z = 2 * unif(s) - 1, a = 2 * M_PI * unif(s), r = sqrt(1 - z * z);
    p[0] = r * cos(a);
    p[1] = r * sin(a);
    p[2] = z;
}

static void rnd_latlng(uint64_t *s, double *lat, double *lng) {
    double p[3];
    rnd_point(s, p);
    vs__s2_point_to_latlng(p, lat, lng);
}

static double angle(const double a[3], const double b[3]) {
    double cx = a[1] * b[2] - a[2] * b[1], cy = a[2] * b[0] - a[0] * b[2],
           cz = a[0] * b[1] - a[1] * b[0];
    return atan2(sqrt(cx * cx + cy * cy + cz * cz), a[0] * b[0] + a[1] * b[1] + a[2] * b[2]);
}

static vs__s2cell rnd_cell(uint64_t *s, int level) {
    double p[3];
    rnd_point(s, p);
    return vs__s2_parent(vs__s2_from_point(p), level);
}

/* A uniformly chosen leaf inside the cell (leaf ids are the odd numbers of its range). */
static vs__s2cell rnd_leaf_in(uint64_t *s, vs__s2cell c) {
    uint64_t lo = vs__s2_range_min(c), count = (vs__s2_range_max(c) - lo) / 2 + 1;
    return lo + 2 * (rnd(s) % count);
}

/* A point on the arc a→b (t in [0, 1]). */
static void on_arc(const double a[3], const double b[3], double t, double p[3]) {
    for (int k = 0; k < 3; k++) p[k] = (1 - t) * a[k] + t * b[k];
    unit(p);
}

static int lng_in(double lng, double lo, double hi) {
    if (lo <= hi) return lng >= lo && lng <= hi;
    return lng >= lo || lng <= hi;
}

static int rect_has(const double r[4], double lat, double lng) {
    if (!(lat >= r[0] && lat <= r[1])) return 0;
    if (fabs(lat) == 90) return 1; /* a pole: its longitude means nothing */
    return lng_in(lng, r[2], r[3]) || (fabs(lng) == 180 && lng_in(-lng, r[2], r[3]));
}

static void rect_of(vs__s2cell c, double r[4]) { vs__s2_rect_bound(c, &r[0], &r[1], &r[2], &r[3]); }

/* A spherical cap (center, angle) with an exact relate built on vs__s2_cap_bound. */
typedef struct {
    double c[3];
    double ang;
} tcap;

static long relate_calls; /* counted for the timing note */

static int cap_relate(const void *region, vs__s2cell cell) {
    const tcap *cap = region;
    relate_calls++;
    double cc[3], r;
    vs__s2_cap_bound(cell, cc, &r);
    double d = angle(cap->c, cc);
    if (d - r > cap->ang + 1e-15) return VS__S2_DISJOINT;
    if (d + r < cap->ang - 1e-15) return VS__S2_INSIDE;
    return VS__S2_INTERSECTS;
}

static int cap_has(const tcap *cap, const double p[3]) { return angle(cap->c, p) <= cap->ang; }

/* A random point inside the cap (rim included often). */
static void rnd_in_cap(uint64_t *s, const tcap *cap, double p[3]) {
    double e1[3], e2[3], t[3] = {1, 0, 0};
    if (fabs(cap->c[0]) > 0.6) t[0] = 0, t[1] = 1;
    e1[0] = cap->c[1] * t[2] - cap->c[2] * t[1];
    e1[1] = cap->c[2] * t[0] - cap->c[0] * t[2];
    e1[2] = cap->c[0] * t[1] - cap->c[1] * t[0];
    unit(e1);
    e2[0] = cap->c[1] * e1[2] - cap->c[2] * e1[1];
    e2[1] = cap->c[2] * e1[0] - cap->c[0] * e1[2];
    e2[2] = cap->c[0] * e1[1] - cap->c[1] * e1[0];
    double u = unif(s), th = cap->ang * (u < 0.2 ? 1 - 1e-9 * unif(s) : sqrt(unif(s)));
    double ph = 2 * M_PI * unif(s), ct = cos(th), st = sin(th);
    for (int k = 0; k < 3; k++)
        p[k] = ct * cap->c[k] + st * (cos(ph) * e1[k] + sin(ph) * e2[k]);
    unit(p);
}

/* 1 if some covering cell holds the leaf (binary search over the sorted ranges). */
static int covering_has(const vs__s2_covering *cv, vs__s2cell leaf) {
    size_t lo = 0, hi = cv->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (vs__s2_range_max(cv->cells[mid]) < leaf) lo = mid + 1;
        else hi = mid;
    }
    return lo < cv->n && vs__s2_range_min(cv->cells[lo]) <= leaf;
}

/* Sorted, pairwise disjoint, levels in [min, max]. */
static void check_covering_shape(const vs__s2_covering *cv, const vs__s2_cover_opts *o) {
    for (size_t k = 0; k < cv->n; k++) {
        ASSERT(vs__s2_is_valid(cv->cells[k]));
        ASSERT(vs__s2_level(cv->cells[k]) >= o->min_level);
        ASSERT(vs__s2_level(cv->cells[k]) <= o->max_level);
        ASSERT(cv->inside[k] == 0 || cv->inside[k] == 1);
        if (k > 0)
            ASSERT_MSG(vs__s2_range_max(cv->cells[k - 1]) < vs__s2_range_min(cv->cells[k]),
                       "cells %zu and %zu overlap or are out of order", k - 1, k);
    }
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* A random cap: center uniform or on a pole / the antimeridian, radius 1 m .. 1000 km
 * (log-uniform). */
static void rnd_cap(uint64_t *s, tcap *cap) {
    int kind = (int)(rnd(s) % 8);
    double lat, lng;
    rnd_latlng(s, &lat, &lng);
    if (kind == 0) lat = rnd(s) & 1 ? 90 : -90;
    if (kind == 1) lng = rnd(s) & 1 ? 180 : -180;
    if (kind == 2) lat = 90 - 1e-3 * unif(s);
    vs__s2_latlng_to_point(lat, lng, cap->c);
    cap->ang = exp(log(1.0) + (log(1e6) - log(1.0)) * unif(s)) / EARTH_M;
}

/* ----------------------------------------------------------------- geo ---- */

TEST(geo, leaf_round_trip_and_hierarchy) {
    uint64_t s = vt_seed();
    for (int it = 0; it < 100000; it++) {
        double lat, lng, p[3], q[3], c[3], r;
        rnd_latlng(&s, &lat, &lng);
        vs__s2_latlng_to_point(lat, lng, p);
        vs__s2cell id = vs__s2_from_latlng(lat, lng);
        ASSERT(vs__s2_is_valid(id));
        ASSERT_EQ(vs__s2_level(id), 30);
        ASSERT_EQ(id, vs__s2_from_point(p));
        ASSERT_EQ(vs__s2_face(id), (int)(id >> 61));
        /* the center is within the leaf's size of the point */
        vs__s2_center(id, q);
        vs__s2_cap_bound(id, c, &r);
        ASSERT_MSG(angle(p, q) <= 2 * r, "center %.3g rad from the point, leaf %.3g",
                   angle(p, q), r);
        ASSERT(angle(c, p) <= r);
        ASSERT_EQ(vs__s2_from_point(q), id);
        double la2, ln2;
        vs__s2_point_to_latlng(p, &la2, &ln2);
        ASSERT_NEAR(la2, lat, 1e-12);
        ASSERT(fabs(ln2 - lng) < 1e-12 || fabs(fabs(ln2 - lng) - 360) < 1e-12);
        int L = (int)(rnd(&s) % 31);
        vs__s2cell a = vs__s2_parent(id, L);
        ASSERT_EQ(vs__s2_level(a), L);
        ASSERT(vs__s2_contains(a, id));
        ASSERT(vs__s2_range_min(a) <= id && id <= vs__s2_range_max(a));
        ASSERT_EQ(vs__s2_parent(a, L), a);
        ASSERT_EQ(vs__s2_parent(id, 0), vs__s2_from_face(vs__s2_face(id)));
        if (L < 30) {
            vs__s2cell prev = 0;
            for (int k = 0; k < 4; k++) {
                vs__s2cell ch = vs__s2_child(a, k);
                ASSERT_EQ(vs__s2_level(ch), L + 1);
                ASSERT_EQ(vs__s2_parent(ch, L), a);
                ASSERT(vs__s2_contains(a, ch) && !vs__s2_contains(ch, a));
                ASSERT(ch > prev);
                if (k > 0) ASSERT_EQ(vs__s2_range_min(ch), vs__s2_range_max(vs__s2_child(a, k - 1)) + 2);
                prev = ch;
            }
            ASSERT_EQ(vs__s2_range_min(vs__s2_child(a, 0)), vs__s2_range_min(a));
            ASSERT_EQ(vs__s2_range_max(vs__s2_child(a, 3)), vs__s2_range_max(a));
            ASSERT(vs__s2_contains(vs__s2_child(a, (int)(id >> (2 * (29 - L) + 1)) & 3), id));
        }
        /* the center of any cell maps back into it */
        vs__s2_center(a, q);
        ASSERT(vs__s2_contains(a, vs__s2_from_point(q)));
        vs__s2_center_latlng(a, &la2, &ln2);
        ASSERT(vs__s2_contains(a, vs__s2_from_latlng(la2, ln2)) || L == 30);
    }
    for (int f = 0; f < 6; f++) {
        ASSERT(vs__s2_is_valid(vs__s2_from_face(f)));
        ASSERT_EQ(vs__s2_level(vs__s2_from_face(f)), 0);
        ASSERT_EQ(vs__s2_face(vs__s2_from_face(f)), f);
    }
    ASSERT(!vs__s2_is_valid(0));
    ASSERT(!vs__s2_is_valid(vs__s2_from_face(5) + (1ull << 61)));      /* face 6 */
    ASSERT(!vs__s2_is_valid(vs__s2_from_face(1) + (1ull << 59)));      /* odd lsb */
    ASSERT(vs__s2_level_for_min_edge(1e-30) == 30 && vs__s2_level_for_min_edge(3) == 0);
    for (int L = 0; L <= 30; L++) /* an edge at level L is at least (2√2/3)·2^-L */
        ASSERT_EQ(vs__s2_level_for_min_edge(0.9 * ldexp(2 * M_SQRT2 / 3, -L)), L);
}

/* vs__s2_from_latlng computes the point with a polynomial and falls back to libm when
 * the result could differ: it must always equal the libm path, from_point(latlng_to_point),
 * which the oracle suite ties to libs2. Points near cell edges are where it could fail. */
TEST(geo, from_latlng_fast_path_equals_exact_path) {
    uint64_t s = vt_seed();
    long n = 0, per = vt_long() ? 10000000L : 250000L;
    for (long k = 0; k < per * 4; k++) {
        double lat, lng, p[3];
        switch (k & 3) {
        case 0: /* uniform */
            rnd_latlng(&s, &lat, &lng);
            break;
        case 1: { /* a vertex or an edge point of a random cell, a few ulps off */
            vs__s2cell c = rnd_cell(&s, (int)(rnd(&s) % 31));
            double v[4][3];
            vs__s2_vertices(c, v);
            if (k & 4) on_arc(v[rnd(&s) % 4], v[rnd(&s) % 4], unif(&s), p);
            else memcpy(p, v[rnd(&s) % 4], sizeof p);
            vs__s2_point_to_latlng(p, &lat, &lng);
            for (int u = (int)(rnd(&s) % 4); u > 0; u--) lat = nextafter(lat, rnd(&s) & 1 ? 90 : -90);
            for (int u = (int)(rnd(&s) % 4); u > 0; u--) lng = nextafter(lng, rnd(&s) & 1 ? 180 : -180);
            break;
        }
        case 2: /* round numbers: the equator, face meridians and poles are cell edges */
            lat = (double)(int)(rnd(&s) % 181) - 90 + (double)(rnd(&s) % 4) * 0.25;
            lat = lat > 90 ? 90 : lat;
            lng = (double)(int)(rnd(&s) % 361) - 180;
            break;
        default: /* poles, ±180, and the cube's corners and edges */
            lat = rnd(&s) % 3 == 0 ? (rnd(&s) & 1 ? 90 : -90) : 180 * unif(&s) - 90;
            lng = (double)(rnd(&s) % 9) * 45 - 180;
            if (rnd(&s) % 4 == 0) lat = rnd(&s) & 1 ? 35.2643896827546544 : -35.2643896827546544;
            break;
        }
        vs__s2_latlng_to_point(lat, lng, p);
        vs__s2cell want = vs__s2_from_point(p), got = vs__s2_from_latlng(lat, lng);
        ASSERT_MSG(got == want, "(%.17g, %.17g): %016" PRIx64 ", exact path %016" PRIx64, lat,
                   lng, got, want);
        n++;
    }
    /* outside the fast path's domain (|lng| > 180, lat beyond ±90, NaN) it is libm's */
    static const double odd[][2] = {{10, 540}, {-20, -190.5}, {0, 1e6}, {95, 10}, {NAN, 0}};
    for (size_t k = 0; k < sizeof odd / sizeof odd[0]; k++) {
        double p[3];
        vs__s2_latlng_to_point(odd[k][0], odd[k][1], p);
        ASSERT_EQ(vs__s2_from_latlng(odd[k][0], odd[k][1]), vs__s2_from_point(p));
    }
    vt_note("%ld points: the fast path equals the libm path", n);
}

TEST(geo, tokens) {
    uint64_t s = vt_seed();
    char buf[17];
    for (int it = 0; it < 20000; it++) {
        vs__s2cell id = rnd_cell(&s, (int)(rnd(&s) % 31)), back = 0;
        size_t n = vs__s2_to_token(id, buf);
        ASSERT_EQ(n, strlen(buf));
        ASSERT_EQ(n, 16 - __builtin_ctzll(id) / 4);
        ASSERT(buf[n - 1] != '0');
        ASSERT_EQ(vs__s2_from_token(buf, n, &back), 0);
        ASSERT_EQ(back, id);
        for (size_t k = 0; k < n; k++)
            if (buf[k] >= 'a') buf[k] = (char)(buf[k] - 'a' + 'A');
        back = 0;
        ASSERT_EQ(vs__s2_from_token(buf, n, &back), 0);
        ASSERT_EQ(back, id);
    }
    static const char *faces[6] = {"1", "3", "5", "7", "9", "b"};
    for (int f = 0; f < 6; f++) {
        ASSERT_EQ(vs__s2_to_token(vs__s2_from_face(f), buf), 1);
        ASSERT_STREQ(buf, faces[f]);
    }
    ASSERT_EQ(vs__s2_to_token(0, buf), 1);
    ASSERT_STREQ(buf, "X");
    ASSERT_EQ(vs__s2_to_token(vs__s2_from_latlng(0, 0), buf), 16);
    ASSERT_STREQ(buf, "1000000000000001"); /* (0, 0) is the first leaf after face 0's center */
    static const char *bad[] = {"",  "0", "X", "x", "00000000000000000", "10000000000000001",
                                "g", "1g", " 1", "1 ", "-1", "c", "2", "0x1", "ffffffffffffffff"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        vs__s2cell out = 42;
        ASSERT_MSG(vs__s2_from_token(bad[k], strlen(bad[k]), &out) == -1, "token \"%s\" accepted",
                   bad[k]);
        ASSERT_EQ(out, 42);
    }
    vs__s2cell out = 0;
    ASSERT_EQ(vs__s2_from_token("89c25", 5, &out), 0); /* a level-8 cell over New York */
    ASSERT_EQ(vs__s2_level(out), 8);
    ASSERT(vs__s2_contains(out, vs__s2_from_latlng(40.7128, -74.0060)));
}

TEST(geo, poles_and_antimeridian) {
    uint64_t s = vt_seed();
    double np[3] = {0, 0, 1}, sp[3] = {0, 0, -1};
    for (int it = 0; it < 2000; it++) {
        double lat = it < 4 ? (double)(it * 30) : 180 * unif(&s) - 90, lng = 360 * unif(&s) - 180;
        double p[3], q[3], c[3], r, rc[4];
        /* ±180 is one meridian; it is also a cell boundary (v = 0 on faces 3, 2 and 5),
         * so, exactly as in libs2, the two spellings land in leaves on either side. Both
         * leaves hold the point within their bounds and are neighbours. */
        vs__s2cell e = vs__s2_from_latlng(lat, 180), w = vs__s2_from_latlng(lat, -180);
        vs__s2_latlng_to_point(lat, 180, p);
        vs__s2cell cells[2] = {e, w};
        for (int k = 0; k < 2; k++) {
            vs__s2_cap_bound(cells[k], c, &r);
            ASSERT(angle(c, p) <= r);
            rect_of(cells[k], rc);
            ASSERT_MSG(rect_has(rc, lat, 180), "lat %.17g lng 180 not in [%.17g, %.17g]x[%.17g, %.17g]",
                       lat, rc[0], rc[1], rc[2], rc[3]);
            ASSERT(rect_has(rc, lat, -180));
        }
        vs__s2_center(e, p);
        vs__s2_center(w, q);
        ASSERT(angle(p, q) <= 3e-9); /* adjacent level-30 cells */
        /* the poles: every longitude lands in one of the four leaves around the pole,
         * whose bounds reach 90° with every longitude */
        for (int pole = 0; pole < 2; pole++) {
            double la = pole ? -90 : 90;
            vs__s2cell id = vs__s2_from_latlng(la, lng);
            ASSERT_EQ(vs__s2_face(id), pole ? 5 : 2);
            rect_of(id, rc);
            ASSERT(pole ? rc[0] == -90 : rc[1] == 90);
            ASSERT(rc[2] == -180 && rc[3] == 180);
            vs__s2_cap_bound(id, c, &r);
            ASSERT(angle(c, pole ? sp : np) <= r);
            ASSERT(r < 2e-9);
            ASSERT_EQ(vs__s2_from_point(pole ? sp : np), vs__s2_from_latlng(la, 0));
        }
    }
    /* a cell across the antimeridian: lng_lo > lng_hi */
    double rc[4];
    rect_of(vs__s2_parent(vs__s2_from_latlng(10, 180), 5), rc);
    ASSERT(rc[2] > 0 && rc[3] < 180 && rc[2] < 180);
    rect_of(vs__s2_from_face(3), rc);
    ASSERT(rc[2] > rc[3]);
    ASSERT_NEAR(rc[2], 135, 1e-9);
    ASSERT_NEAR(rc[3], -135, 1e-9);
    ASSERT(rc[0] < -45 && rc[1] > 45); /* the bulge of the edges, at 45° */
    rect_of(vs__s2_from_face(2), rc);
    ASSERT(rc[1] == 90 && rc[2] == -180 && rc[3] == 180);
}

/* Points of cells at every level — random leaves inside, vertices, points along the
 * edges (great-circle arcs, where a face's latitude bulges) — lie in both bounds. */
TEST(geo, bounds_are_conservative_at_every_level) {
    uint64_t s = vt_seed();
    long checked = 0;
    double worst_cap = 0;
    for (int L = 0; L <= 30; L++) {
        int ncell = L == 0 ? 60 : 300;
        for (int ci = 0; ci < ncell; ci++) {
            vs__s2cell cell = L == 0 ? vs__s2_from_face(ci % 6) : rnd_cell(&s, L);
            if (ci < 8 && L > 0) { /* cells at the poles and the antimeridian */
                double la = ci < 2 ? 90 : ci < 4 ? -90 : 90 * unif(&s) - 45;
                cell = vs__s2_parent(vs__s2_from_latlng(la, ci & 1 ? 180 : -180), L);
            }
            double c[3], r, rc[4], v[4][3], p[3];
            vs__s2_cap_bound(cell, c, &r);
            rect_of(cell, rc);
            vs__s2_vertices(cell, v);
            for (int k = 0; k < 40; k++) {
                double lat, lng;
                if (k < 4) {
                    memcpy(p, v[k], sizeof p);
                } else if (k < 24) {
                    on_arc(v[k % 4], v[(k + 1) % 4], unif(&s), p);
                } else {
                    vs__s2_center(rnd_leaf_in(&s, cell), p);
                }
                double a = angle(c, p);
                if (a / r > worst_cap) worst_cap = a / r;
                ASSERT_MSG(a <= r, "level %d cell %016" PRIx64 " point %d: %.17g > cap %.17g",
                           L, cell, k, a, r);
                vs__s2_point_to_latlng(p, &lat, &lng);
                ASSERT_MSG(rect_has(rc, lat, lng),
                           "level %d cell %016" PRIx64 " point %d (%.17g, %.17g) outside "
                           "[%.17g, %.17g]x[%.17g, %.17g]",
                           L, cell, k, lat, lng, rc[0], rc[1], rc[2], rc[3]);
                checked++;
            }
            /* the leaf centers in lat/lng (what a stored point's leaf is built from) */
            for (int k = 0; k < 8; k++) {
                double lat, lng;
                vs__s2_center_latlng(rnd_leaf_in(&s, cell), &lat, &lng);
                ASSERT(rect_has(rc, lat, lng));
            }
        }
    }
    vt_note("%ld points of cells at levels 0-30 inside their cap and rect bounds", checked);
}

static void check_cap_covering(uint64_t *s, const tcap *cap, const vs__s2_cover_opts *o,
                               const vs__s2_covering *cv) {
    check_covering_shape(cv, o);
    for (int k = 0; k < 300; k++) { /* every point of the region is covered */
        double p[3];
        rnd_in_cap(s, cap, p);
        if (!cap_has(cap, p)) continue;
        ASSERT_MSG(covering_has(cv, vs__s2_from_point(p)), "a point of the cap is not covered");
    }
    double c[3];
    memcpy(c, cap->c, sizeof c);
    ASSERT(covering_has(cv, vs__s2_from_point(c)));
    for (size_t k = 0; k < cv->n; k++) { /* inside cells are inside */
        if (!cv->inside[k]) continue;
        for (int j = 0; j < 8; j++) {
            double p[3];
            vs__s2_center(rnd_leaf_in(s, cv->cells[k]), p);
            ASSERT(cap_has(cap, p));
        }
    }
}

TEST(geo, cap_coverings_are_valid) {
    uint64_t s = vt_seed();
    static const int cells_opt[] = {1, 3, 4, 8, 16, 24, 64, 300};
    long total = 0, inside = 0, over = 0;
    for (int it = 0; it < 1500; it++) {
        tcap cap;
        rnd_cap(&s, &cap);
        vs__s2_cover_opts o;
        vs__s2_cover_opts_init(&o);
        o.max_cells = cells_opt[rnd(&s) % 8];
        if (it % 3 == 1) o.min_level = (int)(rnd(&s) % 12);
        if (it % 4 == 2) o.max_level = o.min_level + (int)(rnd(&s) % (31 - o.min_level));
        vs__s2_covering cv;
        ASSERT_OK(vs__s2_cover(cap_relate, &cap, &o, &cv));
        ASSERT(cv.n > 0);
        check_cap_covering(&s, &cap, &o, &cv);
        if (o.min_level == 0) /* soft only when min_level forces more (or the first faces) */
            ASSERT_MSG(cv.n <= (size_t)(o.max_cells > 3 ? o.max_cells : 3),
                       "%zu cells for max_cells %d", cv.n, o.max_cells);
        else if (cv.n > (size_t)o.max_cells)
            over++;
        total += (long)cv.n;
        for (size_t k = 0; k < cv.n; k++) inside += cv.inside[k];
        vs__s2_covering_free(&cv);
    }
    /* the whole sphere and nothing at all */
    tcap all = {{0, 0, 1}, 4}, none = {{0, 0, 1}, -1};
    vs__s2_cover_opts o;
    vs__s2_cover_opts_init(&o);
    vs__s2_covering cv;
    ASSERT_OK(vs__s2_cover(cap_relate, &all, &o, &cv));
    ASSERT_EQ(cv.n, 6);
    for (int f = 0; f < 6; f++) ASSERT(cv.cells[f] == vs__s2_from_face(f) && cv.inside[f]);
    vs__s2_covering_free(&cv);
    o.min_level = 2;
    ASSERT_OK(vs__s2_cover(cap_relate, &all, &o, &cv));
    ASSERT_EQ(cv.n, 96); /* faces are split down to min_level, all inside */
    vs__s2_covering_free(&cv);
    ASSERT_OK(vs__s2_cover(cap_relate, &none, &o, &cv));
    ASSERT_EQ(cv.n, 0);
    ASSERT(cv.cells == NULL);
    vs__s2_covering_free(&cv);
    vs__s2_covering_free(&cv); /* twice: a zeroed struct is fine */
    vt_note("1500 caps: %.1f cells per covering, %.1f%% inside, %ld over max_cells because "
            "of min_level", (double)total / 1500, 100.0 * (double)inside / (double)total, over);
}

TEST(geo, cover_out_of_memory_leaves_nothing) {
    tcap cap;
    vs__s2_latlng_to_point(48.85, 2.35, cap.c);
    cap.ang = 300e3 / EARTH_M;
    vs__s2_cover_opts o;
    vs__s2_cover_opts_init(&o);
    o.max_cells = 800; /* beyond the stack buffers: the heap paths run */
    int64_t live = vs__alloc_live();
    vs__s2_covering ref;
    ASSERT_OK(vs__s2_cover(cap_relate, &cap, &o, &ref));
    int failures = 0;
    for (int64_t n = 1;; n++) {
        vs__s2_covering cv;
        vs__alloc_fail_after(n);
        int rc = vs__s2_cover(cap_relate, &cap, &o, &cv);
        vs__alloc_fail_after(0);
        if (rc == 0) {
            ASSERT_EQ(cv.n, ref.n);
            ASSERT(!memcmp(cv.cells, ref.cells, cv.n * sizeof *cv.cells));
            vs__s2_covering_free(&cv);
            break;
        }
        ASSERT_RC(rc, VS_ENOMEM);
        ASSERT(cv.cells == NULL && cv.inside == NULL && cv.n == 0);
        ASSERT_EQ(vs__alloc_live(), live + 2); /* ref's two arrays only */
        failures++;
    }
    ASSERT(failures >= 4);
    vs__s2_covering_free(&ref);
}

static volatile uint64_t s2_sink; /* keeps the timed calls */

TEST(geo, timings) {
    uint64_t s = vt_seed();
    enum { N = 1 << 20 };
    double *ll = vs__malloc(2 * N * sizeof *ll);
    ASSERT(ll);
    for (int k = 0; k < N; k++) rnd_latlng(&s, &ll[2 * k], &ll[2 * k + 1]);
    uint64_t sink = 0;
    double best = 1e9;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = now_s();
        for (int k = 0; k < N; k++) sink += vs__s2_from_latlng(ll[2 * k], ll[2 * k + 1]);
        double t = (now_s() - t0) / N;
        if (t < best) best = t;
    }
    vs__free(ll);
    /* 24-cell coverings of caps from 100 m to 100 km (the relate is this file's cap) */
    enum { NC = 2000 };
    tcap caps[64];
    for (int k = 0; k < 64; k++) {
        rnd_cap(&s, &caps[k]);
        caps[k].ang = exp(log(100.0) + log(1000.0) * unif(&s)) / EARTH_M;
    }
    vs__s2_cover_opts o;
    vs__s2_cover_opts_init(&o);
    o.max_cells = 24;
    size_t cells = 0;
    relate_calls = 0;
    double t0 = now_s();
    for (int k = 0; k < NC; k++) {
        vs__s2_covering cv;
        ASSERT_OK(vs__s2_cover(cap_relate, &caps[k % 64], &o, &cv));
        cells += cv.n;
        vs__s2_covering_free(&cv);
    }
    double tc = (now_s() - t0) / NC;
    s2_sink = sink;
    vt_note("from_latlng %.1f ns per point (uniform points, best of 3 passes over 1M); "
            "covering of a cap of 100 m - 100 km with max_cells 24: %.2f us (%.1f cells, %.0f "
            "calls of this file's relate, which costs a vs__s2_cap_bound and an atan2)",
            best * 1e9, tc * 1e6, (double)cells / NC, (double)relate_calls / NC);
}

/* ----------------------------------------------------------- geo_oracle ---- */

#ifndef VS_HAVE_ORACLE
#define NO_ORACLE()                                                                    \
    ASSERT_MSG(0, "the libs2 oracle is not built: install libs2-dev and "              \
                  "libgeographiclib-dev (scripts/install-deps.sh) and re-run cmake")
TEST(geo_oracle, leaf_ids_match_libs2) { NO_ORACLE(); }
TEST(geo_oracle, tokens_and_relations_match_libs2) { NO_ORACLE(); }
TEST(geo_oracle, rect_bound_contains_libs2) { NO_ORACLE(); }
TEST(geo_oracle, coverings_vs_libs2) { NO_ORACLE(); }
#else

static int vec_close(const double a[3], const double b[3], double tol) {
    return fabs(a[0] - b[0]) <= tol && fabs(a[1] - b[1]) <= tol && fabs(a[2] - b[2]) <= tol;
}

/* Compares everything about the leaf of (lat, lng) and its ancestors; returns 1. */
static long cmp_point(uint64_t *s, double lat, double lng, long *levels) {
    double p[3], q[3];
    vs__s2_latlng_to_point(lat, lng, p);
    vso_s2_latlng_to_point(lat, lng, q);
    ASSERT_MSG(!memcmp(p, q, sizeof p), "point of (%.17g, %.17g) differs", lat, lng);
    vs__s2cell id = vs__s2_from_latlng(lat, lng), want = vso_s2_from_latlng(lat, lng);
    ASSERT_MSG(id == want, "(%.17g, %.17g): leaf %016" PRIx64 ", libs2 %016" PRIx64, lat, lng,
               id, want);
    ASSERT_EQ(vs__s2_face(id), vso_s2_face(want));
    int L = (int)(rnd(s) % 31);
    for (int l = 0; l <= 30; l++) {
        vs__s2cell a = vs__s2_parent(id, l);
        ASSERT_EQ(a, vso_s2_parent(want, l));
        ASSERT_EQ(vs__s2_level(a), vso_s2_level(a));
        (*levels)++;
    }
    vs__s2cell a = vs__s2_parent(id, L);
    char t1[17], t2[17];
    ASSERT_EQ(vs__s2_to_token(a, t1), vso_s2_to_token(a, t2));
    ASSERT_STREQ(t1, t2);
    double c1[3], c2[3], v[4][3];
    vs__s2_center(a, c1);
    vso_s2_center(a, c2);
    ASSERT_MSG(vec_close(c1, c2, 1e-15), "center of %s differs", t1);
    vs__s2_vertices(a, v);
    for (int k = 0; k < 4; k++) {
        vso_s2_vertex(a, k, c2);
        ASSERT_MSG(vec_close(v[k], c2, 1e-15), "vertex %d of %s differs", k, t1);
    }
    double la1, ln1, la2, ln2;
    vs__s2_center_latlng(a, &la1, &ln1);
    vso_s2_center_latlng(a, &la2, &ln2);
    ASSERT(fabs(la1 - la2) <= 1e-13);
    ASSERT(fabs(ln1 - ln2) <= 1e-13 || fabs(fabs(ln1 - ln2) - 360) <= 1e-13);
    return 1;
}

static long cmp_vector(const double p[3]) {
    vs__s2cell id = vs__s2_from_point(p), want = vso_s2_from_point(p);
    ASSERT_MSG(id == want, "point (%.17g, %.17g, %.17g): leaf %016" PRIx64 ", libs2 %016" PRIx64,
               p[0], p[1], p[2], id, want);
    return 1;
}

TEST(geo_oracle, leaf_ids_match_libs2) {
    uint64_t s = vt_seed();
    long n = 0, nv = 0, levels = 0;
    /* uniform */
    for (int k = 0; k < 100000; k++) {
        double lat, lng, p[3];
        rnd_latlng(&s, &lat, &lng);
        n += cmp_point(&s, lat, lng, &levels);
        rnd_point(&s, p);
        nv += cmp_vector(p);
    }
    /* a grid of round degrees (lat 0 and the face meridians are cell boundaries: exact
     * ties in the rounding), poles, ±180, face edges and cube corners */
    for (int la = -90; la <= 90; la++)
        for (int ln = -180; ln <= 180; ln += 3) n += cmp_point(&s, la, ln, &levels);
    static const double edges[] = {0, 45, -45, 90, -90, 135, -135, 180, -180};
    for (int k = 0; k < 9; k++)
        for (int j = 0; j < 2000; j++) {
            double lat = 180 * unif(&s) - 90, lng = edges[k];
            int ulps = (int)(rnd(&s) % 5) - 2;
            for (int u = 0; u < abs(ulps); u++) lng = nextafter(lng, ulps > 0 ? 400 : -400);
            if (fabs(lng) > 180) lng = edges[k]; /* libs2 logs an error beyond ±180 */
            n += cmp_point(&s, lat, lng, &levels);
            n += cmp_point(&s, edges[k] / 2, 360 * unif(&s) - 180, &levels);
            n += cmp_point(&s, j & 1 ? 90 : -90, 360 * unif(&s) - 180, &levels);
            n += cmp_point(&s, nextafter(j & 1 ? 90 : -90, 0), 360 * unif(&s) - 180, &levels);
            n += cmp_point(&s, 180 * unif(&s) - 90, j & 1 ? 180 : -180, &levels);
            n += cmp_point(&s, 35.2643896827546544 * (j & 1 ? 1 : -1), edges[k] + 0.0, &levels);
        }
    /* vectors on face boundaries and corners: ties between components */
    for (int k = 0; k < 20000; k++) {
        double p[3], t = 2 * unif(&s) - 1, sgn[3];
        for (int j = 0; j < 3; j++) sgn[j] = rnd(&s) & 1 ? 1 : -1;
        int axis = (int)(rnd(&s) % 3);
        p[axis] = sgn[0];
        p[(axis + 1) % 3] = sgn[1] * (k & 1 ? 1 : fabs(t));
        p[(axis + 2) % 3] = k % 3 == 0 ? sgn[2] : t;
        if (k % 5 == 0) unit(p);
        nv += cmp_vector(p);
    }
    /* points near cell boundaries: vertices and edge points of random cells, nudged by
     * a few ulps, both as vectors and as degrees */
    for (int k = 0; k < 30000; k++) {
        vs__s2cell c = rnd_cell(&s, (int)(rnd(&s) % 31));
        double v[4][3], p[3], lat, lng;
        vs__s2_vertices(c, v);
        if (k & 1) on_arc(v[k % 4], v[(k + 1) % 4], unif(&s), p);
        else memcpy(p, v[k % 4], sizeof p);
        for (int j = 0; j < 3; j++)
            for (int u = (int)(rnd(&s) % 3); u > 0; u--) p[j] = nextafter(p[j], rnd(&s) & 1 ? 2 : -2);
        nv += cmp_vector(p);
        vs__s2_point_to_latlng(p, &lat, &lng);
        n += cmp_point(&s, lat, lng, &levels);
    }
    vt_note("%ld lat/lng points and %ld vectors: leaf ids, %ld ancestors, tokens, centers and "
            "vertices (1e-15) all equal to libs2", n, nv, levels);
}

TEST(geo_oracle, tokens_and_relations_match_libs2) {
    uint64_t s = vt_seed();
    for (int k = 0; k < 50000; k++) {
        vs__s2cell c = rnd_cell(&s, (int)(rnd(&s) % 31));
        ASSERT_EQ(vs__s2_range_min(c), vso_s2_range_min(c));
        ASSERT_EQ(vs__s2_range_max(c), vso_s2_range_max(c));
        ASSERT_EQ(vs__s2_is_valid(c), 1);
        if (vs__s2_level(c) < 30)
            for (int j = 0; j < 4; j++) ASSERT_EQ(vs__s2_child(c, j), vso_s2_child(c, j));
        /* random strings: ours accepts exactly the valid ids libs2 parses */
        char tok[20];
        size_t len = 1 + rnd(&s) % 17;
        static const char digits[] = "0123456789abcdefABCDEFxg";
        for (size_t j = 0; j < len; j++) tok[j] = digits[rnd(&s) % (k & 1 ? 16 : 24)];
        vs__s2cell mine = 0;
        int ok = vs__s2_from_token(tok, len, &mine) == 0;
        uint64_t theirs = vso_s2_from_token(tok, len);
        int theirs_ok = theirs != 0 && vso_s2_is_valid(theirs) == 1;
        ASSERT_EQ(ok, theirs_ok);
        if (ok) ASSERT_EQ(mine, theirs);
        uint64_t x = rnd(&s);
        ASSERT_EQ(vs__s2_is_valid(x), vso_s2_is_valid(x));
        double a = exp(-40 * unif(&s));
        ASSERT_EQ(vs__s2_level_for_min_edge(a), vso_s2_level_for_min_edge(a));
    }
}

/* The width of an S1 interval, radians; -1 if full. */
static double s1_width(double lo, double hi) {
    if (lo == -M_PI && hi == M_PI) return -1;
    double w = hi - lo;
    return w < 0 ? w + 2 * M_PI : w;
}

static double east(double from, double to) {
    double d = to - from;
    while (d < 0) d += 2 * M_PI;
    while (d >= 2 * M_PI) d -= 2 * M_PI;
    return d;
}

TEST(geo_oracle, rect_bound_contains_libs2) {
    uint64_t s = vt_seed();
    const double shrink = 1e-12;
    double dlat = 0, dlng = 0, cap_ratio = 0;
    long n = 0, nlng = 0;
    for (int L = 0; L <= 30; L++)
        for (int k = 0; k < (L == 0 ? 6 : 1000); k++) {
            vs__s2cell c = L == 0 ? vs__s2_from_face(k) : rnd_cell(&s, L);
            if (k < 6 && L > 0) {
                double la = k < 2 ? 90 : k < 4 ? -90 : 0;
                c = vs__s2_parent(vs__s2_from_latlng(la, k & 1 ? 180 : -180 + 1e-9), L);
            }
            double m[4], t[4];
            rect_of(c, m);
            for (int j = 0; j < 4; j++) m[j] *= M_PI / 180;
            int full = vso_s2_rect_bound(c, t);
            ASSERT(full >= 0);
            ASSERT_MSG(m[0] <= t[0] + shrink && m[1] >= t[1] - shrink,
                       "level %d: lat [%.17g, %.17g] does not hold libs2's [%.17g, %.17g]", L,
                       m[0], m[1], t[0], t[1]);
            double wm = s1_width(m[2], m[3]), wt = full ? -1 : s1_width(t[2], t[3]);
            if (wt < 0) {
                ASSERT_MSG(wm < 0, "level %d: libs2's longitudes are full, ours [%.17g, %.17g]", L,
                           m[2], m[3]);
            } else if (wm >= 0) {
                double lo = t[2] + shrink, w = wt - 2 * shrink;
                ASSERT_MSG(east(m[2], lo) + w <= wm + 1e-15,
                           "level %d: lng [%.17g, %.17g] does not hold libs2's [%.17g, %.17g]", L,
                           m[2], m[3], t[2], t[3]);
                dlng += wm - wt;
                nlng++;
            }
            dlat += (m[1] - m[0]) - (t[1] - t[0]);
            double cc[3], r, tc[3], tr;
            vs__s2_cap_bound(c, cc, &r);
            vso_s2_cap_bound(c, tc, &tr);
            cap_ratio += r / tr;
            n++;
        }
    vt_note("%ld cells, levels 0-30: rect_bound holds libs2's GetRectBound; ours is wider on "
            "average by %.3g rad in lat, %.3g rad in lng; cap_bound radius / libs2's = %.6f",
            n, dlat / (double)n, dlng / (double)(nlng ? nlng : 1), cap_ratio / (double)n);
}

typedef struct {
    double c[3];
    double ang;
} ocap;

static int oracle_relate(const void *region, vs__s2cell cell) {
    const ocap *cap = region;
    if (vso_s2_cap_may_intersect(cap->c, cap->ang, cell) != 1) return VS__S2_DISJOINT;
    return vso_s2_cap_contains_cell(cap->c, cap->ang, cell) == 1 ? VS__S2_INSIDE
                                                                 : VS__S2_INTERSECTS;
}

TEST(geo_oracle, coverings_vs_libs2) {
    uint64_t s = vt_seed();
    enum { NCAP = 3000 };
    static const int cells_opt[] = {4, 8, 16, 24};
    static uint64_t theirs[1 << 16];
    long same = 0, ours_n = 0, theirs_n = 0, plain = 0, plain_same = 0;
    double ours_ratio = 0, theirs_ratio = 0; /* covered area / cap area, summed (plain) */
    for (int it = 0; it < NCAP; it++) {
        tcap t;
        rnd_cap(&s, &t);
        ocap cap;
        memcpy(cap.c, t.c, sizeof cap.c);
        cap.ang = t.ang;
        vs__s2_cover_opts o;
        vs__s2_cover_opts_init(&o);
        o.max_cells = cells_opt[it % 4];
        if (it % 5 == 3) o.min_level = (int)(rnd(&s) % 8);
        if (it % 7 == 5) o.max_level = o.min_level + (int)(rnd(&s) % (31 - o.min_level));
        vs__s2_covering cv;
        ASSERT_OK(vs__s2_cover(oracle_relate, &cap, &o, &cv));
        check_covering_shape(&cv, &o);
        double area = vso_s2_cap_area(cap.c, cap.ang), ours_area = 0, theirs_area = 0;
        for (size_t k = 0; k < cv.n; k++) {
            ASSERT_EQ(vso_s2_cap_may_intersect(cap.c, cap.ang, cv.cells[k]), 1);
            if (cv.inside[k]) ASSERT_EQ(vso_s2_cap_contains_cell(cap.c, cap.ang, cv.cells[k]), 1);
            ours_area += vso_s2_exact_area(cv.cells[k]);
        }
        for (int k = 0; k < 200; k++) {
            double p[3];
            rnd_in_cap(&s, &t, p);
            if (vso_s2_cap_contains_point(cap.c, cap.ang, p) != 1) continue;
            ASSERT_MSG(covering_has(&cv, vs__s2_from_point(p)), "a point of the cap is not covered");
        }
        long m = vso_s2_cap_covering(cap.c, cap.ang, o.max_cells, o.min_level, o.max_level,
                                     theirs, sizeof theirs / sizeof theirs[0]);
        ASSERT(m >= 0 && m <= (long)(sizeof theirs / sizeof theirs[0]));
        for (long k = 0; k < m; k++) theirs_area += vso_s2_exact_area(theirs[k]);
        int eq = (size_t)m == cv.n && !memcmp(theirs, cv.cells, cv.n * sizeof *cv.cells);
        if (o.min_level == 0 && o.max_level == 30) { /* the plain options */
            plain++;
            plain_same += eq;
            ours_ratio += ours_area / area;
            theirs_ratio += theirs_area / area;
        }
        same += eq;
        ours_n += (long)cv.n;
        theirs_n += m;
        vs__s2_covering_free(&cv);
    }
    vt_note("%d caps (1 m - 1000 km, max_cells 4-24, some with min/max_level), the same "
            "predicates: identical to S2RegionCoverer in %ld (%.1f%%; %.1f%% of the %ld with "
            "min_level 0, max_level 30); cells per covering ours %.2f, libs2 %.2f",
            NCAP, same, 100.0 * (double)same / NCAP, 100.0 * (double)plain_same / (double)plain,
            plain, (double)ours_n / NCAP, (double)theirs_n / NCAP);
    vt_note("covered area / cap area (S2Cell::ExactArea, mean over the %ld plain caps): ours "
            "%.3f, libs2 %.3f", plain, ours_ratio / (double)plain, theirs_ratio / (double)plain);
}
#endif
