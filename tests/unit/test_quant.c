/*
 * test_quant.c — the quantizers (src/index/quant.h): kernels, accuracy, recall, files,
 * bad input and allocation failures.
 *
 * KERNELS. Every table this CPU runs is compared with quant_scalar.c with memcmp: the
 * contract says the builds return the scalar oracle's bits (integer kernels are exact,
 * float kernels keep its summation order and do not fuse). Inputs sit flush against a
 * PROT_NONE page, so reading one byte past the last code, row or column faults instead
 * of passing by luck; outputs carry a canary. Sizes cover every tail of every vector
 * width (dims 1..300, m 1..40, 1..40 words) and block remainders of the row loops.
 * Then whole quantizers: codes, codebooks and scores must be identical whichever build
 * encoded, trained or scored (the training build is switched with VS_SIMD).
 *
 * ACCURACY. int8: every decoded value of an unclipped input is within step/2, clipped
 * ones land on the range ends, l2 codes carry ||x^||^2, and every score is within
 * vs__quant_int8_bound() of the exact one. Recall: clustered random data (50 Gaussian
 * clusters around centres uniform in [-1,1]^dim), ground truth by exact brute force; a
 * quantized search scores every code, keeps the best R candidates and rescores them
 * with the float vectors. Thresholds, and in brackets the range measured over seeds
 * 1..50 on the dev box (VS_TEST_VERBOSE=1 prints the figures):
 *   int8 (l2, dot, cosine), dim 64, R = 4k:   recall@10 >= 0.99      [1.000; 0.94-0.99
 *                                             before rescoring]
 *   pq m = 32 of dim 64 (8x), R = 10k:        >= 0.99                [0.996-1.000]
 *   binary, cosine, dim 512, R = 10k: 4-bit query >= 0.90 [0.934-0.968],
 *                                     1-bit (hamming) >= 0.80 [0.844-0.902]
 * (The clusters hold 400 points, so R = 100 is a quarter of one: rescoring cannot
 * succeed just by taking the whole cluster.)
 *
 * FILES. Save/load round trips (identity and scores preserved; codes mapped); a
 * changed byte and a truncation at every offset of the headers, and at every 97th of a
 * PQ codebook (every offset of the other files), are rejected; bodies rewritten with valid checksums but inconsistent content are
 * VS_ECORRUPT naming the field; a newer format version is VS_EVERSION. I/O faults at
 * every operation of a save leave the previous file intact.
 *
 * FAULTS. Train + query + encode + save under the n-th failing allocation, and under
 * every allocation from the n-th on, for n = 1.. until nothing is injected: VS_ENOMEM
 * with a message, no leak (the harness counts live blocks after each test).
 *
 * About 6 s in a release build, 25 s under ASan.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "index/quant.h"
#include "os/file.h"
#include "simd/distance.h"
#include "storage/frame.h"
#include "test.h"
#include "util/alloc.h"
#include "util/checksum.h"
#include "vecstore.h"

static const char *const g_isas[] = {"scalar", "avx2", "avx512", "avx512icl"};
#define N_ISAS (sizeof g_isas / sizeof g_isas[0])

/* ------------------------------------------------------------------ helpers -- */

static uint64_t g_rng;
static void rng_init(unsigned salt) {
    g_rng = ((uint64_t)vt_seed() << 32 | salt) * 0x9E3779B97F4A7C15ull | 1;
}
static uint64_t rnd(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return g_rng;
}
static float frand(void) { /* uniform in [-1, 1) */
    return (float)((double)(rnd() >> 40) / (double)(1ull << 23) - 1.0);
}
static float gauss(void) {
    double u = ((double)(rnd() >> 11) + 0.5) / 9007199254740992.0;
    double v = (double)(rnd() >> 11) / 9007199254740992.0;
    return (float)(sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v));
}

static void normalise(float *x, size_t dim) {
    double s = 0.0;
    for (size_t j = 0; j < dim; j++) s += (double)x[j] * x[j];
    float inv = s > 0 ? (float)(1.0 / sqrt(s)) : 0.0f;
    for (size_t j = 0; j < dim; j++) x[j] *= inv;
}

/* n rows around `nc` centres uniform in [-1,1]^dim, Gaussian noise of sigma; the
 * centres come from the same stream, so base and queries share them when the stream
 * is reset in between (see clustered_pair). */
static float *centres_new(size_t nc, size_t dim) {
    float *c = vs__malloc(nc * dim * sizeof(float));
    ASSERT(c);
    for (size_t i = 0; i < nc * dim; i++) c[i] = frand();
    return c;
}
static float *clustered(const float *cent, size_t nc, size_t n, size_t dim, float sigma,
                        int unit) {
    float *x = vs__malloc(n * dim * sizeof(float));
    ASSERT(x);
    for (size_t i = 0; i < n; i++) {
        const float *c = cent + (rnd() % nc) * dim;
        for (size_t j = 0; j < dim; j++) x[i * dim + j] = c[j] + sigma * gauss();
        if (unit) normalise(x + i * dim, dim);
    }
    return x;
}

/* Buffers ending exactly at a PROT_NONE page. */
typedef struct guarded {
    void *map;
    size_t len;
    uint8_t *p;
} guarded;

static void *guarded_new(guarded *g, size_t bytes) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t data = (bytes + page - 1) / page * page;
    if (data == 0) data = page;
    g->len = data + page;
    g->map = mmap(NULL, g->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT(g->map != MAP_FAILED);
    ASSERT(mprotect((char *)g->map + data, page, PROT_NONE) == 0);
    g->p = (uint8_t *)g->map + data - bytes;
    return g->p;
}
static void guarded_free(guarded *g) {
    if (g->map && g->map != MAP_FAILED) munmap(g->map, g->len);
    g->map = NULL;
}

static double score_exact(int kind, const float *q, const float *x, size_t dim) {
    double s = 0.0;
    for (size_t j = 0; j < dim; j++) {
        if (kind == VS__SCORE_NEGL2) {
            double d = (double)q[j] - x[j];
            s -= d * d;
        } else {
            s += (double)q[j] * x[j];
        }
    }
    return s;
}

/* Indices of the k best scores (descending), ties to the lower index. */
static void top_k(const float *scores, size_t n, size_t k, uint32_t *out) {
    size_t have = 0;
    for (size_t i = 0; i < n; i++) {
        if (have == k && !(scores[i] > scores[out[k - 1]])) continue;
        size_t p = have < k ? have++ : k - 1;
        while (p > 0 && scores[i] > scores[out[p - 1]]) {
            out[p] = out[p - 1];
            p--;
        }
        out[p] = (uint32_t)i;
    }
}

static vs__quant *train_ok(int type, int kind, uint32_t m, const float *x, size_t n,
                           size_t dim) {
    vs__quant_params p;
    vs__quant_params_init(&p, type, kind);
    p.pq_m = m;
    vs__quant *qz = NULL;
    vs__err e = {0};
    int rc = vs__quant_train(&p, x, n, dim, &qz, &e);
    ASSERT_MSG(rc == 0, "train: %s", e.msg);
    return qz;
}

/* --------------------------------------------------------------- selection -- */

