/*
 * test_index.c — HNSW through the public API: background/explicit index builds, recall
 * against exact search for each metric, after deletes, compaction and reopen (graph
 * loaded from its file), damaged index files, bad parameters.
 */
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "test.h"
#include "util/alloc.h"
#include "vecstore.h"

/* Most tests use 24 dimensions; binary quantization needs many (a code of 24 bits
 * tells few neighbours apart), so its tests raise this. */
static uint32_t g_dim = 24;
#define DIM g_dim
#if defined(__SANITIZE_ADDRESS__)
#define NPTS 3000
#else
#define NPTS 8000
#endif

static vs_store *open_db(const char *p) {
    vs_store_options o;
    vs_store_options_init(&o);
    o.fsync = VS_FSYNC_OFF;
    o.background = 0; /* deterministic: vs_coll_wait_indexed builds */
    vs_store *s;
    char msg[256];
    int rc = vs_store_open(p, &o, &s, msg, sizeof msg);
    ASSERT_MSG(rc == VS_OK, "%s", msg);
    return s;
}

/* Creates and opens collection "c" in s: one default field of DIM dimensions, an HNSW
 * index (m, ef_construction, index_threshold) and quantization quant (VS_QUANT_NONE:
 * none) with pq_m. */
static vs_coll *hnsw_coll(vs_store *s, int metric, uint32_t m, uint32_t efc, uint32_t threshold,
                          int quant, uint32_t pq_m) {
    vs_schema *sc;
    ASSERT_OK(vs_schema_new(&sc));
    ASSERT_OK(vs_schema_add_vector(sc, "", DIM, metric));
    ASSERT_OK(vs_schema_set_hnsw(sc, NULL, m, efc, threshold));
    if (quant != VS_QUANT_NONE) ASSERT_OK(vs_schema_set_quantization(sc, NULL, quant, pq_m));
    ASSERT_OK(vs_coll_create(s, "c", sc));
    vs_schema_free(sc);
    vs_coll *c;
    ASSERT_OK(vs_coll_open(s, "c", &c));
    return c;
}

/* Clustered data: 40 centres, gaussian-ish noise. */
static float *make_data(size_t n, unsigned seed) {
    float *v = malloc(n * DIM * sizeof(float));
    float *centres = malloc(40 * DIM * sizeof(float));
    srand(seed);
    for (size_t c = 0; c < 40; c++)
        for (size_t j = 0; j < DIM; j++) centres[c * DIM + j] = (float)rand() / RAND_MAX * 4 - 2;
    for (size_t i = 0; i < n; i++) {
        size_t c = (size_t)rand() % 40;
        for (size_t j = 0; j < DIM; j++)
            v[i * DIM + j] = centres[c * DIM + j] + ((float)rand() / RAND_MAX - 0.5f) * 0.8f;
    }
    free(centres);
    return v;
}

static void load(vs_coll *c, const float *v, size_t first, size_t n) {
    vs_id *ids = malloc(n * sizeof *ids);
    for (size_t i = 0; i < n; i++) ids[i] = vs_id_num(first + i);
    vs_vectors col = {NULL, v + first * DIM, DIM};
    vs_upsert_batch b = {n, ids, &col, 1, NULL, NULL};
    ASSERT_OK(vs_upsert(c, &b));
    free(ids);
}

/* recall@10 against exact search with query flags `flags` (and oversampling os). */
static double recall_q(vs_coll *c, const float *qs, size_t nq, uint32_t ef, uint32_t flags,
                       float os) {
    size_t hit = 0, total = 0;
    for (size_t i = 0; i < nq; i++) {
        vs_query q;
        vs_query_init(&q);
        q.vectors = qs + i * DIM;
        q.dim = DIM;
        q.k = 10;
        q.with = 0;
        q.ef = ef;
        q.flags = flags;
        q.oversampling = os;
        vs_result *a, *x;
        ASSERT_OK(vs_query_run(c, &q, &a));
        q.flags = VS_QUERY_EXACT;
        ASSERT_OK(vs_query_run(c, &q, &x));
        for (size_t j = 0; j < vs_result_rows(x, 0); j++) {
            uint64_t want = vs_result_id(x, 0, j).num;
            for (size_t k = 0; k < vs_result_rows(a, 0); k++)
                if (vs_result_id(a, 0, k).num == want) {
                    hit++;
                    break;
                }
            total++;
        }
        vs_result_free(a);
        vs_result_free(x);
    }
    return total ? (double)hit / (double)total : 0;
}

/* recall@10 of the index against exact search over nq queries. */
static double recall(vs_coll *c, const float *qs, size_t nq, uint32_t ef) {
    return recall_q(c, qs, nq, ef, 0, 0);
}

