/*
 * quant.c — vector quantizers: training, encoding, query preparation, scoring, files.
 *
 * The contract, the score formulas, the error bound and the file layouts are in
 * quant.h; this file implements them and chooses the kernel table. What is worth
 * knowing before changing it:
 *
 *   - Kernels (quant_<isa>.c) do the per-row work and are exact or order-preserving, so
 *     every build gives the same bits; the float arithmetic that turns their integer
 *     results into scores (finish_*) is here, in baseline code shared by all builds.
 *     Scores are finished in chunks of CHUNK rows through a stack buffer: the extra
 *     store and load of 4-8 bytes per row is small next to the code bytes themselves
 *     (>= 16 per row) and keeps the kernels free of float formulas.
 *   - Training reads the input through a sample of row indices (Knuth's Algorithm S,
 *     TAOCP vol. 2, 3.4.2: uniform, in order, no copy of the rows), so memory stays
 *     O(sample * dsub) for PQ and O(sample * 16) for int8 whatever n and dim are.
 *   - Everything that must be reproducible (sampling, k-means, norms stored in codes)
 *     is computed sequentially in a fixed order, with double accumulators where a sum
 *     is kept.
 *   - int8 codes of l2 vectors carry ||x^||^2 computed in double here, not with the
 *     SIMD distance kernels, whose rounding differs between builds.
 *
 * KERNEL SELECTION (as simd/distance.c): pthread_once picks the best table the CPU
 * supports (__builtin_cpu_supports checks CPUID and that the OS saves the registers);
 * VS_SIMD=scalar|avx2|avx512 caps the level (avx512 also admits avx512icl, the same
 * level with VNNI and VPOPCNTDQ); the table is published through an atomic pointer.
 */
#include "index/quant.h"

#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storage/frame.h"
#include "util/alloc.h"
#include "util/checksum.h"

#define QUANT_MAGIC "VSQUANT1"
#define CODES_MAGIC "VSQCODE1"
#define QHDR 48          /* quantizer body header */
#define CHDR 64          /* codes body header */
#define CHUNK 256        /* rows per finishing chunk */
#define QUANTILE_POOL (1u << 20) /* values pooled for a global int8 quantile */

struct vs__quant {
    int type, kind;
    uint32_t dim, code_size;
    uint64_t seed, n_train, id;
    /* int8 */
    int per_dim;
    float quantile;
    float *lo, *step, *inv; /* dim each, one aligned block at lo */
    /* pq */
    uint32_t m, dsub, iters;
    float *cent; /* [m][dsub][256] */
    /* binary */
    uint32_t qbits, words;
};

struct vs__quant_query {
    const vs__quant *qz;
    const vs__quant_ops *ops;
    void *mem;
    /* int8: score = c0 + a * isum (dot); 2 (c0 + a * isum) - qn - ||x^||^2 (l2) */
    int16_t *q16;
    float a, c0, qn;
    double bdot, bq, be; /* error bound parts: sum |q| s/2, Q, E (quant.h) */
    /* pq */
    float *table;
    /* binary: score = 2 (bstep * S + blo * pc) - bsum */
    uint64_t *planes;
    float blo, bstep, bsum;
};

/* ============================================================ kernel choice == */

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static const vs__quant_ops *_Atomic g_ops;

static int cpu_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt");
}
static int cpu_avx512(void) {
    return cpu_avx2() && __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl");
}
static int cpu_avx512icl(void) {
    return cpu_avx512() && __builtin_cpu_supports("avx512vnni") &&
           __builtin_cpu_supports("avx512vpopcntdq");
}

const vs__quant_ops *vs__quant_kernels_get(const char *name) {
    if (!name) return NULL;
    if (!strcmp(name, "scalar")) return &vs__quant_scalar;
    if (!strcmp(name, "avx2")) return cpu_avx2() ? &vs__quant_avx2 : NULL;
    if (!strcmp(name, "avx512")) return cpu_avx512() ? &vs__quant_avx512 : NULL;
    if (!strcmp(name, "avx512icl")) return cpu_avx512icl() ? &vs__quant_avx512icl : NULL;
    return NULL;
}

static const vs__quant_ops *select_ops(void) {
    static const char *const levels[] = {"avx512icl", "avx512", "avx2", "scalar"};
    size_t start = 0;
    const char *env = getenv("VS_SIMD");
    if (env && *env) {
        if (!strcmp(env, "avx2"))
            start = 2;
        else if (!strcmp(env, "scalar"))
            start = 3;
    }
    for (size_t i = start; i < sizeof levels / sizeof levels[0]; i++) {
        const vs__quant_ops *o = vs__quant_kernels_get(levels[i]);
        if (o) return o;
    }
    return &vs__quant_scalar;
}

static void init_once(void) {
    atomic_store_explicit(&g_ops, select_ops(), memory_order_release);
}

const vs__quant_ops *vs__quant_kernels(void) {
    const vs__quant_ops *o = atomic_load_explicit(&g_ops, memory_order_acquire);
    if (o) return o;
    pthread_once(&g_once, init_once);
    return atomic_load_explicit(&g_ops, memory_order_acquire);
}

void vs__quant_kernels_reset_for_test(void) {
    pthread_once(&g_once, init_once);
    atomic_store_explicit(&g_ops, select_ops(), memory_order_release);
}

/* ============================================================== parameters == */

void vs__quant_params_init(vs__quant_params *p, int type, int kind) {
    memset(p, 0, sizeof *p);
    p->type = type;
    p->kind = kind;
    p->max_sample = VS_QUANT_SAMPLE_DEFAULT;
    p->seed = 0x5EED5EED5EED5EEDull;
    p->int8_quantile = VS_QUANT_INT8_QUANTILE_DEFAULT;
    p->int8_per_dim = 1;
    p->pq_m = 0;
    p->pq_iters = VS_QUANT_PQ_ITERS_DEFAULT;
    p->bin_query_bits = VS_QUANT_BIN_QBITS_DEFAULT;
}

