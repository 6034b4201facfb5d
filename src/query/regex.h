/*
 * regex.h — PCRE2 patterns for MATCHES filters: compiled once, cached, bounded.
 *
 * Patterns are Perl-compatible (PCRE2, UTF-8 mode with Unicode properties), compiled with
 * the JIT when the platform has one. A filter holds a reference to its compiled pattern;
 * identical patterns share one compilation through a process-wide cache (LRU, at most
 * VS__REGEX_CACHE entries; entries in use are never freed under a holder).
 *
 * A hostile pattern cannot hang a query: every match runs under a match limit (backtracking
 * steps), a depth limit and a heap limit; hitting one fails the match with VS_ELIMIT and a
 * message naming the limit (the query fails; it never returns a silently partial answer).
 * Pattern length is limited to VS__REGEX_MAX bytes. VS_REGEX_JIT=0 in the environment
 * compiles without the JIT (the tests use it to cover the interpreter's limits).
 *
 * Thread safety: vs__regex_get/put may be called from any thread. A compiled pattern is
 * immutable; matching needs a per-thread vs__regex_scratch (match data and JIT stack).
 */
#ifndef VS_QUERY_REGEX_H
#define VS_QUERY_REGEX_H

#include <stddef.h>

#include "util/err.h"

#define VS__REGEX_MAX 4096
#define VS__REGEX_CACHE 256
#define VS__REGEX_MATCH_LIMIT 1000000u /* backtracking steps per match */
#define VS__REGEX_DEPTH_LIMIT 10000u   /* nested backtracking frames (interpreter) */
#define VS__REGEX_HEAP_LIMIT 8192u     /* KiB of backtracking memory per match */

typedef struct vs__regex vs__regex;
typedef struct vs__regex_scratch vs__regex_scratch;

/* A compiled pattern for pat[0..len) (len <= VS__REGEX_MAX; may contain NUL bytes), new or
 * from the cache, with one reference for the caller. Errors: VS_EFILTER "bad regex at
 * offset N: reason" (N = byte offset in the pattern; *err_at set to N when err_at is not
 * NULL; a pattern over VS__REGEX_MAX bytes is VS_EFILTER with *err_at = VS__REGEX_MAX),
 * VS_ENOMEM. The pattern must be valid UTF-8 (else VS_EFILTER at the bad byte). */
int vs__regex_get(const char *pat, size_t len, vs__regex **out, size_t *err_at, vs__err *e);
/* Drops a reference (NULL is fine). */
void vs__regex_put(vs__regex *r);

/* 1 if subj[0..len) contains a match, 0 if not; VS_ELIMIT when a limit stops the match,
 * VS_ENOMEM. The subject is UTF-8 but need not be valid: with PCRE2_MATCH_INVALID_UTF an
 * invalid byte sequence is matched by no pattern item (not even '.' or [^x]) and never
 * crashes, while the valid stretches around it match as usual ("b" matches "a\xffb",
 * "a.b" does not). *scratch is created on first use (start with NULL) and reused by one
 * thread at a time; free it with vs__regex_scratch_free. */
int vs__regex_match(const vs__regex *r, const char *subj, size_t len, vs__regex_scratch **scratch,
                    vs__err *e);
void vs__regex_scratch_free(vs__regex_scratch *s);

/* 1 if r was compiled by the JIT, 0 if it runs on the interpreter (for tests). */
int vs__regex_jit(const vs__regex *r);

/* Empties the cache (entries still held are freed when their last holder lets go). For
 * tests and leak checks at exit. */
void vs__regex_cache_clear(void);

#endif
