/*
 * bench_hnsw.c — the HNSW graph module (index/hnsw.h) on its own: build time with 1 and
 * 2 threads, memory per vector, and recall@10 against QPS for a sweep of ef, one search
 * thread.
 *
 * DATA
 *   With two arguments, BASE.fvecs and QUERY.fvecs (bench/gen_data.py writes them: the
 *   shared benchmark set, 1000 Gaussian clusters in 128-d, sigma 0.5), the first
 *   VS_BENCH_N rows of the base and the first VS_BENCH_NQ queries. Without, the same
 *   mixture is generated here (own RNG, so not the same vectors): centres ~ N(0,1)^d,
 *   points = centre + 0.5 N(0,1)^d, VS_BENCH_N rows (default 1000000), VS_BENCH_DIM
 *   (128), VS_BENCH_NQ queries (1000) drawn from the same mixture.
 *   VS_BENCH_METRIC=cosine normalises everything and uses dot scores; default l2.
 *   The vectors live in one 64-byte-aligned heap array (4 KB pages: THP is "madvise" on
 *   the dev box and nothing here asks for huge pages), as hnswlib's do.
 *
 * GROUND TRUTH
 *   Exact top-10 per query: sgemm blocks (vs__dist_gemm) pick the best 32 per query,
 *   which are re-scored with the scalar kernel and the best 10 kept, so rounding in the
 *   gemm form of l2 cannot change the answer. VS_BENCH_GT_OUT=path writes it (int32,
 *   10 per query) for an outside comparison (the hnswlib driver).
 *
 * BUILD
 *   VS_BENCH_M (16), VS_BENCH_EFC (200), VS_BENCH_THREADS (list, default "1,2"): one
 *   build per entry, timed (wall clock), validated; the graph of the last is searched.
 *   Memory: vs__hnsw_memory (links and levels) per vector, and with the vector itself
 *   (dim*4), the figure comparable to hnswlib's per-element size; also how much the
 *   resident set grew over the build. The process CPU time of each build is printed
 *   next to the wall time: on this shared 2-core box a neighbour's job can take a
 *   core, and "cores busy" < 2 then says the 2-thread figure was starved, not slow.
 *
 * SEARCH
 *   For ef in {10,16,24,32,48,64,96,128,192,256} (VS_BENCH_EFS overrides): all queries
 *   one after the other on this thread, VS_BENCH_REPS (5) passes per ef, interleaved
 *   across the ef values, the fastest kept (interference on a shared box only slows a
 *   pass down); QPS = queries / that time;
 *   recall@10, mean distance computations and hops (lists read) per query; QPS(cpu)
 *   is the same from the thread's CPU time (not counting time descheduled by a
 *   neighbour's job; memory contention still counts). VS_BENCH_LOADED=1 also saves
 *   the graph, loads it (mmap) and repeats the sweep on the loaded graph, which is
 *   what the engine searches after a restart.
 *   VS_BENCH_GRAPH=path: if the file exists, the graph is loaded from it and nothing is
 *   built (for tuning the search without rebuilding); else the last build is saved
 *   there.
 *
 * usage: bench_hnsw [BASE.fvecs QUERY.fvecs]
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "index/hnsw.h"
#include "index/hnsw_int.h" /* build diagnostics (repaired) */
#include "simd/distance.h"
#include "util/alloc.h"

#define K 10
#define GT_POOL 32

static double thread_cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, const char *msg) {
    fprintf(stderr, "bench_hnsw: %s: %s\n", what, msg);
    exit(1);
}

/* Resident set size in bytes (Linux), for the memory a build keeps. */
static size_t rss_bytes(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t kb = 0;
    if (!f) return 0;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6)) kb = (size_t)strtoull(line + 6, NULL, 10);
    fclose(f);
    return kb * 1024;
}

static size_t env_size(const char *name, size_t def) {
    const char *s = getenv(name);
    return s && *s ? (size_t)strtoull(s, NULL, 10) : def;
}

