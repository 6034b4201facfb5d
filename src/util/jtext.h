/*
 * jtext.h — reading JSON text in place: a cursor, no tree, no allocation.
 *
 * Filters are evaluated against every candidate's payload, which is stored as JSON text.
 * Building a cJSON tree per candidate costs a dozen mallocs and parses fields the filter
 * never looks at; walking the text costs only the bytes between the start of the object
 * and the fields asked for. The same cursor reads filter text at compile time, where it
 * also gives every value its byte offset for error messages.
 *
 * The text is meant to be JSON accepted by vs__json_check (util/json.h) — stored payloads
 * and filters are checked before they get here — but every function stays inside
 * [p, end) on any input: malformed text makes them report failure (NULL, -1, or a
 * VS__JT_BAD type), never read out of bounds.
 *
 * Strings are handed out raw (the bytes between the quotes, escapes still in);
 * vs__jt_unescape decodes them. Decoding never makes a string longer, so a buffer of the
 * raw length always suffices.
 */
#ifndef VS_UTIL_JTEXT_H
#define VS_UTIL_JTEXT_H

#include <stddef.h>
#include <stdint.h>

enum vs__jt_type {
    VS__JT_BAD = 0,
    VS__JT_OBJ,
    VS__JT_ARR,
    VS__JT_STR,
    VS__JT_NUM,
    VS__JT_TRUE,
    VS__JT_FALSE,
    VS__JT_NULL
};

/* Skips whitespace. */
const char *vs__jt_ws(const char *p, const char *end);
/* Type of the value starting at p (no whitespace skipping). */
int vs__jt_type(const char *p, const char *end);
/* Returns the first byte after the value starting at p, or NULL if it is malformed or
 * runs past end. Iterative: nesting depth costs no stack. */
const char *vs__jt_skip(const char *p, const char *end);

/* A string value at p ('"'): its raw bytes [*raw, *raw + *len) and the byte after the
 * closing quote, or NULL. */
const char *vs__jt_str(const char *p, const char *end, const char **raw, size_t *len);
/* Decodes raw escaped bytes into out (room for len bytes) and returns the decoded length.
 * Invalid escapes are copied through as they are. */
size_t vs__jt_unescape(const char *raw, size_t len, char *out);
/* 1 if the raw string decodes to exactly s[0..n). */
int vs__jt_str_eq(const char *raw, size_t len, const char *s, size_t n);

/* A number literal. Integer literals (no fraction or exponent) that fit are exact in
 * `u` (magnitude) with `neg`; `d` is always the nearest double. */
typedef struct vs__jt_num {
    double d;
    uint64_t u;
    int neg;
    int is_int; /* integer literal whose magnitude fits in 64 bits */
} vs__jt_num;
/* Parses the number at p; returns the byte after it, or NULL. */
const char *vs__jt_number(const char *p, const char *end, vs__jt_num *n);

/* Members of an object / elements of an array, in order. begin() wants p at '{' / '['.
 * next() returns 1 with the next member (key raw and escaped) or element, 0 at the end,
 * -1 if the text is malformed; it steps over the previous value itself. */
typedef struct vs__jt_iter {
    const char *p, *end;
    const char *val; /* last value handed out, skipped on the next call */
    int first;
} vs__jt_iter;
int vs__jt_obj_begin(vs__jt_iter *it, const char *p, const char *end);
int vs__jt_obj_next(vs__jt_iter *it, const char **key, size_t *klen, const char **val);
int vs__jt_arr_begin(vs__jt_iter *it, const char *p, const char *end);
int vs__jt_arr_next(vs__jt_iter *it, const char **val);

/* The member `key` (decoded bytes) of the object at p: the first one of that name (as
 * cJSON does), or NULL. */
const char *vs__jt_get(const char *p, const char *end, const char *key, size_t klen);

#endif