static void run_metric(int metric) {
    vs_store *s = open_db(vt_path("db"));
    vs_coll *c = hnsw_coll(s, metric, 12, 100, 1000, VS_QUANT_NONE, 0);
    /* Queries from the points' own mixture (the 50 rows after the loaded ones): queries
     * from other centres fall between clusters, where a graph's recall at a fixed ef
     * varies with the seed (0.93-0.94 seen at ef 256), which made this test flaky. */
    float *v = make_data(NPTS + 50, vt_seed());
    const float *qs = v + (size_t)NPTS * DIM;
    load(c, v, 0, NPTS / 2);
    ASSERT_OK(vs_coll_flush(c));
    load(c, v, NPTS / 2, NPTS / 2);
    ASSERT_OK(vs_coll_flush(c));
    vs_coll_info info;
    ASSERT_OK(vs_coll_info_get(c, &info));
    ASSERT_EQ(info.pending_segments, 2);
    ASSERT_OK(vs_coll_wait_indexed(c, -1));
    ASSERT_OK(vs_coll_info_get(c, &info));
    ASSERT_EQ(info.indexed_segments, 2);
    ASSERT_EQ(info.pending_segments, 0);
    ASSERT(info.index_bytes > 0);
    /* Inner product is not a metric: an HNSW graph over it (as Qdrant and hnswlib build
     * it) needs a wider beam for the same recall. Measured on this data (after
     * compaction, one graph over all points, the hardest case): l2/cosine 0.94-0.99 at
     * ef 128 and >= 0.996 at 256; dot 0.87-0.89 at 256 and 0.91-0.92 at 512. */
    uint32_t ef = metric == VS_METRIC_DOT ? 512 : 256;
    double want = metric == VS_METRIC_DOT ? 0.85 : 0.95;
    double r = recall(c, qs, 50, ef);
    ASSERT_MSG(r >= want, "recall@10 %.3f < %.2f (metric %s, ef %u)", r, want,
               vs_metric_name(metric), ef);
    /* ef below k still searches with a beam of k and returns k rows. */
    {
        vs_query q1;
        vs_query_init(&q1);
        q1.vectors = qs;
        q1.dim = DIM;
        q1.k = 10;
        q1.ef = 1;
        vs_result *r1;
        ASSERT_OK(vs_query_run(c, &q1, &r1));
        ASSERT_EQ(vs_result_rows(r1, 0), 10);
        vs_result_free(r1);
    }
    /* Deletes: a third of the points, never returned, recall holds. */
    size_t nd = NPTS / 3;
    vs_id *del = malloc(nd * sizeof *del);
    for (size_t i = 0; i < nd; i++) del[i] = vs_id_num(i * 3);
    ASSERT_OK(vs_delete(c, del, nd, NULL));
    free(del);
    r = recall(c, qs, 50, ef);
    ASSERT_MSG(r >= want - 0.05, "recall after deletes %.3f", r);
    vs_query q;
    vs_query_init(&q);
    q.vectors = qs;
    q.dim = DIM;
    q.k = 50;
    vs_result *res;
    ASSERT_OK(vs_query_run(c, &q, &res));
    /* ids 0, 3, …, 3(nd-1) were deleted (NPTS/3 rounds down: 3·nd itself may be live) */
    for (size_t j = 0; j < vs_result_rows(res, 0); j++) {
        uint64_t id = vs_result_id(res, 0, j).num;
        ASSERT_MSG(id % 3 != 0 || id >= 3 * nd, "deleted id %llu returned", (unsigned long long)id);
    }
    vs_result_free(res);
    /* Reopen: graphs load from their files. */
    vs_coll_close(c);
    vs_store_close(s);
    s = open_db(vt_path("db"));
    ASSERT_OK(vs_coll_open(s, "c", &c));
    ASSERT_OK(vs_coll_info_get(c, &info));
    ASSERT_EQ(info.indexed_segments, 2);
    r = recall(c, qs, 50, ef);
    ASSERT_MSG(r >= want - 0.05, "recall after reopen %.3f", r);
    /* Compaction: one new segment, indexed again. */
    ASSERT_OK(vs_coll_compact(c));
    ASSERT_OK(vs_coll_wait_indexed(c, -1));
    ASSERT_OK(vs_coll_info_get(c, &info));
    ASSERT_EQ(info.segments, 1);
    ASSERT_EQ(info.indexed_segments, 1);
    r = recall(c, qs, 50, ef);
    ASSERT_MSG(r >= want, "recall after compaction %.3f", r);
    vs_coll_close(c);
    vs_store_close(s);
    ASSERT_OK(vs_store_check(vt_path("db"), NULL, NULL));
    free(v);
}

TEST(index, hnsw_recall_l2) { run_metric(VS_METRIC_L2); }
TEST(index, hnsw_recall_cosine) { run_metric(VS_METRIC_COSINE); }
TEST(index, hnsw_recall_dot) { run_metric(VS_METRIC_DOT); }

#define WIDE_EF 512

/* The mutable segment's graph: grown as points arrive (here by vs_coll_wait_indexed,
 * background off), searched together with the rows it does not cover yet, and handed
 * to the sealed segment at a flush, where it is completed and saved. */