TEST(quant, kernels_get_and_select) {
    ASSERT(vs__quant_kernels_get("scalar") == &vs__quant_scalar);
    ASSERT(vs__quant_kernels_get("avx1024") == NULL);
    ASSERT(vs__quant_kernels_get(NULL) == NULL);
    const vs__quant_ops *best = NULL;
    for (size_t k = 0; k < N_ISAS; k++) {
        const vs__quant_ops *o = vs__quant_kernels_get(g_isas[k]);
        if (!o) continue;
        ASSERT_STREQ(o->name, g_isas[k]);
        ASSERT(o->cols && o->argmin && o->pq_rows && o->i8_rows && o->bin_rows);
        best = o;
    }
    char *saved = getenv("VS_SIMD") ? strdup(getenv("VS_SIMD")) : NULL;
    unsetenv("VS_SIMD");
    vs__quant_kernels_reset_for_test();
    ASSERT(vs__quant_kernels() == best);
    setenv("VS_SIMD", "scalar", 1);
    vs__quant_kernels_reset_for_test();
    ASSERT_STREQ(vs__quant_kernels()->name, "scalar");
    setenv("VS_SIMD", "avx2", 1);
    vs__quant_kernels_reset_for_test();
    ASSERT_STREQ(vs__quant_kernels()->name, vs__quant_kernels_get("avx2") ? "avx2" : "scalar");
    setenv("VS_SIMD", "avx512", 1);
    vs__quant_kernels_reset_for_test();
    ASSERT(vs__quant_kernels() == best); /* the AVX-512 level takes its best table */
    setenv("VS_SIMD", "bogus", 1);
    vs__quant_kernels_reset_for_test();
    ASSERT(vs__quant_kernels() == best);
    if (saved)
        setenv("VS_SIMD", saved, 1);
    else
        unsetenv("VS_SIMD");
    free(saved);
    vs__quant_kernels_reset_for_test();
}

/* Detection must not under-report: a missed table silently costs 2-4x. */
TEST(quant, detection_matches_cpuinfo) {
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[8192];
    int has[9] = {0}, found = 0;
    static const char *const want[] = {"avx2",     "popcnt",   "avx512f",
                                       "avx512dq", "avx512bw", "avx512vl",
                                       "avx512_vnni", "avx512_vpopcntdq", "fma"};
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "flags", 5) != 0) continue;
        char *p = strchr(line, ':');
        if (!p) break;
        for (char *tok = strtok(p + 1, " \n"); tok; tok = strtok(NULL, " \n"))
            for (size_t i = 0; i < 9; i++)
                if (!strcmp(tok, want[i])) has[i] = 1;
        found = 1;
        break;
    }
    fclose(f);
    if (!found) return;
    int avx2 = has[0] && has[1];
    int avx512 = avx2 && has[2] && has[3] && has[4] && has[5];
    int icl = avx512 && has[6] && has[7];
    ASSERT_EQ(vs__quant_kernels_get("avx2") != NULL, avx2);
    ASSERT_EQ(vs__quant_kernels_get("avx512") != NULL, avx512);
    ASSERT_EQ(vs__quant_kernels_get("avx512icl") != NULL, icl);
}

/* ----------------------------------------------------------------- kernels -- */

static void check_cols(const vs__quant_ops *o, size_t d, size_t ncols, size_t ld) {
    guarded gt = {0}, gx = {0};
    size_t tn = (d - 1) * ld + ncols; /* the last column of the last row ends the buffer */
    float *t = guarded_new(&gt, tn * sizeof(float));
    float *x = guarded_new(&gx, d * sizeof(float));
    for (size_t i = 0; i < tn; i++) t[i] = frand() * 3.0f;
    for (size_t i = 0; i < d; i++) x[i] = frand() * 3.0f;
    float *got = vs__malloc((ncols + 1) * sizeof(float));
    float *want = vs__malloc((ncols + 1) * sizeof(float));
    ASSERT(got && want);
    for (int l2 = 0; l2 < 2; l2++) {
        got[ncols] = 12345.5f;
        o->cols(x, t, d, ncols, ld, l2, got);
        vs__quant_scalar.cols(x, t, d, ncols, ld, l2, want);
        ASSERT_MSG(got[ncols] == 12345.5f, "%s cols wrote past out[%zu]", o->name, ncols);
        ASSERT_MSG(!memcmp(got, want, ncols * sizeof(float)),
                   "%s cols l2 %d d %zu ncols %zu ld %zu differs from scalar", o->name, l2, d,
                   ncols, ld);
    }
    vs__free(got);
    vs__free(want);
    guarded_free(&gt);
    guarded_free(&gx);
}

TEST(quant, cols_and_argmin_match_scalar) {
    rng_init(1);
    static const size_t ncs[] = {1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 63, 64, 65, 100, 255, 256, 257, 1000};
    for (size_t k = 1; k < N_ISAS; k++) {
        const vs__quant_ops *o = vs__quant_kernels_get(g_isas[k]);
        if (!o) continue;
        for (size_t d = 1; d <= 20; d++)
            for (size_t i = 0; i < sizeof ncs / sizeof ncs[0]; i++) {
                check_cols(o, d, ncs[i], ncs[i]);
                check_cols(o, d, ncs[i], ncs[i] + 3);
            }
        check_cols(o, 64, 256, 256);
        check_cols(o, 3, 4096, 4096);

        /* argmin: ties resolve to the first index, whatever the vector width. */
        for (size_t n = 1; n <= 300; n++) {
            guarded g = {0};
            float *dd = guarded_new(&g, n * sizeof(float));
            for (size_t i = 0; i < n; i++) dd[i] = (float)(rnd() % 50);
            size_t a = o->argmin(dd, n), w = vs__quant_scalar.argmin(dd, n);
            ASSERT_MSG(a == w, "%s argmin n %zu: %zu, scalar %zu", o->name, n, a, w);
            for (size_t i = 0; i < n; i++) dd[i] = frand();
            ASSERT_EQ(o->argmin(dd, n), vs__quant_scalar.argmin(dd, n));
            guarded_free(&g);
        }
    }
}

TEST(quant, pq_rows_match_scalar) {
    rng_init(2);
    static const size_t ns[] = {0, 1, 3, 4, 5, 15, 16, 17, 33, 100};
    static const size_t big[] = {64, 96, 128, 192};
    float *table = vs__malloc(192 * 256 * sizeof(float));
    float *got = vs__malloc(101 * sizeof(float)), *want = vs__malloc(101 * sizeof(float));
    ASSERT(table && got && want);
    for (size_t i = 0; i < 192 * 256; i++) table[i] = frand();
    for (size_t k = 1; k < N_ISAS; k++) {
        const vs__quant_ops *o = vs__quant_kernels_get(g_isas[k]);
        if (!o) continue;
        for (size_t mi = 0; mi < 40 + 4; mi++) {
            size_t m = mi < 40 ? mi + 1 : big[mi - 40];
            for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++) {
                size_t n = ns[t];
                guarded g = {0};
                uint8_t *codes = guarded_new(&g, n * m);
                for (size_t i = 0; i < n * m; i++) codes[i] = (uint8_t)rnd();
                got[n] = 12345.5f;
                o->pq_rows(table, codes, n, m, got);
                vs__quant_scalar.pq_rows(table, codes, n, m, want);
                ASSERT_MSG(got[n] == 12345.5f, "%s pq_rows wrote past out[%zu]", o->name, n);
                ASSERT_MSG(!memcmp(got, want, n * sizeof(float)),
                           "%s pq_rows m %zu n %zu differs from scalar", o->name, m, n);
                guarded_free(&g);
            }
        }
    }
    vs__free(table);
    vs__free(got);
    vs__free(want);
}

static void check_i8(const vs__quant_ops *o, size_t n, size_t dim, size_t stride, int extreme) {
    size_t dpad = (dim + 63) / 64 * 64;
    int16_t *q16 = vs__aligned_alloc(64, dpad * sizeof(int16_t));
    int32_t *got = vs__malloc((n + 1) * sizeof(int32_t)), *want = vs__malloc((n + 1) * sizeof(int32_t));
    ASSERT(q16 && got && want);
    memset(q16, 0, dpad * sizeof(int16_t));
    /* the contract's limit: 255 sum |q16| < 2^31 */
    long lim = 2147483647L / (255L * (long)dim);
    if (lim > 32767) lim = 32767;
    for (size_t j = 0; j < dim; j++)
        q16[j] = (int16_t)(extreme ? ((j & 1) ? lim : -lim) : (long)(rnd() % (2 * lim + 1)) - lim);
    guarded g = {0};
    size_t bytes = n ? (n - 1) * stride + dim : 0; /* the last row ends the buffer */
    uint8_t *codes = guarded_new(&g, bytes);
    for (size_t i = 0; i < bytes; i++) codes[i] = extreme ? 255 : (uint8_t)rnd();
    got[n] = 0x5A5A5A5A;
    o->i8_rows(q16, codes, n, dim, stride, got);
    vs__quant_scalar.i8_rows(q16, codes, n, dim, stride, want);
    ASSERT_MSG(got[n] == 0x5A5A5A5A, "%s i8_rows wrote past out[%zu]", o->name, n);
    for (size_t i = 0; i < n; i++)
        ASSERT_MSG(got[i] == want[i], "%s i8_rows n %zu dim %zu stride %zu row %zu: %d, scalar %d",
                   o->name, n, dim, stride, i, got[i], want[i]);
    if (extreme && n) { /* all codes 255, alternating +-lim: exactly 0 or 255 * lim */
        int64_t w = (dim & 1) ? -255L * lim : 0;
        ASSERT_EQ(want[0], w);
    }
    guarded_free(&g);
    vs__aligned_free(q16);
    vs__free(got);
    vs__free(want);
}

