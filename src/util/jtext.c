/*
 * jtext.c — an in-place JSON cursor (see jtext.h).
 */
#include "util/jtext.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/json.h"

const char *vs__jt_ws(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

int vs__jt_type(const char *p, const char *end) {
    if (p >= end) return VS__JT_BAD;
    switch (*p) {
    case '{': return VS__JT_OBJ;
    case '[': return VS__JT_ARR;
    case '"': return VS__JT_STR;
    case 't': return VS__JT_TRUE;
    case 'f': return VS__JT_FALSE;
    case 'n': return VS__JT_NULL;
    default: return (*p == '-' || (*p >= '0' && *p <= '9')) ? VS__JT_NUM : VS__JT_BAD;
    }
}

/* Past the closing quote of the string whose opening quote is at p. */
static const char *str_end(const char *p, const char *end) {
    for (p++; p < end; p++) {
        if (*p == '"') return p + 1;
        if (*p == '\\' && ++p >= end) return NULL;
    }
    return NULL;
}

static const char *lit_end(const char *p, const char *end, const char *word, size_t n) {
    if ((size_t)(end - p) < n || memcmp(p, word, n)) return NULL;
    return p + n;
}

static const char *num_end(const char *p, const char *end) {
    const char *s = p;
    while (p < end && ((*p >= '0' && *p <= '9') || *p == '-' || *p == '+' || *p == '.' ||
                       *p == 'e' || *p == 'E'))
        p++;
    return p > s ? p : NULL;
}

const char *vs__jt_skip(const char *p, const char *end) {
    /* Containers are skipped by counting brackets outside strings: the text is checked
     * JSON, so brackets balance; on bad text we stop at end and return NULL. */
    switch (vs__jt_type(p, end)) {
    case VS__JT_STR: return str_end(p, end);
    case VS__JT_TRUE: return lit_end(p, end, "true", 4);
    case VS__JT_FALSE: return lit_end(p, end, "false", 5);
    case VS__JT_NULL: return lit_end(p, end, "null", 4);
    case VS__JT_NUM: return num_end(p, end);
    case VS__JT_BAD: return NULL;
    default: break;
    }
    size_t depth = 0;
    while (p < end) {
        char ch = *p;
        if (ch == '"') {
            if (!(p = str_end(p, end))) return NULL;
            continue;
        }
        if (ch == '{' || ch == '[')
            depth++;
        else if (ch == '}' || ch == ']') {
            if (depth == 0) return NULL;
            if (--depth == 0) return p + 1;
        }
        p++;
    }
    return NULL;
}

const char *vs__jt_str(const char *p, const char *end, const char **raw, size_t *len) {
    if (p >= end || *p != '"') return NULL;
    const char *e = str_end(p, end);
    if (!e) return NULL;
    *raw = p + 1;
    *len = (size_t)(e - 1 - (p + 1));
    return e;
}

static size_t put_utf8(char *o, unsigned cp) {
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Decodes the escape at raw[i] (raw[i] == '\\', i + 1 < len) into out: *olen bytes
 * written (at most 4), the escape's length returned (2; 6 for \uXXXX; 12 for a surrogate
 * pair). A backslash that starts no known escape stands for itself (length 1). */
static size_t unescape_one(const char *raw, size_t len, size_t i, char *out, size_t *olen) {
    static const char simple[] = "\"\"\\\\//b\bf\fn\nr\rt\t";
    char c = raw[i + 1];
    for (const char *s = simple; *s; s += 2)
        if (*s == c) {
            out[0] = s[1];
            *olen = 1;
            return 2;
        }
    unsigned cp, lo;
    if (c == 'u' && i + 6 <= len && vs__hex4(raw + i + 2, &cp) == 4) {
        if (cp >= 0xD800 && cp < 0xDC00 && i + 12 <= len && raw[i + 6] == '\\' &&
            raw[i + 7] == 'u' && vs__hex4(raw + i + 8, &lo) == 4 && lo >= 0xDC00 && lo < 0xE000) {
            *olen = put_utf8(out, 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00));
            return 12;
        }
        *olen = put_utf8(out, cp);
        return 6;
    }
    out[0] = '\\';
    *olen = 1;
    return 1;
}

size_t vs__jt_unescape(const char *raw, size_t len, char *out) {
    size_t i = 0, o = 0;
    while (i < len) {
        if (raw[i] != '\\' || i + 1 >= len) {
            out[o++] = raw[i++];
            continue;
        }
        size_t ol;
        i += unescape_one(raw, len, i, out + o, &ol);
        o += ol;
    }
    return o;
}

int vs__jt_str_eq(const char *raw, size_t len, const char *s, size_t n) {
    if (!memchr(raw, '\\', len)) return len == n && !memcmp(raw, s, n);
    size_t i = 0, j = 0;
    while (i < len) {
        if (raw[i] != '\\' || i + 1 >= len) {
            if (j >= n || raw[i] != s[j]) return 0;
            i++, j++;
            continue;
        }
        char dec[8];
        size_t dl;
        i += unescape_one(raw, len, i, dec, &dl);
        if (dl > n - j || memcmp(dec, s + j, dl)) return 0;
        j += dl;
    }
    return j == n;
}