TEST(index, mutable_segment_graph_grows_and_is_handed_over) {
    vs_store *s = open_db(vt_path("db"));
    vs_coll *c = hnsw_coll(s, VS_METRIC_L2, 12, 100, 1000, VS_QUANT_NONE, 0);
    const size_t n = NPTS, extra = 300;
    float *v = make_data(n + extra, vt_seed());
    float *qs = make_data(50, vt_seed() + 1);
    /* below the threshold: no graph wanted */
    load(c, v, 0, 900);
    vs_coll_info info;
    ASSERT_OK(vs_coll_info_get(c, &info));
    ASSERT_EQ(info.pending_segments, 0);
    ASSERT_OK(vs_coll_wait_indexed(c, -1));
    ASSERT_OK(vs_coll_info_get(c, &info));
    ASSERT_EQ(info.mutable_indexed, 0);
    load(c, v, 900, n - 900);
    ASSERT_OK(vs_coll_info_get(c, &info));
    ASSERT_EQ(info.segments, 0);
    ASSERT_EQ(info.pending_segments, 1); /* the mutable segment's graph */
    ASSERT_EQ(info.mutable_indexed, 0);
    double exact_like = recall(c, qs, 50, 10);
    ASSERT_MSG(exact_like == 1.0, "no graph yet: search is exact (recall %.3f)", exact_like);
    ASSERT_OK(vs_coll_wait_indexed(c, -1));
    ASSERT_OK(vs_coll_info_get(c, &info));
    ASSERT_EQ(info.mutable_indexed, n);
    ASSERT_EQ(info.pending_segments, 0);
    ASSERT(info.index_bytes > 0);
    /* The graph is walked now: a beam of k no longer finds every neighbour, a wide one
     * does. (These queries come from other centres than the points, between the
     * clusters: hard ones. A bulk build over the same rows measures the same: e.g.
     * 0.914 / 0.934 / 1.000 at ef 128 / 256 / 512 for one seed, 0.918 / 0.980 / 1.000
     * for another.) */
    double narrow = recall(c, qs, 50, 10), wide = recall(c, qs, 50, WIDE_EF);
    vt_note("mutable graph of %zu rows: recall@10 %.3f at ef 10, %.3f at ef %d", n, narrow, wide,
            WIDE_EF);
    ASSERT_MSG(narrow < 1.0, "recall %.3f at ef 10: graph not used?", narrow);
    ASSERT_MSG(wide >= 0.95, "recall@10 %.3f at ef %d", wide, WIDE_EF);
    /* Rows the graph does not cover yet are scored exactly: each is its own nearest. */
    load(c, v, n, extra);
    ASSERT_OK(vs_coll_info_get(c, &info));
    ASSERT_EQ(info.mutable_indexed, n);
    for (size_t i = n; i < n + extra; i += 7) {
        vs_query q;
        vs_query_init(&q);
        q.vectors = v + i * DIM;
        q.dim = DIM;
        q.k = 1;
        q.ef = 16;
        vs_result *r;
        ASSERT_OK(vs_query_run(c, &q, &r));
        ASSERT_EQ(vs_result_rows(r, 0), 1);
        ASSERT_EQ(vs_result_id(r, 0, 0).num, i);
        ASSERT(vs_result_score(r, 0, 0) == 0.0f);
        vs_result_free(r);
    }
    /* Deletes in the mutable segment are honoured by the graph walk. */
    size_t nd = (n + extra) / 3;
    vs_id *del = malloc(nd * sizeof *del);
    for (size_t i = 0; i < nd; i++) del[i] = vs_id_num(i * 3);
    ASSERT_OK(vs_delete(c, del, nd, NULL));
    free(del);
    ASSERT_OK(vs_coll_wait_indexed(c, -1));
    ASSERT_OK(vs_coll_info_get(c, &info));
    ASSERT_EQ(info.mutable_indexed, n + extra);
    vs_query q;
    vs_query_init(&q);
    q.vectors = qs;
    q.dim = DIM;
    q.k = 50;
    q.ef = 64;
    vs_result *res;
    ASSERT_OK(vs_query_run(c, &q, &res));
    ASSERT_EQ(vs_result_rows(res, 0), 50);
    /* ids 0, 3, …, 3(nd-1) were deleted (NPTS/3 rounds down: 3·nd itself may be live) */
    for (size_t j = 0; j < vs_result_rows(res, 0); j++) {
        uint64_t id = vs_result_id(res, 0, j).num;
        ASSERT_MSG(id % 3 != 0 || id >= 3 * nd, "deleted id %llu returned", (unsigned long long)id);
    }
    vs_result_free(res);
    double before = recall(c, qs, 50, WIDE_EF);
    ASSERT_MSG(before >= 0.95, "recall@10 %.3f after deletes", before);
    /* Flush: the graph moves to the sealed segment (searched at once), the indexer
     * completes and saves it. */
    ASSERT_OK(vs_coll_flush(c));
    ASSERT_OK(vs_coll_info_get(c, &info));
    ASSERT_EQ(info.segments, 1);
    ASSERT_EQ(info.indexed_segments, 1);
    ASSERT_EQ(info.pending_segments, 1);
    ASSERT_EQ(info.mutable_indexed, 0);
    double handed = recall(c, qs, 50, WIDE_EF);
    ASSERT_MSG(handed >= 0.95, "recall@10 %.3f on the handed-over graph", handed);
    ASSERT_OK(vs_coll_wait_indexed(c, -1));
    ASSERT_OK(vs_coll_info_get(c, &info));
    ASSERT_EQ(info.pending_segments, 0);
    ASSERT_EQ(info.indexed_segments, 1);
    double done = recall(c, qs, 50, WIDE_EF);
    ASSERT_MSG(done >= 0.95, "recall@10 %.3f on the completed graph", done);
    /* Reopen: the completed graph was saved and loads from its file, no rebuild. */
    vs_coll_close(c);
    vs_store_close(s);
    ASSERT_OK(vs_store_check(vt_path("db"), NULL, NULL));
    s = open_db(vt_path("db"));
    ASSERT_OK(vs_coll_open(s, "c", &c));
    ASSERT_OK(vs_coll_info_get(c, &info));
    ASSERT_EQ(info.indexed_segments, 1);
    ASSERT_EQ(info.pending_segments, 0);
    ASSERT_EQ(info.points, n + extra - nd);
    double reopened = recall(c, qs, 50, WIDE_EF);
    ASSERT_MSG(fabs(reopened - done) < 1e-9, "recall %.3f after reopen, %.3f before", reopened, done);
    vs_coll_close(c);
    vs_store_close(s);
    free(v);
    free(qs);
}