/* ------------------------------------------------------------------ data -- */

static uint64_t rng_next(uint64_t *s) {
    uint64_t x = (*s += 0x9E3779B97F4A7C15ull);
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}
static double rng_unif(uint64_t *s) { return ((double)(rng_next(s) >> 11) + 0.5) / 9007199254740992.0; }
static float rng_gauss(uint64_t *s) {
    double u = rng_unif(s), v = rng_unif(s);
    return (float)(sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v));
}

static float *alloc_rows(size_t n, size_t d) {
    float *x = vs__aligned_alloc(64, n * d * sizeof(float) + 64);
    if (!x) die("data", "out of memory");
    return x;
}

static void generate(float *x, size_t n, size_t d, const float *centres, size_t nc, uint64_t seed) {
    for (size_t i = 0; i < n; i++) {
        size_t c = rng_next(&seed) % nc;
        for (size_t j = 0; j < d; j++) x[i * d + j] = centres[c * d + j] + 0.5f * rng_gauss(&seed);
    }
}

static float *read_fvecs(const char *path, size_t max, size_t *n_out, size_t *d_out) {
    FILE *f = fopen(path, "rb");
    if (!f) die(path, "cannot open");
    int32_t d32;
    if (fread(&d32, 4, 1, f) != 1 || d32 <= 0) die(path, "bad header");
    struct stat st;
    if (fstat(fileno(f), &st) != 0) die(path, "cannot stat");
    size_t d = (size_t)d32, row = (d + 1) * 4;
    if ((size_t)st.st_size % row) die(path, "size is not a multiple of a row");
    size_t n = (size_t)st.st_size / row;
    if (max && n > max) n = max;
    rewind(f);
    float *x = alloc_rows(n, d);
    float *buf = malloc(row);
    for (size_t i = 0; i < n; i++) {
        if (fread(buf, row, 1, f) != 1) die(path, "short read");
        memcpy(x + i * d, buf + 1, d * 4);
    }
    free(buf);
    fclose(f);
    *n_out = n;
    *d_out = d;
    return x;
}

static void normalise(float *x, size_t n, size_t d) {
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (size_t j = 0; j < d; j++) s += (double)x[i * d + j] * x[i * d + j];
        float r = s > 0 ? (float)(1.0 / sqrt(s)) : 0.0f;
        for (size_t j = 0; j < d; j++) x[i * d + j] *= r;
    }
}

/* ---------------------------------------------------------- ground truth -- */

static float score(int kind, const float *q, const float *x, size_t d) {
    return kind == VS__SCORE_NEGL2 ? -vs__dist_scalar.l2sq(q, x, d) : vs__dist_scalar.dot(q, x, d);
}

static int is_del(const uint64_t *del, size_t i) { return del && ((del[i >> 6] >> (i & 63)) & 1); }