TEST(quant, i8_rows_match_scalar) {
    rng_init(3);
    static const size_t ns[] = {0, 1, 3, 4, 5, 13};
    static const size_t big[] = {384, 768, 1536};
    for (size_t k = 1; k < N_ISAS; k++) {
        const vs__quant_ops *o = vs__quant_kernels_get(g_isas[k]);
        if (!o) continue;
        for (size_t dim = 1; dim <= 300; dim++)
            for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++) {
                check_i8(o, ns[t], dim, dim, 0);
                check_i8(o, ns[t], dim, dim + 4, 0);
            }
        for (size_t b = 0; b < 3; b++) {
            check_i8(o, 9, big[b], big[b] + 4, 0);
            check_i8(o, 9, big[b], big[b] + 7, 0);
        }
        /* the largest magnitudes the contract allows: no overflow anywhere */
        check_i8(o, 5, 7, 7, 1);
        check_i8(o, 5, 1536, 1536, 1);
        check_i8(o, 5, 65536, 65536, 1);
    }
}

TEST(quant, bin_rows_match_scalar) {
    rng_init(4);
    static const size_t ns[] = {0, 1, 2, 3, 7, 16, 33};
    uint32_t s1[34], p1[34], s2[34], p2[34];
    for (size_t k = 1; k < N_ISAS; k++) {
        const vs__quant_ops *o = vs__quant_kernels_get(g_isas[k]);
        if (!o) continue;
        for (size_t words = 1; words <= 40; words++) {
            uint64_t *planes = vs__malloc(8 * words * sizeof(uint64_t));
            ASSERT(planes);
            for (size_t i = 0; i < 8 * words; i++) planes[i] = rnd();
            for (size_t np = 1; np <= 8; np++)
                for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++) {
                    size_t n = ns[t];
                    guarded g = {0};
                    uint8_t *codes = guarded_new(&g, n * words * 8);
                    for (size_t i = 0; i < n * words * 8; i++) codes[i] = (uint8_t)rnd();
                    s1[n] = p1[n] = 0xDEAD;
                    o->bin_rows(planes, np, codes, n, words, s1, p1);
                    vs__quant_scalar.bin_rows(planes, np, codes, n, words, s2, p2);
                    ASSERT(s1[n] == 0xDEAD && p1[n] == 0xDEAD);
                    ASSERT_MSG(!memcmp(s1, s2, n * 4) && !memcmp(p1, p2, n * 4),
                               "%s bin_rows words %zu planes %zu n %zu differs", o->name, words,
                               np, n);
                    guarded_free(&g);
                }
            vs__free(planes);
        }
    }
}

/* ------------------------------------------------- whole quantizers, all builds -- */

typedef struct qcase {
    int type, kind;
    uint32_t m, qbits;
    const char *what;
    int global; /* int8: one range for all dimensions */
} qcase;

static const qcase g_cases[] = {
    {VS_QUANT_INT8, VS__SCORE_DOT, 0, 0, "int8 dot", 0},
    {VS_QUANT_INT8, VS__SCORE_NEGL2, 0, 0, "int8 l2", 0},
    {VS_QUANT_PQ, VS__SCORE_DOT, 8, 0, "pq dot", 0},
    {VS_QUANT_PQ, VS__SCORE_NEGL2, 13, 0, "pq l2", 0},
    {VS_QUANT_BINARY, VS__SCORE_DOT, 0, 1, "binary 1-bit", 0},
    {VS_QUANT_BINARY, VS__SCORE_DOT, 0, 4, "binary 4-bit", 0},
};
#define N_CASES (sizeof g_cases / sizeof g_cases[0])

static vs__quant *train_case(const qcase *c, const float *x, size_t n, size_t dim) {
    vs__quant_params p;
    vs__quant_params_init(&p, c->type, c->kind);
    p.pq_m = c->m;
    p.pq_iters = 8;
    if (c->qbits) p.bin_query_bits = c->qbits;
    vs__quant *qz = NULL;
    vs__err e = {0};
    int rc = vs__quant_train(&p, x, n, dim, &qz, &e);
    ASSERT_MSG(rc == 0, "%s: %s", c->what, e.msg);
    return qz;
}

/* Train and encode under each VS_SIMD level, score with each table: the codebooks,
 * codes and scores are the same bits everywhere. */
TEST(quant, builds_agree_bitwise) {
    rng_init(5);
    const size_t n = 1500, dim = 104, nq = 5; /* 104: tails for every vector width */
    float *cent = centres_new(10, dim);
    float *x = clustered(cent, 10, n, dim, 0.3f, 0);
    float *q = clustered(cent, 10, nq, dim, 0.3f, 0);
    char *saved = getenv("VS_SIMD") ? strdup(getenv("VS_SIMD")) : NULL;
    static const char *const levels[] = {"scalar", "avx2", "avx512"};
    for (size_t c = 0; c < N_CASES; c++) {
        uint64_t id0 = 0;
        uint8_t *codes0 = NULL;
        float *sc0 = vs__malloc(nq * n * sizeof(float)), *sc = vs__malloc(n * sizeof(float));
        ASSERT(sc0 && sc);
        for (size_t l = 0; l < 3; l++) {
            setenv("VS_SIMD", levels[l], 1);
            vs__quant_kernels_reset_for_test();
            vs__quant *qz = train_case(&g_cases[c], x, n, dim);
            size_t cs = vs__quant_code_size(qz);
            uint8_t *codes = vs__malloc(n * cs);
            ASSERT(codes);
            vs__quant_encode(qz, x, n, codes);
            if (l == 0) {
                id0 = vs__quant_id(qz);
                codes0 = codes;
            } else {
                ASSERT_MSG(vs__quant_id(qz) == id0, "%s: trained under VS_SIMD=%s differs",
                           g_cases[c].what, levels[l]);
                ASSERT_MSG(!memcmp(codes, codes0, n * cs), "%s: codes under VS_SIMD=%s differ",
                           g_cases[c].what, levels[l]);
                vs__free(codes);
            }
            if (l == 0) {
                vs__quant_query *qq;
                vs__err e = {0};
                ASSERT_OK(vs__quant_query_new(qz, &qq, &e));
                for (size_t k = 0; k < N_ISAS; k++) {
                    const vs__quant_ops *o = vs__quant_kernels_get(g_isas[k]);
                    if (!o) continue;
                    vs__quant_query_use(qq, o);
                    for (size_t i = 0; i < nq; i++) {
                        vs__quant_query_prepare(qq, q + i * dim);
                        vs__quant_score_rows(qq, codes0, n, k == 0 ? sc0 + i * n : sc);
                        if (k)
                            ASSERT_MSG(!memcmp(sc, sc0 + i * n, n * sizeof(float)),
                                       "%s: %s scores differ from scalar", g_cases[c].what,
                                       o->name);
                    }
                }
                /* single and gathered scoring agree with the row kernel */
                uint32_t rows[7] = {5, 0, 1499, 77, 77, 3, 1000};
                float ids_out[7];
                vs__quant_score_ids(qq, codes0, rows, 7, ids_out);
                const float *last = sc0 + (nq - 1) * n;
                for (size_t r = 0; r < 7; r++) {
                    ASSERT(ids_out[r] == last[rows[r]]);
                    ASSERT(vs__quant_score(qq, codes0 + rows[r] * cs) == last[rows[r]]);
                }
                vs__quant_query_free(qq);
            }
            vs__quant_free(qz);
        }
        vs__free(codes0);
        vs__free(sc0);
        vs__free(sc);
    }
    if (saved)
        setenv("VS_SIMD", saved, 1);
    else
        unsetenv("VS_SIMD");
    free(saved);
    vs__quant_kernels_reset_for_test();
    vs__free(cent);
    vs__free(x);
    vs__free(q);
}

