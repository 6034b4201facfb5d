/*
 * geo.h — geographic points, distances and regions (the geo filters' geometry).
 *
 * Coordinates are WGS84 degrees: lat in [-90, 90], lon in [-180, 180], finite.
 *
 * Distances are geodesics on the WGS84 ellipsoid (Karney's algorithm, PROJ's C
 * geod_inverse from geodesic.h), accurate to nanometres — GeographicLib is the oracle in
 * the tests. They cost about a microsecond, so membership tests first bound the distance
 * with the central angle θ on the unit sphere (haversine): along any path the ellipsoid's
 * scale per radian of (geodetic lat, lon) lies between the meridional radius at the
 * equator, b²/a = 6335439.327 m, and the polar radius a²/b = 6399593.626 m, so
 * θ · 6335439 <= geodesic <= θ · 6399594 (with a little slack for rounding). Only points
 * whose bounds straddle the radius pay for the exact geodesic.
 *
 * Regions (the three Qdrant geo conditions):
 *   cap     geo_radius: points whose geodesic distance to the center is <= radius metres
 *           (a radius of 0 holds the center itself only);
 *   rect    geo_bounding_box: lat in [south, north] and lon in [west, east] — a box
 *           whose west edge is east of its east edge crosses the antimeridian
 *           (west=170, east=-170 spans 20 degrees); boundaries are inside;
 *   polygon geo_polygon: an exterior ring and holes, edges straight in (lon, lat) as in
 *           GeoJSON (RFC 7946 §3.1.1) and Qdrant; a point is inside when it is inside or
 *           on the exterior ring and not strictly inside a hole (even-odd per ring; a
 *           point on a hole's edge is inside the polygon). Rings are closed implicitly
 *           (a last point equal to the first is dropped); each needs at least 3 distinct
 *           points. Rings are not checked for self-intersection (even-odd decides).
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

/* NULL if (lat, lon) is a valid point, else static text naming the problem:
 * "lat is not a finite number", "lat 91 is outside [-90, 90]" is built by the caller
 * from the returned reason ("lat must be in [-90, 90]"). */
const char *vs__geo_check(double lat, double lon);

/* Central angle in radians between two points on the unit sphere (haversine). */
double vs__geo_angle(double lat1, double lon1, double lat2, double lon2);
/* WGS84 geodesic distance in metres (PROJ geod_inverse). */
double vs__geo_distance(double lat1, double lon1, double lat2, double lon2);
/* Lower / upper bound in metres of vs__geo_distance from a central angle. */
double vs__geo_dist_lo(double angle);
double vs__geo_dist_hi(double angle);

enum { VS__GEO_CAP = 1, VS__GEO_RECT, VS__GEO_POLYGON };

typedef struct vs__geo_region vs__geo_region;

/* Constructors validate every coordinate and number and return VS_EINVAL with a message
 * naming the bad value (which ring and point for polygons), or VS_ENOMEM. */
int vs__geo_cap_new(double lat, double lon, double radius_m, vs__geo_region **out, vs__err *e);
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
/* The vs__s2_relate_fn of the region (conservative): pass the region as its argument. */
int vs__geo_region_relate(const void *region, vs__s2cell cell);
/* The region's S2 covering (made once when the region is built, max_cells
 * VS__GEO_COVER_CELLS, levels chosen from the region's size); owned by the region. */
#define VS__GEO_COVER_CELLS 24
const vs__s2_covering *vs__geo_region_covering(const vs__geo_region *r);

#endif
