/*
 * s2_oracle.h — Google's libs2 behind plain C (tests only; tests/oracle/s2_oracle.cc).
 *
 * The geo_oracle suite compares src/geo/s2.c with libs2 through these functions. Only
 * C types cross the boundary: ids as uint64_t, points as double[3] (unit vectors),
 * angles in radians, latitudes/longitudes in degrees where named so. A cap is passed as
 * its center and its angle (S2Cap(center, S1Angle::Radians(angle))). Every function
 * catches all C++ exceptions; on one it returns the documented failure value.
 * Built only when libs2-dev is installed (VS_HAVE_ORACLE).
 */
#ifndef VS_TESTS_S2_ORACLE_H
#define VS_TESTS_S2_ORACLE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* S2CellId(S2LatLng::FromDegrees(lat, lng)).id(); 0 on failure. */
uint64_t vso_s2_from_latlng(double lat_deg, double lng_deg);
/* S2CellId(S2Point(p)).id(). */
uint64_t vso_s2_from_point(const double p[3]);
/* S2LatLng::FromDegrees(lat, lng).ToPoint(). */
void vso_s2_latlng_to_point(double lat_deg, double lng_deg, double p[3]);
uint64_t vso_s2_parent(uint64_t id, int level);
uint64_t vso_s2_child(uint64_t id, int pos);
int vso_s2_level(uint64_t id);
int vso_s2_face(uint64_t id);
int vso_s2_is_valid(uint64_t id);
uint64_t vso_s2_range_min(uint64_t id);
uint64_t vso_s2_range_max(uint64_t id);
/* ToToken into buf (at least 17 bytes); returns the length, 0 on failure. */
size_t vso_s2_to_token(uint64_t id, char *buf);
/* FromToken (0 for malformed tokens, as S2CellId::None()). */
uint64_t vso_s2_from_token(const char *s, size_t len);
/* S2CellId::ToPoint(), and ToLatLng() in degrees. */
void vso_s2_center(uint64_t id, double p[3]);
void vso_s2_center_latlng(uint64_t id, double *lat_deg, double *lng_deg);
/* S2Cell(id).GetVertex(k). */
void vso_s2_vertex(uint64_t id, int k, double p[3]);
/* S2Cell(id).GetRectBound() in radians: out = {lat_lo, lat_hi, lng_lo, lng_hi}; returns
 * 1 if the longitude interval is full, 0 otherwise, -1 on failure. lng_lo > lng_hi
 * means the interval crosses the antimeridian. */
int vso_s2_rect_bound(uint64_t id, double out[4]);
/* S2Cell(id).GetCapBound(): center and angle in radians. */
void vso_s2_cap_bound(uint64_t id, double center[3], double *angle);
/* S2Cell(id).ExactArea() (steradians). */
double vso_s2_exact_area(uint64_t id);
/* S2CellId::kMinEdge.GetLevelForMinValue(angle). */
int vso_s2_level_for_min_edge(double angle);

/* S2Cap(center, angle): MayIntersect(S2Cell(id)), Contains(S2Cell(id)),
 * Contains(S2Point(p)); -1 on failure. */
int vso_s2_cap_may_intersect(const double center[3], double angle, uint64_t id);
int vso_s2_cap_contains_cell(const double center[3], double angle, uint64_t id);
int vso_s2_cap_contains_point(const double center[3], double angle, const double p[3]);
/* S2Cap(center, angle).GetArea(). */
double vso_s2_cap_area(const double center[3], double angle);
/* S2RegionCoverer (max_cells, min_level, max_level) over the cap: writes up to cap ids
 * to out (sorted), returns how many the covering has, or -1 on failure. */
long vso_s2_cap_covering(const double center[3], double angle, int max_cells, int min_level,
                         int max_level, uint64_t *out, size_t cap);

#ifdef __cplusplus
}
#endif

#endif
