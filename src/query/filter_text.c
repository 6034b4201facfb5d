/*
 * filter_text.c — the compact filter syntax (the CLI's --where) translated to filter JSON.
 *
 * The text is not given a tree of its own: a recursive-descent parser (one function per
 * rule of the grammar in filter_text.h) writes the JSON of filter.h straight into one
 * growable buffer, and filter.h's parser stays the only place that builds filters. That
 * keeps one definition of what a filter means, and the text syntax is sugar that cannot
 * drift from it.
 *
 * Lexing is on demand: lex() reads the token starting at a byte offset and is a pure
 * function of that offset, so one token of lookahead is kept in the parser and a second
 * (LEN/HAS_ID/NESTED are functions only when a '(' follows) is had by lexing again. Every
 * token carries its byte offset, which is what error messages quote.
 *
 * Two rewrites need text already written, and both are done by inserting in front of it
 * (memmove within the buffer), never by building pieces elsewhere:
 *   - a path is written as the JSON key string first; what goes in front of it
 *     ({"key": or {"is_null":{"key": or {"must_not":[…) is known only at the operator.
 *     The key is the tail of the buffer then, so the move is short.
 *   - x AND y becomes {"must":[x,y]} only once the AND is seen; the prefix is inserted
 *     at the start of x, once per chain (a AND b AND c is one "must" of three). Chains
 *     are iterative; recursion happens only through '(' / NOT / NESTED, which the depth
 *     limit (FT_DEPTH_MAX) bounds, so a hostile text cannot exhaust the stack and the
 *     insertions cost at most O(text × depth).
 * Each rule reports whether it wrote a condition or a filter object (must/should/
 * must_not); a lone condition is wrapped in {"must":[…]} where a filter is required (the
 * root and NESTED's inner expression). It also reports how many levels of filter objects
 * its JSON holds, counted bottom-up (whether x becomes a "must" element is known only
 * after x), so that filter.h's depth limit is enforced here with a text position.
 *
 * Validation done here, so that errors carry text positions rather than JSON paths:
 * token syntax (strings, quoted names, numbers — the grammar's, minus leading zeros, so
 * that every number literal is also a JSON number — and finiteness), UTF-8 of names
 * and strings (RFC 3629: no overlong forms, surrogates or code points above U+10FFFF),
 * which literal types each operator takes, datetimes (datetime.h) and regexes (regex.h;
 * compiling one puts it into the process-wide cache, where filter.c's compile finds it).
 * Anything else (id ranges, the JSON side's own limits) is left to vs__filter_parse.
 *
 * Memory: the output buffer and, for a MATCHES pattern containing '', a decoded copy of
 * it; both go through util/alloc.h and are freed on every error path.
 */
#include "query/filter_text.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/datetime.h"
#include "query/filter.h"
#include "query/regex.h"
#include "util/alloc.h"
#include "util/json.h"

#define FT_DEPTH_MAX 32  /* nested '(' / NOT / NESTED */
#define FT_QUOTE_MAX 32  /* bytes of a token quoted in an error message */
#define FT_DESC_CAP 80   /* room for a quoted token: 32 bytes, "...", quotes, prefix */

enum ft_tok {
    T_END = 1,
    T_WORD,   /* identifier or keyword */
    T_NAME,   /* "quoted" path component */
    T_STR,    /* 'string' */
    T_NUM,
    T_OP,     /* = == != <> < <= > >= */
    T_LP,
    T_RP,
    T_COMMA,
    T_DOT,
    T_LB,
    T_RB,
    T_DOLLAR
};

enum ft_op { OP_EQ = 1, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };

enum {
    F_INT = 1, /* T_NUM: no fraction, no exponent */
    F_NEG = 2, /* T_NUM: leading '-' */
    F_QQ = 4   /* T_STR: contains '' (so the raw text is not the value) */
};

/* What a rule wrote: one condition, or a filter object (must/should/must_not). */
enum { K_COND = 1, K_FILTER };

/* A rule's result: its kind, how many levels of filter objects its JSON holds (filter.h
 * allows VS__FILTER_DEPTH_MAX, the root being level 1, a nested filter one more), and the
 * byte where the innermost of them starts, which is where a too-deep text is reported. */
typedef struct fres {
    int kind;
    int levels;
    size_t deep_at;
} fres;

typedef struct ftok {
    int kind;
    int op;
    unsigned flags;
    size_t at, len; /* raw span in the text, quotes included */
} ftok;

typedef struct ftp {
    const unsigned char *s;
    size_t n;
    ftok t; /* the current token */
    char *out;
    size_t olen, ocap;
    int depth;
    int nested; /* inside how many NESTED(…) */
    vs__err *e;
} ftp;

/* ----------------------------------------------------------------- errors ---- */

