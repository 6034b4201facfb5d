/*
 * quant.h — vector quantization: compact codes for the index, scored against a query.
 *
 * An index that keeps every vector as dim float32 spends most of its memory and its
 * memory bandwidth on them. A quantizer replaces each vector by a short code; the index
 * searches over codes and then rescores its best candidates with the original float
 * vectors (which stay on disk, mmap'd), so quantization costs little recall (Qdrant's
 * "oversampling + rescore"). This module is the quantizer alone: it trains, encodes,
 * prepares queries, scores codes, and saves/loads itself and code arrays. Wiring it into
 * HNSW search, choosing the candidate count and rescoring are the caller's business.
 *
 * THREE CODE TYPES (enum vs_quant of vecstore.h)
 *
 *   VS_QUANT_INT8 (scalar quantization; 4x smaller). Each dimension j has a range
 *     [lo_j, hi_j] learned on a training sample, either per dimension (default) or one
 *     range for all dimensions: min/max by default, or optionally clipped to a central
 *     quantile (0.99: the 0.5 % tails on each side are clipped, as Qdrant offers) so
 *     that a few outliers do not stretch the step. With the step s_j = (hi_j - lo_j) /
 *     255 a value is stored as c_j = round((clamp(x_j) - lo_j) / s_j) in one unsigned
 *     byte and reconstructed as x^_j = lo_j + s_j c_j. For l2 the code also carries ||x^||^2 (float32) after the
 *     bytes, because the score needs it (below).
 *       code = c_0 .. c_{dim-1} [, ||x^||^2 as float32 LE]     dim (+4 for l2) bytes
 *
 *   VS_QUANT_PQ (product quantization, Jegou, Douze & Schmid, "Product quantization for
 *     nearest neighbor search", TPAMI 2011). The dimensions are cut into m sub-spaces of
 *     dsub = dim/m consecutive dimensions (dim % m == 0 or VS_EINVAL); each sub-space has
 *     its own codebook of 256 centroids trained with k-means (k-means++ seeding, Arthur
 *     & Vassilvitskii 2007, then Lloyd iterations) on a sample of at most max_sample rows
 *     (default 65536) drawn with a deterministic seed. A vector is stored as the index of
 *     the nearest (l2) centroid in each sub-space: m bytes. Training is deterministic:
 *     the same seed and input give bit-identical codebooks on every SIMD build.
 *       code = k_0 .. k_{m-1}                                  m bytes
 *
 *   VS_QUANT_BINARY (1 bit per dimension; cosine and dot only, VS_EINVAL for l2). Bit j
 *     is 1 iff x_j > 0; nothing is trained. Bits are packed little-endian into 64-bit
 *     words (bit j = bit j%64 of word j/64, zero padding).
 *       code = ceil(dim/64) words                              8*ceil(dim/64) bytes
 *
 * SCORES
 *   The convention of simd/distance.h: higher is better. kind = VS__SCORE_DOT for dot
 *   and for cosine (whose vectors and queries the caller has normalised), score = q.x;
 *   kind = VS__SCORE_NEGL2 for l2, score = -||q - x||^2. A quantized score estimates the
 *   float score, in the same units for int8 and PQ; binary scores only rank (below).
 *
 *   int8: asymmetric with a quantised query. Preparing folds the steps into the query,
 *     q'_j = q_j s_j, and rounds it to int16: q16_j = round(q'_j / a), with a the
 *     smallest scale that keeps |q16_j| <= 32767 and 255 sum_j |q16_j| < 2^31 (so that
 *     every partial sum fits int32). Then q.x^ = C + a * sum_j q16_j c_j, where the
 *     integer sum is exact (u8 x s16 products summed in int32; AVX-512 VNNI does it
 *     with VPDPWSSD) and C = sum q_j lo_j + 127.5 sum_j (q'_j - a q16_j) puts back the
 *     query's rounding error against a code at mid-range. The score is q.x^ for dot
 *     and 2 q.x^ - ||q||^2 - ||x^||^2 = -||q - x^||^2 for l2, with ||x^||^2 from the
 *     code: the distance to the reconstruction, not 2 q.x^ - ||q||^2 - ||x||^2 with
 *     the exact norm, because for a near neighbour (q ~ x) the code's rounding errors
 *     then cancel: its error is 2 (q - x).e + ||e||^2 (e = x^ - x) instead of 2 q.e.
 *     On the clustered l2 data of test_quant.c (20k x 64, seeds 1-3) recall@10 before
 *     rescoring is 0.97-0.98 this way, 0.94-0.97 with the exact norm.
 *     Why int16 and not int8 (VPDPBUSD takes u8 x s8 directly, twice the products per
 *     instruction): an int8 query's rounding error is as large as the codes' and cost
 *     about a point of recall@10 before rescoring on that l2 data (0.93-0.96 against
 *     0.94-0.97 with int16, exact norms), while the scan of 200k x 128 codes from
 *     memory ran at the same 4.6-4.9 ns/row either way; in cache (20k codes) the int16
 *     kernel is ~25 % slower (2.7 against 2.1 ns/row). With int16 the query's share of
 *     the error is negligible.
 *     ERROR BOUND, for a vector whose values were not clipped (x_j in [lo_j, hi_j], so
 *     |x^_j - x_j| <= s_j/2), with Q = 127.5 sum_j |q'_j - a q16_j| (query rounding):
 *       dot: |score - q.x| <= sum_j |q_j| s_j / 2 + Q
 *       l2:  |score + ||q - x||^2| <= E (2 ||q - x|| + E) + 2 Q,  E = ||s|| / 2
 *     plus float rounding (relative ~1e-6); vs__quant_int8_bound() evaluates it. A
 *     clipped value adds |q_j| (dot) or its distance to the range (l2, through E).
 *   PQ: asymmetric distance computation (ADC, Jegou et al. section 4.1): preparing
 *     builds an m x 256 table T[s][k] = score of the query's sub-vector s against
 *     centroid k (q_s.c for dot, -||q_s - c||^2 for l2); a code scores
 *     sum_s T[s][k_s] = score(q, x^) exactly, x^ the concatenated centroids. There is no
 *     worst-case bound: the error is the reconstruction error ||x - x^||, small for data
 *     that resembles the training sample.
 *   binary: the query is quantised to query_bits bits per dimension (params; default 4):
 *     q~_j = lo + step u_j, u_j in [0, 2^bits), lo/step from the query's min and max; with
 *     1 bit, q~_j = sign(q_j) (+1 for q_j > 0, else -1). The score is
 *     sum_j q~_j sgn(x_j) (sgn = +1 for a 1 bit, -1 for a 0 bit), computed from
 *     popcounts of the code ANDed with the query's bit planes (VPOPCNTDQ): with 1 bit it
 *     is dim - 2 hamming(q, x). It is the dot product of the quantised query with the
 *     sign vector of x: it ranks like cosine on data spread around the origin, but is
 *     not in the metric's units, so compare binary scores with each other only, then
 *     rescore.
 *
 *   Every SIMD build returns bit-identical scores, codes and codebooks (the integer and
 *   table kernels are exact, the float kernels sum in the same order with no fused
 *   multiply-add, and the float finishing is shared code), so tests compare builds with
 *   memcmp and a codebook does not depend on the machine that trained it.
 *
 * OWNERSHIP AND THREADS
 *   A vs__quant is immutable after training or loading: any number of threads may
 *   encode, prepare queries and score with it at once. A vs__quant_query is per thread
 *   and reusable across queries; it borrows its quantizer, which must outlive it.
 *   Encoding and scoring never allocate and never fail; training, query objects and
 *   file operations allocate through util/alloc.h and fail cleanly (VS_ENOMEM, no leak).
 *   Inputs must be finite (the engine rejects NaN and infinity before they get here).
 *
 * FILES (storage/frame.h header; integers and floats little-endian)
 *   Quantizer, magic "VSQUANT1", written atomically (tmp + fsync + rename), body:
 *     off size
 *       0    4  type        1 int8, 2 pq, 3 binary (enum vs_quant)
 *       4    4  kind        0 VS__SCORE_DOT, 1 VS__SCORE_NEGL2
 *       8    4  dim         1..VS_DIM_MAX
 *      12    4  code_size   bytes per code; must equal what type, kind and dim imply
 *      16    4  p0          int8: flags (bit 0 = per-dimension ranges); pq: m;
 *                           binary: query bits
 *      20    4  p1          int8: quantile (float32 bits); pq: 256 (centroids); binary: 0
 *      24    4  p2          pq: Lloyd iterations; else 0
 *      28    4  reserved    0
 *      32    8  seed
 *      40    8  n_train     rows in the training sample
 *      48       int8: lo[dim], step[dim] (float32, finite, step >= 0)
 *               pq:   centroids[m][dsub][256] (float32, finite; transposed so that the
 *                     256 centroids of one dimension are contiguous for the kernels)
 *               binary: nothing
 *     The body must be exactly that long.
 *   Codes, magic "VSQCODE1", written atomically, loaded with mmap; body:
 *       0    8  n           number of codes
 *       8    4  code_size
 *      12    4  type
 *      16    4  kind
 *      20    4  dim
 *      24    8  quantizer   vs__quant_id() of the quantizer that encoded them
 *      32   32  reserved    0
 *      64       n * code_size bytes of codes (file offset 128: 64-byte aligned in the map)
 *   Loading checks the frame (magic, checksums, version: VS_EVERSION when newer), then
 *   every field; anything inconsistent (including codes paired with another quantizer)
 *   is VS_ECORRUPT, named in the message.
 */
