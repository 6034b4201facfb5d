/*
 * regex.c — PCRE2 behind a cache, with every match bounded.
 *
 * Compilation. Patterns are compiled for UTF-8 with Unicode properties (PCRE2_UTF |
 * PCRE2_UCP) and PCRE2_MATCH_INVALID_UTF (PCRE2 >= 10.34): payload strings are not
 * guaranteed valid UTF-8, and without that option PCRE2 either rejects such a subject
 * (a check that costs a pass over every subject) or, told to skip the check, reads past
 * the ends of broken sequences. With it, invalid byte sequences are simply never matched
 * by any pattern item, so "a.b" does not match "a\xffb" while "b" still matches it.
 * PCRE2_NEVER_BACKSLASH_C forbids \C (one code unit), the one item that could stop a
 * match in the middle of a character. Then pcre2_jit_compile; if the platform has no
 * JIT, the pattern is too complex for it, or it fails for any other reason (including
 * no executable memory), the interpreter is used and nobody is told: the answers are the
 * same. VS_REGEX_JIT=0 in the environment skips the JIT (read at each compilation), so
 * the tests cover both matchers.
 *
 * Memory. Every PCRE2 allocation (compiled code, JIT compiler work space, match data,
 * contexts, the interpreter's backtracking frames) goes through util/alloc.h by way of a
 * pcre2_general_context, so the leak counter and the allocation-failure sweeps see
 * PCRE2 too. PCRE2 copies the allocator into every object it creates from a context, so
 * the general contexts are short-lived (one per compilation, one per scratch). The JIT's
 * executable code lives in pages PCRE2 maps itself and frees with the code.
 *
 * The cache. Key = the exact pattern bytes (NUL bytes included), hashed with XXH3 into
 * a fixed table of chains; an LRU list bounds it to VS__REGEX_CACHE entries. Holders
 * (filters) count in `refs`; the cache's own link is the `cached` flag. An entry is freed
 * when it is neither cached nor held: eviction and vs__regex_cache_clear only unlink it,
 * so a filter's pattern stays valid under it. One mutex guards the table, the list,
 * refs and cached; compilation happens outside it (two threads missing on the same
 * pattern both compile, the second to insert drops its copy and takes the first's).
 *
 * Bounds. A match runs under a pcre2_match_context with a match limit (backtracking
 * steps, counted by the JIT too), a depth limit and a heap limit (interpreter only), and
 * JIT code on a JIT stack of 32 KiB growing to at most 1 MiB. Hitting any of them fails
 * the match with VS_ELIMIT; a caller never sees a "no match" that was really "gave up".
 * The per-thread vs__regex_scratch holds the match data (one ovector pair: callers only
 * ask whether there is a match), the match context and the JIT stack; PCRE2 keeps the
 * interpreter's frame vector in the match data, so a warm scratch matches without
 * allocating.
 */
#include "query/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "util/alloc.h"

#define REGEX_BUCKETS 512 /* power of two, 2x VS__REGEX_CACHE: short chains */
#define REGEX_JIT_STACK_MIN (32u * 1024u)
#define REGEX_JIT_STACK_MAX (1024u * 1024u)
#define REGEX_QUOTE_MAX 48 /* pattern bytes quoted in a match error message */

struct vs__regex {
    pcre2_code *code;
    int jit;                       /* JIT-compiled */
    int refs;                      /* holders; under g_mu */
    int cached;                    /* in the table and LRU list; under g_mu */
    uint64_t hash;
    struct vs__regex *chain;       /* next in the bucket */
    struct vs__regex *newer, *older; /* LRU list */
    size_t len;
    char pat[];                    /* the pattern, NUL-terminated for messages */
};

struct vs__regex_scratch {
    pcre2_general_context *gctx; /* kept to create the JIT stack when first needed */
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    pcre2_jit_stack *jstack;
};

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static vs__regex *g_bucket[REGEX_BUCKETS];
static vs__regex *g_newest, *g_oldest;
static int g_count;