const char *vs__quant_type_name(int type) {
    switch (type) {
    case VS_QUANT_NONE: return "none";
    case VS_QUANT_INT8: return "int8";
    case VS_QUANT_PQ: return "pq";
    case VS_QUANT_BINARY: return "binary";
    }
    return "?";
}

/* Measured (bench-ann, 100k x 128 clustered, m 16, efC 200, 1000 queries), recall@10
 * loss against the float graph at the same ef, largest over ef 10-128, by factor:
 *   int8:        1: 0.011 (ef 10)   2: 0.0016   4: none
 *   PQ 64 B:     8: 0.0031
 *   PQ 32 B:     1: 0.44   4: 0.07   8: 0.038 (ef 10)   16: the same: past 8 the walk,
 *                not the rescoring, is what misses (its code distances lead it astray)
 * Rescoring costs a random read of a float row per candidate: int8 at factor 2 kept
 * the float graph's QPS at 100k rows (0.93x of it at 1M, docs/benchmarks.md run E);
 * PQ's QPS halves at ef 10 (its table lookups cost more too). */
size_t vs__quant_rescore_factor(int type) {
    switch (type) {
    case VS_QUANT_INT8: return 2;
    case VS_QUANT_PQ: return 8;
    case VS_QUANT_BINARY: return 8;
    }
    return 1;
}

static size_t code_size_for(int type, int kind, size_t dim, size_t m) {
    switch (type) {
    case VS_QUANT_INT8: return dim + (kind == VS__SCORE_NEGL2 ? sizeof(float) : 0);
    case VS_QUANT_PQ: return m;
    case VS_QUANT_BINARY: return 8 * ((dim + 63) / 64);
    }
    return 0;
}

static int check_params(const vs__quant_params *p, size_t dim, vs__err *e) {
    if (p->type != VS_QUANT_INT8 && p->type != VS_QUANT_PQ && p->type != VS_QUANT_BINARY)
        return vs__errf(e, VS_EINVAL, "unknown quantization type %d", p->type);
    const char *t = vs__quant_type_name(p->type);
    if (p->kind != VS__SCORE_DOT && p->kind != VS__SCORE_NEGL2)
        return vs__errf(e, VS_EINVAL, "%s: unknown score kind %d", t, p->kind);
    if (dim < VS_DIM_MIN || dim > VS_DIM_MAX)
        return vs__errf(e, VS_EINVAL, "%s: dimension %zu out of range %d..%d", t, dim,
                        VS_DIM_MIN, VS_DIM_MAX);
    if (p->type != VS_QUANT_BINARY &&
        (p->max_sample < VS_QUANT_SAMPLE_MIN || p->max_sample > VS_QUANT_SAMPLE_MAX))
        return vs__errf(e, VS_EINVAL, "%s: max_sample %u out of range %u..%u", t,
                        p->max_sample, VS_QUANT_SAMPLE_MIN, VS_QUANT_SAMPLE_MAX);
    switch (p->type) {
    case VS_QUANT_INT8:
        if (!(p->int8_quantile >= VS_QUANT_INT8_QUANTILE_MIN &&
              p->int8_quantile <= VS_QUANT_INT8_QUANTILE_MAX))
            return vs__errf(e, VS_EINVAL, "int8: quantile %g out of range %g..%g",
                            (double)p->int8_quantile, (double)VS_QUANT_INT8_QUANTILE_MIN,
                            (double)VS_QUANT_INT8_QUANTILE_MAX);
        break;
    case VS_QUANT_PQ:
        if (p->pq_m < VS_QUANT_PQ_M_MIN)
            return vs__errf(e, VS_EINVAL, "pq: pq_m must be at least %u, got %u",
                            VS_QUANT_PQ_M_MIN, p->pq_m);
        if (dim % p->pq_m != 0)
            return vs__errf(e, VS_EINVAL, "pq: dim %zu is not a multiple of pq_m %u", dim,
                            p->pq_m);
        if (p->pq_iters < VS_QUANT_PQ_ITERS_MIN || p->pq_iters > VS_QUANT_PQ_ITERS_MAX)
            return vs__errf(e, VS_EINVAL, "pq: pq_iters %u out of range %u..%u", p->pq_iters,
                            VS_QUANT_PQ_ITERS_MIN, VS_QUANT_PQ_ITERS_MAX);
        break;
    case VS_QUANT_BINARY:
        if (p->kind != VS__SCORE_DOT)
            return vs__errf(e, VS_EINVAL,
                            "binary: quantization needs the cosine or dot metric, not l2");
        if (p->bin_query_bits < VS_QUANT_BIN_QBITS_MIN ||
            p->bin_query_bits > VS_QUANT_BIN_QBITS_MAX)
            return vs__errf(e, VS_EINVAL, "binary: query bits %u out of range %u..%u",
                            p->bin_query_bits, VS_QUANT_BIN_QBITS_MIN, VS_QUANT_BIN_QBITS_MAX);
        break;
    }
    return VS_OK;
}

/* ================================================================ training == */

/* Algorithm S: `want` of the n row indices, uniformly, ascending. */
static size_t *sample_rows(size_t n, size_t want, uint64_t *rng, size_t *ns) {
    if (want > n) want = n;
    size_t *idx = vs__malloc(want * sizeof(size_t));
    if (!idx) return NULL;
    size_t got = 0;
    for (size_t t = 0; t < n && got < want; t++) {
        if (want - got == n - t || (double)(n - t) * vs__quant_rng_unit(rng) < (double)(want - got))
            idx[got++] = t;
    }
    *ns = got;
    return idx;
}

/* The k-th smallest of a[0..n) (Hoare's FIND, as in Wirth's "Algorithms + Data
 * Structures = Programs", 2.3.4); reorders a. Expected O(n). */