/* With the background thread on, the store's inserter grows the mutable graph by
 * itself while points arrive. */
TEST(index, mutable_segment_graph_grows_in_the_background) {
    vs_store_options o;
    vs_store_options_init(&o);
    o.fsync = VS_FSYNC_OFF;
    vs_store *s;
    char msg[256];
    ASSERT_OK(vs_store_open(vt_path("db"), &o, &s, msg, sizeof msg));
    vs_coll *c = hnsw_coll(s, VS_METRIC_COSINE, 8, 64, 500, VS_QUANT_NONE, 0);
    float *v = make_data(3000, vt_seed());
    for (size_t i = 0; i < 3000; i += 250) load(c, v, i, 250);
    ASSERT_OK(vs_coll_wait_indexed(c, 60000));
    vs_coll_info info;
    ASSERT_OK(vs_coll_info_get(c, &info));
    ASSERT_EQ(info.mutable_indexed, 3000);
    ASSERT_EQ(info.segments, 0);
    double r = recall(c, v + 100 * DIM, 40, 128);
    ASSERT_MSG(r >= 0.95, "recall@10 %.3f", r);
    vs_coll_close(c);
    vs_store_close(s);
    free(v);
}

/* Every allocation of the mutable graph's growth and insertion, and of the completion
 * of the handed-over graph, fails once in turn: each failure is VS_ENOMEM from
 * vs_coll_wait_indexed, queries stay complete meanwhile, nothing leaks, and the next
 * try finishes the work. */
TEST(index, mutable_graph_survives_allocation_failures) {
    vs_store *s = open_db(vt_path("db"));
    vs_coll *c = hnsw_coll(s, VS_METRIC_L2, 6, 32, 100, VS_QUANT_INT8, 0);
    const size_t n = 1500;
    float *v = make_data(n, vt_seed());
    load(c, v, 0, n);
    for (int phase = 0; phase < 2; phase++) {
        if (phase == 1) ASSERT_OK(vs_coll_flush(c)); /* the graph moves; completion next */
        int done = 0, failures = 0;
        for (int64_t k = 1; k < 5000 && !done; k++) {
            int64_t live = vs__alloc_live();
            vs__alloc_fail_after(k);
            int rc = vs_coll_wait_indexed(c, -1);
            vs__alloc_fail_after(0);
            if (rc == VS_OK) {
                done = 1;
            } else {
                ASSERT_RC(rc, VS_ENOMEM);
                failures++;
                /* what a failed step leaves is still searched completely */
                vs_query q;
                vs_query_init(&q);
                q.vectors = v + (size_t)(k % (int64_t)n) * DIM;
                q.dim = DIM;
                q.k = 1;
                q.ef = 64;
                vs_result *r;
                ASSERT_OK(vs_query_run(c, &q, &r));
                ASSERT_EQ(vs_result_id(r, 0, 0).num, (uint64_t)(k % (int64_t)n));
                vs_result_free(r);
            }
            (void)live;
        }
        ASSERT(done);
        ASSERT(failures > 0);
        vs_coll_info info;
        ASSERT_OK(vs_coll_info_get(c, &info));
        ASSERT_EQ(info.pending_segments, 0);
        if (phase == 0) ASSERT_EQ(info.mutable_indexed, n);
        else ASSERT_EQ(info.indexed_segments, 1);
    }
    double r = recall(c, v + 7 * DIM, 20, 128);
    ASSERT_MSG(r >= 0.95, "recall@10 %.3f", r);
    vs_coll_close(c);
    vs_store_close(s);
    ASSERT_OK(vs_store_check(vt_path("db"), NULL, NULL));
    free(v);
}

/* The mutable graph lives in memory only: after a restart WAL replay refills the
 * mutable segment and the graph is grown again, with the same recall. */
TEST(index, mutable_graph_is_rebuilt_after_wal_replay) {
    vs_store *s = open_db(vt_path("db"));
    vs_coll *c = hnsw_coll(s, VS_METRIC_COSINE, 12, 100, 1000, VS_QUANT_NONE, 0);
    const size_t n = 4000;
    float *v = make_data(n, vt_seed());
    float *qs = make_data(40, vt_seed() + 1);
    load(c, v, 0, n);
    ASSERT_OK(vs_coll_wait_indexed(c, -1));
    double before = recall(c, qs, 40, WIDE_EF);
    vs_coll_close(c);
    vs_store_close(s); /* no flush: the points are in the WAL only */
    s = open_db(vt_path("db"));
    ASSERT_OK(vs_coll_open(s, "c", &c));
    vs_coll_info info;
    ASSERT_OK(vs_coll_info_get(c, &info));
    ASSERT_EQ(info.segments, 0);
    ASSERT_EQ(info.mutable_points, n);
    ASSERT_EQ(info.mutable_indexed, 0);
    ASSERT_EQ(info.pending_segments, 1);
    ASSERT_OK(vs_coll_wait_indexed(c, -1));
    ASSERT_OK(vs_coll_info_get(c, &info));
    ASSERT_EQ(info.mutable_indexed, n);
    double after = recall(c, qs, 40, WIDE_EF);
    /* same rows, same order, same seed: the same graph, so the same answers */
    ASSERT_MSG(fabs(after - before) < 1e-9 && after >= 0.95, "recall %.3f before, %.3f after",
               before, after);
    vs_coll_close(c);
    vs_store_close(s);
    free(v);
    free(qs);
}

