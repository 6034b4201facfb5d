/*
 * geodesic_oracle.h — GeographicLib's geodesics behind plain C (tests only;
 * tests/oracle/geodesic_oracle.cc).
 *
 * The geo_oracle suite compares vs__geo_distance (PROJ's C port of Karney's algorithm)
 * with GeographicLib's C++ original, GeographicLib::Geodesic::WGS84().Inverse. Every
 * function catches all C++ exceptions and then returns its documented failure value.
 * Built only when libgeographiclib-dev (and libs2-dev) are installed (VS_HAVE_ORACLE).
 */
#ifndef VS_TESTS_GEODESIC_ORACLE_H
#define VS_TESTS_GEODESIC_ORACLE_H

#ifdef __cplusplus
extern "C" {
#endif

/* WGS84 geodesic distance in metres between two points in degrees; 0 and *s12 set, or
 * -1 if GeographicLib threw (or gave NaN). */
int vso_geodesic_inverse(double lat1, double lon1, double lat2, double lon2, double *s12);

#ifdef __cplusplus
}
#endif

#endif