/* Clinger's fast path (1990): a literal with at most 19 significant digits whose digits
 * make an integer m <= 2^53 and whose decimal exponent k has |k| <= 22 is m · 10^k with m
 * and 10^|k| exact doubles, so one IEEE multiply or divide rounds it correctly — the same
 * double strtod gives, at a fraction of the cost (payload numbers, filters, geo points).
 * 0 when the literal is outside the fast path (strtod decides then). */
static int fast_double(const char *q, const char *e, double *out) {
    static const double p10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    uint64_t m = 0;
    int sig = 0, k = 0;
    const char *r = q;
    for (; r < e && *r >= '0' && *r <= '9'; r++) {
        if (m == 0 && *r == '0') continue;
        if (sig == 19) return 0;
        m = m * 10 + (uint64_t)(*r - '0');
        sig++;
    }
    if (r < e && *r == '.')
        for (r++; r < e && *r >= '0' && *r <= '9'; r++) {
            k--;
            if (m == 0 && *r == '0') continue;
            if (sig == 19) return 0;
            m = m * 10 + (uint64_t)(*r - '0');
            sig++;
        }
    if (r < e && (*r == 'e' || *r == 'E')) {
        int neg = 0, x = 0, nd = 0;
        r++;
        if (r < e && (*r == '+' || *r == '-')) neg = *r++ == '-';
        for (; r < e && *r >= '0' && *r <= '9'; r++) {
            if (++nd > 4) return 0;
            x = x * 10 + (*r - '0');
        }
        k += neg ? -x : x;
    }
    if (r != e) return 0;
    if (m == 0) {
        *out = 0;
        return 1;
    }
    if (m > (1ull << 53) || k < -22 || k > 22) return 0;
    *out = k < 0 ? (double)m / p10[-k] : (double)m * p10[k];
    return 1;
}

const char *vs__jt_number(const char *p, const char *end, vs__jt_num *n) {
    const char *e = num_end(p, end);
    if (!e) return NULL;
    size_t len = (size_t)(e - p);
    const char *q = p;
    n->neg = *q == '-';
    if (n->neg) q++;
    n->is_int = q < e;
    uint64_t u = 0;
    for (const char *r = q; r < e && n->is_int; r++) {
        if (*r < '0' || *r > '9') {
            n->is_int = 0;
            break;
        }
        unsigned dgt = (unsigned)(*r - '0');
        if (u > (UINT64_MAX - dgt) / 10) n->is_int = 0; /* too big: only the double */
        u = u * 10 + dgt;
    }
    n->u = n->is_int ? u : 0;
    double fd;
    if (fast_double(q, e, &fd)) {
        n->d = n->neg ? -fd : fd;
        return e;
    }
    /* strtod needs a terminated string; the literal is copied (JSON numbers are short,
     * longer ones are rare enough for the heap). */
    char small[400];
    char *buf = len < sizeof small ? small : vs__malloc(len + 1);
    if (!buf) return NULL;
    memcpy(buf, p, len);
    buf[len] = 0;
    n->d = strtod(buf, NULL);
    if (buf != small) vs__free(buf);
    return e;
}

int vs__jt_obj_begin(vs__jt_iter *it, const char *p, const char *end) {
    if (p >= end || *p != '{') return -1;
    it->p = p + 1;
    it->end = end;
    it->val = NULL;
    it->first = 1;
    return 0;
}

/* After an element or member: ',' → 1, the closing bracket → 0, else -1. */
static int sep(vs__jt_iter *it, char close) {
    if (it->val) {
        const char *e = vs__jt_skip(it->val, it->end);
        if (!e) return -1;
        it->p = e;
        it->val = NULL;
    }
    it->p = vs__jt_ws(it->p, it->end);
    if (it->p >= it->end) return -1;
    if (*it->p == close) {
        it->p++;
        it->first = 0;
        return 0;
    }
    if (it->first) {
        it->first = 0;
        return 1;
    }
    if (*it->p != ',') return -1;
    it->p = vs__jt_ws(it->p + 1, it->end);
    return 1;
}

int vs__jt_obj_next(vs__jt_iter *it, const char **key, size_t *klen, const char **val) {
    int r = sep(it, '}');
    if (r <= 0) return r;
    const char *e = vs__jt_str(it->p, it->end, key, klen);
    if (!e) return -1;
    e = vs__jt_ws(e, it->end);
    if (e >= it->end || *e != ':') return -1;
    e = vs__jt_ws(e + 1, it->end);
    if (e >= it->end) return -1;
    *val = it->val = e;
    return 1;
}

int vs__jt_arr_begin(vs__jt_iter *it, const char *p, const char *end) {
    if (p >= end || *p != '[') return -1;
    it->p = p + 1;
    it->end = end;
    it->val = NULL;
    it->first = 1;
    return 0;
}

int vs__jt_arr_next(vs__jt_iter *it, const char **val) {
    int r = sep(it, ']');
    if (r <= 0) return r;
    if (it->p >= it->end) return -1;
    *val = it->val = it->p;
    return 1;
}

const char *vs__jt_get(const char *p, const char *end, const char *key, size_t klen) {
    vs__jt_iter it;
    if (vs__jt_obj_begin(&it, p, end)) return NULL;
    const char *k, *v;
    size_t kl;
    while (vs__jt_obj_next(&it, &k, &kl, &v) == 1)
        if (vs__jt_str_eq(k, kl, key, klen)) return v;
    return NULL;
}