/* ------------------------------------------------------------ quantization -- */

/* Rescored scores are the exact ones: each returned point's score equals the score an
 * exact search gives it (the exact search over a filter of just those ids). */
static void assert_rescored_scores_exact(vs_coll *c, const float *q1, int metric) {
    vs_query q;
    vs_query_init(&q);
    q.vectors = q1;
    q.dim = DIM;
    q.k = 10;
    q.with = VS_WITH_VECTOR;
    vs_result *a;
    ASSERT_OK(vs_query_run(c, &q, &a));
    ASSERT_EQ(vs_result_rows(a, 0), 10);
    for (size_t j = 0; j < 10; j++) {
        uint32_t d;
        const float *v = vs_result_vector(a, 0, j, 0, &d);
        ASSERT(v && d == DIM);
        double want = 0, qn = 0;
        for (size_t t = 0; t < DIM; t++) qn += (double)q1[t] * q1[t];
        for (size_t t = 0; t < DIM; t++) {
            if (metric == VS_METRIC_L2)
                want += ((double)q1[t] - v[t]) * ((double)q1[t] - v[t]);
            else
                want += (double)q1[t] * v[t] / (metric == VS_METRIC_COSINE ? sqrt(qn) : 1.0);
        }
        if (metric == VS_METRIC_L2) want = sqrt(want);
        ASSERT_NEAR(vs_result_score(a, 0, j), want, 1e-3 * (1 + fabs(want)));
    }
    vs_result_free(a);
}

static void run_quant(int metric, int quant, uint32_t pq_m, uint32_t dim, double max_loss) {
    g_dim = dim;
    vs_store *s = open_db(vt_path("db"));
    vs_coll *c = hnsw_coll(s, metric, 12, 100, 1000, quant, pq_m);
    vs_coll_info info;
    ASSERT_OK(vs_coll_info_get(c, &info));
    ASSERT_EQ(info.fields[0].quant, quant);
    ASSERT_EQ(info.fields[0].pq_m, pq_m);
    float *v = make_data(NPTS, vt_seed());
    float *qs = make_data(50, vt_seed() + 1);
    if (quant == VS_QUANT_BINARY) {
        /* Signs rank the points of a query's own cluster, as embeddings of related
         * texts are: queries near the data. (make_data's queries come from other
         * centres, where a sign code says nothing about which point is nearest.) */
        for (size_t i = 0; i < 50; i++)
            for (size_t j = 0; j < DIM; j++)
                qs[i * DIM + j] = v[(i * 97) % NPTS * DIM + j] + (qs[i * DIM + j] - qs[j]) * 0.25f;
    }
    load(c, v, 0, NPTS / 2);
    ASSERT_OK(vs_coll_flush(c));
    load(c, v, NPTS / 2, NPTS / 2);
    ASSERT_OK(vs_coll_flush(c));
    ASSERT_OK(vs_coll_wait_indexed(c, -1));
    ASSERT_OK(vs_coll_info_get(c, &info));
    ASSERT_EQ(info.indexed_segments, 2);
    /* The codes are part of the index's memory: at least one code per row. */
    size_t code = quant == VS_QUANT_INT8 ? DIM : quant == VS_QUANT_PQ ? pq_m : DIM / 8;
    ASSERT_MSG(info.index_bytes >= (uint64_t)NPTS * code, "index bytes %llu",
               (unsigned long long)info.index_bytes);
    uint32_t ef = metric == VS_METRIC_DOT ? 512 : 256;
    /* Same graph walked with the float vectors: the reference for the loss. */
    double rf = recall_q(c, qs, 50, ef, VS_QUERY_IGNORE_QUANT, 0);
    double rq = recall_q(c, qs, 50, ef, 0, 0);
    double rn = recall_q(c, qs, 50, ef, VS_QUERY_NO_RESCORE, 0);
    vt_note("%s %s: recall@10 float %.3f, quantized+rescored %.3f, not rescored %.3f",
           vs_metric_name(metric), quant == VS_QUANT_INT8 ? "int8" : quant == VS_QUANT_PQ ? "pq" : "binary",
           rf, rq, rn);
    ASSERT_MSG(rq >= rf - max_loss, "quantized recall %.3f vs float %.3f (loss > %.2f)", rq, rf,
               max_loss);
    ASSERT_MSG(rf >= (metric == VS_METRIC_DOT ? 0.85 : 0.95), "float recall %.3f", rf);
    /* Rescoring can only help the ranking over the same beam, and returns exact scores. */
    ASSERT_MSG(rq + 0.02 >= rn, "rescored %.3f below not rescored %.3f", rq, rn);
    assert_rescored_scores_exact(c, qs, metric);
    /* Oversampling widens the beam: recall at a small ef rises (or stays). */
    double r16 = recall_q(c, qs, 50, 16, 0, 0), r16o = recall_q(c, qs, 50, 16, 0, 8);
    ASSERT_MSG(r16o + 0.01 >= r16, "oversampling 8 at ef 16: %.3f < %.3f", r16o, r16);
    /* Deletes: never returned, recall holds. */
    size_t nd = NPTS / 3;
    vs_id *del = malloc(nd * sizeof *del);
    for (size_t i = 0; i < nd; i++) del[i] = vs_id_num(i * 3);
    ASSERT_OK(vs_delete(c, del, nd, NULL));
    free(del);
    double r = recall_q(c, qs, 50, ef, 0, 0);
    ASSERT_MSG(r >= rf - max_loss - 0.05, "recall after deletes %.3f", r);
    vs_query q;
    vs_query_init(&q);
    q.vectors = qs;
    q.dim = DIM;
    q.k = 50;
    vs_result *res;
    ASSERT_OK(vs_query_run(c, &q, &res));
    ASSERT_EQ(vs_result_rows(res, 0), 50);
    /* ids 0, 3, …, 3(nd-1) were deleted (NPTS/3 rounds down: 3·nd itself may be live) */
    for (size_t j = 0; j < vs_result_rows(res, 0); j++) {
        uint64_t id = vs_result_id(res, 0, j).num;
        ASSERT_MSG(id % 3 != 0 || id >= 3 * nd, "deleted id %llu returned", (unsigned long long)id);
    }
    vs_result_free(res);
    /* Points still in the WAL (mutable segment) at close are replayed on open and
     * searched with the sealed, quantized segments. */
    load(c, v, 0, 300); /* re-adds ids 0..299, including deleted ones */
    vs_coll_close(c);
    vs_store_close(s);
    s = open_db(vt_path("db"));
    ASSERT_OK(vs_coll_open(s, "c", &c));
    ASSERT_OK(vs_coll_info_get(c, &info));
    ASSERT_EQ(info.indexed_segments, 2);
    ASSERT_EQ(info.pending_segments, 0);
    ASSERT_EQ(info.points, NPTS - nd + 100);
    r = recall_q(c, qs, 50, ef, 0, 0);
    ASSERT_MSG(r >= rf - max_loss - 0.05, "recall after reopen %.3f", r);
    /* Compaction: one segment, a quantizer retrained on the merged rows. */
    ASSERT_OK(vs_coll_flush(c));
    ASSERT_OK(vs_coll_compact(c));
    ASSERT_OK(vs_coll_wait_indexed(c, -1));
    ASSERT_OK(vs_coll_info_get(c, &info));
    ASSERT_EQ(info.segments, 1);
    ASSERT_EQ(info.indexed_segments, 1);
    rf = recall_q(c, qs, 50, ef, VS_QUERY_IGNORE_QUANT, 0);
    r = recall_q(c, qs, 50, ef, 0, 0);
    ASSERT_MSG(r >= rf - max_loss, "recall after compaction %.3f vs float %.3f", r, rf);
    vs_coll_close(c);
    vs_store_close(s);
    ASSERT_OK(vs_store_check(vt_path("db"), NULL, NULL));
    free(v);
    free(qs);
    g_dim = 24;
}

