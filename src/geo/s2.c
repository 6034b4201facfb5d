/*
 * s2.c — S2 cell ids, cell bounds and region coverings (s2.h), after Google's S2
 * (s2coords.h, s2cell_id.cc, s2cell.cc, s2region_coverer.cc), written from the
 * algorithms, not from their code.
 *
 * Why bit-for-bit: a geo index stores leaf ids of points and answers a query by the id
 * ranges of a covering, so the only thing that must never drift is the mapping from a
 * point to its leaf. We follow libs2's arithmetic operation by operation — degrees to
 * radians as (π/180)·deg, the face as the largest |component| with ties going to the
 * later axis, u = y/x style ratios, the quadratic u→s map, and s→i as
 * round-half-even(2^30·s − 0.5) (libs2's FastIntRound, one cvtsd2si) — and the tests
 * compare ids with libs2 on uniform and adversarial points (face edges, poles, ±180).
 *
 * Hilbert curve: (i, j) → position uses two 1024-entry tables (4 levels = 8 bits of
 * (i, j) plus a 2-bit orientation in, 8 bits of position plus the orientation out), so
 * a leaf id is 8 lookups. The tables are generated once, at first use, under
 * pthread_once; afterwards every function is pure arithmetic and thread-safe.
 *
 * Invariants of a valid id: face (top 3 bits) < 6, and the lowest set bit sits at an
 * even position 2·(30 − level). Every function taking an id expects a valid one, except
 * vs__s2_is_valid and vs__s2_from_token which check.
 *
 * Bounds are conservative. A cell is the spherical quadrilateral whose edges are the
 * great circles u = const and v = const through its four vertices, a convex region, so
 * a cap holding the four vertices holds the cell (cap_bound). For rect_bound: on every
 * face the great circle u = const contains the axis of one coordinate and reaches its
 * extreme latitude at v = 0 (likewise v = const at u = 0); u = 0 and v = 0 are edges of
 * the level-1 cells, so an edge of a cell at level >= 1 never straddles them and its
 * latitude is monotone — the extremes are at vertices. Longitude is monotone along any
 * great circle arc that misses the poles, and the only cells touching a pole hold it as
 * a vertex (the pole is (u, v) = (0, 0) on faces 2 and 5), so a cell's longitudes are
 * the shortest arc holding its four vertex longitudes, or everything when a vertex is
 * a pole. Faces (level 0) bulge (an edge of face 0 peaks at 45° where u = 0) and use
 * fixed bounds. Both bounds are padded by VS__PAD radians — much more than the rounding
 * in the vertices and in from_latlng — so a point whose computed leaf lies in the cell
 * is inside too; rect longitudes are padded by VS__PAD / cos(latitude).
 *
 * Coverings follow S2RegionCoverer (exterior covering, level_mod 1). A candidate is a
 * cell the region may touch; when it is queued its four children are related at once so
 * the queue can rank it: coarsest level first, then fewest children, then fewest
 * terminal children (S2's priority). A child is terminal when it is INSIDE or at
 * max_level (and not coarser than min_level); a candidate whose four children are all
 * terminal becomes one cell itself. Popping a candidate expands it when it is coarser
 * than min_level, has one child, or when results + queue + its children still fit in
 * max_cells; otherwise it is kept as a boundary cell. Children of an INSIDE cell are
 * INSIDE without asking the region. The result is sorted, and four siblings merge into
 * their parent (inside only if all four were) unless the parent is coarser than
 * min_level (S2CellUnion::Normalize then Denormalize). S2 starts from a small covering
 * of the region's bounding cap; we start from the six faces, since a relate() callback
 * has no bound to offer — results agree with libs2 in most cases, not all.
 */
#include "geo/s2.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "util/alloc.h"
#include "vecstore.h"

#define LOOKUP_BITS 4
#define SWAP_MASK 1
#define INVERT_MASK 2
#define LIMIT_IJ (1 << VS__S2_MAX_LEVEL) /* 2^30 */
#define FACE_SHIFT 61

/* Padding of the bounds, radians (≈ 25 nm): vertex rounding is ~3e-16, a point's
 * rounding on its way to a leaf id ~2e-16, degrees conversion ~1 ulp. */
#define VS__PAD 4e-15
#define DEG(r) ((180 / M_PI) * (r))
#define RAD(d) ((M_PI / 180) * (d))

