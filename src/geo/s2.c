/*
 * s2.c — S2 cell ids, cell bounds and region coverings (s2.h), after Google's S2
 * (s2coords.h, s2cell_id.cc, s2cell.cc, s2region_coverer.cc), written from the
 * algorithms, not from their code.
 *
 * Why bit-for-bit: a geo index stores leaf ids of points and answers a query by the id
 * ranges of a covering, so the mapping from a point to its leaf must be libs2's and
 * must never drift. We follow libs2's arithmetic operation by operation — degrees to
 * radians as (π/180)·deg, libm's sin and cos, the face as the largest |component| with
 * ties going to the later axis, u = y/x style ratios, the quadratic u→s map, and s→i
 * as round-half-even(2^30·s − 0.5) (libs2's FastIntRound, one cvtsd2si) — and the
 * geo_oracle tests compare with libs2 on uniform and adversarial points (face edges,
 * cube corners, poles, ±180, points a few ulps from cell edges).
 *
 * Speed (from_latlng is paid once per stored point): with libm's two sincos calls it
 * took 70 ns here, so vs__s2_from_latlng computes the point with a polynomial (within
 * 2e-16 of libm; 14 ns for both angles against libm's 25) and proves the result equal:
 * it falls back to the libm path when the face, i or j could differ by that error
 * (≈ 4 points in 10000; see the function): 57 ns. The geo suite checks both paths
 * agree. Hilbert positions come from 256-entry tables of
 * 4 levels, one 64-bit word per (i, j) chunk holding the answer for all four entry
 * orientations, so the 8 loads are independent and only a shift chains them.
 * The tables are built once, at first use, under pthread_once; after that everything
 * is arithmetic on the caller's values and thread-safe.
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
 * great-circle arc that misses the poles, and the only cells touching a pole hold it as
 * a vertex (the pole is (u, v) = (0, 0) on faces 2 and 5), so a cell's longitudes run
 * from its westmost to its eastmost vertex, or all around when a vertex is a pole.
 * Faces (level 0) bulge (an edge of face 0 peaks at 45° where u = 0) and use fixed
 * bounds. Both bounds are padded by VS__PAD radians — far more than the rounding in the
 * vertices and in from_latlng — so a point whose computed leaf lies in the cell is
 * inside too; rect longitudes are padded by VS__PAD / cos(latitude). The oracle test
 * finds our rects ~5e-14 rad wider than libs2's and our caps equal to 1e-6.
 *
 * Coverings follow S2RegionCoverer (exterior covering, level_mod 1). A candidate is a
 * cell the region may touch; when it is queued its four children are related at once so
 * the queue can rank it: coarsest level first, then fewest children, then fewest
 * terminal children (S2's priority). A child is terminal when it is INSIDE or at
 * max_level (and not coarser than min_level); a candidate whose four children are all
 * terminal becomes one cell itself. Popping a candidate expands it when it is coarser
 * than min_level, has one child, or when results + queue + its children still fit in
 * max_cells; otherwise it is kept as a boundary cell. So the count stays within
 * max_cells (or the number of faces the region touches) unless min_level forces more.
 * Children of an INSIDE cell are INSIDE without asking the region. The result is
 * sorted, and four siblings merge into their parent (inside only if all four were)
 * unless the parent is coarser than min_level (S2CellUnion::Normalize + Denormalize).
 * The queue breaks ties as libstdc++'s heap does for libs2; with the same predicates
 * our coverings equal libs2's for ~99% of caps (~75% of caps centred on a pole): libs2
 * seeds its queue from the region's bounding cells, we from the six faces (a relate()
 * callback has no bound to offer), so equal-priority cells may come out in another
 * order — the cell counts and areas agree.
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

/* Bit-for-bit needs a·b + c rounded twice, as libs2 builds it (_fp_contract_off.h):
 * GCC in ISO mode (-std=c11) does not contract; clang would, on FMA targets. */
#if defined(__clang__)
#pragma clang fp contract(off)
#endif

#define LOOKUP_BITS 4
#define SWAP_MASK 1
#define INVERT_MASK 2
#define LIMIT_IJ (1 << VS__S2_MAX_LEVEL) /* 2^30 */
#define FACE_SHIFT 61

/* Padding of the bounds, radians (≈ 64 nm): vertex rounding is ~3e-16, a chord or an
 * atan2 adds ~1e-15, a point's rounding on its way to a leaf id ~2e-16. */
