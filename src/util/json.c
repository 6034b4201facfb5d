/*
 * json.c — a strict JSON syntax check (RFC 8259) that allocates nothing.
 *
 * cJSON is lenient (it accepts 01, 1., raw control characters, invalid UTF-8 and
 * \u0000, which silently cuts a string short) and reports running out of memory exactly
 * like a syntax error. Checking the text first gives exact error offsets, keeps
 * non-JSON out of stored payloads, and lets a later cJSON failure mean only "out of
 * memory".
 */
#include "util/json.h"

#include <stddef.h>
#include <string.h>


typedef struct jscan {
    const unsigned char *p;
    size_t n, i;
    int depth;
    const char *why;
} jscan;

static int js_fail(jscan *s, const char *why) {
    s->why = why;
    return -1;
}

static void js_ws(jscan *s) {
    while (s->i < s->n &&
           (s->p[s->i] == ' ' || s->p[s->i] == '\t' || s->p[s->i] == '\n' || s->p[s->i] == '\r'))
        s->i++;
}

int vs__hex4(const char *s, unsigned *out) {
    unsigned v = 0;
    int k = 0;
    for (; k < 4; k++) {
        char c = s[k];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            break;
    }
    *out = v;
    return k;
}

static int js_hex4(jscan *s, unsigned *out) {
    if (s->n - s->i < 4) return js_fail(s, "truncated \\u escape");
    int k = vs__hex4((const char *)s->p + s->i, out);
    s->i += (size_t)k;
    return k == 4 ? 0 : js_fail(s, "bad hex digit in \\u escape");
}

/* One UTF-8 sequence starting at s->i (a byte >= 0x80), per RFC 3629's table: no
 * overlong forms, no surrogates, nothing above U+10FFFF. */
size_t vs__utf8_seq(const unsigned char *s, size_t n, size_t *bad) {
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    size_t k;
    if (c >= 0xC2 && c <= 0xDF)
        k = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        k = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        k = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        if (bad) *bad = 0;
        return 0;
    }
    for (size_t i = 1; i < k; i++) {
        if (i >= n || s[i] < lo || s[i] > hi) {
            if (bad) *bad = i < n ? i : n;
            return 0;
        }
        lo = 0x80;
        hi = 0xBF;
    }
    return k;
}

static int js_utf8(jscan *s) {
    size_t bad, k = vs__utf8_seq(s->p + s->i, s->n - s->i, &bad);
    if (!k) {
        s->i += bad;
        return js_fail(s, "invalid UTF-8");
    }
    s->i += k;
    return 0;
}

static int js_string(jscan *s) {
    s->i++; /* the opening quote */
    for (;;) {
        if (s->i >= s->n) return js_fail(s, "unterminated string");
        unsigned char c = s->p[s->i];
        if (c == '"') {
            s->i++;
            return 0;
        }
        if (c < 0x20) return js_fail(s, "control character in string");
        if (c >= 0x80) {
            if (js_utf8(s)) return -1;
            continue;
        }
        if (c != '\\') {
            s->i++;
            continue;
        }
        s->i++;
        if (s->i >= s->n) return js_fail(s, "unterminated string");
        c = s->p[s->i];
        if (strchr("\"\\/bfnrt", c) && c) {
            s->i++;
            continue;
        }
        if (c != 'u') return js_fail(s, "bad escape in string");
        s->i++;
        unsigned u;
        if (js_hex4(s, &u)) return -1;
        /* cJSON ends its C strings at a decoded NUL, which would silently change the
         * value being compared: refuse it. */
        if (u == 0) return js_fail(s, "\\u0000 is not supported");
        if (u >= 0xDC00 && u <= 0xDFFF) return js_fail(s, "lone low surrogate");
        if (u >= 0xD800 && u <= 0xDBFF) {
            unsigned lo;
            if (s->n - s->i < 2 || s->p[s->i] != '\\' || s->p[s->i + 1] != 'u')
                return js_fail(s, "lone high surrogate");
            s->i += 2;
            if (js_hex4(s, &lo)) return -1;
            if (lo < 0xDC00 || lo > 0xDFFF) return js_fail(s, "lone high surrogate");
        }
    }
}

static int js_digits(jscan *s) {
    size_t start = s->i;
    while (s->i < s->n && s->p[s->i] >= '0' && s->p[s->i] <= '9') s->i++;
    return s->i > start ? 0 : js_fail(s, "expected a digit");
}

static int js_number(jscan *s) {
    if (s->p[s->i] == '-') s->i++;
    if (s->i < s->n && s->p[s->i] == '0')
        s->i++; /* no leading zeros: "01" is two tokens, caught by the caller */
    else if (js_digits(s))
        return -1;
    if (s->i < s->n && s->p[s->i] == '.') {
        s->i++;
        if (js_digits(s)) return -1;
    }
    if (s->i < s->n && (s->p[s->i] == 'e' || s->p[s->i] == 'E')) {
        s->i++;
        if (s->i < s->n && (s->p[s->i] == '+' || s->p[s->i] == '-')) s->i++;
        if (js_digits(s)) return -1;
    }
    return 0;
}

static int js_value(jscan *s);

static int js_container(jscan *s, unsigned char close) {
    if (++s->depth > VS_JSON_DEPTH_MAX) return js_fail(s, "nested too deeply");
    s->i++;
    js_ws(s);
    if (s->i < s->n && s->p[s->i] == close) {
        s->i++;
        s->depth--;
        return 0;
    }
    for (;;) {
        if (close == '}') {
            if (s->i >= s->n || s->p[s->i] != '"') return js_fail(s, "expected a string key");
            if (js_string(s)) return -1;
            js_ws(s);
            if (s->i >= s->n || s->p[s->i] != ':') return js_fail(s, "expected ':'");
            s->i++;
            js_ws(s);
        }
        if (js_value(s)) return -1;
        js_ws(s);
        if (s->i < s->n && s->p[s->i] == ',') {
            s->i++;
            js_ws(s);
            continue;
        }
        if (s->i < s->n && s->p[s->i] == close) {
            s->i++;
            s->depth--;
            return 0;
        }
        return js_fail(s, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static int js_literal(jscan *s, const char *word) {
    size_t l = strlen(word);
    if (s->n - s->i < l || memcmp(s->p + s->i, word, l)) return js_fail(s, "unexpected character");
    s->i += l;
    return 0;
}

static int js_value(jscan *s) {
    if (s->i >= s->n) return js_fail(s, "unexpected end of text");
    unsigned char c = s->p[s->i];
    switch (c) {
    case '{': return js_container(s, '}');
    case '[': return js_container(s, ']');
    case '"': return js_string(s);
    case 't': return js_literal(s, "true");
    case 'f': return js_literal(s, "false");
    case 'n': return js_literal(s, "null");
    default:
        if (c == '-' || (c >= '0' && c <= '9')) return js_number(s);
        return js_fail(s, "unexpected character");
    }
}

int vs__json_check(const char *text, size_t len, size_t *err_at, const char **why) {
    jscan s = {(const unsigned char *)text, len, 0, 0, NULL};
    js_ws(&s);
    if (js_value(&s) == 0) {
        js_ws(&s);
        if (s.i == s.n) return 0;
        s.why = "unexpected text after the value";
    }
    if (err_at) *err_at = s.i;
    if (why) *why = s.why;
    return -1;
}