__attribute__((format(printf, 3, 4))) static int ft_err(ftp *p, size_t at, const char *fmt, ...) {
    char msg[VS__ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return vs__errf(p->e, VS_EFILTER, "at byte %zu: %s", at, msg);
}

static int ft_oom(ftp *p) {
    return vs__errf(p->e, VS_ENOMEM, "out of memory translating a filter");
}

/* Copies up to FT_QUOTE_MAX bytes of s[0..n) into buf for a message: whole UTF-8
 * sequences only, '?' for control and invalid bytes (messages travel in JSON and logs),
 * "..." when cut. buf has room for FT_QUOTE_MAX + 4 bytes. */
static void quote_bytes(const unsigned char *s, size_t n, char *buf) {
    size_t i = 0, b = 0;
    while (i < n) {
        size_t k = 1;
        if (s[i] >= 0x80) k = vs__utf8_seq(s + i, n - i, NULL);
        if (b + (k ? k : 1) > FT_QUOTE_MAX) break;
        if (k > 1) {
            memcpy(buf + b, s + i, k);
            b += k;
            i += k;
        } else {
            buf[b++] = (s[i] < 0x20 || s[i] == 0x7F || s[i] >= 0x80) ? '?' : (char)s[i];
            i++;
        }
    }
    if (i < n) memcpy(buf + b, "...", 3), b += 3;
    buf[b] = 0;
}

/* "the end of the text", "the string 'abc'" or "'tok'", for "got …" in messages. */
static const char *tok_desc(const ftp *p, const ftok *t, char *buf) {
    char q[FT_QUOTE_MAX + 4];
    if (t->kind == T_END) return "the end of the text";
    quote_bytes(p->s + t->at, t->len, q);
    if (t->kind == T_STR)
        snprintf(buf, FT_DESC_CAP, "the string %s", q); /* the raw text has its quotes */
    else
        snprintf(buf, FT_DESC_CAP, "'%s'", q);
    return buf;
}

/* "at byte N: expected <what>, got <current token>" */
static int expected(ftp *p, const char *what) {
    char d[FT_DESC_CAP];
    return ft_err(p, p->t.at, "expected %s, got %s", what, tok_desc(p, &p->t, d));
}

/* ------------------------------------------------------------------ lexer ---- */

static int is_ws(unsigned c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
static int is_digit(unsigned c) { return c >= '0' && c <= '9'; }
static int is_id0(unsigned c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}
static int is_id(unsigned c) { return is_id0(c) || is_digit(c); }

/* The value of the (syntactically valid) number literal s[0..n) as a double (±HUGE_VAL
 * when it is not finite); num_finite: 1 if it is finite. The
 * literal itself is passed through, but the filter evaluates numbers as doubles and a
 * bound that reads as infinity is refused there without a position. The digits are
 * normalised to 0.DDD…e<magnitude> (at most 40 significant digits, the exponent
 * saturated) so that a literal of any length is judged in a small buffer. */
static double num_value(const unsigned char *s, size_t n) {
    char buf[64];
    size_t i = s[0] == '-', b = 2;
    long k = 0, ex = 0;
    int lead = 1, frac = 0;
    buf[0] = '0';
    buf[1] = '.';
    for (; i < n && (is_digit(s[i]) || s[i] == '.'); i++) {
        if (s[i] == '.') {
            frac = 1;
            continue;
        }
        if (lead && s[i] == '0') {
            if (frac) k--;
            continue;
        }
        lead = 0;
        if (!frac && k < 100000) k++;
        if (b < 42) buf[b++] = (char)s[i];
    }
    if (lead) return 0; /* zero */
    if (i < n) {        /* exponent */
        int neg = 0;
        i++;
        if (s[i] == '+' || s[i] == '-') neg = s[i++] == '-';
        for (; i < n; i++)
            if (ex < 100000) ex = ex * 10 + (s[i] - '0');
        if (neg) ex = -ex;
    }
    long mag = k + ex;
    if (mag > 400) return HUGE_VAL;
    if (mag < -400) return 0; /* underflows to zero, as any JSON reader would have it */
    snprintf(buf + b, sizeof buf - b, "e%ld", mag);
    double d = strtod(buf, NULL);
    return s[0] == '-' ? -d : d;
}

static int num_finite(const unsigned char *s, size_t n) { return !isinf(num_value(s, n)); }

static int lex_number(ftp *p, size_t i, ftok *t) {
    const unsigned char *s = p->s;
    size_t n = p->n, j = i, d0;
    const char *why = NULL;
    t->kind = T_NUM;
    t->flags = F_INT;
    if (s[j] == '-') t->flags |= F_NEG, j++;
    d0 = j;
    while (j < n && is_digit(s[j])) j++;
    if (j - d0 > 1 && s[d0] == '0') why = "leading zeros";
    if (!why && j < n && s[j] == '.') {
        t->flags &= ~(unsigned)F_INT;
        j++;
        if (j >= n || !is_digit(s[j])) why = "expected a digit after '.'";
        while (j < n && is_digit(s[j])) j++;
    }
    if (!why && j < n && (s[j] == 'e' || s[j] == 'E')) {
        t->flags &= ~(unsigned)F_INT;
        j++;
        if (j < n && (s[j] == '+' || s[j] == '-')) j++;
        if (j >= n || !is_digit(s[j])) why = "expected a digit in the exponent";
        while (j < n && is_digit(s[j])) j++;
    }
    if (!why && j < n && (is_id(s[j]) || s[j] == '.')) why = "a letter or '.' after the number";
    if (!why && !num_finite(s + i, j - i)) why = "out of range for a double";
    if (why) {
        char q[FT_QUOTE_MAX + 4];
        size_t end = j;
        while (end < n && (is_id(s[end]) || s[end] == '.')) end++;
        quote_bytes(s + i, end - i, q);
        return ft_err(p, i, "bad number '%s': %s", q, why);
    }
    t->len = j - i;
    return VS_OK;
}

/* The token at or after byte i (whitespace skipped) into *t. */
static int lex(ftp *p, size_t i, ftok *t) {
    const unsigned char *s = p->s;
    size_t n = p->n, j;
    while (i < n && is_ws(s[i])) i++;
    memset(t, 0, sizeof *t);
    t->at = i;
    if (i >= n) {
        t->kind = T_END;
        return VS_OK;
    }
    unsigned c = s[i];
    if (is_id0(c)) {
        for (j = i; j < n && is_id(s[j]);) {
            if (s[j] < 0x80) {
                j++;
                continue;
            }
            size_t k = vs__utf8_seq(s + j, n - j, NULL);
            if (!k) return ft_err(p, j, "invalid UTF-8 in a name");
            j += k;
        }
        t->kind = T_WORD;
        t->len = j - i;
        return VS_OK;
    }
    if (c == '"') {
        for (j = i + 1;; j++) {
            if (j >= n) return ft_err(p, i, "unterminated quoted name");
            if (s[j] == '"') break;
            if (s[j] == '\\')
                return ft_err(p, j, "backslash in a quoted name (names have no escapes)");
            if (s[j] < 0x20) return ft_err(p, j, "control character in a quoted name");
            if (s[j] >= 0x80) {
                size_t k = vs__utf8_seq(s + j, n - j, NULL);
                if (!k) return ft_err(p, j, "invalid UTF-8 in a quoted name");
                j += k - 1;
            }
        }
        t->kind = T_NAME;
        t->len = j + 1 - i;
        return VS_OK;
    }
    if (c == '\'') {
        for (j = i + 1;; j++) {
            if (j >= n) return ft_err(p, i, "unterminated string");
            if (s[j] == '\'') {
                if (j + 1 < n && s[j + 1] == '\'') {
                    t->flags |= F_QQ;
                    j++;
                    continue;
                }
                break;
            }
            /* the JSON side refuses "\u0000" (it would cut the string short in cJSON) */
            if (s[j] == 0) return ft_err(p, j, "NUL byte in a string");
            if (s[j] >= 0x80) {
                size_t k = vs__utf8_seq(s + j, n - j, NULL);
                if (!k) return ft_err(p, j, "invalid UTF-8 in a string");
                j += k - 1;
            }
        }
        t->kind = T_STR;
        t->len = j + 1 - i;
        return VS_OK;
    }
    if (is_digit(c) || (c == '-' && i + 1 < n && is_digit(s[i + 1]))) return lex_number(p, i, t);
    if (c == '=' || c == '!' || c == '<' || c == '>') {
        static const struct {
            const char *w;
            int op;
        } ops[] = {{"=", OP_EQ}, {"==", OP_EQ}, {"!=", OP_NE}, {"<>", OP_NE}, {"<", OP_LT},
                   {"<=", OP_LE}, {">", OP_GT},  {">=", OP_GE}};
        for (j = i; j < n && (s[j] == '=' || s[j] == '!' || s[j] == '<' || s[j] == '>');) j++;
        t->kind = T_OP;
        t->len = j - i;
        for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++)
            if (strlen(ops[k].w) == t->len && memcmp(ops[k].w, s + i, t->len) == 0) {
                t->op = ops[k].op;
                return VS_OK;
            }
        char q[FT_QUOTE_MAX + 4];
        quote_bytes(s + i, t->len, q);
        return ft_err(p, i, "unknown operator '%s'", q);
    }
    t->len = 1;
    switch (c) {
    case '(': t->kind = T_LP; return VS_OK;
    case ')': t->kind = T_RP; return VS_OK;
    case ',': t->kind = T_COMMA; return VS_OK;
    case '.': t->kind = T_DOT; return VS_OK;
    case '[': t->kind = T_LB; return VS_OK;
    case ']': t->kind = T_RB; return VS_OK;
    case '$': t->kind = T_DOLLAR; return VS_OK;
    default: break;
    }
    if (c < 0x20 || c == 0x7F) return ft_err(p, i, "unexpected byte 0x%02x", c);
    return ft_err(p, i, "unexpected character '%c'", (char)c);
}

static int next(ftp *p) { return lex(p, p->t.at + p->t.len, &p->t); }

/* Keywords are case-insensitive and only ever ASCII. */
static int is_kw(const ftp *p, const ftok *t, const char *w) {
    size_t l = strlen(w);
    if (t->kind != T_WORD || t->len != l) return 0;
    for (size_t i = 0; i < l; i++) {
        unsigned c = p->s[t->at + i];
        if (c >= 'a' && c <= 'z') c -= 'a' - 'A';
        if (c != (unsigned char)w[i]) return 0;
    }
    return 1;
}

static int is_reserved(const ftp *p, const ftok *t) {
    return is_kw(p, t, "AND") || is_kw(p, t, "OR") || is_kw(p, t, "NOT");
}

/* An unsigned integer literal: array index, count, id. */
static int is_count(const ftok *t) {
    return t->kind == T_NUM && (t->flags & (F_INT | F_NEG)) == F_INT;
}

/* ----------------------------------------------------------------- output ---- */

/* Room for n more bytes and the final NUL. */
static int out_reserve(ftp *p, size_t n) {
    if (p->ocap - p->olen > n) return VS_OK;
    size_t cap = p->ocap ? p->ocap : 256;
    while (cap - p->olen <= n) {
        if (cap > SIZE_MAX / 2) return ft_oom(p);
        cap *= 2;
    }
    char *q = vs__realloc(p->out, cap);
    if (!q) return ft_oom(p);
    p->out = q;
    p->ocap = cap;
    return VS_OK;
}

static int put(ftp *p, const void *d, size_t n) {
    int rc = out_reserve(p, n);
    if (rc) return rc;
    memcpy(p->out + p->olen, d, n);
    p->olen += n;
    return VS_OK;
}

static int puts_(ftp *p, const char *s) { return put(p, s, strlen(s)); }

/* Inserts s before out[at..]. */
static int insert(ftp *p, size_t at, const char *s) {
    size_t n = strlen(s);
    int rc = out_reserve(p, n);
    if (rc) return rc;
    memmove(p->out + at + n, p->out + at, p->olen - at);
    memcpy(p->out + at, s, n);
    p->olen += n;
    return VS_OK;
}

/* The string literal t as a JSON string: '' → ', and ", \ and control bytes escaped
 * (\u00XX). Bytes >= 0x80 were checked as UTF-8 by the lexer and are copied. */
static int put_str(ftp *p, const ftok *t) {
    const unsigned char *s = p->s;
    size_t i = t->at + 1, end = t->at + t->len - 1, run = i;
    int rc = put(p, "\"", 1);
    for (; rc == VS_OK && i < end; i++) {
        unsigned c = s[i];
        char esc[8];
        if (c != '\'' && c != '"' && c != '\\' && c >= 0x20) continue;
        rc = put(p, s + run, i - run);
        if (rc) break;
        if (c == '\'') {
            i++; /* '' is one quote; the lexer saw to it that the second one is there */
            rc = put(p, "'", 1);
        } else if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            rc = put(p, esc, 2);
        } else {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            rc = put(p, esc, 6);
        }
        run = i + 1;
    }
    if (rc == VS_OK) rc = put(p, s + run, end - run);
    if (rc == VS_OK) rc = put(p, "\"", 1);
    return rc;
}