static uint32_t *ground_truth(const float *base, size_t n, size_t d, const float *qs, size_t nq,
                              int kind, const uint64_t *del) {
    const size_t QB = 64, NB = 16384;
    uint32_t *gt = malloc(nq * K * sizeof *gt);
    float *out = malloc(QB * NB * sizeof *out);
    float *norms = NULL;
    vs__hit *pool = malloc(QB * GT_POOL * sizeof *pool);
    vs__topk *tops = malloc(QB * sizeof *tops);
    if (kind == VS__SCORE_NEGL2) {
        norms = malloc(n * sizeof *norms);
        for (size_t i = 0; i < n; i++) norms[i] = vs__dist()->norm_sq(base + i * d, NULL, d);
    }
    for (size_t q0 = 0; q0 < nq; q0 += QB) {
        size_t qn = nq - q0 < QB ? nq - q0 : QB;
        for (size_t i = 0; i < qn; i++) tops[i] = (vs__topk){pool + i * GT_POOL, 0, GT_POOL, -INFINITY};
        for (size_t r0 = 0; r0 < n; r0 += NB) {
            size_t rn = n - r0 < NB ? n - r0 : NB;
            if (vs__dist_gemm(kind, qs + q0 * d, qn, base + r0 * d, rn, d, norms ? norms + r0 : NULL,
                              out, NB))
                die("ground truth", "out of memory");
            for (size_t i = 0; i < qn; i++)
                for (size_t j = 0; j < rn; j++)
                    if ((out[i * NB + j] > tops[i].floor || tops[i].n < GT_POOL) && !is_del(del, r0 + j))
                        vs__topk_push(&tops[i], out[i * NB + j], 0, (uint32_t)(r0 + j));
        }
        for (size_t i = 0; i < qn; i++) {
            vs__hit h[K];
            vs__topk t = {h, 0, K, -INFINITY};
            const float *q = qs + (q0 + i) * d;
            for (size_t j = 0; j < tops[i].n; j++) {
                uint32_t r = tops[i].h[j].row;
                vs__topk_push(&t, score(kind, q, base + (size_t)r * d, d), 0, r);
            }
            vs__topk_sort(&t);
            for (size_t j = 0; j < K; j++) gt[(q0 + i) * K + j] = j < t.n ? t.h[j].row : UINT32_MAX;
        }
    }
    free(out);
    free(norms);
    free(pool);
    free(tops);
    return gt;
}

/* ----------------------------------------------------------------- sweep -- */

static void sweep(const char *label, const vs__hnsw *h, const float *base, size_t d, int kind,
                  const float *qs, size_t nq, const uint32_t *gt, const size_t *efs, size_t nef,
                  size_t reps, const uint64_t *del) {
    vs__hnsw_scratch *s = vs__hnsw_scratch_new();
    vs__hit *hits = malloc(nq * K * sizeof *hits);
    vs__topk *tops = malloc(nq * sizeof *tops);
    double *best = malloc(nef * sizeof *best), *rec = malloc(nef * sizeof *rec);
    double *dq = malloc(nef * sizeof *dq), *xq = malloc(nef * sizeof *xq);
    double *bcpu = malloc(nef * sizeof *bcpu);
    if (!s || !hits || !tops || !best || !rec || !dq || !xq || !bcpu) die("sweep", "out of memory");
    for (size_t e = 0; e < nef; e++) best[e] = bcpu[e] = 1e30;
    /* Passes interleave the ef values, so a disturbance on this shared machine hits
     * them alike; the fastest pass of each is kept. */
    for (size_t r = 0; r < reps; r++)
        for (size_t e = 0; e < nef; e++) {
            for (size_t i = 0; i < nq; i++) tops[i] = (vs__topk){hits + i * K, 0, K, -INFINITY};
            vs__search_stats st = {0};
            double c0 = thread_cpu_s();
            double t0 = now_s();
            for (size_t i = 0; i < nq; i++)
                if (vs__hnsw_search(h, base, d, kind, qs + i * d, efs[e], NULL, del, 0, &tops[i], s,
                                    &st, NULL))
                    die("search", "out of memory");
            double t = now_s() - t0, c = thread_cpu_s() - c0;
            if (t < best[e]) best[e] = t;
            if (c < bcpu[e]) bcpu[e] = c;
            size_t hit = 0;
            for (size_t i = 0; i < nq; i++)
                for (size_t j = 0; j < tops[i].n; j++) {
                    if (is_del(del, tops[i].h[j].row)) die("search", "returned a deleted row");
                    for (size_t k = 0; k < K; k++) hit += tops[i].h[j].row == gt[i * K + k];
                }
            rec[e] = (double)hit / (double)(nq * K);
            dq[e] = (double)st.distances / (double)nq;
            xq[e] = (double)st.visited / (double)nq;
        }
    printf("\n%s: recall@10 / QPS, 1 search thread, %zu queries, best of %zu passes\n", label, nq,
           reps);
    printf("  %5s  %9s  %10s  %9s  %11s  %10s  %9s\n", "ef", "recall@10", "QPS", "us/query",
           "dist/query", "hops/query", "QPS(cpu)");
    for (size_t e = 0; e < nef; e++)
        printf("  %5zu  %9.4f  %10.0f  %9.1f  %11.0f  %10.0f  %9.0f\n", efs[e], rec[e],
               (double)nq / best[e], best[e] / (double)nq * 1e6, dq[e], xq[e], (double)nq / bcpu[e]);
    fflush(stdout);
    vs__hnsw_scratch_free(s);
    free(hits);
    free(tops);
    free(best);
    free(rec);
    free(dq);
    free(xq);
    free(bcpu);
}