/* ------------------------------------------------------------ Hilbert tables ---- */

/* For each orientation, the (i, j) quadrant (i in bit 1, j in bit 0) of the child at
 * each Hilbert position, and how the child's orientation differs from its parent's. */
static const int pos_to_ij[4][4] = {{0, 1, 3, 2}, {0, 2, 3, 1}, {3, 2, 0, 1}, {3, 1, 0, 2}};
static const int pos_to_orient[4] = {SWAP_MASK, 0, 0, INVERT_MASK | SWAP_MASK};

/* lookup_pos[(i4 << 6) | (j4 << 2) | orient] = (pos8 << 2) | orient', and lookup_ij the
 * inverse: [(pos8 << 2) | orient] = (i4 << 6) | (j4 << 2) | orient'. */
static uint16_t lookup_pos[1 << (2 * LOOKUP_BITS + 2)];
static uint16_t lookup_ij[1 << (2 * LOOKUP_BITS + 2)];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;
static atomic_int tables_ready;

static void init_tables(void) {
    for (int o = 0; o < 4; o++) {
        for (int pos = 0; pos < (1 << (2 * LOOKUP_BITS)); pos++) {
            int i = 0, j = 0, r = o;
            for (int k = LOOKUP_BITS - 1; k >= 0; k--) {
                int d = (pos >> (2 * k)) & 3, q = pos_to_ij[r][d];
                i = (i << 1) | (q >> 1);
                j = (j << 1) | (q & 1);
                r ^= pos_to_orient[d];
            }
            int ij = (i << LOOKUP_BITS) | j;
            lookup_pos[(ij << 2) | o] = (uint16_t)((pos << 2) | r);
            lookup_ij[(pos << 2) | o] = (uint16_t)((ij << 2) | r);
        }
    }
    atomic_store_explicit(&tables_ready, 1, memory_order_release);
}

static inline void tables(void) {
    if (!atomic_load_explicit(&tables_ready, memory_order_acquire))
        pthread_once(&tables_once, init_tables);
}

/* ----------------------------------------------------------- coordinates ---- */

static inline int xyz_face(const double p[3]) {
    double ax = fabs(p[0]), ay = fabs(p[1]), az = fabs(p[2]);
    /* libs2's LargestAbsComponent (ties go to the later axis), written so that the
     * compiler uses conditional moves: random points mispredict branches half the
     * time, which cost 10 ns of the 36 a leaf took. */
    int x_gt_y = ax > ay;
    double big = x_gt_y ? ax : ay;
    int f = big > az ? 1 - x_gt_y : 2;
    return p[f] < 0 ? f + 3 : f;
}

/* Face f's (u, v) as ratios of components: u = su·p[iu] / p[f mod 3], likewise v
 * (S2's ValidFaceXYZtoUV as a table; a sign flip is exact, so this is bit-identical). */
static const uint8_t face_axis[6] = {0, 1, 2, 0, 1, 2};
static const uint8_t face_iu[6] = {1, 0, 0, 2, 2, 1}, face_iv[6] = {2, 2, 1, 1, 0, 0};
static const double face_su[6] = {1, -1, -1, 1, 1, -1}, face_sv[6] = {1, 1, -1, 1, -1, -1};

static inline void face_xyz_to_uv(int face, const double p[3], double *u, double *v) {
    double w = p[face_axis[face]];
    *u = (face_su[face] * p[face_iu[face]]) / w;
    *v = (face_sv[face] * p[face_iv[face]]) / w;
}

static inline void face_uv_to_xyz(int face, double u, double v, double p[3]) {
    switch (face) {
    case 0: p[0] = 1; p[1] = u; p[2] = v; break;
    case 1: p[0] = -u; p[1] = 1; p[2] = v; break;
    case 2: p[0] = -u; p[1] = -v; p[2] = 1; break;
    case 3: p[0] = -1; p[1] = -v; p[2] = -u; break;
    case 4: p[0] = v; p[1] = -1; p[2] = -u; break;
    default: p[0] = v; p[1] = u; p[2] = -1; break;
    }
}