#ifndef VS_INDEX_QUANT_H
#define VS_INDEX_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "os/file.h"
#include "simd/distance.h"
#include "util/err.h"
#include "vecstore.h"

/* Tunables (pgvector style: every one has DEFAULT/MIN/MAX). */
#define VS_QUANT_SAMPLE_DEFAULT 65536u /* training rows drawn from the input */
#define VS_QUANT_SAMPLE_MIN 1u
#define VS_QUANT_SAMPLE_MAX (1u << 24)
/* Central fraction of each range kept; 1 = min/max, no clipping. Clipping (Qdrant
 * suggests 0.99) spends the 255 steps on the bulk of a long-tailed dimension, but on
 * data without outliers it clips exactly the informative extremes: clustered 20k x 64
 * (test_quant.c), recall@10 before rescoring 0.93 (l2) / 0.89 (dot) with 0.99 against
 * 0.97-0.98 / 0.99 with 1.0. Ranges are per dimension by default, so an outlier
 * stretches one dimension only; hence no clipping unless asked for. */
#define VS_QUANT_INT8_QUANTILE_DEFAULT 1.0f
#define VS_QUANT_INT8_QUANTILE_MIN 0.5f
#define VS_QUANT_INT8_QUANTILE_MAX 1.0f
#define VS_QUANT_PQ_M_MIN 1u                /* and dim % m == 0, so m <= dim */
#define VS_QUANT_PQ_KSUB 256u               /* centroids per sub-space: one byte */
#define VS_QUANT_PQ_ITERS_DEFAULT 25u
#define VS_QUANT_PQ_ITERS_MIN 1u
#define VS_QUANT_PQ_ITERS_MAX 1000u
#define VS_QUANT_BIN_QBITS_DEFAULT 4u       /* query bits for binary scoring */
#define VS_QUANT_BIN_QBITS_MIN 1u
#define VS_QUANT_BIN_QBITS_MAX 8u