#define VS__PAD 1e-14
#define DEG(r) ((180 / M_PI) * (r))
#define RAD(d) ((M_PI / 180) * (d))

/* ------------------------------------------------------------ Hilbert tables ---- */

/* For each orientation, the (i, j) quadrant (i in bit 1, j in bit 0) of the child at
 * each Hilbert position, and how the child's orientation differs from its parent's. */
static const int pos_to_ij[4][4] = {{0, 1, 3, 2}, {0, 2, 3, 1}, {3, 2, 0, 1}, {3, 1, 0, 2}};
static const int pos_to_orient[4] = {SWAP_MASK, 0, 0, INVERT_MASK | SWAP_MASK};

/* lookup_pos[ij8] holds, for the 8 bits ij8 = (i4 << 4) | j4 of four levels, the
 * answer for each entry orientation r in bits 16r..16r+15: (pos8 << 8) | (exit
 * orientation << 4) — the orientation kept as the shift (16r) that selects the next
 * answer. lookup_ij[pos8] is the inverse: (ij8 << 8) | (exit orientation << 4). S2
 * keeps one 16-bit entry per (bits, orientation) and chains 8 dependent loads; here the
 * loads are independent and the chain is a shift and a mask per step (with the
 * unrolling, (face, i, j) → id went from 8.6 to 5.8 ns). */
static uint64_t lookup_pos[1 << (2 * LOOKUP_BITS)];
static uint64_t lookup_ij[1 << (2 * LOOKUP_BITS)];
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
            lookup_pos[ij] |= (uint64_t)((pos << 8) | (r << 4)) << (16 * o);
            lookup_ij[pos] |= (uint64_t)((ij << 8) | (r << 4)) << (16 * o);
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
    /* libs2's LargestAbsComponent (ties go to the later axis), in arithmetic rather
     * than branches: random points mispredict such branches half the time. */
    int x_gt_y = ax > ay;
    double big = x_gt_y ? ax : ay;
    int f = 2 - (big > az) * (1 + x_gt_y);
    return f + 3 * (p[f] < 0);
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

/* c ? a : b without a branch. */
static inline double select_d(int c, double a, double b) {
    uint64_t ua, ub, m = (uint64_t)0 - (uint64_t)(c != 0);
    memcpy(&ua, &a, 8);
    memcpy(&ub, &b, 8);
    ua = (ua & m) | (ub & ~m);
    memcpy(&a, &ua, 8);
    return a;
}

/* S2's quadratic projection: cells of nearly equal area at a cheap inverse. */
static inline double uv_to_st(double u) {
    /* = u >= 0 ? 0.5·sqrt(1 + 3u) : 1 − 0.5·sqrt(1 − 3u), bit for bit (−3u = 3|u|
     * exactly), without the branch. */
    double h = 0.5 * sqrt(1 + 3 * fabs(u));
    return select_d(u >= 0, h, 1 - h);
}

static inline double st_to_uv(double s) { /* both halves, then a select: no branch */
    return select_d(s >= 0.5, (1 / 3.) * (4 * s * s - 1), (1 / 3.) * (1 - 4 * (1 - s) * (1 - s)));
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
    uint64_t n = (uint64_t)face << (FACE_SHIFT - 1), e;
    unsigned sh = ((unsigned)face & SWAP_MASK) << 4; /* 16 · orientation */
    /* unrolled: the 8 loads are independent, only the shift chains */
#define STEP(k)                                                                            \
    e = lookup_pos[((((unsigned)i >> ((k) * LOOKUP_BITS)) & 15u) << 4) |                     \
                   (((unsigned)j >> ((k) * LOOKUP_BITS)) & 15u)] >> sh;                      \
    n |= ((e >> 8) & 0xff) << ((k) * 2 * LOOKUP_BITS);                                     \
    sh = (unsigned)e & 0x30
    STEP(7); STEP(6); STEP(5); STEP(4); STEP(3); STEP(2); STEP(1); STEP(0);
#undef STEP
    return n * 2 + 1;
}

