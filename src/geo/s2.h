/*
 * s2.h — S2 cell ids and region coverings, in C (Google's S2 geometry, re-implemented).
 *
 * Why our own: libs2 is C++17 over abseil (20 shared libraries); the core library stays
 * C with no C++ runtime. Debian's libs2-dev is used only by the tests, as an oracle
 * (tests/oracle/s2_oracle.cc): cell ids, tokens, parents, vertices and the coverings'
 * validity are checked against it on random and adversarial points.
 *
 * The math (S2's s2coords.h, s2cell_id.h): a point on the unit sphere (lat/lng in
 * degrees → x,y,z) is projected onto one of six cube faces (the largest |component|),
 * to (u,v) in [-1,1]², then through S2's quadratic transform to (s,t) in [0,1]², then to
 * integer (i,j) in [0, 2^30). The cell id is the face (3 bits) followed by the position
 * along a Hilbert curve over the face (2 bits per level, 30 levels) and a trailing 1
 * bit marking the level: a cell at level L has its lowest set bit at 2·(30−L). All the
 * leaf cells inside a cell form the contiguous id range [range_min, range_max], which is
 * what makes a sorted array of leaf ids an index: a covering cell is a binary search.
 * Level-30 cells are about 1 cm across; level L cells about 10000 km / 2^L.
 *
 * Coverings (S2RegionCoverer's algorithm): start from the six faces, drop cells the
 * region does not touch, keep cells it contains whole ("inside": their points need no
 * check), split the rest — largest first — until max_cells is reached or max_level;
 * what is left are "boundary" cells whose points must be checked exactly. The region
 * answers through one callback that must be conservative: DISJOINT only when no point
 * of the cell is in the region, INSIDE only when every point is.
 *
 * Everything here is pure arithmetic on the caller's values: no state, thread-safe.
 */
#ifndef VS_GEO_S2_H
#define VS_GEO_S2_H

#include <stddef.h>
#include <stdint.h>

typedef uint64_t vs__s2cell;

#define VS__S2_MAX_LEVEL 30
#define VS__S2_NONE 0 /* not a cell (id 0 is invalid in S2) */

/* Unit vector of a point given in degrees (lat in [-90, 90], any finite lng). */
void vs__s2_latlng_to_point(double lat_deg, double lng_deg, double p[3]);
/* Degrees of a (not necessarily unit) non-zero vector; lng in (-180, 180]. */
void vs__s2_point_to_latlng(const double p[3], double *lat_deg, double *lng_deg);

/* The leaf (level 30) cell holding the point. Equal to S2CellId(S2LatLng::FromDegrees),
 * bit for bit, for every input (libs2's own rounding included). Two consequences of
 * that: lng 180 and -180 are the same meridian but, as in libs2, land in the two leaves
 * either side of it (the antimeridian is a cell edge; sin(±π) = ±1.2e-16), and a pole
 * lands in one of the four leaves around it depending on lng. Both leaves' bounds hold
 * the point; a covering of a region holding it holds both. ~60 ns (from_point ~30). */
vs__s2cell vs__s2_from_latlng(double lat_deg, double lng_deg);
vs__s2cell vs__s2_from_point(const double p[3]);
/* The cell of a face (0..5), level 0. */
vs__s2cell vs__s2_from_face(int face);

/* Center of the cell as a unit vector / in degrees (S2CellId::ToPoint / ToLatLng). */
void vs__s2_center(vs__s2cell id, double p[3]);
void vs__s2_center_latlng(vs__s2cell id, double *lat_deg, double *lng_deg);
/* The four corners, unit vectors, counter-clockwise (S2Cell::GetVertex(0..3)). */
void vs__s2_vertices(vs__s2cell id, double v[4][3]);

int vs__s2_is_valid(vs__s2cell id);
/* 0..30 (-1 for VS__S2_NONE). */
int vs__s2_level(vs__s2cell id);
int vs__s2_face(vs__s2cell id);
/* Ancestor at level (0 <= level <= vs__s2_level(id)). */
vs__s2cell vs__s2_parent(vs__s2cell id, int level);
/* Child pos (0..3, Hilbert order) of a non-leaf cell. */
vs__s2cell vs__s2_child(vs__s2cell id, int pos);
/* The first and last leaf ids inside the cell; a leaf id x is inside iff
 * range_min <= x <= range_max. */
