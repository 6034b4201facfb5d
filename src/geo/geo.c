/*
 * geo.c — WGS84 distances and the three geo regions (geo.h): cap, rect, polygon.
 *
 * Distances. vs__geo_distance is Karney's geodesic (PROJ's geod_inverse) on WGS84, with
 * one struct geod_geodesic set up under pthread_once and then only read (geod_inverse
 * takes it const), so it is thread-safe. It costs ~0.5–1 µs, so membership first bounds
 * it with the central angle θ between the points taken as (geodetic lat, lon) on the
 * unit sphere. Why the bound holds: in those coordinates the ellipsoid's metric is
 *     ds² = M(φ)² dφ² + N(φ)² cos²φ dλ²        (M meridional, N prime-vertical radius)
 * and the unit sphere's is dσ² = dφ² + cos²φ dλ², so along any path ds/dσ lies between
 * M(φ) and N(φ) (M <= N), and over all φ between M(0) = b²/a = 6335439.327 m and
 * M(±90°) = N(±90°) = a²/b = 6399593.626 m. The shortest ellipsoid path, seen on the
 * sphere, is at least θ long, so geodesic >= θ·b²/a; the great circle, drawn on the
 * ellipsoid, is at most θ·a²/b long, so geodesic <= θ·a²/b. Nothing in this needs the
 * points to be close: it holds for antipodal pairs and at the poles as well (the test
 * geo.distance_bounds checks 1.2M pairs of every kind). What it does not cover is
 * rounding, in θ (≈1e-15 rad absolute) and in geod_inverse (≈15 nm), hence DIST_REL and
 * DIST_ABS. θ comes from a haversine written so that it never cancels: h = hav θ and
 * 1 − h = hav(π − θ) are both sums of squares computed directly (1 − h is the haversine
 * to the antipode of the second point), and θ = 2·atan2(√h, √(1 − h)), accurate to a
 * few ulps from 0 to π — the plain 2·asin(√h) loses half its digits near π.
 *
 * Caps keep the center's unit vector c and turn the radius into two squared chord
 * lengths: a point p with |p − c|² <= t_in is inside without further work, one with
 * |p − c|² > t_out is outside, and only the thin shell between pays for geod_inverse.
 * t_in is the chord of θ_in = (r − DIST_ABS) / (hi·(1 + DIST_REL)) less the rounding of
 * |p − c|² (CHORD_SLACK), t_out likewise from above; the chord is monotone in θ on
 * [0, π], so the thresholds keep the guarantees of the angle bounds. The fast path is
 * two sincos and a dot product: 30 ns a point against 0.9 µs for geod_inverse
 * (geo.perf, this machine), and a point takes it unless it lies within ~1% of the
 * radius of the boundary (b²/a and a²/b are 1% apart). Radius 0 has no fast "in": only points at
 * geodesic distance exactly 0 (the center, or another spelling of it — a pole with any
 * lon, lon ±180) are in. A radius >= VS__GEO_RADIUS_MAX holds every point (the longest
 * WGS84 geodesic is half a meridian, 20003931.5 m).
 *
 * Rect boundary rules. Longitudes are on a circle: 180 and -180 are one meridian, so a
 * box reaching either contains points spelled with either (west = 170, east = 180 holds
 * (10, -180)); at a pole every lon names the same point, so the pole is in the box iff
 * its lat is in [south, north], whatever the point's lon. west = -180, east = 180 is
 * every longitude; west = east is one meridian.
 *
 * Polygon boundary rules. Rings are tested in the (x = lon, y = lat) plane, exactly:
 * a point on an edge or vertex of any ring is "on" that ring, otherwise a ray toward +x
 * counts crossings with a half-open rule (an edge counts when one end is <= y and the
 * other > y), and odd means inside the ring. Both use the sign of the orientation
 * determinant (b − a) × (p − a), which is exact here: a double filter with Shewchuk's
 * error bound decides almost always, and the rest is computed as an exact expansion
 * (TwoDiff, TwoProduct by fma, TwoSum; Shewchuk 1997, §2 and orient2d). Products must
 * not underflow for that, so coordinates of magnitude below 2^-300 degrees (1e-90) are
 * taken as 0 — in the vertices when the polygon is built and in every point tested. The
 * file relies on IEEE double arithmetic without contraction (ISO C mode, no -mfma).
 * Edges live in latitude bands (an edge in every band its y-range meets, band_of()
 * being monotone in y, so no edge is missed), sorted by ring within a band, so a test
 * looks at the few edges near its latitude and decides ring by ring. geo.perf: a
 * 1000-vertex outline ~80 ns a point, a wavy 100000-vertex one ~200 ns (cache misses);
 * a spiky star pays for every edge a horizontal line crosses (~500 ns at 1000
 * vertices), which any crossing count must visit.
 *
 * S2 relation (vs__geo_region_relate). Conservative for the points the index stores —
 * their leaf is vs__s2_from_latlng(lat, lon) of the spelling the user gave, while
 * contains() reads that spelling. Caps compare angles: the cell lies within α of its
 * cap center, at angle β from c, so its points are between β − α and β + α from c;
 * DISJOINT when β − α > θ_out, INSIDE when β + α <= θ_in, each with GEO_ANGLE_PAD.
 * Rects and polygons compare the cell's lat/lng bound widened by GEO_DEG_PAD; a bound
 * touching a pole is widened to all longitudes (the pole's spellings may land in it),
 * one touching ±180 is joined by a sliver on the other side (polygons, which are planar
 * and tell -180 from 180), and for polygons the box goes DISJOINT or INSIDE only when
 * no edge of any ring meets it, by the inside-ness of its center.
 *
 * Memory: one vs__malloc'd region plus, for polygons, the edges and the bands; the
 * covering is made by the constructor and owned by the region. Regions never change
 * after construction, so every function on a built region is thread-safe.
 */