/* S2's quadratic projection: cells of nearly equal area at a cheap inverse. */
static inline double uv_to_st(double u) {
    /* = u >= 0 ? 0.5·sqrt(1 + 3u) : 1 − 0.5·sqrt(1 − 3u), bit for bit (−3u = 3|u|
     * exactly), without the branch. */
    double h = 0.5 * sqrt(1 + 3 * fabs(u));
    return u >= 0 ? h : 1 - h;
}

static inline double st_to_uv(double s) {
    return s >= 0.5 ? (1 / 3.) * (4 * s * s - 1) : (1 / 3.) * (1 - 4 * (1 - s) * (1 - s));
}

/* Round half to even in the current (default) rounding mode, as libs2's FastIntRound;
 * NaN and out-of-range give INT_MIN on x86 and clamp to 0. */
static inline int round_int(double x) {
#if defined(__SSE2__)
    return _mm_cvtsd_si32(_mm_set_sd(x));
#else
    if (!(x > -2147483648.0 && x < 2147483647.0)) return -2147483647 - 1;
    return (int)lrint(x);
#endif
}

static inline int st_to_ij(double s) {
    int i = round_int((double)LIMIT_IJ * s - 0.5);
    i = i < 0 ? 0 : i;
    return i > LIMIT_IJ - 1 ? LIMIT_IJ - 1 : i;
}

static inline void normalize(double p[3]) {
    double n = sqrt(p[0] * p[0] + p[1] * p[1] + p[2] * p[2]);
    if (n != 0) n = 1.0 / n;
    p[0] *= n;
    p[1] *= n;
    p[2] *= n;
}

void vs__s2_latlng_to_point(double lat_deg, double lng_deg, double p[3]) {
    double phi = RAD(lat_deg), theta = RAD(lng_deg);
    double cosphi = cos(phi);
    p[0] = cos(theta) * cosphi;
    p[1] = sin(theta) * cosphi;
    p[2] = sin(phi);
}

/* Radians, as S2LatLng(p): "+ 0.0" turns -0 into +0 so that lng is never -π for a
 * point on the antimeridian. */
static inline void xyz_latlng_rad(const double p[3], double *lat, double *lng) {
    *lat = atan2(p[2] + 0.0, sqrt(p[0] * p[0] + p[1] * p[1]));
    *lng = atan2(p[1] + 0.0, p[0] + 0.0);
}

void vs__s2_point_to_latlng(const double p[3], double *lat_deg, double *lng_deg) {
    double lat, lng;
    xyz_latlng_rad(p, &lat, &lng);
    *lat_deg = DEG(lat);
    *lng_deg = DEG(lng);
    if (*lng_deg <= -180) *lng_deg = 180;
}

/* ------------------------------------------------------------------ ids ---- */

static inline uint64_t lsb_of(vs__s2cell id) { return id & (~id + 1); }
static inline uint64_t lsb_for_level(int level) {
    return 1ull << (2 * (VS__S2_MAX_LEVEL - level));
}

static vs__s2cell from_face_ij(int face, int i, int j) {
    tables();
    uint64_t n = (uint64_t)face << (FACE_SHIFT - 1);
    unsigned bits = (unsigned)face & SWAP_MASK;
    const unsigned mask = (1u << LOOKUP_BITS) - 1;
    for (int k = 7; k >= 0; k--) {
        bits += (((unsigned)i >> (k * LOOKUP_BITS)) & mask) << (LOOKUP_BITS + 2);
        bits += (((unsigned)j >> (k * LOOKUP_BITS)) & mask) << 2;
        bits = lookup_pos[bits];
        n |= (uint64_t)(bits >> 2) << (k * 2 * LOOKUP_BITS);
        bits &= SWAP_MASK | INVERT_MASK;
    }
    return n * 2 + 1;
}

/* Face, leaf (i, j) of the cell's first leaf's corner, and the Hilbert orientation. */
static int to_face_ij(vs__s2cell id, int *pi, int *pj, int *orient) {
    tables();
    int face = (int)(id >> FACE_SHIFT);
    unsigned bits = (unsigned)face & SWAP_MASK, i = 0, j = 0;
    for (int k = 7; k >= 0; k--) {
        unsigned nbits = k == 7 ? VS__S2_MAX_LEVEL - 7 * LOOKUP_BITS : LOOKUP_BITS;
        bits += ((unsigned)(id >> (k * 2 * LOOKUP_BITS + 1)) & ((1u << (2 * nbits)) - 1)) << 2;
        bits = lookup_ij[bits];
        i += (bits >> (LOOKUP_BITS + 2)) << (k * LOOKUP_BITS);
        j += ((bits >> 2) & ((1u << LOOKUP_BITS) - 1)) << (k * LOOKUP_BITS);
        bits &= SWAP_MASK | INVERT_MASK;
    }
    if (orient) {
        /* The tables assume a leaf; a cell at an odd number of levels above swaps. */
        if (lsb_of(id) & 0x1111111111111110ull) bits ^= SWAP_MASK;
        *orient = (int)bits;
    }
    *pi = (int)i;
    *pj = (int)j;
    return face;
}