/* PCRE2's allocator hooks (its signature carries a user pointer we do not need). */
static void *regex_malloc(PCRE2_SIZE n, void *data) {
    (void)data;
    return vs__malloc(n);
}
static void regex_free(void *p, void *data) {
    (void)data;
    vs__free(p);
}

static void regex_free_entry(vs__regex *r) {
    if (!r) return;
    pcre2_code_free(r->code);
    vs__free(r);
}

/* ---------------------------------------------------------------- cache ---- */

static vs__regex *cache_find(uint64_t h, const char *pat, size_t len) {
    for (vs__regex *r = g_bucket[h & (REGEX_BUCKETS - 1)]; r; r = r->chain)
        if (r->hash == h && r->len == len && memcmp(r->pat, pat, len) == 0) return r;
    return NULL;
}

static void lru_unlink(vs__regex *r) {
    if (r->newer)
        r->newer->older = r->older;
    else
        g_newest = r->older;
    if (r->older)
        r->older->newer = r->newer;
    else
        g_oldest = r->newer;
    r->newer = r->older = NULL;
}

static void lru_push(vs__regex *r) {
    r->older = g_newest;
    r->newer = NULL;
    if (g_newest)
        g_newest->newer = r;
    else
        g_oldest = r;
    g_newest = r;
}

/* Takes r out of the cache; returns r when nobody holds it (the caller frees it after
 * unlocking), NULL otherwise. */
static vs__regex *cache_unlink(vs__regex *r) {
    vs__regex **pp = &g_bucket[r->hash & (REGEX_BUCKETS - 1)];
    while (*pp != r) pp = &(*pp)->chain;
    *pp = r->chain;
    r->chain = NULL;
    lru_unlink(r);
    r->cached = 0;
    g_count--;
    return r->refs == 0 ? r : NULL;
}

void vs__regex_cache_clear(void) {
    vs__regex *dead = NULL;
    pthread_mutex_lock(&g_mu);
    while (g_oldest) {
        vs__regex *r = cache_unlink(g_oldest);
        if (r) { /* chain reused as the free list */
            r->chain = dead;
            dead = r;
        }
    }
    pthread_mutex_unlock(&g_mu);
    while (dead) {
        vs__regex *next = dead->chain;
        regex_free_entry(dead);
        dead = next;
    }
}

/* At exit, so LeakSanitizer does not report the cache's unheld entries. */
__attribute__((destructor)) static void regex_at_exit(void) { vs__regex_cache_clear(); }

/* -------------------------------------------------------------- compile ---- */

static int regex_compile(const char *pat, size_t len, uint64_t h, vs__regex **out,
                         size_t *err_at, vs__err *e) {
    int rc = VS_OK, code = 0;
    PCRE2_SIZE off = 0;
    pcre2_general_context *g = NULL;
    pcre2_compile_context *cc = NULL;
    vs__regex *r = vs__malloc(sizeof *r + len + 1);
    if (!r) return vs__errf(e, VS_ENOMEM, "out of memory compiling a regex");
    memset(r, 0, sizeof *r);
    memcpy(r->pat, pat, len);
    r->pat[len] = 0;
    r->len = len;
    r->hash = h;
    g = pcre2_general_context_create(regex_malloc, regex_free, NULL);
    cc = g ? pcre2_compile_context_create(g) : NULL;
    if (!cc) {
        rc = vs__errf(e, VS_ENOMEM, "out of memory compiling a regex");
        goto done;
    }
    r->code = pcre2_compile((PCRE2_SPTR)r->pat, len,
                            PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF |
                                PCRE2_NEVER_BACKSLASH_C,
                            &code, &off, cc);
    if (!r->code) {
        if (code == PCRE2_ERROR_HEAP_FAILED) {
            rc = vs__errf(e, VS_ENOMEM, "out of memory compiling a regex");
            goto done;
        }
        PCRE2_UCHAR msg[256];
        if (pcre2_get_error_message(code, msg, sizeof msg) < 0) strcpy((char *)msg, "?");
        if (err_at) *err_at = off;
        rc = vs__errf(e, VS_EFILTER, "bad regex at offset %zu: %s", (size_t)off, (char *)msg);
        goto done;
    }
    const char *env = getenv("VS_REGEX_JIT");
    if (!(env && env[0] == '0'))
        r->jit = pcre2_jit_compile(r->code, PCRE2_JIT_COMPLETE) == 0;
done:
    pcre2_compile_context_free(cc);
    pcre2_general_context_free(g);
    if (rc) {
        regex_free_entry(r);
        r = NULL;
    }
    *out = r;
    return rc;
}

