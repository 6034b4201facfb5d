/*
 * filter_text.h — the compact text syntax for filters (the CLI's --where), translated to
 * the JSON filter language of filter.h, so both reach the same tree.
 *
 * Grammar (keywords are case-insensitive; whitespace is free between tokens):
 *
 *   expr     := and { OR and }
 *   and      := unary { AND unary }
 *   unary    := NOT unary | '(' expr ')' | cond
 *   cond     := path [ANY | ALL] cmp literal           = == != <> < <= > >=
 *             | path [ANY | ALL] [NOT] IN '(' [literal {',' literal}] ')'
 *             | path [ANY | ALL] BETWEEN literal AND literal     (inclusive)
 *             | path [ANY | ALL] MATCHES string        PCRE2 regex
 *             | path [ANY | ALL] WITHIN number [M | KM] OF point   geo_radius (metres
 *                                                      by default)
 *             | path [ANY | ALL] WITHIN BOX '(' point ',' point ')'
 *                                                      geo_bounding_box: the north-west
 *                                                      and south-east corners
 *             | path [ANY | ALL] WITHIN POLYGON '(' ring {',' ring} ')'
 *                                                      geo_polygon: the exterior ring,
 *                                                      then holes
 *             | path CONTAINS ANY '(' literal {',' literal} ')'
 *             | path CONTAINS ALL '(' literal {',' literal} ')'
 *             | path CONTAINS string                    full text: every word present
 *             | path IS [NOT] NULL | path IS [NOT] EMPTY
 *             | LEN '(' path ')' cmp integer | LEN '(' path ')' BETWEEN int AND int
 *             | HAS_ID '(' id {',' id} ')'             ids: unsigned integers or strings
 *             | NESTED '(' path ',' expr ')'           some element of the array of
 *                                                      objects at path satisfies expr
 *                                                      (paths inside are relative to it)
 *   path     := ['$' '.'] comp { '.' comp | '[' [digits] ']' }
 *   comp     := ident | '"' chars '"'                  ident: [A-Za-z_] or any byte
 *                                                      >= 0x80, then also digits;
 *                                                      quoted: any chars but '"', '\' and
 *                                                      control chars
 *   literal  := number | string | TRUE | FALSE
 *   point    := '(' number ',' number ')'               latitude, longitude (degrees)
 *   ring     := '(' point {',' point} ')'
 *   string   := "'" { char | "''" } "'"                SQL quoting: '' is one quote;
 *                                                      backslashes are literal ('\d+')
 *   number   := ['-'] digits ['.' digits] [('e'|'E') ['+'|'-'] digits]
 *
 * AND binds tighter than OR. The words AND, OR, NOT cannot be bare path components (quote
 * them: "not" = 1); the other keywords are keywords only where the grammar expects one.
 *
 * Translation (the JSON of filter.h):
 *   a = 'x' | a = 3 | a = TRUE  → {"key":"a","match":{"value":…}}
 *   a = 2.5                     → {"key":"a","range":{"gte":2.5,"lte":2.5}}  (floats have
 *                                 no equality match; a closed range is the same test)
 *   a != v, a <> v              → {"key":"a","match":{"except":[v]}}  (non-integral v: error)
 *   a < n (<=, >, >=)           → {"key":"a","range":{"lt":n}}; with a string literal the
 *                                 string must be a datetime (datetime.h): a datetime range
 *   a IN (…) / a NOT IN (…)     → match any / except (floats in the list: error)
 *   a BETWEEN x AND y           → range gte x, lte y (numbers, or two datetimes)
 *   a MATCHES 're'              → {"key":"a","match":{"regex":"re"}} (compiled here too, so
 *                                 a bad pattern is reported at its place in the text)
 *   a WITHIN 5 KM OF (52.52, 13.40)
 *                               → {"key":"a","geo_radius":{"center":{"lat":52.52,
 *                                 "lon":13.40},"radius":5000}} (KM: the radius × 1000
 *                                 printed as a double; M or nothing: copied as written)
 *   a WITHIN BOX ((n, w), (s, e)) → geo_bounding_box {top_left (n, w), bottom_right (s, e)}
 *   a WITHIN POLYGON ((p, p, p…), (hole…)…) → geo_polygon {exterior, interiors}
 *                                 Coordinates out of range and negative radii are
 *                                 reported here, at their byte; the rest by filter.h.
 *   a CONTAINS ANY (…)          → match any;  a CONTAINS ALL (…) → match contains_all
 *   a CONTAINS 'words'          → match text
 *   ALL before an operator      → "quantifier":"all" on that condition; ANY is the default
 *   a IS NULL / IS EMPTY        → is_null / is_empty; IS NOT … → must_not of it
 *   LEN(a) op n                 → {"key":"a","values_count":{…}} (= n: gte n and lte n)
 *   HAS_ID(…)                   → has_id;  NESTED(p, e) → {"nested":{"key":p,"filter":e}}
 *   x AND y / x OR y / NOT x    → {"must":[x,y]} / {"should":[x,y]} / {"must_not":[x]}
 * The result is always one filter object; a lone condition becomes {"must":[cond]}.
 *
 * Errors (VS_EFILTER) name the byte offset in the text and a reason, e.g.
 *   "at byte 12: expected a value after '<', got ')'" or
 *   "at byte 20: bad datetime '2024-02-30': day out of range for the month".
 * Nesting of parentheses/NOT/NESTED is limited to 32 levels; the text to VS__FILTER_TEXT_MAX.
 *
 * Settled by the implementation (filter_text.c; tests/unit/test_filter_text.c pins them):
 *   - Integral means the literal is an integer literal: '-'? digits. 2.0 and 1e3 count as
 *     non-integral (so "= 2.0" is a range, "!= 1e3" and "IN (2.0)" are errors) — the
 *     literal decides, never its value.
 *   - Numbers are copied to the JSON as written (big integers stay exact). Leading zeros
 *     (007, also in a[01]) are refused, as JSON refuses them; so is a literal that is
 *     infinite as a double (1e999); one that underflows (1e-400) passes.
 *   - Strings: a NUL byte is refused (filter.h has no "\u0000"); other control bytes are
 *     written as \u00xx, '"' and '\' escaped, DEL and bytes >= 0x80 (valid UTF-8 only,
 *     RFC 3629, also in names) copied. Datetime and regex strings are written as they
 *     are; they are only checked here.
 *   - The key: bare components as written, quoted ones keep their quotes ("not" → key
 *     "\"not\""), an empty quoted component "" is allowed, "$." is dropped.
 *   - JSON layout: compact; {"key":…, OP, "quantifier":"all"} in that order. One chain of
 *     the same operator is one clause (a AND b AND c → one "must"); parentheses are not
 *     merged ((a AND b) AND c → a "must" inside a "must"); (x) alone is x.
 *   - LEN takes non-negative integer literals only; LEN(a) != n → {"must_not":[LEN(a) =
 *     n]} (every point has a count, so that is the negation).
 *   - HAS_ID inside NESTED is refused here (filter.h refuses it: elements have no id).
 *   - Empty (or blank) text is an error here ("expected a condition"), unlike the JSON
 *     side, where it means no filter; NULL text is empty text.
 *   - Besides the 32 levels of '(' / NOT / NESTED (which also bound the recursion), the
 *     filter objects of the result may not nest deeper than filter.h's 32 levels (root =
 *     1): NOT, NESTED, IS NOT, LEN != and parenthesised AND/OR groups each add one. That
 *     error names the byte where the innermost filter object starts, so every text
 *     accepted here is within filter.h's depth and no error comes back in JSON bytes.
 *   - Error messages quote the found token cut to 32 bytes (whole UTF-8 characters,
 *     control and invalid bytes shown as '?'); "at byte N" of a bad datetime or regex is
 *     the literal's opening quote + 1 + the offset that datetime.h / regex.h report
 *     (mapped through '' pairs); with no offset, the literal's own position.
 */
#ifndef VS_QUERY_FILTER_TEXT_H
#define VS_QUERY_FILTER_TEXT_H

#include <stddef.h>

#include "util/err.h"

#define VS__FILTER_TEXT_MAX (1u << 20)

/* Translates text[0..len) to JSON. *json (NUL-terminated, *json_len bytes without the
 * NUL) is allocated with util/alloc.h and owned by the caller (vs__free). Errors:
 * VS_EFILTER with the position, VS_ENOMEM; *json is NULL on error. */
int vs__filter_text_to_json(const char *text, size_t len, char **json, size_t *json_len,
                            vs__err *e);

#endif