vs__s2cell vs__s2_from_point(const double p[3]) {
    double u, v;
    int face = xyz_face(p);
    face_xyz_to_uv(face, p, &u, &v);
    return from_face_ij(face, st_to_ij(uv_to_st(u)), st_to_ij(uv_to_st(v)));
}

vs__s2cell vs__s2_from_latlng(double lat_deg, double lng_deg) {
    double p[3];
    vs__s2_latlng_to_point(lat_deg, lng_deg, p);
    return vs__s2_from_point(p);
}

vs__s2cell vs__s2_from_face(int face) {
    return ((uint64_t)face << FACE_SHIFT) + lsb_for_level(0);
}

int vs__s2_is_valid(vs__s2cell id) {
    return (id >> FACE_SHIFT) < 6 && (lsb_of(id) & 0x1555555555555555ull) != 0;
}

int vs__s2_level(vs__s2cell id) {
    if (id == 0) return -1;
    return VS__S2_MAX_LEVEL - (__builtin_ctzll(id) >> 1);
}

int vs__s2_face(vs__s2cell id) { return (int)(id >> FACE_SHIFT); }

vs__s2cell vs__s2_parent(vs__s2cell id, int level) {
    uint64_t lsb = lsb_for_level(level);
    return (id & (~lsb + 1)) | lsb;
}

vs__s2cell vs__s2_child(vs__s2cell id, int pos) {
    uint64_t lsb = lsb_of(id), nl = lsb >> 2;
    return id - lsb + (uint64_t)(2 * pos + 1) * nl;
}

vs__s2cell vs__s2_range_min(vs__s2cell id) { return id - (lsb_of(id) - 1); }
vs__s2cell vs__s2_range_max(vs__s2cell id) { return id + (lsb_of(id) - 1); }

int vs__s2_contains(vs__s2cell a, vs__s2cell b) {
    return vs__s2_range_min(a) <= b && b <= vs__s2_range_max(a);
}

/* ------------------------------------------------------------- geometry ---- */

/* The cell's (u, v) rectangle: u in [uv[0], uv[1]], v in [uv[2], uv[3]]. */
static int cell_uv(vs__s2cell id, double uv[4]) {
    int i, j;
    int face = to_face_ij(id, &i, &j, NULL);
    int size = 1 << (VS__S2_MAX_LEVEL - vs__s2_level(id));
    int ilo = i & -size, jlo = j & -size;
    uv[0] = st_to_uv((1.0 / LIMIT_IJ) * ilo);
    uv[1] = st_to_uv((1.0 / LIMIT_IJ) * (ilo + size));
    uv[2] = st_to_uv((1.0 / LIMIT_IJ) * jlo);
    uv[3] = st_to_uv((1.0 / LIMIT_IJ) * (jlo + size));
    return face;
}

/* Unnormalized corner k in S2Cell::GetVertex order: (lo,lo), (hi,lo), (hi,hi), (lo,hi). */
static inline void corner_raw(int face, const double uv[4], int k, double p[3]) {
    int jv = (k >> 1) & 1, iu = jv ^ (k & 1);
    face_uv_to_xyz(face, uv[iu], uv[2 + jv], p);
}

/* S2CellId::ToPointRaw: the center in (s, t) — si = 2i + delta in units of 2^-31. */
static int center_raw(vs__s2cell id, double p[3]) {
    int i, j;
    int face = to_face_ij(id, &i, &j, NULL);
    int delta = (id & 1) ? 1 : (((unsigned)i ^ ((unsigned)id >> 2)) & 1) ? 2 : 0;
    double s = (1.0 / 2147483648.0) * (double)(2u * (unsigned)i + (unsigned)delta);
    double t = (1.0 / 2147483648.0) * (double)(2u * (unsigned)j + (unsigned)delta);
    face_uv_to_xyz(face, st_to_uv(s), st_to_uv(t), p);
    return face;
}