int main(int argc, char **argv) {
    vs__dist_init();
    size_t n = env_size("VS_BENCH_N", 1000000), d = env_size("VS_BENCH_DIM", 128);
    size_t nq = env_size("VS_BENCH_NQ", 1000), reps = env_size("VS_BENCH_REPS", 5);
    uint32_t m = (uint32_t)env_size("VS_BENCH_M", 16), efc = (uint32_t)env_size("VS_BENCH_EFC", 200);
    const char *metric = getenv("VS_BENCH_METRIC");
    int kind = metric && !strcmp(metric, "cosine") ? VS__SCORE_DOT : VS__SCORE_NEGL2;
    float *base, *qs;
    if (argc == 3) {
        size_t dq, nq2;
        base = read_fvecs(argv[1], n, &n, &d);
        qs = read_fvecs(argv[2], nq, &nq2, &dq);
        if (dq != d) die(argv[2], "dimension differs from the base");
        nq = nq2;
    } else if (argc == 1) {
        const size_t nc = 1000;
        uint64_t seed = 20261123;
        float *c = malloc(nc * d * sizeof *c);
        for (size_t i = 0; i < nc * d; i++) c[i] = rng_gauss(&seed);
        base = alloc_rows(n, d);
        qs = alloc_rows(nq, d);
        generate(base, n, d, c, nc, 1);
        generate(qs, nq, d, c, nc, 2);
        free(c);
    } else {
        fprintf(stderr, "usage: %s [BASE.fvecs QUERY.fvecs]\n", argv[0]);
        return 2;
    }
    if (kind == VS__SCORE_DOT) {
        normalise(base, n, d);
        normalise(qs, nq, d);
    }
    printf("bench_hnsw: n=%zu dim=%zu queries=%zu metric=%s m=%u ef_construction=%u simd=%s\n", n, d,
           nq, kind == VS__SCORE_DOT ? "cosine" : "l2", m, efc, vs__dist()->name);
    /* VS_BENCH_DEL_PCT: search with a tombstone bitmap (that % of rows, at random,
     * deleted after the build); 0 measures the cost of the filtered walk alone. */
    uint64_t *del = NULL;
    const char *dp = getenv("VS_BENCH_DEL_PCT");
    if (dp && *dp) {
        size_t pct = (size_t)atoi(dp), nd = 0;
        uint64_t seed = 77;
        del = calloc((n + 63) / 64, 8);
        for (size_t i = 0; i < n; i++)
            if (rng_next(&seed) % 100 < pct) {
                del[i >> 6] |= 1ull << (i & 63);
                nd++;
            }
        printf("deleted: %zu rows (%zu %%), searched with the tombstone bitmap\n", nd, pct);
    }
    double t0 = now_s();
    uint32_t *gt = ground_truth(base, n, d, qs, nq, kind, del);
    printf("ground truth: %.1f s\n", now_s() - t0);
    const char *gt_out = getenv("VS_BENCH_GT_OUT");
    if (gt_out) {
        FILE *f = fopen(gt_out, "wb");
        if (!f || fwrite(gt, sizeof *gt, nq * K, f) != nq * K) die(gt_out, "cannot write");
        fclose(f);
    }

    const char *tl = getenv("VS_BENCH_THREADS");
    char tbuf[256];
    snprintf(tbuf, sizeof tbuf, "%s", tl && *tl ? tl : "1,2");
    vs__hnsw *h = NULL;
    double t1 = 0;
    const char *gpath = getenv("VS_BENCH_GRAPH");
    if (gpath && access(gpath, F_OK) == 0) {
        vs__err e;
        if (vs__hnsw_load(gpath, n, &h, &e)) die("load", e.msg);
        printf("graph: loaded from %s (no build)\n", gpath);
        tbuf[0] = 0;
    }
    for (char *tok = strtok(tbuf, ","); tok; tok = strtok(NULL, ",")) {
        uint32_t th = (uint32_t)atoi(tok);
        vs__hnsw_params p = {m, efc, 0x9E3779B9ull, th};
        vs__err e;
        vs__hnsw_free(h);
        h = NULL;
        size_t rss0 = rss_bytes();
        double c0 = cpu_s();
        t0 = now_s();
        if (vs__hnsw_build(base, n, d, kind, &p, NULL, &h, &e)) die("build", e.msg);
        double t = now_s() - t0, c = cpu_s() - c0;
        size_t rss1 = rss_bytes();
        if (th == 1) t1 = t;
        printf("build: %u thread%s %.1f s (%.0f rows/s; cpu %.1f s = %.2f cores busy)", th,
               th == 1 ? "" : "s", t, (double)n / t, c, c / t);
        if (th > 1 && t1 > 0) printf(", scaling %.2fx", t1 / t);
        printf("; RSS grew %.1f B/vector; %zu nodes relinked by the repair\n",
               rss1 > rss0 ? (double)(rss1 - rss0) / (double)n : 0.0, h->repaired);
        fflush(stdout);
        t0 = now_s();
        if (vs__hnsw_validate(h, &e)) die("validate", e.msg);
        printf("  validate: ok (%.2f s)\n", now_s() - t0);
    }
    if (gpath && access(gpath, F_OK) != 0) {
        vs__err e;
        if (vs__hnsw_save(h, gpath, &e)) die("save", e.msg);
    }
    size_t mem = vs__hnsw_memory(h);
    printf("memory: graph %.1f B/vector, with the vector %.1f B/vector (%zu nodes)\n",
           (double)mem / (double)n, (double)mem / (double)n + (double)d * 4, vs__hnsw_nodes(h));

    size_t efs[32] = {10, 16, 24, 32, 48, 64, 96, 128, 192, 256}, nef = 10;
    const char *el = getenv("VS_BENCH_EFS");
    if (el && *el) {
        char ebuf[256];
        snprintf(ebuf, sizeof ebuf, "%s", el);
        nef = 0;
        for (char *tok = strtok(ebuf, ","); tok && nef < 32; tok = strtok(NULL, ","))
            efs[nef++] = (size_t)atoi(tok);
    }
    sweep("built graph", h, base, d, kind, qs, nq, gt, efs, nef, reps, del);

    if (env_size("VS_BENCH_LOADED", 0)) {
        char path[256];
        snprintf(path, sizeof path, "/tmp/bench_hnsw.%d.graph", (int)getpid());
        vs__err e;
        vs__hnsw *g;
        if (vs__hnsw_save(h, path, &e)) die("save", e.msg);
        if (vs__hnsw_load(path, n, &g, &e)) die("load", e.msg);
        sweep("loaded graph (mmap)", g, base, d, kind, qs, nq, gt, efs, nef, reps, del);
        vs__hnsw_free(g);
        unlink(path);
    }
    vs__hnsw_free(h);
    vs__aligned_free(base);
    vs__aligned_free(qs);
    free(gt);
    free(del);
    return 0;
}
