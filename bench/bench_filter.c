/*
 * bench_filter.c — filtered vector search: recall@10 and latency at selectivities 50 %,
 * 10 %, 1 % and 0.1 %, and the cost of planning with payload indexes.
 *
 *   ./build/bench_filter [BASE.fvecs [QUERIES.fvecs]]      (public API only)
 *
 * Data: the clustered 128-d set of bench/gen_data.py (scripts/bench-ann.sh caches it in
 * $VS_BENCH_DIR, default ~/.cache/vecstore-bench), the first VS_BENCH_N rows (default 1,000,000), VS_BENCH_NQ queries
 * (default 200); without files, the same kind of mixture generated here. Each point gets a
 * payload with several fields, independent of its vector:
 *   {"k": i mod 1000, "tag": "t<i mod 1000>", "half": "a"|"b", "price": <float>,
 *    "ts": "<RFC 3339 within 2024>", "lang": "en"|"de"|"fr"|"ja"}
 * and payload indexes on k (integer), tag (keyword), half (keyword), price (float) and
 * ts (datetime). HNSW M = 16, efConstruction = 200, one sealed segment.
 *
 * For each filter: the exact filtered top-10 (VS_QUERY_EXACT) is the ground truth; the
 * planner's own choice is measured for recall@10, mean and p99 latency, and "filter
 * overhead" = the time of the per-segment plan stages (index lookups, bitmap, any
 * payload reads) from the query profile, p99 over the queries. Unfiltered search at the
 * same ef is the baseline. Results: a table on stdout and bench/results/filter.json.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench_util.h"
#include "vecstore.h"

#define DIM 128
#define K 10

static float *read_fvecs(const char *path, size_t want, size_t *got) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    float *v = malloc(want * DIM * sizeof *v);
    size_t n = 0;
    int32_t d;
    while (n < want && fread(&d, 4, 1, f) == 1) {
        if (d != DIM || fread(v + n * DIM, 4, DIM, f) != DIM) break;
        n++;
    }
    fclose(f);
    *got = n;
    return v;
}

static float *gen(size_t n, uint64_t seed) {
    float *c = malloc(1000 * DIM * sizeof *c), *v = malloc(n * DIM * sizeof *v);
    g_rng = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < 1000 * DIM; i++) c[i] = frand() * 4;
    g_rng ^= seed;
    for (size_t i = 0; i < n; i++) {
        size_t k = rnd() % 1000;
        for (int j = 0; j < DIM; j++) v[i * DIM + j] = c[k * DIM + j] + frand() * 0.5f;
    }
    free(c);
    return v;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Sum of the "plan" stages' times in a JSON profile (ns). */
static double plan_ns(const cJSON *n) {
    double t = 0;
    const cJSON *ty = cJSON_GetObjectItem(n, "type");
    if (ty && cJSON_IsString(ty) && !strcmp(ty->valuestring, "plan"))
        t += cJSON_GetObjectItem(n, "time_in_nanos")->valuedouble;
    const cJSON *kids = cJSON_GetObjectItem(n, "children"), *k;
    cJSON_ArrayForEach(k, kids) t += plan_ns(k);
    return t;
}

static void die(vs_coll *c, int rc, const char *what) {
    fprintf(stderr, "%s: %s (%s)\n", what, vs_errname(rc), c ? vs_coll_errmsg(c) : "");
    exit(1);
}