static float select_kth(float *a, size_t n, size_t k) {
    ptrdiff_t l = 0, r = (ptrdiff_t)n - 1, kk = (ptrdiff_t)k;
    while (l < r) {
        float x = a[kk];
        ptrdiff_t i = l, j = r;
        do {
            while (a[i] < x) i++;
            while (x < a[j]) j--;
            if (i <= j) {
                float t = a[i];
                a[i] = a[j];
                a[j] = t;
                i++;
                j--;
            }
        } while (i <= j);
        if (j < kk) l = i;
        if (kk < i) r = j;
    }
    return a[k];
}

/* [lo, hi] covering the central fraction q of v[0..nv) (nearest rank); reorders v. */
static void quantile_range(float *v, size_t nv, float q, float *lo, float *hi) {
    if (q >= 1.0f) {
        float a = v[0], b = v[0];
        for (size_t i = 1; i < nv; i++) {
            if (v[i] < a) a = v[i];
            if (v[i] > b) b = v[i];
        }
        *lo = a;
        *hi = b;
        return;
    }
    double tail = (1.0 - (double)q) / 2.0 * (double)(nv - 1);
    size_t klo = (size_t)floor(tail), khi = (nv - 1) - (size_t)floor(tail);
    *lo = select_kth(v, nv, klo);
    *hi = select_kth(v, nv, khi);
}

static void set_range(vs__quant *qz, size_t j, float lo, float hi) {
    double step = ((double)hi - (double)lo) / 255.0;
    if (!(step > 0.0)) step = 0.0;
    qz->lo[j] = lo;
    qz->step[j] = (float)step;
    qz->inv[j] = qz->step[j] > 0.0f ? 1.0f / qz->step[j] : 0.0f;
}

static int train_int8(vs__quant *qz, const float *x, size_t dim, const size_t *idx,
                      size_t ns, uint64_t *rng, vs__err *e) {
    enum { BLK = 16 }; /* columns gathered per pass: one cache line of each row */
    const float q = qz->quantile;
    float *buf = NULL;
    int rc = VS_OK;
    if (qz->per_dim) {
        buf = vs__malloc((size_t)BLK * ns * sizeof(float));
        if (!buf) goto oom;
        for (size_t j0 = 0; j0 < dim; j0 += BLK) {
            size_t nb = dim - j0 < BLK ? dim - j0 : BLK;
            for (size_t i = 0; i < ns; i++) {
                const float *r = x + idx[i] * dim + j0;
                for (size_t b = 0; b < nb; b++) buf[b * ns + i] = r[b];
            }
            for (size_t b = 0; b < nb; b++) {
                float lo, hi;
                quantile_range(buf + b * ns, ns, q, &lo, &hi);
                set_range(qz, j0 + b, lo, hi);
            }
        }
    } else {
        float lo, hi;
        size_t total = ns * dim; /* ns <= 2^24, dim <= 2^16: no overflow */
        if (q >= 1.0f) {
            lo = hi = x[idx[0] * dim];
            for (size_t i = 0; i < ns; i++)
                for (size_t j = 0; j < dim; j++) {
                    float v = x[idx[i] * dim + j];
                    if (v < lo) lo = v;
                    if (v > hi) hi = v;
                }
        } else {
            size_t np = total < QUANTILE_POOL ? total : QUANTILE_POOL;
            buf = vs__malloc(np * sizeof(float));
            if (!buf) goto oom;
            if (np == total) {
                for (size_t i = 0; i < ns; i++) memcpy(buf + i * dim, x + idx[i] * dim, dim * sizeof(float));
            } else {
                for (size_t t = 0; t < np; t++) {
                    uint64_t r = vs__quant_rng(rng) % total;
                    buf[t] = x[idx[r / dim] * dim + r % dim];
                }
            }
            quantile_range(buf, np, q, &lo, &hi);
        }
        for (size_t j = 0; j < dim; j++) set_range(qz, j, lo, hi);
    }
    goto done;
oom:
    rc = vs__errf(e, VS_ENOMEM, "out of memory training the int8 quantizer");
done:
    vs__free(buf);
    return rc;
}

static int train_pq(vs__quant *qz, const float *x, size_t dim, const size_t *idx, size_t ns,
                    vs__err *e) {
    const size_t m = qz->m, dsub = qz->dsub;
    float *sub = vs__malloc(ns * dsub * sizeof(float));
    if (!sub) return vs__errf(e, VS_ENOMEM, "out of memory training the pq quantizer");
    const vs__quant_ops *ops = vs__quant_kernels();
    int rc = VS_OK;
    for (size_t s = 0; s < m && !rc; s++) {
        for (size_t i = 0; i < ns; i++)
            memcpy(sub + i * dsub, x + idx[i] * dim + s * dsub, dsub * sizeof(float));
        uint64_t st = qz->seed ^ (0xA24BAED4963EE407ull * (s + 1));
        uint64_t sseed = vs__quant_rng(&st);
        rc = vs__quant_kmeans(ops, sub, ns, dsub, VS_QUANT_PQ_KSUB, qz->iters, sseed,
                              qz->cent + s * dsub * VS_QUANT_PQ_KSUB, NULL, e);
        if (rc) vs__err_ctx(e, "pq sub-space %zu: ", s);
    }
    vs__free(sub);
    return rc;
}

/* Serialises the 48-byte body header. */
static void encode_header(const vs__quant *qz, uint8_t h[QHDR]) {
    memset(h, 0, QHDR);
    uint32_t p0 = 0, p1 = 0, p2 = 0;
    switch (qz->type) {
    case VS_QUANT_INT8:
        p0 = qz->per_dim ? 1u : 0u;
        memcpy(&p1, &qz->quantile, 4);
        break;
    case VS_QUANT_PQ:
        p0 = qz->m;
        p1 = VS_QUANT_PQ_KSUB;
        p2 = qz->iters;
        break;
    case VS_QUANT_BINARY: p0 = qz->qbits; break;
    }
    vs__put_u32(h + 0, (uint32_t)qz->type);
    vs__put_u32(h + 4, (uint32_t)qz->kind);
    vs__put_u32(h + 8, qz->dim);
    vs__put_u32(h + 12, qz->code_size);
    vs__put_u32(h + 16, p0);
    vs__put_u32(h + 20, p1);
    vs__put_u32(h + 24, p2);
    vs__put_u64(h + 32, qz->seed);
    vs__put_u64(h + 40, qz->n_train);
}

