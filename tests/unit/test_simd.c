/*
 * test_simd.c — the distance kernels against the scalar oracle.
 *
 * Every build this CPU can run (vs__dist_get) is compared with distance_scalar.c, which
 * sums in index order in plain C. The builds sum in a different order, so results agree
 * to rounding, not bitwise: the tolerance is relative to the magnitude the rounding
 * error scales with (sum |q_i x_i| for dot, the value itself for l2, ||q||² + ||x||²
 * for the sgemm identity) and grows like sqrt(dim). The largest error seen over dims
 * 1..1600 for avx2, avx512 and sgemm was 8 % of it, while one dropped or extra element
 * moves a result by 15x the tolerance even at dim 1536.
 *
 * Vectors are placed flush against a PROT_NONE page, so a kernel that reads one float
 * past its last row or past the query dies with SIGSEGV instead of passing by luck; the
 * output array carries a canary after its last element. Dimensions 1..300 cover every
 * tail length of both vector widths and every instantiated fixed-dimension path, plus
 * the sizes embeddings actually have (384, 768, 1536); row counts cover empty input,
 * fewer rows than one block, and blocks plus a remainder.
 *
 * Also covered: sgemm against the row kernels (with its l2 clamp and its OOM path),
 * VS_SIMD forcing and fallback through vs__dist_reset_for_test(), and that detection
 * offers every build /proc/cpuinfo says the CPU can run.
 *
 * About 0.7 s in a release build, 1.5 s under ASan; VS_TEST_LONG=1 adds 1000-row cases
 * for every dimension.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "simd/distance.h"
#include "test.h"
#include "util/alloc.h"
#include "vecstore.h"

static const char *const g_isas[] = {"scalar", "avx2", "avx512"};
#define N_ISAS (sizeof g_isas / sizeof g_isas[0])

/* ------------------------------------------------------------------ helpers -- */

static uint64_t g_rng;
static void rng_init(unsigned salt) {
    g_rng = ((uint64_t)vt_seed() << 32 | salt) * 0x9E3779B97F4A7C15ull | 1;
}
static float frand(void) { /* uniform in [-1, 1) */
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (float)((double)(g_rng >> 40) / (double)(1ull << 23) - 1.0);
}

/* count floats ending exactly at a PROT_NONE page. */
typedef struct guarded {
    void *map;
    size_t len;
    float *p;
} guarded;

static float *guarded_new(guarded *g, size_t count) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t bytes = count * sizeof(float);
    size_t data = (bytes + page - 1) / page * page;
    g->len = data + page;
    g->map = mmap(NULL, g->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT(g->map != MAP_FAILED);
    ASSERT(mprotect((char *)g->map + data, page, PROT_NONE) == 0);
    g->p = (float *)((char *)g->map + data - bytes);
    for (size_t i = 0; i < count; i++) g->p[i] = frand();
    return g->p;
}

static void guarded_free(guarded *g) {
    if (g->map && g->map != MAP_FAILED) munmap(g->map, g->len);
    g->map = NULL;
}

static double tol_for(size_t dim) { return 1e-6 * (4.0 + sqrt((double)dim)); }

static double abs_dot(const float *a, const float *b, size_t dim) {
    double s = 0.0;
    for (size_t i = 0; i < dim; i++) s += fabs((double)a[i] * (double)b[i]);
    return s;
}

static double sq_norm(const float *a, size_t dim) {
    double s = 0.0;
    for (size_t i = 0; i < dim; i++) s += (double)a[i] * (double)a[i];
    return s;
}

#define CHECK_CLOSE(got, want, mag, dim, ...)                                         \
    do {                                                                               \
        double g_ = (double)(got), w_ = (double)(want);                                \
        double t_ = tol_for(dim) * (double)(mag);                                      \
        if (!(fabs(g_ - w_) <= t_)) {                                                  \
            char ctx_[160];                                                            \
            snprintf(ctx_, sizeof ctx_, __VA_ARGS__);                                  \
            vt_fail(__FILE__, __LINE__, "%s: got %.9g, oracle %.9g (diff %.3g, tol %.3g)", \
                    ctx_, g_, w_, fabs(g_ - w_), t_);                                  \
        }                                                                              \
    } while (0)

static const float CANARY = 12345.5f;

/* Both row kernels of ops against the oracle for n rows of dim, with the rows and the
 * query flush against guard pages. */