/* ------------------------------------------------------------------ accuracy -- */

static vs__quant *train_int8(int kind, float quantile, int per_dim, const float *x, size_t n,
                             size_t dim) {
    vs__quant_params p;
    vs__quant_params_init(&p, VS_QUANT_INT8, kind);
    p.int8_quantile = quantile;
    p.int8_per_dim = per_dim;
    vs__quant *qz = NULL;
    vs__err e = {0};
    ASSERT_MSG(vs__quant_train(&p, x, n, dim, &qz, &e) == 0, "%s", e.msg);
    return qz;
}

TEST(quant, int8_reconstruction_and_score_bounds) {
    rng_init(6);
    const size_t n = 3000, dim = 50;
    float *x = vs__malloc(n * dim * sizeof(float)), *y = vs__malloc(dim * sizeof(float));
    float *lo = vs__malloc(dim * sizeof(float)), *hi = vs__malloc(dim * sizeof(float));
    ASSERT(x && y && lo && hi);
    /* dimensions with very different scales and offsets; dimension 7 is constant */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < dim; j++)
            x[i * dim + j] = j == 7 ? 0.25f : (float)(j % 5 + 1) * (frand() + 0.1f * (float)j);
    uint8_t *codes = vs__malloc(n * (dim + 4));
    ASSERT(codes);
    for (int per_dim = 0; per_dim < 2; per_dim++)
        for (int kind = 0; kind < 2; kind++) {
            vs__quant *qz = train_int8(kind, 1.0f, per_dim, x, n, dim);
            ASSERT_EQ(vs__quant_code_size(qz), dim + (kind ? 4 : 0));
            vs__quant_encode(qz, x, n, codes);
            size_t cs = vs__quant_code_size(qz);
            /* the range is the data's min/max: decode code 0 and 255 */
            uint8_t ends[2 * (50 + 4)];
            memset(ends, 0, cs);
            memset(ends + cs, 255, cs);
            vs__quant_decode(qz, ends, lo);
            vs__quant_decode(qz, ends + cs, hi);
            for (size_t i = 0; i < n; i++) {
                vs__quant_decode(qz, codes + i * cs, y);
                for (size_t j = 0; j < dim; j++) {
                    double half = (hi[j] - lo[j]) / 255.0 / 2.0;
                    double err = fabs((double)y[j] - x[i * dim + j]);
                    ASSERT_MSG(err <= half * (1 + 1e-5) + 1e-6 * fabs((double)hi[j]),
                               "per_dim %d row %zu dim %zu: |%g - %g| > step/2 = %g", per_dim,
                               i, j, y[j], x[i * dim + j], half);
                }
                if (kind) { /* l2 codes carry ||x^||^2 */
                    float nn;
                    memcpy(&nn, codes + i * cs + dim, 4);
                    ASSERT_NEAR(nn, score_exact(VS__SCORE_DOT, y, y, dim), 1e-6);
                }
            }
            if (per_dim) ASSERT(lo[7] == 0.25f && hi[7] == 0.25f);
            /* every score within the bound of the prepared query */
            vs__quant_query *qq;
            vs__err e = {0};
            ASSERT_OK(vs__quant_query_new(qz, &qq, &e));
            float *sc = vs__malloc(n * sizeof(float));
            ASSERT(sc);
            for (int t = 0; t < 20; t++) {
                float q[50];
                for (size_t j = 0; j < dim; j++) q[j] = 3.0f * frand();
                vs__quant_query_prepare(qq, q);
                vs__quant_score_rows(qq, codes, n, sc);
                for (size_t i = 0; i < n; i++) {
                    double ex = score_exact(kind, q, x + i * dim, dim);
                    float b = vs__quant_int8_bound(qq, kind ? (float)sqrt(-ex) : 0.0f);
                    ASSERT(b > 0 && isfinite(b));
                    ASSERT_MSG(fabs(sc[i] - ex) <= b + 1e-5 * (fabs(ex) + 100.0),
                               "per_dim %d kind %d row %zu: %g vs exact %g, bound %g", per_dim,
                               kind, i, sc[i], ex, b);
                }
            }
            vs__free(sc);
            vs__quant_query_free(qq);
            vs__quant_free(qz);
        }

    /* Quantile clipping: with 0.99 the extreme values of each dimension are clipped to
     * the range ends; values inside stay within step/2, and the range is narrower. */
    x[5 * dim + 3] = 1000.0f; /* an outlier in dimension 3 */
    vs__quant *q1 = train_int8(VS__SCORE_DOT, 1.0f, 1, x, n, dim);
    vs__quant *q9 = train_int8(VS__SCORE_DOT, 0.99f, 1, x, n, dim);
    uint8_t ends[2 * 50];
    memset(ends, 0, dim);
    memset(ends + dim, 255, dim);
    float lo9[50], hi9[50], hi1[50];
    vs__quant_decode(q9, ends, lo9);
    vs__quant_decode(q9, ends + dim, hi9);
    vs__quant_decode(q1, ends + dim, hi1);
    ASSERT(hi1[3] >= 999.0f && hi9[3] < 10.0f);
    vs__quant_encode(q9, x, n, codes);
    size_t clipped = 0;
    for (size_t i = 0; i < n; i++) {
        vs__quant_decode(q9, codes + i * dim, y);
        for (size_t j = 0; j < dim; j++) {
            float v = x[i * dim + j];
            if (v < lo9[j] || v > hi9[j]) {
                clipped++;
                ASSERT(y[j] == (v < lo9[j] ? lo9[j] : hi9[j]));
            } else {
                double half = (hi9[j] - lo9[j]) / 510.0;
                ASSERT(fabs((double)y[j] - v) <= half * (1 + 1e-5) + 1e-6 * fabs((double)hi9[j]));
            }
        }
    }
    /* about 1 % of the values of the 49 non-constant dimensions */
    ASSERT_MSG(clipped >= n * 49 / 200 && clipped <= n * 49 / 50, "clipped %zu", clipped);
    vs__quant_free(q1);
    vs__quant_free(q9);
    vs__free(codes);
    vs__free(x);
    vs__free(y);
    vs__free(lo);
    vs__free(hi);
}

/* ------------------------------------------------------------------- recall -- */

static void note_recall(const char *what, double rec, double raw) {
    if (getenv("VS_TEST_VERBOSE"))
        printf("     %s: recall@10 %.3f after rescoring (%.3f before)\n", what, rec, raw);
}