/* ----------------------------------------------------------------- checks ---- */

/* Offset in the raw literal t (after its opening quote) of the decoded byte d. */
static size_t raw_offset(const ftp *p, const ftok *t, size_t d) {
    size_t i = t->at + 1, end = t->at + t->len - 1;
    for (; d > 0 && i < end; d--) i += p->s[i] == '\'' ? 2 : 1;
    return i - (t->at + 1);
}

static int check_datetime(ftp *p, const ftok *t) {
    int64_t us;
    size_t at = 0;
    const char *why = "not a datetime";
    char q[FT_QUOTE_MAX + 4];
    /* The raw text between the quotes: a '' in it is not a datetime anyway, and datetime
     * offsets are then text offsets without translation. */
    if (vs__datetime_parse((const char *)p->s + t->at + 1, t->len - 2, &us, &at, &why) == 0)
        return VS_OK;
    if (at > t->len - 2) at = t->len - 2;
    quote_bytes(p->s + t->at, t->len, q);
    return ft_err(p, t->at + 1 + at, "bad datetime %s: %s", q, why);
}

/* Compiles the MATCHES pattern t (and drops it: it stays in regex.c's cache, where the
 * filter compile will find it). */
static int check_regex(ftp *p, const ftok *t) {
    const char *pat = (const char *)p->s + t->at + 1;
    size_t plen = t->len - 2, err_at = SIZE_MAX;
    char *dec = NULL;
    vs__regex *r = NULL;
    vs__err re;
    int rc;
    re.rc = 0;
    re.msg[0] = 0;
    if (t->flags & F_QQ) {
        size_t k = 0;
        dec = vs__malloc(plen ? plen : 1);
        if (!dec) return ft_oom(p);
        for (size_t i = 0; i < plen; i++) {
            dec[k++] = pat[i];
            if (pat[i] == '\'') i++;
        }
        pat = dec;
        plen = k;
    }
    rc = vs__regex_get(pat, plen, &r, &err_at, &re);
    vs__regex_put(r);
    if (rc == VS_ENOMEM) {
        rc = vs__errf(p->e, VS_ENOMEM, "%s", re.msg);
    } else if (rc != VS_OK) {
        static const char pre[] = "bad regex at offset ";
        const char *why = re.msg, *colon;
        size_t at = t->at;
        if (strncmp(why, pre, sizeof pre - 1) == 0 && (colon = strstr(why, ": ")) != NULL)
            why = colon + 2;
        if (err_at <= plen) at = t->at + 1 + raw_offset(p, t, err_at);
        rc = ft_err(p, at, "bad regex: %s", why);
    }
    vs__free(dec);
    return rc;
}