void vs__s2_center(vs__s2cell id, double p[3]) {
    center_raw(id, p);
    normalize(p);
}

void vs__s2_center_latlng(vs__s2cell id, double *lat_deg, double *lng_deg) {
    double p[3];
    center_raw(id, p);
    vs__s2_point_to_latlng(p, lat_deg, lng_deg);
}

void vs__s2_vertices(vs__s2cell id, double v[4][3]) {
    double uv[4];
    int face = cell_uv(id, uv);
    for (int k = 0; k < 4; k++) {
        corner_raw(face, uv, k, v[k]);
        normalize(v[k]);
    }
}

/* Angle between unit vectors, accurate at every size (atan2 of |a×b| and a·b). */
static inline double angle_between(const double a[3], const double b[3]) {
    double cx = a[1] * b[2] - a[2] * b[1], cy = a[2] * b[0] - a[0] * b[2],
           cz = a[0] * b[1] - a[1] * b[0];
    return atan2(sqrt(cx * cx + cy * cy + cz * cz), a[0] * b[0] + a[1] * b[1] + a[2] * b[2]);
}

void vs__s2_cap_bound(vs__s2cell id, double center[3], double *angle) {
    double uv[4], a = 0;
    int face = cell_uv(id, uv);
    face_uv_to_xyz(face, 0.5 * (uv[0] + uv[1]), 0.5 * (uv[2] + uv[3]), center);
    normalize(center);
    for (int k = 0; k < 4; k++) {
        double p[3];
        corner_raw(face, uv, k, p);
        normalize(p);
        double d = angle_between(center, p);
        if (d > a) a = d;
    }
    *angle = a * (1 + 4 * DBL_EPSILON) + VS__PAD;
}

void vs__s2_rect_bound(vs__s2cell id, double *lat_lo, double *lat_hi, double *lng_lo,
                       double *lng_hi) {
    int level = vs__s2_level(id);
    if (level == 0) {
        /* Faces bulge past their corners (the middle of an edge of face 0 is at 45°);
         * the polar faces hold their pole. asin(1/√3) = 35.2643896827546544°. */
        const double pad = DEG(VS__PAD) + 1e-13;
        const double polar = 35.2643896827546544 - pad;
        int face = vs__s2_face(id);
        if (face == 2 || face == 5) {
            *lat_lo = face == 2 ? polar : -90;
            *lat_hi = face == 2 ? 90 : -polar;
            *lng_lo = -180;
            *lng_hi = 180;
            return;
        }
        static const double lng_mid[6] = {0, 90, 0, 180, -90, 0};
        double lo = lng_mid[face] - 45 - pad, hi = lng_mid[face] + 45 + pad;
        *lat_lo = -45 - pad;
        *lat_hi = 45 + pad;
        *lng_lo = lo < -180 ? lo + 360 : lo;
        *lng_hi = hi > 180 ? hi - 360 : hi;
        return;
    }
    double uv[4], lat[4], lng[4];
    int face = cell_uv(id, uv), pole = 0;
    double la_lo = M_PI, la_hi = -M_PI;
    for (int k = 0; k < 4; k++) {
        double p[3];
        corner_raw(face, uv, k, p);
        xyz_latlng_rad(p, &lat[k], &lng[k]);
        if (p[0] == 0 && p[1] == 0) pole = 1; /* (u, v) = (0, 0) on face 2 or 5 */
        if (lat[k] < la_lo) la_lo = lat[k];
        if (lat[k] > la_hi) la_hi = lat[k];
    }
    la_lo -= VS__PAD;
    la_hi += VS__PAD;
    if (la_lo < -M_PI_2) la_lo = -M_PI_2;
    if (la_hi > M_PI_2) la_hi = M_PI_2;
    *lat_lo = pole && face == 5 ? -90 : DEG(la_lo);
    *lat_hi = pole && face == 2 ? 90 : DEG(la_hi);
    if (pole) {
        *lng_lo = -180;
        *lng_hi = 180;
        return;
    }
    /* The shortest arc holding the four longitudes: the one starting at the vertex
     * whose farthest eastward neighbour is nearest. */
    double best_lo = 0, best_w = 4 * M_PI;
    for (int a = 0; a < 4; a++) {
        double w = 0;
        for (int b = 0; b < 4; b++) {
            double d = lng[b] - lng[a];
            if (d < 0) d += 2 * M_PI;
            if (d > w) w = d;
        }
        if (w < best_w) {
            best_w = w;
            best_lo = lng[a];
        }
    }
    double far = fabs(la_lo) > fabs(la_hi) ? fabs(la_lo) : fabs(la_hi);
    double pad = VS__PAD / cos(far) + VS__PAD;
    if (best_w + 2 * pad >= 2 * M_PI) {
        *lng_lo = -180;
        *lng_hi = 180;
        return;
    }
    double lo = best_lo - pad, hi = best_lo + best_w + pad;
    if (lo < -M_PI) lo += 2 * M_PI;
    if (hi > M_PI) hi -= 2 * M_PI;
    *lng_lo = DEG(lo);
    *lng_hi = DEG(hi);
    if (*lng_lo < -180) *lng_lo = -180;
    if (*lng_hi > 180) *lng_hi = 180;
}

