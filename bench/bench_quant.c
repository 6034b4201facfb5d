/*
 * bench_quant.c — what the quantizers of src/index/quant.h cost and what they keep.
 *
 * Data: n x dim float32 rows (default 200k x 128) in Gaussian clusters (nc centres
 * uniform in [-1,1]^dim, noise sigma 0.3), generated in-process from a fixed seed, and
 * nq queries drawn the same way. Two copies: raw (l2) and normalised (cosine). Ground
 * truth: exact top-10 from vs__dist_gemm.
 *
 * For each quantizer (int8 per-dimension; PQ with m = 16, 32, 64; binary with 1- and
 * 4-bit queries, cosine only):
 *   train     seconds to train (sample of 65536 rows)
 *   encode    rows per second encoding all n rows
 *   bytes     bytes per vector and the ratio to float32 (dim * 4), including the
 *             per-vector ||x||^2 of int8 l2 codes
 *   scan      one query against all n codes with vs__quant_score_rows, ns per row and
 *             GB/s of code bytes, for every kernel table this CPU runs; the float scan
 *             of the same rows (vs__dist_ops.negl2_rows / dot_rows) on each ISA for
 *             comparison. Best of `rounds` passes over `scanq` queries, interleaved.
 *   recall    recall@10 of the quantized ranking alone ("raw") and after rescoring
 *             the best R = 10, 40, 100 candidates with the float vectors.
 *
 * usage: bench_quant [--n N] [--dim D] [--nq Q] [--clusters C] [--no-pq] [--quick]
 * --quick: n = 20000, nq = 50 (a smoke run, not a measurement). --no-pq skips PQ,
 * whose training dominates the run time at high dimensions (PQ needs dim % 8 == 0).
 * Exit status 0, or 1 with a message.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "index/quant.h"
#include "simd/distance.h"
#include "util/alloc.h"
#include "vecstore.h"

static const char *const g_isas[] = {"scalar", "avx2", "avx512", "avx512icl"};
#define N_ISAS 4
#define K 10

static volatile float g_sink;

static float gauss(void) {
    double u = ((double)(rnd() >> 11) + 0.5) / 9007199254740992.0;
    double v = (double)(rnd() >> 11) / 9007199254740992.0;
    return (float)(sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v));
}

static void *xmalloc(size_t n) {
    void *p = vs__aligned_alloc(64, n ? n : 1);
    if (!p) {
        fprintf(stderr, "out of memory (%zu bytes)\n", n);
        exit(1);
    }
    return p;
}

static void normalise(float *x, size_t dim) {
    double s = 0.0;
    for (size_t j = 0; j < dim; j++) s += (double)x[j] * x[j];
    float inv = s > 0 ? (float)(1.0 / sqrt(s)) : 0.0f;
    for (size_t j = 0; j < dim; j++) x[j] *= inv;
}

/* Indices of the k best scores, descending. */
static void top_k(const float *s, size_t n, size_t k, uint32_t *out) {
    size_t have = 0;
    for (size_t i = 0; i < n; i++) {
        if (have == k && !(s[i] > s[out[k - 1]])) continue;
        size_t p = have < k ? have++ : k - 1;
        while (p > 0 && s[i] > s[out[p - 1]]) {
            out[p] = out[p - 1];
            p--;
        }
        out[p] = (uint32_t)i;
    }
}

typedef struct dataset {
    const char *name;
    int kind;
    size_t n, dim, nq;
    float *x, *q, *norms;
    uint32_t *truth; /* nq x K */
} dataset;