typedef struct vs__quant vs__quant;
typedef struct vs__quant_query vs__quant_query;

typedef struct vs__quant_params {
    int type;               /* VS_QUANT_INT8 | VS_QUANT_PQ | VS_QUANT_BINARY */
    int kind;               /* VS__SCORE_DOT (dot, cosine) | VS__SCORE_NEGL2 (l2) */
    uint32_t max_sample;    /* training rows at most (int8, pq) */
    uint64_t seed;          /* sample and k-means++ draws */
    float int8_quantile;    /* central fraction of values the range covers (1: all) */
    int int8_per_dim;       /* 1: a range per dimension; 0: one range for all */
    uint32_t pq_m;          /* sub-quantizers, dim % pq_m == 0 */
    uint32_t pq_iters;      /* Lloyd iterations at most (stops early when stable) */
    uint32_t bin_query_bits; /* 1: symmetric (hamming); 2..8: asymmetric */
} vs__quant_params;

/* Fills defaults for a type and score kind (pq_m = 0: must be set for PQ). */
void vs__quant_params_init(vs__quant_params *p, int type, int kind);

/* Trains on n rows of dim floats (row-major; cosine rows normalised). Bad parameters
 * are VS_EINVAL with a message naming the value ("pq: dim 100 is not a multiple of
 * pq_m 16"); VS_ENOMEM. *out is owned by the caller (vs__quant_free). */