int vs__s2_level_for_min_edge(double angle) {
    /* S2's kMinEdge metric for the quadratic projection: every edge at level L is at
     * least (2√2/3)·2^-L radians; the level is floor(log2(deriv / angle)). */
    const double deriv = 2 * M_SQRT2 / 3;
    if (!(angle > 0)) return angle == angle ? VS__S2_MAX_LEVEL : 0;
    int level = ilogb(deriv / angle);
    return level < 0 ? 0 : level > VS__S2_MAX_LEVEL ? VS__S2_MAX_LEVEL : level;
}

/* --------------------------------------------------------------- tokens ---- */

size_t vs__s2_to_token(vs__s2cell id, char *buf) {
    static const char hex[] = "0123456789abcdef";
    if (id == 0) {
        memcpy(buf, "X", 2);
        return 1;
    }
    int zeros = __builtin_ctzll(id) / 4;
    size_t n = (size_t)(16 - zeros);
    uint64_t x = id >> (4 * zeros);
    for (size_t k = n; k-- > 0; x >>= 4) buf[k] = hex[x & 15];
    buf[n] = 0;
    return n;
}

int vs__s2_from_token(const char *s, size_t len, vs__s2cell *out) {
    if (!s || len == 0 || len > 16) return -1;
    uint64_t id = 0;
    for (size_t k = 0; k < len; k++) {
        char c = s[k];
        int d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
        else return -1;
        id = id << 4 | (uint64_t)d;
    }
    id <<= 4 * (16 - len);
    if (!vs__s2_is_valid(id)) return -1;
    *out = id;
    return 0;
}

/* ------------------------------------------------------------- coverings ---- */

void vs__s2_cover_opts_init(vs__s2_cover_opts *o) {
    o->min_level = 0;
    o->max_level = VS__S2_MAX_LEVEL;
    o->max_cells = VS__S2_COVER_CELLS_DEFAULT;
}

typedef struct {
    vs__s2cell id;
    uint32_t child[4];
    uint8_t level, nchild, nterm, terminal, inside;
} cand;

typedef struct {
    uint32_t key; /* S2's priority: ((level << 2) + children) << 2 + terminal children */
    uint32_t seq; /* ties: the later candidate first, as libs2's pointer order mostly is */
    uint32_t idx;
} qent;

typedef struct {
    vs__s2cell id;
    uint8_t inside;
} rent;

/* A growable array that starts in a stack buffer. */
typedef struct {
    void *p;
    size_t n, cap, elem;
    void *stack;
} vec;

static void vec_init(vec *v, void *stack, size_t cap, size_t elem) {
    v->p = v->stack = stack;
    v->n = 0;
    v->cap = cap;
    v->elem = elem;
}

static void vec_free(vec *v) {
    if (v->p != v->stack) vs__free(v->p);
    v->p = v->stack;
}

/* Room for one more; 0 or -1. */
static int vec_reserve(vec *v) {
    if (v->n < v->cap) return 0;
    size_t cap = v->cap * 2;
    void *q;
    if (v->p == v->stack) {
        q = vs__malloc(cap * v->elem);
        if (q) memcpy(q, v->p, v->n * v->elem);
    } else {
        q = vs__realloc(v->p, cap * v->elem);
    }
    if (!q) return -1;
    v->p = q;
    v->cap = cap;
    return 0;
}