vs__s2cell vs__s2_range_min(vs__s2cell id);
vs__s2cell vs__s2_range_max(vs__s2cell id);
/* 1 if b is a or a descendant of a. */
int vs__s2_contains(vs__s2cell a, vs__s2cell b);

/* S2's token: the id in hex with trailing zero digits removed ("X" for 0). buf holds at
 * least 17 bytes; returns the length. */
size_t vs__s2_to_token(vs__s2cell id, char *buf);
/* Parses a token (1..16 hex digits, either case); 0 and not-a-valid-cell are refused.
 * Returns 0 and sets *out, or -1. */
int vs__s2_from_token(const char *s, size_t len, vs__s2cell *out);

/* A spherical cap containing the whole cell: center (unit vector) and the angle
 * (radians) from it to the farthest point of the cell, padded for rounding (1e-14 rad;
 * this also covers any point whose vs__s2_from_latlng/from_point lies in the cell).
 * About as tight as S2Cell::GetCapBound; ~50 ns. */
void vs__s2_cap_bound(vs__s2cell id, double center[3], double *angle);
/* A latitude/longitude rectangle containing the whole cell, in degrees, padded for
 * rounding (as cap_bound; longitudes by 1e-14 rad / cos(lat)): lat in [*lat_lo,
 * *lat_hi]; lng in [*lng_lo, *lng_hi], or when *lng_lo > *lng_hi the rectangle crosses
 * the antimeridian (lng >= lo or lng <= hi); a cell holding a pole gets lat exactly
 * ±90 and the full range [-180, 180]. Values stay within [-90, 90] and [-180, 180]; a
 * point at lng -180 may need testing as 180 (and vice versa) against a range ending at
 * ±180. The edges' latitude bulge is accounted for (faces). ~100 ns. */
void vs__s2_rect_bound(vs__s2cell id, double *lat_lo, double *lat_hi, double *lng_lo,
                       double *lng_hi);
/* The finest level whose cells' shortest edge is still at least `angle` radians
 * (S2's kMinEdge.GetLevelForMinValue: edges at level L are >= (2√2/3)·2^-L); 0 when
 * even faces are smaller, 30 for angle <= 0. Used to pick a covering's finest useful
 * level. */
int vs__s2_level_for_min_edge(double angle);

/* ---- coverings ---- */

enum { VS__S2_DISJOINT = 0, VS__S2_INTERSECTS = 1, VS__S2_INSIDE = 2 };
/* How the region stands to the cell (conservative, see above). */
typedef int (*vs__s2_relate_fn)(const void *region, vs__s2cell cell);

#define VS__S2_COVER_CELLS_DEFAULT 16
#define VS__S2_COVER_CELLS_MAX 4096

typedef struct vs__s2_cover_opts {
    int min_level;  /* no cell coarser than this (default 0) */
    int max_level;  /* no cell finer than this (default 30) */
    int max_cells;  /* stop splitting once this many cells would be exceeded (a soft
                       limit, as in S2: a covering may hold more when the region needs
                       them at min_level, or when max_cells < the number of faces the
                       region touches) */
} vs__s2_cover_opts;
/* vs__s2_cover clamps the options: levels to [0, 30], max_level to >= min_level,
 * max_cells to [1, VS__S2_COVER_CELLS_MAX]. */

void vs__s2_cover_opts_init(vs__s2_cover_opts *o);

typedef struct vs__s2_covering {
    vs__s2cell *cells;   /* sorted by id, pairwise disjoint (none contains another) */
    uint8_t *inside;     /* per cell: 1 = the region contains the whole cell */
    size_t n;
} vs__s2_covering;

/* Covers the region (S2RegionCoverer's exterior covering: with the same relate answers
 * the result equals libs2's in ~99% of cases, the rest differ only in which of equally
 * ranked cells were split). relate is called once per examined cell (about 12 per
 * output cell, plus 4 per level above the region's size); children of an INSIDE cell
 * are not asked. o may be NULL (defaults). Returns 0, or VS_ENOMEM with *out zeroed
 * and nothing allocated (cells are allocated with util/alloc.h; free with
 * vs__s2_covering_free, which accepts a zeroed struct). An empty region gives n = 0
 * and cells = inside = NULL. */
int vs__s2_cover(vs__s2_relate_fn relate, const void *region, const vs__s2_cover_opts *o,
                 vs__s2_covering *out);
void vs__s2_covering_free(vs__s2_covering *c);

#endif