#include "geo/geo.h"

#include <float.h>
#include <geodesic.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "vecstore.h"

#define WGS84_A 6378137.0
#define WGS84_F (1 / 298.257223563)
#define D2R (M_PI / 180)

/* Slack of the distance bounds: relative for the products' rounding, absolute for the
 * rounding of θ (≈1e-15 rad ≈ 6 nm) and of geod_inverse (Karney: ≈15 nm). */
#define DIST_REL 1e-12
#define DIST_ABS 1e-6
/* Margin of the S2 relation, radians (caps) and degrees (rects, polygons): the ~1e-16
 * difference between a spelling's lat/lon and its unit vector, S2's own ~4e-15 rad
 * padding, and the rounding in comparing the two. 1e-12 rad ≈ 6 µm; 1e-9° ≈ 0.1 mm. */
#define GEO_ANGLE_PAD 1e-12
#define GEO_DEG_PAD 1e-9
/* Coordinates smaller than this are 0 in polygons (exact orientation, see above). */
#define GEO_FLUSH 0x1p-300
#define POLY_BAND_MIN_EDGES 32 /* fewer edges: one band */
#define POLY_BANDS_MAX 65536
#define POLY_BAND_FILL 16 /* band entries allowed per edge before bands are halved */

/* ----------------------------------------------------------- distances ---- */

/* Metres per radian of θ at least / at most: b²/a = a(1 − f)², a²/b = a / (1 − f). */
static const double g_lo_scale = WGS84_A * (1 - WGS84_F) * (1 - WGS84_F);
static const double g_hi_scale = WGS84_A / (1 - WGS84_F);

static struct geod_geodesic g_wgs84;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void wgs84_init(void) { geod_init(&g_wgs84, WGS84_A, WGS84_F); }

static void wgs84(void) { pthread_once(&g_once, wgs84_init); }

const char *vs__geo_check(double lat, double lon) {
    if (!isfinite(lat)) return "lat is not a finite number";
    if (!isfinite(lon)) return "lon is not a finite number";
    if (lat < -90 || lat > 90) return "lat must be in [-90, 90]";
    if (lon < -180 || lon > 180) return "lon must be in [-180, 180]";
    return NULL;
}

/* lon2 − lon1 reduced to [-180, 180] (exact when the inputs are close: Sterbenz). */
static double lon_diff(double lon1, double lon2) {
    double d = lon2 - lon1;
    if (d > 180)
        d -= 360;
    else if (d < -180)
        d += 360;
    return d;
}

/* cos of an angle in degrees, accurate to a few ulps relative even next to ±90 (where
 * cos(lat·π/180) would keep only the rounding of lat·π/180). */
static double cosd(double deg) {
    deg = fabs(deg);
    return deg > 45 ? sin((90 - deg) * D2R) : cos(deg * D2R);
}

double vs__geo_angle(double lat1, double lon1, double lat2, double lon2) {
    /* Every argument of sin below is formed in degrees first, where the subtraction is
     * exact for close values (Sterbenz), so no term cancels. */
    double dl = fabs(lon_diff(lon1, lon2)); /* [0, 180] */
    double sd = sin((lat2 - lat1) * (D2R / 2)), ss = sin((lat1 + lat2) * (D2R / 2));
    double sl = sin(dl * (D2R / 2)), cl = sin((180 - dl) * (D2R / 2)); /* sin, cos of Δλ/2 */
    double cc = cosd(lat1) * cosd(lat2);
    double h = sd * sd + cc * sl * sl;  /* hav θ */
    double hc = ss * ss + cc * cl * cl; /* hav(π − θ) = 1 − hav θ */
    return 2 * atan2(sqrt(h), sqrt(hc));
}

double vs__geo_distance(double lat1, double lon1, double lat2, double lon2) {
    double s12 = 0;
    wgs84();
    geod_inverse(&g_wgs84, lat1, lon1, lat2, lon2, &s12, NULL, NULL);
    return s12;
}

double vs__geo_dist_lo(double angle) {
    double d = angle * g_lo_scale * (1 - DIST_REL) - DIST_ABS;
    return d > 0 ? d : 0;
}

double vs__geo_dist_hi(double angle) {
    return angle * g_hi_scale * (1 + DIST_REL) + DIST_ABS;
}

/* ------------------------------------------------------------- regions ---- */