/* The serialised arrays: lo and step are adjacent (inv follows them), cent is one. */
static const void *arrays(const vs__quant *qz, size_t *len) {
    switch (qz->type) {
    case VS_QUANT_INT8: *len = 2 * (size_t)qz->dim * sizeof(float); return qz->lo;
    case VS_QUANT_PQ: *len = (size_t)qz->dim * VS_QUANT_PQ_KSUB * sizeof(float); return qz->cent;
    }
    *len = 0;
    return NULL;
}

static void compute_id(vs__quant *qz) {
    uint8_t h[QHDR];
    encode_header(qz, h);
    size_t len;
    const void *a = arrays(qz, &len);
    qz->id = vs__checksum_seed(a ? a : h, a ? len : 0, vs__checksum(h, QHDR));
}

/* Allocates qz and its arrays for the fields already set in *tmpl. */
static int quant_alloc(const vs__quant *tmpl, vs__quant **out, vs__err *e) {
    vs__quant *qz = vs__calloc(1, sizeof *qz);
    if (!qz) return vs__errf(e, VS_ENOMEM, "out of memory creating a quantizer");
    *qz = *tmpl;
    qz->lo = qz->step = qz->inv = qz->cent = NULL;
    if (qz->type == VS_QUANT_INT8) {
        qz->lo = vs__aligned_alloc(64, 3 * (size_t)qz->dim * sizeof(float));
        if (!qz->lo) goto oom;
        qz->step = qz->lo + qz->dim;
        qz->inv = qz->step + qz->dim;
    } else if (qz->type == VS_QUANT_PQ) {
        qz->cent = vs__aligned_alloc(64, (size_t)qz->dim * VS_QUANT_PQ_KSUB * sizeof(float));
        if (!qz->cent) goto oom;
    }
    *out = qz;
    return VS_OK;
oom:
    vs__free(qz);
    return vs__errf(e, VS_ENOMEM, "out of memory creating a quantizer");
}

void vs__quant_free(vs__quant *qz) {
    if (!qz) return;
    vs__aligned_free(qz->lo);
    vs__aligned_free(qz->cent);
    vs__free(qz);
}

int vs__quant_train(const vs__quant_params *p, const float *x, size_t n, size_t dim,
                    vs__quant **out, vs__err *e) {
    *out = NULL;
    int rc = check_params(p, dim, e);
    if (rc) return rc;
    if (!x || n == 0)
        return vs__errf(e, VS_EINVAL, "%s: no training vectors", vs__quant_type_name(p->type));
    vs__quant t = {0};
    t.type = p->type;
    t.kind = p->kind;
    t.dim = (uint32_t)dim;
    t.seed = p->seed;
    if (p->type == VS_QUANT_INT8) {
        t.per_dim = p->int8_per_dim ? 1 : 0;
        t.quantile = p->int8_quantile;
    } else if (p->type == VS_QUANT_PQ) {
        t.m = p->pq_m;
        t.dsub = (uint32_t)(dim / p->pq_m);
        t.iters = p->pq_iters;
    } else {
        t.qbits = p->bin_query_bits;
        t.words = (uint32_t)((dim + 63) / 64);
    }
    t.code_size = (uint32_t)code_size_for(t.type, t.kind, dim, t.m);

    vs__quant *qz = NULL;
    size_t *idx = NULL;
    if ((rc = quant_alloc(&t, &qz, e))) return rc;
    if (p->type != VS_QUANT_BINARY) {
        uint64_t rng = p->seed;
        size_t ns = 0;
        idx = sample_rows(n, p->max_sample, &rng, &ns);
        if (!idx) {
            rc = vs__errf(e, VS_ENOMEM, "out of memory sampling %s training rows",
                          vs__quant_type_name(p->type));
            goto done;
        }
        qz->n_train = ns;
        rc = p->type == VS_QUANT_INT8 ? train_int8(qz, x, dim, idx, ns, &rng, e)
                                      : train_pq(qz, x, dim, idx, ns, e);
        if (rc) goto done;
    }
    compute_id(qz);
    *out = qz;
    qz = NULL;
done:
    vs__free(idx);
    vs__quant_free(qz);
    return rc;
}

int vs__quant_type(const vs__quant *qz) { return qz->type; }
int vs__quant_kind(const vs__quant *qz) { return qz->kind; }
size_t vs__quant_dim(const vs__quant *qz) { return qz->dim; }
size_t vs__quant_code_size(const vs__quant *qz) { return qz->code_size; }
uint64_t vs__quant_id(const vs__quant *qz) { return qz->id; }

size_t vs__quant_memory(const vs__quant *qz) {
    size_t m = sizeof *qz;
    if (qz->lo) m += 3 * (size_t)qz->dim * sizeof(float);
    if (qz->cent) m += (size_t)qz->dim * VS_QUANT_PQ_KSUB * sizeof(float);
    return m;
}

/* ================================================================ encoding == */

static double norm_sq_d(const float *x, size_t dim) {
    double s = 0.0;
    for (size_t j = 0; j < dim; j++) s += (double)x[j] * (double)x[j];
    return s;
}