/* ----------------------------------------------------------------- parser ---- */

static int parse_expr(ftp *p, fres *r);

static int enter(ftp *p, size_t at) {
    if (++p->depth > FT_DEPTH_MAX)
        return ft_err(p, at, "nesting deeper than %d levels of '(', NOT and NESTED",
                      FT_DEPTH_MAX);
    return VS_OK;
}

/* r's JSON has become the content of one more filter object, which starts at byte at. */
static int level_up(ftp *p, fres *r, size_t at) {
    if (r->levels == 0) r->deep_at = at;
    r->kind = K_FILTER;
    if (++r->levels > VS__FILTER_DEPTH_MAX)
        return ft_err(p, r->deep_at,
                      "filters nested deeper than %d levels (each NOT, NESTED, IS NOT, "
                      "LEN … != and AND/OR group inside another adds one)",
                      VS__FILTER_DEPTH_MAX);
    return VS_OK;
}

static int expect(ftp *p, int kind, const char *what) {
    if (p->t.kind != kind) return expected(p, what);
    return next(p);
}

/* A path component: identifier (not AND/OR/NOT) or "quoted", written into the key. */
static int path_comp(ftp *p, const char *where) {
    const ftok *t = &p->t;
    char what[64];
    int rc;
    if (t->kind == T_WORD && is_reserved(p, t)) {
        char q[FT_QUOTE_MAX + 4];
        quote_bytes(p->s + t->at, t->len, q);
        return ft_err(p, t->at, "expected a name%s, got the keyword '%s' (quote it: \"%s\")",
                      where, q, q);
    }
    if (t->kind == T_WORD) {
        rc = put(p, p->s + t->at, t->len);
    } else if (t->kind == T_NAME) {
        /* no '"', '\' or control bytes inside (lexer), so only the quotes need escaping */
        rc = put(p, "\\\"", 2);
        if (!rc) rc = put(p, p->s + t->at + 1, t->len - 2);
        if (!rc) rc = put(p, "\\\"", 2);
    } else {
        snprintf(what, sizeof what, "a name%s", where);
        return expected(p, what);
    }
    return rc ? rc : next(p);
}

/* path := ['$' '.'] comp { '.' comp | '[' [digits] ']' }, written as a JSON string. */
static int parse_path(ftp *p) {
    int rc = put(p, "\"", 1);
    if (!rc && p->t.kind == T_DOLLAR) {
        rc = next(p);
        if (!rc) rc = expect(p, T_DOT, "'.' after '$'");
    }
    if (!rc) rc = path_comp(p, "");
    while (!rc) {
        if (p->t.kind == T_DOT) {
            rc = next(p);
            if (!rc) rc = put(p, ".", 1);
            if (!rc) rc = path_comp(p, " after '.'");
        } else if (p->t.kind == T_LB) {
            rc = next(p);
            if (!rc) rc = put(p, "[", 1);
            if (!rc && p->t.kind == T_NUM) {
                if (!is_count(&p->t)) return expected(p, "an array index (digits) or ']'");
                rc = put(p, p->s + p->t.at, p->t.len);
                if (!rc) rc = next(p);
                if (!rc) rc = expect(p, T_RB, "']'");
            } else if (!rc) {
                rc = expect(p, T_RB, "an array index (digits) or ']'");
            }
            if (!rc) rc = put(p, "]", 1);
        } else {
            break;
        }
    }
    if (!rc) rc = put(p, "\"", 1);
    return rc;
}

/* A literal: number, string, TRUE or FALSE. The token is copied to *lit; the parser
 * moves past it. */
static int parse_lit(ftp *p, ftok *lit, const char *after) {
    char what[64];
    if (p->t.kind == T_STR || p->t.kind == T_NUM || is_kw(p, &p->t, "TRUE") ||
        is_kw(p, &p->t, "FALSE")) {
        *lit = p->t;
        return next(p);
    }
    snprintf(what, sizeof what, "a value %s", after);
    return expected(p, what);
}

static int is_float(const ftok *t) { return t->kind == T_NUM && !(t->flags & F_INT); }
static int is_bool(const ftok *t) { return t->kind == T_WORD; } /* TRUE/FALSE by parse_lit */

static int put_lit(ftp *p, const ftok *t) {
    if (t->kind == T_STR) return put_str(p, t);
    if (t->kind == T_NUM) return put(p, p->s + t->at, t->len);
    return puts_(p, (p->s[t->at] | 0x20) == 't' ? "true" : "false");
}

