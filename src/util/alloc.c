/*
 * alloc.c — counting, failure-injecting wrapper over the C allocator.
 *
 * Invariant: live == successful allocations - frees. Aligned blocks are counted the
 * same way. The fail counters are decremented atomically by every allocation attempt;
 * when one reaches zero that attempt returns NULL without calling the C allocator.
 */
#include "util/alloc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static _Atomic int64_t g_live;
/* Bytes asked for by this thread, for the profiler's per-stage "bytes allocated": a
 * thread-local add costs nothing next to malloc itself. */
static _Thread_local uint64_t tl_bytes;
static _Atomic int64_t g_fail_countdown; /* 0 = off */
static _Atomic int g_fail_sticky;
static _Atomic int64_t g_failures;

static int should_fail(void) {
    int64_t c = atomic_load_explicit(&g_fail_countdown, memory_order_relaxed);
    if (c == 0) return 0;
    if (atomic_load_explicit(&g_fail_sticky, memory_order_relaxed)) {
        if (c > 1) {
            atomic_fetch_sub(&g_fail_countdown, 1);
            return 0;
        }
        atomic_fetch_add(&g_failures, 1);
        return 1;
    }
    c = atomic_fetch_sub(&g_fail_countdown, 1);
    if (c == 1) {
        atomic_fetch_add(&g_failures, 1);
        return 1;
    }
    if (c <= 0) atomic_store(&g_fail_countdown, 0);
    return 0;
}

void *vs__malloc(size_t n) {
    if (should_fail()) return NULL;
    void *p = malloc(n ? n : 1);
    if (p) atomic_fetch_add_explicit(&g_live, 1, memory_order_relaxed);
    tl_bytes += n;
    return p;
}

void *vs__calloc(size_t n, size_t size) {
    size_t t;
    if (vs__mul_ok(n, size, &t) != 0) return NULL;
    if (should_fail()) return NULL;
    void *p = calloc(t ? t : 1, 1);
    if (p) atomic_fetch_add_explicit(&g_live, 1, memory_order_relaxed);
    tl_bytes += t;
    return p;
}

void *vs__realloc(void *p, size_t n) {
    if (!p) return vs__malloc(n);
    if (should_fail()) return NULL;
    tl_bytes += n;
    return realloc(p, n ? n : 1);
}

void vs__free(void *p) {
    if (!p) return;
    atomic_fetch_sub_explicit(&g_live, 1, memory_order_relaxed);
    free(p);
}

void *vs__aligned_alloc(size_t align, size_t n) {
    if (should_fail()) return NULL;
    void *p = NULL;
    if (posix_memalign(&p, align, n ? n : 1) != 0) return NULL;
    tl_bytes += n;
    atomic_fetch_add_explicit(&g_live, 1, memory_order_relaxed);
    return p;
}

void vs__aligned_free(void *p) { vs__free(p); }

char *vs__strndup(const char *s, size_t n) {
    char *d = vs__malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

char *vs__strdup(const char *s) { return vs__strndup(s, strlen(s)); }

void *vs__memdup(const void *p, size_t n) {
    void *d = vs__malloc(n);
    if (d && n) memcpy(d, p, n);
    return d;
}

int vs__mul_ok(size_t n, size_t size, size_t *out) {
    if (size && n > SIZE_MAX / size) return -1;
    *out = n * size;
    return 0;
}

int64_t vs__alloc_live(void) { return atomic_load(&g_live); }

uint64_t vs__alloc_thread_bytes(void) { return tl_bytes; }

void vs__alloc_fail_after(int64_t n) {
    atomic_store(&g_fail_sticky, 0);
    atomic_store(&g_fail_countdown, n < 0 ? 0 : n);
}

void vs__alloc_fail_all_after(int64_t n) {
    atomic_store(&g_fail_sticky, 1);
    atomic_store(&g_fail_countdown, n < 0 ? 0 : n);
}

int64_t vs__alloc_failures(void) { return atomic_load(&g_failures); }