/* recall@k of: score all codes, keep the best r, rescore them exactly, keep k. */
static double quant_recall(const vs__quant *qz, const float *x, size_t n, size_t dim,
                           const float *qs, size_t nq, size_t k, size_t r, double *raw) {
    const int kind = vs__quant_kind(qz);
    const size_t cs = vs__quant_code_size(qz);
    uint8_t *codes = vs__malloc(n * cs);
    float *sc = vs__malloc(n * sizeof(float)), *ex = vs__malloc(n * sizeof(float));
    float *rs = vs__malloc(r * sizeof(float));
    uint32_t *truth = vs__malloc(k * sizeof(uint32_t)), *cand = vs__malloc(r * sizeof(uint32_t));
    uint32_t *best = vs__malloc(k * sizeof(uint32_t));
    ASSERT(codes && sc && ex && rs && truth && cand && best);
    vs__quant_encode(qz, x, n, codes);
    vs__quant_query *qq;
    vs__err e = {0};
    ASSERT_OK(vs__quant_query_new(qz, &qq, &e));
    size_t hit = 0, rawhit = 0;
    for (size_t t = 0; t < nq; t++) {
        const float *q = qs + t * dim;
        for (size_t i = 0; i < n; i++) ex[i] = (float)score_exact(kind, q, x + i * dim, dim);
        top_k(ex, n, k, truth);
        vs__quant_query_prepare(qq, q);
        vs__quant_score_rows(qq, codes, n, sc);
        top_k(sc, n, r, cand);
        for (size_t a = 0; a < k; a++)
            for (size_t b = 0; b < k; b++) rawhit += cand[b] == truth[a];
        for (size_t i = 0; i < r; i++) rs[i] = ex[cand[i]];
        top_k(rs, r, k, best);
        for (size_t a = 0; a < k; a++)
            for (size_t b = 0; b < k; b++) hit += cand[best[b]] == truth[a];
    }
    vs__quant_query_free(qq);
    vs__free(codes);
    vs__free(sc);
    vs__free(ex);
    vs__free(rs);
    vs__free(truth);
    vs__free(cand);
    vs__free(best);
    if (raw) *raw = (double)rawhit / (double)(nq * k);
    return (double)hit / (double)(nq * k);
}

TEST(quant, recall_int8_with_rescoring) {
    rng_init(7);
    const size_t n = 20000, dim = 64, nq = 100, k = 10;
    for (int metric = 0; metric < 3; metric++) { /* l2, dot, cosine */
        const int kind = metric == 0 ? VS__SCORE_NEGL2 : VS__SCORE_DOT;
        float *cent = centres_new(50, dim);
        float *x = clustered(cent, 50, n, dim, 0.25f, metric == 2);
        float *q = clustered(cent, 50, nq, dim, 0.25f, metric == 2);
        vs__quant *qz = train_ok(VS_QUANT_INT8, kind, 0, x, n, dim);
        double raw, rec = quant_recall(qz, x, n, dim, q, nq, k, 4 * k, &raw);
        note_recall(metric == 0 ? "int8 l2" : metric == 1 ? "int8 dot" : "int8 cosine", rec, raw);
        ASSERT_MSG(rec >= 0.99, "int8 metric %d: recall@10 %.3f after rescoring 4k (raw %.3f)",
                   metric, rec, raw);
        vs__quant_free(qz);
        vs__free(cent);
        vs__free(x);
        vs__free(q);
    }
}

TEST(quant, recall_pq_with_rescoring) {
    rng_init(8);
    const size_t n = 20000, dim = 64, nq = 100, k = 10;
    for (int metric = 0; metric < 2; metric++) { /* l2, cosine */
        const int kind = metric == 0 ? VS__SCORE_NEGL2 : VS__SCORE_DOT;
        float *cent = centres_new(50, dim);
        float *x = clustered(cent, 50, n, dim, 0.25f, metric == 1);
        float *q = clustered(cent, 50, nq, dim, 0.25f, metric == 1);
        vs__quant *qz = train_ok(VS_QUANT_PQ, kind, 32, x, n, dim);
        double raw, rec = quant_recall(qz, x, n, dim, q, nq, k, 10 * k, &raw);
        note_recall(metric == 0 ? "pq l2" : "pq cosine", rec, raw);
        ASSERT_MSG(rec >= 0.99, "pq metric %d: recall@10 %.3f after rescoring 10k (raw %.3f)",
                   metric, rec, raw);
        vs__quant_free(qz);
        vs__free(cent);
        vs__free(x);
        vs__free(q);
    }
}

TEST(quant, recall_binary_cosine) {
    rng_init(9);
    const size_t n = 10000, dim = 512, nq = 80, k = 10;
    float *cent = centres_new(50, dim);
    float *x = clustered(cent, 50, n, dim, 0.5f, 1);
    float *q = clustered(cent, 50, nq, dim, 0.5f, 1);
    for (uint32_t bits = 1; bits <= 4; bits += 3) {
        vs__quant_params p;
        vs__quant_params_init(&p, VS_QUANT_BINARY, VS__SCORE_DOT);
        p.bin_query_bits = bits;
        vs__quant *qz = NULL;
        vs__err e = {0};
        ASSERT_OK(vs__quant_train(&p, x, n, dim, &qz, &e));
        ASSERT_EQ(vs__quant_code_size(qz), dim / 8);
        double raw, rec = quant_recall(qz, x, n, dim, q, nq, k, 10 * k, &raw);
        note_recall(bits == 1 ? "binary 1-bit" : "binary 4-bit", rec, raw);
        double want = bits == 1 ? 0.80 : 0.90;
        ASSERT_MSG(rec >= want, "binary %u-bit: recall@10 %.3f after rescoring 10k (raw %.3f)",
                   bits, rec, raw);
        vs__quant_free(qz);
    }
    vs__free(cent);
    vs__free(x);
    vs__free(q);
}

/* ------------------------------------------------------------- determinism -- */

TEST(quant, pq_training_deterministic) {
    rng_init(10);
    const size_t n = 3000, dim = 32;
    float *cent = centres_new(20, dim);
    float *x = clustered(cent, 20, n, dim, 0.2f, 0);
    vs__quant_params p;
    vs__quant_params_init(&p, VS_QUANT_PQ, VS__SCORE_NEGL2);
    p.pq_m = 8;
    p.max_sample = 2000; /* sampling is part of what must repeat */
    p.seed = 42;
    vs__quant *a = NULL, *b = NULL, *c = NULL;
    vs__err e = {0};
    ASSERT_OK(vs__quant_train(&p, x, n, dim, &a, &e));
    ASSERT_OK(vs__quant_train(&p, x, n, dim, &b, &e));
    p.seed = 43;
    ASSERT_OK(vs__quant_train(&p, x, n, dim, &c, &e));
    ASSERT(vs__quant_id(a) == vs__quant_id(b));
    ASSERT(vs__quant_id(a) != vs__quant_id(c));
    float da[32], db[32];
    for (int k = 0; k < 256; k++) {
        uint8_t code[8];
        memset(code, k, 8);
        vs__quant_decode(a, code, da);
        vs__quant_decode(b, code, db);
        ASSERT(!memcmp(da, db, sizeof da));
    }
    vs__quant_free(a);
    vs__quant_free(b);
    vs__quant_free(c);
    vs__free(cent);
    vs__free(x);
}

/* Fewer rows than centroids, one row, one dimension, constant data, zero queries. */
TEST(quant, degenerate_inputs) {
    rng_init(11);
    float x[100 * 3], q[3] = {0, 0, 0}, out[3];
    for (size_t i = 0; i < 300; i++) x[i] = frand();
    for (size_t c = 0; c < N_CASES; c++) {
        qcase cc = g_cases[c];
        if (cc.m) cc.m = 3;
        for (size_t n = 1; n <= 100; n += 99) {
            vs__quant *qz = train_case(&cc, x, n, 3);
            uint8_t codes[100 * 16];
            vs__quant_encode(qz, x, n, codes);
            vs__quant_query *qq;
            vs__err e = {0};
            ASSERT_OK(vs__quant_query_new(qz, &qq, &e));
            vs__quant_query_prepare(qq, q); /* the zero query */
            float s[100];
            vs__quant_score_rows(qq, codes, n, s);
            for (size_t i = 0; i < n; i++) ASSERT_MSG(isfinite(s[i]), "%s: %g", cc.what, s[i]);
            if (cc.type == VS_QUANT_PQ && n < 256) {
                /* every training row is a centroid: lossless on them */
                vs__quant_decode(qz, codes + (n - 1) * 3, out);
                ASSERT(!memcmp(out, x + (n - 1) * 3, sizeof out));
            }
            vs__quant_query_free(qq);
            vs__quant_free(qz);
        }
        cc.m = cc.m ? 1 : 0;
        vs__quant *qz = train_case(&cc, x, 10, 1); /* dim 1 */
        uint8_t codes[10 * 8];
        vs__quant_encode(qz, x, 10, codes);
        vs__quant_free(qz);
    }
    /* constant data: int8 steps are 0 and decoding is exact */
    for (size_t i = 0; i < 300; i++) x[i] = -2.5f;
    vs__quant *qz = train_ok(VS_QUANT_INT8, VS__SCORE_NEGL2, 0, x, 100, 3);
    uint8_t code[7];
    vs__quant_encode(qz, x, 1, code);
    vs__quant_decode(qz, code, out);
    ASSERT(out[0] == -2.5f && out[1] == -2.5f && out[2] == -2.5f);
    vs__quant_free(qz);
}