void vs__quant_encode(const vs__quant *qz, const float *x, size_t n, uint8_t *codes) {
    const size_t dim = qz->dim, cs = qz->code_size;
    switch (qz->type) {
    case VS_QUANT_INT8:
        for (size_t i = 0; i < n; i++) {
            const float *r = x + i * dim;
            uint8_t *c = codes + i * cs;
            for (size_t j = 0; j < dim; j++) {
                /* NaN-proof clamp: (v - lo) * 0 for a constant dimension, or an
                 * overflowed difference, lands on 0 or 255, never on undefined. */
                float t = (r[j] - qz->lo[j]) * qz->inv[j];
                if (!(t > 0.0f)) t = 0.0f;
                if (t > 255.0f) t = 255.0f;
                c[j] = (uint8_t)lrintf(t); /* nearest: (t + 0.5f) can round up at 0.4999 */
            }
            if (qz->kind == VS__SCORE_NEGL2) { /* ||x^||^2, in double: the same bits on
                                                 * every build (quant.h, SCORES) */
                double nn = 0.0;
                for (size_t j = 0; j < dim; j++) {
                    double v = qz->lo[j] + qz->step[j] * (float)c[j];
                    nn += v * v;
                }
                float f = (float)nn;
                memcpy(c + dim, &f, sizeof f);
            }
        }
        break;
    case VS_QUANT_PQ: {
        const vs__quant_ops *ops = vs__quant_kernels();
        const size_t m = qz->m, dsub = qz->dsub;
        float d[VS_QUANT_PQ_KSUB];
        for (size_t i = 0; i < n; i++)
            for (size_t s = 0; s < m; s++) {
                ops->cols(x + i * dim + s * dsub, qz->cent + s * dsub * VS_QUANT_PQ_KSUB,
                          dsub, VS_QUANT_PQ_KSUB, VS_QUANT_PQ_KSUB, 1, d);
                codes[i * m + s] = (uint8_t)ops->argmin(d, VS_QUANT_PQ_KSUB);
            }
        break;
    }
    case VS_QUANT_BINARY:
        for (size_t i = 0; i < n; i++) {
            const float *r = x + i * dim;
            for (size_t w = 0; w < qz->words; w++) {
                uint64_t bits = 0;
                size_t end = (w + 1) * 64 < dim ? (w + 1) * 64 : dim;
                for (size_t j = w * 64; j < end; j++)
                    bits |= (uint64_t)(r[j] > 0.0f) << (j - w * 64);
                memcpy(codes + i * cs + w * 8, &bits, 8); /* little-endian host */
            }
        }
        break;
    }
}

void vs__quant_decode(const vs__quant *qz, const uint8_t *code, float *out) {
    const size_t dim = qz->dim;
    switch (qz->type) {
    case VS_QUANT_INT8:
        for (size_t j = 0; j < dim; j++) out[j] = qz->lo[j] + qz->step[j] * (float)code[j];
        break;
    case VS_QUANT_PQ:
        for (size_t s = 0; s < qz->m; s++) {
            const float *c = qz->cent + s * qz->dsub * VS_QUANT_PQ_KSUB;
            for (size_t j = 0; j < qz->dsub; j++)
                out[s * qz->dsub + j] = c[j * VS_QUANT_PQ_KSUB + code[s]];
        }
        break;
    case VS_QUANT_BINARY: {
        const float v = 1.0f / sqrtf((float)dim);
        for (size_t j = 0; j < dim; j++) out[j] = (code[j / 8] >> (j % 8)) & 1 ? v : -v;
        break;
    }
    }
}

/* ================================================================= queries == */

static size_t round64(size_t n) { return (n + 63) & ~(size_t)63; }

int vs__quant_query_new(const vs__quant *qz, vs__quant_query **out, vs__err *e) {
    *out = NULL;
    size_t bytes = 0;
    const size_t dpad = round64(qz->dim);
    switch (qz->type) {
    case VS_QUANT_INT8: bytes = dpad * sizeof(int16_t); break;
    case VS_QUANT_PQ: bytes = (size_t)qz->m * VS_QUANT_PQ_KSUB * sizeof(float); break;
    case VS_QUANT_BINARY: bytes = (size_t)qz->qbits * qz->words * sizeof(uint64_t); break;
    }
    vs__quant_query *qq = vs__calloc(1, sizeof *qq);
    void *mem = qq ? vs__aligned_alloc(64, bytes) : NULL;
    if (!mem) {
        vs__free(qq);
        return vs__errf(e, VS_ENOMEM, "out of memory preparing a %s query",
                        vs__quant_type_name(qz->type));
    }
    memset(mem, 0, bytes);
    qq->qz = qz;
    qq->ops = vs__quant_kernels();
    qq->mem = mem;
    switch (qz->type) {
    case VS_QUANT_INT8: qq->q16 = mem; break;
    case VS_QUANT_PQ: qq->table = mem; break;
    case VS_QUANT_BINARY: qq->planes = mem; break;
    }
    *out = qq;
    return VS_OK;
}

void vs__quant_query_free(vs__quant_query *qq) {
    if (!qq) return;
    vs__aligned_free(qq->mem);
    vs__free(qq);
}

void vs__quant_query_use(vs__quant_query *qq, const vs__quant_ops *ops) { qq->ops = ops; }

float vs__quant_int8_bound(const vs__quant_query *qq, float dist) {
    if (qq->qz->type != VS_QUANT_INT8) return INFINITY;
    if (qq->qz->kind != VS__SCORE_NEGL2) return (float)(qq->bdot + qq->bq);
    return (float)(qq->be * (2.0 * (double)dist + qq->be) + 2.0 * qq->bq);
}

static void prepare_int8(vs__quant_query *qq, const float *q) {
    const vs__quant *qz = qq->qz;
    const size_t dim = qz->dim;
    double amax = 0.0, sabs = 0.0;
    for (size_t j = 0; j < dim; j++) {
        double v = fabs((double)(q[j] * qz->step[j]));
        if (v > amax) amax = v;
        sabs += v;
    }
    /* The scale: |q16| <= 32767, and 255 sum |q16| < 2^31 even after each of the dim
     * roundings added 1/2 (and a relative 1e-6 of slack for a's rounding to float). */
    double lim = 2147483647.0 - 255.0 * ((double)dim / 2.0 + 1.0);
    double ad = amax / 32767.0, as = 255.0 * sabs / lim;
    const float a = (float)((ad > as ? ad : as) * (1.0 + 1e-6));
    double c = 0.0, delta = 0.0, rbound = 0.0, qbound = 0.0, e2 = 0.0;
    for (size_t j = 0; j < dim; j++) {
        float qp = q[j] * qz->step[j];
        long r = a > 0.0f ? lrintf(qp / a) : 0;
        if (r > 32767) r = 32767;
        if (r < -32767) r = -32767;
        qq->q16[j] = (int16_t)r;
        double dj = (double)qp - (double)a * (double)r;
        c += (double)q[j] * (double)qz->lo[j];
        delta += dj;
        rbound += fabs((double)q[j]) * (double)qz->step[j] * 0.5;
        qbound += fabs(dj);
        e2 += (double)qz->step[j] * (double)qz->step[j];
    }
    qq->a = a;
    qq->c0 = (float)(c + 127.5 * delta);
    qq->qn = (float)norm_sq_d(q, dim);
    qq->bdot = rbound;
    qq->bq = 127.5 * qbound;
    qq->be = sqrt(e2) / 2.0;
}

