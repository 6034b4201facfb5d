/*
 * bench_kernels.c — how close the distance kernels come to the memory system.
 *
 * The row kernels of src/simd/ are meant to be limited by single-thread read bandwidth,
 * so this benchmark measures that bandwidth on the same buffer and reports every kernel
 * as a fraction of it:
 *   1. a 1M x 128 float32 matrix (512 MB, random, 64-byte aligned; transparent huge
 *      pages requested with madvise unless --no-thp, so that neither the reference nor
 *      the kernels spend their time in 4 KB page walks);
 *   2. references: a streaming sum over the buffer with AVX-512 loads (8 accumulators,
 *      nothing else), the same with software prefetch (on this machine it is sometimes
 *      faster, and a kernel should be compared with the best a thread can read), and
 *      memcpy to a second buffer;
 *   3. dot_rows and negl2_rows of each ISA this CPU runs, one query against all rows,
 *      single thread; "% read" is relative to the better streaming sum;
 *   4. other dimensions over the same bytes (ns per row), to catch a pathological path;
 *   5. vs__dist_gemm, 1000 queries x 1M rows, called in output blocks of 1000 x 16384
 *      (as the engine consumes scores), GFLOP/s, with the core type OpenBLAS picked.
 *      Run it again with OPENBLAS_CORETYPE=SkylakeX to compare (see distance_gemm.c).
 *
 * The machine is shared: bandwidth drifts by 10-20 % from one second to the next. Every
 * contender therefore gets one pass per round over several rounds and keeps its best,
 * so that a slow phase hits all of them alike. Compare figures within one run.
 *
 * usage: bench_kernels [--quick] [--no-thp] [--no-rows] [--no-dims] [--no-gemm]
 * --quick uses 256K rows and 3 rounds (a smoke run, not a measurement).
 */
#define _GNU_SOURCE
#include <cblas.h>
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "bench_util.h"
#include "simd/distance.h"
#include "util/alloc.h"
#include "vecstore.h"

static const char *const g_isas[] = {"scalar", "avx2", "avx512"};
#define N_ISAS 3

static volatile float g_sink;

static float *alloc_floats(size_t n, int thp) {
    /* 2 MB alignment lets the kernel back the buffer with huge pages from the start. */
    float *p = vs__aligned_alloc(2u << 20, n * sizeof(float));
    if (!p) {
        fprintf(stderr, "out of memory (%zu floats)\n", n);
        exit(1);
    }
    if (thp) madvise(p, n * sizeof(float), MADV_HUGEPAGE);
    memset(p, 0, n * sizeof(float)); /* fault the pages in before any timing */
    return p;
}

/* Eight independent accumulators so that the adds never limit the loads; with pf, one
 * prefetch per line 4 KB ahead, as the row kernels do. */
__attribute__((target("avx512f"))) static float stream_sum_avx512(const float *p, size_t n,
                                                                   int pf) {
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0,
           s7 = s0;
    size_t i = 0;
    for (; i + 128 <= n; i += 128) {
        if (pf)
            for (int o = 0; o < 512; o += 64)
                _mm_prefetch((const char *)(p + i) + 4096 + o, _MM_HINT_T0);
        s0 = _mm512_add_ps(s0, _mm512_load_ps(p + i));
        s1 = _mm512_add_ps(s1, _mm512_load_ps(p + i + 16));
        s2 = _mm512_add_ps(s2, _mm512_load_ps(p + i + 32));
        s3 = _mm512_add_ps(s3, _mm512_load_ps(p + i + 48));
        s4 = _mm512_add_ps(s4, _mm512_load_ps(p + i + 64));
        s5 = _mm512_add_ps(s5, _mm512_load_ps(p + i + 80));
        s6 = _mm512_add_ps(s6, _mm512_load_ps(p + i + 96));
        s7 = _mm512_add_ps(s7, _mm512_load_ps(p + i + 112));
    }
    s0 = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)),
                       _mm512_add_ps(_mm512_add_ps(s4, s5), _mm512_add_ps(s6, s7)));
    float r = _mm512_reduce_add_ps(s0);
    for (; i < n; i++) r += p[i];
    return r;
}

static double time_rows(vs__dist_rows_fn fn, const float *q, const float *x, size_t n,
                        size_t dim, float *out) {
    double t0 = now_s();
    fn(q, x, n, dim, out);
    double t = now_s() - t0;
    g_sink = out[n / 2];
    return t;
}