typedef struct {
    vs__s2_relate_fn relate;
    const void *region;
    int min_level, max_level, max_cells;
    vec cands, queue, res;
    uint32_t seq;
} coverer;

#define CANDS(c) ((cand *)(c)->cands.p)
#define QUEUE(c) ((qent *)(c)->queue.p)
#define RES(c) ((rent *)(c)->res.p)

static inline int qless(const qent *a, const qent *b) {
    return a->key != b->key ? a->key < b->key : a->seq > b->seq;
}

static int q_push(coverer *c, uint32_t key, uint32_t idx) {
    if (vec_reserve(&c->queue)) return -1;
    qent *q = QUEUE(c), e = {key, c->seq++, idx};
    size_t k = c->queue.n++;
    while (k > 0) {
        size_t up = (k - 1) / 2;
        if (!qless(&e, &q[up])) break;
        q[k] = q[up];
        k = up;
    }
    q[k] = e;
    return 0;
}

static uint32_t q_pop(coverer *c) {
    qent *q = QUEUE(c), top = q[0], last = q[--c->queue.n];
    size_t n = c->queue.n, k = 0;
    for (;;) {
        size_t l = 2 * k + 1;
        if (l >= n) break;
        if (l + 1 < n && qless(&q[l + 1], &q[l])) l++;
        if (!qless(&q[l], &last)) break;
        q[k] = q[l];
        k = l;
    }
    if (n) q[k] = last;
    return top.idx;
}

static int res_push(coverer *c, vs__s2cell id, int inside) {
    if (vec_reserve(&c->res)) return -1;
    rent *r = &RES(c)[c->res.n++];
    r->id = id;
    r->inside = (uint8_t)inside;
    return 0;
}

#define NONE UINT32_MAX

/* A candidate for the cell, or NONE when the region misses it; -1 on ENOMEM. */
static int new_cand(coverer *c, vs__s2cell id, int level, int parent_inside, uint32_t *out) {
    int r = parent_inside ? VS__S2_INSIDE : c->relate(c->region, id);
    *out = NONE;
    if (r == VS__S2_DISJOINT) return 0;
    if (vec_reserve(&c->cands)) return -1;
    cand *x = &CANDS(c)[c->cands.n];
    x->id = id;
    x->level = (uint8_t)level;
    x->nchild = x->nterm = 0;
    x->inside = r == VS__S2_INSIDE;
    x->terminal = level >= c->min_level && (level >= c->max_level || x->inside);
    *out = (uint32_t)c->cands.n++;
    return 0;
}

/* S2RegionCoverer::AddCandidate: a terminal candidate is a result; otherwise its
 * children are related and it is queued (or, all four terminal, kept whole). */
static int add_cand(coverer *c, uint32_t idx) {
    if (idx == NONE) return 0;
    cand x = CANDS(c)[idx];
    if (x.terminal) return res_push(c, x.id, x.inside);
    uint32_t kids[4];
    int nk = 0, nterm = 0, all_inside = 1;
    for (int k = 0; k < 4; k++) {
        uint32_t ci;
        if (new_cand(c, vs__s2_child(x.id, k), x.level + 1, x.inside, &ci)) return -1;
        if (ci == NONE) {
            all_inside = 0;
            continue;
        }
        cand *ch = &CANDS(c)[ci];
        kids[nk++] = ci;
        nterm += ch->terminal;
        all_inside &= ch->inside;
    }
    if (nk == 0) return 0;
    if (nterm == 4 && x.level >= c->min_level) return res_push(c, x.id, all_inside);
    cand *px = &CANDS(c)[idx];
    memcpy(px->child, kids, sizeof kids);
    px->nchild = (uint8_t)nk;
    px->nterm = (uint8_t)nterm;
    return q_push(c, (((uint32_t)x.level << 2) + (uint32_t)nk) << 2 | (uint32_t)nterm, idx);
}

static void sort_res(rent *r, size_t n) {
    for (size_t i = 1; i < n; i++) { /* nearly sorted and small: insertion sort */
        rent e = r[i];
        size_t k = i;
        while (k > 0 && r[k - 1].id > e.id) {
            r[k] = r[k - 1];
            k--;
        }
        r[k] = e;
    }
}

