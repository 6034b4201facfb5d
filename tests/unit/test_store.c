/*
 * test_store.c — the store and collection through the public API: lifecycle,
 * writes, reads, persistence across reopen, flush and compaction equivalence.
 */
#include <math.h>
#include <stdlib.h>

#include "test.h"
#include "vecstore.h"

static vs_store *open_store(const char *path, int fsync) {
    vs_store_options o;
    vs_store_options_init(&o);
    o.fsync = fsync;
    vs_store *s = NULL;
    char msg[256];
    int rc = vs_store_open(path, &o, &s, msg, sizeof msg);
    ASSERT_MSG(rc == VS_OK, "open %s: %s", path, msg);
    return s;
}

static vs_coll *make_coll(vs_store *s, const char *name, uint32_t dim, int metric) {
    vs_schema *sc;
    ASSERT_OK(vs_schema_new(&sc));
    ASSERT_OK(vs_schema_add_vector(sc, "", dim, metric));
    int rc = vs_coll_create(s, name, sc);
    vs_schema_free(sc);
    ASSERT_MSG(rc == VS_OK, "create: %s", vs_store_errmsg(s));
    vs_coll *c;
    ASSERT_OK(vs_coll_open(s, name, &c));
    return c;
}

static void upsert_range(vs_coll *c, uint64_t first, size_t n, uint32_t dim, unsigned seed) {
    float *v = malloc(n * dim * sizeof(float));
    vs_id *ids = malloc(n * sizeof(vs_id));
    char **pl = malloc(n * sizeof(char *));
    srand(seed);
    for (size_t i = 0; i < n; i++) {
        ids[i] = vs_id_num(first + i);
        for (uint32_t j = 0; j < dim; j++) v[i * dim + j] = (float)rand() / RAND_MAX - 0.5f;
        pl[i] = malloc(64);
        snprintf(pl[i], 64, "{\"i\":%llu,\"even\":%s}", (unsigned long long)(first + i),
                 (first + i) % 2 ? "false" : "true");
    }
    vs_vectors col = {NULL, v, dim};
    vs_upsert_batch b = {n, ids, &col, 1, (const char *const *)pl, NULL};
    int rc = vs_upsert(c, &b);
    ASSERT_MSG(rc == VS_OK, "upsert: %s", vs_coll_errmsg(c));
    for (size_t i = 0; i < n; i++) free(pl[i]);
    free(pl);
    free(ids);
    free(v);
}

/* Exact top-k by brute force over what get() returns, as the oracle. */
static void query_ids(vs_coll *c, const float *q, uint32_t dim, uint32_t k, uint64_t *out,
                      size_t *n) {
    vs_query qu;
    vs_query_init(&qu);
    qu.vectors = q;
    qu.dim = dim;
    qu.k = k;
    vs_result *r;
    int rc = vs_query_run(c, &qu, &r);
    ASSERT_MSG(rc == VS_OK, "query: %s", vs_coll_errmsg(c));
    *n = vs_result_rows(r, 0);
    for (size_t i = 0; i < *n; i++) out[i] = vs_result_id(r, 0, i).num;
    vs_result_free(r);
}

TEST(store, create_upsert_query_get_delete) {
    vs_store *s = open_store(vt_path("db"), VS_FSYNC_OFF);
    vs_coll *c = make_coll(s, "docs", 8, VS_METRIC_L2);
    upsert_range(c, 0, 100, 8, 1);
    uint64_t n;
    ASSERT_OK(vs_count(c, NULL, &n));
    ASSERT_EQ(n, 100);
    /* A point's own vector is its nearest neighbour at distance 0. */
    vs_id id = vs_id_num(42);
    vs_result *r;
    ASSERT_OK(vs_get(c, &id, 1, VS_WITH_VECTOR | VS_WITH_PAYLOAD, &r));
    ASSERT_EQ(vs_result_rows(r, 0), 1);
    uint32_t dim;
    float v[8];
    memcpy(v, vs_result_vector(r, 0, 0, 0, &dim), sizeof v);
    ASSERT_EQ(dim, 8);
    ASSERT_STREQ(vs_result_payload(r, 0, 0), "{\"i\":42,\"even\":true}");
    vs_result_free(r);
    vs_query q;
    vs_query_init(&q);
    q.vectors = v;
    q.dim = 8;
    q.k = 5;
    ASSERT_OK(vs_query_run(c, &q, &r));
    ASSERT_EQ(vs_result_rows(r, 0), 5);
    ASSERT_EQ(vs_result_id(r, 0, 0).num, 42);
    ASSERT_NEAR(vs_result_score(r, 0, 0), 0.0, 1e-3);
    for (size_t i = 1; i < 5; i++) ASSERT(vs_result_score(r, 0, i) >= vs_result_score(r, 0, i - 1));
    vs_result_free(r);
    uint64_t del;
    vs_id two[2] = {vs_id_num(42), vs_id_num(100000)};
    ASSERT_OK(vs_delete(c, two, 2, &del));
    ASSERT_EQ(del, 1);
    ASSERT_OK(vs_query_run(c, &q, &r));
    ASSERT_NE(vs_result_id(r, 0, 0).num, 42);
    vs_result_free(r);
    ASSERT_OK(vs_count(c, NULL, &n));
    ASSERT_EQ(n, 99);
    ASSERT_OK(vs_count(c, "{\"must\":[{\"key\":\"even\",\"match\":{\"value\":true}}]}", &n));
    ASSERT_EQ(n, 49);
    vs_coll_close(c);
    vs_store_close(s);
}