static void prepare_pq(vs__quant_query *qq, const float *q) {
    const vs__quant *qz = qq->qz;
    const int l2 = qz->kind == VS__SCORE_NEGL2;
    for (size_t s = 0; s < qz->m; s++) {
        float *t = qq->table + s * VS_QUANT_PQ_KSUB;
        qq->ops->cols(q + s * qz->dsub, qz->cent + s * qz->dsub * VS_QUANT_PQ_KSUB, qz->dsub,
                      VS_QUANT_PQ_KSUB, VS_QUANT_PQ_KSUB, l2, t);
        if (l2)
            for (size_t k = 0; k < VS_QUANT_PQ_KSUB; k++) t[k] = -t[k];
    }
}

static void prepare_binary(vs__quant_query *qq, const float *q) {
    const vs__quant *qz = qq->qz;
    const size_t dim = qz->dim, words = qz->words, bits = qz->qbits;
    memset(qq->planes, 0, bits * words * sizeof(uint64_t));
    float lo = -1.0f, step = 2.0f; /* 1 bit: u = 1 means +1, u = 0 means -1 */
    unsigned levels = (1u << bits) - 1u;
    if (bits > 1) {
        float mn = q[0], mx = q[0];
        for (size_t j = 1; j < dim; j++) {
            if (q[j] < mn) mn = q[j];
            if (q[j] > mx) mx = q[j];
        }
        lo = mn;
        step = (float)(((double)mx - (double)mn) / levels);
    }
    double sum = 0.0;
    for (size_t j = 0; j < dim; j++) {
        unsigned u;
        if (bits == 1) {
            u = q[j] > 0.0f;
        } else if (step > 0.0f) {
            float t = (q[j] - lo) / step;
            u = t <= 0.0f ? 0u : t >= (float)levels ? levels : (unsigned)lrintf(t);
        } else {
            u = 0;
        }
        sum += (double)lo + (double)step * u;
        for (size_t b = 0; b < bits; b++)
            if ((u >> b) & 1u) qq->planes[b * words + j / 64] |= 1ull << (j % 64);
    }
    qq->blo = lo;
    qq->bstep = step;
    qq->bsum = (float)sum;
}

void vs__quant_query_prepare(vs__quant_query *qq, const float *q) {
    switch (qq->qz->type) {
    case VS_QUANT_INT8: prepare_int8(qq, q); break;
    case VS_QUANT_PQ: prepare_pq(qq, q); break;
    case VS_QUANT_BINARY: prepare_binary(qq, q); break;
    }
}

/* ================================================================= scoring == */

static inline float finish_int8(const vs__quant_query *qq, int32_t isum, const uint8_t *code) {
    float s = qq->c0 + qq->a * (float)isum;
    if (qq->qz->kind != VS__SCORE_NEGL2) return s;
    float xn;
    memcpy(&xn, code + qq->qz->dim, sizeof xn);
    return 2.0f * s - qq->qn - xn;
}

static inline float finish_bin(const vs__quant_query *qq, uint32_t sum, uint32_t pc) {
    return 2.0f * (qq->bstep * (float)sum + qq->blo * (float)pc) - qq->bsum;
}

void vs__quant_score_rows(const vs__quant_query *qq, const uint8_t *codes, size_t n,
                          float *out) {
    const vs__quant *qz = qq->qz;
    const size_t cs = qz->code_size;
    switch (qz->type) {
    case VS_QUANT_INT8: {
        int32_t acc[CHUNK];
        for (size_t i = 0; i < n; i += CHUNK) {
            size_t c = n - i < CHUNK ? n - i : CHUNK;
            const uint8_t *b = codes + i * cs;
            qq->ops->i8_rows(qq->q16, b, c, qz->dim, cs, acc);
            for (size_t r = 0; r < c; r++) out[i + r] = finish_int8(qq, acc[r], b + r * cs);
        }
        break;
    }
    case VS_QUANT_PQ: qq->ops->pq_rows(qq->table, codes, n, qz->m, out); break;
    case VS_QUANT_BINARY: {
        uint32_t sums[CHUNK], pcs[CHUNK];
        for (size_t i = 0; i < n; i += CHUNK) {
            size_t c = n - i < CHUNK ? n - i : CHUNK;
            qq->ops->bin_rows(qq->planes, qz->qbits, codes + i * cs, c, qz->words, sums, pcs);
            for (size_t r = 0; r < c; r++) out[i + r] = finish_bin(qq, sums[r], pcs[r]);
        }
        break;
    }
    }
}

float vs__quant_score(const vs__quant_query *qq, const uint8_t *code) {
    float s;
    vs__quant_score_rows(qq, code, 1, &s);
    return s;
}