static int cmp_rent(const void *a, const void *b) {
    vs__s2cell x = ((const rent *)a)->id, y = ((const rent *)b)->id;
    return x < y ? -1 : x > y;
}

/* Sorted, no cell inside another, four siblings merged while the parent is not coarser
 * than min_level. In place; returns the new count. */
static size_t normalize_res(rent *r, size_t n, int min_level) {
    if (n > 64) qsort(r, n, sizeof *r, cmp_rent);
    else sort_res(r, n);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        rent e = r[i];
        if (m > 0 && vs__s2_contains(r[m - 1].id, e.id)) continue;
        while (m > 0 && vs__s2_contains(e.id, r[m - 1].id)) m--;
        while (m >= 3) {
            int lv = vs__s2_level(e.id);
            if (lv - 1 < min_level) break;
            vs__s2cell p = vs__s2_parent(e.id, lv - 1);
            int ok = 1;
            for (size_t k = m - 3; k < m; k++)
                ok &= vs__s2_level(r[k].id) == lv && vs__s2_parent(r[k].id, lv - 1) == p;
            if (!ok) break;
            e.inside &= r[m - 3].inside & r[m - 2].inside & r[m - 1].inside;
            e.id = p;
            m -= 3;
        }
        r[m++] = e;
    }
    return m;
}

int vs__s2_cover(vs__s2_relate_fn relate, const void *region, const vs__s2_cover_opts *o,
                 vs__s2_covering *out) {
    cand cs[256];
    qent qs[64];
    rent rs[64];
    coverer c;
    vs__s2_cover_opts d;
    int rc = VS_ENOMEM;
    memset(out, 0, sizeof *out);
    if (!o) {
        vs__s2_cover_opts_init(&d);
        o = &d;
    }
    c.relate = relate;
    c.region = region;
    c.min_level = o->min_level < 0 ? 0 : o->min_level > VS__S2_MAX_LEVEL ? VS__S2_MAX_LEVEL
                                                                           : o->min_level;
    c.max_level = o->max_level < c.min_level ? c.min_level
                  : o->max_level > VS__S2_MAX_LEVEL ? VS__S2_MAX_LEVEL
                                                     : o->max_level;
    c.max_cells = o->max_cells < 1 ? 1 : o->max_cells > VS__S2_COVER_CELLS_MAX
                                             ? VS__S2_COVER_CELLS_MAX
                                             : o->max_cells;
    c.seq = 0;
    vec_init(&c.cands, cs, sizeof cs / sizeof cs[0], sizeof cs[0]);
    vec_init(&c.queue, qs, sizeof qs / sizeof qs[0], sizeof qs[0]);
    vec_init(&c.res, rs, sizeof rs / sizeof rs[0], sizeof rs[0]);

    for (int f = 0; f < 6; f++) {
        uint32_t idx;
        if (new_cand(&c, vs__s2_from_face(f), 0, 0, &idx) || add_cand(&c, idx)) goto done;
    }
    while (c.queue.n > 0) {
        uint32_t idx = q_pop(&c);
        cand x = CANDS(&c)[idx];
        if (x.level < c.min_level || x.nchild == 1 ||
            c.res.n + c.queue.n + x.nchild <= (size_t)c.max_cells) {
            for (int k = 0; k < x.nchild; k++)
                if (add_cand(&c, x.child[k])) goto done;
        } else if (res_push(&c, x.id, x.inside)) {
            goto done;
        }
    }
    size_t n = normalize_res(RES(&c), c.res.n, c.min_level);
    if (n > 0) {
        out->cells = vs__malloc(n * sizeof *out->cells);
        out->inside = vs__malloc(n);
        if (!out->cells || !out->inside) {
            vs__s2_covering_free(out);
            goto done;
        }
        for (size_t k = 0; k < n; k++) {
            out->cells[k] = RES(&c)[k].id;
            out->inside[k] = RES(&c)[k].inside;
        }
        out->n = n;
    }
    rc = 0;
done:
    vec_free(&c.cands);
    vec_free(&c.queue);
    vec_free(&c.res);
    return rc;
}

void vs__s2_covering_free(vs__s2_covering *c) {
    if (!c) return;
    vs__free(c->cells);
    vs__free(c->inside);
    c->cells = NULL;
    c->inside = NULL;
    c->n = 0;
}