static void check_rows(const vs__dist_ops *ops, size_t n, size_t dim) {
    guarded gx = {0}, gq = {0};
    float *x = guarded_new(&gx, n > 0 ? n * dim : 1);
    float *q = guarded_new(&gq, dim);
    float *got = vs__malloc((n + 1) * sizeof(float));
    float *want = vs__malloc((n + 1) * sizeof(float));
    ASSERT(got && want);

    for (int l2 = 0; l2 < 2; l2++) {
        got[n] = CANARY;
        (l2 ? ops->negl2_rows : ops->dot_rows)(q, x, n, dim, got);
        (l2 ? vs__dist_scalar.negl2_rows : vs__dist_scalar.dot_rows)(q, x, n, dim, want);
        ASSERT_MSG(got[n] == CANARY, "%s %s n %zu dim %zu: wrote past out[n-1]", ops->name,
                   l2 ? "negl2_rows" : "dot_rows", n, dim);
        for (size_t i = 0; i < n; i++) {
            const float *r = x + i * dim;
            double mag = l2 ? -(double)want[i] : abs_dot(q, r, dim);
            CHECK_CLOSE(got[i], want[i], mag, dim, "%s %s n %zu dim %zu row %zu", ops->name,
                        l2 ? "negl2_rows" : "dot_rows", n, dim, i);
            if (l2) ASSERT_MSG(got[i] <= 0.0f, "negl2 must be <= 0, got %g", got[i]);
        }
    }
    vs__free(got);
    vs__free(want);
    guarded_free(&gx);
    guarded_free(&gq);
}

static void check_pair(const vs__dist_ops *ops, size_t dim) {
    guarded ga = {0}, gb = {0};
    float *a = guarded_new(&ga, dim);
    float *b = guarded_new(&gb, dim);
    CHECK_CLOSE(ops->dot(a, b, dim), vs__dist_scalar.dot(a, b, dim), abs_dot(a, b, dim), dim,
                "%s dot dim %zu", ops->name, dim);
    float l2 = vs__dist_scalar.l2sq(a, b, dim);
    CHECK_CLOSE(ops->l2sq(a, b, dim), l2, l2, dim, "%s l2sq dim %zu", ops->name, dim);
    CHECK_CLOSE(ops->norm_sq(a, NULL, dim), vs__dist_scalar.norm_sq(a, NULL, dim),
                sq_norm(a, dim), dim, "%s norm_sq dim %zu", ops->name, dim);
    ASSERT(ops->l2sq(a, a, dim) == 0.0f);
    guarded_free(&ga);
    guarded_free(&gb);
}

static const vs__dist_ops *best_ops(void) {
    for (size_t k = N_ISAS; k-- > 0;) {
        const vs__dist_ops *o = vs__dist_get(g_isas[k]);
        if (o) return o;
    }
    return NULL;
}

/* --------------------------------------------------------------------- tests -- */

TEST(simd, get_and_names) {
    ASSERT(vs__dist_get("scalar") == &vs__dist_scalar);
    ASSERT(vs__dist_get("avx1024") == NULL);
    ASSERT(vs__dist_get("") == NULL);
    ASSERT(vs__dist_get(NULL) == NULL);
    for (size_t k = 0; k < N_ISAS; k++) {
        const vs__dist_ops *o = vs__dist_get(g_isas[k]);
        if (!o) continue;
        ASSERT_STREQ(o->name, g_isas[k]);
        ASSERT(o->dot && o->l2sq && o->dot_rows && o->negl2_rows && o->norm_sq);
    }
    vs__dist_init();
    vs__dist_init(); /* idempotent */
    ASSERT(vs__dist() != NULL);
    ASSERT_STREQ(vs_simd_name(), vs__dist()->name);
}

/* The detection must not under-report: where the kernel lists the flags, the build
 * compiled for them has to be offered (a mistake here silently costs 2-3x). */
TEST(simd, detection_matches_cpuinfo) {
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return; /* not Linux: nothing to compare with */
    char line[8192];
    int avx2 = 0, avx512 = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "flags", 5) != 0) continue;
        char *p = strchr(line, ':');
        if (!p) break;
        int has[8] = {0};
        static const char *const want[] = {"avx2", "fma", "avx512f", "avx512dq", "avx512bw",
                                           "avx512vl"};
        for (char *tok = strtok(p + 1, " \n"); tok; tok = strtok(NULL, " \n"))
            for (size_t i = 0; i < 6; i++)
                if (!strcmp(tok, want[i])) has[i] = 1;
        avx2 = has[0] && has[1];
        avx512 = avx2 && has[2] && has[3] && has[4] && has[5];
        break;
    }
    fclose(f);
    ASSERT_EQ(vs__dist_get("avx2") != NULL, avx2);
    ASSERT_EQ(vs__dist_get("avx512") != NULL, avx512);
}

