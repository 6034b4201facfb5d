/*
 * test_filter_text.c — the text filter syntax: exact translations, positioned errors,
 * allocation failures.
 *
 * The translation is checked as exact JSON text, one table row per construct of the
 * table in filter_text.h, because the JSON is the contract with filter.c: a row that
 * changes is a change of meaning to review, not noise. Every produced text is also run
 * through vs__json_check. Expected JSON is written with ' for " (and ` for ') to stay
 * readable; see dq(). Bad inputs are checked for the exact byte offset, since the offset
 * is what a user of --where has to go on, and a reason substring.
 */
#include <stdlib.h>

#include "query/filter.h"
#include "query/filter_text.h"
#include "query/regex.h"
#include "test.h"
#include "util/alloc.h"
#include "util/json.h"

/* Expected JSON in the tables: ' stands for " and ` for ' (C strings full of \" are
 * unreadable). Backslashes are as in the JSON. */
static const char *dq(const char *in) {
    static char buf[4096];
    size_t i = 0;
    for (; in[i] && i + 1 < sizeof buf; i++)
        buf[i] = in[i] == '\'' ? '"' : in[i] == '`' ? '\'' : in[i];
    buf[i] = 0;
    return buf;
}

/* Translates text[0..len), asserts success and valid JSON, returns the JSON (vs__free). */
static char *xlate_n(const char *text, size_t len) {
    char *json = (char *)1;
    size_t jl = 12345;
    vs__err e = {0};
    int rc = vs__filter_text_to_json(text, len, &json, &jl, &e);
    ASSERT_MSG(rc == VS_OK, "%s: %s: %s", text, vs_errname(rc), e.msg);
    ASSERT_MSG(json && strlen(json) == jl, "%s: length %zu", text, jl);
    size_t at = 0;
    const char *why = NULL;
    ASSERT_MSG(vs__json_check(json, jl, &at, &why) == 0, "%s → %s: invalid JSON at %zu: %s",
               text, json, at, why);
    return json;
}

/* Asserts that text translates to exactly want_q (dq() notation) and that filter.h
 * accepts the result: the two modules agree on the language. */
static void expect_json_n(const char *text, size_t len, const char *want_q) {
    char *json = xlate_n(text, len);
    const char *want = dq(want_q);
    char got[4096];
    vs__filter *f = NULL;
    vs__err e = {0};
    snprintf(got, sizeof got, "%s", json);
    int same = strcmp(json, want) == 0;
    int rc = vs__filter_parse(json, strlen(json), &f, &e);
    vs__filter_free(f);
    vs__free(json);
    if (!same) vt_fail(__FILE__, __LINE__, "%s\n   got  %s\n   want %s", text, got, want);
    ASSERT_MSG(rc == VS_OK, "%s → %s: filter.h refuses it: %s", text, got, e.msg);
}

static void expect_json(const char *text, const char *want_q) {
    expect_json_n(text, strlen(text), want_q);
}

/* Translates expecting VS_EFILTER at byte `at` with a message containing needle. */
static void expect_err_n(const char *text, size_t len, size_t at, const char *needle) {
    char *json = (char *)1;
    size_t jl = 12345;
    vs__err e = {0};
    char pre[48];
    int rc = vs__filter_text_to_json(text, len, &json, &jl, &e);
    ASSERT_MSG(rc == VS_EFILTER, "%s: got %s (%s), want VS_EFILTER", text, vs_errname(rc),
               json ? json : e.msg);
    ASSERT_MSG(json == NULL && jl == 0, "%s: output on error", text);
    snprintf(pre, sizeof pre, "at byte %zu: ", at);
    ASSERT_MSG(strncmp(e.msg, pre, strlen(pre)) == 0, "%s: \"%s\" is not at byte %zu", text,
               e.msg, at);
    ASSERT_MSG(strstr(e.msg, needle), "%s: \"%s\" lacks \"%s\"", text, e.msg, needle);
}

static void expect_err(const char *text, size_t at, const char *needle) {
    expect_err_n(text, strlen(text), at, needle);
}

/* Condition shorthands for the expected JSON (in dq() notation). */
#define MUST(x) "{'must':[" x "]}"
#define A1 "{'key':'a','match':{'value':1}}"
#define B2 "{'key':'b','match':{'value':2}}"
#define C3 "{'key':'c','match':{'value':3}}"

typedef struct {
    const char *text, *json;
} ok_row;

static void run_ok(const ok_row *rows, size_t n) {
    for (size_t i = 0; i < n; i++) expect_json(rows[i].text, rows[i].json);
}
#define RUN_OK(rows) run_ok(rows, sizeof rows / sizeof rows[0])

