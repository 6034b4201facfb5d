/*
 * test_geo_query.c — geo through the public API: the filter conditions (JSON and text),
 * the geo payload index (live, sealed, loaded from its file) against a brute-force
 * reference written here from first principles (PROJ's geod_inverse for distances, plain
 * comparisons for boxes, an even-odd crossing count for polygons), nearest-first
 * ordering, and the distance decay of hybrid queries.
 *
 * Points are placed where answers are easy to get wrong: a hair inside and outside
 * every query region's boundary, at the poles, on both sides of the antimeridian, rows
 * with several locations and rows whose location is invalid or missing.
 */
#include <geodesic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "vecstore.h"

#define GD 2

static struct geod_geodesic g_wgs;
static void wgs_init(void) { geod_init(&g_wgs, 6378137, 1 / 298.257223563); }

static double ref_dist(double la1, double lo1, double la2, double lo2) {
    double s12;
    geod_inverse(&g_wgs, la1, lo1, la2, lo2, &s12, NULL, NULL);
    return s12;
}

static double urand(unsigned *st) { return (double)rand_r(st) / ((double)RAND_MAX + 1.0); }

/* ---------------------------------------------------------------- regions ---- */

enum { R_CAP = 1, R_BOX, R_POLY };
#define POLY_MAX 24

typedef struct region {
    int kind;
    double lat, lon, r;              /* cap */
    double n, w, s, e;               /* box */
    int nv[2];                       /* polygon: exterior, one hole (0 = none) */
    double plat[2][POLY_MAX], plon[2][POLY_MAX];
} region;

/* Even-odd crossing count in the (lon, lat) plane. */
static int ring_in(const double *la, const double *lo, int n, double lat, double lon) {
    int in = 0;
    for (int i = 0, j = n - 1; i < n; j = i++) {
        if ((la[i] > lat) != (la[j] > lat)) {
            double x = lo[j] + (lat - la[j]) * (lo[i] - lo[j]) / (la[i] - la[j]);
            if (lon < x) in = !in;
        }
    }
    return in;
}

static int ref_in(const region *g, double lat, double lon) {
    switch (g->kind) {
    case R_CAP: return ref_dist(g->lat, g->lon, lat, lon) <= g->r;
    case R_BOX: /* the pole is one point whatever its lon; 180 and -180 one meridian */
        if (lat < g->s || lat > g->n) return 0;
        if (lat == 90 || lat == -90) return 1;
        for (int k = 0; k < 2; k++) {
            double x = k == 0 ? lon : lon == 180 ? -180 : lon == -180 ? 180 : lon;
            if (g->w <= g->e ? x >= g->w && x <= g->e : x >= g->w || x <= g->e) return 1;
        }
        return 0;
    default:
        return ring_in(g->plat[0], g->plon[0], g->nv[0], lat, lon) &&
               !(g->nv[1] && ring_in(g->plat[1], g->plon[1], g->nv[1], lat, lon));
    }
}

static void cond_of(const region *g, char *b, size_t cap);
/* The condition as a whole filter (the root of a filter is a filter object). */
static void json_of(const region *g, char *b, size_t cap) {
    memcpy(b, "{\"must\":[", 9);
    cond_of(g, b + 9, cap - 11);
    strcat(b, "]}");
}

static void cond_of(const region *g, char *b, size_t cap) {
    int n;
    switch (g->kind) {
    case R_CAP:
        snprintf(b, cap, "{\"key\":\"loc\",\"geo_radius\":{\"center\":{\"lat\":%.17g,\"lon\":%.17g},\"radius\":%.17g}}",
                 g->lat, g->lon, g->r);
        return;
    case R_BOX:
        snprintf(b, cap, "{\"key\":\"loc\",\"geo_bounding_box\":{\"top_left\":{\"lat\":%.17g,\"lon\":%.17g},"
                 "\"bottom_right\":{\"lat\":%.17g,\"lon\":%.17g}}}", g->n, g->w, g->s, g->e);
        return;
    default:
        n = snprintf(b, cap, "{\"key\":\"loc\",\"geo_polygon\":{\"exterior\":{\"points\":[");
        for (int i = 0; i < g->nv[0]; i++)
            n += snprintf(b + n, cap - (size_t)n, "%s{\"lon\":%.17g,\"lat\":%.17g}", i ? "," : "", g->plon[0][i], g->plat[0][i]);
        n += snprintf(b + n, cap - (size_t)n, "]}");
        if (g->nv[1]) {
            n += snprintf(b + n, cap - (size_t)n, ",\"interiors\":[{\"points\":[");
            for (int i = 0; i < g->nv[1]; i++)
                n += snprintf(b + n, cap - (size_t)n, "%s{\"lat\":%.17g,\"lon\":%.17g}", i ? "," : "", g->plat[1][i], g->plon[1][i]);
            n += snprintf(b + n, cap - (size_t)n, "]}]");
        }
        snprintf(b + n, cap - (size_t)n, "}}");
    }
}