int vs__regex_get(const char *pat, size_t len, vs__regex **out, size_t *err_at, vs__err *e) {
    *out = NULL;
    if (len > VS__REGEX_MAX) {
        if (err_at) *err_at = VS__REGEX_MAX;
        return vs__errf(e, VS_EFILTER, "regex is %zu bytes, the limit is %d", len,
                        VS__REGEX_MAX);
    }
    if (!pat) pat = "";
    uint64_t h = XXH3_64bits(pat, len);
    pthread_mutex_lock(&g_mu);
    vs__regex *r = cache_find(h, pat, len);
    if (r) {
        r->refs++;
        lru_unlink(r);
        lru_push(r);
    }
    pthread_mutex_unlock(&g_mu);
    if (r) {
        *out = r;
        return VS_OK;
    }

    vs__regex *fresh;
    int rc = regex_compile(pat, len, h, &fresh, err_at, e);
    if (rc) return rc;

    vs__regex *dead = NULL;
    pthread_mutex_lock(&g_mu);
    r = cache_find(h, pat, len);
    if (r) { /* another thread inserted it while we compiled: use theirs */
        dead = fresh;
        lru_unlink(r);
        lru_push(r);
    } else {
        r = fresh;
        r->chain = g_bucket[h & (REGEX_BUCKETS - 1)];
        g_bucket[h & (REGEX_BUCKETS - 1)] = r;
        lru_push(r);
        r->cached = 1;
        g_count++;
        if (g_count > VS__REGEX_CACHE) dead = cache_unlink(g_oldest); /* never r: newest */
    }
    r->refs++;
    pthread_mutex_unlock(&g_mu);
    regex_free_entry(dead);
    *out = r;
    return VS_OK;
}

void vs__regex_put(vs__regex *r) {
    if (!r) return;
    pthread_mutex_lock(&g_mu);
    int gone = --r->refs == 0 && !r->cached;
    pthread_mutex_unlock(&g_mu);
    if (gone) regex_free_entry(r);
}

int vs__regex_jit(const vs__regex *r) { return r->jit; }

/* ---------------------------------------------------------------- match ---- */

void vs__regex_scratch_free(vs__regex_scratch *s) {
    if (!s) return;
    pcre2_jit_stack_free(s->jstack);
    pcre2_match_context_free(s->mctx);
    pcre2_match_data_free(s->md);
    pcre2_general_context_free(s->gctx);
    vs__free(s);
}

static int scratch_new(vs__regex_scratch **out, vs__err *e) {
    vs__regex_scratch *s = vs__calloc(1, sizeof *s);
    if (!s) goto oom;
    s->gctx = pcre2_general_context_create(regex_malloc, regex_free, NULL);
    if (!s->gctx) goto oom;
    s->md = pcre2_match_data_create(1, s->gctx);
    s->mctx = pcre2_match_context_create(s->gctx);
    if (!s->md || !s->mctx) goto oom;
    pcre2_set_match_limit(s->mctx, VS__REGEX_MATCH_LIMIT);
    pcre2_set_depth_limit(s->mctx, VS__REGEX_DEPTH_LIMIT);
    pcre2_set_heap_limit(s->mctx, VS__REGEX_HEAP_LIMIT);
    *out = s;
    return VS_OK;
oom:
    vs__regex_scratch_free(s);
    return vs__errf(e, VS_ENOMEM, "out of memory preparing a regex match");
}