/* The bound is a loss <= 0.01 at the same ef; bench/ann measures it on real
 * data and thousands of queries. 50 queries x 10 = 500 neighbours here, so one miss is
 * 0.002 and the bounds leave room for a few (int8 measured 0-0.012 over seeds). PQ at 2 dimensions per sub-quantizer on this clustered data loses up to 0.03
 * at one graph over all points (after compaction): its codes rank 0.72 of the
 * neighbours right before rescoring, so the walk strays a little. Binary codes run at
 * 256 dimensions (see g_dim). */
TEST(index, quant_int8_recall_l2) { run_quant(VS_METRIC_L2, VS_QUANT_INT8, 0, 24, 0.01); }
TEST(index, quant_int8_recall_cosine) { run_quant(VS_METRIC_COSINE, VS_QUANT_INT8, 0, 24, 0.02); }
TEST(index, quant_int8_recall_dot) { run_quant(VS_METRIC_DOT, VS_QUANT_INT8, 0, 24, 0.02); }
TEST(index, quant_pq_recall_l2) { run_quant(VS_METRIC_L2, VS_QUANT_PQ, 12, 24, 0.04); }
TEST(index, quant_pq_recall_cosine) { run_quant(VS_METRIC_COSINE, VS_QUANT_PQ, 12, 24, 0.04); }
TEST(index, quant_pq_recall_dot) { run_quant(VS_METRIC_DOT, VS_QUANT_PQ, 12, 24, 0.04); }
TEST(index, quant_binary_recall_cosine) { run_quant(VS_METRIC_COSINE, VS_QUANT_BINARY, 0, 256, 0.02); }
TEST(index, quant_binary_recall_dot) { run_quant(VS_METRIC_DOT, VS_QUANT_BINARY, 0, 256, 0.02); }

TEST(index, filtered_queries_stay_correct) {
    vs_store *s = open_db(vt_path("db"));
    vs_coll *c = hnsw_coll(s, VS_METRIC_L2, 0, 0, 100, VS_QUANT_NONE, 0);
    size_t n = 2000;
    float *v = make_data(n, 3);
    vs_id *ids = malloc(n * sizeof *ids);
    char **pl = malloc(n * sizeof *pl);
    for (size_t i = 0; i < n; i++) {
        ids[i] = vs_id_num(i);
        pl[i] = malloc(32);
        snprintf(pl[i], 32, "{\"g\":%zu}", i % 10);
    }
    vs_vectors col = {NULL, v, DIM};
    vs_upsert_batch b = {n, ids, &col, 1, (const char *const *)pl, NULL};
    ASSERT_OK(vs_upsert(c, &b));
    ASSERT_OK(vs_coll_flush(c));
    ASSERT_OK(vs_coll_wait_indexed(c, -1));
    vs_query q;
    vs_query_init(&q);
    q.vectors = v + 7 * DIM;
    q.dim = DIM;
    q.k = 10;
    q.filter = "{\"must\":[{\"key\":\"g\",\"match\":{\"value\":7}}]}";
    vs_result *r;
    ASSERT_OK(vs_query_run(c, &q, &r));
    ASSERT_EQ(vs_result_rows(r, 0), 10);
    ASSERT_EQ(vs_result_id(r, 0, 0).num, 7);
    for (size_t j = 0; j < 10; j++) ASSERT_EQ(vs_result_id(r, 0, j).num % 10, 7);
    vs_result_free(r);
    for (size_t i = 0; i < n; i++) free(pl[i]);
    free(pl);
    free(ids);
    free(v);
    vs_coll_close(c);
    vs_store_close(s);
}