/* ------------------------------------------------------------ bad parameters -- */

TEST(quant, bad_parameters_rejected) {
    float x[64 * 10] = {0};
    vs__quant_params p;
    vs__quant *qz = (vs__quant *)&p; /* must be reset to NULL on failure */
    vs__err e = {0};
#define REJECT(dim, n, needle)                                                         \
    do {                                                                               \
        qz = (vs__quant *)&p;                                                          \
        ASSERT_RC(vs__quant_train(&p, x, n, dim, &qz, &e), VS_EINVAL);                 \
        ASSERT(qz == NULL);                                                            \
        ASSERT_CONTAINS(e.msg, needle);                                                \
    } while (0)
    vs__quant_params_init(&p, VS_QUANT_PQ, VS__SCORE_NEGL2);
    p.pq_m = 16;
    REJECT(100, 10, "pq: dim 100 is not a multiple of pq_m 16");
    p.pq_m = 0;
    REJECT(64, 10, "pq: pq_m must be at least 1, got 0");
    p.pq_m = 128;
    REJECT(64, 10, "not a multiple of pq_m 128");
    p.pq_m = 8;
    p.pq_iters = 0;
    REJECT(64, 10, "pq_iters 0 out of range");
    vs__quant_params_init(&p, VS_QUANT_BINARY, VS__SCORE_NEGL2);
    REJECT(64, 10, "binary: quantization needs the cosine or dot metric, not l2");
    vs__quant_params_init(&p, VS_QUANT_BINARY, VS__SCORE_DOT);
    p.bin_query_bits = 9;
    REJECT(64, 10, "query bits 9 out of range 1..8");
    vs__quant_params_init(&p, VS_QUANT_INT8, VS__SCORE_DOT);
    p.int8_quantile = 0.3f;
    REJECT(64, 10, "int8: quantile 0.3 out of range");
    p.int8_quantile = NAN;
    REJECT(64, 10, "int8: quantile nan");
    vs__quant_params_init(&p, VS_QUANT_INT8, VS__SCORE_DOT);
    REJECT(0, 10, "dimension 0 out of range");
    REJECT(64, 0, "int8: no training vectors");
    p.max_sample = 0;
    REJECT(64, 10, "max_sample 0 out of range");
    vs__quant_params_init(&p, 7, VS__SCORE_DOT);
    REJECT(64, 10, "unknown quantization type 7");
    vs__quant_params_init(&p, VS_QUANT_INT8, 5);
    REJECT(64, 10, "int8: unknown score kind 5");
#undef REJECT
}

/* -------------------------------------------------------------------- files -- */

static uint8_t *slurp(const char *path, size_t *len) {
    uint8_t *d;
    vs__err e = {0};
    ASSERT_OK(vs__file_read_all(path, &d, len, &e));
    return d;
}
static void spit(const char *path, const uint8_t *d, size_t len) {
    /* A fresh file, not a truncated one: ext4 flushes a file truncated and rewritten
     * when it is closed (auto_da_alloc), 1-2 ms each on the dev box. */
    unlink(path);
    FILE *f = fopen(path, "wb");
    ASSERT(f);
    ASSERT(fwrite(d, 1, len, f) == len);
    fclose(f);
}

TEST(quant, save_load_roundtrip) {
    rng_init(12);
    const size_t n = 700, dim = 104;
    float *cent = centres_new(8, dim);
    float *x = clustered(cent, 8, n, dim, 0.3f, 0);
    for (size_t c = 0; c < N_CASES; c++) {
        vs__quant *qz = train_case(&g_cases[c], x, n, dim), *ld = NULL;
        vs__err e = {0};
        char qp[4096], cp[4096];
        snprintf(qp, sizeof qp, "%s", vt_path("q.vsq"));
        snprintf(cp, sizeof cp, "%s", vt_path("codes.vsc"));
        ASSERT_OK(vs__quant_save(qz, qp, &e));
        ASSERT_OK(vs__quant_load(qp, &ld, &e));
        ASSERT(vs__quant_id(ld) == vs__quant_id(qz));
        ASSERT_EQ(vs__quant_type(ld), g_cases[c].type);
        ASSERT_EQ(vs__quant_kind(ld), g_cases[c].kind);
        ASSERT_EQ(vs__quant_dim(ld), dim);
        ASSERT_EQ(vs__quant_code_size(ld), vs__quant_code_size(qz));
        ASSERT(vs__quant_memory(ld) == vs__quant_memory(qz));
        size_t cs = vs__quant_code_size(qz);
        uint8_t *c1 = vs__malloc(n * cs), *c2 = vs__malloc(n * cs);
        float *s1 = vs__malloc(n * sizeof(float)), *s2 = vs__malloc(n * sizeof(float));
        ASSERT(c1 && c2 && s1 && s2);
        vs__quant_encode(qz, x, n, c1);
        vs__quant_encode(ld, x, n, c2);
        ASSERT(!memcmp(c1, c2, n * cs));
        vs__quant_query *q1, *q2;
        ASSERT_OK(vs__quant_query_new(qz, &q1, &e));
        ASSERT_OK(vs__quant_query_new(ld, &q2, &e));
        vs__quant_query_prepare(q1, x + 3 * dim);
        vs__quant_query_prepare(q2, x + 3 * dim);
        vs__quant_score_rows(q1, c1, n, s1);
        vs__quant_score_rows(q2, c2, n, s2);
        ASSERT(!memcmp(s1, s2, n * sizeof(float)));

        /* codes: written, mapped, identical; 64-byte aligned in the map */
        ASSERT_OK(vs__quant_codes_save(qz, c1, n, cp, &e));
        vs__quant_codes cf;
        ASSERT_OK(vs__quant_codes_open(ld, cp, &cf, &e));
        ASSERT_EQ(cf.n, n);
        ASSERT_EQ(cf.code_size, cs);
        ASSERT(((uintptr_t)cf.codes & 63) == 0);
        ASSERT(!memcmp(cf.codes, c1, n * cs));
        vs__quant_codes_close(&cf);
        vs__quant_codes_close(&cf); /* idempotent */
        ASSERT_OK(vs__quant_codes_save(qz, c1, 0, cp, &e)); /* empty is fine */
        ASSERT_OK(vs__quant_codes_open(qz, cp, &cf, &e));
        ASSERT_EQ(cf.n, 0);
        vs__quant_codes_close(&cf);
        ASSERT(!vs__path_exists(vt_path("codes.vsc.tmp")));

        vs__quant_query_free(q1);
        vs__quant_query_free(q2);
        vs__free(c1);
        vs__free(c2);
        vs__free(s1);
        vs__free(s2);
        vs__quant_free(qz);
        vs__quant_free(ld);
    }
    vs__free(cent);
    vs__free(x);
}

/* Writes `body` as a quantizer file with a valid frame (so only the content checks can
 * object) and expects load to fail with rc and a message containing needle. */
static void expect_body_rejected(const uint8_t *body, size_t len, int rc, const char *needle) {
    vs__err e = {0};
    const char *p = vt_path("bad.vsq");
    ASSERT_OK(vs__frame_write_file(p, "VSQUANT1", body, len, &e));
    vs__quant *qz = (vs__quant *)&e;
    ASSERT_RC(vs__quant_load(p, &qz, &e), rc);
    ASSERT(qz == NULL);
    ASSERT_CONTAINS(e.msg, needle);
}

