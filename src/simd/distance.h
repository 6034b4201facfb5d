/*
 * distance.h — SIMD distance kernels, chosen once at run time.
 *
 * Every kernel exists in three builds: scalar (the test oracle, plain C), AVX2+FMA and
 * AVX-512F, each in its own translation unit compiled with its own target flags
 * (distance_scalar.c, distance_avx2.c, distance_avx512.c). vs__dist_init() picks the best
 * one the CPU supports (__builtin_cpu_supports); the environment variable VS_SIMD=scalar|
 * avx2|avx512 forces a path (falling back to the best supported one below it when the
 * CPU lacks the asked one). vs__dist_init() is idempotent and thread-safe.
 *
 * Conventions: vectors are float32, rows are contiguous with a stride of dim floats,
 * no alignment is required (loads are unaligned; 64-byte-aligned data is faster).
 * dim >= 1. Kernels never allocate and never fail.
 *
 * "Score" below is always "higher is better" inside the engine:
 *   dot / cosine (vectors pre-normalised): score = dot(q, x)
 *   l2:                                  score = -||q - x||^2
 * The engine converts to the user-facing value (Euclidean distance) at the end.
 */
#ifndef VS_SIMD_DISTANCE_H
#define VS_SIMD_DISTANCE_H

#include <stddef.h>
#include <stdint.h>

typedef float (*vs__dist_pair_fn)(const float *a, const float *b, size_t dim);
/* Scores one query against n rows: out[i] = score(q, base + i*dim). */
typedef void (*vs__dist_rows_fn)(const float *q, const float *base, size_t n, size_t dim,
                                 float *out);

typedef struct vs__dist_ops {
    const char *name;          /* "scalar" | "avx2" | "avx512" */
    vs__dist_pair_fn dot;      /* sum a[i]*b[i] */
    vs__dist_pair_fn l2sq;     /* sum (a[i]-b[i])^2 */
    vs__dist_rows_fn dot_rows; /* out[i] = dot(q, row i) */
    vs__dist_rows_fn negl2_rows; /* out[i] = -l2sq(q, row i) */
    vs__dist_pair_fn norm_sq;  /* sum a[i]^2 (b ignored, may be NULL) */
} vs__dist_ops;

/* The selected kernels; never NULL. Initialises on first use (one atomic load after
 * that), so calling vs__dist_init() first (the store does it on open) is optional. The
 * returned table is static and immutable: callers may keep the pointer. */
const vs__dist_ops *vs__dist(void);
void vs__dist_init(void);
/* A specific build, or NULL if this CPU cannot run it (or the name is unknown); for
 * tests and benchmarks. */
const vs__dist_ops *vs__dist_get(const char *name);
/* Tests only: re-reads VS_SIMD and re-selects. Callers holding an older table pointer
 * keep using it; it stays valid (every table is static). */
void vs__dist_reset_for_test(void);

/* The per-ISA tables (defined in distance_<isa>.c). */
extern const vs__dist_ops vs__dist_scalar;
extern const vs__dist_ops vs__dist_avx2;
extern const vs__dist_ops vs__dist_avx512;

/* Batched scoring through BLAS (sgemm): out[i*ld_out + j] = score(q_i, row j) for
 * nq queries and n rows, with the metric's sign convention above; ld_out >= n, and the
 * gap between n and ld_out is left untouched. For l2 the caller passes row_norms
 * (||x_j||^2, n floats; may be NULL for dot) — the result is 2 q.x - ||x||^2 - ||q||^2
 * (exactly (2 q.x - ||x||^2) - ||q||^2 in float), clamped to <= 0 since cancellation
 * can round it above 0. Returns 0, or -1 if out of memory (scratch for query norms;
 * dot never fails). Threads: uses the BLAS library's threads. */
enum { VS__SCORE_DOT = 0, VS__SCORE_NEGL2 = 1 };
int vs__dist_gemm(int kind, const float *queries, size_t nq, const float *base, size_t n,
                  size_t dim, const float *row_norms, float *out, size_t ld_out);

#endif