TEST(filter_text, comparisons) {
    static const ok_row rows[] = {
        {"a = 'x'", MUST("{'key':'a','match':{'value':'x'}}")},
        {"a == 3", MUST("{'key':'a','match':{'value':3}}")},
        {"a = TRUE", MUST("{'key':'a','match':{'value':true}}")},
        {"a = false", MUST("{'key':'a','match':{'value':false}}")},
        {"a = -7", MUST("{'key':'a','match':{'value':-7}}")},
        {"a = 0", MUST("{'key':'a','match':{'value':0}}")},
        /* non-integral literals (a '.' or an exponent, even 2.0 or 1e3) → closed range */
        {"a = 2.5", MUST("{'key':'a','range':{'gte':2.5,'lte':2.5}}")},
        {"a = 2.0", MUST("{'key':'a','range':{'gte':2.0,'lte':2.0}}")},
        {"a = 1e3", MUST("{'key':'a','range':{'gte':1e3,'lte':1e3}}")},
        {"a == -1.5E+3", MUST("{'key':'a','range':{'gte':-1.5E+3,'lte':-1.5E+3}}")},
        {"a != 'x'", MUST("{'key':'a','match':{'except':['x']}}")},
        {"a <> 3", MUST("{'key':'a','match':{'except':[3]}}")},
        {"a != TRUE", MUST("{'key':'a','match':{'except':[true]}}")},
        {"a < 10", MUST("{'key':'a','range':{'lt':10}}")},
        {"a <= 10", MUST("{'key':'a','range':{'lte':10}}")},
        {"a > -1", MUST("{'key':'a','range':{'gt':-1}}")},
        {"a >= 1.5", MUST("{'key':'a','range':{'gte':1.5}}")},
        {"a>=-0.25e-2", MUST("{'key':'a','range':{'gte':-0.25e-2}}")},
        {"t >= '2024-01-01T00:00:00Z'", MUST("{'key':'t','range':{'gte':'2024-01-01T00:00:00Z'}}")},
        {"t < '2024-03-10 12:00:00+02:00'",
         MUST("{'key':'t','range':{'lt':'2024-03-10 12:00:00+02:00'}}")},
        {"t > '2024-02-29'", MUST("{'key':'t','range':{'gt':'2024-02-29'}}")},
    };
    RUN_OK(rows);
}

TEST(filter_text, lists_ranges_and_patterns) {
    static const ok_row rows[] = {
        {"a IN ('a','b')", MUST("{'key':'a','match':{'any':['a','b']}}")},
        {"a IN ( 1 , 'x' , true )", MUST("{'key':'a','match':{'any':[1,'x',true]}}")},
        {"a IN ()", MUST("{'key':'a','match':{'any':[]}}")},
        {"a NOT IN (1, 2)", MUST("{'key':'a','match':{'except':[1,2]}}")},
        {"a NOT IN ()", MUST("{'key':'a','match':{'except':[]}}")},
        {"a BETWEEN 1 AND 2.5", MUST("{'key':'a','range':{'gte':1,'lte':2.5}}")},
        {"a BETWEEN -1e2 AND 0", MUST("{'key':'a','range':{'gte':-1e2,'lte':0}}")},
        {"t BETWEEN '2024-01-01' AND '2024-12-31T23:59:59.5+02:00'",
         MUST("{'key':'t','range':{'gte':'2024-01-01','lte':'2024-12-31T23:59:59.5+02:00'}}")},
        {"a BETWEEN 1 AND 2 AND b = 2",
         MUST("{'key':'a','range':{'gte':1,'lte':2}}," B2)},
        {"a MATCHES '^en'", MUST("{'key':'a','match':{'regex':'^en'}}")},
        {"a MATCHES '\\d+\\.\\w'", MUST("{'key':'a','match':{'regex':'\\\\d+\\\\.\\\\w'}}")},
        {"a MATCHES 'it''s'", MUST("{'key':'a','match':{'regex':'it`s'}}")},
        {"tags CONTAINS ANY ('a','b')", MUST("{'key':'tags','match':{'any':['a','b']}}")},
        {"tags CONTAINS ALL ('a', 2, FALSE)",
         MUST("{'key':'tags','match':{'contains_all':['a',2,false]}}")},
        {"body CONTAINS 'hello world'", MUST("{'key':'body','match':{'text':'hello world'}}")},
        {"a IS NULL", MUST("{'is_null':{'key':'a'}}")},
        {"a IS EMPTY", MUST("{'is_empty':{'key':'a'}}")},
        {"a IS NOT NULL", "{'must_not':[{'is_null':{'key':'a'}}]}"},
        {"a IS NOT EMPTY", "{'must_not':[{'is_empty':{'key':'a'}}]}"},
        {"LEN(a) = 2", MUST("{'key':'a','values_count':{'gte':2,'lte':2}}")},
        {"LEN(a) < 3", MUST("{'key':'a','values_count':{'lt':3}}")},
        {"LEN(a) <= 3", MUST("{'key':'a','values_count':{'lte':3}}")},
        {"LEN(a) > 0", MUST("{'key':'a','values_count':{'gt':0}}")},
        {"LEN(a.b[]) >= 1", MUST("{'key':'a.b[]','values_count':{'gte':1}}")},
        {"LEN(a) != 0", "{'must_not':[{'key':'a','values_count':{'gte':0,'lte':0}}]}"},
        {"LEN(a) BETWEEN 1 AND 5", MUST("{'key':'a','values_count':{'gte':1,'lte':5}}")},
        {"HAS_ID(1)", MUST("{'has_id':[1]}")},
        {"HAS_ID(1, 'abc', 18446744073709551615)",
         MUST("{'has_id':[1,'abc',18446744073709551615]}")},
        {"NESTED(items, price < 10)",
         MUST("{'nested':{'key':'items','filter':{'must':[{'key':'price','range':{'lt':10}}]}}}")},
        {"NESTED(items[], a = 1 AND b = 2)",
         MUST("{'nested':{'key':'items[]','filter':{'must':[" A1 "," B2 "]}}}")},
        {"NESTED(x, NOT a = 1)", MUST("{'nested':{'key':'x','filter':{'must_not':[" A1 "]}}}")},
        {"NESTED(x, NESTED(y, a = 1))",
         MUST("{'nested':{'key':'x','filter':{'must':[{'nested':{'key':'y','filter':" MUST(
             A1) "}}]}}}")},
    };
    RUN_OK(rows);
}

