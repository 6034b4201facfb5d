/*
 * json.h — strict JSON validation shared by every JSON input (payloads, filters).
 */
#ifndef VS_UTIL_JSON_H
#define VS_UTIL_JSON_H

#include <stddef.h>

/* Maximum nesting depth accepted. Staying far below cJSON's own limit (1000) keeps
 * "cJSON failed after the check passed" meaning out-of-memory and nothing else, and
 * recursive walkers of checked JSON cannot exhaust the stack. */
#define VS_JSON_DEPTH_MAX 256

/* 0 if text[0..len) is exactly one strict JSON value with optional whitespace around
 * it; otherwise -1 with the byte offset and a static reason. */
int vs__json_check(const char *text, size_t len, size_t *err_at, const char **why);

/* Length (2..4) of the valid UTF-8 sequence starting at s[0] (a byte >= 0x80) within
 * s[0..n), by the table of RFC 3629 (no overlong forms, no surrogates, nothing above
 * U+10FFFF); 0 if invalid, with *bad (may be NULL) set to the offset of the first byte
 * that makes it so (n when the sequence is cut short). */
size_t vs__utf8_seq(const unsigned char *s, size_t n, size_t *bad);

/* Reads up to 4 hex digits of s[0..4) into *out; returns how many were hex digits
 * (4 = a complete \u escape). s must have 4 readable bytes. */
int vs__hex4(const char *s, unsigned *out);

#endif