static void text_of(const region *g, char *b, size_t cap) {
    int n;
    switch (g->kind) {
    case R_CAP: snprintf(b, cap, "loc WITHIN %.17g M OF (%.17g, %.17g)", g->r, g->lat, g->lon); return;
    case R_BOX:
        snprintf(b, cap, "loc within box ((%.17g, %.17g), (%.17g, %.17g))", g->n, g->w, g->s, g->e);
        return;
    default:
        n = snprintf(b, cap, "loc WITHIN POLYGON (");
        for (int r = 0; r < 2 && g->nv[r]; r++) {
            n += snprintf(b + n, cap - (size_t)n, "%s(", r ? ", " : "");
            for (int i = 0; i < g->nv[r]; i++)
                n += snprintf(b + n, cap - (size_t)n, "%s(%.17g, %.17g)", i ? ", " : "", g->plat[r][i], g->plon[r][i]);
            n += snprintf(b + n, cap - (size_t)n, ")");
        }
        snprintf(b + n, cap - (size_t)n, ")");
    }
}

/* A random region; some at the poles and across the antimeridian. */
static void make_region(unsigned *st, int kind, region *g) {
    memset(g, 0, sizeof *g);
    g->kind = kind;
    int where = rand_r(st) % 4; /* 0 anywhere, 1 near a pole, 2 at the antimeridian */
    double lat = where == 1 ? (urand(st) < 0.5 ? -1 : 1) * (85 + 5 * urand(st)) : -80 + 160 * urand(st);
    double lon = where == 2 ? (urand(st) < 0.5 ? -1 : 1) * (178 + 2 * urand(st)) : -180 + 360 * urand(st);
    if (kind == R_CAP) {
        g->lat = lat, g->lon = lon;
        g->r = pow(10, 1 + 5.5 * urand(st)); /* 10 m … 3000 km */
        if (rand_r(st) % 10 == 0) g->r = 0;
    } else if (kind == R_BOX) {
        double h = pow(10, -3 + 4 * urand(st)), wd = pow(10, -3 + 4.3 * urand(st));
        g->n = fmin(90, lat + h), g->s = fmax(-90, lat - h);
        g->w = lon - wd, g->e = lon + wd;
        if (g->w < -180) g->w += 360;
        if (g->e > 180) g->e -= 360;
        if (g->w > g->e && where != 2 && wd < 90) { /* keep it simple unless wanted */
            g->w = fmax(-180, lon - wd), g->e = fmin(180, lon + wd);
        }
    } else {
        /* a star (concave) around (lat, lon), kept inside [-179, 179] × [-85, 85], with a
         * square hole at the center half the time */
        lat = fmax(-80, fmin(80, lat));
        lon = fmax(-170, fmin(170, lon));
        double rad = pow(10, -2 + 3 * urand(st));
        int k = 5 + rand_r(st) % 6;
        g->nv[0] = 2 * k;
        for (int i = 0; i < 2 * k; i++) {
            double a = 2 * M_PI * i / (2 * k), rr = i % 2 ? rad * 0.4 : rad;
            g->plat[0][i] = lat + rr * sin(a);
            g->plon[0][i] = lon + rr * cos(a);
        }
        if (rand_r(st) % 2) {
            double h = rad * 0.15;
            g->nv[1] = 4;
            double la[4] = {lat - h, lat - h, lat + h, lat + h}, lo[4] = {lon - h, lon + h, lon + h, lon - h};
            memcpy(g->plat[1], la, sizeof la);
            memcpy(g->plon[1], lo, sizeof lo);
        }
    }
}

/* A point close to the region's boundary (either side). */
static void near_boundary(unsigned *st, const region *g, double *lat, double *lon) {
    double eps = pow(10, -9 + 6 * urand(st)) * (urand(st) < 0.5 ? -1 : 1);
    if (g->kind == R_CAP) {
        double a = 360 * urand(st) - 180, d = g->r > 0 ? g->r * (1 + eps) : fabs(eps) * 10;
        if (g->r == 0 && rand_r(st) % 2) d = 0;
        geod_direct(&g_wgs, g->lat, g->lon, a, d, lat, lon, NULL);
    } else if (g->kind == R_BOX) {
        int side = rand_r(st) % 4;
        double t = urand(st);
        double w = g->w, e = g->e < g->w ? g->e + 360 : g->e;
        *lat = side == 0 ? g->n + eps : side == 1 ? g->s + eps : g->s + t * (g->n - g->s);
        *lon = side == 2 ? w + eps : side == 3 ? e + eps : w + t * (e - w);
    } else {
        int r = g->nv[1] && rand_r(st) % 3 == 0, n = g->nv[r], i = rand_r(st) % n;
        double t = urand(st);
        *lat = g->plat[r][i] + t * (g->plat[r][(i + 1) % n] - g->plat[r][i]) + eps;
        *lon = g->plon[r][i] + t * (g->plon[r][(i + 1) % n] - g->plon[r][i]) - eps;
    }
    if (*lon > 180) *lon -= 360;
    if (*lon < -180) *lon += 360;
    *lat = fmax(-90, fmin(90, *lat));
}

/* ------------------------------------------------------------------- data ---- */

typedef struct gpt {
    int n;             /* valid locations: 0, 1 or 2 */
    double lat[2], lon[2];
    int bad;           /* 1: an invalid location; 2: none at all */
} gpt;

