/*
 * bench_util.h — what the single-file benchmarks in bench/ share: a monotonic clock in
 * seconds and a small deterministic generator (xorshift64, fixed seed, so every run
 * measures the same data).
 */
#ifndef VS_BENCH_UTIL_H
#define VS_BENCH_UTIL_H

#include <stdint.h>
#include <time.h>

static inline double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t g_rng = 0x9E3779B97F4A7C15ull;

static inline uint64_t rnd(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return g_rng;
}

/* Uniform in [-1, 1). */
static inline float frand(void) {
    return (float)((double)(rnd() >> 40) / (double)(1ull << 23) - 1.0);
}

#endif
