/*
 * text.c — buffers, UTF-8, JSON grammar helpers (contract in text.h).
 *
 * txt_json_member walks an object one member at a time, skipping values by tracking
 * string state and bracket depth only: it may assume well-formed input because every
 * caller has parsed the same bytes with cJSON first. Keys containing escapes are
 * decoded (with cJSON) before comparing, so {"\u0069d": 1} finds "id" just as cJSON's
 * own lookup would; both return the first of duplicate keys.
 */
#include "text.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void txt_reserve(txt_buf *b, size_t extra) {
    if (b->len + extra + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) cap *= 2;
    b->p = cli_xrealloc(b->p, cap);
    b->cap = cap;
}

void txt_put(txt_buf *b, const char *s, size_t n) {
    txt_reserve(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

void txt_puts(txt_buf *b, const char *s) { txt_put(b, s, strlen(s)); }

void txt_putc(txt_buf *b, char c) { txt_put(b, &c, 1); }

void txt_printf(txt_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0) return;
    txt_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* The escape for byte c, or NULL when it is copied as is. */
static const char *json_escape(unsigned char c, char tmp[8]) {
    switch (c) {
    case '"': return "\\\"";
    case '\\': return "\\\\";
    case '\n': return "\\n";
    case '\r': return "\\r";
    case '\t': return "\\t";
    case '\b': return "\\b";
    case '\f': return "\\f";
    default:
        if (c < 0x20) {
            snprintf(tmp, 8, "\\u%04x", c);
            return tmp;
        }
        return NULL;
    }
}

void txt_json_str(txt_buf *b, const char *s, size_t n) {
    char tmp[8];
    txt_putc(b, '"');
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        const char *e = json_escape((unsigned char)s[i], tmp);
        if (!e) continue;
        txt_put(b, s + run, i - run);
        txt_puts(b, e);
        run = i + 1;
    }
    txt_put(b, s + run, n - run);
    txt_putc(b, '"');
}

void txt_fjson_str(FILE *f, const char *s, size_t n) {
    char tmp[8];
    fputc('"', f);
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        const char *e = json_escape((unsigned char)s[i], tmp);
        if (!e) continue;
        fwrite(s + run, 1, i - run, f);
        fputs(e, f);
        run = i + 1;
    }
    fwrite(s + run, 1, n - run, f);
    fputc('"', f);
}

const char *txt_cstr(txt_buf *b) {
    txt_reserve(b, 0);
    b->p[b->len] = 0;
    return b->p;
}

void txt_free(txt_buf *b) {
    free(b->p);
    memset(b, 0, sizeof *b);
}

int txt_utf8_valid(const char *str, size_t n) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        uint32_t cp, min;
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1, cp = c & 0x1F, min = 0x80;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2, cp = c & 0x0F, min = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if (n - i - 1 < need) return 0;
        for (size_t k = 1; k <= need; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        i += need + 1;
    }
    return 1;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

int txt_is_json_number(const char *s, size_t n) {
    size_t i = 0;
    if (i < n && s[i] == '-') i++;
    if (i >= n) return 0;
    if (s[i] == '0') {
        i++;
    } else if (is_digit(s[i])) {
        while (i < n && is_digit(s[i])) i++;
    } else {
        return 0;
    }
    if (i < n && s[i] == '.') {
        i++;
        if (i >= n || !is_digit(s[i])) return 0;
        while (i < n && is_digit(s[i])) i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        if (i >= n || !is_digit(s[i])) return 0;
        while (i < n && is_digit(s[i])) i++;
    }
    return i == n;
}

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* Index just past the string literal that starts at s[i] == '"'. */
static size_t skip_string(const char *s, size_t len, size_t i) {
    for (i++; i < len; i++) {
        if (s[i] == '\\')
            i++;
        else if (s[i] == '"')
            return i + 1;
    }
    return len;
}

/* Index just past the value that starts at s[i]. */
static size_t skip_value(const char *s, size_t len, size_t i) {
    if (s[i] == '"') return skip_string(s, len, i);
    if (s[i] == '{' || s[i] == '[') {
        int depth = 0;
        while (i < len) {
            char c = s[i];
            if (c == '"') {
                i = skip_string(s, len, i);
                continue;
            }
            if (c == '{' || c == '[') depth++;
            if (c == '}' || c == ']') {
                if (--depth == 0) return i + 1;
            }
            i++;
        }
        return len;
    }
    while (i < len && !is_ws(s[i]) && s[i] != ',' && s[i] != '}' && s[i] != ']') i++;
    return i;
}

static int key_equals(const char *raw, size_t rlen, const char *key) {
    /* raw includes the quotes. */
    const char *inner = raw + 1;
    size_t ilen = rlen - 2;
    if (!memchr(inner, '\\', ilen)) return strlen(key) == ilen && !memcmp(inner, key, ilen);
    char *tmp = cli_xmalloc(rlen + 1);
    memcpy(tmp, raw, rlen);
    tmp[rlen] = 0;
    cJSON *j = cJSON_Parse(tmp);
    int eq = j && cJSON_IsString(j) && !strcmp(j->valuestring, key);
    cJSON_Delete(j);
    free(tmp);
    return eq;
}

int txt_json_member(const char *s, size_t len, const char *key, const char **val,
                    size_t *vlen) {
    size_t i = 0;
    while (i < len && is_ws(s[i])) i++;
    if (i >= len || s[i] != '{') return 0;
    i++;
    for (;;) {
        while (i < len && is_ws(s[i])) i++;
        if (i >= len || s[i] != '"') return 0; /* '}' of an empty object, or malformed */
        size_t k0 = i;
        i = skip_string(s, len, i);
        size_t k1 = i;
        while (i < len && is_ws(s[i])) i++;
        if (i >= len || s[i] != ':') return 0;
        i++;
        while (i < len && is_ws(s[i])) i++;
        if (i >= len) return 0;
        size_t v0 = i;
        i = skip_value(s, len, i);
        if (key_equals(s + k0, k1 - k0, key)) {
            *val = s + v0;
            *vlen = i - v0;
            return 1;
        }
        while (i < len && is_ws(s[i])) i++;
        if (i >= len || s[i] != ',') return 0;
        i++;
    }
}
