/*
 * test_geo.c — geo/geo.h: coordinate checks and messages, the distance bounds (over
 * more than a million pairs of every kind), cap / rect / polygon membership against
 * brute-force references (points crowded at the boundaries, poles and ±180), the S2
 * relation and coverings (no contained point outside the covering, no point of an
 * INSIDE cell outside the region), allocation failures, and per-call costs.
 *
 * Suite geo_oracle: vs__geo_distance against GeographicLib (tests/oracle) on 120k pairs.
 *
 * References: caps, PROJ's geod_inverse called directly (distance <= radius); rects, the
 * rule written out over the spellings of a point; polygons, a winding number (Sunday)
 * over integer coordinates — test polygons and points sit on a grid of 2^-k degrees,
 * so the orientation is an exact __int128 cross product.
 */
#include <float.h>
#include <geodesic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "geo/geo.h"
#include "geo/s2.h"
#include "test.h"
#include "util/alloc.h"
#include "vecstore.h"
#ifdef VS_HAVE_ORACLE
#include "geodesic_oracle.h"
#endif

#define D2R (M_PI / 180)

/* ------------------------------------------------------------- helpers ---- */

typedef struct trng {
    uint64_t s;
} trng;

static uint64_t rnext(trng *r) {
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static double runif(trng *r) { return (double)(rnext(r) >> 11) * 0x1p-53; }
static double rrange(trng *r, double lo, double hi) { return lo + (hi - lo) * runif(r); }
static trng rng_make(unsigned salt) { return (trng){(uint64_t)vt_seed() * 0x2545f4914f6cdd1dull + salt}; }

/* A uniformly random point on the sphere. */
static void rpoint(trng *r, double *lat, double *lon) {
    *lat = asin(rrange(r, -1, 1)) / D2R;
    *lon = rrange(r, -180, 180);
}

static struct geod_geodesic g_ref;
static void ref_init(void) { geod_init(&g_ref, 6378137, 1 / 298.257223563); }
static double ref_dist(double lat1, double lon1, double lat2, double lon2) {
    double s = 0;
    geod_inverse(&g_ref, lat1, lon1, lat2, lon2, &s, NULL, NULL);
    return s;
}
/* The point at distance s along azimuth az from (lat, lon). */
static void ref_direct(double lat, double lon, double az, double s, double *lat2, double *lon2) {
    geod_direct(&g_ref, lat, lon, az, s, lat2, lon2, NULL);
    if (*lat2 > 90) *lat2 = 90;
    if (*lat2 < -90) *lat2 = -90;
}

static double clampd(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Is the leaf of (lat, lon) in the covering? Sets *inside to that cell's flag. */
static int in_covering(const vs__s2_covering *cv, double lat, double lon, int *inside) {
    vs__s2cell leaf = vs__s2_from_latlng(lat, lon);
    size_t lo = 0, hi = cv->n;
    while (lo < hi) { /* first cell whose range_max >= leaf */
        size_t mid = (lo + hi) / 2;
        if (vs__s2_range_max(cv->cells[mid]) < leaf)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < cv->n && vs__s2_range_min(cv->cells[lo]) <= leaf) {
        *inside = cv->inside[lo];
        return 1;
    }
    *inside = 0;
    return 0;
}

/* Area of a cell on the unit sphere (two spherical triangles, Oosterom–Strackee). */
static double tri_area(const double a[3], const double b[3], const double c[3]) {
    double bc[3] = {b[1] * c[2] - b[2] * c[1], b[2] * c[0] - b[0] * c[2], b[0] * c[1] - b[1] * c[0]};
    double num = fabs(a[0] * bc[0] + a[1] * bc[1] + a[2] * bc[2]);
    double den = 1 + (a[0] * b[0] + a[1] * b[1] + a[2] * b[2]) + (b[0] * c[0] + b[1] * c[1] + b[2] * c[2]) +
                 (c[0] * a[0] + c[1] * a[1] + c[2] * a[2]);
    return 2 * atan2(num, den);
}
static double cell_area(vs__s2cell id) {
    double v[4][3];
    vs__s2_vertices(id, v);
    return tri_area(v[0], v[1], v[2]) + tri_area(v[0], v[2], v[3]);
}
static double covering_area(const vs__s2_covering *cv) {
    double a = 0;
    for (size_t i = 0; i < cv->n; i++) a += cell_area(cv->cells[i]);
    return a;
}

/* A random point of the cell (the center of a random leaf inside it). */
static void cell_sample(trng *r, vs__s2cell id, double *lat, double *lon) {
    uint64_t lo = vs__s2_range_min(id), hi = vs__s2_range_max(id);
    uint64_t span = (hi - lo) / 2; /* leaves are the odd ids */
    uint64_t k = span ? rnext(r) % (span + 1) : 0;
    int pick = (int)(rnext(r) % 8);
    if (pick == 0) k = 0;
    if (pick == 1) k = span;
    vs__s2_center_latlng(lo + 2 * k, lat, lon);
}

static vs__geo_region *cap(double lat, double lon, double r) {
    vs__geo_region *g = NULL;
    vs__err e;
    int rc = vs__geo_cap_new(lat, lon, r, &g, &e);
    ASSERT_MSG(rc == VS_OK, "cap (%.17g, %.17g) r %.17g: %s", lat, lon, r, e.msg);
    return g;
}
static vs__geo_region *rect(double n, double w, double s, double e_) {
    vs__geo_region *g = NULL;
    vs__err e;
    int rc = vs__geo_rect_new(n, w, s, e_, &g, &e);
    ASSERT_MSG(rc == VS_OK, "rect n %.17g w %.17g s %.17g e %.17g: %s", n, w, s, e_, e.msg);
    return g;
}

/* ------------------------------------------------- validation, messages ---- */

/* gp is read after the call (arguments are evaluated in no fixed order). */
static void want_err(int rc, vs__geo_region **gp, const vs__err *e, const char *msg) {
    ASSERT_RC(rc, VS_EINVAL);
    ASSERT(*gp == NULL);
    ASSERT_STREQ(e->msg, msg);
}

TEST(geo, check_and_messages) {
    ASSERT(vs__geo_check(0, 0) == NULL);
    ASSERT(vs__geo_check(90, 180) == NULL);
    ASSERT(vs__geo_check(-90, -180) == NULL);
    ASSERT_STREQ(vs__geo_check(NAN, 0), "lat is not a finite number");
    ASSERT_STREQ(vs__geo_check(INFINITY, 0), "lat is not a finite number");
    ASSERT_STREQ(vs__geo_check(0, -INFINITY), "lon is not a finite number");
    ASSERT_STREQ(vs__geo_check(0, NAN), "lon is not a finite number");
    ASSERT_STREQ(vs__geo_check(90.0000001, 0), "lat must be in [-90, 90]");
    ASSERT_STREQ(vs__geo_check(nextafter(-90, -91), 0), "lat must be in [-90, 90]");
    ASSERT_STREQ(vs__geo_check(0, -180.5), "lon must be in [-180, 180]");
    ASSERT_STREQ(vs__geo_check(0, nextafter(180, 181)), "lon must be in [-180, 180]");

    vs__geo_region *g = (vs__geo_region *)1;
    vs__err e;
    want_err(vs__geo_cap_new(NAN, 0, 1, &g, &e), &g, &e, "center lat must be a finite number, got nan");
    want_err(vs__geo_cap_new(0, INFINITY, 1, &g, &e), &g, &e, "center lon must be a finite number, got inf");
    want_err(vs__geo_cap_new(90.0000001, 0, 1, &g, &e), &g, &e, "center lat 90.0000001 is outside [-90, 90]");
    want_err(vs__geo_cap_new(91, 0, 1, &g, &e), &g, &e, "center lat 91 is outside [-90, 90]");
    want_err(vs__geo_cap_new(0, -180.5, 1, &g, &e), &g, &e, "center lon -180.5 is outside [-180, 180]");
    want_err(vs__geo_cap_new(0, 0, -5, &g, &e), &g, &e, "radius must be a finite number >= 0, got -5");
    want_err(vs__geo_cap_new(0, 0, NAN, &g, &e), &g, &e, "radius must be a finite number >= 0, got nan");
    want_err(vs__geo_cap_new(0, 0, INFINITY, &g, &e), &g, &e, "radius must be a finite number >= 0, got inf");
    want_err(vs__geo_cap_new(0, 0, -1e-300, &g, &e), &g, &e, "radius must be a finite number >= 0, got -1e-300");
    ASSERT_OK(vs__geo_cap_new(0, 0, -0.0, &g, &e)); /* -0 is 0 */
    ASSERT(vs__geo_region_contains(g, 0, 0));
    vs__geo_region_free(g);

    want_err(vs__geo_rect_new(NAN, 0, 0, 1, &g, &e), &g, &e, "north must be a finite number, got nan");
    want_err(vs__geo_rect_new(91, 0, 0, 1, &g, &e), &g, &e, "north 91 is outside [-90, 90]");
    want_err(vs__geo_rect_new(10, -180.5, 0, 1, &g, &e), &g, &e, "west -180.5 is outside [-180, 180]");
    want_err(vs__geo_rect_new(10, 0, -INFINITY, 1, &g, &e), &g, &e, "south must be a finite number, got -inf");
    want_err(vs__geo_rect_new(10, 0, -90.0000001, 1, &g, &e), &g, &e, "south -90.0000001 is outside [-90, 90]");
    want_err(vs__geo_rect_new(10, 0, 0, 180.25, &g, &e), &g, &e, "east 180.25 is outside [-180, 180]");
    want_err(vs__geo_rect_new(10, 0, 20, 1, &g, &e), &g, &e, "north 10 is less than south 20");
    ASSERT_OK(vs__geo_rect_new(10, 5, 10, 5, &g, &e)); /* a single point */
    ASSERT(vs__geo_region_contains(g, 10, 5));
    ASSERT(!vs__geo_region_contains(g, 10, nextafter(5, 6)));
    vs__geo_region_free(g);

    /* polygons: ring 0 is the exterior, holes count from 0 */
    double la[16] = {0, 0, 10, 10, /* hole */ 1, 1, 2};
    double lo[16] = {0, 10, 10, 0, /* hole */ 1, 2, 2};
    size_t cnt[2] = {4, 3};
    ASSERT_OK(vs__geo_polygon_new(2, cnt, la, lo, &g, &e));
    vs__geo_region_free(g);
    want_err(vs__geo_polygon_new(0, cnt, la, lo, &g, &e), &g, &e, "polygon has no exterior ring");
    la[2] = NAN;
    want_err(vs__geo_polygon_new(2, cnt, la, lo, &g, &e), &g, &e,
             "exterior ring point 2: lat must be a finite number, got nan");
    la[2] = 10;
    lo[3] = -181;
    want_err(vs__geo_polygon_new(2, cnt, la, lo, &g, &e), &g, &e,
             "exterior ring point 3: lon -181 is outside [-180, 180]");
    lo[3] = 0;
    la[5] = 90.0000001;
    want_err(vs__geo_polygon_new(2, cnt, la, lo, &g, &e), &g, &e,
             "hole 0 point 1: lat 90.0000001 is outside [-90, 90]");
    la[5] = 1;
    lo[6] = INFINITY;
    want_err(vs__geo_polygon_new(2, cnt, la, lo, &g, &e), &g, &e,
             "hole 0 point 2: lon must be a finite number, got inf");
    lo[6] = 1; /* hole (1,1) (1,2) (2,1)... make it (1,1),(1,2),(1,1): 2 distinct */
    la[6] = 1;
    want_err(vs__geo_polygon_new(2, cnt, la, lo, &g, &e), &g, &e,
             "hole 0 has 2 distinct points (need at least 3)");
    /* exterior: A B A B closed → 2 distinct; one repeated point → 1 */
    double a2[5] = {0, 1, 0, 1, 0}, b2[5] = {0, 1, 0, 1, 0};
    size_t c5 = 5, c3 = 3, c2 = 2;
    want_err(vs__geo_polygon_new(1, &c5, a2, b2, &g, &e), &g, &e,
             "exterior ring has 2 distinct points (need at least 3)");
    double a1[3] = {4, 4, 4}, b1[3] = {5, 5, 5};
    want_err(vs__geo_polygon_new(1, &c3, a1, b1, &g, &e), &g, &e,
             "exterior ring has 1 distinct point (need at least 3)");
    want_err(vs__geo_polygon_new(1, &c2, a2 + 1, b2 + 1, &g, &e), &g, &e,
             "exterior ring has 2 distinct points (need at least 3)");
    size_t c0 = 0;
    want_err(vs__geo_polygon_new(1, &c0, a2, b2, &g, &e), &g, &e,
             "exterior ring has 0 distinct points (need at least 3)");
    /* a triangle with a closing point is fine; the closing point is not a 4th */
    double a4[4] = {0, 0, 1, 0}, b4[4] = {0, 1, 0, 0};
    size_t c4 = 4;
    ASSERT_OK(vs__geo_polygon_new(1, &c4, a4, b4, &g, &e));
    vs__geo_region_free(g);
    /* too many points, too many rings */
    size_t big = VS__GEO_POLY_POINTS_MAX + 1;
    double *bl = calloc(big, sizeof *bl);
    want_err(vs__geo_polygon_new(1, &big, bl, bl, &g, &e), &g, &e, "polygon has 100001 points (at most 100000)");
    size_t split[2] = {50000, 50001};
    want_err(vs__geo_polygon_new(2, split, bl, bl, &g, &e), &g, &e, "polygon has 100001 points (at most 100000)");
    size_t *many = calloc(VS__GEO_POLY_RINGS_MAX + 1, sizeof *many);
    for (int i = 0; i <= VS__GEO_POLY_RINGS_MAX; i++) many[i] = 3;
    want_err(vs__geo_polygon_new(VS__GEO_POLY_RINGS_MAX + 1, many, bl, bl, &g, &e), &g, &e,
             "polygon has 1001 rings (at most 1000: 1 exterior, 999 holes)");
    free(many);
    free(bl);
}

/* ------------------------------------------------------------ distances ---- */

TEST(geo, angle_and_distance_basics) {
    ref_init();
    ASSERT_EQ(vs__geo_angle(10, 20, 10, 20), 0);
    ASSERT_NEAR(vs__geo_angle(0, 0, 0, 180), M_PI, 1e-15);
    ASSERT_NEAR(vs__geo_angle(90, 0, -90, 0), M_PI, 1e-15);
    ASSERT_NEAR(vs__geo_angle(0, 0, 0, 90), M_PI / 2, 1e-15);
    ASSERT_NEAR(vs__geo_angle(0, 179.5, 0, -179.5), D2R, 1e-15);
    /* antipodes: the stable form keeps all digits (asin(√h) would lose half) */
    double lo2 = -140 + 1e-9, d = lo2 - -140; /* d exact */
    double a = vs__geo_angle(30, 40, -30, lo2), want = 2 * asin(cos(30 * D2R) * sin(d * D2R / 2));
    /* within 3 ulps of π - want; 2·asin(√h) would be off by ~1e-8 here */
    ASSERT_MSG(fabs(a - (M_PI - want)) < 1.4e-15, "angle %.17g, want %.17g", a, M_PI - want);
    a = vs__geo_angle(90 - 1e-12, 0, 90 - 1e-12, 90); /* near a pole: cos(lat) keeps its digits */
    want = 2 * asin(sin(((90 - 1e-12) - 90) * -D2R) * sin(M_PI / 4));
    ASSERT_MSG(fabs(a - want) < 1e-12 * want, "angle %.17g, want %.17g", a, want);
    /* symmetric, and the lon spellings agree */
    ASSERT_EQ(vs__geo_angle(12, 180, 13, 170), vs__geo_angle(12, -180, 13, 170));
    ASSERT_EQ(vs__geo_distance(0, 0, 0, 0), 0);
    ASSERT_EQ(vs__geo_distance(90, 0, 90, 123), 0);
    ASSERT_EQ(vs__geo_distance(10, 180, 10, -180), 0);
    /* half a meridian: the longest geodesic */
    ASSERT_NEAR(vs__geo_distance(0, 0, 0, 180), 20003931.4586254, 1e-12);
    ASSERT_NEAR(vs__geo_distance(90, 0, -90, 0), 20003931.4586254, 1e-12);
    ASSERT(vs__geo_distance(0, 0, 0, 180) < VS__GEO_RADIUS_MAX);
    /* a degree of meridian at the equator and at the pole (textbook figures) */
    ASSERT_NEAR(vs__geo_distance(-0.5, 0, 0.5, 0), 110574.4, 1e-6);
    ASSERT_NEAR(vs__geo_distance(89, 0, 90, 0), 111693.9, 1e-6);
    ASSERT_EQ(vs__geo_dist_lo(0), 0);
    ASSERT(vs__geo_dist_hi(0) > 0 && vs__geo_dist_hi(0) < 1e-5);
}

/* The bound of geo.h: dist_lo(θ) <= geodesic <= dist_hi(θ) for every pair; also the raw
 * ratios without slack, to see how tight b²/a and a²/b are. */
TEST(geo, distance_bounds) {
    ref_init();
    trng r = rng_make(1);
    const double lo_s = 6378137.0 * (1 - 1 / 298.257223563) * (1 - 1 / 298.257223563);
    const double hi_s = 6378137.0 / (1 - 1 / 298.257223563);
    const int n = vt_long() ? 5000000 : 1200000;
    const char *kinds[8] = {"uniform", "antipodal", "near-antipodal", "near a pole", "tiny (~1 mm)",
                            "short meridian at the equator", "short arc near a pole", "lon ±180"};
    double rmin[8], rmax[8];
    for (int k = 0; k < 8; k++) rmin[k] = INFINITY, rmax[k] = -INFINITY;
    double gmin = INFINITY, gmax = -INFINITY, amin = INFINITY, amax = INFINITY;
    for (int i = 0; i < n; i++) {
        int k = i % 8;
        double la1, lo1, la2, lo2;
        rpoint(&r, &la1, &lo1);
        switch (k) {
        case 0: rpoint(&r, &la2, &lo2); break;
        case 1:
            la2 = -la1;
            lo2 = lo1 > 0 ? lo1 - 180 : lo1 + 180;
            break;
        case 2: {
            double d = pow(10, rrange(&r, -9, 0));
            la2 = clampd(-la1 + rrange(&r, -d, d), -90, 90);
            lo2 = (lo1 > 0 ? lo1 - 180 : lo1 + 180) + rrange(&r, -d, d);
            lo2 = clampd(lo2, -180, 180);
            break;
        }
        case 3:
            la1 = (rnext(&r) & 1 ? 1 : -1) * (90 - pow(10, rrange(&r, -12, 0)));
            if (i % 24 == 3) la1 = la1 > 0 ? 90 : -90;
            rpoint(&r, &la2, &lo2);
            if (i % 3 == 0) la2 = (la1 > 0 ? 1 : -1) * (90 - pow(10, rrange(&r, -12, 1)));
            break;
        case 4: {
            double d = 1e-8 * rrange(&r, 0.1, 2); /* ~0.1–2 mm */
            double az = rrange(&r, 0, 2 * M_PI);
            la2 = clampd(la1 + d * cos(az), -90, 90);
            lo2 = clampd(lo1 + d * sin(az), -180, 180);
            break;
        }
        case 5:
            la1 = rrange(&r, -1e-3, 1e-3);
            la2 = la1 + pow(10, rrange(&r, -9, -2));
            lo2 = lo1;
            break;
        case 6:
            la1 = 90 - pow(10, rrange(&r, -8, -2));
            la2 = 90 - pow(10, rrange(&r, -8, -2));
            lo2 = clampd(lo1 + rrange(&r, -1, 1), -180, 180);
            break;
        default:
            lo1 = rnext(&r) & 1 ? 180 : -180;
            la2 = la1 + rrange(&r, -1, 1) * pow(10, rrange(&r, -8, 1));
            la2 = clampd(la2, -90, 90);
            lo2 = (rnext(&r) & 1 ? 1 : -1) * (180 - pow(10, rrange(&r, -9, 1)));
            break;
        }
        double th = vs__geo_angle(la1, lo1, la2, lo2);
        double s = vs__geo_distance(la1, lo1, la2, lo2);
        ASSERT_MSG(vs__geo_dist_lo(th) <= s && s <= vs__geo_dist_hi(th),
                   "%s: (%.17g, %.17g)-(%.17g, %.17g): θ %.17g s %.17g lo %.17g hi %.17g", kinds[k], la1,
                   lo1, la2, lo2, th, s, vs__geo_dist_lo(th), vs__geo_dist_hi(th));
        if (th > 0 && s >= 1000) { /* ratios where the absolute rounding is negligible */
            double rl = s / (th * lo_s), rh = s / (th * hi_s);
            if (rl < rmin[k]) rmin[k] = rl;
            if (rh > rmax[k]) rmax[k] = rh;
            if (rl < gmin) gmin = rl;
            if (rh > gmax) gmax = rh;
        } else if (s < 1000) { /* metres: geod_inverse rounds angles to 2^-57 degrees (0.7 pm) */
            if (s - th * lo_s < amin) amin = s - th * lo_s;
            if (th * hi_s - s < amax) amax = th * hi_s - s;
        }
    }
    for (int k = 0; k < 8; k++)
        if (rmin[k] < INFINITY)
            vt_note("%-30s min s/(θ·b²/a) = 1 %+.3e   max s/(θ·a²/b) = 1 %+.3e", kinds[k], rmin[k] - 1,
                    rmax[k] - 1);
    vt_note("%d pairs: over s >= 1 km the tightest ratios are s/(θ·b²/a) = 1 %+.3e and s/(θ·a²/b) = 1 %+.3e; "
            "below 1 km, min (s - θ·b²/a) = %.3g m and min (θ·a²/b - s) = %.3g m (slack: 1e-12 relative + 1e-6 m)",
            n, gmin - 1, gmax - 1, amin, amax);
    ASSERT(gmin >= 1 - 1e-13);
    ASSERT(gmax <= 1 + 1e-13);
    ASSERT(amin >= -1e-9 && amax >= -1e-9);
}

/* ------------------------------------------------------------------ caps ---- */

TEST(geo, cap_contains_diff) {
    ref_init();
    trng r = rng_make(2);
    static const double radii[] = {0, 1e-3, 0.5, 30, 1e3, 5e4, 1e6, 5e6, 1e7, 1.5e7, 1.99e7, 20003931,
                                   20003932, VS__GEO_RADIUS_MAX - 1, VS__GEO_RADIUS_MAX, 3e7};
    const int nr = (int)(sizeof radii / sizeof radii[0]);
    const int ncaps = vt_long() ? 2000 : 400, npts = 500;
    long checked = 0, ins = 0, near = 0;
    for (int ci = 0; ci < ncaps; ci++) {
        double lat, lon;
        rpoint(&r, &lat, &lon);
        switch (ci % 6) {
        case 1: lat = (ci & 8 ? 1 : -1) * (90 - pow(10, rrange(&r, -10, 0.5))); break;
        case 2: lat = ci & 8 ? 90 : -90; break;
        case 3: lon = ci & 8 ? 180 : -180; break;
        case 4: lon = (ci & 8 ? 1 : -1) * (180 - pow(10, rrange(&r, -10, 0))); break;
        default: break;
        }
        double rad = radii[ci % nr];
        if (ci % 7 == 0) rad = pow(10, rrange(&r, -3, 7.3));
        vs__geo_region *g = cap(lat, lon, rad);
        ASSERT_EQ(vs__geo_region_kind(g), VS__GEO_CAP);
        for (int k = 0; k < npts; k++) {
            double pl, po;
            int m = k % 8;
            if (m == 0) {
                rpoint(&r, &pl, &po);
            } else if (m <= 4) { /* at the boundary: distance r·(1 ± δ) */
                double d = m == 1 ? 0 : pow(10, rrange(&r, -16, -2)) * (rnext(&r) & 1 ? 1 : -1);
                double s = rad * (1 + d) + (m == 4 ? rrange(&r, -1e-6, 1e-6) : 0);
                ref_direct(lat, lon, rrange(&r, -180, 180), fabs(s), &pl, &po);
            } else if (m == 5) { /* near the center */
                ref_direct(lat, lon, rrange(&r, -180, 180), rad * runif(&r), &pl, &po);
            } else if (m == 6) { /* other spellings of the center, and at the poles */
                pl = lat, po = lon;
                if (fabs(pl) == 90 || (rnext(&r) & 1)) po = rrange(&r, -180, 180);
                if (fabs(lon) == 180) po = -lon;
                if (k % 3 == 0) pl = lat > 0 ? 90 : -90;
            } else { /* near the antipode */
                pl = -lat;
                po = lon > 0 ? lon - 180 : lon + 180;
                ref_direct(pl, po, rrange(&r, -180, 180), pow(10, rrange(&r, -3, 6)), &pl, &po);
            }
            int want = ref_dist(lat, lon, pl, po) <= (rad > 0 ? rad : 0);
            int got = vs__geo_region_contains(g, pl, po);
            ASSERT_MSG(got == want, "cap (%.17g, %.17g) r %.17g, point (%.17g, %.17g): got %d want %d (distance %.17g)",
                       lat, lon, rad, pl, po, got, want, ref_dist(lat, lon, pl, po));
            checked++;
            ins += want;
            near += m >= 1 && m <= 4;
        }
        vs__geo_region_free(g);
    }
    vt_note("%ld points, %ld inside, %ld within 1e-2 relative of the radius", checked, ins, near);
}

TEST(geo, cap_zero_radius_and_everything) {
    ref_init();
    vs__geo_region *g = cap(52.52, 13.40, 0);
    ASSERT(vs__geo_region_contains(g, 52.52, 13.40));
    ASSERT(!vs__geo_region_contains(g, nextafter(52.52, 90), 13.40));
    ASSERT(!vs__geo_region_contains(g, 52.52, nextafter(13.40, 0)));
    vs__geo_region_free(g);
    g = cap(90, 17, 0); /* a pole: any lon names it */
    ASSERT(vs__geo_region_contains(g, 90, -123));
    ASSERT(vs__geo_region_contains(g, 90, 180));
    ASSERT(!vs__geo_region_contains(g, -90, 17));
    ASSERT(!vs__geo_region_contains(g, nextafter(90, 0), 17));
    vs__geo_region_free(g);
    g = cap(-33, 180, 0); /* ±180 */
    ASSERT(vs__geo_region_contains(g, -33, -180));
    ASSERT(vs__geo_region_contains(g, -33, 180));
    vs__geo_region_free(g);
    g = cap(0, 0, 1e-3); /* one millimetre */
    ASSERT(vs__geo_region_contains(g, 0, 8.9e-9));
    ASSERT(!vs__geo_region_contains(g, 0, 9.1e-9));
    vs__geo_region_free(g);
    g = cap(12, 34, VS__GEO_RADIUS_MAX);
    ASSERT(vs__geo_region_contains(g, -12, 34 - 180));
    ASSERT(vs__geo_region_contains(g, -90, 0));
    ASSERT_EQ(vs__geo_region_covering(g)->n, 6);
    for (int i = 0; i < 6; i++) ASSERT(vs__geo_region_covering(g)->inside[i]);
    vs__geo_region_free(g);
    /* just below: everything but the far side's shell; antipode of an equator point is
     * 20003931.46 m away, so a radius of 20003931 leaves it out */
    g = cap(0, 0, 20003931);
    ASSERT(!vs__geo_region_contains(g, 0, 180));
    ASSERT(vs__geo_region_contains(g, 0, 179));
    vs__geo_region_free(g);
}

/* ----------------------------------------------------------------- rects ---- */

/* The rule, spelled out over the spellings of a point. */
static int ref_rect(double n, double w, double s, double e, double lat, double lon) {
    if (lat < s || lat > n) return 0;
    if (lat == 90 || lat == -90) return 1;
    double sp[2] = {lon, lon == 180 ? -180 : lon == -180 ? 180 : lon};
    for (int i = 0; i < 2; i++) {
        double x = sp[i];
        if (w <= e) {
            if (w <= x && x <= e) return 1;
        } else if ((w <= x && x <= 180) || (-180 <= x && x <= e)) {
            return 1;
        }
    }
    return 0;
}

static double rand_lon_near(trng *r, double w, double e) {
    double base = rnext(r) & 1 ? w : e;
    switch (rnext(r) % 6) {
    case 0: return base;
    case 1: return clampd(nextafter(base, 200), -180, 180);
    case 2: return clampd(nextafter(base, -200), -180, 180);
    case 3: return rnext(r) & 1 ? 180 : -180;
    case 4: return clampd(base + rrange(r, -1e-9, 1e-9), -180, 180);
    default: return rrange(r, -180, 180);
    }
}
static double rand_lat_near(trng *r, double s, double n) {
    double base = rnext(r) & 1 ? s : n;
    switch (rnext(r) % 6) {
    case 0: return base;
    case 1: return clampd(nextafter(base, 100), -90, 90);
    case 2: return clampd(nextafter(base, -100), -90, 90);
    case 3: return rnext(r) & 1 ? 90 : -90;
    case 4: return clampd(base + rrange(r, -1e-9, 1e-9), -90, 90);
    default: return rrange(r, -90, 90);
    }
}

/* A random box of every shape: wrapping, full, touching ±180 or the poles, degenerate. */
static void rand_rect(trng *r, double *n, double *w, double *s, double *e) {
    double a = rrange(r, -90, 90), b = rrange(r, -90, 90);
    double sz = pow(10, rrange(r, -6, 2.3));
    *w = rrange(r, -180, 180);
    *e = *w + sz;
    if (*e > 180) *e -= 360;
    if (rnext(r) % 3 == 0) { /* small in latitude too */
        b = clampd(a + pow(10, rrange(r, -6, 1.5)), -90, 90);
    }
    *n = fmax(a, b), *s = fmin(a, b);
    switch (rnext(r) % 10) {
    case 0: *w = -180, *e = 180; break;
    case 1: *e = 180; break;
    case 2: *w = -180; break;
    case 3: *w = 180; break;
    case 4: *n = 90; break;
    case 5: *s = -90; break;
    case 6: *e = *w; break;
    case 7: *s = *n; break;
    default: break;
    }
}

TEST(geo, rect_contains_diff) {
    trng r = rng_make(3);
    const int nrect = vt_long() ? 5000 : 1000;
    long checked = 0, ins = 0;
    for (int i = 0; i < nrect; i++) {
        double n, w, s, e;
        rand_rect(&r, &n, &w, &s, &e);
        vs__geo_region *g = rect(n, w, s, e);
        ASSERT_EQ(vs__geo_region_kind(g), VS__GEO_RECT);
        for (int k = 0; k < 400; k++) {
            double lat = rand_lat_near(&r, s, n), lon = rand_lon_near(&r, w, e);
            int want = ref_rect(n, w, s, e, lat, lon);
            int got = vs__geo_region_contains(g, lat, lon);
            ASSERT_MSG(got == want, "rect n %.17g w %.17g s %.17g e %.17g, point (%.17g, %.17g): got %d want %d",
                       n, w, s, e, lat, lon, got, want);
            checked++;
            ins += want;
        }
        vs__geo_region_free(g);
    }
    vt_note("%ld points, %ld inside", checked, ins);
    /* the documented corner cases */
    vs__geo_region *g = rect(10, 170, -10, -170);
    ASSERT(vs__geo_region_contains(g, 0, 180) && vs__geo_region_contains(g, 0, -180));
    ASSERT(vs__geo_region_contains(g, 0, 170) && vs__geo_region_contains(g, 0, -170));
    ASSERT(!vs__geo_region_contains(g, 0, 0) && !vs__geo_region_contains(g, 0, 169.9));
    vs__geo_region_free(g);
    g = rect(10, 170, -10, 180);
    ASSERT(vs__geo_region_contains(g, 0, -180));
    vs__geo_region_free(g);
    g = rect(90, 10, 80, 20);
    ASSERT(vs__geo_region_contains(g, 90, -150)); /* the pole, whatever its lon */
    ASSERT(!vs__geo_region_contains(g, 89, -150));
    vs__geo_region_free(g);
    g = rect(10, 180, -10, -180); /* west > east spanning nothing but the antimeridian */
    ASSERT(vs__geo_region_contains(g, 0, 180) && vs__geo_region_contains(g, 0, -180));
    ASSERT(!vs__geo_region_contains(g, 0, 179.999));
    vs__geo_region_free(g);
}

/* -------------------------------------------------------------- polygons ---- */

/* A polygon for the tests: rings of points on a grid of q degrees. */
typedef struct tpoly {
    size_t nr, n;
    size_t cnt[64];
    double lat[8192], lon[8192];
    double q;
} tpoly;

static double quant(double v, double q) { return nearbyint(v / q) * q; }

static void tp_ring_begin(tpoly *t) { t->cnt[t->nr++] = 0; }
static void tp_add(tpoly *t, double lat, double lon) {
    t->lat[t->n] = clampd(quant(lat, t->q), -90, 90);
    t->lon[t->n] = clampd(quant(lon, t->q), -180, 180);
    t->n++;
    t->cnt[t->nr - 1]++;
}

/* A star-shaped ring around (cy, cx): nv vertices at increasing angles, radii in
 * [rin, rout] (alternating when spiky); counter-clockwise unless cw. */
static void tp_star(tpoly *t, trng *r, double cy, double cx, double rin, double rout, int nv,
                    int spiky, int cw, int close) {
    tp_ring_begin(t);
    double a0 = rrange(r, 0, 2 * M_PI);
    for (int k = 0; k < nv; k++) {
        double a = a0 + (cw ? -1 : 1) * 2 * M_PI * (k + 0.4 * runif(r)) / nv;
        double rad = spiky ? (k & 1 ? rin : rout) * rrange(r, 0.9, 1) : rrange(r, rin, rout);
        tp_add(t, cy + rad * sin(a), cx + rad * cos(a));
    }
    if (close) tp_add(t, t->lat[t->n - t->cnt[t->nr - 1]], t->lon[t->n - t->cnt[t->nr - 1]]);
}

static vs__geo_region *tp_make(const tpoly *t) {
    vs__geo_region *g = NULL;
    vs__err e;
    int rc = vs__geo_polygon_new(t->nr, t->cnt, t->lat, t->lon, &g, &e);
    ASSERT_MSG(rc == VS_OK, "polygon: %s", e.msg);
    return g;
}

typedef __int128 i128;

/* Sunday's winding number of one ring: 2 on the boundary, 1 inside, 0 outside. */
static int ref_ring(const tpoly *t, size_t off, size_t m, double lat, double lon) {
    const double q = t->q;
    int64_t px = (int64_t)nearbyint(lon / q), py = (int64_t)nearbyint(lat / q);
    ASSERT_MSG((double)px * q == lon && (double)py * q == lat, "point off the grid");
    int wn = 0;
    for (size_t i = 0; i < m; i++) {
        size_t j = (i + 1) % m;
        int64_t ax = (int64_t)nearbyint(t->lon[off + i] / q), ay = (int64_t)nearbyint(t->lat[off + i] / q);
        int64_t bx = (int64_t)nearbyint(t->lon[off + j] / q), by = (int64_t)nearbyint(t->lat[off + j] / q);
        i128 o = (i128)(bx - ax) * (py - ay) - (i128)(by - ay) * (px - ax);
        if (o == 0 && px >= (ax < bx ? ax : bx) && px <= (ax < bx ? bx : ax) && py >= (ay < by ? ay : by) &&
            py <= (ay < by ? by : ay))
            return 2;
        if (ay <= py) {
            if (by > py && o > 0) wn++;
        } else if (by <= py && o < 0) {
            wn--;
        }
    }
    return wn != 0;
}

static int ref_poly(const tpoly *t, double lat, double lon) {
    size_t off = 0;
    for (size_t r = 0; r < t->nr; r++) {
        int v = ref_ring(t, off, t->cnt[r], lat, lon);
        if (r == 0 && v == 0) return 0;
        if (r > 0 && v == 1) return 0;
        off += t->cnt[r];
    }
    return 1;
}

/* A test point near the polygon's edges and vertices, on the grid. */
static void tp_point(const tpoly *t, trng *r, double *lat, double *lon) {
    size_t i = rnext(r) % t->n;
    double la = t->lat[i], lo = t->lon[i];
    /* the next vertex of the same ring */
    size_t off = 0, ri = 0;
    while (i >= off + t->cnt[ri]) off += t->cnt[ri++];
    size_t j = i + 1 < off + t->cnt[ri] ? i + 1 : off;
    double lb = t->lat[j], lob = t->lon[j];
    double y0 = t->lat[0], y1 = t->lat[0], x0 = t->lon[0], x1 = t->lon[0];
    for (size_t k = 0; k < t->cnt[0]; k++) {
        y0 = fmin(y0, t->lat[k]), y1 = fmax(y1, t->lat[k]);
        x0 = fmin(x0, t->lon[k]), x1 = fmax(x1, t->lon[k]);
    }
    double dy = (y1 - y0) * 0.1 + t->q, dx = (x1 - x0) * 0.1 + t->q;
    switch (rnext(r) % 7) {
    case 0: *lat = la, *lon = lo; break; /* a vertex */
    case 1: { /* on or a grid step off an edge */
        double u = runif(r);
        *lat = la + u * (lb - la) + t->q * (double)((int)(rnext(r) % 3) - 1);
        *lon = lo + u * (lob - lo) + t->q * (double)((int)(rnext(r) % 3) - 1);
        break;
    }
    case 2: /* the midpoint (on the edge when the grid allows) */
        *lat = 0.5 * (la + lb), *lon = 0.5 * (lo + lob);
        break;
    case 3: /* the latitude of a vertex: the half-open rule's case */
        *lat = la, *lon = rrange(r, x0 - dx, x1 + dx);
        break;
    case 4: *lat = rrange(r, y0 - dy, y1 + dy), *lon = lo; break;
    default: *lat = rrange(r, y0 - dy, y1 + dy), *lon = rrange(r, x0 - dx, x1 + dx); break;
    }
    *lat = clampd(quant(*lat, t->q), -90, 90);
    *lon = clampd(quant(*lon, t->q), -180, 180);
}

static void poly_diff(tpoly *t, trng *r, int npts, long *checked, long *ins, long *onb) {
    vs__geo_region *g = tp_make(t);
    ASSERT_EQ(vs__geo_region_kind(g), VS__GEO_POLYGON);
    for (int k = 0; k < npts; k++) {
        double lat, lon;
        tp_point(t, r, &lat, &lon);
        int want = ref_poly(t, lat, lon);
        int got = vs__geo_region_contains(g, lat, lon);
        if (got != want) {
            vs__geo_region_free(g);
            ASSERT_MSG(0, "polygon (%zu rings, %zu points, grid %g) point (%.17g, %.17g): got %d want %d",
                       t->nr, t->n, t->q, lat, lon, got, want);
        }
        (*checked)++;
        *ins += want;
        *onb += ref_ring(t, 0, t->cnt[0], lat, lon) == 2;
    }
    vs__geo_region_free(g);
}

TEST(geo, polygon_contains_diff) {
    trng r = rng_make(4);
    static tpoly t;
    long checked = 0, ins = 0, onb = 0;
    const int reps = vt_long() ? 200 : 40;
    for (int i = 0; i < reps; i++) {
        /* stars: convex-ish and spiky, small and large, few and many vertices */
        memset(&t, 0, sizeof t);
        double cy = rrange(&r, -60, 60), cx = rrange(&r, -150, 150), R = pow(10, rrange(&r, -4, 1.4));
        /* a grid of 2^-40 degrees, or coarser (more exact collinearity) but >= 1e5 steps per R */
        t.q = i % 3 == 0 ? 0x1p-40 : ldexp(1, ilogb(R) - (i % 3 == 1 ? 17 : 30));
        int nv = i % 4 == 0 ? 5 : i % 4 == 1 ? 40 : i % 4 == 2 ? 300 : 2000;
        tp_star(&t, &r, cy, cx, R * 0.3, R, nv, i & 1, i % 5 == 0, i % 2 == 0);
        poly_diff(&t, &r, 3000, &checked, &ins, &onb);
        /* with holes: small stars inside (and one crossing the exterior's boundary) */
        int nh = 1 + (int)(rnext(&r) % 6);
        for (int h = 0; h < nh; h++) {
            double hr = R * rrange(&r, 0.02, 0.15), ha = rrange(&r, 0, 2 * M_PI), hd = R * rrange(&r, 0, 0.3);
            if (h == nh - 1 && (i & 2)) hd = R * 0.95;
            tp_star(&t, &r, cy + hd * sin(ha), cx + hd * cos(ha), hr * 0.4, hr, 3 + (int)(rnext(&r) % 30),
                    h & 1, h % 3 == 0, h & 1);
        }
        poly_diff(&t, &r, 3000, &checked, &ins, &onb);
    }
    /* a U (axis-parallel edges: points on them are exact), with a hole in one arm */
    for (int i = 0; i < reps; i++) {
        memset(&t, 0, sizeof t);
        t.q = 0x1p-30;
        double cy = rrange(&r, -80, 70), cx = rrange(&r, -170, 160), s = pow(10, rrange(&r, -5, 0.7));
        static const double u[8][2] = {{0, 0}, {0, 10}, {10, 10}, {10, 7}, {3, 7}, {3, 3}, {10, 3}, {10, 0}};
        tp_ring_begin(&t);
        for (int k = 0; k < 8; k++) tp_add(&t, cy + u[k][1] * s, cx + u[k][0] * s);
        tp_ring_begin(&t); /* hole in the bottom arm, touching the outer edge at one point */
        tp_add(&t, cy + 1 * s, cx + 5 * s);
        tp_add(&t, cy + 1 * s, cx + 8 * s);
        tp_add(&t, cy + 0 * s, cx + 6.5 * s);
        poly_diff(&t, &r, 4000, &checked, &ins, &onb);
    }
    /* a tiny polygon near (0, 0) on a 2^-70 grid: coordinates with ~50 significant
     * bits, so nearly collinear points take the exact orientation path */
    for (int i = 0; i < reps; i++) {
        memset(&t, 0, sizeof t);
        t.q = 0x1p-70;
        tp_star(&t, &r, rrange(&r, -1, 1) * 1e-7, rrange(&r, -1, 1) * 1e-7, 1e-8, 1e-7, 7 + i, i & 1, 0, 0);
        poly_diff(&t, &r, 3000, &checked, &ins, &onb);
    }
    vt_note("%ld points, %ld inside, %ld on the exterior ring", checked, ins, onb);
}

TEST(geo, polygon_boundary_rules) {
    vs__err e;
    vs__geo_region *g;
    /* square (0..10)² with a hole (4..6)² */
    double la[] = {0, 0, 10, 10, 0, 4, 6, 6, 4};
    double lo[] = {0, 10, 10, 0, 0, 4, 4, 6, 6};
    size_t cnt[2] = {5, 4};
    ASSERT_OK(vs__geo_polygon_new(2, cnt, la, lo, &g, &e));
    ASSERT(vs__geo_region_contains(g, 0, 0));     /* exterior vertex */
    ASSERT(vs__geo_region_contains(g, 0, 5));     /* exterior edge */
    ASSERT(vs__geo_region_contains(g, 10, 3.3));  /* top edge */
    ASSERT(vs__geo_region_contains(g, 7.77, 10)); /* right edge */
    ASSERT(!vs__geo_region_contains(g, -1e-90, 5));
    ASSERT(vs__geo_region_contains(g, nextafter(0, -1), 5)); /* below 2^-300: taken as 0 */
    ASSERT(!vs__geo_region_contains(g, 5, nextafter(10, 11)));
    ASSERT(vs__geo_region_contains(g, 2, 2));
    ASSERT(!vs__geo_region_contains(g, 5, 5));   /* strictly in the hole */
    ASSERT(vs__geo_region_contains(g, 4, 5));    /* on the hole's edge: inside */
    ASSERT(vs__geo_region_contains(g, 6, 6));    /* hole vertex */
    ASSERT(!vs__geo_region_contains(g, nextafter(4, 5), 5));
    ASSERT(vs__geo_region_contains(g, nextafter(4, 3), 5));
    vs__geo_region_free(g);
    /* a diagonal edge (0,0)-(lat 0.3, lon 0.1): its midpoint (0.3/2, 0.1/2) is exactly on
     * it, one ulp east is inside, one ulp west outside; the double determinant cannot
     * tell (|det| ~ 2e-18 under an error bound of 1e-17), the exact one can */
    double tl[] = {0, 0.3, 0}, tn[] = {0, 0.1, 0.3};
    size_t c3 = 3;
    ASSERT_OK(vs__geo_polygon_new(1, &c3, tl, tn, &g, &e));
    ASSERT(vs__geo_region_contains(g, 0.3 / 2, 0.1 / 2));
    ASSERT(vs__geo_region_contains(g, 0.3 / 2, nextafter(0.1 / 2, 1)));
    ASSERT(!vs__geo_region_contains(g, 0.3 / 2, nextafter(0.1 / 2, 0)));
    ASSERT(!vs__geo_region_contains(g, nextafter(0.3 / 2, 1), 0.1 / 2));
    ASSERT(vs__geo_region_contains(g, nextafter(0.3 / 2, 0), 0.1 / 2));
    vs__geo_region_free(g);
    /* pentagram (self-intersecting): even-odd leaves the middle out */
    double pl[5], pn[5];
    for (int k = 0; k < 5; k++) {
        double a = M_PI / 2 + k * 4 * M_PI / 5;
        pl[k] = 10 * sin(a);
        pn[k] = 10 * cos(a);
    }
    size_t c5 = 5;
    ASSERT_OK(vs__geo_polygon_new(1, &c5, pl, pn, &g, &e));
    ASSERT(!vs__geo_region_contains(g, 0, 0));
    ASSERT(vs__geo_region_contains(g, 6, 0)); /* in the top point */
    vs__geo_region_free(g);
    /* planar at ±180 and the poles, as in Qdrant */
    double al[] = {80, 80, 90, 90}, an[] = {170, 180, 180, 170};
    size_t c4 = 4;
    ASSERT_OK(vs__geo_polygon_new(1, &c4, al, an, &g, &e));
    ASSERT(vs__geo_region_contains(g, 85, 180));
    ASSERT(!vs__geo_region_contains(g, 85, -180));
    ASSERT(vs__geo_region_contains(g, 90, 175));
    ASSERT(!vs__geo_region_contains(g, 90, 0));
    vs__geo_region_free(g);
    /* coordinates below 2^-300 degrees count as 0 */
    double zl[] = {0, 1e-310, 1}, zn[] = {0, 1, 1e-305};
    ASSERT_OK(vs__geo_polygon_new(1, &c3, zl, zn, &g, &e));
    ASSERT(vs__geo_region_contains(g, 0, 0.5));
    ASSERT(vs__geo_region_contains(g, -1e-200, 0.5));
    ASSERT(!vs__geo_region_contains(g, -1e-80, 0.5));
    vs__geo_region_free(g);
}

/* -------------------------------------------------------- S2 coverings ---- */

typedef struct cov_stats {
    long regions, cells, pts, contained, in_inside, inside_samples, relate_checks;
    double ratio_sum[2], ratio_max[2]; /* [0] regular regions, [1] thin ones */
    int ratio_n[2];
} cov_stats;

/* Thin: the smaller extent under a tenth of the larger (on the sphere), or a planar
 * polygon reaching a pole (a wedge with its apex there). */
static int is_thin(double south, double north, double span) {
    double h = (north - south) * D2R, w = span * D2R * cos((north + south) * D2R / 2);
    return fmin(h, w) < 0.1 * fmax(h, w);
}

/* Every contained point's leaf is in the covering; every point of an INSIDE cell is
 * contained. pts[] holds candidate points (lat, lon). area is the region's (unit
 * sphere; 0 = unknown). */
static void check_covering(const vs__geo_region *g, trng *r, const double *pts, int npts, double area,
                           int thin, cov_stats *st, const char *what) {
    const vs__s2_covering *cv = vs__geo_region_covering(g);
    for (size_t i = 1; i < cv->n; i++)
        ASSERT_MSG(vs__s2_range_max(cv->cells[i - 1]) < vs__s2_range_min(cv->cells[i]), "%s: cells overlap", what);
    ASSERT_MSG(cv->n <= 4 * VS__GEO_COVER_CELLS, "%s: %zu cells", what, cv->n);
    for (int k = 0; k < npts; k++) {
        double lat = pts[2 * k], lon = pts[2 * k + 1];
        int inside, in = in_covering(cv, lat, lon, &inside);
        int c = vs__geo_region_contains(g, lat, lon);
        ASSERT_MSG(!c || in, "%s: contained point (%.17g, %.17g) is not in the covering", what, lat, lon);
        ASSERT_MSG(!inside || c, "%s: point (%.17g, %.17g) of an inside cell is not contained", what, lat, lon);
        st->pts++;
        st->contained += c;
        st->in_inside += inside;
    }
    for (size_t i = 0; i < cv->n; i++) {
        if (!cv->inside[i]) continue;
        for (int k = 0; k < 20; k++) {
            double lat, lon;
            cell_sample(r, cv->cells[i], &lat, &lon);
            ASSERT_MSG(vs__geo_region_contains(g, lat, lon),
                       "%s: point (%.17g, %.17g) of inside cell %016llx (level %d) is not contained", what, lat,
                       lon, (unsigned long long)cv->cells[i], vs__s2_level(cv->cells[i]));
            st->inside_samples++;
        }
    }
    /* the relation itself, on random cells around the points */
    for (int k = 0; k < npts; k += 7) {
        vs__s2cell c = vs__s2_parent(vs__s2_from_latlng(pts[2 * k], pts[2 * k + 1]), (int)(rnext(r) % 31));
        int rel = vs__geo_region_relate(g, c);
        if (rel == VS__S2_INTERSECTS) continue;
        for (int j = 0; j < 10; j++) {
            double lat, lon;
            cell_sample(r, c, &lat, &lon);
            int in = vs__geo_region_contains(g, lat, lon);
            ASSERT_MSG(in == (rel == VS__S2_INSIDE), "%s: cell %016llx (level %d) is %s but (%.17g, %.17g) is %s",
                       what, (unsigned long long)c, vs__s2_level(c), rel == VS__S2_INSIDE ? "INSIDE" : "DISJOINT",
                       lat, lon, in ? "in" : "out");
            st->relate_checks++;
        }
    }
    st->regions++;
    st->cells += (long)cv->n;
    if (area > 1e-24) {
        double ratio = covering_area(cv) / area;
        st->ratio_sum[thin] += ratio;
        st->ratio_n[thin]++;
        if (ratio > st->ratio_max[thin]) st->ratio_max[thin] = ratio;
    }
}

static void note_stats(const char *kind, const cov_stats *st) {
    vt_note("%s: %ld regions, %.1f cells on average; %ld points (%ld contained, %ld in inside cells), %ld "
            "inside-cell samples, %ld relate samples", kind, st->regions, (double)st->cells / (double)st->regions,
            st->pts, st->contained, st->in_inside, st->inside_samples, st->relate_checks);
    for (int t = 0; t < 2; t++)
        if (st->ratio_n[t])
            vt_note("%s, %s: covered area / region area %.2f on average, max %.3g (%d regions)", kind,
                    t ? "thin (extent ratio < 1:10, or a polygon wedge at a pole)" : "regular",
                    st->ratio_sum[t] / st->ratio_n[t], st->ratio_max[t], st->ratio_n[t]);
}

#define NPTS 3000

TEST(geo, covering_cap) {
    ref_init();
    trng r = rng_make(5);
    static double pts[2 * NPTS];
    cov_stats st = {0};
    cov_stats big = {0};
    const int nreg = vt_long() ? 400 : 80;
    for (int i = 0; i < nreg; i++) {
        double lat, lon;
        rpoint(&r, &lat, &lon);
        if (i % 5 == 1) lat = (i & 2 ? 1 : -1) * (90 - pow(10, rrange(&r, -8, 0.5)));
        if (i % 5 == 2) lat = i & 2 ? 90 : -90;
        if (i % 5 == 3) lon = (i & 2 ? 1 : -1) * (i & 4 ? 180 : 180 - pow(10, rrange(&r, -8, 0)));
        double rad = i % 11 == 0 ? 0 : pow(10, rrange(&r, -2, 7.35));
        if (i % 13 == 0) rad = rrange(&r, 1.99e7, 2.1e7);
        vs__geo_region *g = cap(lat, lon, rad);
        for (int k = 0; k < NPTS; k++) {
            double pl, po;
            switch (k % 4) {
            case 0: ref_direct(lat, lon, rrange(&r, -180, 180), rad * (1 + rrange(&r, -1e-6, 1e-6)), &pl, &po); break;
            case 1: ref_direct(lat, lon, rrange(&r, -180, 180), rad * runif(&r) * 1.5, &pl, &po); break;
            case 2:
                ref_direct(lat, lon, rrange(&r, -180, 180), rad * runif(&r) * 1.5, &pl, &po);
                if (rnext(&r) & 1) pl = pl > 0 ? 90 : -90;  /* a pole, any lon */
                else if (fabs(po) > 170) po = po > 0 ? 180 : -180;
                break;
            default: rpoint(&r, &pl, &po); break;
            }
            pts[2 * k] = pl, pts[2 * k + 1] = po;
        }
        double th = rad / VS__GEO_EARTH_RADIUS;
        double area = rad >= VS__GEO_RADIUS_MAX ? 4 * M_PI : 2 * M_PI * (1 - cos(fmin(th, M_PI)));
        check_covering(g, &r, pts, NPTS, rad > 1 ? area : 0, 0, rad > 1e5 ? &big : &st, "cap");
        vs__geo_region_free(g);
    }
    note_stats("caps r <= 100 km", &st);
    note_stats("caps r > 100 km", &big);
}

TEST(geo, covering_rect) {
    trng r = rng_make(6);
    static double pts[2 * NPTS];
    cov_stats st = {0};
    const int nreg = vt_long() ? 400 : 100;
    for (int i = 0; i < nreg; i++) {
        double n, w, s, e;
        rand_rect(&r, &n, &w, &s, &e);
        vs__geo_region *g = rect(n, w, s, e);
        for (int k = 0; k < NPTS; k++) {
            double lat, lon;
            if (k % 3 == 0) {
                lat = rrange(&r, s, n);
                lon = rand_lon_near(&r, w, e);
            } else if (k % 3 == 1) {
                lat = rand_lat_near(&r, s, n);
                lon = w <= e ? rrange(&r, w, e) : rrange(&r, w, e + 360);
                if (lon > 180) lon -= 360;
            } else {
                lat = rand_lat_near(&r, s, n);
                lon = rand_lon_near(&r, w, e);
            }
            pts[2 * k] = lat, pts[2 * k + 1] = lon;
        }
        double span = w == -180 && e == 180 ? 360 : w <= e ? e - w : e - w + 360;
        double area = span * D2R * (sin(n * D2R) - sin(s * D2R));
        check_covering(g, &r, pts, NPTS, area, is_thin(s, n, span), &st, "rect");
        vs__geo_region_free(g);
    }
    note_stats("rects", &st);
}

TEST(geo, covering_polygon) {
    trng r = rng_make(7);
    static double pts[2 * NPTS];
    static tpoly t;
    cov_stats st = {0};
    const int nreg = vt_long() ? 300 : 60;
    for (int i = 0; i < nreg; i++) {
        memset(&t, 0, sizeof t);
        t.q = 0x1p-30;
        double cy = rrange(&r, -85, 85), cx = rrange(&r, -179, 179), R = pow(10, rrange(&r, -4, 1.3));
        if (i % 6 == 1) cx = 180 - R * 0.5;  /* clipped at 180 */
        if (i % 6 == 2) cy = 90 - R * 0.5;   /* clipped at the pole */
        if (i % 6 == 3) cx = -180 + R * 0.5; /* clipped at -180 */
        tp_star(&t, &r, cy, cx, R * 0.3, R, i % 3 == 0 ? 6 : i % 3 == 1 ? 60 : 600, i & 1, 0, 0);
        if (i & 4) tp_star(&t, &r, clampd(cy, -89, 89), clampd(cx, -179, 179), R * 0.05, R * 0.2, 12, 0, 1, 0);
        vs__geo_region *g = tp_make(&t);
        for (int k = 0; k < NPTS; k++) {
            double lat, lon;
            tp_point(&t, &r, &lat, &lon);
            if (k % 10 == 9) lat = lat > 0 ? 90 : -90;
            if (k % 10 == 8 && fabs(lon) > 179) lon = lon > 0 ? -180 : 180;
            pts[2 * k] = lat, pts[2 * k + 1] = lon;
        }
        /* area: uniform samples over the exterior's bounding box on the sphere */
        double y0 = 90, y1 = -90, x0 = 180, x1 = -180;
        for (size_t k = 0; k < t.cnt[0]; k++) {
            y0 = fmin(y0, t.lat[k]), y1 = fmax(y1, t.lat[k]);
            x0 = fmin(x0, t.lon[k]), x1 = fmax(x1, t.lon[k]);
        }
        int hit = 0;
        for (int k = 0; k < 4000; k++) {
            double lat = asin(rrange(&r, sin(y0 * D2R), sin(y1 * D2R))) / D2R, lon = rrange(&r, x0, x1);
            hit += vs__geo_region_contains(g, lat, lon);
        }
        double area = (x1 - x0) * D2R * (sin(y1 * D2R) - sin(y0 * D2R)) * hit / 4000;
        int thin = is_thin(y0, y1, x1 - x0) || y1 == 90 || y0 == -90;
        check_covering(g, &r, pts, NPTS, area, thin, &st, "polygon");
        vs__geo_region_free(g);
    }
    note_stats("polygons", &st);
}

/* ------------------------------------------------------ allocation failures ---- */

TEST(geo, out_of_memory_sweep) {
    static tpoly t;
    trng r = rng_make(8);
    memset(&t, 0, sizeof t);
    t.q = 0x1p-30;
    tp_star(&t, &r, 40, 10, 0.5, 2, 200, 1, 0, 1);
    tp_star(&t, &r, 40, 10, 0.05, 0.2, 10, 0, 1, 0);
    int failures = 0;
    for (int kind = 0; kind < 3; kind++) {
        int64_t live0 = vs__alloc_live();
        for (int64_t n = 1; n < 100000; n++) {
            vs__geo_region *g = NULL;
            vs__err e;
            int64_t f0 = vs__alloc_failures();
            vs__alloc_fail_after(n);
            int rc = kind == 0   ? vs__geo_cap_new(48.8, 2.35, 5e4, &g, &e)
                     : kind == 1 ? vs__geo_rect_new(10, 170, -10, -170, &g, &e)
                                 : vs__geo_polygon_new(t.nr, t.cnt, t.lat, t.lon, &g, &e);
            vs__alloc_fail_after(0);
            int injected = vs__alloc_failures() != f0;
            if (rc == VS_OK) {
                ASSERT(g != NULL);
                ASSERT(vs__geo_region_covering(g)->n > 0);
                vs__geo_region_free(g);
            } else {
                ASSERT_RC(rc, VS_ENOMEM);
                ASSERT(g == NULL);
                ASSERT_CONTAINS(e.msg, "out of memory");
                failures++;
            }
            ASSERT_EQ(vs__alloc_live(), live0);
            if (!injected) break;
        }
    }
    ASSERT(failures >= 5);
}

/* ------------------------------------------------------------- performance ---- */

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

TEST(geo, perf) {
    trng r = rng_make(9);
    enum { N = 200000 };
    double *p = malloc(4 * N * sizeof *p);
    for (int i = 0; i < N; i++) {
        rpoint(&r, &p[4 * i], &p[4 * i + 1]);
        rpoint(&r, &p[4 * i + 2], &p[4 * i + 3]);
    }
    volatile double sink = 0;
    double t0 = now_ns();
    for (int i = 0; i < N; i++) sink += vs__geo_distance(p[4 * i], p[4 * i + 1], p[4 * i + 2], p[4 * i + 3]);
    double t_dist = (now_ns() - t0) / N;
    t0 = now_ns();
    for (int i = 0; i < N; i++) sink += vs__geo_angle(p[4 * i], p[4 * i + 1], p[4 * i + 2], p[4 * i + 3]);
    double t_angle = (now_ns() - t0) / N;
    /* a 100 km cap; points within 80 km or beyond 120 km (the fast path) */
    vs__geo_region *g = cap(48.85, 2.35, 1e5);
    ref_init();
    for (int i = 0; i < N; i++) {
        double s = i & 1 ? rrange(&r, 0, 8e4) : rrange(&r, 1.2e5, 2e7);
        ref_direct(48.85, 2.35, rrange(&r, -180, 180), s, &p[2 * i], &p[2 * i + 1]);
    }
    volatile int cnt = 0;
    t0 = now_ns();
    for (int i = 0; i < N; i++) cnt += vs__geo_region_contains(g, p[2 * i], p[2 * i + 1]);
    double t_cap = (now_ns() - t0) / N;
    /* points within 1 m of the boundary: the exact path */
    for (int i = 0; i < N / 10; i++)
        ref_direct(48.85, 2.35, rrange(&r, -180, 180), 1e5 + rrange(&r, -1, 1), &p[2 * i], &p[2 * i + 1]);
    t0 = now_ns();
    for (int i = 0; i < N / 10; i++) cnt += vs__geo_region_contains(g, p[2 * i], p[2 * i + 1]);
    double t_cap_edge = (now_ns() - t0) / (N / 10);
    vs__geo_region_free(g);
    /* polygons: 1000 and 10000 vertex stars, points uniform in the bounding box */
    static tpoly t;
    double t_poly[4];
    for (int v = 0; v < 4; v++) {
        memset(&t, 0, sizeof t);
        t.q = 0x1p-30;
        if (v < 2)
            tp_star(&t, &r, 45, 7, 0.5, 2, v ? 8000 : 1000, 1, 0, 0);
        else
            tp_star(&t, &r, 45, 7, 1.8, 2, v == 3 ? 8000 : 1000, 0, 0, 0);
        g = tp_make(&t);
        for (int i = 0; i < N; i++) p[2 * i] = rrange(&r, 43, 47), p[2 * i + 1] = rrange(&r, 5, 9);
        t0 = now_ns();
        for (int i = 0; i < N; i++) cnt += vs__geo_region_contains(g, p[2 * i], p[2 * i + 1]);
        t_poly[v] = (now_ns() - t0) / N;
        vs__geo_region_free(g);
    }
    /* constructing regions (the covering included) */
    t0 = now_ns();
    for (int i = 0; i < 200; i++) {
        g = cap(rrange(&r, -80, 80), rrange(&r, -180, 180), pow(10, rrange(&r, 1, 6)));
        vs__geo_region_free(g);
    }
    double t_new = (now_ns() - t0) / 200;
    memset(&t, 0, sizeof t);
    t.q = 0x1p-30;
    tp_star(&t, &r, 45, 7, 0.5, 2, 8000, 1, 0, 0);
    t0 = now_ns();
    g = tp_make(&t);
    double t_pnew = now_ns() - t0;
    vs__geo_region_free(g);
    /* the largest polygon allowed: 100000 vertices along a wavy circle with 1 mm noise
     * (an outline like a coast's, not a sawtooth) */
    double *bl = malloc(2 * VS__GEO_POLY_POINTS_MAX * sizeof *bl), *bn = bl + VS__GEO_POLY_POINTS_MAX;
    for (int k = 0; k < VS__GEO_POLY_POINTS_MAX; k++) {
        double a = 2 * M_PI * k / VS__GEO_POLY_POINTS_MAX, rad = 9.5 + 0.5 * sin(7 * a) + rrange(&r, 0, 1e-8);
        bl[k] = 40 + rad * sin(a), bn[k] = 10 + rad * cos(a);
    }
    size_t bc = VS__GEO_POLY_POINTS_MAX;
    vs__err e;
    t0 = now_ns();
    ASSERT_OK(vs__geo_polygon_new(1, &bc, bl, bn, &g, &e));
    double t_big = now_ns() - t0;
    for (int i = 0; i < N; i++) p[2 * i] = rrange(&r, 29, 51), p[2 * i + 1] = rrange(&r, -1, 21);
    t0 = now_ns();
    for (int i = 0; i < N; i++) cnt += vs__geo_region_contains(g, p[2 * i], p[2 * i + 1]);
    double t_bigc = (now_ns() - t0) / N;
    vs__geo_region_free(g);
    free(bl);
    vt_note("vs__geo_distance %.0f ns, vs__geo_angle %.0f ns", t_dist, t_angle);
    vt_note("cap contains: %.1f ns far from the boundary, %.0f ns within 1 m of it", t_cap, t_cap_edge);
    vt_note("polygon contains, points uniform in the bounding box: spiky star (radii alternating 0.5 / 2) "
            "%.0f ns with 1000 vertices, %.0f ns with 8000; ragged circle (radii in [1.8, 2]) %.0f ns with "
            "1000, %.0f ns with 8000", t_poly[0], t_poly[1], t_poly[2], t_poly[3]);
    vt_note("cap_new with covering %.1f us; 8000-vertex polygon_new %.2f ms; 100000-vertex polygon_new "
            "%.1f ms, its contains (a wavy outline) %.0f ns", t_new / 1e3, t_pnew / 1e6, t_big / 1e6, t_bigc);
    (void)sink;
    (void)cnt;
    free(p);
}

/* ------------------------------------------------------------ the oracle ---- */

TEST(geo_oracle, distance_vs_geographiclib) {
#ifdef VS_HAVE_ORACLE
    trng r = rng_make(10);
    const int n = vt_long() ? 1000000 : 120000;
    const char *kinds[6] = {"uniform", "antipodal/near-antipodal", "poles", "meridians", "equator", "tiny"};
    double maxd[6] = {0}, maxrel = 0;
    long same = 0;
    for (int i = 0; i < n; i++) {
        int k = i % 6;
        double la1, lo1, la2, lo2;
        rpoint(&r, &la1, &lo1);
        rpoint(&r, &la2, &lo2);
        switch (k) {
        case 1: {
            double d = i % 12 == 1 ? 0 : pow(10, rrange(&r, -10, 0.5));
            la2 = clampd(-la1 + rrange(&r, -d, d), -90, 90);
            lo2 = clampd((lo1 > 0 ? lo1 - 180 : lo1 + 180) + rrange(&r, -d, d), -180, 180);
            break;
        }
        case 2:
            la1 = (i & 1 ? 1 : -1) * (90 - (i % 4 == 0 ? 0 : pow(10, rrange(&r, -12, 0.5))));
            if (i % 3 == 0) la2 = (i & 2 ? 1 : -1) * (90 - pow(10, rrange(&r, -12, 0.5)));
            break;
        case 3: lo2 = i & 2 ? lo1 : (lo1 > 0 ? lo1 - 180 : lo1 + 180); break;
        case 4:
            la1 = 0, la2 = i & 2 ? 0 : rrange(&r, -1e-6, 1e-6);
            break;
        case 5: {
            double d = pow(10, rrange(&r, -9, -5));
            la2 = clampd(la1 + rrange(&r, -d, d), -90, 90);
            lo2 = clampd(lo1 + rrange(&r, -d, d), -180, 180);
            break;
        }
        default: break;
        }
        double want;
        ASSERT_MSG(vso_geodesic_inverse(la1, lo1, la2, lo2, &want) == 0, "GeographicLib failed on (%.17g, %.17g)-(%.17g, %.17g)",
                   la1, lo1, la2, lo2);
        double got = vs__geo_distance(la1, lo1, la2, lo2);
        double d = fabs(got - want);
        ASSERT_MSG(d <= 1, "(%.17g, %.17g)-(%.17g, %.17g): %.17g vs GeographicLib %.17g", la1, lo1, la2, lo2, got, want);
        same += got == want;
        if (d > maxd[k]) maxd[k] = d;
        if (want > 0 && d / want > maxrel) maxrel = d / want;
    }
    double all = 0;
    for (int k = 0; k < 6; k++) {
        vt_note("%-26s max |PROJ - GeographicLib| = %.3g m", kinds[k], maxd[k]);
        if (maxd[k] > all) all = maxd[k];
    }
    vt_note("%d pairs: max |difference| %.3g m (relative %.3g), %ld bit-identical; the bound is 1 m", n, all,
            maxrel, same);
#else
    ASSERT_MSG(0, "built without the geo oracles: install libs2-dev and libgeographiclib-dev, then "
                  "reconfigure (CMake looks for s2/s2cell_id.h, libs2 and geographiclib.pc)");
#endif
}