/* Face, leaf (i, j) of the cell's first leaf's corner, and the Hilbert orientation. */
static int to_face_ij(vs__s2cell id, int *pi, int *pj, int *orient) {
    tables();
    int face = (int)(id >> FACE_SHIFT);
    unsigned sh = ((unsigned)face & SWAP_MASK) << 4, i = 0, j = 0;
    uint64_t e;
    /* unrolled as from_face_ij; the top chunk has 2 levels (30 = 7·4 + 2) */
#define STEP(k, nbits)                                                                     \
    e = lookup_ij[(unsigned)(id >> ((k) * 2 * LOOKUP_BITS + 1)) & ((1u << (2 * (nbits))) - 1)] \
        >> sh;                                                                             \
    i += (unsigned)((e >> 12) & 15) << ((k) * LOOKUP_BITS);                                \
    j += (unsigned)((e >> 8) & 15) << ((k) * LOOKUP_BITS);                                 \
    sh = (unsigned)e & 0x30
    STEP(7, 2); STEP(6, 4); STEP(5, 4); STEP(4, 4); STEP(3, 4); STEP(2, 4); STEP(1, 4); STEP(0, 4);
#undef STEP
    unsigned r = sh >> 4;
    if (orient) {
        /* The tables assume a leaf; a cell at an odd number of levels above swaps. */
        if (lsb_of(id) & 0x1111111111111110ull) r ^= SWAP_MASK;
        *orient = (int)r;
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

/* sin and cos of r, |r| <= π/4 + tiny: Taylor series to r^17 / r^18 (the next terms
 * are below 1e-19), so the error is the rounding, a few 1e-16. Estrin's scheme rather
 * than Horner: 4 dependent multiply-adds instead of 8 (the latency is what costs). */
static inline void sincos_kernel(double r, double *sn, double *cs) {
    double z = r * r, z2 = z * z, z4 = z2 * z2;
    double s0 = -1 / 6.0 + z * (1 / 120.0), s1 = -1 / 5040.0 + z * (1 / 362880.0);
    double s2 = -1 / 39916800.0 + z * (1 / 6227020800.0);
    double s3 = -1 / 1307674368000.0 + z * (1 / 355687428096000.0);
    double sp = (s0 + z2 * s1) + z4 * (s2 + z2 * s3);
    double c0 = 1 / 24.0 - z * (1 / 720.0), c1 = 1 / 40320.0 - z * (1 / 3628800.0);
    double c2 = 1 / 479001600.0 - z * (1 / 87178291200.0);
    double c3 = 1 / 20922789888000.0 - z * (1 / 6402373705728000.0);
    double cp = (c0 + z2 * c1) + z4 * (c2 + z2 * c3);
    *sn = r + (r * z) * sp;
    *cs = 1 - (0.5 * z - z2 * cp);
}

/* sin and cos of |x| <= π, within 1e-15 of the true values (libm's are within 1.2e-16):
 * x = k·π/2 + r, with π/2 split in a 33-bit head (k·head is exact) and a tail. */
static inline void fast_sincos(double x, double *sn, double *cs) {
    const double pio2_hi = 1.57079632673412561417e+00, pio2_lo = 6.07710050650619224932e-11;
    int k = round_int(x * (2 / M_PI));
    double r = (x - k * pio2_hi) - k * pio2_lo, s, c;
    sincos_kernel(r, &s, &c);
    /* quadrant k mod 4 without branches: odd k swaps (sin, cos) → (cos, −sin), and
     * k & 2 negates both (sign flips are exact) */
    double neg = 1.0 - (double)(k & 2);
    *sn = neg * select_d(k & 1, c, s);
    *cs = neg * select_d(k & 1, -s, c);
}

/* The leaf's i (or j) from x = 2^30·s − 0.5, if x is far enough from a rounding
 * boundary (a half-integer) that an error of 1e-5 in it cannot change the result. */
static inline int safe_ij(double x, int *out) {
    int i = round_int(x);
    if (!(fabs(x - i) < 0.4999)) return 0;
    i = i < 0 ? 0 : i;
    *out = i > LIMIT_IJ - 1 ? LIMIT_IJ - 1 : i;
    return 1;
}

/* Fast path: the leaf id must be libs2's, which computes the point with libm's sin and
 * cos (70 ns in all with them, 57 with this). We use a polynomial instead (measured
 * within 1.2e-16 of libm), so the point differs from libm's by far less than 2e-15 per
 * component, and carry that error through: the face cannot change when the largest
 * |component| leads the next by 1e-13; u and v then differ by < 1e-14, s and t by
 * < 1e-14, and 2^30·s by < 1e-5, so when that lies 1e-4 or more from a rounding
 * boundary both computations give the same i. Otherwise (about 4 points in 10000), and
 * for |lng| > 180, |lat| > 90 or NaN, the libm path runs. The geo suite checks that
 * both paths agree on a million points, most of them next to cell edges. */
vs__s2cell vs__s2_from_latlng(double lat_deg, double lng_deg) {
    double phi = RAD(lat_deg), theta = RAD(lng_deg), p[3];
    if (fabs(phi) <= M_PI_2 + 1e-12 && fabs(theta) <= M_PI) {
        double sp, cp, st, ct;
        fast_sincos(phi, &sp, &cp);
        fast_sincos(theta, &st, &ct);
        p[0] = ct * cp;
        p[1] = st * cp;
        p[2] = sp;
        /* the face as xyz_face, on the bit patterns (finite values here: as integers
         * the order of non-negative doubles is theirs) so that it compiles to cmovs */
        uint64_t b[3];
        memcpy(b, p, sizeof b);
        uint64_t ax = b[0] << 1 >> 1, ay = b[1] << 1 >> 1, az = b[2] << 1 >> 1;
        uint64_t big = ax > ay ? ax : ay, small = ax > ay ? ay : ax;
        uint64_t mid = big < az ? big : az;
        double top, second;
        uint64_t hi = big > az ? big : az, lo2 = small > mid ? small : mid;
        memcpy(&top, &hi, 8);
        memcpy(&second, &lo2, 8);
        if (top - second >= 1e-13) {
            double u, v;
            int f = 2 - (big > az) * (1 + (ax > ay)), i, j;
            int face = f + 3 * (int)(b[f] >> 63);
            face_xyz_to_uv(face, p, &u, &v);
            if (safe_ij((double)LIMIT_IJ * uv_to_st(u) - 0.5, &i) &&
                safe_ij((double)LIMIT_IJ * uv_to_st(v) - 0.5, &j))
                return from_face_ij(face, i, j);
        }
    }
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

void vs__s2_cap_bound(vs__s2cell id, double center[3], double *angle) {
    /* The (u, v) center as the axis (as S2Cell::GetCapBound), the farthest vertex by
     * chord length, one asin at the end: 4 atan2 calls cost 80 ns of the 95 this took,
     * and the coverer calls it for every cell it looks at. */
    double uv[4], d2 = 0;
    int face = cell_uv(id, uv);
    face_uv_to_xyz(face, 0.5 * (uv[0] + uv[1]), 0.5 * (uv[2] + uv[3]), center);
    normalize(center);
    for (int k = 0; k < 4; k++) {
        double p[3];
        corner_raw(face, uv, k, p);
        normalize(p);
        double dx = p[0] - center[0], dy = p[1] - center[1], dz = p[2] - center[2];
        double d = dx * dx + dy * dy + dz * dz;
        d2 = d > d2 ? d : d2;
    }
    /* angle = 2·asin(chord / 2); below h = 0.05 the series h + h³/6 + 0.08·h⁵ bounds
     * asin from above (the omitted tail is under 0.0753·h⁵) and saves the libm call */
    double h = 0.5 * sqrt(d2);
    double a = h < 0.05 ? 2 * (h + h * h * h * (1 / 6.0 + 0.08 * h * h)) : 2 * asin(h < 1 ? h : 1);
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
    /* Latitude is monotone in t = z / sqrt(x² + y²), and the westmost vertex is the one
     * that no other vertex lies west of (x_a·y_b − y_a·x_b < 0; a cell that holds no
     * pole spans less than 180°): four atan2 calls instead of eight. */
    double uv[4], p[4][3], r[4], tlo = 0, thi = 0;
    int face = cell_uv(id, uv), pole = 0, ilo = -1, ihi = -1;
    for (int k = 0; k < 4; k++) {
        corner_raw(face, uv, k, p[k]);
        r[k] = sqrt(p[k][0] * p[k][0] + p[k][1] * p[k][1]);
        if (r[k] == 0) { /* (u, v) = (0, 0) on face 2 or 5: the pole */
            pole = 1;
            continue;
        }
        double t = p[k][2] / r[k];
        if (ilo < 0 || t < tlo) tlo = t, ilo = k;
        if (ihi < 0 || t > thi) thi = t, ihi = k;
    }
    double la_lo = atan2(p[ilo][2] + 0.0, r[ilo]) - VS__PAD;
    double la_hi = atan2(p[ihi][2] + 0.0, r[ihi]) + VS__PAD;
    *lat_lo = pole && face == 5 ? -90 : la_lo < -M_PI_2 ? -90 : DEG(la_lo);
    *lat_hi = pole && face == 2 ? 90 : la_hi > M_PI_2 ? 90 : DEG(la_hi);
    int w = -1, e = -1;
    for (int a = 0; a < 4 && !pole; a++) {
        int west = 1, east = 1;
        for (int b = 0; b < 4; b++) {
            double c = p[a][0] * p[b][1] - p[a][1] * p[b][0], tol = 1e-15 * r[a] * r[b];
            west &= c >= -tol; /* b is not west of a */
            east &= c <= tol;
        }
        if (west && w < 0) w = a;
        if (east && e < 0) e = a;
    }
    if (pole || w < 0 || e < 0) {
        *lng_lo = -180;
        *lng_hi = 180;
        return;
    }
    double lo = atan2(p[w][1] + 0.0, p[w][0] + 0.0), hi = atan2(p[e][1] + 0.0, p[e][0] + 0.0);
    double width = hi - lo < 0 ? hi - lo + 2 * M_PI : hi - lo;
    /* cos of the latitude farthest from the equator, r / |p| at that vertex (a libm
     * cos was 15 ns); 0.99 covers the padding and the rounding */
    int f = fabs(tlo) > fabs(thi) ? ilo : ihi;
    double cos_far = 0.99 * r[f] / sqrt(r[f] * r[f] + p[f][2] * p[f][2]);
    double pad = VS__PAD / cos_far + VS__PAD;
    if (!(width + 2 * pad < 2 * M_PI)) {
        *lng_lo = -180;
        *lng_hi = 180;
        return;
    }
    lo -= pad;
    hi += pad;
    if (lo < -M_PI) lo += 2 * M_PI;
    if (hi > M_PI) hi -= 2 * M_PI;
    *lng_lo = DEG(lo) < -180 ? -180 : DEG(lo);
    *lng_hi = DEG(hi) > 180 ? 180 : DEG(hi);
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
} coverer;

#define CANDS(c) ((cand *)(c)->cands.p)
#define QUEUE(c) ((qent *)(c)->queue.p)
#define RES(c) ((rent *)(c)->res.p)

/* The queue is a binary heap run exactly as libstdc++'s std::priority_queue (push_heap
 * / pop_heap) runs libs2's: equal priorities are then taken in the same order, which
 * makes our coverings equal to libs2's far more often (ties are common: all the cells
 * of one level with as many children). The smallest key is on top. */
static int q_push(coverer *c, uint32_t key, uint32_t idx) {
    if (vec_reserve(&c->queue)) return -1;
    qent *q = QUEUE(c), e = {key, idx};
    size_t hole = c->queue.n++;
    while (hole > 0 && q[(hole - 1) / 2].key > e.key) {
        q[hole] = q[(hole - 1) / 2];
        hole = (hole - 1) / 2;
    }
    q[hole] = e;
    return 0;
}

static uint32_t q_pop(coverer *c) {
    qent *q = QUEUE(c), top = q[0];
    size_t len = --c->queue.n, hole = 0, child = 0;
    qent last = q[len];
    /* walk the hole down to a leaf along the better child (the right one on a tie)... */
    while (len > 0 && child < (len - 1) / 2) {
        child = 2 * (child + 1);
        if (q[child].key > q[child - 1].key) child--;
        q[hole] = q[child];
        hole = child;
    }
    if (len > 0 && (len & 1) == 0 && child == (len - 2) / 2) {
        child = 2 * (child + 1);
        q[hole] = q[child - 1];
        hole = child - 1;
    }
    /* ...then let the last entry rise from there */
    while (hole > 0 && q[(hole - 1) / 2].key > last.key) {
        q[hole] = q[(hole - 1) / 2];
        hole = (hole - 1) / 2;
    }
    if (len > 0) q[hole] = last;
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
    return q_push(c, ((((uint32_t)x.level << 2) + (uint32_t)nk) << 2) + (uint32_t)nterm, idx);
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