/* '(' [literal {',' literal}] ')' as a JSON array of strings, integers and bools. */
static int parse_list(ftp *p, const char *op, int allow_empty) {
    char ctx[64];
    ftok lit;
    int rc;
    snprintf(ctx, sizeof ctx, "'(' after %s", op);
    if ((rc = expect(p, T_LP, ctx)) != VS_OK) return rc;
    if ((rc = put(p, "[", 1)) != VS_OK) return rc;
    if (p->t.kind == T_RP) {
        if (!allow_empty) return ft_err(p, p->t.at, "%s needs at least one value", op);
    } else {
        for (;;) {
            if ((rc = parse_lit(p, &lit, "in the list")) != VS_OK) return rc;
            if (is_float(&lit)) {
                char d[FT_DESC_CAP];
                return ft_err(p, lit.at,
                              "expected a string, an integer, TRUE or FALSE in the list "
                              "(floats have no exact match), got the float %s",
                              tok_desc(p, &lit, d));
            }
            if ((rc = put_lit(p, &lit)) != VS_OK) return rc;
            if (p->t.kind != T_COMMA) break;
            if ((rc = next(p)) != VS_OK || (rc = put(p, ",", 1)) != VS_OK) return rc;
        }
    }
    if ((rc = expect(p, T_RP, "',' or ')' in the list")) != VS_OK) return rc;
    return put(p, "]", 1);
}

static const char *op_json(int op) {
    switch (op) {
    case OP_LT: return "lt";
    case OP_LE: return "lte";
    case OP_GT: return "gt";
    default: return "gte";
    }
}

/* After the path (key at out[kmark..]) and its operator: the rest of a value condition.
 * Writes ,"match":… or ,"range":… ; the caller closes the object. */
static int cond_cmp(ftp *p, const ftok *opt) {
    ftok lit;
    char ctx[32], d[FT_DESC_CAP];
    int rc;
    snprintf(ctx, sizeof ctx, "after '%.*s'", (int)opt->len, (const char *)p->s + opt->at);
    if ((rc = parse_lit(p, &lit, ctx)) != VS_OK) return rc;
    switch (opt->op) {
    case OP_EQ:
        if (is_float(&lit)) { /* no float equality in filter.h: the closed range [v, v] */
            if ((rc = puts_(p, ",\"range\":{\"gte\":")) || (rc = put_lit(p, &lit)) ||
                (rc = puts_(p, ",\"lte\":")) || (rc = put_lit(p, &lit)))
                return rc;
            return puts_(p, "}");
        }
        if ((rc = puts_(p, ",\"match\":{\"value\":")) || (rc = put_lit(p, &lit))) return rc;
        return puts_(p, "}");
    case OP_NE:
        if (is_float(&lit))
            return ft_err(p, lit.at,
                          "'%.*s' needs a string, an integer, TRUE or FALSE (floats have no "
                          "exact match), got the float %s",
                          (int)opt->len, (const char *)p->s + opt->at, tok_desc(p, &lit, d));
        if ((rc = puts_(p, ",\"match\":{\"except\":[")) || (rc = put_lit(p, &lit))) return rc;
        return puts_(p, "]}");
    default:
        if (is_bool(&lit))
            return ft_err(p, lit.at, "expected a number or a datetime string %s, got %s", ctx,
                          tok_desc(p, &lit, d));
        if (lit.kind == T_STR && (rc = check_datetime(p, &lit)) != VS_OK) return rc;
        if ((rc = puts_(p, ",\"range\":{\"")) || (rc = puts_(p, op_json(opt->op))) ||
            (rc = puts_(p, "\":")) || (rc = put_lit(p, &lit)))
            return rc;
        return puts_(p, "}");
    }
}

/* BETWEEN x AND y: two numbers or two datetime strings, written as ,"range":{gte,lte}. */
static int cond_between(ftp *p, int counts) {
    ftok lo, hi;
    char d[FT_DESC_CAP];
    int rc;
    if (counts) { /* LEN(path) BETWEEN: counts are non-negative integers */
        if (!is_count(&p->t)) return expected(p, "a non-negative integer after BETWEEN");
        lo = p->t;
        if ((rc = next(p)) != VS_OK) return rc;
        if (!is_kw(p, &p->t, "AND")) return expected(p, "AND");
        if ((rc = next(p)) != VS_OK) return rc;
        if (!is_count(&p->t)) return expected(p, "a non-negative integer after AND");
        hi = p->t;
        if ((rc = next(p)) != VS_OK) return rc;
    } else {
        if ((rc = parse_lit(p, &lo, "after BETWEEN")) != VS_OK) return rc;
        if (is_bool(&lo))
            return ft_err(p, lo.at, "expected a number or a datetime string after BETWEEN, got %s",
                          tok_desc(p, &lo, d));
        if (!is_kw(p, &p->t, "AND")) return expected(p, "AND");
        if ((rc = next(p)) != VS_OK) return rc;
        if ((rc = parse_lit(p, &hi, "after AND")) != VS_OK) return rc;
        if (hi.kind != lo.kind)
            return ft_err(p, hi.at, "expected %s after AND (as after BETWEEN), got %s",
                          lo.kind == T_NUM ? "a number" : "a datetime string",
                          tok_desc(p, &hi, d));
        if (lo.kind == T_STR &&
            ((rc = check_datetime(p, &lo)) != VS_OK || (rc = check_datetime(p, &hi)) != VS_OK))
            return rc;
    }
    if ((rc = puts_(p, counts ? ",\"values_count\":{\"gte\":" : ",\"range\":{\"gte\":")) ||
        (rc = put_lit(p, &lo)) || (rc = puts_(p, ",\"lte\":")) || (rc = put_lit(p, &hi)))
        return rc;
    return puts_(p, "}");
}

/* point := '(' number ',' number ')' — latitude, longitude — written as {"lat":…,"lon":…}
 * (checked here so that a bad coordinate is reported at its place in the text). */