typedef struct geo_cap {
    double lat, lon, radius;
    double c[3];          /* center's unit vector (same arithmetic as cap_vec) */
    double th_in, th_out; /* angles: θ <= th_in is in, θ > th_out is out; th_in < 0 or
                             th_out >= π: no such shortcut */
    double t_in, t_out;   /* the same as squared chords, padded for |p − c|²'s rounding */
    int all;
} geo_cap;

typedef struct geo_rect {
    double north, west, south, east;
    double span; /* lon arc length from west eastward, [0, 360] */
    int full;    /* every longitude */
} geo_rect;

typedef struct geo_edge {
    double ax, ay, bx, by; /* x = lon, y = lat */
    uint32_t ring;
} geo_edge;

typedef struct geo_poly {
    geo_edge *e;
    size_t ne, nrings;
    double x0, x1, y0, y1; /* the exterior ring's bounding box */
    size_t nb;             /* bands over [y0, y1] */
    double binv;           /* nb / (y1 − y0), 0 with one band */
    uint32_t *bstart;      /* nb + 1 offsets into bidx */
    uint32_t *bidx;        /* edge indexes, ring order within a band */
} geo_poly;

struct vs__geo_region {
    int kind;
    vs__s2_covering cov;
    union {
        geo_cap cap;
        geo_rect rect;
        geo_poly poly;
    } u;
};

/* Shortest text that reads back as v: "90.0000001", not "90" nor 17 digits. */
static const char *num(char buf[40], double v) {
    if (isnan(v)) return "nan";
    if (isinf(v)) return v > 0 ? "inf" : "-inf";
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, 40, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    return buf;
}

/* "<pre><name> 91 is outside [-90, 90]" or "<pre><name> must be a finite number, got nan". */
static int check_num(vs__err *e, const char *pre, const char *name, double v, double lo,
                     double hi) {
    char b[40];
    if (!isfinite(v))
        return vs__errf(e, VS_EINVAL, "%s%s must be a finite number, got %s", pre, name,
                        num(b, v));
    if (v < lo || v > hi)
        return vs__errf(e, VS_EINVAL, "%s%s %s is outside [%g, %g]", pre, name, num(b, v), lo,
                        hi);
    return VS_OK;
}

static int check_point(vs__err *e, const char *pre, double lat, double lon) {
    int rc = check_num(e, pre, "lat", lat, -90, 90);
    return rc ? rc : check_num(e, pre, "lon", lon, -180, 180);
}

static vs__geo_region *region_alloc(int kind) {
    vs__geo_region *r = vs__calloc(1, sizeof *r);
    if (r) r->kind = kind;
    return r;
}

/* Makes the covering (min_level/max_level from the caller) and hands the region out. */
static int finish_cells(vs__geo_region *r, int min_level, int max_level, int max_cells,
                        vs__geo_region **out, vs__err *e) {
    vs__s2_cover_opts o;
    vs__s2_cover_opts_init(&o);
    o.max_cells = max_cells;
    o.max_level = max_level < 0 ? 0 : max_level > VS__S2_MAX_LEVEL ? VS__S2_MAX_LEVEL : max_level;
    o.min_level = min_level < 0 ? 0 : min_level > o.max_level ? o.max_level : min_level;
    if (vs__s2_cover(vs__geo_region_relate, r, &o, &r->cov)) {
        vs__geo_region_free(r);
        return vs__errf(e, VS_ENOMEM, "out of memory making a geo covering");
    }
    *out = r;
    return VS_OK;
}

static int finish(vs__geo_region *r, int min_level, int max_level, vs__geo_region **out,
                  vs__err *e) {
    return finish_cells(r, min_level, max_level, VS__GEO_COVER_CELLS, out, e);
}

/* Covering levels for a region of the given extents (radians): no cell coarser than
 * about its diameter (a handful of cells at min_level), none finer than 1/50 of its
 * smaller extent. */
static void levels(double small, double big, int *min_level, int *max_level) {
    if (big > M_PI) big = M_PI;
    if (small > big) small = big;
    *min_level = vs__s2_level_for_min_edge(big);
    *max_level = vs__s2_level_for_min_edge(small / 50);
}

/* Extents of a lat/lon box in radians: height, and width along its middle latitude. */
static void box_extent(double south, double north, double span, double *small,
                       double *big) {
    double h = (north - south) * D2R;
    double w = span * D2R * cos((south + north) * (D2R / 2));
    double wmax = span * D2R * ((south <= 0 && north >= 0) ? 1 : cos(fmin(fabs(south), fabs(north)) * D2R));
    *small = fmin(h, w);
    *big = fmax(h, wmax);
}

/* ---------------------------------------------------------------- caps ---- */

static void unit(double lat, double lon, double p[3]) {
    double lo = lon * D2R, cl = cosd(lat);
    p[0] = cl * cos(lo);
    p[1] = cl * sin(lo);
    p[2] = sin(lat * D2R);
}

/* Rounding of |p − c|² for computed unit vectors, as a function of the chord: each
 * component is off by <= ~1.5e-15 (degrees→radians, sin/cos, one product), so each
 * difference by 3e-15 and the sum of squares by 2·|d|·√3·3e-15 + 3 ulps. Doubled. */
static double chord_slack(double ch) { return 2e-14 * ch + 1e-15 * ch * ch + 1e-28; }