static vs_store *open_store(void) {
    vs_store_options o;
    vs_store_options_init(&o);
    o.fsync = VS_FSYNC_OFF;
    o.background = 0;
    vs_store *s;
    char msg[256];
    ASSERT_MSG(vs_store_open(vt_path("db"), &o, &s, msg, sizeof msg) == VS_OK, "%s", msg);
    return s;
}

static vs_coll *make_coll(vs_store *s, int metric) {
    vs_schema *sc;
    vs_coll *c;
    if (vs_coll_open(s, "g", &c) == VS_OK) return c;
    ASSERT_OK(vs_schema_new(&sc));
    ASSERT_OK(vs_schema_add_vector(sc, "", GD, metric));
    ASSERT_OK(vs_coll_create(s, "g", sc));
    vs_schema_free(sc);
    ASSERT_OK(vs_coll_open(s, "g", &c));
    return c;
}

static void put_points(vs_coll *c, const gpt *p, size_t n, const float *vecs) {
    vs_id *ids = malloc(n * sizeof *ids);
    char **pl = malloc(n * sizeof *pl);
    float *v = malloc(n * GD * sizeof *v);
    for (size_t i = 0; i < n; i++) {
        ids[i] = vs_id_num(i);
        v[i * GD] = vecs ? vecs[i * GD] : (float)i;
        v[i * GD + 1] = vecs ? vecs[i * GD + 1] : 1;
        pl[i] = malloc(256);
        if (p[i].bad == 1)
            snprintf(pl[i], 256, "{\"loc\":{\"lat\":%d,\"lon\":10},\"i\":%zu,\"m\":%zu}", i % 2 ? 91 : -95, i, i % 3);
        else if (p[i].bad == 2)
            snprintf(pl[i], 256, "{\"loc\":\"%zu\",\"i\":%zu,\"m\":%zu}", i, i, i % 3);
        else if (p[i].n == 2)
            snprintf(pl[i], 256, "{\"loc\":[{\"lat\":%.17g,\"lon\":%.17g},{\"lon\":%.17g,\"lat\":%.17g}],\"i\":%zu,\"m\":%zu}",
                     p[i].lat[0], p[i].lon[0], p[i].lon[1], p[i].lat[1], i, i % 3);
        else
            snprintf(pl[i], 256, "{\"i\":%zu,\"m\":%zu,\"loc\":{\"lon\":%.17g,\"lat\":%.17g,\"name\":\"x\"}}", i,
                     i % 3, p[i].lon[0], p[i].lat[0]);
    }
    vs_vectors col = {NULL, v, GD};
    vs_upsert_batch b = {n, ids, &col, 1, (const char *const *)pl, NULL};
    ASSERT_MSG(vs_upsert(c, &b) == VS_OK, "%s", vs_coll_errmsg(c));
    for (size_t i = 0; i < n; i++) free(pl[i]);
    free(pl), free(ids), free(v);
}

static size_t ref_count(const region *g, const gpt *p, size_t n, unsigned char *hit) {
    size_t c = 0;
    for (size_t i = 0; i < n; i++) {
        int in = 0;
        for (int j = 0; j < p[i].n && !in; j++) in = ref_in(g, p[i].lat[j], p[i].lon[j]);
        if (hit) hit[i] = (unsigned char)in;
        c += (size_t)in;
    }
    return c;
}

/* The ids a filtered exact query returns, as a 0/1 map. */
static size_t query_hits(vs_coll *c, const char *filter, size_t n, unsigned char *got) {
    float q[GD] = {1, 0};
    vs_query qq;
    vs_query_init(&qq);
    qq.vectors = q;
    qq.dim = GD;
    qq.k = (uint32_t)n;
    qq.filter = filter;
    qq.with = 0;
    qq.flags = VS_QUERY_EXACT;
    vs_result *r;
    ASSERT_MSG(vs_query_run(c, &qq, &r) == VS_OK, "%s: %s", filter, vs_coll_errmsg(c));
    memset(got, 0, n);
    size_t rows = vs_result_rows(r, 0);
    for (size_t i = 0; i < rows; i++) got[vs_result_id(r, 0, i).num] = 1;
    vs_result_free(r);
    return rows;
}

#define NREG 36

static void check_all(vs_coll *c, const region *regs, const gpt *p, size_t n, const char *stage) {
    char *json = malloc(16384), *text = malloc(16384);
    unsigned char *want = malloc(n), *got = malloc(n);
    for (int q = 0; q < NREG; q++) {
        const region *g = &regs[q];
        json_of(g, json, 16384);
        text_of(g, text, 16384);
        size_t exp = ref_count(g, p, n, want);
        uint64_t cj = 0, ct = 0;
        ASSERT_MSG(vs_count(c, json, &cj) == VS_OK, "%s: %s", json, vs_coll_errmsg(c));
        ASSERT_MSG(vs_count(c, text, &ct) == VS_OK, "%s: %s", text, vs_coll_errmsg(c));
        ASSERT_MSG(cj == exp && ct == exp, "%s, region %d (%s): count json %llu, text %llu, reference %zu",
                   stage, q, json, (unsigned long long)cj, (unsigned long long)ct, exp);
        size_t rows = query_hits(c, json, n, got);
        ASSERT_EQ(rows, exp);
        for (size_t i = 0; i < n; i++)
            ASSERT_MSG(got[i] == want[i], "%s, region %d (%s): point %zu (%.17g, %.17g) got %d want %d", stage, q,
                       json, i, p[i].lat[0], p[i].lon[0], got[i], want[i]);
    }
    free(json), free(text), free(want), free(got);
}