static int geo_point_text(ftp *p, const char *what) {
    char ctx[80];
    int rc;
    ftok c[2];
    snprintf(ctx, sizeof ctx, "'(' to start %s (latitude, longitude)", what);
    if ((rc = expect(p, T_LP, ctx)) != VS_OK) return rc;
    for (int i = 0; i < 2; i++) {
        if (p->t.kind != T_NUM) return expected(p, i ? "a longitude (a number)" : "a latitude (a number)");
        c[i] = p->t;
        double v = num_value(p->s + p->t.at, p->t.len), lim = i ? 180 : 90;
        if (v < -lim || v > lim)
            return ft_err(p, p->t.at, "%s %.*s is outside [%g, %g]", i ? "longitude" : "latitude",
                          (int)p->t.len, (const char *)p->s + p->t.at, -lim, lim);
        if ((rc = next(p)) != VS_OK) return rc;
        if (!i && (rc = expect(p, T_COMMA, "',' between latitude and longitude")) != VS_OK) return rc;
    }
    if ((rc = expect(p, T_RP, "')' after the longitude")) != VS_OK) return rc;
    if ((rc = puts_(p, "{\"lat\":")) || (rc = put(p, p->s + c[0].at, c[0].len)) ||
        (rc = puts_(p, ",\"lon\":")) || (rc = put(p, p->s + c[1].at, c[1].len)))
        return rc;
    return puts_(p, "}");
}

/* ring := '(' point {',' point} ')' as {"points":[…]} (geo/geo.h checks the count). */
static int geo_ring_text(ftp *p, const char *what) {
    int rc;
    char ctx[64];
    snprintf(ctx, sizeof ctx, "'(' to start %s", what);
    if ((rc = expect(p, T_LP, ctx)) || (rc = puts_(p, "{\"points\":["))) return rc;
    for (size_t i = 0;; i++) {
        if (i && (rc = put(p, ",", 1))) return rc;
        if ((rc = geo_point_text(p, "a point"))) return rc;
        if (p->t.kind != T_COMMA) break;
        if ((rc = next(p))) return rc;
    }
    if ((rc = expect(p, T_RP, "',' or ')' after a point"))) return rc;
    return puts_(p, "]}");
}

/* After WITHIN: a radius, BOX or POLYGON (filter.h's geo conditions). */
static int cond_within(ftp *p) {
    int rc;
    char d[FT_DESC_CAP];
    if (is_kw(p, &p->t, "BOX")) {
        if ((rc = next(p)) || (rc = expect(p, T_LP, "'(' after BOX")) ||
            (rc = puts_(p, ",\"geo_bounding_box\":{\"top_left\":")) ||
            (rc = geo_point_text(p, "the north-west corner")) ||
            (rc = expect(p, T_COMMA, "',' between the corners")) ||
            (rc = puts_(p, ",\"bottom_right\":")) ||
            (rc = geo_point_text(p, "the south-east corner")) ||
            (rc = expect(p, T_RP, "')' after the corners")))
            return rc;
        return puts_(p, "}");
    }
    if (is_kw(p, &p->t, "POLYGON")) {
        if ((rc = next(p)) || (rc = expect(p, T_LP, "'(' after POLYGON")) ||
            (rc = puts_(p, ",\"geo_polygon\":{\"exterior\":")) ||
            (rc = geo_ring_text(p, "the exterior ring")))
            return rc;
        if (p->t.kind == T_COMMA) {
            if ((rc = puts_(p, ",\"interiors\":["))) return rc;
            for (size_t i = 0; p->t.kind == T_COMMA; i++) {
                if ((rc = next(p)) || (i && (rc = put(p, ",", 1))) || (rc = geo_ring_text(p, "a hole")))
                    return rc;
            }
            if ((rc = put(p, "]", 1))) return rc;
        }
        if ((rc = expect(p, T_RP, "',' or ')' after a ring"))) return rc;
        return puts_(p, "}");
    }
    if (p->t.kind != T_NUM) return expected(p, "a radius, BOX or POLYGON after WITHIN");
    ftok r = p->t;
    if (r.flags & F_NEG)
        return ft_err(p, r.at, "the radius must be >= 0, got %s", tok_desc(p, &r, d));
    if ((rc = next(p))) return rc;
    int km = 0;
    if (is_kw(p, &p->t, "KM") || is_kw(p, &p->t, "M")) {
        km = is_kw(p, &p->t, "KM");
        if ((rc = next(p))) return rc;
    }
    if (!is_kw(p, &p->t, "OF")) return expected(p, "M, KM or OF after the radius");
    if ((rc = next(p)) || (rc = puts_(p, ",\"geo_radius\":{\"center\":")) ||
        (rc = geo_point_text(p, "the center")) || (rc = puts_(p, ",\"radius\":")))
        return rc;
    if (km) { /* metres, as a double: exact enough (and JSON has no units) */
        char b[40];
        double v = num_value(p->s + r.at, r.len) * 1000.0;
        if (!isfinite(v)) return ft_err(p, r.at, "the radius %s is too large", tok_desc(p, &r, d));
        snprintf(b, sizeof b, "%.17g", v);
        rc = puts_(p, b);
    } else {
        rc = put(p, p->s + r.at, r.len);
    }
    return rc ? rc : puts_(p, "}");
}