TEST(store, results_survive_reopen_flush_and_compaction) {
    const char *path = vt_path("db");
    vs_store *s = open_store(path, VS_FSYNC_OFF);
    vs_coll *c = make_coll(s, "c", 16, VS_METRIC_COSINE);
    upsert_range(c, 0, 500, 16, 2);
    ASSERT_MSG(vs_coll_flush(c) == VS_OK, "flush: %s", vs_coll_errmsg(c));
    upsert_range(c, 500, 500, 16, 3);
    upsert_range(c, 100, 50, 16, 4); /* replace some sealed points */
    vs_id dels[10];
    for (int i = 0; i < 10; i++) dels[i] = vs_id_num(600 + i);
    ASSERT_OK(vs_delete(c, dels, 10, NULL));
    float q[16];
    for (int i = 0; i < 16; i++) q[i] = (float)(i % 3) - 1.0f;
    uint64_t before[20], after[20];
    size_t nb, na;
    query_ids(c, q, 16, 20, before, &nb);
    ASSERT_EQ(nb, 20);
    /* replay */
    vs_coll_close(c);
    vs_store_close(s);
    s = open_store(path, VS_FSYNC_OFF);
    ASSERT_OK(vs_coll_open(s, "c", &c));
    query_ids(c, q, 16, 20, after, &na);
    ASSERT_EQ(na, nb);
    for (size_t i = 0; i < nb; i++) ASSERT_EQ(after[i], before[i]);
    /* flush */
    ASSERT_MSG(vs_coll_flush(c) == VS_OK, "flush2: %s", vs_coll_errmsg(c));
    query_ids(c, q, 16, 20, after, &na);
    for (size_t i = 0; i < nb; i++) ASSERT_EQ(after[i], before[i]);
    /* compaction */
    ASSERT_OK(vs_coll_compact(c));
    vs_coll_info info;
    ASSERT_OK(vs_coll_info_get(c, &info));
    ASSERT_EQ(info.segments, 1);
    ASSERT_EQ(info.deleted, 0);
    ASSERT_EQ(info.points, 990);
    query_ids(c, q, 16, 20, after, &na);
    for (size_t i = 0; i < nb; i++) ASSERT_EQ(after[i], before[i]);
    vs_coll_close(c);
    vs_store_close(s);
    s = open_store(path, VS_FSYNC_OFF);
    ASSERT_OK(vs_coll_open(s, "c", &c));
    query_ids(c, q, 16, 20, after, &na);
    for (size_t i = 0; i < nb; i++) ASSERT_EQ(after[i], before[i]);
    uint64_t n;
    ASSERT_OK(vs_count(c, NULL, &n));
    ASSERT_EQ(n, 990);
    vs_coll_close(c);
    vs_store_close(s);
    ASSERT_OK(vs_store_check(path, NULL, NULL));
}