void vs__quant_score_ids(const vs__quant_query *qq, const uint8_t *codes,
                         const uint32_t *rows, size_t n, float *out) {
    /* Neighbour codes are scattered. They are copied into a contiguous block (a graph
     * walk scores up to 2m of them at a time) and scored with the row kernels, which
     * keep several rows in flight: PQ's table lookups of one row form a chain of
     * dependent adds (~4 cycles each), so one row at a time would be latency-bound.
     * The kernels sum each row in the same order either way, so the scores are the
     * same bits as vs__quant_score's. */
    enum { BLOCK = 8192 };
    _Alignas(64) uint8_t buf[BLOCK];
    const size_t cs = qq->qz->code_size;
    const size_t per = cs <= BLOCK ? BLOCK / cs : 0;
    if (per < 2) {
        for (size_t i = 0; i < n; i++)
            vs__quant_score_rows(qq, codes + (size_t)rows[i] * cs, 1, out + i);
        return;
    }
    for (size_t i = 0; i < n; i += per) {
        size_t c = n - i < per ? n - i : per;
        for (size_t r = 0; r < c; r++) memcpy(buf + r * cs, codes + (size_t)rows[i + r] * cs, cs);
        vs__quant_score_rows(qq, buf, c, out + i);
    }
}

/* ============================================================= persistence == */

int vs__quant_save(const vs__quant *qz, const char *path, vs__err *e) {
    size_t alen;
    const void *a = arrays(qz, &alen);
    uint8_t *body = vs__malloc(QHDR + alen);
    if (!body) return vs__errf(e, VS_ENOMEM, "out of memory saving %s", path);
    encode_header(qz, body);
    if (alen) memcpy(body + QHDR, a, alen); /* float32 LE: the host's layout */
    int rc = vs__frame_write_file(path, QUANT_MAGIC, body, QHDR + alen, e);
    vs__free(body);
    return rc;
}

static int all_finite(const float *v, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i])) return 0;
    return 1;
}

int vs__quant_load(const char *path, vs__quant **out, vs__err *e) {
    *out = NULL;
    uint8_t *body = NULL;
    size_t len = 0;
    vs__quant *qz = NULL;
    int rc = vs__frame_read_file(path, QUANT_MAGIC, &body, &len, e);
    if (rc) {
        if (rc == VS_EFORMAT) rc = e->rc = VS_ECORRUPT;
        return rc;
    }
#define BAD(...)                                                                       \
    do {                                                                               \
        rc = vs__errf(e, VS_ECORRUPT, __VA_ARGS__);                                    \
        goto done;                                                                     \
    } while (0)
    if (len < QHDR) BAD("%s: quantizer body is %zu bytes, less than its %d-byte header", path, len, QHDR);
    vs__quant t = {0};
    t.type = (int)vs__get_u32(body);
    t.kind = (int)vs__get_u32(body + 4);
    uint32_t dim = vs__get_u32(body + 8), cs = vs__get_u32(body + 12);
    uint32_t p0 = vs__get_u32(body + 16), p1 = vs__get_u32(body + 20),
             p2 = vs__get_u32(body + 24), res = vs__get_u32(body + 28);
    t.dim = dim;
    t.code_size = cs;
    t.seed = vs__get_u64(body + 32);
    t.n_train = vs__get_u64(body + 40);
    if (t.type != VS_QUANT_INT8 && t.type != VS_QUANT_PQ && t.type != VS_QUANT_BINARY)
        BAD("%s: unknown quantization type %d", path, t.type);
    if (t.kind != VS__SCORE_DOT && t.kind != VS__SCORE_NEGL2)
        BAD("%s: unknown score kind %d", path, t.kind);
    if (dim < VS_DIM_MIN || dim > VS_DIM_MAX) BAD("%s: dimension %u out of range", path, dim);
    if (res != 0) BAD("%s: reserved header field is %u, not 0", path, res);
    size_t alen = 0;
    switch (t.type) {
    case VS_QUANT_INT8:
        if (p0 > 1) BAD("%s: int8 flags %#x unknown", path, p0);
        t.per_dim = (int)p0;
        memcpy(&t.quantile, &p1, 4);
        if (!(t.quantile >= VS_QUANT_INT8_QUANTILE_MIN && t.quantile <= VS_QUANT_INT8_QUANTILE_MAX))
            BAD("%s: int8 quantile %g out of range", path, (double)t.quantile);
        if (p2 != 0) BAD("%s: int8 field p2 is %u, not 0", path, p2);
        alen = 2 * (size_t)dim * sizeof(float);
        break;
    case VS_QUANT_PQ:
        if (p0 < VS_QUANT_PQ_M_MIN || dim % p0 != 0)
            BAD("%s: pq_m %u does not divide dim %u", path, p0, dim);
        if (p1 != VS_QUANT_PQ_KSUB) BAD("%s: pq has %u centroids, expected %u", path, p1, VS_QUANT_PQ_KSUB);
        if (p2 < VS_QUANT_PQ_ITERS_MIN || p2 > VS_QUANT_PQ_ITERS_MAX)
            BAD("%s: pq iterations %u out of range", path, p2);
        t.m = p0;
        t.dsub = dim / p0;
        t.iters = p2;
        alen = (size_t)dim * VS_QUANT_PQ_KSUB * sizeof(float);
        break;
    case VS_QUANT_BINARY:
        if (t.kind != VS__SCORE_DOT) BAD("%s: binary quantizer with the l2 score kind", path);
        if (p0 < VS_QUANT_BIN_QBITS_MIN || p0 > VS_QUANT_BIN_QBITS_MAX)
            BAD("%s: binary query bits %u out of range", path, p0);
        if (p1 != 0 || p2 != 0) BAD("%s: binary fields p1/p2 are not 0", path);
        t.qbits = p0;
        t.words = (dim + 63) / 64;
        break;
    }
    size_t want_cs = code_size_for(t.type, t.kind, dim, t.m);
    if (cs != want_cs) BAD("%s: code size %u, expected %zu for %s of dim %u", path, cs, want_cs, vs__quant_type_name(t.type), dim);
    if (len != QHDR + alen)
        BAD("%s: quantizer body is %zu bytes, expected %zu", path, len, (size_t)QHDR + alen);
    if (alen) {
        if ((rc = quant_alloc(&t, &qz, e))) goto done;
        float *dst = t.type == VS_QUANT_INT8 ? qz->lo : qz->cent;
        memcpy(dst, body + QHDR, alen);
        if (!all_finite(dst, alen / sizeof(float))) BAD("%s: quantizer holds NaN or infinity", path);
        if (t.type == VS_QUANT_INT8)
            for (size_t j = 0; j < dim; j++) {
                if (!(qz->step[j] >= 0.0f)) BAD("%s: int8 step %zu is negative", path, j);
                qz->inv[j] = qz->step[j] > 0.0f ? 1.0f / qz->step[j] : 0.0f;
            }
    } else if ((rc = quant_alloc(&t, &qz, e))) {
        goto done;
    }
#undef BAD
    compute_id(qz);
    *out = qz;
    qz = NULL;
done:
    vs__free(body);
    vs__quant_free(qz);
    return rc;
}

