/*
 * test_concurrency.c — readers query while a writer upserts and deletes and the
 * collection flushes and compacts underneath them. Asserts that every query sees a
 * well-formed result (k rows when the collection holds at least k points, sorted,
 * no id twice) and that the final state equals the writer's model.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "test.h"
#include "vecstore.h"

#define DIM 8
#define KEEP 300 /* ids 0..KEEP-1 are never deleted, so queries always find k */

typedef struct shared {
    vs_coll *c;
    _Atomic int stop;
    _Atomic int bad;
    _Atomic int iters;
    char why[256];
} shared;

static void *reader(void *arg) {
    shared *sh = arg;
    unsigned seed = 7;
    while (!atomic_load(&sh->stop)) {
        float q[DIM];
        for (int i = 0; i < DIM; i++) q[i] = (float)rand_r(&seed) / RAND_MAX;
        vs_query qu;
        vs_query_init(&qu);
        qu.vectors = q;
        qu.dim = DIM;
        qu.k = 10;
        vs_result *r;
        if (vs_query_run(sh->c, &qu, &r) != VS_OK) {
            snprintf(sh->why, sizeof sh->why, "query failed: %s", vs_coll_errmsg(sh->c));
            atomic_store(&sh->bad, 1);
            break;
        }
        size_t n = vs_result_rows(r, 0);
        int ok = n == 10;
        for (size_t i = 1; i < n && ok; i++) {
            ok = vs_result_score(r, 0, i) >= vs_result_score(r, 0, i - 1);
            for (size_t j = 0; j < i; j++) ok &= vs_result_id(r, 0, j).num != vs_result_id(r, 0, i).num;
            ok &= vs_result_payload(r, 0, i) != NULL;
        }
        vs_result_free(r);
        if (!ok) {
            snprintf(sh->why, sizeof sh->why, "malformed result (%zu rows)", n);
            atomic_store(&sh->bad, 1);
            break;
        }
        uint64_t cnt = KEEP;
        int check = ++sh->iters % 16 == 0;
        if (check && (vs_count(sh->c, "{\"must\":[{\"key\":\"keep\",\"match\":{\"value\":true}}]}",
                               &cnt) != VS_OK ||
                      cnt != KEEP)) {
            snprintf(sh->why, sizeof sh->why, "count of kept points %llu", (unsigned long long)cnt);
            atomic_store(&sh->bad, 1);
            break;
        }
    }
    return NULL;
}

static void run_concurrent(int hnsw) {
    vs_store_options o;
    vs_store_options_init(&o);
    o.fsync = VS_FSYNC_OFF;
    o.flush_bytes = VS_FLUSH_BYTES_MIN; /* many automatic flushes */
    o.compact_min_segments = 2;         /* and background compactions */
    vs_store *s;
    char msg[256];
    ASSERT_OK(vs_store_open(vt_path("db"), &o, &s, msg, sizeof msg));
    vs_schema *sc;
    ASSERT_OK(vs_schema_new(&sc));
    ASSERT_OK(vs_schema_add_vector(sc, "", DIM, VS_METRIC_L2));
    /* With HNSW, the background thread builds and attaches graphs under the readers. */
    if (hnsw) ASSERT_OK(vs_schema_set_hnsw(sc, NULL, 8, 32, 200));
    /* Quantized: codes are trained, encoded and attached with the graph. */
    if (hnsw == 2) ASSERT_OK(vs_schema_set_quantization(sc, NULL, VS_QUANT_INT8, 0));
    if (hnsw == 3) ASSERT_OK(vs_schema_set_quantization(sc, NULL, VS_QUANT_PQ, 4));
    ASSERT_OK(vs_coll_create(s, "c", sc));
    vs_schema_free(sc);
    shared sh = {0};
    ASSERT_OK(vs_coll_open(s, "c", &sh.c));
    /* Seed the kept points. */
    float v[KEEP * DIM];
    vs_id ids[KEEP];
    const char *pl[KEEP];
    unsigned seed = vt_seed();
    for (int i = 0; i < KEEP; i++) {
        ids[i] = vs_id_num((uint64_t)i);
        pl[i] = "{\"keep\":true}";
        for (int j = 0; j < DIM; j++) v[i * DIM + j] = (float)rand_r(&seed) / RAND_MAX;
    }
    vs_vectors col = {NULL, v, DIM};
    vs_upsert_batch b = {KEEP, ids, &col, 1, pl, NULL};
    ASSERT_OK(vs_upsert(sh.c, &b));
    pthread_t th[2];
    for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, reader, &sh);
    /* The writer: churn ids >= KEEP, and now and then replace kept points. */
    int rounds = vt_long() ? 3000 : 120;
    uint64_t live_churn = 0;
    for (int r = 0; r < rounds && !atomic_load(&sh.bad); r++) {
        vs_id cid[20];
        const char *cpl[20];
        float cv[20 * DIM];
        for (int i = 0; i < 20; i++) {
            cid[i] = vs_id_num(KEEP + (uint64_t)(r * 20 + i));
            cpl[i] = "{\"keep\":false}";
            for (int j = 0; j < DIM; j++) cv[i * DIM + j] = (float)rand_r(&seed) / RAND_MAX;
        }
        vs_vectors cc = {NULL, cv, DIM};
        vs_upsert_batch cb = {20, cid, &cc, 1, cpl, NULL};
        ASSERT_OK(vs_upsert(sh.c, &cb));
        uint64_t d;
        ASSERT_OK(vs_delete(sh.c, cid, 15, &d)); /* keep 5 of each 20 */
        ASSERT_EQ(d, 15);
        live_churn += 5;
        if (r % 10 == 0) {
            vs_upsert_batch kb = {10, ids + (r % (KEEP - 10)), &col, 1, pl + (r % (KEEP - 10)), NULL};
            vs_vectors kc = {NULL, v + (r % (KEEP - 10)) * DIM, DIM};
            kb.vectors = &kc;
            ASSERT_OK(vs_upsert(sh.c, &kb));
        }
        if (r % 50 == 25) ASSERT_OK(vs_coll_compact(sh.c));
    }
    atomic_store(&sh.stop, 1);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    ASSERT_MSG(!atomic_load(&sh.bad), "%s", sh.why);
    uint64_t n;
    ASSERT_OK(vs_count(sh.c, NULL, &n));
    ASSERT_EQ(n, KEEP + live_churn);
    vs_coll_close(sh.c);
    vs_store_close(s);
    ASSERT_OK(vs_store_check(vt_path("db"), NULL, NULL));
    ASSERT_OK(vs_store_open(vt_path("db"), &o, &s, msg, sizeof msg));
    vs_coll *c;
    ASSERT_OK(vs_coll_open(s, "c", &c));
    ASSERT_OK(vs_count(c, NULL, &n));
    ASSERT_EQ(n, KEEP + live_churn);
    vs_coll_close(c);
    vs_store_close(s);
}

TEST(store, queries_run_during_writes_flushes_and_compactions) { run_concurrent(0); }
TEST(index, queries_run_while_graphs_are_built_and_attached) { run_concurrent(1); }
TEST(index, queries_run_while_int8_indexes_are_built) { run_concurrent(2); }
TEST(index, queries_run_while_pq_indexes_are_built) { run_concurrent(3); }