static void ground_truth(dataset *d) {
    const size_t blk = 16;
    float *out = xmalloc(blk * d->n * sizeof(float));
    d->norms = xmalloc(d->n * sizeof(float));
    for (size_t i = 0; i < d->n; i++)
        d->norms[i] = vs__dist()->norm_sq(d->x + i * d->dim, NULL, d->dim);
    d->truth = xmalloc(d->nq * K * sizeof(uint32_t));
    for (size_t q0 = 0; q0 < d->nq; q0 += blk) {
        size_t nb = d->nq - q0 < blk ? d->nq - q0 : blk;
        if (vs__dist_gemm(d->kind, d->q + q0 * d->dim, nb, d->x, d->n, d->dim, d->norms, out,
                          d->n)) {
            fprintf(stderr, "gemm: out of memory\n");
            exit(1);
        }
        for (size_t i = 0; i < nb; i++) top_k(out + i * d->n, d->n, K, d->truth + (q0 + i) * K);
    }
    vs__aligned_free(out);
}

typedef struct config {
    const char *name;
    int type;
    uint32_t m, qbits;
} config;

/* recall@K for candidates R (0 = the quantized ranking alone). */
static void recall(const dataset *d, const vs__quant *qz, const uint8_t *codes, double out[4]) {
    static const size_t rs[] = {0, 10, 40, 100};
    vs__quant_query *qq;
    vs__err e = {0};
    if (vs__quant_query_new(qz, &qq, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        exit(1);
    }
    float *sc = xmalloc(d->n * sizeof(float));
    uint32_t cand[100], best[K];
    float rsc[100];
    size_t hits[4] = {0};
    const vs__dist_ops *dops = vs__dist();
    for (size_t t = 0; t < d->nq; t++) {
        const float *q = d->q + t * d->dim;
        const uint32_t *tr = d->truth + t * K;
        vs__quant_query_prepare(qq, q);
        vs__quant_score_rows(qq, codes, d->n, sc);
        top_k(sc, d->n, 100, cand);
        for (size_t r = 0; r < 4; r++) {
            size_t R = rs[r] ? rs[r] : K;
            const uint32_t *got = cand;
            if (rs[r]) {
                for (size_t i = 0; i < R; i++) {
                    const float *x = d->x + (size_t)cand[i] * d->dim;
                    rsc[i] = d->kind == VS__SCORE_NEGL2 ? -dops->l2sq(q, x, d->dim)
                                                        : dops->dot(q, x, d->dim);
                }
                top_k(rsc, R, K, best);
                for (size_t i = 0; i < K; i++) best[i] = cand[best[i]];
                got = best;
            }
            for (size_t a = 0; a < K; a++)
                for (size_t b = 0; b < K; b++) hits[r] += got[b] == tr[a];
        }
    }
    for (size_t r = 0; r < 4; r++) out[r] = (double)hits[r] / (double)(d->nq * K);
    vs__aligned_free(sc);
    vs__quant_query_free(qq);
}

/* ns per row: best over rounds of (scanq queries through all n rows). */
static double time_quant_scan(const dataset *d, vs__quant_query *qq, const uint8_t *codes,
                              float *out, size_t scanq) {
    double t0 = now_s();
    for (size_t t = 0; t < scanq; t++) {
        vs__quant_query_prepare(qq, d->q + (t % d->nq) * d->dim);
        vs__quant_score_rows(qq, codes, d->n, out);
        g_sink += out[t % d->n];
    }
    return (now_s() - t0) * 1e9 / (double)(scanq * d->n);
}

static double time_float_scan(const dataset *d, const vs__dist_ops *o, float *out,
                              size_t scanq) {
    double t0 = now_s();
    for (size_t t = 0; t < scanq; t++) {
        const float *q = d->q + (t % d->nq) * d->dim;
        (d->kind == VS__SCORE_NEGL2 ? o->negl2_rows : o->dot_rows)(q, d->x, d->n, d->dim, out);
        g_sink += out[t % d->n];
    }
    return (now_s() - t0) * 1e9 / (double)(scanq * d->n);
}

static void run_dataset(dataset *d, const config *cfgs, size_t ncfg, size_t scanq,
                        int rounds) {
    printf("\n== %s: %zu x %zu, %zu queries ==\n", d->name, d->n, d->dim, d->nq);
    float *out = xmalloc(d->n * sizeof(float));
    const double fbytes = (double)d->dim * sizeof(float);

    /* float scan per ISA, best of rounds */
    printf("float32 scan (%zu B/vector):", (size_t)fbytes);
    for (size_t k = 0; k < 3; k++) {
        const vs__dist_ops *o = vs__dist_get(g_isas[k]);
        if (!o) continue;
        double best = 1e30;
        for (int r = 0; r < rounds; r++) {
            double ns = time_float_scan(d, o, out, k == 0 ? 1 : scanq);
            if (ns < best) best = ns;
        }
        printf("  %s %.2f ns/row (%.1f GB/s)", o->name, best, fbytes / best);
    }
    printf("\n\n");
    printf("%-14s %7s %9s %6s %6s | %-43s | %s\n", "quantizer", "train s", "encode/s",
           "B/vec", "ratio", "scan ns/row (GB/s of codes) per table",
           "recall@10 raw / R=10 / R=40 / R=100");

    for (size_t c = 0; c < ncfg; c++) {
        const config *cf = &cfgs[c];
        if (cf->type == VS_QUANT_BINARY && d->kind != VS__SCORE_DOT) continue;
        vs__quant_params p;
        vs__quant_params_init(&p, cf->type, d->kind);
        p.pq_m = cf->m;
        if (cf->qbits) p.bin_query_bits = cf->qbits;
        vs__quant *qz = NULL;
        vs__err e = {0};
        double t0 = now_s();
        if (vs__quant_train(&p, d->x, d->n, d->dim, &qz, &e)) {
            fprintf(stderr, "%s: %s\n", cf->name, e.msg);
            exit(1);
        }
        double train_s = now_s() - t0;
        size_t cs = vs__quant_code_size(qz);
        uint8_t *codes = xmalloc(d->n * cs);
        t0 = now_s();
        vs__quant_encode(qz, d->x, d->n, codes);
        double enc = (double)d->n / (now_s() - t0);

        char scan[256];
        size_t sl = 0;
        scan[0] = 0;
        vs__quant_query *qq;
        if (vs__quant_query_new(qz, &qq, &e)) {
            fprintf(stderr, "%s\n", e.msg);
            exit(1);
        }
        double best[N_ISAS];
        for (size_t k = 0; k < N_ISAS; k++) best[k] = 1e30;
        for (int r = 0; r < rounds; r++)
            for (size_t k = 0; k < N_ISAS; k++) {
                const vs__quant_ops *o = vs__quant_kernels_get(g_isas[k]);
                if (!o) continue;
                vs__quant_query_use(qq, o);
                double ns = time_quant_scan(d, qq, codes, out, k == 0 ? 2 : scanq);
                if (ns < best[k]) best[k] = ns;
            }
        for (size_t k = 0; k < N_ISAS; k++) {
            if (best[k] >= 1e30) continue;
            sl += (size_t)snprintf(scan + sl, sizeof scan - sl, "%s%s %.2f (%.1f)", sl ? ", " : "",
                                   k == 3 ? "icl" : g_isas[k], best[k], (double)cs / best[k]);
        }
        vs__quant_query_free(qq);

        double rec[4];
        recall(d, qz, codes, rec);
        printf("%-14s %7.2f %9.3g %6zu %6.3f | %-43s | %.3f / %.3f / %.3f / %.3f\n", cf->name,
               train_s, enc, cs, cs / fbytes, scan, rec[0], rec[1], rec[2], rec[3]);
        fflush(stdout);
        vs__aligned_free(codes);
        vs__quant_free(qz);
    }
    vs__aligned_free(out);
}

int main(int argc, char **argv) {
    size_t n = 200000, dim = 128, nq = 200, nc = 200;
    int quick = 0, no_pq = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick"))
            quick = 1;
        else if (!strcmp(argv[i], "--no-pq"))
            no_pq = 1;
        else if (!strcmp(argv[i], "--n") && i + 1 < argc)
            n = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--dim") && i + 1 < argc)
            dim = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--nq") && i + 1 < argc)
            nq = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--clusters") && i + 1 < argc)
            nc = strtoull(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: bench_quant [--n N] [--dim D] [--nq Q] [--clusters C] "
                            "[--no-pq] [--quick]\n");
            return 1;
        }
    }
    if (quick) {
        n = 20000;
        nq = 50;
    }
    if (n < K || dim == 0 || nq == 0 || nc == 0) {
        fprintf(stderr, "bad sizes\n");
        return 1;
    }
    printf("bench_quant: kernels %s, distance %s, %zu clusters, sigma 0.3\n",
           vs__quant_kernels()->name, vs__dist()->name, nc);

    float *cent = xmalloc(nc * dim * sizeof(float));
    for (size_t i = 0; i < nc * dim; i++) cent[i] = frand();
    dataset l2 = {"l2", VS__SCORE_NEGL2, n, dim, nq, NULL, NULL, NULL, NULL};
    dataset cs = {"cosine", VS__SCORE_DOT, n, dim, nq, NULL, NULL, NULL, NULL};
    l2.x = xmalloc(n * dim * sizeof(float));
    l2.q = xmalloc(nq * dim * sizeof(float));
    for (size_t i = 0; i < n + nq; i++) {
        float *r = i < n ? l2.x + i * dim : l2.q + (i - n) * dim;
        const float *c = cent + (rnd() % nc) * dim;
        for (size_t j = 0; j < dim; j++) r[j] = c[j] + 0.3f * gauss();
    }
    cs.x = xmalloc(n * dim * sizeof(float));
    cs.q = xmalloc(nq * dim * sizeof(float));
    memcpy(cs.x, l2.x, n * dim * sizeof(float));
    memcpy(cs.q, l2.q, nq * dim * sizeof(float));
    for (size_t i = 0; i < n; i++) normalise(cs.x + i * dim, dim);
    for (size_t i = 0; i < nq; i++) normalise(cs.q + i * dim, dim);
    double t0 = now_s();
    ground_truth(&l2);
    ground_truth(&cs);
    printf("ground truth (sgemm): %.2f s\n", now_s() - t0);

    char pq16[32], pq32[32], pq64[32];
    snprintf(pq16, sizeof pq16, "pq m=%zu", dim / 8);
    snprintf(pq32, sizeof pq32, "pq m=%zu", dim / 4);
    snprintf(pq64, sizeof pq64, "pq m=%zu", dim / 2);
    const config cfgs[] = {
        {"int8", VS_QUANT_INT8, 0, 0},
        {pq16, VS_QUANT_PQ, (uint32_t)(dim / 8), 0},
        {pq32, VS_QUANT_PQ, (uint32_t)(dim / 4), 0},
        {pq64, VS_QUANT_PQ, (uint32_t)(dim / 2), 0},
        {"binary 1-bit", VS_QUANT_BINARY, 0, 1},
        {"binary 4-bit", VS_QUANT_BINARY, 0, 4},
    };
    config run[sizeof cfgs / sizeof cfgs[0]];
    size_t ncfg = 0;
    for (size_t i = 0; i < sizeof cfgs / sizeof cfgs[0]; i++)
        if (cfgs[i].type != VS_QUANT_PQ || (!no_pq && dim % 8 == 0)) run[ncfg++] = cfgs[i];
    run_dataset(&l2, run, ncfg, quick ? 5 : 20, quick ? 1 : 5);
    run_dataset(&cs, run, ncfg, quick ? 5 : 20, quick ? 1 : 5);

    vs__aligned_free(cent);
    dataset *ds[2] = {&l2, &cs};
    for (int i = 0; i < 2; i++) {
        vs__aligned_free(ds[i]->x);
        vs__aligned_free(ds[i]->q);
        vs__aligned_free(ds[i]->norms);
        vs__aligned_free(ds[i]->truth);
    }
    return 0;
}