TEST(geo, filters_agree_with_reference_with_and_without_index) {
    wgs_init();
    unsigned st = vt_seed();
    region regs[NREG];
    for (int q = 0; q < NREG; q++) make_region(&st, 1 + q % 3, &regs[q]);
    size_t n = 4000;
    gpt *p = calloc(n, sizeof *p);
    for (size_t i = 0; i < n; i++) {
        int kind = rand_r(&st) % 20;
        if (kind == 0) {
            p[i].bad = 1 + rand_r(&st) % 2;
            continue;
        }
        p[i].n = kind == 1 ? 2 : 1;
        for (int j = 0; j < p[i].n; j++) {
            double u = urand(&st);
            if (u < 0.55) {
                near_boundary(&st, &regs[rand_r(&st) % NREG], &p[i].lat[j], &p[i].lon[j]);
            } else if (u < 0.65) { /* poles */
                p[i].lat[j] = (urand(&st) < 0.5 ? -1 : 1) * (90 - pow(10, -8 + 8 * urand(&st)));
                p[i].lon[j] = -180 + 360 * urand(&st);
            } else if (u < 0.75) { /* the antimeridian, both spellings */
                p[i].lat[j] = -80 + 160 * urand(&st);
                p[i].lon[j] = (urand(&st) < 0.5 ? -1 : 1) * (180 - pow(10, -9 + 9 * urand(&st)));
            } else {
                p[i].lat[j] = asin(2 * urand(&st) - 1) * 180 / M_PI;
                p[i].lon[j] = -180 + 360 * urand(&st);
            }
        }
        /* zero-radius caps: some points exactly at a center */
        if (i < NREG && regs[i].kind == R_CAP) p[i].lat[0] = regs[i].lat, p[i].lon[0] = regs[i].lon;
    }
    vs_store *s = open_store();
    vs_coll *c = make_coll(s, VS_METRIC_L2);
    put_points(c, p, n, NULL);
    check_all(c, regs, p, n, "no index");
    ASSERT_OK(vs_coll_create_payload_index(c, "loc", VS_PINDEX_GEO));
    check_all(c, regs, p, n, "live index");
    ASSERT_OK(vs_coll_flush(c));
    check_all(c, regs, p, n, "sealed index");
    vs_coll_close(c);
    vs_store_close(s);
    s = open_store();
    c = make_coll(s, VS_METRIC_L2);
    check_all(c, regs, p, n, "index loaded from its file");
    vs_pindex_info *pi;
    size_t npi;
    ASSERT_OK(vs_coll_payload_indexes(c, &pi, &npi));
    ASSERT_EQ(npi, 1);
    ASSERT_EQ(pi[0].type, VS_PINDEX_GEO);
    size_t valid = 0;
    /* one entry per distinct location of a row (a row may name the same point twice:
     * a zero-radius cap's center drawn for both of its locations) */
    for (size_t i = 0; i < n; i++)
        valid += (size_t)p[i].n - (p[i].n == 2 && p[i].lat[0] == p[i].lat[1] && p[i].lon[0] == p[i].lon[1]);
    ASSERT_EQ(pi[0].entries, valid);
    vs_free(pi);
    vs_coll_close(c);
    vs_store_close(s);
    free(p);
}

TEST(geo, quantifier_all_and_nesting) {
    wgs_init();
    vs_store *s = open_store();
    vs_coll *c = make_coll(s, VS_METRIC_L2);
    gpt p[3] = {{2, {52.52, 52.50}, {13.40, 13.41}, 0}, /* both in Berlin */
                {2, {52.52, 48.85}, {13.40, 2.35}, 0},  /* Berlin and Paris */
                {1, {48.85, 0}, {2.35, 0}, 0}};
    put_points(c, p, 3, NULL);
    ASSERT_OK(vs_coll_create_payload_index(c, "loc", VS_PINDEX_GEO));
    uint64_t n;
    ASSERT_OK(vs_count(c, "loc WITHIN 50 KM OF (52.52, 13.40)", &n));
    ASSERT_EQ(n, 2);
    ASSERT_OK(vs_count(c, "loc ALL WITHIN 50 KM OF (52.52, 13.40)", &n));
    ASSERT_EQ(n, 1);
    ASSERT_OK(vs_count(c, "NOT loc WITHIN 50 km OF (52.52, 13.40) AND i >= 0", &n));
    ASSERT_EQ(n, 1);
    ASSERT_OK(vs_count(c, "{\"must_not\":[{\"key\":\"loc\",\"geo_radius\":{\"center\":{\"lat\":48.85,\"lon\":2.35},\"radius\":1}}]}", &n));
    ASSERT_EQ(n, 1);
    /* a radius of 0 holds the center only */
    ASSERT_OK(vs_count(c, "loc WITHIN 0 OF (48.85, 2.35)", &n));
    ASSERT_EQ(n, 2);
    vs_coll_close(c);
    vs_store_close(s);
}