TEST(quant, corrupt_quantizer_files_rejected) {
    rng_init(13);
    const size_t n = 300, dim = 16;
    float *x = vs__malloc(n * dim * sizeof(float));
    ASSERT(x);
    for (size_t i = 0; i < n * dim; i++) x[i] = frand();
    vs__err e = {0};
    char qp[4096]; /* vt_path's buffers rotate: keep our own copy */
    snprintf(qp, sizeof qp, "%s", vt_path("q.vsq"));

    /* 1. every single-byte change and every truncation of a saved file */
    for (size_t c = 0; c < N_CASES; c += 2) { /* int8 dot, pq dot, binary */
        qcase cc = g_cases[c];
        if (cc.m) cc.m = 4;
        vs__quant *qz = train_case(&cc, x, n, dim);
        ASSERT_OK(vs__quant_save(qz, qp, &e));
        size_t len;
        uint8_t *good = slurp(qp, &len);
        size_t step = len > 4000 ? 97 : 1; /* pq's 16 KB of centroids: a sample */
        for (size_t i = 0; i < len; i += (i < 128 ? 1 : step)) {
            good[i] ^= 0x10;
            spit(qp, good, len);
            good[i] ^= 0x10;
            vs__quant *ld = NULL;
            int rc = vs__quant_load(qp, &ld, &e);
            ASSERT_MSG(rc == VS_ECORRUPT, "%s: byte %zu flipped: %s", cc.what, i, vs_errname(rc));
            ASSERT(ld == NULL);
        }
        for (size_t l = 0; l < len; l += (l < 128 ? 1 : step)) {
            spit(qp, good, l);
            vs__quant *ld = NULL;
            ASSERT_RC(vs__quant_load(qp, &ld, &e), VS_ECORRUPT);
        }
        /* a newer format version (with a valid header checksum) */
        memcpy(good + 8, "\x02\x00\x00\x00", 4);
        vs__put_u64(good + 56, vs__checksum(good, 56));
        spit(qp, good, len);
        vs__quant *ld = NULL;
        ASSERT_RC(vs__quant_load(qp, &ld, &e), VS_EVERSION);
        vs__free(good);
        vs__quant_free(qz);
    }
    ASSERT_RC(vs__quant_load(vt_path("missing.vsq"), &(vs__quant *){NULL}, &e), VS_ENOTFOUND);

    /* 2. valid frames around inconsistent bodies */
    vs__quant *i8 = train_ok(VS_QUANT_INT8, VS__SCORE_DOT, 0, x, n, dim);
    vs__quant *pq = train_ok(VS_QUANT_PQ, VS__SCORE_DOT, 4, x, n, dim);
    size_t li, lp;
    ASSERT_OK(vs__quant_save(i8, qp, &e));
    uint8_t *fi = slurp(qp, &li);
    ASSERT_OK(vs__quant_save(pq, qp, &e));
    uint8_t *fp = slurp(qp, &lp);
    uint8_t *bi = fi + 64, *bp = fp + 64; /* bodies */
    li -= 64;
    lp -= 64;
    uint8_t *w = vs__malloc(lp + 8);
    ASSERT(w);
#define MUTATE(src, len, off, val, needle)                                             \
    do {                                                                               \
        memcpy(w, src, len);                                                           \
        vs__put_u32(w + (off), (uint32_t)(val));                                       \
        expect_body_rejected(w, len, VS_ECORRUPT, needle);                             \
    } while (0)
    MUTATE(bi, li, 0, 9, "unknown quantization type 9");
    MUTATE(bi, li, 4, 2, "unknown score kind 2");
    MUTATE(bi, li, 8, 0, "dimension 0 out of range");
    MUTATE(bi, li, 8, 17, "code size 16, expected 17");
    MUTATE(bi, li, 12, 20, "code size 20, expected 16");
    MUTATE(bi, li, 16, 2, "int8 flags");
    MUTATE(bi, li, 20, 0x3e800000, "int8 quantile 0.25 out of range");
    MUTATE(bi, li, 28, 1, "reserved header field is 1");
    MUTATE(bi, li, 48 + 4 * dim + 8, 0xbf800000, "int8 step 2 is negative");
    MUTATE(bi, li, 48 + 8, 0x7fc00000, "NaN or infinity");
    MUTATE(bp, lp, 16, 5, "pq_m 5 does not divide dim 16");
    MUTATE(bp, lp, 16, 0, "pq_m 0 does not divide dim 16");
    MUTATE(bp, lp, 20, 16, "pq has 16 centroids, expected 256");
    MUTATE(bp, lp, 24, 0, "pq iterations 0 out of range");
#undef MUTATE
    memcpy(w, bi, li);
    w[li] = 0;
    expect_body_rejected(w, li + 1, VS_ECORRUPT, "expected");
    expect_body_rejected(w, li - 4, VS_ECORRUPT, "expected");
    expect_body_rejected(w, 20, VS_ECORRUPT, "less than its 48-byte header");
    /* binary with l2 */
    vs__quant *bn = train_ok(VS_QUANT_BINARY, VS__SCORE_DOT, 0, x, n, dim);
    ASSERT_OK(vs__quant_save(bn, qp, &e));
    size_t lb;
    uint8_t *fb = slurp(qp, &lb);
    memcpy(w, fb + 64, lb - 64);
    vs__put_u32(w + 4, 1);
    expect_body_rejected(w, lb - 64, VS_ECORRUPT, "binary quantizer with the l2 score kind");
    memcpy(w, fb + 64, lb - 64);
    vs__put_u32(w + 16, 0);
    expect_body_rejected(w, lb - 64, VS_ECORRUPT, "binary query bits 0 out of range");
    vs__free(fb);
    vs__quant_free(bn);
    vs__free(w);
    vs__free(fi);
    vs__free(fp);
    vs__quant_free(i8);
    vs__quant_free(pq);
    vs__free(x);
}

TEST(quant, corrupt_codes_files_rejected) {
    rng_init(14);
    const size_t n = 50, dim = 24;
    float x[50 * 24];
    for (size_t i = 0; i < n * dim; i++) x[i] = frand();
    vs__quant *qz = train_ok(VS_QUANT_INT8, VS__SCORE_NEGL2, 0, x, n, dim);
    vs__quant *other = train_ok(VS_QUANT_INT8, VS__SCORE_NEGL2, 0, x, n - 1, dim);
    vs__quant *pq = train_ok(VS_QUANT_PQ, VS__SCORE_NEGL2, 4, x, n, dim);
    size_t cs = vs__quant_code_size(qz);
    uint8_t codes[50 * 28];
    vs__quant_encode(qz, x, n, codes);
    vs__err e = {0};
    char cp[4096];
    snprintf(cp, sizeof cp, "%s", vt_path("c.vsc"));
    ASSERT_OK(vs__quant_codes_save(qz, codes, n, cp, &e));
    vs__quant_codes cf;
    ASSERT_RC(vs__quant_codes_open(other, cp, &cf, &e), VS_ECORRUPT);
    ASSERT_CONTAINS(e.msg, "encoded by another quantizer");
    ASSERT(cf.codes == NULL);
    ASSERT_RC(vs__quant_codes_open(pq, cp, &cf, &e), VS_ECORRUPT);
    ASSERT_CONTAINS(e.msg, "the quantizer is pq");
    size_t len;
    uint8_t *good = slurp(cp, &len);
    ASSERT_EQ(len, 128 + n * cs);
    for (size_t i = 0; i < len; i++) {
        good[i] ^= 0x01;
        spit(cp, good, len);
        good[i] ^= 0x01;
        ASSERT_RC(vs__quant_codes_open(qz, cp, &cf, &e), VS_ECORRUPT);
    }
    for (size_t l = 0; l < len; l++) {
        spit(cp, good, l);
        ASSERT_RC(vs__quant_codes_open(qz, cp, &cf, &e), VS_ECORRUPT);
    }
    /* inconsistent header with a valid checksum: rewrite the body through the frame */
    uint8_t *body = vs__memdup(good + 64, len - 64);
    ASSERT(body);
    struct {
        size_t off;
        uint64_t val;
        int wide;
        const char *needle;
    } muts[] = {{0, 51, 1, "51 codes of 28 bytes do not fill"},
                {0, 49, 1, "49 codes of 28 bytes do not fill"},
                {0, UINT64_MAX / 2, 1, "do not fill"},
                {8, 27, 0, "27 bytes, the quantizer is"},
                {16, 0, 0, "kind 0"},
                {40, 1, 0, "reserved codes header byte 40"}};
    for (size_t k = 0; k < sizeof muts / sizeof muts[0]; k++) {
        uint8_t *b = vs__memdup(body, len - 64);
        ASSERT(b);
        if (muts[k].wide)
            vs__put_u64(b + muts[k].off, muts[k].val);
        else
            vs__put_u32(b + muts[k].off, (uint32_t)muts[k].val);
        ASSERT_OK(vs__frame_write_file(cp, "VSQCODE1", b, len - 64, &e));
        ASSERT_RC(vs__quant_codes_open(qz, cp, &cf, &e), VS_ECORRUPT);
        ASSERT_CONTAINS(e.msg, muts[k].needle);
        vs__free(b);
    }
    vs__free(body);
    vs__free(good);
    vs__quant_free(qz);
    vs__quant_free(other);
    vs__quant_free(pq);
}