/* The pattern for a message: at most REGEX_QUOTE_MAX bytes, cut at a character
 * boundary, control characters and quotes shown as '?'. */
static void quote_pattern(const vs__regex *r, char *buf, size_t cap) {
    size_t n = r->len, k = 0;
    int cut = 0;
    if (n > REGEX_QUOTE_MAX) {
        n = REGEX_QUOTE_MAX;
        while (n > 0 && ((unsigned char)r->pat[n] & 0xC0) == 0x80) n--;
        cut = 1;
    }
    for (size_t i = 0; i < n && k + 4 < cap; i++) {
        unsigned char c = (unsigned char)r->pat[i];
        buf[k++] = (c < 0x20 || c == 0x7f || c == '\'') ? '?' : (char)c;
    }
    if (cut) {
        memcpy(buf + k, "...", 3);
        k += 3;
    }
    buf[k] = 0;
}

int vs__regex_match(const vs__regex *r, const char *subj, size_t len, vs__regex_scratch **scratch,
                    vs__err *e) {
    vs__regex_scratch *s = *scratch;
    if (!s) {
        int rc = scratch_new(&s, e);
        if (rc) return rc;
        *scratch = s;
    }
    if (r->jit && !s->jstack) {
        s->jstack = pcre2_jit_stack_create(REGEX_JIT_STACK_MIN, REGEX_JIT_STACK_MAX, s->gctx);
        if (!s->jstack) return vs__errf(e, VS_ENOMEM, "out of memory preparing a regex match");
        pcre2_jit_stack_assign(s->mctx, NULL, s->jstack);
    }
    /* PCRE2 10.42 refuses a NULL subject even when it is empty */
    int rc = pcre2_match(r->code, (PCRE2_SPTR)(subj ? subj : ""), subj ? len : 0, 0, 0, s->md,
                         s->mctx);
    if (rc >= 0) return 1;
    if (rc == PCRE2_ERROR_NOMATCH) return 0;
    if (rc == PCRE2_ERROR_NOMEMORY)
        return vs__errf(e, VS_ENOMEM, "out of memory matching a regex");
    char q[REGEX_QUOTE_MAX + 8];
    quote_pattern(r, q, sizeof q);
    switch (rc) {
    case PCRE2_ERROR_MATCHLIMIT:
        return vs__errf(e, VS_ELIMIT, "regex match limit reached (%u steps) for pattern '%s'",
                        VS__REGEX_MATCH_LIMIT, q);
    case PCRE2_ERROR_DEPTHLIMIT:
        return vs__errf(e, VS_ELIMIT, "regex depth limit reached (%u frames) for pattern '%s'",
                        VS__REGEX_DEPTH_LIMIT, q);
    case PCRE2_ERROR_HEAPLIMIT:
        return vs__errf(e, VS_ELIMIT, "regex heap limit reached (%u KiB) for pattern '%s'",
                        VS__REGEX_HEAP_LIMIT, q);
    case PCRE2_ERROR_JIT_STACKLIMIT:
        return vs__errf(e, VS_ELIMIT, "regex stack limit reached (%u KiB) for pattern '%s'",
                        REGEX_JIT_STACK_MAX / 1024, q);
    default: {
        /* nothing else is expected (the subject's UTF-8 is never checked, the code and
         * the data are ours); a pattern-driven failure such as a recursion loop */
        PCRE2_UCHAR msg[256];
        if (pcre2_get_error_message(rc, msg, sizeof msg) < 0) strcpy((char *)msg, "?");
        return vs__errf(e, VS_EFILTER, "regex match failed for pattern '%s': %s", q,
                        (char *)msg);
    }
    }
}