TEST(simd, pair_kernels_match_oracle) {
    rng_init(1);
    static const size_t big[] = {384, 512, 768, 1024, 1536, 4096};
    for (size_t k = 0; k < N_ISAS; k++) {
        const vs__dist_ops *o = vs__dist_get(g_isas[k]);
        if (!o) continue;
        for (size_t dim = 1; dim <= 300; dim++) check_pair(o, dim);
        for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) check_pair(o, big[i]);
    }
}

TEST(simd, row_kernels_match_oracle_all_dims) {
    rng_init(2);
    static const size_t ns[] = {0, 1, 3, 4, 5, 7, 13};
    for (size_t k = 0; k < N_ISAS; k++) {
        const vs__dist_ops *o = vs__dist_get(g_isas[k]);
        if (!o) continue;
        for (size_t dim = 1; dim <= 300; dim++)
            for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) check_rows(o, ns[i], dim);
    }
}

TEST(simd, row_kernels_match_oracle_1000_rows) {
    rng_init(3);
    static const size_t dims[] = {1,   2,   3,   7,   8,   9,   15,  16,  17,  31,  32,
                                  33,  63,  64,  65,  100, 127, 128, 129, 200, 255, 256,
                                  257, 300, 384, 768, 1536};
    for (size_t k = 0; k < N_ISAS; k++) {
        const vs__dist_ops *o = vs__dist_get(g_isas[k]);
        if (!o) continue;
        if (vt_long()) {
            for (size_t dim = 1; dim <= 300; dim++) check_rows(o, 1000, dim);
        } else {
            for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++) check_rows(o, 1000, dims[i]);
        }
        check_rows(o, 7, 384);
        check_rows(o, 7, 768);
        check_rows(o, 7, 1536);
        check_rows(o, 1, 1536);
    }
}

/* Every misalignment of the rows and the query relative to a 64-byte line. */
TEST(simd, row_kernels_unaligned) {
    rng_init(4);
    static const size_t dims[] = {1, 5, 16, 24, 100, 128, 300, 384};
    const size_t n = 37;
    float *buf = vs__aligned_alloc(64, (n * 384 + 64) * sizeof(float));
    float *qbuf = vs__aligned_alloc(64, (384 + 64) * sizeof(float));
    float *got = vs__malloc(n * sizeof(float));
    float *want = vs__malloc(n * sizeof(float));
    ASSERT(buf && qbuf && got && want);
    for (size_t i = 0; i < n * 384 + 64; i++) buf[i] = frand();
    for (size_t i = 0; i < 384 + 64; i++) qbuf[i] = frand();
    for (size_t k = 0; k < N_ISAS; k++) {
        const vs__dist_ops *o = vs__dist_get(g_isas[k]);
        if (!o) continue;
        for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++) {
            const size_t dim = dims[d];
            for (size_t off = 0; off < 16; off++) {
                const float *x = buf + off, *q = qbuf + (15 - off);
                for (int l2 = 0; l2 < 2; l2++) {
                    (l2 ? o->negl2_rows : o->dot_rows)(q, x, n, dim, got);
                    (l2 ? vs__dist_scalar.negl2_rows : vs__dist_scalar.dot_rows)(q, x, n, dim,
                                                                                  want);
                    for (size_t i = 0; i < n; i++)
                        CHECK_CLOSE(got[i], want[i],
                                    l2 ? -(double)want[i] : abs_dot(q, x + i * dim, dim), dim,
                                    "%s %s dim %zu offset %zu row %zu", o->name,
                                    l2 ? "negl2" : "dot", dim, off, i);
                }
            }
        }
    }
    vs__aligned_free(buf);
    vs__aligned_free(qbuf);
    vs__free(got);
    vs__free(want);
}

/* A NaN or infinity in one row must not reach its neighbours' scores. The vector builds
 * end a row with a masked load today; a faster tail that reads into the next row would
 * have to discard those lanes with a blend, not a multiply by zero (0 * NaN = NaN). */