TEST(geo, bad_geo_filters_are_refused_with_their_place) {
    vs_store *s = open_store();
    vs_coll *c = make_coll(s, VS_METRIC_L2);
    static const struct {
        const char *f, *want;
    } bad[] = {
        {"{\"key\":\"loc\",\"geo_radius\":{\"center\":{\"lat\":91,\"lon\":0},\"radius\":1}}", "lat 91 is outside [-90, 90]"},
        {"{\"key\":\"loc\",\"geo_radius\":{\"center\":{\"lat\":0,\"lon\":-180.5},\"radius\":1}}", "lon -180.5 is outside [-180, 180]"},
        {"{\"key\":\"loc\",\"geo_radius\":{\"center\":{\"lat\":\"52\",\"lon\":0},\"radius\":1}}", "lat must be a number, got a string"},
        {"{\"key\":\"loc\",\"geo_radius\":{\"center\":{\"lat\":1,\"lon\":0},\"radius\":-1}}", "radius must be >= 0"},
        {"{\"key\":\"loc\",\"geo_radius\":{\"center\":{\"lat\":1,\"lon\":0}}}", "needs 'center' and 'radius'"},
        {"{\"key\":\"loc\",\"geo_radius\":{\"center\":{\"lat\":1},\"radius\":3}}", "needs 'lat' and 'lon'"},
        {"{\"key\":\"loc\",\"geo_radius\":{\"center\":{\"lat\":1,\"lon\":2,\"alt\":3},\"radius\":3}}", "unknown key 'alt'"},
        {"{\"key\":\"loc\",\"geo_radius\":{\"center\":{\"lat\":1,\"lon\":2},\"radius\":1e999}}", "radius must be a finite number"},
        {"{\"key\":\"loc\",\"geo_bounding_box\":{\"top_left\":{\"lat\":1,\"lon\":0},\"bottom_right\":{\"lat\":2,\"lon\":1}}}", "south of"},
        {"{\"key\":\"loc\",\"geo_polygon\":{\"exterior\":{\"points\":[{\"lat\":1,\"lon\":0},{\"lat\":2,\"lon\":1}]}}}", "points"},
        {"{\"key\":\"loc\",\"geo_polygon\":{\"exterior\":{\"points\":[{\"lat\":1,\"lon\":0},{\"lat\":2,\"lon\":1},{\"lat\":93,\"lon\":1}]}}}",
         "exterior.points[2]"},
        {"{\"key\":\"loc\",\"geo_polygon\":{\"interiors\":[]}}", "needs 'exterior'"},
        {"{\"key\":\"loc\",\"geo_polygon\":{\"exterior\":{\"points\":[{\"lat\":0,\"lon\":0},{\"lat\":0,\"lon\":1},{\"lat\":1,\"lon\":1}]},\"interiors\":{}}}",
         "expected an array of rings"},
        {"{\"key\":\"loc\",\"geo_radius\":{\"center\":{\"lat\":1,\"lon\":2},\"radius\":3},\"match\":{\"value\":1}}", "cannot be combined"},
        {"loc WITHIN 5 KM OF (91, 0)", "at byte 20: latitude 91 is outside [-90, 90]"},
        {"loc WITHIN -5 KM OF (1, 0)", "the radius must be >= 0"},
        {"loc WITHIN 5 MILES OF (1, 0)", "M, KM or OF"},
        {"loc WITHIN 5 KM OF (1 0)", "',' between latitude and longitude"},
        {"loc WITHIN BOX ((1, 0))", "','"},
        {"loc WITHIN BOX ((1, 0), (2, 1))", "south of"},
        {"loc WITHIN POLYGON (((1, 0), (2, 1)))", "points"},
        {"loc WITHIN POLYGON (((1, 0), (2, 1), (3, 'a')))", "a longitude"},
        {"loc WITHIN", "a radius, BOX or POLYGON"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        uint64_t n;
        char f[1024];
        snprintf(f, sizeof f, bad[i].f[0] == '{' ? "{\"must\":%s}" : "%s", bad[i].f);
        int rc = vs_count(c, f, &n);
        ASSERT_MSG(rc == VS_EFILTER, "%s: rc %d", f, rc);
        ASSERT_MSG(strstr(vs_coll_errmsg(c), bad[i].want), "%s: message '%s' lacks '%s'", f,
                   vs_coll_errmsg(c), bad[i].want);
    }
    double m;
    ASSERT_RC(vs_geo_distance(NAN, 0, 0, 0, &m), VS_EINVAL);
    ASSERT_RC(vs_geo_distance(0, 0, 90.5, 0, &m), VS_EINVAL);
    ASSERT_RC(vs_geo_distance(0, INFINITY, 0, 0, &m), VS_EINVAL);
    ASSERT_RC(vs_geo_distance(0, 0, 0, 0, NULL), VS_EINVAL);
    ASSERT_OK(vs_geo_distance(52.5200, 13.4050, 48.8566, 2.3522, &m)); /* Berlin – Paris; GeographicLib's GeodSolve -i: 879699.316129 m */
    ASSERT_MSG(fabs(m - 879699.316129) < 1e-3, "Berlin-Paris %.6f m", m);
    vs_coll_close(c);
    vs_store_close(s);
}

/* ---------------------------------------------------------------- nearest ---- */

typedef struct rd {
    double d;
    size_t i;
} rd;
static int rd_cmp(const void *a, const void *b) {
    const rd *x = a, *y = b;
    return x->d < y->d ? -1 : x->d > y->d ? 1 : (x->i > y->i) - (x->i < y->i);
}

static void check_nearest(vs_coll *c, const gpt *p, size_t n, const unsigned char *gone, double lat,
                          double lon, uint32_t k, double maxd, const char *filter, const char *stage) {
    rd *r = malloc(n * sizeof *r);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (gone[i] || !p[i].n) continue;
        if (filter && i % 3) continue; /* the filter used below: i % 3 == 0 */
        double best = HUGE_VAL;
        for (int j = 0; j < p[i].n; j++) best = fmin(best, ref_dist(lat, lon, p[i].lat[j], p[i].lon[j]));
        if (maxd >= 0 && best > maxd) continue;
        r[m++] = (rd){best, i};
    }
    qsort(r, m, sizeof *r, rd_cmp);
    vs_geo_query q;
    vs_geo_query_init(&q);
    q.key = "loc";
    q.lat = lat, q.lon = lon, q.k = k, q.max_distance = maxd, q.filter = filter;
    vs_result *res;
    ASSERT_MSG(vs_geo_nearest(c, &q, &res) == VS_OK, "%s", vs_coll_errmsg(c));
    size_t want = m < k ? m : k;
    ASSERT_MSG(vs_result_rows(res, 0) == want, "%s: (%g, %g) k %u: %zu rows, want %zu", stage, lat, lon, k,
               vs_result_rows(res, 0), want);
    for (size_t i = 0; i < want; i++) {
        double d = vs_result_score(res, 0, i);
        /* same distance at every rank (ids may swap among equal distances) */
        ASSERT_MSG(fabs(d - r[i].d) <= 1e-6 * r[i].d + 1e-3, "%s: rank %zu: %.3f m, want %.3f (point %zu)", stage, i, d,
                   r[i].d, r[i].i);
        uint64_t id = vs_result_id(res, 0, i).num;
        double best = HUGE_VAL;
        for (int j = 0; j < p[id].n; j++) best = fmin(best, ref_dist(lat, lon, p[id].lat[j], p[id].lon[j]));
        ASSERT_MSG(fabs(best - d) <= 1e-6 * best + 1e-3, "%s: id %llu scored %.3f, is at %.3f", stage,
                   (unsigned long long)id, d, best);
        ASSERT_MSG(vs_result_payload(res, 0, i) != NULL, "payload missing");
    }
    vs_result_free(res);
    free(r);
}

