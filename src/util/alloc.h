/*
 * alloc.h — the one allocator every module uses.
 *
 * All heap memory in libvecstore goes through these functions so that tests can count
 * live allocations (leak checks without a sanitizer) and make the Nth allocation fail
 * (fault-injection sweeps, after SQLite's malloc tests). Failure injection is
 * process-wide and meant for single-threaded tests; the counters are atomic.
 *
 * vs__malloc(0) returns a unique non-NULL pointer. vs__free(NULL) is a no-op.
 * vs__aligned_alloc returns memory aligned to `align` (a power of two >= sizeof(void*))
 * that is released with vs__aligned_free (not vs__free).
 */
#ifndef VS_UTIL_ALLOC_H
#define VS_UTIL_ALLOC_H

#include <stddef.h>
#include <stdint.h>

void *vs__malloc(size_t n);
void *vs__calloc(size_t n, size_t size);
void *vs__realloc(void *p, size_t n);
void vs__free(void *p);
void *vs__aligned_alloc(size_t align, size_t n);
void vs__aligned_free(void *p);
char *vs__strdup(const char *s);
char *vs__strndup(const char *s, size_t n);
void *vs__memdup(const void *p, size_t n);

/* Overflow-checked n*size; returns 0 and sets *out, or -1 on overflow. */
int vs__mul_ok(size_t n, size_t size, size_t *out);

/* Bytes requested by the calling thread so far (malloc, calloc, realloc's new size,
 * aligned): the profiler subtracts two readings to get a stage's allocations. */
uint64_t vs__alloc_thread_bytes(void);

/* Testing hooks. */
int64_t vs__alloc_live(void);           /* allocations not yet freed */
void vs__alloc_fail_after(int64_t n);   /* the n-th allocation from now fails (n>=1); 0 = never */
void vs__alloc_fail_all_after(int64_t n); /* every allocation from the n-th on fails */
int64_t vs__alloc_failures(void);       /* injected failures so far */

#endif
