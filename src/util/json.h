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

#endif
