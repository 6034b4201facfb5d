/*
 * text.h — small text utilities the readers and formatters share: a growable byte
 * buffer, UTF-8 validation, the JSON number grammar, JSON string escaping, and finding
 * the raw text of a top-level member of a JSON object.
 *
 * Why raw member text: cJSON keeps numbers as doubles, so an id such as
 * 18446744073709551615 or a payload value such as 9007199254740993 would be silently
 * rounded if the tool re-printed what cJSON parsed. The readers therefore let cJSON
 * validate a record and then take ids and payload objects from the original bytes, so
 * what reaches the library is exactly what the file said.
 */
#ifndef VS_CLI_TEXT_H
#define VS_CLI_TEXT_H

#include <stddef.h>
#include <stdio.h>

/* A growable buffer. p is NUL-terminated whenever len > 0 or after txt_cstr(). */
typedef struct txt_buf {
    char *p;
    size_t len, cap;
} txt_buf;

void txt_reserve(txt_buf *b, size_t extra);
void txt_put(txt_buf *b, const char *s, size_t n);
void txt_puts(txt_buf *b, const char *s);
void txt_putc(txt_buf *b, char c);
void txt_printf(txt_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal (quotes included). */
void txt_json_str(txt_buf *b, const char *s, size_t n);
const char *txt_cstr(txt_buf *b);
void txt_free(txt_buf *b);

/* 1 if s[0..n) is well-formed UTF-8 (no overlongs, surrogates or values > U+10FFFF). */
int txt_utf8_valid(const char *s, size_t n);
/* 1 if s[0..n) is exactly one number in the JSON grammar (RFC 8259 section 6):
 * optional '-', no leading zeros, optional fraction and exponent, nothing else. */
int txt_is_json_number(const char *s, size_t n);
/* Writes s as a JSON string literal to f. */
void txt_fjson_str(FILE *f, const char *s, size_t n);

/* In the text of a JSON object that has already been validated (by cJSON), finds the
 * first top-level member whose key equals key and returns its value's raw bytes
 * (without surrounding whitespace). Returns 1 if found, 0 if not. */
int txt_json_member(const char *obj, size_t len, const char *key, const char **val,
                    size_t *vlen);

#endif