TEST(index, damaged_index_file_is_rebuilt_and_reported) {
    vs_store *s = open_db(vt_path("db"));
    vs_coll *c = hnsw_coll(s, VS_METRIC_L2, 8, 40, 100, VS_QUANT_NONE, 0);
    float *v = make_data(1000, 5);
    load(c, v, 0, 1000);
    ASSERT_OK(vs_coll_flush(c));
    ASSERT_OK(vs_coll_wait_indexed(c, -1));
    vs_coll_close(c);
    vs_store_close(s);
    char p[4096];
    snprintf(p, sizeof p, "%s/collections/c/seg-00000001/hnsw-0", vt_path("db"));
    int fd = open(p, O_RDWR);
    ASSERT_MSG(fd >= 0, "no index file %s", p);
    unsigned char ch;
    off_t at = lseek(fd, 0, SEEK_END) - 10; /* inside the link lists */
    ASSERT(pread(fd, &ch, 1, at) == 1);
    ch ^= 4;
    ASSERT(pwrite(fd, &ch, 1, at) == 1);
    close(fd);
    ASSERT_RC(vs_store_check(vt_path("db"), NULL, NULL), VS_ECORRUPT);
    s = open_db(vt_path("db"));
    ASSERT_OK(vs_coll_open(s, "c", &c));
    vs_coll_info info;
    ASSERT_OK(vs_coll_info_get(c, &info));
    ASSERT_EQ(info.pending_segments, 1);
    ASSERT_OK(vs_coll_wait_indexed(c, -1));
    ASSERT_OK(vs_coll_info_get(c, &info));
    ASSERT_EQ(info.indexed_segments, 1);
    vs_coll_close(c);
    vs_store_close(s);
    ASSERT_OK(vs_store_check(vt_path("db"), NULL, NULL));
    free(v);
}

/* Damage each quantization file in turn (flip a byte, truncate, delete): the check
 * reports it, the next open rebuilds the index and answers as before. */
TEST(index, damaged_quantization_files_are_rebuilt_and_reported) {
    static const char *const files[] = {"quant-0", "qcodes-0"};
    float *v = make_data(1000, 6);
    for (int fi = 0; fi < 2; fi++)
        for (int how = 0; how < 3; how++) {
            char name[32];
            snprintf(name, sizeof name, "db%d%d", fi, how);
            vs_store *s = open_db(vt_path(name));
            vs_coll *c = hnsw_coll(s, VS_METRIC_L2, 8, 40, 100, VS_QUANT_INT8, 0);
            load(c, v, 0, 1000);
            ASSERT_OK(vs_coll_flush(c));
            ASSERT_OK(vs_coll_wait_indexed(c, -1));
            vs_query q;
            vs_query_init(&q);
            q.vectors = v + 5 * DIM;
            q.dim = DIM;
            q.k = 5;
            vs_result *r0;
            ASSERT_OK(vs_query_run(c, &q, &r0));
            vs_coll_close(c);
            vs_store_close(s);
            char p[4096];
            snprintf(p, sizeof p, "%s/collections/c/seg-00000001/%s", vt_path(name), files[fi]);
            if (how == 0) {
                int fd = open(p, O_RDWR);
                ASSERT_MSG(fd >= 0, "no file %s", p);
                unsigned char ch;
                off_t at = lseek(fd, 0, SEEK_END) - 3;
                ASSERT(pread(fd, &ch, 1, at) == 1);
                ch ^= 0x10;
                ASSERT(pwrite(fd, &ch, 1, at) == 1);
                close(fd);
            } else if (how == 1) {
                ASSERT(truncate(p, 100) == 0);
            } else {
                ASSERT(unlink(p) == 0);
            }
            ASSERT_MSG(vs_store_check(vt_path(name), NULL, NULL) == VS_ECORRUPT,
                       "check passed with %s damaged (%d)", files[fi], how);
            s = open_db(vt_path(name));
            ASSERT_OK(vs_coll_open(s, "c", &c));
            vs_coll_info info;
            ASSERT_OK(vs_coll_info_get(c, &info));
            ASSERT_EQ(info.pending_segments, 1);
            ASSERT_OK(vs_coll_wait_indexed(c, -1));
            ASSERT_OK(vs_coll_info_get(c, &info));
            ASSERT_EQ(info.indexed_segments, 1);
            vs_result *r1;
            ASSERT_OK(vs_query_run(c, &q, &r1));
            ASSERT_EQ(vs_result_rows(r1, 0), vs_result_rows(r0, 0));
            for (size_t j = 0; j < vs_result_rows(r0, 0); j++)
                ASSERT_EQ(vs_result_id(r1, 0, j).num, vs_result_id(r0, 0, j).num);
            vs_result_free(r0);
            vs_result_free(r1);
            vs_coll_close(c);
            vs_store_close(s);
            ASSERT_OK(vs_store_check(vt_path(name), NULL, NULL));
        }
    free(v);
}