TEST(simd, nonfinite_row_does_not_leak) {
    rng_init(5);
    static const size_t dims[] = {1, 3, 8, 15, 17, 100, 129, 300};
    const size_t n = 40;
    float *x = vs__malloc(n * 300 * sizeof(float));
    float *q = vs__malloc(300 * sizeof(float));
    float *out = vs__malloc(n * sizeof(float));
    ASSERT(x && q && out);
    for (size_t i = 0; i < 300; i++) q[i] = frand();
    for (size_t k = 0; k < N_ISAS; k++) {
        const vs__dist_ops *o = vs__dist_get(g_isas[k]);
        if (!o) continue;
        for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++) {
            const size_t dim = dims[d];
            for (size_t i = 0; i < n * dim; i++) x[i] = frand();
            for (size_t i = 0; i < dim; i++) {
                x[10 * dim + i] = NAN;
                x[21 * dim + i] = INFINITY;
            }
            for (int l2 = 0; l2 < 2; l2++) {
                (l2 ? o->negl2_rows : o->dot_rows)(q, x, n, dim, out);
                for (size_t i = 0; i < n; i++) {
                    if (i == 10 || i == 21) continue;
                    ASSERT_MSG(isfinite(out[i]), "%s %s dim %zu: row %zu scored %g",
                               o->name, l2 ? "negl2" : "dot", dim, i, out[i]);
                }
                ASSERT(isnan(out[10]));
            }
        }
    }
    vs__free(x);
    vs__free(q);
    vs__free(out);
}

TEST(simd, identical_vectors_score_exactly) {
    rng_init(6);
    float x[4 * 768], out[4];
    for (size_t k = 0; k < N_ISAS; k++) {
        const vs__dist_ops *o = vs__dist_get(g_isas[k]);
        if (!o) continue;
        for (size_t dim = 1; dim <= 768; dim += 97) {
            for (size_t i = 0; i < dim; i++) x[i] = x[dim + i] = x[2 * dim + i] = frand();
            for (size_t i = 0; i < dim; i++) x[3 * dim + i] = 0.0f;
            o->negl2_rows(x, x, 3, dim, out);
            for (int i = 0; i < 3; i++)
                ASSERT_MSG(out[i] == 0.0f, "%s dim %zu: %g", o->name, dim, out[i]);
            o->dot_rows(x + 3 * dim, x, 3, dim, out);
            for (int i = 0; i < 3; i++) ASSERT(out[i] == 0.0f);
        }
    }
}

/* sgemm scores against the scalar row kernels, for shapes from 1 x 1 to ones that span
 * several of OpenBLAS's own blocks, with an ld_out wider than n (the gap must stay
 * untouched). */
TEST(simd, gemm_matches_row_kernels) {
    rng_init(7);
    static const struct {
        size_t nq, n, dim;
    } cases[] = {{1, 1, 1},   {3, 7, 3},     {5, 1000, 16},  {2, 2500, 128},
                 {300, 1100, 100}, {17, 33, 257}, {4, 9, 1536}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const size_t nq = cases[c].nq, n = cases[c].n, dim = cases[c].dim, ld = n + 5;
        float *qs = vs__malloc(nq * dim * sizeof(float));
        float *x = vs__malloc(n * dim * sizeof(float));
        float *norms = vs__malloc(n * sizeof(float));
        float *out = vs__malloc(nq * ld * sizeof(float));
        float *want = vs__malloc(n * sizeof(float));
        ASSERT(qs && x && norms && out && want);
        for (size_t i = 0; i < nq * dim; i++) qs[i] = frand();
        for (size_t i = 0; i < n * dim; i++) x[i] = frand();
        for (size_t j = 0; j < n; j++) norms[j] = vs__dist_scalar.norm_sq(x + j * dim, NULL, dim);
        for (int kind = VS__SCORE_DOT; kind <= VS__SCORE_NEGL2; kind++) {
            for (size_t i = 0; i < nq * ld; i++) out[i] = CANARY;
            ASSERT_EQ(vs__dist_gemm(kind, qs, nq, x, n, dim, kind ? norms : NULL, out, ld), 0);
            for (size_t i = 0; i < nq; i++) {
                const float *q = qs + i * dim;
                (kind ? vs__dist_scalar.negl2_rows : vs__dist_scalar.dot_rows)(q, x, n, dim,
                                                                                want);
                for (size_t j = 0; j < n; j++) {
                    double mag = kind ? sq_norm(q, dim) + sq_norm(x + j * dim, dim)
                                      : abs_dot(q, x + j * dim, dim);
                    CHECK_CLOSE(out[i * ld + j], want[j], mag, dim,
                                "gemm %s nq %zu n %zu dim %zu: q %zu row %zu",
                                kind ? "negl2" : "dot", nq, n, dim, i, j);
                    if (kind) ASSERT(out[i * ld + j] <= 0.0f);
                }
                for (size_t j = n; j < ld; j++)
                    ASSERT_MSG(out[i * ld + j] == CANARY, "gemm wrote into the ld_out gap");
            }
        }
        vs__free(qs);
        vs__free(x);
        vs__free(norms);
        vs__free(out);
        vs__free(want);
    }
}