int vs__quant_train(const vs__quant_params *p, const float *x, size_t n, size_t dim,
                    vs__quant **out, vs__err *e);
void vs__quant_free(vs__quant *qz);

int vs__quant_type(const vs__quant *qz);
/* "none", "int8", "pq", "binary" (the names of schema files and messages); "?" else. */
const char *vs__quant_type_name(int type);
/* How many candidates per result a rescoring search keeps for rescoring, at least:
 * the walk keeps the best max(ef, k x oversampling) by code, and the rows rescored are
 * the best max(that, k x this factor) codes met anywhere on the walk (hnsw.c,
 * RESCORING). Coarser codes get more. */
size_t vs__quant_rescore_factor(int type);
int vs__quant_kind(const vs__quant *qz);
size_t vs__quant_dim(const vs__quant *qz);
size_t vs__quant_code_size(const vs__quant *qz); /* bytes per code */
size_t vs__quant_memory(const vs__quant *qz);    /* bytes held (codebooks, ranges) */
/* A 64-bit identity (checksum of the serialised quantizer): codes record it. */
uint64_t vs__quant_id(const vs__quant *qz);

/* Encodes n rows into codes (n * code_size bytes, caller-allocated, any alignment). */
void vs__quant_encode(const vs__quant *qz, const float *x, size_t n, uint8_t *codes);
/* Reconstructs one vector (dim floats): x^ for int8 and PQ; for binary the sign vector
 * scaled to unit length (+-1/sqrt(dim)). */
void vs__quant_decode(const vs__quant *qz, const uint8_t *code, float *out);

/* Query objects: allocate once per thread, prepare per query. */
int vs__quant_query_new(const vs__quant *qz, vs__quant_query **out, vs__err *e);
void vs__quant_query_free(vs__quant_query *qq);
/* Prepares for query q (dim floats; normalised for cosine). Never fails. */
void vs__quant_query_prepare(vs__quant_query *qq, const float *q);
/* int8: the error bound above for the prepared query; for l2 it depends on the
 * distance: pass dist = ||q - x|| (an upper bound will do; ignored for dot). Other
 * types: INFINITY. */
float vs__quant_int8_bound(const vs__quant_query *qq, float dist);

/* Score of one code. */
float vs__quant_score(const vs__quant_query *qq, const uint8_t *code);
/* out[i] = score of codes + i * code_size, i < n (a contiguous run: a flat scan). */
void vs__quant_score_rows(const vs__quant_query *qq, const uint8_t *codes, size_t n,
                          float *out);
/* out[i] = score of codes + rows[i] * code_size (a neighbour list in a graph). */
void vs__quant_score_ids(const vs__quant_query *qq, const uint8_t *codes,
                         const uint32_t *rows, size_t n, float *out);

/* Persistence (layouts above). */
int vs__quant_save(const vs__quant *qz, const char *path, vs__err *e);
int vs__quant_load(const char *path, vs__quant **out, vs__err *e);

/* A loaded code array: codes[i * code_size], i < n, valid until close. */
typedef struct vs__quant_codes {
    const uint8_t *codes;
    size_t n;
    size_t code_size;
    vs__map map; /* private */
} vs__quant_codes;
int vs__quant_codes_save(const vs__quant *qz, const uint8_t *codes, size_t n,
                         const char *path, vs__err *e);
/* Maps the file and verifies it (checksum, header) against qz. */
int vs__quant_codes_open(const vs__quant *qz, const char *path, vs__quant_codes *out,
                         vs__err *e);
void vs__quant_codes_close(vs__quant_codes *c); /* accepts a zeroed or closed struct */