TEST(index, bad_quantization_settings_are_rejected) {
    vs_store *s = open_db(vt_path("db"));
    vs_schema *sc;
    /* Quantization needs an HNSW index. */
    ASSERT_OK(vs_schema_new(&sc));
    ASSERT_OK(vs_schema_add_vector(sc, "", 16, VS_METRIC_COSINE));
    ASSERT_OK(vs_schema_set_quantization(sc, NULL, VS_QUANT_INT8, 0));
    ASSERT_RC(vs_coll_create(s, "c", sc), VS_EINVAL);
    ASSERT_CONTAINS(vs_store_errmsg(s), "needs an HNSW index");
    ASSERT_OK(vs_schema_set_hnsw(sc, NULL, 0, 0, 0));
    ASSERT_RC(vs_schema_set_quantization(sc, NULL, VS_QUANT_PQ, 0), VS_EINVAL);
    ASSERT_RC(vs_schema_set_quantization(sc, NULL, VS_QUANT_PQ, 32), VS_EINVAL);
    ASSERT_RC(vs_schema_set_quantization(sc, NULL, -1, 0), VS_EINVAL);
    ASSERT_OK(vs_schema_set_quantization(sc, NULL, VS_QUANT_BINARY, 0));
    ASSERT_OK(vs_coll_create(s, "c", sc));
    vs_schema_free(sc);
    vs_coll *c;
    ASSERT_OK(vs_coll_open(s, "c", &c));
    vs_coll_info info;
    ASSERT_OK(vs_coll_info_get(c, &info));
    ASSERT_EQ(info.fields[0].quant, VS_QUANT_BINARY);
    float v[16] = {1};
    vs_query q;
    vs_query_init(&q);
    q.vectors = v;
    q.dim = 16;
    vs_result *r;
    const float bad_os[] = {0.5f, -1.0f, NAN, INFINITY, VS_OVERSAMPLING_MAX * 2};
    for (size_t i = 0; i < sizeof bad_os / sizeof *bad_os; i++) {
        q.oversampling = bad_os[i];
        ASSERT_RC(vs_query_run(c, &q, &r), VS_ERANGE);
        ASSERT_CONTAINS(vs_coll_errmsg(c), "oversampling");
    }
    q.oversampling = 2;
    q.flags = 64;
    ASSERT_RC(vs_query_run(c, &q, &r), VS_EINVAL);
    ASSERT_CONTAINS(vs_coll_errmsg(c), "flags");
    q.flags = VS_QUERY_NO_RESCORE | VS_QUERY_IGNORE_QUANT;
    ASSERT_OK(vs_query_run(c, &q, &r));
    vs_result_free(r);
    vs_coll_close(c);
    vs_store_close(s);
    /* The setting persists. */
    s = open_db(vt_path("db"));
    ASSERT_OK(vs_coll_open(s, "c", &c));
    ASSERT_OK(vs_coll_info_get(c, &info));
    ASSERT_EQ(info.fields[0].quant, VS_QUANT_BINARY);
    vs_coll_close(c);
    vs_store_close(s);
}

TEST(index, bad_index_parameters_are_rejected) {
    vs_schema *sc;
    ASSERT_OK(vs_schema_new(&sc));
    ASSERT_OK(vs_schema_add_vector(sc, "v", 16, VS_METRIC_L2));
    ASSERT_RC(vs_schema_set_hnsw(sc, "v", 1, 100, 0), VS_ERANGE);
    ASSERT_RC(vs_schema_set_hnsw(sc, "v", VS_HNSW_M_MAX + 1, 100, 0), VS_ERANGE);
    ASSERT_RC(vs_schema_set_hnsw(sc, "v", 16, 4, 0), VS_ERANGE);
    ASSERT_RC(vs_schema_set_hnsw(sc, "nope", 16, 100, 0), VS_ENOTFOUND);
    ASSERT_RC(vs_schema_set_quantization(sc, "v", VS_QUANT_PQ, 5), VS_EINVAL);
    ASSERT_RC(vs_schema_set_quantization(sc, "v", VS_QUANT_BINARY, 0), VS_EINVAL); /* l2 */
    ASSERT_RC(vs_schema_set_quantization(sc, "v", 42, 0), VS_EINVAL);
    ASSERT_OK(vs_schema_set_quantization(sc, "v", VS_QUANT_PQ, 4));
    ASSERT_OK(vs_schema_set_quantization(sc, "v", VS_QUANT_NONE, 0));
    ASSERT_OK(vs_schema_set_hnsw(sc, "v", 0, 0, 0));
    vs_schema_free(sc);
    vs_store *s = open_db(vt_path("db"));
    ASSERT_OK(vs_schema_new(&sc));
    ASSERT_OK(vs_schema_add_vector(sc, "", 4, VS_METRIC_L2));
    ASSERT_OK(vs_coll_create(s, "c", sc));
    vs_schema_free(sc);
    vs_coll *c;
    ASSERT_OK(vs_coll_open(s, "c", &c));
    float v[4] = {1, 2, 3, 4};
    vs_query q;
    vs_query_init(&q);
    q.vectors = v;
    q.dim = 4;
    q.ef = VS_HNSW_EF_MAX + 1;
    vs_result *r;
    ASSERT_RC(vs_query_run(c, &q, &r), VS_ERANGE);
    ASSERT_CONTAINS(vs_coll_errmsg(c), "ef");
    vs_coll_close(c);
    vs_store_close(s);
}
