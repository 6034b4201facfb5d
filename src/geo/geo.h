/*
 * geo.h — geographic points, distances and regions (the geo filters' geometry).
 *
 * Coordinates are WGS84 degrees: lat in [-90, 90], lon in [-180, 180], finite.
 *
 * Distances are geodesics on the WGS84 ellipsoid (Karney's algorithm, PROJ's C
 * geod_inverse from geodesic.h), accurate to nanometres — GeographicLib is the oracle in
 * the tests (bit-identical on 120k pairs). They cost about a microsecond, so membership
 * tests first bound the distance with the central angle θ on the unit sphere
 * (haversine): along any path the ellipsoid's scale per radian of (geodetic lat, lon)
 * lies between the meridional radius at the equator, b²/a = 6335439.327 m, and the polar
 * radius a²/b = 6399593.626 m, so θ · 6335439 <= geodesic <= θ · 6399594 (with a little
 * slack for rounding: 1e-12 relative + 1 µm). The argument is a metric comparison and
 * holds for every pair, antipodal and polar ones included; geo.distance_bounds checks it
 * on 1.2M pairs (tightest observed over pairs >= 1 km: s/(θ·b²/a) = 1 + 6e-11 on short
 * equatorial meridians, s/(θ·a²/b) = 1 − 8e-11 near the poles; below 1 km the worst
 * is 0.8 pm under θ·b²/a, geod_inverse's own rounding, well inside the slack). Only
 * points whose bounds straddle the radius pay for the exact geodesic.
 *
 * Regions (the three Qdrant geo conditions):
 *   cap     geo_radius: points whose geodesic distance to the center is <= radius metres
 *           (a radius of 0 holds the center itself only — with its other spellings: a
 *           pole with any lon, lon ±180 — and a radius >= VS__GEO_RADIUS_MAX holds
 *           everything: the longest geodesic is half a meridian, 20003931.46 m);
 *   rect    geo_bounding_box: lat in [south, north] and lon in [west, east] — a box
 *           whose west edge is east of its east edge crosses the antimeridian
 *           (west=170, east=-170 spans 20 degrees); boundaries are inside. Longitude is
 *           a circle: lon 180 and -180 are the same meridian, so a box reaching either
 *           holds points spelled with either; west=-180, east=180 is every longitude;
 *           west = east is one meridian. A pole is one point, so a box whose lat range
 *           reaches it holds it whatever the point's lon (lat 90, lon 5 is in north=90,
 *           west=10, east=20);
 *   polygon geo_polygon: an exterior ring and holes, edges straight in (lon, lat) as in
 *           GeoJSON (RFC 7946 §3.1.1) and Qdrant; a point is inside when it is inside or
 *           on the exterior ring and not strictly inside a hole (even-odd per ring; a
 *           point on a hole's edge is inside the polygon). Rings are closed implicitly
 *           (a last point equal to the first is dropped); each needs at least 3 distinct
 *           points. Rings are not checked for self-intersection (even-odd decides).
 *           Being planar, a polygon tells lon 180 from -180 and a pole's spellings apart.
 *           "On" an edge is decided exactly (an exact orientation predicate); so that it
 *           can be, coordinates of magnitude below 2^-300 degrees (~5e-91) count as 0,
 *           in the vertices and in the points tested.
 *
 * Regions are immutable once made; contains() and the S2 relation are thread-safe.
 */
#ifndef VS_GEO_GEO_H
#define VS_GEO_GEO_H

#include <stddef.h>
#include <stdint.h>

#include "geo/s2.h"
#include "util/err.h"

#define VS__GEO_EARTH_RADIUS 6371008.8 /* mean radius (IUGG), metres: haversine figures */
#define VS__GEO_RADIUS_MAX 20037508.4  /* half the equator: any larger radius is everything */
#define VS__GEO_POLY_POINTS_MAX 100000 /* vertices over all rings of one polygon */
#define VS__GEO_POLY_RINGS_MAX 1000    /* holes + 1 */

/* NULL if (lat, lon) is a valid point, else static text naming the problem, one of
 * "lat is not a finite number", "lon is not a finite number", "lat must be in [-90, 90]",
 * "lon must be in [-180, 180]"; callers that want the value in the message
 * ("lat 91 is outside [-90, 90]") build it themselves. */
const char *vs__geo_check(double lat, double lon);