TEST(geo, nearest_first_matches_brute_force) {
    wgs_init();
    unsigned st = vt_seed();
    size_t n = 3000;
    gpt *p = calloc(n, sizeof *p);
    unsigned char *gone = calloc(n, 1);
    for (size_t i = 0; i < n; i++) {
        if (i % 29 == 0) {
            p[i].bad = 1 + (int)(i % 2);
            continue;
        }
        p[i].n = i % 17 == 0 ? 2 : 1;
        for (int j = 0; j < p[i].n; j++) {
            /* clustered: a few "cities", some points everywhere */
            if (urand(&st) < 0.7) {
                int city = rand_r(&st) % 5;
                static const double cl[5][2] = {{52.52, 13.40}, {-33.87, 151.21}, {64.1, -179.9}, {89.99, 0}, {0, 0}};
                p[i].lat[j] = fmax(-90, fmin(90, cl[city][0] + (urand(&st) - 0.5) * 0.2));
                p[i].lon[j] = cl[city][1] + (urand(&st) - 0.5) * 0.4;
                if (p[i].lon[j] < -180) p[i].lon[j] += 360;
            } else {
                p[i].lat[j] = asin(2 * urand(&st) - 1) * 180 / M_PI;
                p[i].lon[j] = -180 + 360 * urand(&st);
            }
        }
    }
    vs_store *s = open_store();
    vs_coll *c = make_coll(s, VS_METRIC_L2);
    put_points(c, p, n, NULL);
    /* delete a few: tombstones are never returned */
    vs_id del[50];
    for (int i = 0; i < 50; i++) {
        size_t x = (size_t)rand_r(&st) % n;
        del[i] = vs_id_num(x);
        gone[x] = 1;
    }
    ASSERT_OK(vs_delete(c, del, 50, NULL));
    static const double orig[][2] = {{52.52, 13.40}, {64.1, 179.95}, {-90, 0}, {90, 120}, {0.001, -0.001}, {-45, 100}};
    for (int stage = 0; stage < 3; stage++) {
        const char *name = stage == 0 ? "scan" : stage == 1 ? "live index" : "sealed index";
        if (stage == 1) ASSERT_OK(vs_coll_create_payload_index(c, "loc", VS_PINDEX_GEO));
        if (stage == 2) ASSERT_OK(vs_coll_flush(c));
        for (size_t o = 0; o < sizeof orig / sizeof *orig; o++) {
            check_nearest(c, p, n, gone, orig[o][0], orig[o][1], 1, -1, NULL, name);
            check_nearest(c, p, n, gone, orig[o][0], orig[o][1], 25, -1, NULL, name);
            check_nearest(c, p, n, gone, orig[o][0], orig[o][1], 5000, -1, NULL, name);
            check_nearest(c, p, n, gone, orig[o][0], orig[o][1], 40, 50000, NULL, name);
            check_nearest(c, p, n, gone, orig[o][0], orig[o][1], 40, -1, "m = 0", name);
        }
    }
    /* bad input */
    vs_geo_query q;
    vs_geo_query_init(&q);
    vs_result *r;
    ASSERT_RC(vs_geo_nearest(c, &q, &r), VS_EINVAL); /* no key */
    q.key = "loc";
    q.lat = 90.01;
    ASSERT_RC(vs_geo_nearest(c, &q, &r), VS_EINVAL);
    q.lat = 0;
    q.k = 0;
    ASSERT_RC(vs_geo_nearest(c, &q, &r), VS_ERANGE);
    q.k = 1;
    q.max_distance = NAN;
    ASSERT_RC(vs_geo_nearest(c, &q, &r), VS_EINVAL);
    q.max_distance = -1;
    q.filter = "loc WITHIN";
    ASSERT_RC(vs_geo_nearest(c, &q, &r), VS_EFILTER);
    q.filter = NULL;
    q.key = "a[";
    ASSERT_RC(vs_geo_nearest(c, &q, &r), VS_EINVAL);
    ASSERT(r == NULL);
    vs_coll_close(c);
    vs_store_close(s);
    free(p);
    free(gone);
}