TEST(filter_text, quantifier) {
    static const ok_row rows[] = {
        {"tags ALL = 'x'", MUST("{'key':'tags','match':{'value':'x'},'quantifier':'all'}")},
        {"tags ANY = 'x'", MUST("{'key':'tags','match':{'value':'x'}}")},
        {"n ALL < 5", MUST("{'key':'n','range':{'lt':5},'quantifier':'all'}")},
        {"n ALL = 1.5", MUST("{'key':'n','range':{'gte':1.5,'lte':1.5},'quantifier':'all'}")},
        {"n ALL != 1", MUST("{'key':'n','match':{'except':[1]},'quantifier':'all'}")},
        {"tags ALL IN (1,2)", MUST("{'key':'tags','match':{'any':[1,2]},'quantifier':'all'}")},
        {"tags ANY IN ('a','b')", MUST("{'key':'tags','match':{'any':['a','b']}}")},
        {"tags ALL NOT IN ('a')",
         MUST("{'key':'tags','match':{'except':['a']},'quantifier':'all'}")},
        {"n ALL BETWEEN 1 AND 2",
         MUST("{'key':'n','range':{'gte':1,'lte':2},'quantifier':'all'}")},
        {"s ALL MATCHES 'a'", MUST("{'key':'s','match':{'regex':'a'},'quantifier':'all'}")},
        {"t ALL > '2024-01-01'",
         MUST("{'key':'t','range':{'gt':'2024-01-01'},'quantifier':'all'}")},
    };
    RUN_OK(rows);
}

TEST(filter_text, precedence_and_grouping) {
    static const ok_row rows[] = {
        {"a = 1 AND b = 2", MUST(A1 "," B2)},
        {"a = 1 AND b = 2 AND c = 3", MUST(A1 "," B2 "," C3)},
        {"a = 1 OR b = 2", "{'should':[" A1 "," B2 "]}"},
        {"a = 1 OR b = 2 AND c = 3", "{'should':[" A1 ",{'must':[" B2 "," C3 "]}]}"},
        {"a = 1 AND b = 2 OR c = 3", "{'should':[{'must':[" A1 "," B2 "]}," C3 "]}"},
        {"(a = 1 OR b = 2) AND c = 3", "{'must':[{'should':[" A1 "," B2 "]}," C3 "]}"},
        {"a = 1 AND (b = 2 OR c = 3)", "{'must':[" A1 ",{'should':[" B2 "," C3 "]}]}"},
        {"((a = 1))", MUST(A1)},
        {"(a = 1) AND (b = 2)", MUST(A1 "," B2)},
        {"NOT a = 1", "{'must_not':[" A1 "]}"},
        {"NOT NOT a = 1", "{'must_not':[{'must_not':[" A1 "]}]}"},
        {"NOT a = 1 AND b = 2", MUST("{'must_not':[" A1 "]}," B2)},
        {"NOT (a = 1 AND b = 2)", "{'must_not':[{'must':[" A1 "," B2 "]}]}"},
        {"NOT (a = 1) OR b = 2", "{'should':[{'must_not':[" A1 "]}," B2 "]}"},
        {"a = 1 OR NOT b = 2 OR c = 3", "{'should':[" A1 ",{'must_not':[" B2 "]}," C3 "]}"},
        {"a IS NOT NULL AND b = 2", MUST("{'must_not':[{'is_null':{'key':'a'}}]}," B2)},
        {"HAS_ID('x') OR a = 1", "{'should':[{'has_id':['x']}," A1 "]}"},
        /* whitespace anywhere between tokens, none needed around punctuation */
        {"\n\ta\r\n=\t1  ", MUST(A1)},
        {"(a=1)AND(b=2)", MUST(A1 "," B2)},
    };
    RUN_OK(rows);
}

