/*
 * geo_rank.h — ranking by geographic distance: nearest-first ordering (vs_geo_nearest)
 * and the distance decay that hybrid geo + vector queries combine with the vector score
 * (vs_decay, applied by search.c).
 *
 * Both measure WGS84 geodesic distance (geo/geo.h) from an origin to the geo points a
 * payload holds at a path ({"lat", "lon"} objects, or arrays of them); a point with
 * several locations is as far as its nearest one.
 */
#ifndef VS_QUERY_GEO_RANK_H
#define VS_QUERY_GEO_RANK_H

#include "engine/collection.h"
#include "query/filter.h"

int vs__geo_nearest(vs__coll *c, const vs_geo_query *q, vs_result **out, vs__err *e);

/* The segment's geo index on the path (canonical text), covering every row, or NULL. A
 * mutable segment's must be locked (engine/pindex.h) while it is read. */
struct vs__pidx;
const struct vs__pidx *vs__geo_index_of(const vs__segment *s, const char *path);

/* Validates a decay (VS_EINVAL / VS_ERANGE with the field named) and compiles its path
 * into *path (owned by the caller, vs__fpath_free). */
int vs__decay_prepare(const vs_decay *d, vs__fpath **path, vs__err *e);
/* t(d) of the decay for a distance in metres (d < 0: no location, t = 0). */
double vs__decay_term(const vs_decay *d, double metres);
/* The combined score of a vector score s (metric: enum vs_metric; for l2, s is the
 * Euclidean distance). */
double vs__decay_combine(const vs_decay *d, int metric, double s, double t);
/* The smallest term with which a vector score s reaches the key tk (keys: higher is
 * better; l2 keys are negated combined distances): > 1 never, <= 0 always. */
double vs__decay_t_needed(const vs_decay *d, int metric, double s, double tk);
/* The distance at which the term falls to t (0 < t <= 1): vs__decay_term's inverse. */
double vs__decay_radius(const vs_decay *d, double t);

/* The distance in metres from (lat, lon) to the nearest geo point of the payload at
 * path; -1 when it holds none. Negative code only on failure (out of memory). */
int vs__geo_payload_distance(const vs__fpath *path, vs__filter_ctx *fx, const char *payload,
                             size_t len, double lat, double lon, double *metres, vs__err *e);

/* Bounds on that distance from the sphere alone (no geodesic): lo <= distance <= hi;
 * both -1 when the payload holds no point. */
int vs__geo_payload_bounds(const vs__fpath *path, vs__filter_ctx *fx, const char *payload,
                           size_t len, double lat, double lon, double *lo, double *hi, vs__err *e);

#endif