/* ------------------------------------------------------------------ decay ---- */

static double ref_term(int func, double d, double scale, double offset, double decay) {
    double x = fmax(0, d - offset);
    switch (func) {
    case VS_DECAY_LINEAR: { /* Elasticsearch: s = scale / (1 - decay), max(0, (s - x) / s) */
        double sl = scale / (1 - decay);
        return fmax(0, (sl - x) / sl);
    }
    case VS_DECAY_EXP: return exp(log(decay) / scale * x);
    default: { /* sigma² = -scale² / (2 ln decay) */
        double s2 = -scale * scale / (2 * log(decay));
        return exp(-x * x / (2 * s2));
    }
    }
}

TEST(geo, decay_reranks_vector_hits_by_distance) {
    wgs_init();
    unsigned st = vt_seed();
    size_t n = 400;
    gpt *p = calloc(n, sizeof *p);
    float *v = malloc(n * GD * sizeof *v);
    for (size_t i = 0; i < n; i++) {
        p[i].n = i % 13 ? 1 : 0;
        if (!p[i].n) p[i].bad = 2;
        p[i].lat[0] = 52.5 + (urand(&st) - 0.5);
        p[i].lon[0] = 13.4 + (urand(&st) - 0.5);
        v[i * GD] = (float)urand(&st);
        v[i * GD + 1] = (float)urand(&st);
    }
    for (int metric = 0; metric < 2; metric++) {
        vs_store *s = open_store();
        vs_coll *c = make_coll(s, metric ? VS_METRIC_L2 : VS_METRIC_DOT);
        put_points(c, p, n, v);
        for (int indexed = 0; indexed < 2; indexed++) {
        if (indexed) ASSERT_OK(vs_coll_create_payload_index(c, "loc", VS_PINDEX_GEO));
        for (int func = VS_DECAY_LINEAR; func <= VS_DECAY_GAUSS; func++)
            for (int comb = 0; comb < 2; comb++) {
                vs_decay d;
                vs_decay_init(&d);
                d.func = func;
                d.key = "loc";
                d.lat = 52.5, d.lon = 13.4;
                d.scale = 20000, d.offset = comb ? 0 : 3000, d.decay = 0.3;
                d.combine = comb;
                d.weight = 0.7;
                d.candidates = (uint32_t)n; /* every point: the exact combined ranking */
                float qv[GD] = {0.6f, 0.8f};
                vs_query q;
                vs_query_init(&q);
                q.vectors = qv, q.dim = GD, q.k = 15, q.flags = VS_QUERY_EXACT, q.decay = &d;
                vs_result *r;
                ASSERT_MSG(vs_query_run(c, &q, &r) == VS_OK, "%s", vs_coll_errmsg(c));
                /* the reference: every point's combined score, best first */
                rd *ref = malloc(n * sizeof *ref);
                for (size_t i = 0; i < n; i++) {
                    double sc = metric ? hypot(qv[0] - v[i * GD], qv[1] - v[i * GD + 1])
                                       : (double)qv[0] * v[i * GD] + (double)qv[1] * v[i * GD + 1];
                    double t = p[i].n ? ref_term(func, ref_dist(52.5, 13.4, p[i].lat[0], p[i].lon[0]), d.scale,
                                                 d.offset, d.decay)
                                      : 0;
                    double cs = comb ? (metric ? sc - 0.7 * t : sc + 0.7 * t) : (metric ? (t > 0 ? sc / t : HUGE_VAL) : sc * t);
                    ref[i] = (rd){metric ? cs : -cs, i};
                }
                qsort(ref, n, sizeof *ref, rd_cmp);
                ASSERT_EQ(vs_result_rows(r, 0), 15);
                for (size_t i = 0; i < 15; i++) {
                    double want = metric ? ref[i].d : -ref[i].d, got = vs_result_score(r, 0, i);
                    ASSERT_MSG(fabs(got - want) <= 1e-4 * fabs(want) + 1e-5,
                               "metric %d func %d combine %d rank %zu: score %.7g want %.7g (point %zu)", metric, func,
                               comb, i, got, want, ref[i].i);
                }
                vs_result_free(r);
                /* small windows (and the default one) rank exactly too: stage B finds the
                 * points the window missed (the vector search is exact here) */
                static const uint32_t win[] = {15, 20, 60, 0};
                for (int wi = 0; wi < 4; wi++) {
                    d.candidates = win[wi];
                    ASSERT_OK(vs_query_run(c, &q, &r));
                    ASSERT_EQ(vs_result_rows(r, 0), 15);
                    for (size_t i = 0; i < 15; i++) {
                        double want = metric ? ref[i].d : -ref[i].d, got = vs_result_score(r, 0, i);
                        ASSERT_MSG(fabs(got - want) <= 1e-4 * fabs(want) + 1e-5,
                                   "window %u, index %d, metric %d func %d combine %d rank %zu: score %.7g want %.7g",
                                   win[wi], indexed, metric, func, comb, i, got, want);
                    }
                    vs_result_free(r);
                }
                free(ref);
            }
        }
        /* bad decays */
        vs_decay d;
        vs_decay_init(&d);
        float qv[GD] = {1, 0};
        vs_query q;
        vs_query_init(&q);
        q.vectors = qv, q.dim = GD, q.decay = &d;
        vs_result *r;
        static const char *const want[] = {"key", "origin", "scale", "offset", "decay must be", "unknown function",
                                           "unknown combine", "weight", "candidates"};
        for (int b = 0; b < 9; b++) {
            vs_decay_init(&d);
            d.key = "loc", d.scale = 1000;
            switch (b) {
            case 0: d.key = NULL; break;
            case 1: d.lat = -91; break;
            case 2: d.scale = 0; break;
            case 3: d.offset = -1; break;
            case 4: d.decay = 1; break;
            case 5: d.func = 9; break;
            case 6: d.combine = 5; break;
            case 7: d.weight = NAN; break;
            case 8: d.candidates = VS_K_MAX + 1; break;
            }
            int rc = vs_query_run(c, &q, &r);
            ASSERT_MSG(rc == VS_EINVAL || rc == VS_ERANGE, "bad decay %d accepted", b);
            ASSERT_MSG(strstr(vs_coll_errmsg(c), want[b]), "bad decay %d: '%s'", b, vs_coll_errmsg(c));
        }
        vs_coll_close(c);
        ASSERT_OK(vs_store_drop(s, "g"));
        vs_store_close(s);
    }
    free(p);
    free(v);
}