TEST(simd, gemm_identical_vectors_clamp_to_zero) {
    rng_init(8);
    enum { NQ = 8, DIM = 100 };
    float x[NQ * DIM], norms[NQ], out[NQ * NQ];
    for (size_t i = 0; i < NQ * DIM; i++) x[i] = frand() * 100.0f;
    for (size_t j = 0; j < NQ; j++) norms[j] = vs__dist_scalar.norm_sq(x + j * DIM, NULL, DIM);
    ASSERT_EQ(vs__dist_gemm(VS__SCORE_NEGL2, x, NQ, x, NQ, DIM, norms, out, NQ), 0);
    for (size_t i = 0; i < NQ; i++) {
        for (size_t j = 0; j < NQ; j++) ASSERT(out[i * NQ + j] <= 0.0f);
        /* cancellation leaves a few ulps of ||x||² (~3e5 here), not 0 */
        ASSERT_NEAR(out[i * NQ + i], 0.0, 1e-5 * 2.0 * norms[i]);
    }
}

TEST(simd, gemm_empty_and_oom) {
    float q[4] = {1, 2, 3, 4}, x[8] = {1, 0, 0, 0, 0, 1, 0, 0}, norms[2] = {1, 1}, out[2];
    ASSERT_EQ(vs__dist_gemm(VS__SCORE_NEGL2, q, 0, x, 2, 4, norms, out, 2), 0);
    ASSERT_EQ(vs__dist_gemm(VS__SCORE_NEGL2, q, 1, x, 0, 4, norms, out, 2), 0);
    vs__alloc_fail_after(1);
    ASSERT_EQ(vs__dist_gemm(VS__SCORE_NEGL2, q, 1, x, 2, 4, norms, out, 2), -1);
    vs__alloc_fail_after(1);
    ASSERT_EQ(vs__dist_gemm(VS__SCORE_DOT, q, 1, x, 2, 4, NULL, out, 2), 0); /* no scratch */
    vs__alloc_fail_after(0);
    ASSERT_NEAR(out[0], 1.0, 1e-6);
    ASSERT_NEAR(out[1], 2.0, 1e-6);
    ASSERT_EQ(vs__dist_gemm(VS__SCORE_NEGL2, q, 1, x, 2, 4, norms, out, 2), 0);
    ASSERT_NEAR(out[0], -(30.0 + 1.0 - 2.0), 1e-5); /* ||q||² = 30 */
    ASSERT_NEAR(out[1], -(30.0 + 1.0 - 4.0), 1e-5);
}

TEST(simd, env_forces_path) {
    const char *old = getenv("VS_SIMD");
    char *saved = old ? strdup(old) : NULL;
    const vs__dist_ops *best = best_ops();
    const vs__dist_ops *a2 = vs__dist_get("avx2");
    const vs__dist_ops *a512 = vs__dist_get("avx512");
    static const struct {
        const char *env;
        int level; /* 0 scalar, 1 avx2, 2 avx512, -1 best */
    } cases[] = {{"scalar", 0}, {"avx2", 1}, {"avx512", 2}, {"sse9", -1}, {"", -1}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        setenv("VS_SIMD", cases[c].env, 1);
        vs__dist_reset_for_test();
        const vs__dist_ops *want = best;
        if (cases[c].level == 0) want = &vs__dist_scalar;
        if (cases[c].level == 1) want = a2 ? a2 : &vs__dist_scalar;
        if (cases[c].level == 2) want = a512 ? a512 : a2 ? a2 : &vs__dist_scalar;
        ASSERT_MSG(vs__dist() == want, "VS_SIMD=%s selected %s, want %s", cases[c].env,
                   vs__dist()->name, want->name);
        ASSERT_STREQ(vs_simd_name(), want->name);
    }
    unsetenv("VS_SIMD");
    vs__dist_reset_for_test();
    ASSERT(vs__dist() == best);
    if (saved) setenv("VS_SIMD", saved, 1);
    free(saved);
    vs__dist_reset_for_test();
}

static void *dist_thread(void *arg) {
    const vs__dist_ops **slot = arg;
    vs__dist_init();
    *slot = vs__dist();
    return NULL;
}

TEST(simd, concurrent_init_agrees) {
    enum { T = 8 };
    pthread_t th[T];
    const vs__dist_ops *got[T];
    for (int i = 0; i < T; i++) ASSERT_EQ(pthread_create(&th[i], NULL, dist_thread, &got[i]), 0);
    for (int i = 0; i < T; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < T; i++) ASSERT(got[i] == vs__dist());
}
