/*
 * sbuf.h — a growable byte buffer for building HTTP response bodies.
 *
 * Responses are written straight into one buffer (no cJSON tree): printing a search
 * result of 100 hits × 768 floats through cJSON would allocate a node per float.
 * Out of memory is sticky: after the first failed growth every append is a no-op and
 * sb->oom stays set, so callers write a whole response and check once at the end.
 */
#ifndef VS_SERVER_SBUF_H
#define VS_SERVER_SBUF_H

#include <stddef.h>
#include <stdint.h>

#include "vecstore.h"

typedef struct vs__sb {
    char *p; /* NUL-terminated when len > 0 and !oom */
    size_t len, cap;
    int oom;
} vs__sb;

void vs__sb_free(vs__sb *b);
void vs__sb_reset(vs__sb *b); /* empties, keeps the memory */
void vs__sb_put(vs__sb *b, const char *s, size_t n);
void vs__sb_puts(vs__sb *b, const char *s);
void vs__sb_putc(vs__sb *b, char c);
void vs__sb_printf(vs__sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A JSON string literal (quotes included) of s[0..n), escaping what RFC 8259 requires. */
void vs__sb_json_str(vs__sb *b, const char *s, size_t n);
/* A float as the shortest decimal that reads back to the same float ("%.9g" at worst);
 * non-finite values (which VecStore never stores) as null. */
void vs__sb_float(vs__sb *b, float f);
void vs__sb_double(vs__sb *b, double d);
void vs__sb_u64(vs__sb *b, uint64_t v);
/* A point id: a JSON number for numeric ids, a string for string ids. */
void vs__sb_id(vs__sb *b, vs_id id);
/* Takes the buffer's memory (caller frees with free()); the buffer is left empty. */
char *vs__sb_take(vs__sb *b, size_t *len);

#endif