TEST(filter_text, paths) {
    static const ok_row rows[] = {
        {"meta.lang = 'en'", MUST("{'key':'meta.lang','match':{'value':'en'}}")},
        {"$.meta.lang MATCHES '^en'", MUST("{'key':'meta.lang','match':{'regex':'^en'}}")},
        {"meta.\"content-type\" = 'x'",
         MUST("{'key':'meta.\\'content-type\\'','match':{'value':'x'}}")},
        {"\"not\" = 1", MUST("{'key':'\\'not\\'','match':{'value':1}}")},
        {"\"a.b\"[0] = 1", MUST("{'key':'\\'a.b\\'[0]','match':{'value':1}}")},
        {"$.\"\" = 1", MUST("{'key':'\\'\\'','match':{'value':1}}")},
        {"a[2].b = 1", MUST("{'key':'a[2].b','match':{'value':1}}")},
        {"a[].b = 1", MUST("{'key':'a[].b','match':{'value':1}}")},
        {"a[0][1] = 1", MUST("{'key':'a[0][1]','match':{'value':1}}")},
        {"a [ 10 ] . b = 1", MUST("{'key':'a[10].b','match':{'value':1}}")},
        {"_x9.Y_ = 1", MUST("{'key':'_x9.Y_','match':{'value':1}}")},
        {"$ . a = 1", MUST("{'key':'a','match':{'value':1}}")},
    };
    RUN_OK(rows);
}

TEST(filter_text, strings_and_escapes) {
    static const ok_row rows[] = {
        {"a = 'it''s'", MUST("{'key':'a','match':{'value':'it`s'}}")},
        {"a = ''''", MUST("{'key':'a','match':{'value':'`'}}")},
        {"a = ''", MUST("{'key':'a','match':{'value':''}}")},
        {"a = 'say \"hi\"'", MUST("{'key':'a','match':{'value':'say \\'hi\\''}}")},
        {"a = 'C:\\dir\\'", MUST("{'key':'a','match':{'value':'C:\\\\dir\\\\'}}")},
        {"a = 'x\ty\nz\x01\x1f'",
         MUST("{'key':'a','match':{'value':'x\\u0009y\\u000az\\u0001\\u001f'}}")},
        {"a = 'del\x7f'", MUST("{'key':'a','match':{'value':'del\x7f'}}")},
        /* UTF-8 names and strings are copied as they are */
        {"gr\xc3\xb6\xc3\x9f" "e = 'na\xc3\xafve \xe2\x98\x83'",
         MUST("{'key':'gr\xc3\xb6\xc3\x9f" "e','match':{'value':'na\xc3\xafve \xe2\x98\x83'}}")},
        {"\xe5\x90\x8d\xe5\x89\x8d.x1 = '\xf0\x9f\x98\x80'",
         MUST("{'key':'\xe5\x90\x8d\xe5\x89\x8d.x1','match':{'value':'\xf0\x9f\x98\x80'}}")},
        {"meta.\"\xc3\xa9t\xc3\xa9\" IS NULL",
         MUST("{'is_null':{'key':'meta.\\'\xc3\xa9t\xc3\xa9\\''}}")},
    };
    RUN_OK(rows);
}

TEST(filter_text, keywords) {
    static const ok_row rows[] = {
        /* case-insensitive */
        {"a = 1 aNd b Is nOt NuLl oR c iN (3)",
         "{'should':[{'must':[" A1 ",{'must_not':[{'is_null':{'key':'b'}}]}]},"
         "{'key':'c','match':{'any':[3]}}]}"},
        {"tags all in ('x') and n between 1 And 2",
         MUST("{'key':'tags','match':{'any':['x']},'quantifier':'all'},"
              "{'key':'n','range':{'gte':1,'lte':2}}")},
        {"Len(a) = 1", MUST("{'key':'a','values_count':{'gte':1,'lte':1}}")},
        {"has_id(1) OR nested(x, a = True) or not a matches 'q' AND b contains any (1)",
         "{'should':[{'has_id':[1]},{'nested':{'key':'x','filter':" MUST(
             "{'key':'a','match':{'value':true}}") "}},{'must':[{'must_not':[{'key':'a',"
                                                   "'match':{'regex':'q'}}]},{'key':'b',"
                                                   "'match':{'any':[1]}}]}]}"},
        {"a is empty", MUST("{'is_empty':{'key':'a'}}")},
        /* keywords other than AND, OR, NOT are plain names where a path is expected */
        {"any = 1", MUST("{'key':'any','match':{'value':1}}")},
        {"any ANY = 1", MUST("{'key':'any','match':{'value':1}}")},
        {"all ALL = 1", MUST("{'key':'all','match':{'value':1},'quantifier':'all'}")},
        {"len = 2", MUST("{'key':'len','match':{'value':2}}")},
        {"len.x = 1 AND LEN(len) > 1",
         MUST("{'key':'len.x','match':{'value':1}},{'key':'len','values_count':{'gt':1}}")},
        {"nested = 1", MUST("{'key':'nested','match':{'value':1}}")},
        {"has_id IN ('x')", MUST("{'key':'has_id','match':{'any':['x']}}")},
        {"in = 1", MUST("{'key':'in','match':{'value':1}}")},
        {"is IS NULL", MUST("{'is_null':{'key':'is'}}")},
        {"true = true", MUST("{'key':'true','match':{'value':true}}")},
        {"between BETWEEN 1 AND 2", MUST("{'key':'between','range':{'gte':1,'lte':2}}")},
        {"a.any.len.contains = 1", MUST("{'key':'a.any.len.contains','match':{'value':1}}")},
        {"NOTE = 1 AND ORDER = 2 AND ANDY = 3",
         MUST("{'key':'NOTE','match':{'value':1}},{'key':'ORDER','match':{'value':2}},"
              "{'key':'ANDY','match':{'value':3}}")},
    };
    RUN_OK(rows);
}