/* Central angle in radians between two points on the unit sphere (haversine), accurate
 * to a few ulps from 0 to π: hav θ and 1 − hav θ are each computed as a sum of squares
 * and θ = 2·atan2(√h, √(1 − h)), so neither tiny nor near-antipodal angles cancel. */
double vs__geo_angle(double lat1, double lon1, double lat2, double lon2);
/* WGS84 geodesic distance in metres (PROJ geod_inverse). */
double vs__geo_distance(double lat1, double lon1, double lat2, double lon2);
/* Lower / upper bound in metres of vs__geo_distance from a central angle:
 * max(0, θ·b²/a·(1 − 1e-12) − 1e-6) and θ·a²/b·(1 + 1e-12) + 1e-6. */
double vs__geo_dist_lo(double angle);
double vs__geo_dist_hi(double angle);

enum { VS__GEO_CAP = 1, VS__GEO_RECT, VS__GEO_POLYGON };

typedef struct vs__geo_region vs__geo_region;

/* Constructors validate every coordinate and number and return VS_EINVAL with a message
 * naming the bad value, or VS_ENOMEM (nothing is left allocated; *out is NULL on every
 * failure). Messages: "center lat 91 is outside [-90, 90]", "center lon must be a finite
 * number, got nan", "radius must be a finite number >= 0, got -5", "north 10 is less
 * than south 20", "exterior ring point 3: lon -181 is outside [-180, 180]", "hole 0
 * point 2: lat must be a finite number, got inf", "hole 1 has 2 distinct points (need at
 * least 3)", "polygon has 100001 points (at most 100000)", "polygon has 1001 rings (at
 * most 1000: 1 exterior, 999 holes)". Indexes are 0-based, as in the request's arrays:
 * "hole 0" is the first interior ring (ring 1), "point 0" a ring's first point. */
int vs__geo_cap_new(double lat, double lon, double radius_m, vs__geo_region **out, vs__err *e);
/* The same with a covering of at most about max_cells cells (fewer cells: a faster
 * covering, a looser superset — for callers that check points cheaply anyway). */
int vs__geo_cap_new_cells(double lat, double lon, double radius_m, int max_cells,
                          vs__geo_region **out, vs__err *e);
/* top-left (north-west) and bottom-right (south-east) corners, Qdrant's order. north <
 * south is VS_EINVAL. */
int vs__geo_rect_new(double north, double west, double south, double east,
                     vs__geo_region **out, vs__err *e);
/* nrings rings, ring r has count[r] points lat[], lon[] (flattened, ring after ring);
 * ring 0 is the exterior, the others holes. */
int vs__geo_polygon_new(size_t nrings, const size_t *count, const double *lat,
                        const double *lon, vs__geo_region **out, vs__err *e);
void vs__geo_region_free(vs__geo_region *r);

int vs__geo_region_kind(const vs__geo_region *r);
/* 1 if the point is in the region (the exact rule above), 0 if not. The point must be
 * valid (vs__geo_check). */
int vs__geo_region_contains(const vs__geo_region *r, double lat, double lon);
/* The vs__s2_relate_fn of the region (conservative): pass the region as its argument.
 * DISJOINT only when no spelling (lat, lon) of any point of the cell is contained,
 * INSIDE only when every spelling of every point is — so an index of
 * vs__s2_from_latlng(lat, lon) keys may skip DISJOINT cells and accept INSIDE cells
 * without calling contains(). */
int vs__geo_region_relate(const void *region, vs__s2cell cell);
/* The region's S2 covering (made once when the region is built, max_cells
 * VS__GEO_COVER_CELLS, min_level the level whose cells are about the region's diameter,
 * max_level the one whose cells are 1/50 of its smaller extent — r/50 for caps); owned
 * by the region, valid until it is freed. Every contained point's leaf lies in a cell
 * of it; cells flagged inside hold only contained points. Covered area / region area,
 * measured by geo.covering_*: ~1.45 for caps up to 100 km, ~1.2 above, ~1.5 for rects,
 * ~3 for star-shaped polygons; regions thinner than 1:10 (and planar polygons reaching
 * a pole, which are wedges with their apex there) cannot be covered tightly by 24
 * cells. */
#define VS__GEO_COVER_CELLS 24
const vs__s2_covering *vs__geo_region_covering(const vs__geo_region *r);

#endif