static void keep_min(double *best, double t) {
    if (t < *best) *best = t;
}

/* Section 3: returns the best avx512 (or else best vector) dot_rows time, for gemm's
 * comparison line. */
static double bench_rows(const float *x, float *x2, float *out, const float *q, size_t n,
                         size_t dim, int rounds) {
    const size_t total = n * dim;
    const double bytes = (double)total * sizeof(float);
    const int has512 = __builtin_cpu_supports("avx512f");
    enum { C_STREAM, C_STREAM_PF, C_COPY, C_KERNELS, C_END = C_KERNELS + 2 * N_ISAS };
    double best[C_END];
    for (size_t c = 0; c < C_END; c++) best[c] = 1e30;

    for (int round = 0; round < rounds; round++) {
        double t0;
        if (has512) {
            t0 = now_s();
            g_sink = stream_sum_avx512(x, total, 0);
            keep_min(&best[C_STREAM], now_s() - t0);
            t0 = now_s();
            g_sink = stream_sum_avx512(x, total, 1);
            keep_min(&best[C_STREAM_PF], now_s() - t0);
        }
        t0 = now_s();
        memcpy(x2, x, total * sizeof(float));
        keep_min(&best[C_COPY], now_s() - t0);
        g_sink = x2[round];
        for (size_t k = 0; k < N_ISAS; k++) {
            const vs__dist_ops *ops = vs__dist_get(g_isas[k]);
            if (!ops || (k == 0 && round >= 2)) continue; /* scalar: slow, 2 rounds */
            keep_min(&best[C_KERNELS + 2 * k], time_rows(ops->dot_rows, q, x, n, dim, out));
            keep_min(&best[C_KERNELS + 2 * k + 1],
                     time_rows(ops->negl2_rows, q, x, n, dim, out));
        }
    }

    double ref = bytes / best[C_COPY]; /* the denominator on CPUs without AVX-512 */
    printf("%-30s %9s %8s %7s\n", "single thread, 1M x 128", "ms/pass", "GB/s", "% read");
    if (has512) {
        double s = bytes / best[C_STREAM], spf = bytes / best[C_STREAM_PF];
        ref = s > spf ? s : spf;
        printf("%-30s %9.1f %8.2f %7.0f\n", "stream read (avx512 sum)", best[C_STREAM] * 1e3,
               s / 1e9, 100.0 * s / ref);
        printf("%-30s %9.1f %8.2f %7.0f\n", "stream read + prefetch", best[C_STREAM_PF] * 1e3,
               spf / 1e9, 100.0 * spf / ref);
    } else {
        printf("%-30s (no avx512: %% read is relative to memcpy)\n", "stream read");
    }
    printf("%-30s %9.1f %8.2f %7s   (bytes copied/s; DRAM traffic 2x)\n", "memcpy",
           best[C_COPY] * 1e3, bytes / best[C_COPY] / 1e9, "-");
    double t_vec = 0.0;
    for (size_t k = 0; k < N_ISAS; k++) {
        if (!vs__dist_get(g_isas[k])) {
            printf("%-30s (not supported by this CPU)\n", g_isas[k]);
            continue;
        }
        for (size_t l2 = 0; l2 < 2; l2++) {
            double t = best[C_KERNELS + 2 * k + l2];
            char name[64];
            snprintf(name, sizeof name, "%s %s", g_isas[k], l2 ? "negl2_rows" : "dot_rows");
            printf("%-30s %9.1f %8.2f %7.0f\n", name, t * 1e3, bytes / t / 1e9,
                   100.0 * bytes / t / ref);
        }
        if (k > 0) t_vec = best[C_KERNELS + 2 * k];
    }
    return t_vec;
}

/* Section 4: other dimensions over (at most) the same bytes. */
static void bench_dims(const float *x, float *out, size_t out_cap, const float *q,
                       size_t total, int rounds) {
    static const size_t dims[] = {1,   2,   3,   4,   7,   8,   15,  16,  17,  33,
                                  64,  100, 128, 200, 256, 257, 300, 384, 768, 1536};
    printf("\n%-6s", "dim");
    for (size_t k = 0; k < N_ISAS; k++)
        if (vs__dist_get(g_isas[k])) printf(" %8s ns/row  GB/s", g_isas[k]);
    printf("   (dot_rows, best of %d)\n", rounds);
    for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++) {
        size_t nd = total / dims[d];
        if (nd > out_cap) nd = out_cap;
        printf("%-6zu", dims[d]);
        for (size_t k = 0; k < N_ISAS; k++) {
            const vs__dist_ops *ops = vs__dist_get(g_isas[k]);
            if (!ops) continue;
            double best = 1e30;
            for (int r = 0; r < (k == 0 ? 1 : rounds); r++)
                keep_min(&best, time_rows(ops->dot_rows, q, x, nd, dims[d], out));
            printf(" %15.2f %5.1f", best * 1e9 / (double)nd,
                   (double)nd * (double)dims[d] * 4.0 / best / 1e9);
        }
        printf("\n");
    }
}