/* ------------------------------------------------------------------ kernels ----
 * Internal to the module and its tests. One table per instruction set, each in its
 * own file compiled with its own flags (quant_scalar.c: the oracle; quant_avx2.c;
 * quant_avx512.c: "avx512" = F/BW/VL/DQ, "avx512icl" = + VNNI + VPOPCNTDQ, functions
 * built with target attributes). Chosen once at run time by CPUID; VS_SIMD=scalar|avx2|
 * avx512 forces a level as for simd/distance.h (avx512 takes the best AVX-512 table).
 * Kernels never allocate, never fail, read no byte outside their arguments, and give
 * bit-identical results on every table (the tests check with memcmp). */
typedef struct vs__quant_ops {
    const char *name; /* "scalar" | "avx2" | "avx512" | "avx512icl" */
    /* out[k] = sum_j (x[j] - t[j*ld + k])^2 (l2) or sum_j x[j] t[j*ld + k] (dot), k <
     * ncols, each sum taken in j order from 0.0f with separate multiply and add. */
    void (*cols)(const float *x, const float *t, size_t d, size_t ncols, size_t ld, int l2,
                 float *out);
    /* The first index of the minimum of d[0..n), n >= 1. */
    size_t (*argmin)(const float *d, size_t n);
    /* PQ: out[i] = sum_s table[s*256 + codes[i*m + s]], s ascending from 0.0f. */
    void (*pq_rows)(const float *table, const uint8_t *codes, size_t n, size_t m,
                    float *out);
    /* int8: out[i] = sum_j q16[j] codes[i*stride + j], j < dim, exact: the caller
     * guarantees 255 sum_j |q16[j]| < 2^31. q16 is zero-padded to a multiple of 64
     * entries (a build may read the padding). */
    void (*i8_rows)(const int16_t *q16, const uint8_t *codes, size_t n, size_t dim,
                    size_t stride, int32_t *out);
    /* binary: for code i (words 64-bit words at codes + i*8*words):
     * sums[i] = sum_b 2^b popcount(planes[b] & x), pcs[i] = popcount(x), b < nplanes,
     * planes[b] = planes + b*words. */
    void (*bin_rows)(const uint64_t *planes, size_t nplanes, const uint8_t *codes, size_t n,
                     size_t words, uint32_t *sums, uint32_t *pcs);
} vs__quant_ops;

extern const vs__quant_ops vs__quant_scalar;
extern const vs__quant_ops vs__quant_avx2;
extern const vs__quant_ops vs__quant_avx512;
extern const vs__quant_ops vs__quant_avx512icl;

/* The selected table (initialised on first use; static, immutable). */
const vs__quant_ops *vs__quant_kernels(void);
/* A named table, or NULL if this CPU cannot run it or the name is unknown. */
const vs__quant_ops *vs__quant_kernels_get(const char *name);
/* Tests only: re-reads VS_SIMD. */
void vs__quant_kernels_reset_for_test(void);
/* Tests and benchmarks: score a prepared query with another table. */
void vs__quant_query_use(vs__quant_query *qq, const vs__quant_ops *ops);

/* The module's random numbers: splitmix64 (Steele, Lea & Flood, OOPSLA 2014), small,
 * fast and statistically sound for sampling; the same sequence on every machine. */
static inline uint64_t vs__quant_rng(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
/* Uniform in [0, 1) with 53 random bits. */
static inline double vs__quant_rng_unit(uint64_t *state) {
    return (double)(vs__quant_rng(state) >> 11) * (1.0 / 9007199254740992.0);
}

/* k-means for one sub-space (quant_kmeans.c): clusters n points of d floats (row-major)
 * into k <= 256 centroids, k-means++ seeding then at most iters Lloyd iterations;
 * writes cent_t[j*k + c] (transposed) and the mean squared distance of the points to
 * their centroids after the last assignment (may be NULL). Deterministic for a seed.
 * VS_ENOMEM only. */
int vs__quant_kmeans(const vs__quant_ops *ops, const float *x, size_t n, size_t d, size_t k,
                     unsigned iters, uint64_t seed, float *cent_t, double *mse, vs__err *e);

#endif