static void cap_prepare(geo_cap *c) {
    if (c->radius >= VS__GEO_RADIUS_MAX) {
        c->all = 1;
        c->th_in = c->th_out = M_PI;
        return;
    }
    unit(c->lat, c->lon, c->c);
    /* dist_hi(θ) <= r  ⟸  θ <= th_in ; dist_lo(θ) > r  ⟸  θ > th_out (4 ulps spare) */
    c->th_in = (c->radius - DIST_ABS) / (g_hi_scale * (1 + DIST_REL)) * (1 - 4 * DBL_EPSILON);
    c->th_out = (c->radius + DIST_ABS) / (g_lo_scale * (1 - DIST_REL)) * (1 + 4 * DBL_EPSILON);
    if (c->th_in < 0) {
        c->t_in = -1;
    } else {
        double ch = 2 * sin(c->th_in / 2);
        c->t_in = ch * ch * (1 - 8 * DBL_EPSILON) - chord_slack(ch);
    }
    if (c->th_out >= M_PI) {
        c->t_out = INFINITY;
    } else {
        double ch = 2 * sin(c->th_out / 2);
        c->t_out = ch * ch * (1 + 8 * DBL_EPSILON) + chord_slack(ch);
    }
}

int vs__geo_cap_new(double lat, double lon, double radius_m, vs__geo_region **out,
                    vs__err *e) {
    return vs__geo_cap_new_cells(lat, lon, radius_m, VS__GEO_COVER_CELLS, out, e);
}

int vs__geo_cap_new_cells(double lat, double lon, double radius_m, int max_cells,
                          vs__geo_region **out, vs__err *e) {
    char b[40];
    *out = NULL;
    int rc = check_point(e, "center ", lat, lon);
    if (rc) return rc;
    if (!isfinite(radius_m) || radius_m < 0)
        return vs__errf(e, VS_EINVAL, "radius must be a finite number >= 0, got %s",
                        num(b, radius_m));
    vs__geo_region *r = region_alloc(VS__GEO_CAP);
    if (!r) return vs__errf(e, VS_ENOMEM, "out of memory");
    geo_cap *c = &r->u.cap;
    c->lat = lat;
    c->lon = lon;
    c->radius = radius_m > 0 ? radius_m : 0;
    cap_prepare(c);
    if (c->all) return finish_cells(r, 0, 0, max_cells, out, e);
    double th = c->radius / VS__GEO_EARTH_RADIUS;
    int lo, hi;
    levels(th, 2 * th, &lo, &hi); /* max_level: cells >= r/50 */
    return finish_cells(r, lo, hi, max_cells, out, e);
}

static int cap_contains(const geo_cap *c, double lat, double lon) {
    if (c->all) return 1;
    double p[3];
    unit(lat, lon, p);
    double d0 = p[0] - c->c[0], d1 = p[1] - c->c[1], d2 = p[2] - c->c[2];
    double d = d0 * d0 + d1 * d1 + d2 * d2;
    if (d > c->t_out) return 0;
    if (d <= c->t_in) return 1;
    return vs__geo_distance(c->lat, c->lon, lat, lon) <= c->radius;
}

/* Angle between unit vectors, accurate from 0 to π. */
static double vec_angle(const double a[3], const double b[3]) {
    double d = 0, s = 0;
    for (int k = 0; k < 3; k++) {
        d += (a[k] - b[k]) * (a[k] - b[k]);
        s += (a[k] + b[k]) * (a[k] + b[k]);
    }
    return 2 * atan2(sqrt(d), sqrt(s));
}

static int cap_relate(const geo_cap *c, vs__s2cell cell) {
    if (c->all) return VS__S2_INSIDE;
    double cc[3], alpha;
    vs__s2_cap_bound(cell, cc, &alpha);
    double beta = vec_angle(c->c, cc);
    if (c->th_out < M_PI && beta - alpha - GEO_ANGLE_PAD > c->th_out) return VS__S2_DISJOINT;
    if (c->th_in >= 0 && beta + alpha + GEO_ANGLE_PAD <= c->th_in) return VS__S2_INSIDE;
    return VS__S2_INTERSECTS;
}

/* ---------------------------------------------------------------- rects ---- */

int vs__geo_rect_new(double north, double west, double south, double east,
                     vs__geo_region **out, vs__err *e) {
    char b1[40], b2[40];
    int rc;
    *out = NULL;
    if ((rc = check_num(e, "", "north", north, -90, 90)) ||
        (rc = check_num(e, "", "west", west, -180, 180)) ||
        (rc = check_num(e, "", "south", south, -90, 90)) ||
        (rc = check_num(e, "", "east", east, -180, 180)))
        return rc;
    if (north < south)
        return vs__errf(e, VS_EINVAL, "north %s is less than south %s", num(b1, north),
                        num(b2, south));
    vs__geo_region *r = region_alloc(VS__GEO_RECT);
    if (!r) return vs__errf(e, VS_ENOMEM, "out of memory");
    geo_rect *x = &r->u.rect;
    x->north = north;
    x->west = west;
    x->south = south;
    x->east = east;
    x->span = west <= east ? east - west : east - west + 360;
    x->full = west == -180 && east == 180;
    if (x->full) x->span = 360;
    double small, big;
    box_extent(south, north, x->span, &small, &big);
    int lo, hi;
    levels(small, big, &lo, &hi);
    return finish(r, lo, hi, out, e);
}