/* Section 5. */
static int bench_gemm(const float *x, size_t n, size_t dim, int thp, double t_row) {
    const size_t nq = 1000, blk = 16384;
    float *qs = alloc_floats(nq * dim, 0);
    float *norms = alloc_floats(n, 0);
    float *gout = alloc_floats(nq * blk, thp);
    for (size_t i = 0; i < nq * dim; i++) qs[i] = frand();
    for (size_t i = 0; i < n; i++) norms[i] = vs__dist()->norm_sq(x + i * dim, NULL, dim);
    const double flop = 2.0 * (double)nq * (double)n * (double)dim;
    printf("\n%-30s %9s %8s   (OpenBLAS core %s, %d threads)\n", "1000 queries x 1M x 128", "s",
           "GFLOP/s", openblas_get_corename(), openblas_get_num_threads());
    for (int kind = 0; kind < 2; kind++) {
        double best = 1e30;
        for (int rep = 0; rep < 2; rep++) {
            double t0 = now_s();
            for (size_t j = 0; j < n; j += blk) {
                size_t nb = n - j < blk ? n - j : blk;
                if (vs__dist_gemm(kind, qs, nq, x + j * dim, nb, dim, norms + j, gout, blk)) {
                    fprintf(stderr, "vs__dist_gemm: out of memory\n");
                    return -1;
                }
                g_sink = gout[nb / 2];
            }
            keep_min(&best, now_s() - t0);
        }
        printf("%-30s %9.2f %8.1f\n", kind ? "vs__dist_gemm negl2" : "vs__dist_gemm dot", best,
               flop / best / 1e9);
    }
    if (t_row > 0)
        printf("%-30s %9.2f %8.1f   (1000 x dot_rows, 1 thread, from above)\n",
               "row kernel instead", t_row * (double)nq, flop / (t_row * (double)nq) / 1e9);
    vs__aligned_free(qs);
    vs__aligned_free(norms);
    vs__aligned_free(gout);
    return 0;
}

int main(int argc, char **argv) {
    int quick = 0, thp = 1, rows = 1, dims = 1, gemm = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick"))
            quick = 1;
        else if (!strcmp(argv[i], "--no-thp"))
            thp = 0;
        else if (!strcmp(argv[i], "--no-rows"))
            rows = 0;
        else if (!strcmp(argv[i], "--no-dims"))
            dims = 0;
        else if (!strcmp(argv[i], "--no-gemm"))
            gemm = 0;
        else {
            fprintf(stderr, "usage: %s [--quick] [--no-thp] [--no-rows] [--no-dims] [--no-gemm]\n",
                    argv[0]);
            return 2;
        }
    }
    const size_t dim = 128, n = quick ? (256u << 10) : (1u << 20), total = n * dim;
    const size_t out_cap = 16u << 20;
    const int rounds = quick ? 3 : 15;

    vs__dist_init();
    printf("vecstore %s: kernels selected %s; matrix %zu x %zu float32 = %.0f MB, %s\n\n",
           vs_version(), vs_simd_name(), n, dim, (double)total * 4 / 1e6,
           thp ? "THP advised" : "4 KB pages");

    float *x = alloc_floats(total, thp);
    float *x2 = rows ? alloc_floats(total, thp) : NULL;
    float *out = alloc_floats(out_cap, 0);
    float q[2048];
    for (size_t i = 0; i < total; i++) x[i] = frand();
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) q[i] = frand();

    double t_row = 0.0;
    if (rows) t_row = bench_rows(x, x2, out, q, n, dim, rounds);
    if (dims) bench_dims(x, out, out_cap, q, total, quick ? 2 : 5);
    int rc = gemm ? bench_gemm(x, n, dim, thp, t_row) : 0;

    vs__aligned_free(x);
    vs__aligned_free(x2);
    vs__aligned_free(out);
    return rc ? 1 : 0;
}
