/*
 * sbuf.c — see sbuf.h.
 */
#include "server/sbuf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int grow(vs__sb *b, size_t extra) {
    if (b->oom) return -1;
    if (b->len + extra + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) {
        if (cap > SIZE_MAX / 2) {
            b->oom = 1;
            return -1;
        }
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

void vs__sb_free(vs__sb *b) {
    free(b->p);
    memset(b, 0, sizeof *b);
}

void vs__sb_reset(vs__sb *b) {
    b->len = 0;
    b->oom = 0;
    if (b->p) b->p[0] = 0;
}

void vs__sb_put(vs__sb *b, const char *s, size_t n) {
    if (grow(b, n)) return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

void vs__sb_puts(vs__sb *b, const char *s) { vs__sb_put(b, s, strlen(s)); }

void vs__sb_putc(vs__sb *b, char c) {
    if (grow(b, 1)) return;
    b->p[b->len++] = c;
    b->p[b->len] = 0;
}

void vs__sb_printf(vs__sb *b, const char *fmt, ...) {
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof small) {
        vs__sb_put(b, small, (size_t)n);
        return;
    }
    if (grow(b, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void vs__sb_json_str(vs__sb *b, const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    if (grow(b, n + 2)) return;
    vs__sb_putc(b, '"');
    size_t run = 0; /* bytes copied as they are, flushed in one piece */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        vs__sb_put(b, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': vs__sb_put(b, "\\\"", 2); break;
        case '\\': vs__sb_put(b, "\\\\", 2); break;
        case '\n': vs__sb_put(b, "\\n", 2); break;
        case '\r': vs__sb_put(b, "\\r", 2); break;
        case '\t': vs__sb_put(b, "\\t", 2); break;
        default: {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            vs__sb_put(b, u, 6);
        }
        }
    }
    vs__sb_put(b, s + run, n - run);
    vs__sb_putc(b, '"');
}

void vs__sb_float(vs__sb *b, float f) {
    if (!isfinite(f)) {
        vs__sb_put(b, "null", 4);
        return;
    }
    char t[32];
    /* Shortest of 6..9 significant digits that reads back exactly. */
    for (int prec = 6; prec <= 9; prec++) {
        snprintf(t, sizeof t, "%.*g", prec, (double)f);
        if (prec == 9 || strtof(t, NULL) == f) break;
    }
    vs__sb_puts(b, t);
}

void vs__sb_double(vs__sb *b, double d) {
    if (!isfinite(d)) {
        vs__sb_put(b, "null", 4);
        return;
    }
    char t[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(t, sizeof t, "%.*g", prec, d);
        if (prec == 17 || strtod(t, NULL) == d) break;
    }
    vs__sb_puts(b, t);
}

void vs__sb_u64(vs__sb *b, uint64_t v) {
    char t[24];
    int n = snprintf(t, sizeof t, "%llu", (unsigned long long)v);
    vs__sb_put(b, t, (size_t)n);
}

void vs__sb_id(vs__sb *b, vs_id id) {
    if (id.kind == VS_ID_NUM)
        vs__sb_u64(b, id.num);
    else
        vs__sb_json_str(b, id.str, id.len);
}

char *vs__sb_take(vs__sb *b, size_t *len) {
    if (!b->p && grow(b, 0)) return NULL;
    char *p = b->p;
    if (len) *len = b->len;
    memset(b, 0, sizeof *b);
    return p;
}