static int rect_lon_in(const geo_rect *x, double lon) {
    return x->west <= x->east ? lon >= x->west && lon <= x->east
                              : lon >= x->west || lon <= x->east;
}

static int rect_contains(const geo_rect *x, double lat, double lon) {
    if (lat < x->south || lat > x->north) return 0;
    if (x->full || lat == 90 || lat == -90) return 1;
    return rect_lon_in(x, lon) || ((lon == 180 || lon == -180) && rect_lon_in(x, -lon));
}

static int rect_relate(const geo_rect *x, vs__s2cell cell) {
    double la0, la1, lo0, lo1;
    vs__s2_rect_bound(cell, &la0, &la1, &lo0, &lo1);
    la0 -= GEO_DEG_PAD;
    la1 += GEO_DEG_PAD;
    if (la1 < x->south || la0 > x->north) return VS__S2_DISJOINT;
    int lat_in = la0 >= x->south && la1 <= x->north;
    if (x->full) return lat_in ? VS__S2_INSIDE : VS__S2_INTERSECTS;
    /* the cell's longitudes as an arc [lo0, lo0 + len] on the circle */
    double len = lo0 <= lo1 ? lo1 - lo0 : lo1 - lo0 + 360;
    lo0 -= GEO_DEG_PAD;
    len += 2 * GEO_DEG_PAD;
    if (len >= 360) return VS__S2_INTERSECTS; /* lats overlap, lons all */
    double o = lo0 - x->west; /* where the cell's arc starts, east of west */
    if (o < 0) o += 360;
    if (o >= 360) o -= 360;
    /* a pole in both: any spelling of it may be stored in this cell */
    int pole = (la1 >= 90 && x->north == 90) || (la0 <= -90 && x->south == -90);
    if (!pole && o > x->span && o + len < 360) return VS__S2_DISJOINT;
    if (lat_in && o + len <= x->span) return VS__S2_INSIDE;
    return VS__S2_INTERSECTS;
}

/* ------------------------------------------------------------- polygons ---- */

static double flush(double v) { return fabs(v) < GEO_FLUSH ? 0 : v; }
/* Outward versions for box edges, so flushing never shrinks a box. */
static double flush_lo(double v) { return fabs(v) < GEO_FLUSH ? (v < 0 ? -GEO_FLUSH : 0) : v; }
static double flush_hi(double v) { return fabs(v) < GEO_FLUSH ? (v > 0 ? GEO_FLUSH : 0) : v; }

static void two_sum(double a, double b, double *s, double *t) {
    double x = a + b, bv = x - a, av = x - bv;
    *s = x;
    *t = (a - av) + (b - bv);
}

static void two_prod(double a, double b, double *p, double *t) {
    double x = a * b;
    *p = x;
    *t = fma(a, b, -x);
}

/* Sign of (b − a) × (p − a) computed exactly (see the essay): the four differences as
 * two-term expansions, their products as sixteen exact terms, summed by Grow-Expansion
 * (Shewchuk §2.4); the most significant non-zero component has the sign of the sum. */
static int orient_exact(double ax, double ay, double bx, double by, double px, double py) {
    double u[2], v[2], w[2], z[2]; /* bx−ax, py−ay, by−ay, px−ax */
    two_sum(bx, -ax, &u[0], &u[1]);
    two_sum(py, -ay, &v[0], &v[1]);
    two_sum(by, -ay, &w[0], &w[1]);
    two_sum(px, -ax, &z[0], &z[1]);
    double terms[16];
    int n = 0;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            two_prod(u[i], v[j], &terms[n], &terms[n + 1]);
            n += 2;
            two_prod(-w[i], z[j], &terms[n], &terms[n + 1]);
            n += 2;
        }
    double x[17];
    int m = 0;
    for (int k = 0; k < 16; k++) {
        double q = terms[k];
        if (q == 0) continue;
        int mm = 0;
        for (int i = 0; i < m; i++) {
            double s, t;
            two_sum(q, x[i], &s, &t);
            q = s;
            if (t != 0) x[mm++] = t;
        }
        x[mm++] = q;
        m = mm;
    }
    for (int i = m; i-- > 0;)
        if (x[i] != 0) return x[i] > 0 ? 1 : -1;
    return 0;
}

/* Sign of (b − a) × (p − a): +1 when p is left of a→b, −1 right, 0 on the line. */
static int orient(double ax, double ay, double bx, double by, double px, double py) {
    double l = (bx - ax) * (py - ay), r = (by - ay) * (px - ax);
    double det = l - r;
    /* Shewchuk's ccwerrboundA, (3 + 16ε)ε with ε = 2^-53, rounded up */
    double bound = 3.3306690738754716e-16 * (fabs(l) + fabs(r));
    if (det > bound) return 1;
    if (-det > bound) return -1;
    return orient_exact(ax, ay, bx, by, px, py);
}