/* path … : every condition that starts with a path. */
static int cond_path(ftp *p, fres *r) {
    size_t kmark = p->olen, start = p->t.at;
    int rc, all = 0, quant = 0, neg = 0;
    r->kind = K_COND;
    r->levels = 0;
    if ((rc = parse_path(p)) != VS_OK) return rc;
    if (is_kw(p, &p->t, "ANY") || is_kw(p, &p->t, "ALL")) {
        quant = 1;
        all = is_kw(p, &p->t, "ALL");
        if ((rc = next(p)) != VS_OK) return rc;
    }
    ftok opt = p->t;
    if (opt.kind == T_OP) {
        if ((rc = insert(p, kmark, "{\"key\":")) || (rc = next(p))) return rc;
        rc = cond_cmp(p, &opt);
    } else if (is_kw(p, &opt, "IN") || is_kw(p, &opt, "NOT")) {
        neg = is_kw(p, &opt, "NOT");
        if ((rc = insert(p, kmark, "{\"key\":")) || (rc = next(p))) return rc;
        if (neg && !is_kw(p, &p->t, "IN")) return expected(p, "IN after NOT");
        if (neg && (rc = next(p)) != VS_OK) return rc;
        if ((rc = puts_(p, neg ? ",\"match\":{\"except\":" : ",\"match\":{\"any\":")) ||
            (rc = parse_list(p, neg ? "NOT IN" : "IN", 1)))
            return rc;
        rc = puts_(p, "}");
    } else if (is_kw(p, &opt, "BETWEEN")) {
        if ((rc = insert(p, kmark, "{\"key\":")) || (rc = next(p))) return rc;
        rc = cond_between(p, 0);
    } else if (is_kw(p, &opt, "WITHIN")) {
        if ((rc = insert(p, kmark, "{\"key\":")) || (rc = next(p))) return rc;
        rc = cond_within(p);
    } else if (is_kw(p, &opt, "MATCHES")) {
        if ((rc = insert(p, kmark, "{\"key\":")) || (rc = next(p))) return rc;
        if (p->t.kind != T_STR) return expected(p, "a string (the pattern) after MATCHES");
        ftok pat = p->t;
        if ((rc = check_regex(p, &pat)) || (rc = next(p)) ||
            (rc = puts_(p, ",\"match\":{\"regex\":")) || (rc = put_str(p, &pat)))
            return rc;
        rc = puts_(p, "}");
    } else if (!quant && is_kw(p, &opt, "CONTAINS")) {
        if ((rc = insert(p, kmark, "{\"key\":")) || (rc = next(p))) return rc;
        if (p->t.kind == T_STR) {
            ftok words = p->t;
            if ((rc = next(p)) || (rc = puts_(p, ",\"match\":{\"text\":")) ||
                (rc = put_str(p, &words)))
                return rc;
        } else if (is_kw(p, &p->t, "ANY") || is_kw(p, &p->t, "ALL")) {
            int call = is_kw(p, &p->t, "ALL");
            if ((rc = next(p)) ||
                (rc = puts_(p, call ? ",\"match\":{\"contains_all\":" : ",\"match\":{\"any\":")) ||
                (rc = parse_list(p, call ? "CONTAINS ALL" : "CONTAINS ANY", 0)))
                return rc;
        } else {
            return expected(p, "ANY, ALL or a string after CONTAINS");
        }
        rc = puts_(p, "}");
    } else if (!quant && is_kw(p, &opt, "IS")) {
        if ((rc = next(p)) != VS_OK) return rc;
        if (is_kw(p, &p->t, "NOT")) {
            neg = 1;
            if ((rc = next(p)) != VS_OK) return rc;
        }
        int null = is_kw(p, &p->t, "NULL");
        if (!null && !is_kw(p, &p->t, "EMPTY"))
            return expected(p, neg ? "NULL or EMPTY after IS NOT" : "NULL or EMPTY after IS");
        if ((rc = next(p)) != VS_OK) return rc;
        if (neg)
            rc = insert(p, kmark, null ? "{\"must_not\":[{\"is_null\":{\"key\":"
                                       : "{\"must_not\":[{\"is_empty\":{\"key\":");
        else
            rc = insert(p, kmark, null ? "{\"is_null\":{\"key\":" : "{\"is_empty\":{\"key\":");
        if (rc || (neg && (rc = level_up(p, r, start)))) return rc;
        return puts_(p, neg ? "}}]}" : "}}");
    } else if (quant) {
        return expected(p, all ? "=, !=, <, <=, >, >=, IN, NOT IN, BETWEEN, MATCHES or WITHIN after ALL"
                               : "=, !=, <, <=, >, >=, IN, NOT IN, BETWEEN, MATCHES or WITHIN after ANY");
    } else if (opt.kind == T_WORD) {
        char q[FT_QUOTE_MAX + 4];
        quote_bytes(p->s + opt.at, opt.len, q);
        return ft_err(p, opt.at,
                      "unknown operator '%s' (expected =, !=, <, <=, >, >=, IN, NOT IN, "
                      "BETWEEN, MATCHES, WITHIN, CONTAINS or IS)",
                      q);
    } else {
        return expected(p, "an operator after the path");
    }
    if (rc) return rc;
    if (all && (rc = puts_(p, ",\"quantifier\":\"all\"")) != VS_OK) return rc;
    return puts_(p, "}");
}

/* LEN '(' path ')' cmp integer | LEN '(' path ')' BETWEEN int AND int */
static int cond_len(ftp *p, fres *r) {
    size_t kmark, start = p->t.at;
    int rc;
    r->kind = K_COND;
    r->levels = 0;
    if ((rc = next(p)) || (rc = next(p))) return rc; /* LEN ( */
    kmark = p->olen;
    if ((rc = parse_path(p)) || (rc = expect(p, T_RP, "')' after LEN's path"))) return rc;
    if (is_kw(p, &p->t, "BETWEEN")) {
        if ((rc = insert(p, kmark, "{\"key\":")) || (rc = next(p)) || (rc = cond_between(p, 1)))
            return rc;
        return puts_(p, "}");
    }
    if (p->t.kind != T_OP) return expected(p, "an operator or BETWEEN after LEN(…)");
    ftok opt = p->t, n;
    if ((rc = next(p)) != VS_OK) return rc;
    if (!is_count(&p->t)) {
        char what[48];
        snprintf(what, sizeof what, "a non-negative integer after LEN(…) %.*s", (int)opt.len,
                 (const char *)p->s + opt.at);
        return expected(p, what);
    }
    n = p->t;
    if ((rc = next(p)) != VS_OK) return rc;
    /* a count is defined for every point (0 when missing), so != is the negation of = */
    if (opt.op == OP_NE && (rc = level_up(p, r, start))) return rc;
    if ((rc = insert(p, kmark, opt.op == OP_NE ? "{\"must_not\":[{\"key\":" : "{\"key\":")))
        return rc;
    if (opt.op == OP_EQ || opt.op == OP_NE) {
        if ((rc = puts_(p, ",\"values_count\":{\"gte\":")) || (rc = put_lit(p, &n)) ||
            (rc = puts_(p, ",\"lte\":")) || (rc = put_lit(p, &n)))
            return rc;
    } else {
        if ((rc = puts_(p, ",\"values_count\":{\"")) || (rc = puts_(p, op_json(opt.op))) ||
            (rc = puts_(p, "\":")) || (rc = put_lit(p, &n)))
            return rc;
    }
    return puts_(p, opt.op == OP_NE ? "}}]}" : "}}");
}