/* An I/O fault at any operation of a save leaves the previous file loadable. */
TEST(quant, save_io_faults_keep_old_file) {
    rng_init(15);
    float x[200 * 8];
    for (size_t i = 0; i < 200 * 8; i++) x[i] = frand();
    vs__quant *a = train_ok(VS_QUANT_INT8, VS__SCORE_DOT, 0, x, 200, 8);
    vs__quant *b = train_ok(VS_QUANT_INT8, VS__SCORE_DOT, 0, x, 100, 8);
    uint8_t codes[200 * 8];
    vs__quant_encode(a, x, 200, codes);
    vs__err e = {0};
    char qp[4096], cp[4096];
    snprintf(qp, sizeof qp, "%s", vt_path("q.vsq"));
    snprintf(cp, sizeof cp, "%s", vt_path("c.vsc"));
    ASSERT_OK(vs__quant_save(a, qp, &e));
    ASSERT_OK(vs__quant_codes_save(a, codes, 200, cp, &e));
    for (int which = 0; which < 2; which++)
        for (int64_t nth = 1;; nth++) {
            int64_t hits0 = vs__io_fault_hits();
            vs__io_fault_arm(VS_IO_ANY, nth, VS_FAULT_EIO, 0);
            int rc = which ? vs__quant_codes_save(b, codes, 100, cp, &e)
                           : vs__quant_save(b, qp, &e);
            vs__io_fault_disarm();
            if (vs__io_fault_hits() == hits0) { /* nothing injected: it must have worked */
                ASSERT_OK(rc);
                break;
            }
            ASSERT_MSG(rc != VS_OK, "save with I/O fault %lld succeeded", (long long)nth);
            /* the file holds the old or (rename done, dir fsync failed) the new content */
            vs__quant *ld = NULL;
            if (!which) {
                ASSERT_OK(vs__quant_load(qp, &ld, &e));
                ASSERT(vs__quant_id(ld) == vs__quant_id(a) || vs__quant_id(ld) == vs__quant_id(b));
                vs__quant_free(ld);
                ASSERT_OK(vs__quant_save(a, qp, &e));
            } else {
                vs__quant_codes cf;
                int r1 = vs__quant_codes_open(a, cp, &cf, &e);
                vs__quant_codes_close(&cf);
                int r2 = vs__quant_codes_open(b, cp, &cf, &e);
                vs__quant_codes_close(&cf);
                ASSERT_MSG(r1 == VS_OK || r2 == VS_OK, "codes fault %lld (%s): %s", (long long)nth, vs_errname(rc), e.msg);
                ASSERT_OK(vs__quant_codes_save(a, codes, 200, cp, &e));
            }
            ASSERT(!vs__path_exists(vt_path(which ? "c.vsc.tmp" : "q.vsq.tmp")));
        }
    vs__quant_free(a);
    vs__quant_free(b);
}

/* ----------------------------------------------------------- allocation faults -- */

/* Everything that allocates, in the order the engine will call it. */
static int full_cycle(const qcase *c, const float *x, size_t n, size_t dim, vs__err *e) {
    vs__quant_params p;
    vs__quant_params_init(&p, c->type, c->kind);
    p.pq_m = c->m;
    p.pq_iters = 3;
    p.int8_per_dim = !c->global;
    if (c->qbits) p.bin_query_bits = c->qbits;
    vs__quant *qz = NULL, *ld = NULL;
    vs__quant_query *qq = NULL;
    uint8_t *codes = NULL;
    vs__quant_codes cf = {0};
    int rc = vs__quant_train(&p, x, n, dim, &qz, e);
    if (rc) goto done;
    codes = vs__malloc(n * vs__quant_code_size(qz));
    if (!codes) {
        rc = vs__errf(e, VS_ENOMEM, "out of memory (test codes)");
        goto done;
    }
    vs__quant_encode(qz, x, n, codes);
    if ((rc = vs__quant_query_new(qz, &qq, e))) goto done;
    vs__quant_query_prepare(qq, x);
    (void)vs__quant_score(qq, codes);
    if ((rc = vs__quant_save(qz, vt_path("f.vsq"), e))) goto done;
    if ((rc = vs__quant_load(vt_path("f.vsq"), &ld, e))) goto done;
    if ((rc = vs__quant_codes_save(ld, codes, n, vt_path("f.vsc"), e))) goto done;
    rc = vs__quant_codes_open(ld, vt_path("f.vsc"), &cf, e);
done:
    vs__quant_codes_close(&cf);
    vs__quant_query_free(qq);
    vs__free(codes);
    vs__quant_free(qz);
    vs__quant_free(ld);
    return rc;
}

TEST(quant, allocation_failure_sweep) {
    rng_init(16);
    const size_t n = 300, dim = 12;
    float *x = vs__malloc(n * dim * sizeof(float));
    ASSERT(x);
    for (size_t i = 0; i < n * dim; i++) x[i] = frand();
    qcase cases[N_CASES + 1];
    memcpy(cases, g_cases, sizeof g_cases);
    cases[N_CASES] = (qcase){VS_QUANT_INT8, VS__SCORE_DOT, 0, 0, "int8 global", 1};
    for (size_t c = 0; c < N_CASES; c++)
        if (cases[c].m) cases[c].m = 4;
    for (size_t c = 0; c < N_CASES + 1; c++) {
        for (int sticky = 0; sticky < 2; sticky++)
            for (int64_t nth = 1;; nth++) {
                int64_t live0 = vs__alloc_live(), f0 = vs__alloc_failures();
                vs__err e = {0};
                if (sticky)
                    vs__alloc_fail_all_after(nth);
                else
                    vs__alloc_fail_after(nth);
                int rc = full_cycle(&cases[c], x, n, dim, &e);
                vs__alloc_fail_after(0);
                int injected = vs__alloc_failures() != f0;
                ASSERT_MSG(vs__alloc_live() == live0, "%s: allocation %lld failed: %lld leaked",
                           cases[c].what, (long long)nth, (long long)(vs__alloc_live() - live0));
                if (!injected) {
                    ASSERT_MSG(rc == VS_OK, "%s: %s", cases[c].what, e.msg);
                    break;
                }
                ASSERT_MSG(rc == VS_ENOMEM, "%s: allocation %lld failed, got %s: %s",
                           cases[c].what, (long long)nth, vs_errname(rc), e.msg);
                ASSERT_CONTAINS(e.msg, "out of memory");
            }
    }
    vs__free(x);
}