static size_t band_of(const geo_poly *P, double y) {
    double t = (y - P->y0) * P->binv;
    if (!(t > 0)) return 0;
    if (t >= (double)P->nb) return P->nb - 1;
    return (size_t)t;
}

/* 1 if the point is in the ring set's region by the rules in geo.h. */
static int ring_verdict(uint32_t ring, int par, int onb) {
    return ring == 0 ? (par || onb) : !(par && !onb);
}

static int poly_contains_xy(const geo_poly *P, double x, double y) {
    x = flush(x);
    y = flush(y);
    if (x < P->x0 || x > P->x1 || y < P->y0 || y > P->y1) return 0;
    size_t b = band_of(P, y);
    const uint32_t *ix = P->bidx + P->bstart[b], *end = P->bidx + P->bstart[b + 1];
    uint32_t cur = 0;
    int par = 0, onb = 0;
    for (; ix < end; ix++) {
        const geo_edge *E = &P->e[*ix];
        if (E->ring != cur) {
            if (!ring_verdict(cur, par, onb)) return 0;
            cur = E->ring;
            par = onb = 0;
        }
        if (onb) continue;
        double ay = E->ay, by = E->by;
        if ((ay < y && by < y) || (ay > y && by > y)) continue;
        double ax = E->ax, bx = E->bx;
        if (ay == by) { /* horizontal, on this latitude: never a crossing */
            if ((ax <= x && x <= bx) || (bx <= x && x <= ax)) onb = 1;
            continue;
        }
        if (ax < x && bx < x) continue; /* wholly west of the point */
        int up = ay <= y && y < by, down = by <= y && y < ay;
        if (ax > x && bx > x) { /* wholly east: crosses the ray if half-open allows */
            par ^= up | down;
            continue;
        }
        int o = orient(ax, ay, bx, by, x, y);
        if (o == 0)
            onb = 1;
        else if ((up && o > 0) || (down && o < 0))
            par ^= 1;
    }
    return ring_verdict(cur, par, onb);
}

/* 1 if the segment meets the closed box (separating axes: x, y and the segment's
 * normal; the last by the exact orientation of the four corners). */
static int seg_hits_box(const geo_edge *E, double x0, double x1, double y0, double y1) {
    if (fmax(E->ax, E->bx) < x0 || fmin(E->ax, E->bx) > x1 || fmax(E->ay, E->by) < y0 ||
        fmin(E->ay, E->by) > y1)
        return 0;
    if ((E->ax >= x0 && E->ax <= x1 && E->ay >= y0 && E->ay <= y1) ||
        (E->bx >= x0 && E->bx <= x1 && E->by >= y0 && E->by <= y1))
        return 1;
    int s0 = orient(E->ax, E->ay, E->bx, E->by, x0, y0);
    int s1 = orient(E->ax, E->ay, E->bx, E->by, x1, y0);
    int s2 = orient(E->ax, E->ay, E->bx, E->by, x1, y1);
    int s3 = orient(E->ax, E->ay, E->bx, E->by, x0, y1);
    if (s0 > 0 && s1 > 0 && s2 > 0 && s3 > 0) return 0;
    if (s0 < 0 && s1 < 0 && s2 < 0 && s3 < 0) return 0;
    return 1;
}

static int poly_box_relate(const geo_poly *P, double x0, double x1, double y0, double y1) {
    x0 = flush_lo(x0);
    y0 = flush_lo(y0);
    x1 = flush_hi(x1);
    y1 = flush_hi(y1);
    if (x1 < P->x0 || x0 > P->x1 || y1 < P->y0 || y0 > P->y1) return VS__S2_DISJOINT;
    size_t b0 = band_of(P, y0), b1 = band_of(P, y1);
    if (P->bstart[b1 + 1] - P->bstart[b0] < P->ne) {
        for (size_t k = P->bstart[b0]; k < P->bstart[b1 + 1]; k++)
            if (seg_hits_box(&P->e[P->bidx[k]], x0, x1, y0, y1)) return VS__S2_INTERSECTS;
    } else {
        for (size_t k = 0; k < P->ne; k++)
            if (seg_hits_box(&P->e[k], x0, x1, y0, y1)) return VS__S2_INTERSECTS;
    }
    /* no boundary in the box: it is all in or all out, like its center */
    return poly_contains_xy(P, 0.5 * x0 + 0.5 * x1, 0.5 * y0 + 0.5 * y1) ? VS__S2_INSIDE
                                                                         : VS__S2_DISJOINT;
}

