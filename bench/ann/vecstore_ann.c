/*
 * vecstore_ann.c — VecStore's side of the ANN benchmark (scripts/bench-ann.sh), through
 * the public API only (vecstore.h), as an application would use it.
 *
 * BUILD   A fresh store in VS_BENCH_DIR/ann (default ~/.cache/vecstore-bench/ann), removed
 *         at the end: fsync off, flush_bytes at its maximum (so the data is one sealed
 *         segment, one graph, like the peers' one index), the background threads off.
 *         One l2 collection whose default field is HNSW: vs_schema_set_hnsw(--m, --efc,
 *         threshold 1000).
 *           import   the base rows upserted in batches of 10,000 with ids 0..n-1 and no
 *                    payload (import_s; not part of the build: the peers have no WAL);
 *           build    vs_coll_flush (seals the segment) + vs_coll_wait_indexed(-1), which
 *                    with the background threads off builds the graph itself, with all
 *                    cores, as the background indexer would: build_s.
 *         Why off: with them on, the store's inserter grows the mutable segment's graph
 *         while the import runs (indexer.h) and the flush hands the part it built to the
 *         indexer, so some graph work would fall inside import_s and out of build_s,
 *         where the peers' figures have all of theirs.
 *         Build threads: the public API has no knob, the indexer uses the cores it may
 *         run on, so the runner pins the 1-thread build to one CPU (taskset -c 0), as it
 *         does for every system, and leaves the 2-thread build on the machine's 2 cores.
 * INDEX   index_bytes = vs_coll_info.index_bytes (the graph in memory) + n·d·4 (the
 *         float32 vectors it searches, in the segment file): the same things hnswlib's
 *         saveIndex() file holds. The JSON's notes also give disk_bytes and memory_bytes.
 *         Quantized variants (tag vecstore-int8, vecstore-pq[M], vecstore-binary): the
 *         field also gets vs_schema_set_quantization (int8; PQ with M sub-quantizers,
 *         default dim/4; binary); index_bytes is then vs_coll_info.index_bytes alone
 *         (graph + codes + quantizer: what a search walks, in memory), and the float
 *         vectors that rescoring reads (n·d·4, mmap'd from the segment file, touched
 *         only for the ef candidates of each query) are given in the notes.
 * SEARCH  vs_query_run with nq = 1, k, with = 0 and ef set, one query at a time on this
 *         thread (annrun.h's sweep); result ids are the row numbers. Quantized variants
 *         rescore (the default) with oversampling 1: the same ef as the float index.
 *
 * If the library refuses HNSW (VS_EUNSUPPORTED) or builds no graph (indexed_segments is
 * 0 after the wait: HNSW collections then behave like flat ones), the program says so and
 * exits with status 3, writing nothing: the runner marks VecStore as pending rather than
 * report exact-search figures as HNSW ones.
 *
 * usage: vecstore_ann BASE QUERY OUTDIR [annrun.h options]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "annrun.h"
#include "vecstore.h"

#define PROG "vecstore_ann"
#define BATCH 10000
#define EXIT_PENDING 3

static void check(int rc, const char *what, vs_store *s, vs_coll *c) {
    if (rc == VS_OK) return;
    fprintf(stderr, PROG ": %s: %s (%s)\n", what,
            c ? vs_coll_errmsg(c) : s ? vs_store_errmsg(s) : vs_errstr(rc), vs_errname(rc));
    exit(rc == VS_EUNSUPPORTED ? EXIT_PENDING : 1);
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static void rm_rf(const char *path) {
    if (access(path, F_OK) == 0) nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

struct ctx {
    vs_coll *c;
    vs_query q;
};

static int search_one(void *p, const float *qv, unsigned k, unsigned ef, int32_t *ids) {
    struct ctx *x = p;
    vs_result *r = NULL;
    x->q.vectors = qv;
    x->q.k = k;
    x->q.ef = ef;
    int rc = vs_query_run(x->c, &x->q, &r);
    if (rc != VS_OK) {
        fprintf(stderr, PROG ": query: %s\n", vs_coll_errmsg(x->c));
        return -1;
    }
    size_t got = vs_result_rows(r, 0);
    for (size_t i = 0; i < got && i < k; i++) ids[i] = (int32_t)vs_result_id(r, 0, i).num;
    vs_result_free(r);
    return (int)(got < k ? got : k);
}

int main(int argc, char **argv) {
    ann_opts o;
    char err[ANN_ERR_LEN], dir[4096], notes[512];
    size_t n, dim, nq, qdim;
    ann_parse(PROG, argc, argv, &o);
    if (!strcmp(o.tag, PROG)) o.tag = "vecstore";
    int quant = VS_QUANT_NONE;
    uint32_t pq_m = 0;
    if (!strcmp(o.tag, "vecstore-int8")) quant = VS_QUANT_INT8;
    else if (!strcmp(o.tag, "vecstore-binary")) quant = VS_QUANT_BINARY;
    else if (!strncmp(o.tag, "vecstore-pq", 11)) {
        quant = VS_QUANT_PQ;
        pq_m = (uint32_t)atoi(o.tag + 11);
    } else if (strcmp(o.tag, "vecstore")) {
        ann_die(PROG, "tag must be vecstore, vecstore-int8, vecstore-pq[M] or vecstore-binary");
    }
    float *xb = ann_read_f32(o.base, &n, &dim, err);
    if (!xb) ann_die(PROG, err);
    float *xq = ann_read_f32(o.query, &nq, &qdim, err);
    if (!xq) ann_die(PROG, err);
    if (qdim != dim) ann_die(PROG, "base and query dimensions differ");
    if (n > UINT32_MAX || dim > VS_DIM_MAX) ann_die(PROG, "data set too large");

    const char *bd = getenv("VS_BENCH_DIR");
    const char *home = getenv("HOME");
    if (bd && *bd) snprintf(dir, sizeof dir, "%s/ann/store-%s-%d", bd, o.tag, (int)getpid());
    else snprintf(dir, sizeof dir, "%s/.cache/vecstore-bench/ann/store-%s-%d",
                  home ? home : "/tmp", o.tag, (int)getpid());
    rm_rf(dir);

    ann_build b;
    memset(&b, 0, sizeof b);
    b.hwm_reset = ann_reset_hwm();
    b.rss_before = ann_status_bytes("VmRSS");

    vs_store_options so;
    vs_store_options_init(&so);
    so.fsync = VS_FSYNC_OFF;
    so.flush_bytes = VS_FLUSH_BYTES_MAX;
    so.background = 0; /* see BUILD above */
    vs_store *s = NULL;
    if (vs_store_open(dir, &so, &s, err, sizeof err) != VS_OK) ann_die(PROG, err);
    vs_schema *sc = NULL;
    check(vs_schema_new(&sc), "schema", s, NULL);
    check(vs_schema_add_vector(sc, "", (uint32_t)dim, VS_METRIC_L2), "schema", s, NULL);
    check(vs_schema_set_hnsw(sc, "", o.m, o.efc, 1000), "vs_schema_set_hnsw", s, NULL);
    if (quant == VS_QUANT_PQ && pq_m == 0) pq_m = dim % 4 == 0 ? (uint32_t)(dim / 4) : (uint32_t)dim;
    /* Binary codes are for cosine and dot; the data sets here are l2 (see datasets.py). */
    if (quant != VS_QUANT_NONE)
        check(vs_schema_set_quantization(sc, "", quant, pq_m), "vs_schema_set_quantization", s,
              NULL);
    check(vs_coll_create(s, "ann", sc), "create", s, NULL);
    vs_schema_free(sc);
    vs_coll *c = NULL;
    check(vs_coll_open(s, "ann", &c), "open", s, NULL);

    vs_id *ids = malloc(BATCH * sizeof *ids);
    if (!ids) ann_die(PROG, "out of memory");
    double t0 = ann_now();
    for (size_t i = 0; i < n; i += BATCH) {
        size_t m = n - i < BATCH ? n - i : BATCH;
        for (size_t j = 0; j < m; j++) ids[j] = vs_id_num(i + j);
        vs_vectors col = {NULL, xb + i * dim, (uint32_t)dim};
        vs_upsert_batch ub = {m, ids, &col, 1, NULL, NULL};
        check(vs_upsert(c, &ub), "upsert", s, c);
    }
    b.import_s = ann_now() - t0;
    free(ids);
    /* Where the peak comes from: the import (mutable segment) or the flush + graph. */
    uint64_t hwm_import = ann_status_bytes("VmHWM");

    t0 = ann_now();
    check(vs_coll_flush(c), "vs_coll_flush", s, c);
    check(vs_coll_wait_indexed(c, -1), "vs_coll_wait_indexed", s, c);
    b.build_s = ann_now() - t0;
    b.hwm_after = ann_status_bytes("VmHWM");

    vs_coll_info info;
    check(vs_coll_info_get(c, &info), "info", s, c);
    if (info.indexed_segments == 0 || info.pending_segments != 0 || info.index_bytes == 0) {
        fprintf(stderr,
                PROG ": no HNSW graph after vs_coll_wait_indexed (segments %u, indexed %u, "
                "pending %u, index_bytes %llu): HNSW is not available in this build yet\n",
                info.segments, info.indexed_segments, info.pending_segments,
                (unsigned long long)info.index_bytes);
        vs_coll_close(c);
        vs_store_close(s);
        rm_rf(dir);
        return EXIT_PENDING;
    }
    fprintf(stderr, PROG ": imported %zu x %zu in %.2f s, built (flush + index) in %.2f s; "
            "%u segment(s), %u indexed, graph %.1f MB\n", n, dim, b.import_s, b.build_s,
            info.segments, info.indexed_segments, (double)info.index_bytes / 1e6);
    if (quant == VS_QUANT_NONE) {
        b.index_bytes = info.index_bytes + (uint64_t)n * dim * 4;
        b.index_how = "vs_coll_info.index_bytes (graph) + n*d*4 (vectors)";
    } else {
        b.index_bytes = info.index_bytes;
        b.index_how = "vs_coll_info.index_bytes (graph + codes + quantizer; the float vectors "
                      "for rescoring stay in the mmap'd segment file)";
    }
    b.version = vs_version();
    snprintf(notes, sizeof notes,
             "simd %s; quantization %s (pq_m %u); rescore vectors on disk %llu bytes; "
             "segments %u, indexed %u; index_bytes %llu; disk_bytes %llu; "
             "memory_bytes %llu; import_mem_bytes %lld (VmHWM after the import - baseline)",
             vs_simd_name(), quant == VS_QUANT_INT8 ? "int8" : quant == VS_QUANT_PQ ? "pq"
                             : quant == VS_QUANT_BINARY ? "binary" : "none", pq_m,
             (unsigned long long)((uint64_t)n * dim * 4), info.segments, info.indexed_segments,
             (unsigned long long)info.index_bytes, (unsigned long long)info.disk_bytes,
             (unsigned long long)info.memory_bytes,
             (long long)hwm_import - (long long)b.rss_before);
    b.notes = notes;

    FILE *f = ann_json_open(PROG, &o, "vecstore", n, dim, nq, &b);
    struct ctx x;
    x.c = c;
    vs_query_init(&x.q);
    x.q.nq = 1;
    x.q.dim = (uint32_t)dim;
    x.q.with = 0;
    ann_sweep(PROG, &o, f, xq, nq, dim, &x, search_one);

    vs_coll_close(c);
    vs_store_close(s);
    rm_rf(dir);
    ann_free(xb);
    ann_free(xq);
    return 0;
}