TEST(filter_text, numbers_pass_through) {
    static const ok_row rows[] = {
        {"a = 123456789012345678901234567890",
         MUST("{'key':'a','match':{'value':123456789012345678901234567890}}")},
        {"a = 18446744073709551617", MUST("{'key':'a','match':{'value':18446744073709551617}}")},
        {"a < -99999999999999999999", MUST("{'key':'a','range':{'lt':-99999999999999999999}}")},
        {"a IN (9007199254740993, -9223372036854775809)",
         MUST("{'key':'a','match':{'any':[9007199254740993,-9223372036854775809]}}")},
        {"a = -0", MUST("{'key':'a','match':{'value':-0}}")},
        {"a < 1.7976931348623157e308", MUST("{'key':'a','range':{'lt':1.7976931348623157e308}}")},
        {"a > 1e-400", MUST("{'key':'a','range':{'gt':1e-400}}")},
        {"a > 0.000e99999", MUST("{'key':'a','range':{'gt':0.000e99999}}")},
    };
    RUN_OK(rows);
}

/* Asserts that text translates and that filter.h parses the result. */
static void accepts_both(const char *text, size_t len) {
    char *json = xlate_n(text, len);
    vs__filter *f = NULL;
    vs__err e = {0};
    int rc = vs__filter_parse(json, strlen(json), &f, &e);
    vs__filter_free(f);
    vs__free(json);
    ASSERT_MSG(rc == VS_OK, "%.*s: filter.h refuses the translation: %s", (int)len, text, e.msg);
}

TEST(filter_text, depth_limit) {
    char text[1024];
    size_t n = 0;
    /* 32 levels of parentheses pass, 33 do not; the error is at the 33rd '(' */
    for (int i = 0; i < 32; i++) text[n++] = '(';
    memcpy(text + n, "a = 1", 5), n += 5;
    for (int i = 0; i < 32; i++) text[n++] = ')';
    expect_json_n(text, n, MUST(A1));
    n = 0;
    for (int i = 0; i < 33; i++) text[n++] = '(';
    memcpy(text + n, "a = 1", 5), n += 5;
    for (int i = 0; i < 33; i++) text[n++] = ')';
    expect_err_n(text, n, 32, "nesting deeper than 32");
    /* NOT and NESTED count alike */
    n = 0;
    for (int i = 0; i < 32; i++) memcpy(text + n, "NOT ", 4), n += 4;
    memcpy(text + n, "a = 1", 5), n += 5;
    char *json = xlate_n(text, n);
    vs__free(json);
    n = 0;
    for (int i = 0; i < 33; i++) memcpy(text + n, "NOT ", 4), n += 4;
    memcpy(text + n, "a = 1", 5), n += 5;
    expect_err_n(text, n, 128, "nesting deeper");
    /* Filter objects nest deeper than the constructs when NOT, NESTED, IS NOT and
     * parenthesised AND/OR groups stack up; filter.h allows 32 levels (the root is level
     * 1). At 31 constructs both accept, at 32 the translation already refuses, at the
     * innermost filter object, so that no error comes back in JSON coordinates. */
    for (int lv = 31; lv <= 32; lv++) {
        n = 0;
        for (int i = 0; i < lv; i++) memcpy(text + n, "NOT ", 4), n += 4;
        memcpy(text + n, "a IS NOT NULL", 13), n += 13;
        if (lv == 31) accepts_both(text, n);
        else expect_err_n(text, n, 128, "filters nested deeper than 32 levels");
        n = 0;
        for (int i = 0; i < lv; i++) memcpy(text + n, "NESTED(x, ", 10), n += 10;
        memcpy(text + n, "a = 1", 5), n += 5;
        for (int i = 0; i < lv; i++) text[n++] = ')';
        if (lv == 31) accepts_both(text, n);
        else expect_err_n(text, n, 320, "filters nested deeper");
        n = 0;
        for (int i = 0; i < lv; i++) memcpy(text + n, "a = 1 AND (", 11), n += 11;
        memcpy(text + n, "a = 1 OR b = 2", 14), n += 14;
        for (int i = 0; i < lv; i++) text[n++] = ')';
        if (lv == 31) accepts_both(text, n);
        else expect_err_n(text, n, 352, "filters nested deeper");
    }
    n = 0;
    for (int i = 0; i < 16; i++) memcpy(text + n, "NOT (", 5), n += 5;
    memcpy(text + n, "NESTED(x, a = 1)", 16), n += 16;
    for (int i = 0; i < 16; i++) text[n++] = ')';
    expect_err_n(text, n, 80, "nesting deeper");
}

/* Bad inputs: the text, the byte of the error and a substring of its reason. */
typedef struct {
    const char *text;
    size_t at;
    const char *why;
} bad_row;