/* The planner reads the geo index like any other: the plan names it, and a selective
 * region makes a vector query score only the region's rows (EXACT on the bitmap). */
TEST(geo, planner_uses_the_geo_index) {
    wgs_init();
    unsigned st = vt_seed();
    size_t n = 3000;
    gpt *p = calloc(n, sizeof *p);
    for (size_t i = 0; i < n; i++) {
        p[i].n = 1;
        p[i].lat[0] = 40 + 20 * urand(&st);
        p[i].lon[0] = -10 + 40 * urand(&st);
    }
    vs_store *s = open_store();
    vs_coll *c = make_coll(s, VS_METRIC_L2);
    put_points(c, p, n, NULL);
    ASSERT_OK(vs_coll_flush(c));
    ASSERT_OK(vs_coll_create_payload_index(c, "loc", VS_PINDEX_GEO));
    const char *f = "loc WITHIN 150 KM OF (50, 10)";
    size_t want = 0;
    for (size_t i = 0; i < n; i++) want += ref_dist(50, 10, p[i].lat[0], p[i].lon[0]) <= 150000;
    float q[GD] = {1, 0};
    vs_query qq;
    vs_query_init(&qq);
    qq.vectors = q, qq.dim = GD, qq.filter = f, qq.flags = VS_QUERY_EXPLAIN;
    vs_result *r;
    ASSERT_OK(vs_query_run(c, &qq, &r));
    const char *t = vs_result_profile(r, VS_PROFILE_TEXT);
    ASSERT_MSG(t && strstr(t, "from indexes [geo 'loc']"), "plan:\n%s", t ? t : "(none)");
    vs_result_free(r);
    qq.flags = 0;
    qq.k = (uint32_t)n;
    ASSERT_OK(vs_query_run(c, &qq, &r));
    ASSERT_EQ(vs_result_rows(r, 0), want);
    vs_result_free(r);
    vs_coll_close(c);
    vs_store_close(s);
    free(p);
}