static void encode_codes_header(const vs__quant *qz, size_t n, uint8_t h[CHDR]) {
    memset(h, 0, CHDR);
    vs__put_u64(h + 0, n);
    vs__put_u32(h + 8, qz->code_size);
    vs__put_u32(h + 12, (uint32_t)qz->type);
    vs__put_u32(h + 16, (uint32_t)qz->kind);
    vs__put_u32(h + 20, qz->dim);
    vs__put_u64(h + 24, qz->id);
}

int vs__quant_codes_save(const vs__quant *qz, const uint8_t *codes, size_t n,
                         const char *path, vs__err *e) {
    char tmp[4096], dir[4096];
    size_t clen;
    if (vs__mul_ok(n, qz->code_size, &clen) || clen > SIZE_MAX - 2 * VS_FRAME_HDR)
        return vs__errf(e, VS_ERANGE, "%zu codes of %u bytes are too many", n, qz->code_size);
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
        return vs__errf(e, VS_ENAME, "path too long: %s", path);
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    else
        snprintf(dir, sizeof dir, ".");

    uint8_t ch[CHDR], fh[VS_FRAME_HDR];
    encode_codes_header(qz, n, ch);
    vs__cksum_state *ck = vs__cksum_new();
    if (!ck) return vs__errf(e, VS_ENOMEM, "out of memory writing %s", path);
    vs__cksum_update(ck, ch, CHDR);
    vs__cksum_update(ck, codes, clen);
    vs__frame f = {{0}, VS_FORMAT_VERSION, 0, VS_FRAME_HDR, CHDR + clen, vs__cksum_digest(ck)};
    vs__cksum_free(ck);
    memcpy(f.magic, CODES_MAGIC, 8);
    vs__frame_encode(&f, fh);

    int fd, rc;
    if ((rc = vs__file_open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644, &fd, e))) return rc;
    rc = vs__file_pwrite(fd, fh, VS_FRAME_HDR, 0, tmp, e);
    if (!rc) rc = vs__file_pwrite(fd, ch, CHDR, VS_FRAME_HDR, tmp, e);
    if (!rc && clen) rc = vs__file_pwrite(fd, codes, clen, VS_FRAME_HDR + CHDR, tmp, e);
    if (!rc) rc = vs__file_fsync(fd, tmp, e);
    vs__file_close(fd);
    if (!rc) rc = vs__file_rename(tmp, path, e);
    if (rc) {
        unlink(tmp);
        return rc;
    }
    return vs__dir_fsync(dir, e);
}

int vs__quant_codes_open(const vs__quant *qz, const char *path, vs__quant_codes *out,
                         vs__err *e) {
    memset(out, 0, sizeof *out);
    vs__map m;
    vs__frame f;
    int rc = vs__map_file(path, &m, e);
    if (rc) return rc;
    if ((rc = vs__frame_decode(m.data, m.len, CODES_MAGIC, &f, path, e)) ||
        (rc = vs__frame_check_body(&f, m.data, m.len, path, e))) {
        if (rc == VS_EFORMAT) rc = e->rc = VS_ECORRUPT;
        goto fail;
    }
    const uint8_t *b = m.data + f.body_off;
#define BAD(...)                                                                       \
    do {                                                                               \
        rc = vs__errf(e, VS_ECORRUPT, __VA_ARGS__);                                    \
        goto fail;                                                                     \
    } while (0)
    if (f.body_off != VS_FRAME_HDR) BAD("%s: codes body at offset %llu, expected %d", path, (unsigned long long)f.body_off, VS_FRAME_HDR);
    if (f.body_len < CHDR) BAD("%s: codes body of %llu bytes has no header", path, (unsigned long long)f.body_len);
    uint64_t n = vs__get_u64(b);
    uint32_t cs = vs__get_u32(b + 8), type = vs__get_u32(b + 12), kind = vs__get_u32(b + 16),
             dim = vs__get_u32(b + 20);
    uint64_t id = vs__get_u64(b + 24);
    for (size_t i = 32; i < CHDR; i++)
        if (b[i]) BAD("%s: reserved codes header byte %zu is not 0", path, i);
    if ((int)type != qz->type || (int)kind != qz->kind || dim != qz->dim || cs != qz->code_size)
        BAD("%s: codes are %s/kind %u/dim %u/%u bytes, the quantizer is %s/kind %d/dim %u/%u bytes",
            path, vs__quant_type_name((int)type), kind, dim, cs, vs__quant_type_name(qz->type), qz->kind, qz->dim,
            qz->code_size);
    if (id != qz->id)
        BAD("%s: codes were encoded by another quantizer (id %016llx, this one is %016llx)",
            path, (unsigned long long)id, (unsigned long long)qz->id);
    if (n > (f.body_len - CHDR) / cs || n * cs != f.body_len - CHDR)
        BAD("%s: %llu codes of %u bytes do not fill a body of %llu bytes", path,
            (unsigned long long)n, cs, (unsigned long long)f.body_len);
#undef BAD
    out->codes = b + CHDR;
    out->n = (size_t)n;
    out->code_size = cs;
    out->map = m;
    return VS_OK;
fail:
    vs__unmap(&m);
    return rc;
}

void vs__quant_codes_close(vs__quant_codes *c) {
    if (!c) return;
    vs__unmap(&c->map);
    memset(c, 0, sizeof *c);
}