static int poly_relate(const geo_poly *P, vs__s2cell cell) {
    double la0, la1, lo0, lo1, bx[4][2];
    int nbox = 0;
    vs__s2_rect_bound(cell, &la0, &la1, &lo0, &lo1);
    la0 -= GEO_DEG_PAD;
    la1 += GEO_DEG_PAD;
    if (la1 >= 90 || la0 <= -90 || (lo0 == -180 && lo1 == 180)) {
        /* at a pole: its every spelling (lon) may be stored in this cell */
        bx[nbox][0] = -180, bx[nbox++][1] = 180;
    } else if (lo0 > lo1) { /* across the antimeridian: both sides */
        bx[nbox][0] = lo0 - GEO_DEG_PAD, bx[nbox++][1] = 180;
        bx[nbox][0] = -180, bx[nbox++][1] = lo1 + GEO_DEG_PAD;
    } else {
        lo0 -= GEO_DEG_PAD;
        lo1 += GEO_DEG_PAD;
        bx[nbox][0] = lo0, bx[nbox++][1] = lo1;
        /* lon 180 and -180 are one meridian with two planar spellings */
        if (lo1 >= 180) bx[nbox][0] = -180, bx[nbox++][1] = -180 + GEO_DEG_PAD;
        if (lo0 <= -180) bx[nbox][0] = 180 - GEO_DEG_PAD, bx[nbox++][1] = 180;
    }
    int all_in = 1, all_out = 1;
    for (int i = 0; i < nbox; i++) {
        int r = poly_box_relate(P, bx[i][0], bx[i][1], la0, la1);
        if (r == VS__S2_INTERSECTS) return r;
        all_in &= r == VS__S2_INSIDE;
        all_out &= r == VS__S2_DISJOINT;
    }
    return all_in ? VS__S2_INSIDE : all_out ? VS__S2_DISJOINT : VS__S2_INTERSECTS;
}

/* Builds the latitude bands: as many as half the edges (at most POLY_BANDS_MAX), halved
 * while long edges would make more than POLY_BAND_FILL entries per edge. */
static int poly_bands(geo_poly *P) {
    size_t nb = P->ne <= POLY_BAND_MIN_EDGES || P->y1 == P->y0 ? 1 : P->ne / 2;
    if (nb > POLY_BANDS_MAX) nb = POLY_BANDS_MAX;
    size_t total;
    for (;;) {
        P->nb = nb;
        P->binv = nb > 1 ? (double)nb / (P->y1 - P->y0) : 0;
        total = 0;
        for (size_t k = 0; k < P->ne; k++) {
            const geo_edge *E = &P->e[k];
            total += band_of(P, fmax(E->ay, E->by)) - band_of(P, fmin(E->ay, E->by)) + 1;
        }
        if (nb == 1 || total <= POLY_BAND_FILL * P->ne) break;
        nb /= 2;
    }
    P->bstart = vs__calloc(nb + 1, sizeof *P->bstart);
    P->bidx = vs__malloc(total * sizeof *P->bidx);
    if (!P->bstart || !P->bidx) return VS_ENOMEM;
    for (size_t k = 0; k < P->ne; k++) {
        const geo_edge *E = &P->e[k];
        size_t b1 = band_of(P, fmax(E->ay, E->by));
        for (size_t b = band_of(P, fmin(E->ay, E->by)); b <= b1; b++) P->bstart[b + 1]++;
    }
    for (size_t b = 0; b < nb; b++) P->bstart[b + 1] += P->bstart[b];
    /* fill in edge (= ring) order, using bstart[b] as the cursor, then shift back */
    for (size_t k = 0; k < P->ne; k++) {
        const geo_edge *E = &P->e[k];
        size_t b1 = band_of(P, fmax(E->ay, E->by));
        for (size_t b = band_of(P, fmin(E->ay, E->by)); b <= b1; b++)
            P->bidx[P->bstart[b]++] = (uint32_t)k;
    }
    for (size_t b = nb; b > 0; b--) P->bstart[b] = P->bstart[b - 1];
    P->bstart[0] = 0;
    return VS_OK;
}

/* The ring's vertices after flushing, dropping a closing copy of the first point and
 * consecutive repeats: calls fn for each, returns how many there are. */
static size_t ring_vertices(const double *lat, const double *lon, size_t n,
                            void (*fn)(void *, double, double), void *arg) {
    size_t m = 0;
    double fx = 0, fy = 0, px = 0, py = 0;
    if (n > 1 && lat[n - 1] == lat[0] && lon[n - 1] == lon[0]) n--;
    for (size_t i = 0; i < n; i++) {
        double x = flush(lon[i]), y = flush(lat[i]);
        if (m && x == px && y == py) continue;
        if (i == n - 1 && m && x == fx && y == fy) continue;
        if (!m) fx = x, fy = y;
        px = x, py = y;
        if (fn) fn(arg, x, y);
        m++;
    }
    return m;
}

/* Distinct points of a ring, counted up to 3 (enough to say whether it has 3). */
static size_t ring_distinct(const double *lat, const double *lon, size_t n) {
    double x[2], y[2];
    size_t d = 0;
    for (size_t i = 0; i < n && d < 3; i++) {
        double px = flush(lon[i]), py = flush(lat[i]);
        size_t j = 0;
        while (j < d && !(x[j] == px && y[j] == py)) j++;
        if (j < d) continue;
        if (d < 2) x[d] = px, y[d] = py;
        d++;
    }
    return d;
}

typedef struct ring_fill {
    geo_poly *P;
    uint32_t ring;
    size_t first; /* index of the ring's first edge */
    double px, py;
    int any;
} ring_fill;