TEST(filter_text, errors) {
    static const bad_row rows[] = {
        {"", 0, "expected a condition, got the end of the text"},
        {"   ", 3, "expected a condition, got the end of the text"},
        {"a = 'abc", 4, "unterminated string"},
        {"a = 'it''", 4, "unterminated string"},
        {"\"abc = 1", 0, "unterminated quoted name"},
        {"(a = 1", 6, "expected AND, OR or ')', got the end of the text"},
        {"(a = 1 AND (b = 2)", 18, "expected AND, OR or ')'"},
        {"NESTED(x, a = 1", 15, "expected AND, OR or ')'"},
        {"a => 1", 2, "unknown operator '=>'"},
        {"a ! 1", 2, "unknown operator '!'"},
        {"a LIKE 'x'", 2, "unknown operator 'LIKE'"},
        {"a ~ 1", 2, "unexpected character '~'"},
        {"a = 1 ;", 6, "unexpected character ';'"},
        {"a IN (1, 2.5)", 9, "got the float '2.5'"},
        {"a NOT IN (1e2)", 10, "float"},
        {"tags CONTAINS ANY ('x', 0.5)", 24, "float"},
        {"a != 2.5", 5, "'!=' needs a string, an integer, TRUE or FALSE"},
        {"a <> 1e1", 5, "got the float '1e1'"},
        {"created >= '2024-02-30'", 20,
         "bad datetime '2024-02-30': day out of range for the month"},
        {"t < 'tomorrow'", 5, "bad datetime 'tomorrow'"},
        {"t BETWEEN '2024-01-01' AND '2024-13-01'", 33, "month out of range"},
        {"t > '2024-01-01 ''x'''", 16, "expected a two-digit hour"},
        {"a MATCHES 'a(b'", 14, "bad regex: missing closing parenthesis"},
        {"a MATCHES 'x''y[' AND b = 1", 16, "bad regex: missing terminating ]"},
        {"a MATCHES 'x(?<'", 15, "bad regex"},
        {"a = 1 b = 2", 6, "expected AND, OR or the end of the text, got 'b'"},
        {"a = 1)", 5, "expected AND, OR or the end of the text, got ')'"},
        {"a = 1 AND", 9, "expected a condition, got the end of the text"},
        {"a = 1 OR OR b = 1", 9, "expected a condition, got 'OR'"},
        {"AND = 1", 0, "expected a condition, got 'AND'"},
        {"a = 'x\xff'", 6, "invalid UTF-8 in a string"},
        {"a = '\xe2\x98'", 5, "invalid UTF-8 in a string"},
        {"a = '\xc0\x80'", 5, "invalid UTF-8"},    /* overlong */
        {"a = '\xed\xa0\x80'", 5, "invalid UTF-8"}, /* surrogate */
        {"a = '\xf4\x90\x80\x80'", 5, "invalid UTF-8"}, /* above U+10FFFF */
        {"x\xc3( = 1", 1, "invalid UTF-8 in a name"},
        {"\"a\x80\" = 1", 2, "invalid UTF-8 in a quoted name"},
        {"LEN(a) = 2.5", 9, "expected a non-negative integer after LEN(…) =, got '2.5'"},
        {"LEN(a) > -1", 9, "non-negative integer"},
        {"LEN(a) < 'x'", 9, "got the string 'x'"},
        {"LEN(a) BETWEEN 1 AND 2.5", 21, "non-negative integer after AND"},
        {"LEN(a) IS NULL", 7, "expected an operator or BETWEEN"},
        {"LEN(a = 1", 6, "expected ')' after LEN's path, got '='"},
        {"a = ", 4, "expected a value after '=', got the end of the text"},
        {"a < )", 4, "expected a value after '<', got ')'"},
        {"a < TRUE", 4, "expected a number or a datetime string after '<', got 'TRUE'"},
        {"a BETWEEN TRUE AND 1", 10, "number or a datetime string after BETWEEN"},
        {"a BETWEEN 1 AND '2024-01-01'", 16, "expected a number after AND"},
        {"a BETWEEN '2024-01-01' AND 2", 27, "expected a datetime string after AND"},
        {"a BETWEEN 1 OR 2", 12, "expected AND, got 'OR'"},
        {"a MATCHES 1", 10, "expected a string (the pattern) after MATCHES"},
        {"a CONTAINS ANY ()", 16, "CONTAINS ANY needs at least one value"},
        {"a CONTAINS ALL ()", 16, "CONTAINS ALL needs at least one value"},
        {"a CONTAINS 1", 11, "expected ANY, ALL or a string after CONTAINS"},
        {"a ALL CONTAINS 'x'", 6, "after ALL"},
        {"a ANY IS NULL", 6, "after ANY"},
        {"a IN 1", 5, "expected '(' after IN"},
        {"a IN (1 2)", 8, "expected ',' or ')' in the list, got '2'"},
        {"a IN (1,)", 8, "expected a value in the list, got ')'"},
        {"a NOT = 1", 6, "expected IN after NOT"},
        {"a IS 1", 5, "expected NULL or EMPTY after IS"},
        {"a IS NOT FALSE", 9, "expected NULL or EMPTY after IS NOT"},
        {"a", 1, "expected an operator after the path, got the end of the text"},
        {"a = 007", 4, "bad number '007': leading zeros"},
        {"a = 1.", 4, "expected a digit after '.'"},
        {"a = 1e", 4, "bad number '1e': expected a digit in the exponent"},
        {"a = 12abc", 4, "bad number '12abc'"},
        {"a = 1e999", 4, "out of range"},
        {"a = -1e400", 4, "out of range"},
        {"a = 2e308", 4, "out of range"},
        {"a = - 1", 4, "unexpected character '-'"},
        {"a.and = 1", 2, "got the keyword 'and' (quote it: \"and\")"},
        {"a.1 = 1", 2, "expected a name after '.', got '1'"},
        {"$a = 1", 1, "expected '.' after '$', got 'a'"},
        {"a[1.5] = 1", 2, "expected an array index (digits) or ']', got '1.5'"},
        {"a[-1] = 1", 2, "array index"},
        {"a[x] = 1", 2, "array index"},
        {"a[1 = 1", 4, "expected ']', got '='"},
        {"\"a\\b\" = 1", 2, "backslash in a quoted name"},
        {"\"a\tb\" = 1", 2, "control character in a quoted name"},
        {"HAS_ID()", 7, "expected an id (an unsigned integer or a string), got ')'"},
        {"HAS_ID(-1)", 7, "expected an id"},
        {"HAS_ID(1.0)", 7, "expected an id"},
        {"HAS_ID(1 2)", 9, "expected ',' or ')' in HAS_ID"},
        {"NESTED(x, HAS_ID(1))", 10, "HAS_ID cannot be used inside NESTED"},
        {"NESTED(x a = 1)", 9, "expected ',' after NESTED's path, got 'a'"},
        {"NESTED(, a = 1)", 7, "expected a name, got ','"},
        {"NOT", 3, "expected a condition"},
        {"()", 1, "expected a condition, got ')'"},
        {"'x' = 1", 0, "expected a condition, got the string 'x'"},
        {"a = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' x", 63,
         "got 'x'"},
        {"a = 1 bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb = 1", 6,
         "got 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb...'"},
        {"a = 1 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'", 6,
         "got the string 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa..."},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        expect_err(rows[i].text, rows[i].at, rows[i].why);
}

TEST(filter_text, errors_with_bytes) {
    /* a NUL byte: refused inside a string (the JSON side has no "\u0000"), and outside */
    expect_err_n("a = 'x\0y'", 9, 6, "NUL byte in a string");
    expect_err_n("a = 1\0", 6, 5, "unexpected byte 0x00");
    expect_err_n("a\x01 = 1", 6, 1, "unexpected byte 0x01");
    /* a found token is quoted with control and invalid bytes replaced, cut whole */
    expect_err("a = 1 \"x\x7fy\"", 6, "got '\"x?y\"'");
    expect_err("a = 1 \xe2\x98\x83\xe2\x98\x83\xe2\x98\x83\xe2\x98\x83\xe2\x98\x83\xe2\x98"
               "\x83\xe2\x98\x83\xe2\x98\x83\xe2\x98\x83\xe2\x98\x83\xe2\x98\x83",
               6, "got '\xe2\x98\x83\xe2\x98\x83\xe2\x98\x83\xe2\x98\x83\xe2\x98\x83\xe2\x98"
                  "\x83\xe2\x98\x83\xe2\x98\x83\xe2\x98\x83\xe2\x98\x83...'");
    /* NULL text is the empty text */
    char *json = (char *)1;
    vs__err e = {0};
    ASSERT_RC(vs__filter_text_to_json(NULL, 5, &json, NULL, &e), VS_EFILTER);
    ASSERT(json == NULL);
    ASSERT_CONTAINS(e.msg, "at byte 0: expected a condition");
    /* a NULL vs__err is allowed */
    ASSERT_RC(vs__filter_text_to_json("a =", 3, &json, NULL, NULL), VS_EFILTER);
    ASSERT(json == NULL);
}

TEST(filter_text, length_limit) {
    size_t n = VS__FILTER_TEXT_MAX + 1;
    char *big = malloc(n);
    ASSERT(big);
    /* the longest text allowed: one long string */
    memcpy(big, "a = '", 5);
    memset(big + 5, 'x', VS__FILTER_TEXT_MAX - 6);
    big[VS__FILTER_TEXT_MAX - 1] = '\'';
    char *json = xlate_n(big, VS__FILTER_TEXT_MAX);
    size_t frame = strlen(dq(MUST("{'key':'a','match':{'value':''}}")));
    ASSERT_EQ(strlen(json), VS__FILTER_TEXT_MAX - 6 + frame);
    vs__free(json);
    big[VS__FILTER_TEXT_MAX] = ' ';
    expect_err_n(big, n, VS__FILTER_TEXT_MAX, "the limit is");
    /* a long list, a long AND chain: no recursion, so no depth trouble */
    size_t k = 0;
    memcpy(big, "a IN (", 6), k = 6;
    for (int i = 0; i < 50000; i++) k += (size_t)sprintf(big + k, "%d,", i);
    big[k - 1] = ')';
    json = xlate_n(big, k);
    vs__free(json);
    k = 0;
    for (int i = 0; i < 20000; i++) k += (size_t)sprintf(big + k, "%sa = %d", i ? " AND " : "", i);
    json = xlate_n(big, k);
    ASSERT(strncmp(json, "{\"must\":[{\"key\":\"a\"", 19) == 0);
    vs__free(json);
    free(big);
}

/* The translation means what it says: filter.h parses it and evaluates it as the text
 * reads (only constructs whose semantics filter.h settles on its own are used). */
TEST(filter_text, round_trip_through_filter) {
    static const struct {
        const char *text, *payload;
        int want;
    } rows[] = {
        {"a = 'x' AND (b < 3 OR NOT c IN (1, 2))", "{\"a\":\"x\",\"b\":5,\"c\":3}", 1},
        {"a = 'x' AND (b < 3 OR NOT c IN (1, 2))", "{\"a\":\"x\",\"b\":5,\"c\":2}", 0},
        {"a = 'x' AND (b < 3 OR NOT c IN (1, 2))", "{\"a\":\"x\",\"b\":2,\"c\":2}", 1},
        {"n = 2.5", "{\"n\":2.5}", 1},
        {"n = 2.5", "{\"n\":2.6}", 0},
        {"n != 2 AND n BETWEEN 1 AND 3", "{\"n\":1}", 1},
        {"n != 2 AND n BETWEEN 1 AND 3", "{\"n\":2}", 0},
        {"m.x IS NULL OR m.y IS EMPTY", "{\"m\":{\"x\":null}}", 1},
        {"m.x IS NOT NULL", "{\"m\":{\"x\":null}}", 0},
        {"s = 'it''s \"q\" \\'", "{\"s\":\"it's \\\"q\\\" \\\\\"}", 1},
        {"HAS_ID(7, 'z')", "{}", 1},
        {"HAS_ID(8)", "{}", 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *json = xlate_n(rows[i].text, strlen(rows[i].text));
        vs__filter *f = NULL;
        vs__err e = {0};
        int rc = vs__filter_parse(json, strlen(json), &f, &e);
        if (rc != VS_OK) {
            char copy[512];
            snprintf(copy, sizeof copy, "%s", json);
            vs__free(json);
            vt_fail(__FILE__, __LINE__, "%s → %s: %s", rows[i].text, copy, e.msg);
        }
        vs__free(json);
        vs_id id = vs_id_num(7);
        vs__filter_ctx cx;
        vs__filter_ctx_init(&cx);
        int m = vs__filter_eval(f, &cx, rows[i].payload, strlen(rows[i].payload), &id, &e);
        vs__filter_ctx_release(&cx);
        vs__filter_free(f);
        ASSERT_MSG(m == rows[i].want, "%s on %s: %d", rows[i].text, rows[i].payload, m);
    }
}

TEST(filter_text, alloc_failure_sweep) {
    const char *text =
        "(a = 'x''y' OR b.\"c d\"[2] IN (1, 'z', TRUE)) AND NOT t >= '2024-01-01' AND "
        "s ALL MATCHES 'it''s \\d+' AND LEN(v[]) != 0 AND NESTED(items, p < 2.5 AND q IS "
        "NOT NULL) AND HAS_ID(3) AND w CONTAINS ALL ('k') AND u CONTAINS 'some words' OR "
        "n BETWEEN 1 AND 2";
    char *want = NULL, *json = NULL;
    size_t wl = 0, jl = 0;
    vs__err e = {0};
    ASSERT_OK(vs__filter_text_to_json(text, strlen(text), &want, &wl, &e));
    vs__regex_cache_clear(); /* so every round compiles the regexes again */
    int64_t base = vs__alloc_live();
    int steps = 0, bad_rc = 0, leaked = 0, done = 0, tolerated = 0;
    long bad_n = 0;
    /* Fail the n-th allocation for n = 1, 2, … until a run in which no n-th allocation
     * happened. A failure may be absorbed (the regex JIT falls back to the interpreter),
     * so a success does not end the sweep: later sites (buffer growth) come after. */
    for (int64_t n = 1; n < 1000 && !done; n++) {
        int64_t f0 = vs__alloc_failures();
        vs__alloc_fail_after(n);
        int rc = vs__filter_text_to_json(text, strlen(text), &json, &jl, &e);
        vs__alloc_fail_after(0);
        vs__regex_cache_clear();
        steps++;
        int injected = vs__alloc_failures() != f0;
        if (rc == VS_OK) {
            done = !injected;
            tolerated += injected;
            int same = jl == wl && memcmp(json, want, wl) == 0;
            vs__free(json);
            if (!same) {
                bad_rc = VS_EFILTER;
                bad_n = (long)n;
                break;
            }
        } else if (rc != VS_ENOMEM || json != NULL || !injected) {
            bad_rc = rc;
            bad_n = (long)n;
            break;
        }
        if (vs__alloc_live() != base) {
            leaked = 1;
            bad_n = (long)n;
            break;
        }
    }
    vs__free(want);
    ASSERT_MSG(!bad_rc, "allocation %ld failed: got %s (%s), want VS_ENOMEM or the same JSON",
               bad_n, vs_errname(bad_rc), e.msg);
    ASSERT_MSG(!leaked, "leak after failing allocation %ld", bad_n);
    ASSERT_MSG(done, "never succeeded within %d allocations", steps);
    ASSERT(steps > 3); /* the sweep did fail something: buffer growth and the regexes */
    vt_note("%d allocation sites swept (%d failures absorbed)", steps - 1, tolerated);
}
