/*
 * distance.c — chooses the distance kernels once, at run time.
 *
 * The kernels for each instruction set live in their own translation unit compiled
 * with that set's target flags (distance_<isa>.c); this file is compiled for the
 * baseline x86-64 and only compares CPUID feature bits and hands out pointers to the
 * tables, so nothing that could execute an unsupported instruction runs before the
 * check. __builtin_cpu_supports() consults CPUID and, for AVX and AVX-512, whether the
 * OS saves the wider registers (XCR0), so a CPU with AVX-512 under an OS or hypervisor
 * that does not enable its state gets avx2.
 *
 * A table is "supported" only if the CPU has every feature its file is compiled with:
 * the compiler is free to use any of them (avx512 is built with F, DQ, BW, VL, AVX2
 * and FMA; avx2 with AVX2 and FMA).
 *
 * SELECTION
 *   VS_SIMD unset, empty or unknown: the best supported table (avx512 > avx2 > scalar).
 *   VS_SIMD=avx512|avx2|scalar: that table, or the best supported one below it.
 *   The environment is read once, by the first vs__dist_init() (or vs__dist(), which
 *   initialises on demand); vs__dist_reset_for_test() reads it again.
 *
 * THREADS
 *   pthread_once makes the first selection race-free. The chosen table is published
 *   through an atomic pointer (release/acquire), so vs__dist() is a single load on the
 *   fast path and a test re-selection can never be seen half-done: every table is
 *   immutable static data.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "simd/distance.h"
#include "vecstore.h"

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static const vs__dist_ops *_Atomic g_ops;

static int cpu_has_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

static int cpu_has_avx512(void) {
    __builtin_cpu_init();
    return cpu_has_avx2() && __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl");
}

const vs__dist_ops *vs__dist_get(const char *name) {
    if (!name) return NULL;
    if (!strcmp(name, "scalar")) return &vs__dist_scalar;
    if (!strcmp(name, "avx2")) return cpu_has_avx2() ? &vs__dist_avx2 : NULL;
    if (!strcmp(name, "avx512")) return cpu_has_avx512() ? &vs__dist_avx512 : NULL;
    return NULL;
}

static const vs__dist_ops *select_ops(void) {
    /* Levels from best to worst; a forced level starts the search there. */
    static const char *const levels[] = {"avx512", "avx2", "scalar"};
    size_t start = 0;
    const char *env = getenv("VS_SIMD");
    if (env && *env) {
        for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++)
            if (!strcmp(env, levels[i])) start = i;
    }
    for (size_t i = start; i < sizeof levels / sizeof levels[0]; i++) {
        const vs__dist_ops *ops = vs__dist_get(levels[i]);
        if (ops) return ops;
    }
    return &vs__dist_scalar; /* not reached: scalar is always supported */
}

static void init_once(void) {
    atomic_store_explicit(&g_ops, select_ops(), memory_order_release);
}

void vs__dist_init(void) { pthread_once(&g_once, init_once); }

const vs__dist_ops *vs__dist(void) {
    const vs__dist_ops *ops = atomic_load_explicit(&g_ops, memory_order_acquire);
    if (ops) return ops;
    vs__dist_init();
    return atomic_load_explicit(&g_ops, memory_order_acquire);
}

void vs__dist_reset_for_test(void) {
    vs__dist_init(); /* so a later first init cannot overwrite this choice */
    atomic_store_explicit(&g_ops, select_ops(), memory_order_release);
}

const char *vs_simd_name(void) { return vs__dist()->name; }