static void fill_vertex(void *arg, double x, double y) {
    ring_fill *f = arg;
    geo_poly *P = f->P;
    if (f->any) {
        geo_edge *E = &P->e[P->ne - 1];
        E->bx = x, E->by = y;
    }
    geo_edge *E = &P->e[P->ne++];
    E->ax = x, E->ay = y, E->ring = f->ring;
    f->any = 1;
    if (f->ring == 0) {
        if (P->ne == 1) P->x0 = P->x1 = x, P->y0 = P->y1 = y;
        P->x0 = fmin(P->x0, x), P->x1 = fmax(P->x1, x);
        P->y0 = fmin(P->y0, y), P->y1 = fmax(P->y1, y);
    }
}

int vs__geo_polygon_new(size_t nrings, const size_t *count, const double *lat,
                        const double *lon, vs__geo_region **out, vs__err *e) {
    *out = NULL;
    if (nrings == 0 || !count) return vs__errf(e, VS_EINVAL, "polygon has no exterior ring");
    if (nrings > VS__GEO_POLY_RINGS_MAX)
        return vs__errf(e, VS_EINVAL, "polygon has %zu rings (at most %d: 1 exterior, %d holes)",
                        nrings, VS__GEO_POLY_RINGS_MAX, VS__GEO_POLY_RINGS_MAX - 1);
    size_t total = 0;
    for (size_t r = 0; r < nrings; r++)
        total = count[r] > SIZE_MAX - total ? SIZE_MAX : total + count[r];
    if (total > VS__GEO_POLY_POINTS_MAX)
        return vs__errf(e, VS_EINVAL, "polygon has %zu points (at most %d)", total,
                        VS__GEO_POLY_POINTS_MAX);
    if (total && (!lat || !lon)) return vs__errf(e, VS_EINVAL, "polygon points are missing");
    size_t off = 0;
    for (size_t r = 0; r < nrings; r++) {
        char pre[64];
        for (size_t i = 0; i < count[r]; i++) {
            if (r == 0)
                snprintf(pre, sizeof pre, "exterior ring point %zu: ", i);
            else
                snprintf(pre, sizeof pre, "hole %zu point %zu: ", r - 1, i);
            int rc = check_point(e, pre, lat[off + i], lon[off + i]);
            if (rc) return rc;
        }
        size_t d = ring_distinct(lat + off, lon + off, count[r]);
        if (d < 3) {
            if (r == 0)
                snprintf(pre, sizeof pre, "exterior ring");
            else
                snprintf(pre, sizeof pre, "hole %zu", r - 1);
            return vs__errf(e, VS_EINVAL, "%s has %zu distinct point%s (need at least 3)", pre,
                            d, d == 1 ? "" : "s");
        }
        off += count[r];
    }
    vs__geo_region *g = region_alloc(VS__GEO_POLYGON);
    if (!g) return vs__errf(e, VS_ENOMEM, "out of memory");
    geo_poly *P = &g->u.poly;
    P->nrings = nrings;
    P->e = vs__malloc(total * sizeof *P->e);
    if (!P->e) goto nomem;
    off = 0;
    for (size_t r = 0; r < nrings; r++) {
        ring_fill f = {P, (uint32_t)r, P->ne, 0, 0, 0};
        ring_vertices(lat + off, lon + off, count[r], fill_vertex, &f);
        /* close the ring: the last edge ends at the first vertex */
        P->e[P->ne - 1].bx = P->e[f.first].ax;
        P->e[P->ne - 1].by = P->e[f.first].ay;
        off += count[r];
    }
    if (poly_bands(P)) goto nomem;
    double small, big;
    box_extent(P->y0, P->y1, P->x1 - P->x0, &small, &big);
    int lo, hi;
    levels(small, big, &lo, &hi);
    return finish(g, lo, hi, out, e);
nomem:
    vs__geo_region_free(g);
    return vs__errf(e, VS_ENOMEM, "out of memory");
}

/* ---------------------------------------------------------------- common ---- */

void vs__geo_region_free(vs__geo_region *r) {
    if (!r) return;
    vs__s2_covering_free(&r->cov);
    if (r->kind == VS__GEO_POLYGON) {
        vs__free(r->u.poly.e);
        vs__free(r->u.poly.bstart);
        vs__free(r->u.poly.bidx);
    }
    vs__free(r);
}

int vs__geo_region_kind(const vs__geo_region *r) { return r->kind; }

int vs__geo_region_contains(const vs__geo_region *r, double lat, double lon) {
    switch (r->kind) {
    case VS__GEO_CAP: return cap_contains(&r->u.cap, lat, lon);
    case VS__GEO_RECT: return rect_contains(&r->u.rect, lat, lon);
    case VS__GEO_POLYGON: return poly_contains_xy(&r->u.poly, lon, lat);
    }
    return 0;
}

int vs__geo_region_relate(const void *region, vs__s2cell cell) {
    const vs__geo_region *r = region;
    switch (r->kind) {
    case VS__GEO_CAP: return cap_relate(&r->u.cap, cell);
    case VS__GEO_RECT: return rect_relate(&r->u.rect, cell);
    case VS__GEO_POLYGON: return poly_relate(&r->u.poly, cell);
    }
    return VS__S2_INTERSECTS;
}

const vs__s2_covering *vs__geo_region_covering(const vs__geo_region *r) { return &r->cov; }