/* HAS_ID '(' id {',' id} ')' */
static int cond_has_id(ftp *p) {
    int rc;
    /* filter.h: the ids are the point's, which NESTED's array elements do not have */
    if (p->nested) return ft_err(p, p->t.at, "HAS_ID cannot be used inside NESTED");
    if ((rc = next(p)) || (rc = next(p)) || (rc = puts_(p, "{\"has_id\":["))) return rc;
    for (;;) {
        if (p->t.kind != T_STR && !is_count(&p->t))
            return expected(p, "an id (an unsigned integer or a string)");
        ftok id = p->t;
        if ((rc = put_lit(p, &id)) || (rc = next(p))) return rc;
        if (p->t.kind != T_COMMA) break;
        if ((rc = next(p)) || (rc = put(p, ",", 1))) return rc;
    }
    if ((rc = expect(p, T_RP, "',' or ')' in HAS_ID"))) return rc;
    return puts_(p, "]}");
}

/* Wraps a lone condition r, written at out[mark..] from byte at of the text, into
 * {"must":[…]}; a filter object stays as it is. */
static int as_filter(ftp *p, size_t mark, fres *r, size_t at) {
    int rc;
    if (r->kind == K_FILTER) return VS_OK;
    if ((rc = level_up(p, r, at)) || (rc = insert(p, mark, "{\"must\":[")) != VS_OK) return rc;
    return puts_(p, "]}");
}

/* NESTED '(' path ',' expr ')' */
static int cond_nested(ftp *p, fres *r) {
    int rc;
    size_t fmark, start;
    if ((rc = enter(p, p->t.at)) || (rc = next(p)) || (rc = next(p)) ||
        (rc = puts_(p, "{\"nested\":{\"key\":")) || (rc = parse_path(p)) ||
        (rc = expect(p, T_COMMA, "',' after NESTED's path")) || (rc = puts_(p, ",\"filter\":")))
        return rc;
    fmark = p->olen;
    start = p->t.at;
    p->nested++;
    if ((rc = parse_expr(p, r)) || (rc = expect(p, T_RP, "AND, OR or ')'")) ||
        (rc = as_filter(p, fmark, r, start)))
        return rc;
    r->kind = K_COND; /* the nested condition holds the filter's levels, adds none */
    p->nested--;
    p->depth--;
    return puts_(p, "}}");
}

static int parse_cond(ftp *p, fres *r) {
    ftok t = p->t;
    int rc;
    if (t.kind == T_WORD && !is_reserved(p, &t)) {
        int len = is_kw(p, &t, "LEN"), has = is_kw(p, &t, "HAS_ID"), nes = is_kw(p, &t, "NESTED");
        if (len || has || nes) {
            ftok nx;
            if ((rc = lex(p, t.at + t.len, &nx)) != VS_OK) return rc;
            if (nx.kind == T_LP) {
                r->kind = K_COND;
                r->levels = 0;
                return len ? cond_len(p, r) : has ? cond_has_id(p) : cond_nested(p, r);
            }
        }
        return cond_path(p, r);
    }
    if (t.kind == T_NAME || t.kind == T_DOLLAR) return cond_path(p, r);
    return expected(p, "a condition");
}

/* unary := NOT unary | '(' expr ')' | cond */
static int parse_unary(ftp *p, fres *r) {
    int rc;
    size_t at = p->t.at;
    if (is_kw(p, &p->t, "NOT")) {
        if ((rc = enter(p, at)) || (rc = next(p)) || (rc = puts_(p, "{\"must_not\":[")) ||
            (rc = parse_unary(p, r)) || (rc = puts_(p, "]}")) || (rc = level_up(p, r, at)))
            return rc;
        p->depth--;
        return VS_OK;
    }
    if (p->t.kind == T_LP) {
        if ((rc = enter(p, at)) || (rc = next(p)) || (rc = parse_expr(p, r)) ||
            (rc = expect(p, T_RP, "AND, OR or ')'")))
            return rc;
        p->depth--;
        return VS_OK;
    }
    return parse_cond(p, r);
}

/* One AND or OR chain: sub { word sub } → {"must"|"should":[sub,…]} when longer than one. */
static int parse_chain(ftp *p, fres *r, int or) {
    size_t mark = p->olen, start = p->t.at;
    int rc, chained = 0;
    fres sub;
    rc = or ? parse_chain(p, r, 0) : parse_unary(p, r);
    while (!rc && is_kw(p, &p->t, or ? "OR" : "AND")) {
        if (!chained) rc = insert(p, mark, or ? "{\"should\":[" : "{\"must\":[");
        chained = 1;
        if (!rc) rc = next(p);
        if (!rc) rc = put(p, ",", 1);
        if (!rc) rc = or ? parse_chain(p, &sub, 0) : parse_unary(p, &sub);
        if (!rc && sub.levels > r->levels) {
            r->levels = sub.levels;
            r->deep_at = sub.deep_at;
        }
    }
    if (rc || !chained) return rc;
    if ((rc = level_up(p, r, start)) != VS_OK) return rc;
    return puts_(p, "]}");
}

static int parse_expr(ftp *p, fres *r) { return parse_chain(p, r, 1); }

int vs__filter_text_to_json(const char *text, size_t len, char **json, size_t *json_len,
                            vs__err *e) {
    ftp p;
    fres r;
    int rc;
    *json = NULL;
    if (json_len) *json_len = 0;
    if (!text) len = 0;
    memset(&p, 0, sizeof p);
    p.s = (const unsigned char *)(text ? text : "");
    p.n = len;
    p.e = e;
    if (len > VS__FILTER_TEXT_MAX) {
        rc = ft_err(&p, VS__FILTER_TEXT_MAX, "filter text is %zu bytes, the limit is %u", len,
                    VS__FILTER_TEXT_MAX);
        goto done;
    }
    if ((rc = lex(&p, 0, &p.t))) goto done;
    size_t start = p.t.at;
    if ((rc = parse_expr(&p, &r))) goto done;
    if (p.t.kind != T_END) {
        rc = expected(&p, "AND, OR or the end of the text");
        goto done;
    }
    if ((rc = as_filter(&p, 0, &r, start)) || (rc = out_reserve(&p, 0))) goto done;
    p.out[p.olen] = 0;
    *json = p.out;
    if (json_len) *json_len = p.olen;
    p.out = NULL;
done:
    vs__free(p.out);
    return rc;
}