int main(int argc, char **argv) {
    const char *env = getenv("VS_BENCH_N");
    size_t n = env ? strtoull(env, NULL, 10) : 1000000;
    env = getenv("VS_BENCH_NQ");
    size_t nq = env ? strtoull(env, NULL, 10) : 200;
    const char *bdir = getenv("VS_BENCH_DIR"), *home = getenv("HOME");
    char dir[900], base[1024], qpath[1024], store[1100];
    if (bdir)
        snprintf(dir, sizeof dir, "%s", bdir);
    else
        snprintf(dir, sizeof dir, "%s/.cache/vecstore-bench", home ? home : "/tmp");
    if (argc > 1)
        snprintf(base, sizeof base, "%s", argv[1]);
    else
        snprintf(base, sizeof base, "%s/clustered-d128-s20261123-n1000000.base.fvecs", dir);
    if (argc > 2)
        snprintf(qpath, sizeof qpath, "%s", argv[2]);
    else
        snprintf(qpath, sizeof qpath, "%s/clustered-d128-s20261123-q1000.query.fvecs", dir);
    size_t got = 0, gq = 0;
    float *v = read_fvecs(base, n, &got), *qs = read_fvecs(qpath, nq, &gq);
    const char *src = "files";
    if (!v || got < n || !qs || gq < nq) {
        free(v), free(qs);
        v = gen(n, 1);
        qs = gen(nq, 2);
        src = "generated";
    }
    printf("# bench_filter: n=%zu nq=%zu dim=%d data=%s (%s)\n", n, nq, DIM, src, base);
    snprintf(store, sizeof store, "%s/bench-filter-store", dir);
    mkdir(dir, 0755);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", store);
    if (system(cmd) != 0) return 1;

    vs_store_options o;
    vs_store_options_init(&o);
    o.fsync = VS_FSYNC_OFF;
    o.background = 0;
    o.flush_bytes = VS_FLUSH_BYTES_MAX;
    vs_store *s;
    char msg[256];
    if (vs_store_open(store, &o, &s, msg, sizeof msg)) return fprintf(stderr, "%s\n", msg), 1;
    vs_schema *sc;
    vs_schema_new(&sc);
    vs_schema_add_vector(sc, "", DIM, VS_METRIC_L2);
    vs_schema_set_hnsw(sc, NULL, 16, 200, 1000);
    int rc = vs_coll_create(s, "c", sc);
    vs_schema_free(sc);
    vs_coll *c = NULL;
    if (rc || (rc = vs_coll_open(s, "c", &c))) die(c, rc, "create");
    static const char *const langs[] = {"en", "de", "fr", "ja"};
    double t0 = now_s();
    const size_t B = 10000;
    char **pl = malloc(B * sizeof *pl);
    vs_id *ids = malloc(B * sizeof *ids);
    for (size_t i = 0; i < B; i++) pl[i] = malloc(200);
    g_rng = 77;
    for (size_t a = 0; a < n; a += B) {
        size_t m = n - a < B ? n - a : B;
        for (size_t i = 0; i < m; i++) {
            size_t id = a + i;
            ids[i] = vs_id_num(id);
            snprintf(pl[i], 200,
                     "{\"k\":%zu,\"tag\":\"t%zu\",\"half\":\"%s\",\"price\":%.2f,"
                     "\"ts\":\"2024-%02zu-%02zuT%02zu:00:00Z\",\"lang\":\"%s\"}",
                     id % 1000, id % 1000, (id / 7) % 2 ? "a" : "b", (double)(rnd() % 100000) / 100,
                     1 + rnd() % 12, 1 + rnd() % 28, rnd() % 24, langs[rnd() % 4]);
        }
        vs_vectors col = {NULL, v + a * DIM, DIM};
        vs_upsert_batch b = {m, ids, &col, 1, (const char *const *)pl, NULL};
        if ((rc = vs_upsert(c, &b))) die(c, rc, "upsert");
    }
    double t_load = now_s() - t0;
    t0 = now_s();
    if ((rc = vs_coll_flush(c)) || (rc = vs_coll_wait_indexed(c, -1))) die(c, rc, "build");
    double t_build = now_s() - t0;
    struct {
        const char *path;
        int type;
        double secs;
    } idx[] = {{"k", VS_PINDEX_INTEGER, 0}, {"tag", VS_PINDEX_KEYWORD, 0}, {"half", VS_PINDEX_KEYWORD, 0},
               {"price", VS_PINDEX_FLOAT, 0}, {"ts", VS_PINDEX_DATETIME, 0}};
    for (size_t i = 0; i < sizeof idx / sizeof *idx; i++) {
        t0 = now_s();
        if ((rc = vs_coll_create_payload_index(c, idx[i].path, idx[i].type))) die(c, rc, "payload index");
        idx[i].secs = now_s() - t0;
    }
    vs_pindex_info *info;
    size_t ni;
    uint64_t pidx_bytes = 0;
    if (vs_coll_payload_indexes(c, &info, &ni) == VS_OK) {
        for (size_t i = 0; i < ni; i++) pidx_bytes += info[i].memory_bytes;
        vs_free(info);
    }
    printf("# load %.1f s, HNSW build %.1f s, payload indexes: k %.2f s, tag %.2f s, half %.2f s,"
           " price %.2f s, ts %.2f s, %.1f MiB\n", t_load, t_build, idx[0].secs, idx[1].secs,
           idx[2].secs, idx[3].secs, idx[4].secs, (double)pidx_bytes / 1048576.0);

    struct {
        const char *name, *filter;
        double sel;
    } fs[] = {
        {"none", NULL, 1.0},
        {"50% keyword", "half = 'a'", 0.5},
        {"50% range", "k < 500", 0.5},
        {"10% range", "k >= 100 AND k < 200", 0.1},
        {"10% float range", "price < 100", 0.1},
        {"1% keyword IN", "tag IN ('t1','t2','t3','t4','t5','t6','t7','t8','t9','t10')", 0.01},
        {"1% range", "k < 10", 0.01},
        {"0.1% keyword", "tag = 't42'", 0.001},
        {"0.1% range", "k = 999", 0.001},
        {"~1% two fields", "half = 'b' AND k < 20", 0.01},
        {"~4% datetime", "{\"must\":{\"key\":\"ts\",\"range\":{\"gte\":\"2024-03-01T00:00:00Z\",\"lt\":\"2024-03-05T00:00:00+00:00\"}}}", 0.012},
        {"25% unindexed", "lang = 'en'", 0.25},
    };
    uint32_t ef = 64;
    env = getenv("VS_BENCH_EF");
    if (env) ef = (uint32_t)atoi(env);
    double *lat = malloc(nq * sizeof *lat), *ovh = malloc(nq * sizeof *ovh);
    vs_id *truth = malloc(nq * K * sizeof *truth);
    size_t *ntruth = malloc(nq * sizeof *ntruth);
    cJSON *out = cJSON_CreateObject(), *rows = cJSON_AddArrayToObject(out, "filters");
    cJSON_AddNumberToObject(out, "n", (double)n);
    cJSON_AddNumberToObject(out, "nq", (double)nq);
    cJSON_AddNumberToObject(out, "ef", ef);
    cJSON_AddNumberToObject(out, "hnsw_build_s", t_build);
    cJSON_AddNumberToObject(out, "payload_index_bytes", (double)pidx_bytes);
    printf("%-18s %8s %9s %10s %10s %12s  %s\n", "filter", "match", "recall@10", "mean ms",
           "p99 ms", "overhead p99", "plan");
    for (size_t fi = 0; fi < sizeof fs / sizeof *fs; fi++) {
        uint64_t cnt = n;
        if (fs[fi].filter && (rc = vs_count(c, fs[fi].filter, &cnt))) die(c, rc, "count");
        vs_query q;
        vs_query_init(&q);
        q.dim = DIM;
        q.k = K;
        q.filter = fs[fi].filter;
        q.with = 0;
        q.ef = ef;
        /* ground truth */
        for (size_t i = 0; i < nq; i++) {
            vs_result *r;
            q.vectors = qs + i * DIM;
            q.flags = VS_QUERY_EXACT;
            if ((rc = vs_query_run(c, &q, &r))) die(c, rc, "exact");
            ntruth[i] = vs_result_rows(r, 0);
            for (size_t j = 0; j < ntruth[i]; j++) truth[i * K + j] = vs_result_id(r, 0, j);
            vs_result_free(r);
        }
        /* the planner's choice: warm-up, then timed without profiling, then profiled */
        double rsum = 0;
        char plan[160] = "";
        for (int pass = 0; pass < 3; pass++) {
            for (size_t i = 0; i < nq; i++) {
                vs_result *r;
                q.vectors = qs + i * DIM;
                q.flags = pass == 2 ? VS_QUERY_PROFILE : 0;
                double a = now_s();
                if ((rc = vs_query_run(c, &q, &r))) die(c, rc, "query");
                double dt = now_s() - a;
                if (pass == 1) {
                    lat[i] = dt * 1e3;
                    size_t hit = 0, m = vs_result_rows(r, 0);
                    for (size_t j = 0; j < m; j++)
                        for (size_t t = 0; t < ntruth[i]; t++)
                            hit += vs_result_id(r, 0, j).num == truth[i * K + t].num;
                    rsum += ntruth[i] ? (double)hit / (double)ntruth[i] : 1.0;
                }
                if (pass == 2) {
                    cJSON *pj = cJSON_Parse(vs_result_profile(r, VS_PROFILE_JSON));
                    ovh[i] = pj ? plan_ns(pj) / 1e6 : 0;
                    if (i == 0 && fs[fi].filter) {
                        const char *t = vs_result_profile(r, VS_PROFILE_TEXT), *p = strstr(t, "-> plan ");
                        if (p) {
                            p += 8;
                            size_t l = strcspn(p, ":");
                            snprintf(plan, sizeof plan, "%.*s", (int)l, p);
                        }
                    }
                    cJSON_Delete(pj);
                }
                vs_result_free(r);
            }
        }
        double mean = 0;
        for (size_t i = 0; i < nq; i++) mean += lat[i];
        mean /= (double)nq;
        qsort(lat, nq, sizeof *lat, cmp_d);
        qsort(ovh, nq, sizeof *ovh, cmp_d);
        size_t p99 = (size_t)ceil(0.99 * (double)nq) - 1;
        double recall = rsum / (double)nq;
        printf("%-18s %7.3f%% %9.4f %10.3f %10.3f %12.3f  %s\n", fs[fi].name,
               100.0 * (double)cnt / (double)n, recall, mean, lat[p99], fs[fi].filter ? ovh[p99] : 0.0,
               plan);
        cJSON *row = cJSON_CreateObject();
        cJSON_AddStringToObject(row, "name", fs[fi].name);
        cJSON_AddStringToObject(row, "filter", fs[fi].filter ? fs[fi].filter : "");
        cJSON_AddNumberToObject(row, "selectivity", (double)cnt / (double)n);
        cJSON_AddNumberToObject(row, "recall_at_10", recall);
        cJSON_AddNumberToObject(row, "mean_ms", mean);
        cJSON_AddNumberToObject(row, "p99_ms", lat[p99]);
        cJSON_AddNumberToObject(row, "filter_overhead_p99_ms", fs[fi].filter ? ovh[p99] : 0.0);
        cJSON_AddStringToObject(row, "plan", plan);
        cJSON_AddItemToArray(rows, row);
    }
    char *txt = cJSON_Print(out);
    mkdir("bench/results", 0755);
    FILE *f = fopen("bench/results/filter.json", "w");
    if (f) {
        fputs(txt, f);
        fclose(f);
    }
    cJSON_free(txt);
    cJSON_Delete(out);
    for (size_t i = 0; i < B; i++) free(pl[i]);
    free(pl), free(ids), free(lat), free(ovh), free(truth), free(ntruth), free(v), free(qs);
    vs_coll_close(c);
    vs_store_close(s);
    return 0;
}