TEST(store, scroll_pages_cover_every_point_once_in_id_order) {
    vs_store *s = open_store(vt_path("db"), VS_FSYNC_OFF);
    vs_coll *c = make_coll(s, "c", 4, VS_METRIC_L2);
    upsert_range(c, 0, 300, 4, 9);
    ASSERT_OK(vs_coll_flush(c));
    upsert_range(c, 1000, 200, 4, 10);
    /* string ids sort after numbers, bytewise */
    float v[4] = {0, 0, 0, 1};
    const char *sid[3] = {"b", "a", "ab"};
    for (int i = 0; i < 3; i++) {
        vs_id id = vs_id_str(sid[i]);
        vs_vectors col = {NULL, v, 4};
        vs_upsert_batch b = {1, &id, &col, 1, NULL, NULL};
        ASSERT_OK(vs_upsert(c, &b));
    }
    vs_id del[2] = {vs_id_num(5), vs_id_num(1100)};
    ASSERT_OK(vs_delete(c, del, 2, NULL));
    for (int filtered = 0; filtered < 2; filtered++) {
        const char *flt = filtered ? "{\"must\":[{\"key\":\"even\",\"match\":{\"value\":true}}]}" : NULL;
        vs_id next;
        int have = 0, total = 0, strs = 0;
        uint64_t last = 0;
        char laststr[8] = "";
        for (int page = 0; page < 1000; page++) {
            vs_result *r;
            ASSERT_OK(vs_scroll(c, have ? &next : NULL, 37, flt, VS_WITH_PAYLOAD, &r));
            for (size_t i = 0; i < vs_result_rows(r, 0); i++) {
                vs_id id = vs_result_id(r, 0, i);
                if (id.kind == VS_ID_NUM) {
                    ASSERT(strs == 0);
                    ASSERT(total == 0 || id.num > last);
                    ASSERT(id.num != 5 && id.num != 1100);
                    if (filtered) ASSERT(id.num % 2 == 0);
                    last = id.num;
                } else {
                    char cur[8];
                    snprintf(cur, sizeof cur, "%.*s", (int)id.len, id.str);
                    ASSERT(strcmp(cur, laststr) > 0);
                    strcpy(laststr, cur);
                    strs++;
                }
                total++;
            }
            vs_id nx;
            have = vs_result_next(r, &nx);
            char keep[8] = "";
            if (have && nx.kind == VS_ID_STR) {
                snprintf(keep, sizeof keep, "%.*s", (int)nx.len, nx.str);
                static char hold[2][8];
                strcpy(hold[filtered], keep);
                next = vs_id_str(hold[filtered]);
            } else if (have) {
                next = nx;
            }
            vs_result_free(r);
            if (!have) break;
        }
        /* 300 + 200 - 2 numeric points (+3 strings without "even" payload when unfiltered) */
        ASSERT_EQ(total, (filtered ? 150 + 99 : 498 + 3));
        ASSERT_EQ(strs, (filtered ? 0 : 3));
    }
    vs_coll_close(c);
    vs_store_close(s);
}

/* vs_result_matrix: dense groups x k arrays padded as faiss pads them, made once, and
 * refused (VS_ERANGE) when an id cannot be an int64. */
TEST(store, result_matrix_pads_and_refuses_string_ids) {
    vs_store *s = open_store(vt_path("db"), VS_FSYNC_OFF);
    vs_coll *c = make_coll(s, "m", 4, VS_METRIC_L2);
    upsert_range(c, 10, 3, 4, 7);
    float qv[8] = {0, 0, 0, 0, 1, 1, 1, 1};
    vs_query q;
    vs_query_init(&q);
    q.vectors = qv;
    q.nq = 2;
    q.dim = 4;
    q.k = 5;
    vs_result *r;
    ASSERT_OK(vs_query_run(c, &q, &r));
    const int64_t *ids, *ids2;
    const float *sc, *sc2;
    ASSERT_OK(vs_result_matrix(r, 5, &ids, &sc));
    for (size_t g = 0; g < 2; g++) {
        for (size_t i = 0; i < 3; i++) {
            ASSERT_EQ(ids[g * 5 + i], (int64_t)vs_result_id(r, g, i).num);
            ASSERT(sc[g * 5 + i] == vs_result_score(r, g, i));
        }
        for (size_t i = 3; i < 5; i++) {
            ASSERT_EQ(ids[g * 5 + i], -1);
            ASSERT(isnan(sc[g * 5 + i]));
        }
    }
    ASSERT_OK(vs_result_matrix(r, 5, &ids2, &sc2));
    ASSERT(ids2 == ids && sc2 == sc); /* the same arrays, not a second copy */
    ASSERT_EQ(vs_result_matrix(r, 3, &ids2, &sc2), VS_EINVAL);
    ASSERT_EQ(vs_result_matrix(r, 5, NULL, &sc2), VS_EINVAL);
    vs_result_free(r);
    /* k smaller than the rows keeps the best k. */
    ASSERT_OK(vs_query_run(c, &q, &r));
    ASSERT_OK(vs_result_matrix(r, 2, &ids, &sc));
    ASSERT_EQ(ids[2], (int64_t)vs_result_id(r, 1, 0).num);
    vs_result_free(r);
    /* A string id (or one above INT64_MAX) cannot be in an int64 matrix. */
    vs_id big[2] = {vs_id_str("s"), vs_id_num(UINT64_MAX)};
    for (int t = 0; t < 2; t++) {
        float v[4] = {0, 0, 0, (float)t};
        vs_vectors col = {NULL, v, 4};
        vs_upsert_batch b = {1, &big[t], &col, 1, NULL, NULL};
        ASSERT_OK(vs_upsert(c, &b));
        ASSERT_OK(vs_get(c, &big[t], 1, 0, &r));
        ASSERT_EQ(vs_result_matrix(r, 1, &ids, &sc), VS_ERANGE);
        ASSERT(ids == NULL && sc == NULL);
        vs_result_free(r);
        ASSERT_OK(vs_delete(c, &big[t], 1, NULL));
    }
    vs_coll_close(c);
    vs_store_close(s);
}
