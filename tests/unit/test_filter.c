/*
 * test_filter.c — the payload filter: parse errors, operator semantics, and a
 * differential test against a reference evaluator.
 *
 * The semantic tests pin down each rule of filter.h with a true and a false case. The
 * error tests assert the code and the path in the message for every way a filter can be
 * rejected, because a client fixing a filter only has the message to go on. The random
 * test compares the module with `ref_*` below, a deliberately naive evaluator that walks
 * the cJSON filter text directly (no compilation, no shared code), so a bug has to be
 * made twice, differently, to go unnoticed. The allocation sweep hooks cJSON into the
 * counting allocator so that cJSON's own leaks on an error path are caught as well.
 */
#include <cjson/cJSON.h>
#include <stdlib.h>

#include "query/filter.h"
#include "test.h"
#include "util/alloc.h"

/* Evaluates f on the payload given as a cJSON tree (printed to text, as stored). */
static int jmatch(const vs__filter *f, const cJSON *p, const vs_id *id) {
    char *t = p ? cJSON_PrintUnformatted(p) : NULL;
    vs__filter_ctx cx;
    vs__filter_ctx_init(&cx);
    vs__err e = {0};
    int m = vs__filter_eval(f, &cx, t, t ? strlen(t) : 0, id, &e);
    vs__filter_ctx_release(&cx);
    cJSON_free(t);
    return m;
}

/* Parses filter, evaluates it on the payload text for id, frees; asserts the parse
 * works. */
static int eval_id(const char *filter, const char *payload, const vs_id *id) {
    vs__filter *f = NULL;
    vs__err e = {0};
    int rc = vs__filter_parse(filter, strlen(filter), &f, &e);
    ASSERT_MSG(rc == VS_OK, "parse %s: %s: %s", filter, vs_errname(rc), e.msg);
    vs__filter_ctx cx;
    vs__filter_ctx_init(&cx);
    int m = vs__filter_eval(f, &cx, payload, payload ? strlen(payload) : 0, id, &e);
    vs__filter_ctx_release(&cx);
    vs__filter_free(f);
    return m;
}

/* A string id without the public vs_id_str, which lives in another module. */
static vs_id str_id(const char *s) {
    vs_id id = {VS_ID_STR, 0, s, (uint32_t)strlen(s)};
    return id;
}

static int eval(const char *filter, const char *payload) {
    vs_id id = vs_id_num(7);
    return eval_id(filter, payload, &id);
}

/* Parses filter expecting failure with code want and a message containing needle. */
static void expect_err(const char *filter, size_t len, int want, const char *needle) {
    vs__filter *f = NULL;
    vs__err e = {0};
    int rc = vs__filter_parse(filter, len, &f, &e);
    vs__filter_free(f);
    ASSERT_MSG(rc == want, "%s: got %s, want %s (%s)", filter, vs_errname(rc), vs_errname(want),
               e.msg);
    ASSERT_MSG(f == NULL, "%s: filter returned on error", filter);
    ASSERT_MSG(strstr(e.msg, needle), "%s: message \"%s\" lacks \"%s\"", filter, e.msg, needle);
}

#define MATCH(k, m) "{\"must\":[{\"key\":\"" k "\",\"match\":" m "}]}"
#define RANGE(k, r) "{\"must\":[{\"key\":\"" k "\",\"range\":" r "}]}"

TEST(filter, empty_inputs_mean_no_filter) {
    vs__filter *f = (vs__filter *)1;
    vs__err e = {0};
    ASSERT_OK(vs__filter_parse(NULL, 0, &f, &e));
    ASSERT(f == NULL);
    ASSERT_OK(vs__filter_parse("", 0, &f, &e));
    ASSERT(f == NULL);
    ASSERT_OK(vs__filter_parse(" \n\t ", 4, &f, &e));
    ASSERT(f == NULL);
    ASSERT_OK(vs__filter_parse(" null ", 6, &f, &e));
    ASSERT(f == NULL);
    ASSERT_EQ(jmatch(NULL, NULL, NULL), 1);
    ASSERT_EQ(vs__filter_needs_payload(NULL), 0);
    /* {} is a filter that matches everything, with or without a payload */
    ASSERT_OK(vs__filter_parse("{}", 2, &f, &e));
    ASSERT(f != NULL);
    ASSERT_EQ(jmatch(f, NULL, NULL), 1);
    ASSERT_EQ(vs__filter_needs_payload(f), 0);
    vs__filter_free(f);
    vs__filter_free(NULL);
}

TEST(filter, len_bounds_the_text) {
    /* Not NUL-terminated: the bytes after len must not be read as part of the filter. */
    const char buf[] = "{\"must\":[]}GARBAGE";
    vs__filter *f = NULL;
    vs__err e = {0};
    ASSERT_OK(vs__filter_parse(buf, 11, &f, &e));
    vs__filter_free(f);
    expect_err(buf, sizeof buf - 1, VS_EFILTER, "invalid JSON at byte 11");
    /* an embedded NUL inside len is text, and not JSON */
    expect_err("{}\0{}", 5, VS_EFILTER, "invalid JSON at byte 2");
}

TEST(filter, match_value_string_int_bool) {
    ASSERT_EQ(eval(MATCH("c", "{\"value\":\"red\"}"), "{\"c\":\"red\"}"), 1);
    ASSERT_EQ(eval(MATCH("c", "{\"value\":\"red\"}"), "{\"c\":\"blue\"}"), 0);
    ASSERT_EQ(eval(MATCH("c", "{\"value\":\"red\"}"), "{\"c\":\"redder\"}"), 0);
    ASSERT_EQ(eval(MATCH("c", "{\"value\":\"\"}"), "{\"c\":\"\"}"), 1);
    ASSERT_EQ(eval(MATCH("c", "{\"value\":\"é\"}"), "{\"c\":\"\\u00e9\"}"), 1);
    ASSERT_EQ(eval(MATCH("n", "{\"value\":3}"), "{\"n\":3}"), 1);
    ASSERT_EQ(eval(MATCH("n", "{\"value\":3}"), "{\"n\":4}"), 0);
    ASSERT_EQ(eval(MATCH("n", "{\"value\":-3}"), "{\"n\":-3}"), 1);
    ASSERT_EQ(eval(MATCH("b", "{\"value\":true}"), "{\"b\":true}"), 1);
    ASSERT_EQ(eval(MATCH("b", "{\"value\":true}"), "{\"b\":false}"), 0);
    ASSERT_EQ(eval(MATCH("b", "{\"value\":false}"), "{\"b\":false}"), 1);
    /* types never mix: "3" is not 3, true is not 1, 0 is not false */
    ASSERT_EQ(eval(MATCH("n", "{\"value\":3}"), "{\"n\":\"3\"}"), 0);
    ASSERT_EQ(eval(MATCH("n", "{\"value\":\"3\"}"), "{\"n\":3}"), 0);
    ASSERT_EQ(eval(MATCH("b", "{\"value\":true}"), "{\"b\":1}"), 0);
    ASSERT_EQ(eval(MATCH("b", "{\"value\":0}"), "{\"b\":false}"), 0);
    ASSERT_EQ(eval(MATCH("n", "{\"value\":1}"), "{\"n\":null}"), 0);
    ASSERT_EQ(eval(MATCH("n", "{\"value\":1}"), "{\"n\":{\"a\":1}}"), 0);
}

TEST(filter, numbers_compare_as_doubles) {
    ASSERT_EQ(eval(MATCH("n", "{\"value\":1}"), "{\"n\":1.0}"), 1);
    ASSERT_EQ(eval(MATCH("n", "{\"value\":1.0}"), "{\"n\":1}"), 1);
    ASSERT_EQ(eval(MATCH("n", "{\"value\":1}"), "{\"n\":1e0}"), 1);
    ASSERT_EQ(eval(MATCH("n", "{\"value\":1}"), "{\"n\":1.5}"), 0);
    ASSERT_EQ(eval(MATCH("n", "{\"any\":[1,2]}"), "{\"n\":2.0}"), 1);
    ASSERT_EQ(eval(RANGE("n", "{\"gte\":1}"), "{\"n\":1.0}"), 1);
    ASSERT_EQ(eval(RANGE("n", "{\"gt\":1.0}"), "{\"n\":1}"), 0);
}

TEST(filter, match_arrays_in_payload) {
    const char *p = "{\"tags\":[\"a\",\"b\",3,true]}";
    ASSERT_EQ(eval(MATCH("tags", "{\"value\":\"b\"}"), p), 1);
    ASSERT_EQ(eval(MATCH("tags", "{\"value\":3}"), p), 1);
    ASSERT_EQ(eval(MATCH("tags", "{\"value\":true}"), p), 1);
    ASSERT_EQ(eval(MATCH("tags", "{\"value\":\"c\"}"), p), 0);
    ASSERT_EQ(eval(MATCH("tags", "{\"value\":\"a\"}"), "{\"tags\":[]}"), 0);
    /* one level only: arrays inside arrays are values, not sets */
    ASSERT_EQ(eval(MATCH("tags", "{\"value\":\"a\"}"), "{\"tags\":[[\"a\"]]}"), 0);
    ASSERT_EQ(eval(RANGE("tags", "{\"gt\":2}"), p), 1);
    ASSERT_EQ(eval(RANGE("tags", "{\"gt\":3}"), p), 0);
}

TEST(filter, match_any_and_except) {
    ASSERT_EQ(eval(MATCH("c", "{\"any\":[\"red\",\"green\"]}"), "{\"c\":\"green\"}"), 1);
    ASSERT_EQ(eval(MATCH("c", "{\"any\":[\"red\",\"green\"]}"), "{\"c\":\"blue\"}"), 0);
    ASSERT_EQ(eval(MATCH("c", "{\"any\":[1,\"x\",false]}"), "{\"c\":false}"), 1);
    ASSERT_EQ(eval(MATCH("c", "{\"any\":[]}"), "{\"c\":\"red\"}"), 0);
    ASSERT_EQ(eval(MATCH("c", "{\"any\":[\"red\"]}"), "{\"c\":[\"blue\",\"red\"]}"), 1);
    ASSERT_EQ(eval(MATCH("c", "{\"any\":[\"red\"]}"), "{}"), 0);
    ASSERT_EQ(eval(MATCH("c", "{\"except\":[\"red\",\"green\"]}"), "{\"c\":\"blue\"}"), 1);
    ASSERT_EQ(eval(MATCH("c", "{\"except\":[\"red\",\"green\"]}"), "{\"c\":\"red\"}"), 0);
    ASSERT_EQ(eval(MATCH("c", "{\"except\":[]}"), "{\"c\":\"red\"}"), 1);
    ASSERT_EQ(eval(MATCH("c", "{\"except\":[1]}"), "{\"c\":\"1\"}"), 1);
    /* array: some element outside the set */
    ASSERT_EQ(eval(MATCH("c", "{\"except\":[\"red\"]}"), "{\"c\":[\"red\",\"blue\"]}"), 1);
    ASSERT_EQ(eval(MATCH("c", "{\"except\":[\"red\"]}"), "{\"c\":[\"red\",\"red\"]}"), 0);
    /* a condition on a missing (or null, or []) field is false, except included */
    ASSERT_EQ(eval(MATCH("c", "{\"except\":[\"red\"]}"), "{}"), 0);
    ASSERT_EQ(eval(MATCH("c", "{\"except\":[\"red\"]}"), "{\"c\":null}"), 0);
    ASSERT_EQ(eval(MATCH("c", "{\"except\":[\"red\"]}"), "{\"c\":[]}"), 0);
    ASSERT_EQ(eval(MATCH("c", "{\"except\":[\"red\"]}"), "{\"c\":{}}"), 0);
}

TEST(filter, range_bounds) {
    const char *p5 = "{\"n\":5}";
    ASSERT_EQ(eval(RANGE("n", "{\"gt\":4}"), p5), 1);
    ASSERT_EQ(eval(RANGE("n", "{\"gt\":5}"), p5), 0);
    ASSERT_EQ(eval(RANGE("n", "{\"gte\":5}"), p5), 1);
    ASSERT_EQ(eval(RANGE("n", "{\"gte\":5.0001}"), p5), 0);
    ASSERT_EQ(eval(RANGE("n", "{\"lt\":6}"), p5), 1);
    ASSERT_EQ(eval(RANGE("n", "{\"lt\":5}"), p5), 0);
    ASSERT_EQ(eval(RANGE("n", "{\"lte\":5}"), p5), 1);
    ASSERT_EQ(eval(RANGE("n", "{\"lte\":4.9}"), p5), 0);
    ASSERT_EQ(eval(RANGE("n", "{\"gt\":1,\"lt\":10}"), p5), 1);
    ASSERT_EQ(eval(RANGE("n", "{\"gt\":6,\"lt\":10}"), p5), 0);
    ASSERT_EQ(eval(RANGE("n", "{\"gte\":5,\"lte\":5}"), p5), 1);
    ASSERT_EQ(eval(RANGE("n", "{\"gt\":-1e308}"), "{\"n\":-1.5}"), 1);
    /* null bounds are absent bounds (Qdrant clients send them); no bound: any number */
    ASSERT_EQ(eval(RANGE("n", "{\"gt\":null,\"lt\":6}"), p5), 1);
    ASSERT_EQ(eval(RANGE("n", "{}"), p5), 1);
    ASSERT_EQ(eval(RANGE("n", "{}"), "{\"n\":\"5\"}"), 0);
    /* numbers only */
    ASSERT_EQ(eval(RANGE("n", "{\"gt\":0}"), "{\"n\":\"5\"}"), 0);
    ASSERT_EQ(eval(RANGE("n", "{\"gt\":0}"), "{\"n\":true}"), 0);
    ASSERT_EQ(eval(RANGE("n", "{\"gt\":0}"), "{\"n\":null}"), 0);
    ASSERT_EQ(eval(RANGE("n", "{\"gt\":0}"), "{}"), 0);
    ASSERT_EQ(eval(RANGE("n", "{\"gt\":0}"), NULL), 0);
}

TEST(filter, has_id) {
    vs_id n7 = vs_id_num(7), n8 = vs_id_num(8), big = vs_id_num(9007199254740991ull);
    vs_id s = str_id("abc"), s2 = str_id("abd"), s1 = str_id("1");
    const char *f = "{\"must\":[{\"has_id\":[1,7,\"abc\",9007199254740991]}]}";
    ASSERT_EQ(eval_id(f, NULL, &n7), 1);
    ASSERT_EQ(eval_id(f, NULL, &n8), 0);
    ASSERT_EQ(eval_id(f, NULL, &big), 1);
    ASSERT_EQ(eval_id(f, NULL, &s), 1);
    ASSERT_EQ(eval_id(f, NULL, &s2), 0);
    ASSERT_EQ(eval_id(f, NULL, &s1), 0); /* "1" is not 1 */
    ASSERT_EQ(eval_id(f, NULL, NULL), 0);
    /* a string id compares all its bytes, not up to a NUL */
    vs_id raw = {VS_ID_STR, 0, "abcd", 3};
    ASSERT_EQ(eval_id(f, NULL, &raw), 1);
    raw.len = 4;
    ASSERT_EQ(eval_id(f, NULL, &raw), 0);
    ASSERT_EQ(eval_id("{\"must\":[{\"has_id\":[]}]}", NULL, &n7), 0);
    ASSERT_EQ(eval_id("{\"must_not\":[{\"has_id\":[7]}]}", NULL, &n7), 0);
    ASSERT_EQ(eval_id("{\"must_not\":[{\"has_id\":[7]}]}", NULL, &n8), 1);
    /* has_id alone needs no payload */
    vs__filter *flt;
    vs__err e;
    ASSERT_OK(vs__filter_parse(f, strlen(f), &flt, &e));
    ASSERT_EQ(vs__filter_needs_payload(flt), 0);
    vs__filter_free(flt);
    const char *g = "{\"should\":[{\"has_id\":[1]},{\"is_null\":{\"key\":\"a\"}}]}";
    ASSERT_OK(vs__filter_parse(g, strlen(g), &flt, &e));
    ASSERT_EQ(vs__filter_needs_payload(flt), 1);
    vs__filter_free(flt);
}

TEST(filter, is_empty_and_is_null) {
    const char *ie = "{\"must\":[{\"is_empty\":{\"key\":\"x\"}}]}";
    const char *in = "{\"must\":[{\"is_null\":{\"key\":\"x\"}}]}";
    ASSERT_EQ(eval(ie, "{}"), 1);
    ASSERT_EQ(eval(ie, NULL), 1);
    ASSERT_EQ(eval(ie, "{\"x\":null}"), 1);
    ASSERT_EQ(eval(ie, "{\"x\":[]}"), 1);
    ASSERT_EQ(eval(ie, "{\"x\":[null]}"), 0);
    ASSERT_EQ(eval(ie, "{\"x\":0}"), 0);
    ASSERT_EQ(eval(ie, "{\"x\":\"\"}"), 0);
    ASSERT_EQ(eval(ie, "{\"x\":{}}"), 0);
    ASSERT_EQ(eval(in, "{\"x\":null}"), 1);
    ASSERT_EQ(eval(in, "{}"), 0);
    ASSERT_EQ(eval(in, "{\"x\":[]}"), 0);
    ASSERT_EQ(eval(in, "{\"x\":[null]}"), 0);
    ASSERT_EQ(eval(in, "{\"x\":0}"), 0);
}

TEST(filter, nested_paths) {
    const char *p = "{\"a\":{\"b\":{\"c\":\"deep\",\"n\":2},\"arr\":[{\"c\":\"x\"}]},"
                    "\"a.b\":\"flat\"}";
    ASSERT_EQ(eval(MATCH("a.b.c", "{\"value\":\"deep\"}"), p), 1);
    ASSERT_EQ(eval(MATCH("a.b.c", "{\"value\":\"other\"}"), p), 0);
    ASSERT_EQ(eval(RANGE("a.b.n", "{\"gte\":2}"), p), 1);
    /* a dotted key walks objects; it never matches a literal "a.b" key */
    ASSERT_EQ(eval(MATCH("a.b", "{\"value\":\"flat\"}"), p), 0);
    /* through a non-object, or through an array without [] or [n]: missing */
    ASSERT_EQ(eval(MATCH("a.b.c.d", "{\"value\":\"deep\"}"), p), 0);
    ASSERT_EQ(eval(MATCH("a.arr.c", "{\"value\":\"x\"}"), p), 0);
    ASSERT_EQ(eval("{\"must\":[{\"is_empty\":{\"key\":\"a.b.zz\"}}]}", p), 1);
    ASSERT_EQ(eval("{\"must\":[{\"is_empty\":{\"key\":\"a.b\"}}]}", p), 0);
    /* keys are case-sensitive */
    ASSERT_EQ(eval(MATCH("A.b.c", "{\"value\":\"deep\"}"), p), 0);
    /* a payload that is not an object has no fields */
    ASSERT_EQ(eval(MATCH("a", "{\"value\":1}"), "[1]"), 0);
}

TEST(filter, must_should_must_not) {
    const char *p = "{\"c\":\"red\",\"n\":5}";
#define RED "{\"key\":\"c\",\"match\":{\"value\":\"red\"}}"
#define BLUE "{\"key\":\"c\",\"match\":{\"value\":\"blue\"}}"
#define BIG "{\"key\":\"n\",\"range\":{\"gt\":3}}"
    ASSERT_EQ(eval("{\"must\":[" RED "," BIG "]}", p), 1);
    ASSERT_EQ(eval("{\"must\":[" RED "," BLUE "]}", p), 0);
    ASSERT_EQ(eval("{\"should\":[" BLUE "," BIG "]}", p), 1);
    ASSERT_EQ(eval("{\"should\":[" BLUE "]}", p), 0);
    ASSERT_EQ(eval("{\"must_not\":[" BLUE "]}", p), 1);
    ASSERT_EQ(eval("{\"must_not\":[" BLUE "," RED "]}", p), 0);
    ASSERT_EQ(eval("{\"must\":[" RED "],\"must_not\":[" BLUE "],\"should\":[" BIG "]}", p), 1);
    ASSERT_EQ(eval("{\"must\":[" RED "],\"must_not\":[" BIG "]}", p), 0);
    ASSERT_EQ(eval("{\"must\":[" RED "],\"should\":[" BLUE "]}", p), 0);
    /* a single condition may stand in for a one-element array */
    ASSERT_EQ(eval("{\"must\":" RED "}", p), 1);
    ASSERT_EQ(eval("{\"must_not\":" RED "}", p), 0);
    ASSERT_EQ(eval("{\"should\":" BLUE "}", p), 0);
    /* empty clauses: must [] and must_not [] are true; should [] has no match (Qdrant) */
    ASSERT_EQ(eval("{\"must\":[],\"must_not\":[]}", p), 1);
    ASSERT_EQ(eval("{\"should\":[]}", p), 0);
    /* null clauses are absent */
    ASSERT_EQ(eval("{\"should\":null,\"must\":null,\"must_not\":null}", p), 1);
    /* nesting: (c=blue OR n>3) AND NOT (c=red AND n>3) */
    ASSERT_EQ(eval("{\"must\":[{\"should\":[" BLUE "," BIG "]},{\"must_not\":[{\"must\":[" RED
                   "," BIG "]}]}]}",
                   p),
              0);
    ASSERT_EQ(eval("{\"must\":[{\"should\":[" BLUE "," BIG "]},{\"must_not\":[{\"must\":[" RED
                   "," BIG "]}]}]}",
                   "{\"c\":\"blue\",\"n\":5}"),
              1);
    ASSERT_EQ(eval("{\"must\":[{}]}", p), 1);
    ASSERT_EQ(eval("{\"must_not\":[{}]}", p), 0);
#undef RED
#undef BLUE
#undef BIG
}

/* {"must":[{"must":[ ... {"key":"a","match":{"value":1}} ... ]}]} with `levels` filters. */
static char *nested_filter(int levels) {
    size_t cap = (size_t)levels * 16 + 64;
    char *s = malloc(cap), *p = s;
    for (int i = 0; i < levels; i++) p += sprintf(p, "{\"must\":[");
    p += sprintf(p, "{\"key\":\"a\",\"match\":{\"value\":1}}");
    for (int i = 0; i < levels; i++) p += sprintf(p, "]}");
    return s;
}

TEST(filter, depth_limit_is_32) {
    char *ok = nested_filter(32), *bad = nested_filter(33);
    ASSERT_EQ(eval(ok, "{\"a\":1}"), 1);
    ASSERT_EQ(eval(ok, "{\"a\":2}"), 0);
    vs__filter *f = NULL;
    vs__err e = {0};
    int rc = vs__filter_parse(bad, strlen(bad), &f, &e);
    free(ok);
    free(bad);
    ASSERT_RC(rc, VS_EFILTER);
    ASSERT_CONTAINS(e.msg, "nested deeper than 32");
    ASSERT_CONTAINS(e.msg, "must[0].must[0].must[0]");
    /* far deeper JSON is refused by the scanner before cJSON recurses into it */
    char *deep = malloc(200001);
    memset(deep, '[', 100000);
    memset(deep + 100000, ']', 100000);
    deep[200000] = 0;
    rc = vs__filter_parse(deep, 200000, &f, &e);
    free(deep);
    ASSERT_RC(rc, VS_EFILTER);
    ASSERT_CONTAINS(e.msg, "nested too deeply");
}

TEST(filter, parse_errors_name_the_path) {
    static const struct {
        const char *json, *needle;
    } cases[] = {
        {"[]", "filter: expected an object, got an array"},
        {"\"x\"", "filter: expected an object, got a string"},
        {"{\"must\":5}", "must: expected an array of conditions or a condition, got a number"},
        {"{\"must\":\"x\"}", "must: expected an array"},
        {"{\"foo\":[]}", "filter: unknown key 'foo'"},
        {"{\"Must\":[]}", "filter: unknown key 'Must'"},
        {"{\"key\":\"a\",\"match\":{\"value\":1}}", "conditions go inside"},
        {"{\"min_should\":{}}", "min_should: missing 'conditions'"},
        {"{\"min_should\":{\"conditions\":[]}}", "min_should: missing 'min_count'"},
        {"{\"min_should\":{\"conditions\":[],\"min_count\":-1}}",
         "min_should.min_count: expected a non-negative integer"},
        {"{\"min_should\":{\"conditions\":[5],\"min_count\":1}}",
         "min_should.conditions[0]: expected a condition object"},
        {"{\"must\":[],\"must\":[]}", "filter: duplicate key 'must'"},
        {"{\"must\":[5]}", "must[0]: expected a condition object, got a number"},
        {"{\"must\":[null]}", "must[0]: expected a condition object, got null"},
        {"{\"must\":[{\"nested\":{}}]}", "must[0].nested: missing 'key'"},
        {"{\"must\":[{\"nested\":{\"key\":\"a\"}}]}", "must[0].nested: missing 'filter'"},
        {"{\"must\":[{\"nested\":{\"key\":\"a\",\"filter\":{\"must\":{\"has_id\":[1]}}}}]}",
         "must[0].nested.filter.must: has_id cannot be used inside nested"},
        {"{\"must\":[{\"nested\":{\"key\":\"a\",\"filter\":[]}}]}",
         "must[0].nested.filter: expected an object, got an array"},
        {"{\"must\":[{\"key\":\"a\",\"match\":{\"value\":1}},{\"key\":\"b\",\"range\":{\"gte\":"
         "\"5\"}}]}",
         "must[1].range.gte: bad datetime '5'"},
        {RANGE("a", "{\"gt\":1,\"lt\":\"2024-01-01\"}"), "must[0].range.lt: bounds mix numbers"},
        {RANGE("a", "{\"gt\":\"2024-02-30\"}"), "day out of range"},
        {RANGE("a", "{\"lt\":1e999}"), "must[0].range.lt: expected a finite number"},
        {RANGE("a", "{\"gt\":true}"),
         "must[0].range.gt: expected a number or a datetime string, got a boolean (at byte 34)"},
        {RANGE("a", "{\"gt\":1,\"foo\":2}"), "must[0].range: unknown key 'foo'"},
        {RANGE("a", "{\"gt\":1,\"gt\":2}"), "must[0].range: duplicate key 'gt'"},
        {RANGE("a", "[1]"), "must[0].range: expected an object, got an array"},
        {MATCH("", "{\"value\":1}"), "must[0].key: empty key"},
        {MATCH("a..b", "{\"value\":1}"), "must[0].key: empty component"},
        {MATCH(".a", "{\"value\":1}"), "must[0].key: empty component"},
        {MATCH("a.", "{\"value\":1}"), "must[0].key: empty component"},
        {MATCH("a[", "{\"value\":1}"), "must[0].key: bad array index"},
        {MATCH("a[x]", "{\"value\":1}"), "must[0].key: bad array index"},
        {MATCH("a[99999999999]", "{\"value\":1}"), "must[0].key: bad array index"},
        {MATCH("a]", "{\"value\":1}"), "must[0].key: unexpected ']'"},
        {MATCH("[0]", "{\"value\":1}"), "must[0].key: empty component"},
        {MATCH("a.\\\"b", "{\"value\":1}"), "must[0].key: unterminated quote"},
        {MATCH("$.", "{\"value\":1}"), "must[0].key: empty component"},
        {"{\"must\":[{\"key\":5,\"match\":{\"value\":1}}]}", "must[0].key: expected a string"},
        {"{\"must\":[{\"match\":{\"value\":1}}]}", "must[0]: missing 'key'"},
        {"{\"must\":[{\"key\":\"a\"}]}", "must[0]: expected 'match', 'range', 'values_count', 'geo_radius'"},
        {"{\"must\":[{\"key\":\"a\",\"values_count\":{\"gt\":1.5}}]}",
         "must[0].values_count.gt: expected a non-negative integer"},
        {"{\"must\":[{\"key\":\"a\",\"values_count\":{\"gt\":1},\"quantifier\":\"all\"}]}",
         "must[0].quantifier: a quantifier does not apply to values_count"},
        {"{\"must\":[{\"key\":\"a\",\"match\":{\"value\":1},\"quantifier\":\"most\"}]}",
         "must[0].quantifier: expected \"any\" or \"all\""},
        {"{\"must\":[{\"key\":\"a\",\"match\":{\"contains_all\":[1]},\"quantifier\":\"all\"}]}",
         "a quantifier does not apply to contains_all"},
        {MATCH("a", "{\"contains_all\":[]}"), "must[0].match.contains_all: an empty list"},
        {MATCH("a", "{\"text\":\" ,; \"}"), "must[0].match.text: a text match needs at least"},
        {MATCH("a", "{\"text\":5}"), "must[0].match.text: expected a string"},
        {MATCH("a", "{\"regex\":\"(a\"}"), "must[0].match.regex: bad regex at offset 2"},
        {"{\"must\":[{\"key\":\"a\",\"match\":{\"value\":1},\"range\":{}}]}", "cannot be combined"},
        {"{\"must\":[{\"key\":\"a\",\"foo\":1}]}", "must[0]: unknown key 'foo' in a field"},
        {"{\"must\":[{\"key\":\"a\",\"key\":\"b\",\"match\":{\"value\":1}}]}",
         "must[0]: duplicate key 'key'"},
        {MATCH("a", "{\"valu\":1}"), "must[0].match: unknown key 'valu'"},
        {MATCH("a", "{}"), "must[0].match: expected one of"},
        {MATCH("a", "{\"value\":1,\"any\":[1]}"), "must[0].match: expected exactly one"},
        {MATCH("a", "[]"), "must[0].match: expected an object"},
        {MATCH("a", "{\"value\":1.5}"), "must[0].match.value: expected a string, an integer or a "
                                        "boolean, got a non-integral number"},
        {MATCH("a", "{\"value\":null}"), "must[0].match.value: expected a string, an integer or "
                                         "a boolean, got null"},
        {MATCH("a", "{\"value\":[1]}"), "must[0].match.value: expected a string, an integer or "
                                        "a boolean, got an array"},
        {MATCH("a", "{\"value\":{}}"), "got an object"},
        {MATCH("a", "{\"any\":\"x\"}"), "must[0].match.any: expected an array, got a string"},
        {MATCH("a", "{\"any\":[\"x\",{}]}"), "must[0].match.any[1]: expected a string"},
        {MATCH("a", "{\"except\":[1,2,0.5]}"), "must[0].match.except[2]: expected a string"},
        {"{\"must\":[{\"has_id\":1}]}", "must[0].has_id: expected an array of ids, got a number"},
        {"{\"must\":[{\"has_id\":[1,\"x\",-1]}]}", "must[0].has_id[2]: expected an unsigned"},
        {"{\"must\":[{\"has_id\":[1.5]}]}", "must[0].has_id[0]: expected an unsigned"},
        {"{\"must\":[{\"has_id\":[true]}]}", "must[0].has_id[0]: expected an unsigned integer or "
                                              "a string id, got a boolean"},
        {"{\"must\":[{\"has_id\":[\"\"]}]}", "must[0].has_id[0]: string id of 0 bytes"},
        {"{\"must\":[{\"has_id\":[18446744073709551616]}]}", "must[0].has_id[0]: expected an "
                                                               "unsigned integer id below 2^64"},
        {"{\"must\":[{\"has_id\":[1e300]}]}", "below 2^64"},
        {"{\"must\":[{\"has_id\":[1],\"is_null\":{\"key\":\"a\"}}]}",
         "must[0]: unknown key 'is_null' next to 'has_id'"},
        {"{\"must\":[{\"is_empty\":\"a\"}]}", "must[0].is_empty: expected an object, got a string"},
        {"{\"must\":[{\"is_empty\":{}}]}", "must[0].is_empty: missing 'key'"},
        {"{\"must\":[{\"is_null\":{\"key\":\"a\",\"x\":1}}]}", "must[0].is_null: unknown key 'x'"},
        {"{\"must\":[{\"is_null\":{\"key\":\"\"}}]}", "must[0].is_null.key: empty key"},
        {"{\"must\":[{\"is_null\":{\"key\":[]}}]}", "must[0].is_null.key: expected a string"},
        {"{\"should\":[{\"must\":[{\"key\":\"a\",\"range\":{\"gt\":\"x\"}}]}]}",
         "should[0].must[0].range.gt: bad datetime 'x': expected a four-digit year"},
        {"{\"must_not\":{\"key\":\"a\",\"match\":{\"value\":{}}}}", "must_not.match.value: "},
        {"{\"must\":[],\"a\":1,\"b\":1,\"c\":1,\"d\":1,\"e\":1,\"f\":1,\"g\":1,\"h\":1}",
         "filter: an object with 9 keys"},
        {"{\"m\\u0075st\":[],\"must\":[]}", "filter: duplicate key 'must'"},
        {"{\"must\":[{\"must_not\":[{},{\"should\":[{\"foo\":1}]}]}]}",
         "must[0].must_not[1].should[0]: unknown key 'foo'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_err(cases[i].json, strlen(cases[i].json), VS_EFILTER, cases[i].needle);
    /* a 257-byte string id */
    char buf[400];
    char id[258];
    memset(id, 'x', 257);
    id[257] = 0;
    snprintf(buf, sizeof buf, "{\"must\":[{\"has_id\":[\"%s\"]}]}", id);
    expect_err(buf, strlen(buf), VS_EFILTER, "must[0].has_id[0]: string id of 257 bytes");
    id[256] = 0;
    snprintf(buf, sizeof buf, "{\"must\":[{\"has_id\":[\"%s\"]}]}", id);
    vs_id sid = {VS_ID_STR, 0, id, 256};
    ASSERT_EQ(eval_id(buf, NULL, &sid), 1);
}

TEST(filter, bad_json_reports_the_offset) {
    static const struct {
        const char *json, *needle;
    } cases[] = {
        {"{", "invalid JSON at byte 1: expected a string key"},
        {"{\"must\":[}", "invalid JSON at byte 9: unexpected character"},
        {"{\"must\":[]} x", "invalid JSON at byte 12: unexpected text after the value"},
        {"{\"must\":[]}}", "invalid JSON at byte 11"},
        {"{\"must\":[],}", "invalid JSON at byte 11: expected a string key"},
        {"{'must':[]}", "invalid JSON at byte 1"},
        {"{\"must\" []}", "invalid JSON at byte 8: expected ':'"},
        {"{\"must\":[1 2]}", "invalid JSON at byte 11: expected ',' or ']'"},
        {"{\"a\":01}", "invalid JSON at byte 6: expected ',' or '}'"},
        {"{\"a\":1.}", "invalid JSON at byte 7: expected a digit"},
        {"{\"a\":-}", "invalid JSON at byte 6: expected a digit"},
        {"{\"a\":1e}", "invalid JSON at byte 7: expected a digit"},
        {"{\"a\":+1}", "invalid JSON at byte 5"},
        {"{\"a\":.5}", "invalid JSON at byte 5"},
        {"{\"a\":tru}", "invalid JSON at byte 5"},
        {"{\"a\":nul", "invalid JSON at byte 5"},
        {"{\"a\":\"x}", "unterminated string"},
        {"{\"a\":\"\\q\"}", "invalid JSON at byte 7: bad escape"},
        {"{\"a\":\"\\u00zz\"}", "bad hex digit"},
        {"{\"a\":\"\\u0000\"}", "\\u0000 is not supported"},
        {"{\"a\":\"\\ud800\"}", "lone high surrogate"},
        {"{\"a\":\"\\udc00\"}", "lone low surrogate"},
        {"{\"a\":\"\\ud800\\u0041\"}", "lone high surrogate"},
        {"{\"a\":\"x\ty\"}", "invalid JSON at byte 7: control character"},
        {"{\"a\":\"\xff\"}", "invalid JSON at byte 6: invalid UTF-8"},
        {"{\"a\":\"\xc0\xaf\"}", "invalid UTF-8"},     /* overlong '/' */
        {"{\"a\":\"\xed\xa0\x80\"}", "invalid UTF-8"}, /* encoded surrogate */
        {"{\"a\":\"\xe2\x82\"}", "invalid UTF-8"},     /* cut short */
        {"\xef\xbb\xbf{}", "invalid JSON at byte 0"},  /* no BOM */
        {"{\"must\":", "invalid JSON at byte 8: unexpected end"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_err(cases[i].json, strlen(cases[i].json), VS_EFILTER, cases[i].needle);
    /* valid escapes and multi-byte UTF-8 pass, and compare as decoded */
    ASSERT_EQ(eval(MATCH("a", "{\"value\":\"\\ud83d\\ude00\\n\\/\"}"),
                   "{\"a\":\"\xf0\x9f\x98\x80\\n/\"}"),
              1);
}

/* ------------------------------------------------ the extended language ---- */

#define FIELD(k, op) "{\"must\":[{\"key\":\"" k "\"," op "}]}"

TEST(filter, array_paths_and_quoted_keys) {
    const char *p = "{\"a\":[{\"b\":1,\"c\":[\"x\",\"y\"]},{\"b\":2},{\"b\":[3,4]}],"
                    "\"m\":[[1,2],[3]],\"a.b\":\"dot\",\"k\":{\"x.y\":{\"z\":5}},"
                    "\"\xc3\xa9t\xc3\xa9\":\"summer\",\"e\\u0073c\":7}";
    ASSERT_EQ(eval(MATCH("a[0].b", "{\"value\":1}"), p), 1);
    ASSERT_EQ(eval(MATCH("a[1].b", "{\"value\":1}"), p), 0);
    ASSERT_EQ(eval(MATCH("a[1].b", "{\"value\":2}"), p), 1);
    ASSERT_EQ(eval(MATCH("a[9].b", "{\"value\":2}"), p), 0);
    ASSERT_EQ(eval(MATCH("a[].b", "{\"value\":2}"), p), 1);
    ASSERT_EQ(eval(MATCH("a[].b", "{\"value\":4}"), p), 1); /* the terminal array flattens */
    ASSERT_EQ(eval(MATCH("a[].c", "{\"value\":\"y\"}"), p), 1);
    ASSERT_EQ(eval(MATCH("a[0].c[1]", "{\"value\":\"y\"}"), p), 1);
    ASSERT_EQ(eval(MATCH("a[0].c[0]", "{\"value\":\"y\"}"), p), 0);
    ASSERT_EQ(eval(MATCH("m[]", "{\"value\":3}"), p), 1);  /* m[] gives [1,2] and [3] */
    ASSERT_EQ(eval(MATCH("m", "{\"value\":3}"), p), 0);    /* m's values are two arrays */
    ASSERT_EQ(eval(MATCH("m[1][0]", "{\"value\":3}"), p), 1);
    ASSERT_EQ(eval(MATCH("$.a[0].b", "{\"value\":1}"), p), 1);
    ASSERT_EQ(eval(MATCH("\\\"a.b\\\"", "{\"value\":\"dot\"}"), p), 1);
    ASSERT_EQ(eval(MATCH("k.\\\"x.y\\\".z", "{\"value\":5}"), p), 1);
    ASSERT_EQ(eval(MATCH("\xc3\xa9t\xc3\xa9", "{\"value\":\"summer\"}"), p), 1);
    ASSERT_EQ(eval(MATCH("esc", "{\"value\":7}"), p), 1); /* payload key with an escape */
    ASSERT_EQ(eval(MATCH("\\u00e9t\\u00e9", "{\"value\":\"summer\"}"), p), 1);
    /* values_count and is_empty through [] */
    ASSERT_EQ(eval(FIELD("a[].b", "\"values_count\":{\"gte\":4,\"lte\":4}"), p), 1);
    ASSERT_EQ(eval(FIELD("a", "\"values_count\":{\"gt\":3}"), p), 0);
    ASSERT_EQ(eval("{\"must\":[{\"is_empty\":{\"key\":\"a[1].c\"}}]}", p), 1);
    ASSERT_EQ(eval("{\"must\":[{\"is_empty\":{\"key\":\"a[].c\"}}]}", p), 0);
}

TEST(filter, quantifier_all) {
    const char *all_pos = FIELD("v", "\"range\":{\"gt\":0},\"quantifier\":\"all\"");
    ASSERT_EQ(eval(all_pos, "{\"v\":[1,2,3]}"), 1);
    ASSERT_EQ(eval(all_pos, "{\"v\":[1,-2,3]}"), 0);
    ASSERT_EQ(eval(all_pos, "{\"v\":5}"), 1);
    ASSERT_EQ(eval(all_pos, "{\"v\":[]}"), 0); /* ALL needs at least one value */
    ASSERT_EQ(eval(all_pos, "{}"), 0);
    ASSERT_EQ(eval(all_pos, "{\"v\":[1,null]}"), 0); /* null satisfies nothing */
    ASSERT_EQ(eval(all_pos, "{\"v\":[1,\"2\"]}"), 0);
    const char *all_in = FIELD("t", "\"match\":{\"any\":[\"a\",\"b\"]},\"quantifier\":\"all\"");
    ASSERT_EQ(eval(all_in, "{\"t\":[\"a\",\"b\",\"a\"]}"), 1);
    ASSERT_EQ(eval(all_in, "{\"t\":[\"a\",\"c\"]}"), 0);
    const char *any_in = FIELD("t", "\"match\":{\"any\":[\"a\",\"b\"]},\"quantifier\":\"any\"");
    ASSERT_EQ(eval(any_in, "{\"t\":[\"a\",\"c\"]}"), 1);
    const char *all_ex = FIELD("t", "\"match\":{\"except\":[\"a\"]},\"quantifier\":\"all\"");
    ASSERT_EQ(eval(all_ex, "{\"t\":[\"b\",\"c\"]}"), 1);
    ASSERT_EQ(eval(all_ex, "{\"t\":[\"b\",\"a\"]}"), 0);
}

TEST(filter, contains_all) {
    const char *f = MATCH("t", "{\"contains_all\":[\"a\",\"b\",2,true]}");
    ASSERT_EQ(eval(f, "{\"t\":[\"b\",\"x\",2.0,\"a\",true]}"), 1);
    ASSERT_EQ(eval(f, "{\"t\":[\"b\",\"x\",2,\"a\"]}"), 0);
    ASSERT_EQ(eval(f, "{\"t\":[\"a\",\"b\",true,\"2\"]}"), 0);
    ASSERT_EQ(eval(MATCH("t", "{\"contains_all\":[\"a\"]}"), "{\"t\":\"a\"}"), 1);
    ASSERT_EQ(eval(MATCH("t", "{\"contains_all\":[\"a\",\"a\"]}"), "{\"t\":[\"a\"]}"), 1);
    ASSERT_EQ(eval(MATCH("t", "{\"contains_all\":[\"a\"]}"), "{}"), 0);
}

TEST(filter, full_text_words) {
    const char *f = MATCH("s", "{\"text\":\"Quick FOX\"}");
    ASSERT_EQ(eval(f, "{\"s\":\"the quick brown fox\"}"), 1);
    ASSERT_EQ(eval(f, "{\"s\":\"The QUICK, brown-fox!\"}"), 1);
    ASSERT_EQ(eval(f, "{\"s\":\"the quickest foxes\"}"), 0); /* words, not substrings */
    ASSERT_EQ(eval(f, "{\"s\":\"quick\"}"), 0);
    ASSERT_EQ(eval(f, "{\"s\":[\"quick\",\"fox\"]}"), 0); /* per value */
    ASSERT_EQ(eval(f, "{\"s\":[\"a fox\",\"quick fox\"]}"), 1);
    ASSERT_EQ(eval(MATCH("s", "{\"text\":\"\xc3\xa9t\xc3\xa9\"}"), "{\"s\":\"un \\u00e9t\\u00e9 chaud\"}"), 1);
    ASSERT_EQ(eval(f, "{\"s\":5}"), 0);
}

TEST(filter, regex_match) {
    ASSERT_EQ(eval(MATCH("l", "{\"regex\":\"^en(-|$)\"}"), "{\"l\":\"en-GB\"}"), 1);
    ASSERT_EQ(eval(MATCH("l", "{\"regex\":\"^en(-|$)\"}"), "{\"l\":\"eng\"}"), 0);
    ASSERT_EQ(eval(MATCH("l", "{\"regex\":\"(?i)^EN\"}"), "{\"l\":\"en\"}"), 1);
    ASSERT_EQ(eval(MATCH("l", "{\"regex\":\"^\\\\p{Lu}\"}"), "{\"l\":\"\\u00c9t\\u00e9\"}"), 1);
    ASSERT_EQ(eval(MATCH("l", "{\"regex\":\"\\\\d{3}\"}"), "{\"l\":[\"ab\",\"x123\"]}"), 1);
    ASSERT_EQ(eval(MATCH("l", "{\"regex\":\"1\"}"), "{\"l\":1}"), 0); /* strings only */
    /* a hostile pattern stops at the match limit: an error, not a hang or a silent miss */
    vs__filter *f;
    vs__err e = {0};
    const char *bad = MATCH("l", "{\"regex\":\"^(a|aa)+$\"}");
    ASSERT_OK(vs__filter_parse(bad, strlen(bad), &f, &e));
    char payload[200];
    snprintf(payload, sizeof payload, "{\"l\":\"%.*sb\"}", 60,
             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    vs__filter_ctx cx;
    vs__filter_ctx_init(&cx);
    vs_id id = vs_id_num(1);
    int m = vs__filter_eval(f, &cx, payload, strlen(payload), &id, &e);
    vs__filter_ctx_release(&cx);
    vs__filter_free(f);
    ASSERT_RC(m, VS_ELIMIT);
    ASSERT_CONTAINS(e.msg, "limit");
}

TEST(filter, datetime_ranges_compare_instants) {
    const char *f = RANGE("t", "{\"gte\":\"2024-03-10T10:00:00Z\",\"lt\":\"2024-03-10T12:00:00+01:00\"}");
    ASSERT_EQ(eval(f, "{\"t\":\"2024-03-10T10:00:00Z\"}"), 1);
    ASSERT_EQ(eval(f, "{\"t\":\"2024-03-10T12:00:00+02:00\"}"), 1);  /* 10:00Z */
    ASSERT_EQ(eval(f, "{\"t\":\"2024-03-10T09:59:59.999999Z\"}"), 0);
    ASSERT_EQ(eval(f, "{\"t\":\"2024-03-10T10:59:59.999999Z\"}"), 1);
    ASSERT_EQ(eval(f, "{\"t\":\"2024-03-10T11:00:00Z\"}"), 0);      /* = the upper bound */
    ASSERT_EQ(eval(f, "{\"t\":\"2024-03-10T06:30:00-04:00\"}"), 1);  /* 10:30Z */
    ASSERT_EQ(eval(f, "{\"t\":\"2024-03-10 10:30:00\"}"), 1);         /* no offset: UTC */
    ASSERT_EQ(eval(f, "{\"t\":\"not a date\"}"), 0);
    ASSERT_EQ(eval(f, "{\"t\":1710064800}"), 0); /* numbers are not datetimes */
    ASSERT_EQ(eval(f, "{\"t\":[\"2020-01-01\",\"2024-03-10T10:15:00Z\"]}"), 1);
    /* leap day and a date alone */
    ASSERT_EQ(eval(RANGE("d", "{\"gt\":\"2024-02-28\",\"lt\":\"2024-03-01\"}"),
                   "{\"d\":\"2024-02-29T23:59:59Z\"}"), 1);
    ASSERT_EQ(eval(RANGE("d", "{\"gte\":\"1969-12-31T23:59:59.5Z\",\"lte\":\"1970-01-01\"}"),
                   "{\"d\":\"1969-12-31T23:59:59.75Z\"}"), 1);
}

TEST(filter, big_and_small_numbers) {
    /* integers compare exactly over 64 bits: 2^53 + 1 is not 2^53 */
    ASSERT_EQ(eval(MATCH("n", "{\"value\":9007199254740993}"), "{\"n\":9007199254740992}"), 0);
    ASSERT_EQ(eval(MATCH("n", "{\"value\":9007199254740993}"), "{\"n\":9007199254740993}"), 1);
    ASSERT_EQ(eval(MATCH("n", "{\"value\":-9223372036854775808}"), "{\"n\":-9223372036854775808}"), 1);
    ASSERT_EQ(eval(RANGE("n", "{\"gt\":18446744073709551614}"), "{\"n\":18446744073709551615}"), 1);
    ASSERT_EQ(eval(RANGE("n", "{\"gt\":1e308}"), "{\"n\":1.5e308}"), 1);
    ASSERT_EQ(eval(RANGE("n", "{\"lt\":1e308}"), "{\"n\":1e400}"), 0); /* overflows to inf */
    ASSERT_EQ(eval(RANGE("n", "{\"gt\":0}"), "{\"n\":4.9e-324}"), 1);
    ASSERT_EQ(eval(RANGE("n", "{\"gt\":0}"), "{\"n\":1e-400}"), 0);   /* underflows to 0 */
    ASSERT_EQ(eval(RANGE("n", "{\"lte\":-0.0}"), "{\"n\":0}"), 1);
    ASSERT_EQ(eval(MATCH("n", "{\"value\":100}"), "{\"n\":1e2}"), 1);
    ASSERT_EQ(eval_id("{\"must\":[{\"has_id\":[18446744073709551615]}]}", NULL,
                      &(vs_id){VS_ID_NUM, UINT64_MAX, NULL, 0}), 1);
    ASSERT_EQ(eval_id("{\"must\":[{\"has_id\":[18446744073709551615]}]}", NULL,
                      &(vs_id){VS_ID_NUM, UINT64_MAX - 1, NULL, 0}), 0);
}

TEST(filter, nested_objects) {
    const char *p = "{\"diet\":[{\"food\":\"meat\",\"likes\":false},{\"food\":\"leaves\",\"likes\":true}]}";
    /* Qdrant's example: the same element must satisfy both conditions */
    const char *nested = "{\"must\":[{\"nested\":{\"key\":\"diet\",\"filter\":{\"must\":["
                         "{\"key\":\"food\",\"match\":{\"value\":\"meat\"}},"
                         "{\"key\":\"likes\",\"match\":{\"value\":true}}]}}}]}";
    const char *flat = "{\"must\":[{\"key\":\"diet[].food\",\"match\":{\"value\":\"meat\"}},"
                       "{\"key\":\"diet[].likes\",\"match\":{\"value\":true}}]}";
    ASSERT_EQ(eval(nested, p), 0);
    ASSERT_EQ(eval(flat, p), 1);
    ASSERT_EQ(eval(nested, "{\"diet\":[{\"food\":\"meat\",\"likes\":true}]}"), 1);
    ASSERT_EQ(eval(nested, "{\"diet\":{\"food\":\"meat\",\"likes\":true}}"), 1);
    ASSERT_EQ(eval(nested, "{\"diet\":[1,\"meat\",null]}"), 0);
    ASSERT_EQ(eval(nested, "{}"), 0);
}

TEST(filter, min_should) {
    const char *f = "{\"min_should\":{\"conditions\":[{\"key\":\"a\",\"match\":{\"value\":1}},"
                    "{\"key\":\"b\",\"match\":{\"value\":1}},{\"key\":\"c\",\"match\":{\"value\":1}}],"
                    "\"min_count\":2}}";
    ASSERT_EQ(eval(f, "{\"a\":1,\"b\":1}"), 1);
    ASSERT_EQ(eval(f, "{\"a\":1,\"c\":1,\"b\":1}"), 1);
    ASSERT_EQ(eval(f, "{\"a\":1,\"b\":2}"), 0);
    ASSERT_EQ(eval("{\"min_should\":{\"conditions\":[],\"min_count\":0}}", "{}"), 1);
    ASSERT_EQ(eval("{\"min_should\":{\"conditions\":[],\"min_count\":1}}", "{}"), 0);
    ASSERT_EQ(eval("{\"must\":{\"key\":\"a\",\"match\":{\"value\":1}},\"min_should\":{\"conditions\":"
                   "{\"key\":\"b\",\"match\":{\"value\":1}},\"min_count\":1}}", "{\"a\":1,\"b\":1}"), 1);
}

TEST(filter, text_syntax_reaches_the_same_tree) {
    static const struct {
        const char *text, *json;
    } same[] = {
        {"price < 10 AND tags ANY IN ('a','b')",
         "{\"must\":[{\"key\":\"price\",\"range\":{\"lt\":10}},{\"key\":\"tags\",\"match\":{\"any\":[\"a\",\"b\"]}}]}"},
        {"$.meta.lang MATCHES '^en'", MATCH("meta.lang", "{\"regex\":\"^en\"}")},
        {"t >= '2024-01-01T00:00:00+01:00'", RANGE("t", "{\"gte\":\"2024-01-01T00:00:00+01:00\"}")},
    };
    static const char *const payloads[] = {
        "{\"price\":5,\"tags\":[\"b\"],\"meta\":{\"lang\":\"en-US\"},\"t\":\"2023-12-31T23:00:00Z\"}",
        "{\"price\":15,\"tags\":[\"a\"],\"meta\":{\"lang\":\"de\"},\"t\":\"2023-12-31T22:59:59Z\"}",
        "{\"price\":1,\"tags\":\"c\"}",
    };
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        vs__filter *ft, *fj;
        vs__err e = {0};
        ASSERT_MSG(vs__filter_parse_any(same[i].text, strlen(same[i].text), &ft, &e) == VS_OK,
                   "%s: %s", same[i].text, e.msg);
        ASSERT_OK(vs__filter_parse_any(same[i].json, strlen(same[i].json), &fj, &e));
        vs__filter_ctx cx;
        vs__filter_ctx_init(&cx);
        for (size_t j = 0; j < 3; j++) {
            vs_id id = vs_id_num(j);
            int a = vs__filter_eval(ft, &cx, payloads[j], strlen(payloads[j]), &id, &e);
            int b = vs__filter_eval(fj, &cx, payloads[j], strlen(payloads[j]), &id, &e);
            ASSERT_MSG(a == b, "%s on %s: text %d, json %d", same[i].text, payloads[j], a, b);
        }
        vs__filter_ctx_release(&cx);
        vs__filter_free(ft);
        vs__filter_free(fj);
    }
    vs__filter *f = NULL;
    vs__err e = {0};
    /* "null" alone is no filter; a field named null is the text syntax */
    ASSERT_OK(vs__filter_parse_any(" null ", 6, &f, &e));
    ASSERT(f == NULL);
    ASSERT_OK(vs__filter_parse_any("null = 1", 8, &f, &e));
    ASSERT(f != NULL);
    ASSERT_EQ(eval_id("{\"must\":[]}", NULL, NULL), 1);
    vs__filter_ctx cx0;
    vs__filter_ctx_init(&cx0);
    ASSERT_EQ(vs__filter_eval(f, &cx0, "{\"null\":1}", 10, NULL, &e), 1);
    vs__filter_ctx_release(&cx0);
    vs__filter_free(f);
    f = NULL;
    ASSERT_RC(vs__filter_parse_any("price <", 7, &f, &e), VS_EFILTER);
    ASSERT_CONTAINS(e.msg, "at byte 7");
    ASSERT(f == NULL);
}

/* ------------------------------------------------------- differential ---- */

static uint64_t g_rng;
static uint32_t rnd(uint32_t n) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t)((g_rng >> 11) % n);
}

static const char *const r_keys[] = {"a", "b", "c", "o"};
static const char *const r_paths[] = {"a", "b", "c", "o.a", "o.b", "a.b", "o.o.a", "zz"};
static const char *const r_strs[] = {"x", "y", "", "xy"};

static cJSON *rand_scalar(int allow_float) {
    switch (rnd(allow_float ? 5 : 4)) {
    case 0: return cJSON_CreateNumber((double)rnd(4));
    case 1: return cJSON_CreateString(r_strs[rnd(4)]);
    case 2: return cJSON_CreateBool((int)rnd(2));
    case 3: return cJSON_CreateNumber((double)rnd(4) - 1.0); /* integral, may be -1 */
    default: return cJSON_CreateNumber((double)rnd(8) * 0.5);
    }
}

static cJSON *rand_payload_value(int depth) {
    uint32_t k = rnd(10);
    if (k < 5) return rand_scalar(1);
    if (k == 5) return cJSON_CreateNull();
    if (k < 8) {
        cJSON *a = cJSON_CreateArray();
        uint32_t n = rnd(4);
        for (uint32_t i = 0; i < n; i++)
            cJSON_AddItemToArray(a, rnd(6) ? rand_scalar(1) : rnd(2) ? cJSON_CreateNull()
                                                                     : cJSON_CreateArray());
        return a;
    }
    cJSON *o = cJSON_CreateObject();
    if (depth < 2)
        for (int i = 0; i < 4; i++)
            if (rnd(2)) cJSON_AddItemToObject(o, r_keys[i], rand_payload_value(depth + 1));
    return o;
}

static cJSON *rand_payload(void) {
    cJSON *o = cJSON_CreateObject();
    for (int i = 0; i < 4; i++)
        if (rnd(4)) cJSON_AddItemToObject(o, r_keys[i], rand_payload_value(0));
    return o;
}

static cJSON *rand_filter(int depth);

static cJSON *rand_cond(int depth) {
    cJSON *c = cJSON_CreateObject();
    uint32_t k = rnd(depth < 3 ? 9 : 8);
    if (k < 5) {
        cJSON_AddStringToObject(c, "key", r_paths[rnd(8)]);
        if (k == 4) {
            cJSON *r = cJSON_AddObjectToObject(c, "range");
            static const char *const ops[] = {"gt", "gte", "lt", "lte"};
            for (int i = 0; i < 4; i++)
                if (rnd(3) == 0) cJSON_AddNumberToObject(r, ops[i], (double)rnd(8) * 0.5 - 0.5);
            return c;
        }
        cJSON *m = cJSON_AddObjectToObject(c, "match");
        if (k < 2) {
            cJSON_AddItemToObject(m, "value", rand_scalar(0));
        } else {
            cJSON *arr = cJSON_AddArrayToObject(m, k == 2 ? "any" : "except");
            uint32_t n = rnd(4);
            for (uint32_t i = 0; i < n; i++) cJSON_AddItemToArray(arr, rand_scalar(0));
        }
    } else if (k == 5) {
        cJSON *arr = cJSON_AddArrayToObject(c, "has_id");
        uint32_t n = rnd(4);
        for (uint32_t i = 0; i < n; i++)
            cJSON_AddItemToArray(arr, rnd(2) ? cJSON_CreateNumber((double)rnd(5))
                                             : cJSON_CreateString(rnd(2) ? "p1" : "p2"));
    } else if (k < 8) {
        cJSON *o = cJSON_AddObjectToObject(c, k == 6 ? "is_empty" : "is_null");
        cJSON_AddStringToObject(o, "key", r_paths[rnd(8)]);
    } else {
        cJSON_Delete(c);
        return rand_filter(depth + 1);
    }
    return c;
}

static cJSON *rand_filter(int depth) {
    static const char *const cl[] = {"must", "should", "must_not"};
    cJSON *f = cJSON_CreateObject();
    for (int i = 0; i < 3; i++) {
        uint32_t k = rnd(5);
        if (k == 0) continue;
        if (k == 1) {
            cJSON_AddItemToObject(f, cl[i], rand_cond(depth));
            continue;
        }
        cJSON *arr = cJSON_AddArrayToObject(f, cl[i]);
        uint32_t n = rnd(4);
        for (uint32_t j = 0; j < n; j++) cJSON_AddItemToArray(arr, rand_cond(depth));
    }
    return f;
}

/* --- the reference: reads the filter's JSON directly, by the rules of filter.h --- */

static const cJSON *ref_get(const cJSON *payload, const char *path) {
    char buf[64];
    snprintf(buf, sizeof buf, "%s", path);
    const cJSON *v = payload;
    for (char *tok = strtok(buf, "."); tok; tok = strtok(NULL, ".")) {
        if (!v || v->type != cJSON_Object) return NULL;
        const cJSON *next = NULL;
        for (const cJSON *ch = v->child; ch; ch = ch->next)
            if (!strcmp(ch->string, tok)) {
                next = ch;
                break;
            }
        v = next;
    }
    return v;
}

static int ref_same(const cJSON *x, const cJSON *y) {
    if (x->type == cJSON_String && y->type == cJSON_String)
        return !strcmp(x->valuestring, y->valuestring);
    if (x->type == cJSON_Number && y->type == cJSON_Number) return x->valuedouble == y->valuedouble;
    if ((x->type == cJSON_True || x->type == cJSON_False) &&
        (y->type == cJSON_True || y->type == cJSON_False))
        return x->type == y->type;
    return 0;
}

static int ref_in(const cJSON *v, const cJSON *list) {
    for (const cJSON *x = list->child; x; x = x->next)
        if (ref_same(v, x)) return 1;
    return 0;
}

/* op: 0 value, 1 any, 2 except, 3 range; one value of the field */
static int ref_one(int op, const cJSON *v, const cJSON *arg) {
    int scalar = v->type == cJSON_String || v->type == cJSON_Number || v->type == cJSON_True ||
                 v->type == cJSON_False;
    if (op == 0) return ref_same(v, arg);
    if (op == 1) return ref_in(v, arg);
    if (op == 2) return scalar && !ref_in(v, arg);
    if (v->type != cJSON_Number) return 0;
    double x = v->valuedouble;
    const cJSON *b;
    if ((b = cJSON_GetObjectItem(arg, "gt")) && !(x > b->valuedouble)) return 0;
    if ((b = cJSON_GetObjectItem(arg, "gte")) && !(x >= b->valuedouble)) return 0;
    if ((b = cJSON_GetObjectItem(arg, "lt")) && !(x < b->valuedouble)) return 0;
    if ((b = cJSON_GetObjectItem(arg, "lte")) && !(x <= b->valuedouble)) return 0;
    return 1;
}

static int ref_filter(const cJSON *f, const cJSON *payload, const vs_id *id);

static int ref_cond(const cJSON *c, const cJSON *payload, const vs_id *id) {
    const cJSON *key = cJSON_GetObjectItem(c, "key"), *x;
    if (key) {
        const cJSON *v = ref_get(payload, key->valuestring);
        int op;
        const cJSON *arg;
        if ((x = cJSON_GetObjectItem(c, "range"))) {
            op = 3;
            arg = x;
        } else {
            const cJSON *m = cJSON_GetObjectItem(c, "match");
            op = (arg = cJSON_GetObjectItem(m, "value")) ? 0
                 : (arg = cJSON_GetObjectItem(m, "any")) ? 1
                                                         : 2;
            if (op == 2) arg = cJSON_GetObjectItem(m, "except");
        }
        if (!v || v->type == cJSON_NULL) return 0;
        if (v->type != cJSON_Array) return ref_one(op, v, arg);
        for (const cJSON *el = v->child; el; el = el->next)
            if (ref_one(op, el, arg)) return 1;
        return 0;
    }
    if ((x = cJSON_GetObjectItem(c, "has_id"))) {
        if (!id) return 0;
        for (const cJSON *el = x->child; el; el = el->next) {
            if (el->type == cJSON_Number && id->kind == VS_ID_NUM &&
                (double)id->num == el->valuedouble)
                return 1;
            if (el->type == cJSON_String && id->kind == VS_ID_STR &&
                strlen(el->valuestring) == id->len && !memcmp(el->valuestring, id->str, id->len))
                return 1;
        }
        return 0;
    }
    if ((x = cJSON_GetObjectItem(c, "is_empty"))) {
        const cJSON *v = ref_get(payload, cJSON_GetObjectItem(x, "key")->valuestring);
        return !v || v->type == cJSON_NULL || (v->type == cJSON_Array && !v->child);
    }
    if ((x = cJSON_GetObjectItem(c, "is_null"))) {
        const cJSON *v = ref_get(payload, cJSON_GetObjectItem(x, "key")->valuestring);
        return v && v->type == cJSON_NULL;
    }
    return ref_filter(c, payload, id);
}

/* all/any/none over a clause that is an array or a single condition */
static int ref_clause(const cJSON *cl, const cJSON *payload, const vs_id *id, int want_all) {
    if (cl->type == cJSON_Object) return ref_cond(cl, payload, id);
    int any = 0, all = 1;
    for (const cJSON *c = cl->child; c; c = c->next) {
        int r = ref_cond(c, payload, id);
        any |= r;
        all &= r;
    }
    return want_all ? all : any;
}

static int ref_filter(const cJSON *f, const cJSON *payload, const vs_id *id) {
    const cJSON *c;
    if ((c = cJSON_GetObjectItem(f, "must")) && !ref_clause(c, payload, id, 1)) return 0;
    if ((c = cJSON_GetObjectItem(f, "should")) && !ref_clause(c, payload, id, 0)) return 0;
    if ((c = cJSON_GetObjectItem(f, "must_not")) && ref_clause(c, payload, id, 0)) return 0;
    return 1;
}

TEST(filter, differential_against_reference) {
    g_rng = 0x9E3779B97F4A7C15ull ^ vt_seed();
    int nfilters = vt_long() ? 100000 : 10000, npayloads = 24;
    cJSON *payloads[24];
    vs_id ids[24];
    static const char *const sids[] = {"p1", "p2", "p3"};
    long trues = 0, total = 0;
    for (int round = 0; round < nfilters; round++) {
        if (round % 100 == 0) {
            if (round)
                for (int i = 0; i < npayloads; i++) cJSON_Delete(payloads[i]);
            for (int i = 0; i < npayloads; i++) {
                payloads[i] = rand_payload();
                ids[i] = rnd(2) ? vs_id_num(rnd(5)) : str_id(sids[rnd(3)]);
            }
        }
        cJSON *fj = rand_filter(1);
        char *text = cJSON_PrintUnformatted(fj);
        vs__filter *f = NULL;
        vs__err e = {0};
        int rc = vs__filter_parse(text, strlen(text), &f, &e);
        int bad = -1;
        if (rc == VS_OK)
            for (int i = 0; i < npayloads && bad < 0; i++) {
                int got = jmatch(f, payloads[i], &ids[i]);
                int want = ref_filter(fj, payloads[i], &ids[i]);
                trues += want;
                total++;
                if (got != want) bad = i;
            }
        char msg[1024] = "";
        if (rc != VS_OK)
            snprintf(msg, sizeof msg, "seed %u: parse of %s failed: %s", vt_seed(), text, e.msg);
        else if (bad >= 0) {
            char *pt = cJSON_PrintUnformatted(payloads[bad]);
            snprintf(msg, sizeof msg, "seed %u: filter %s on payload %s: module and reference "
                     "disagree", vt_seed(), text, pt);
            cJSON_free(pt);
        }
        vs__filter_free(f);
        cJSON_free(text);
        cJSON_Delete(fj);
        if (msg[0]) {
            for (int i = 0; i < npayloads; i++) cJSON_Delete(payloads[i]);
            ASSERT_MSG(0, "%s", msg);
        }
    }
    for (int i = 0; i < npayloads; i++) cJSON_Delete(payloads[i]);
    /* the generator must exercise both outcomes, or the comparison proves little */
    ASSERT_MSG(trues > total / 20 && trues < total - total / 20, "seed %u: %ld of %ld true",
               vt_seed(), trues, total);
}

/* -------------------------------------------------------- alloc sweep ---- */

TEST(filter, alloc_failure_sweep) {
    const char *text =
        "{\"must\":[{\"key\":\"a.b\",\"match\":{\"value\":\"x\"}},"
        "{\"key\":\"n\",\"range\":{\"gte\":1,\"lt\":9.5}},"
        "{\"should\":[{\"key\":\"t\",\"match\":{\"any\":[\"p\",\"q\",3]}},"
        "{\"has_id\":[1,\"abc\",3]},{\"is_empty\":{\"key\":\"e\"}}]}],"
        "\"must_not\":{\"key\":\"c\",\"match\":{\"except\":[true,\"z\"]}},"
        "\"should\":[{\"is_null\":{\"key\":\"d.e\"}},{\"must\":[]}]}";
    /* The test runner routes cJSON through the counting allocator (main.c), so cJSON's
     * frees on error paths are counted too. */
    int64_t base = vs__alloc_live();
    int bad_rc = 0, leaked = 0, steps = 0, ok = 0;
    long bad_n = 0;
    for (int64_t n = 1; n < 10000; n++) {
        vs__filter *f = NULL;
        vs__err e = {0};
        vs__alloc_fail_after(n);
        int rc = vs__filter_parse(text, strlen(text), &f, &e);
        vs__alloc_fail_after(0);
        steps++;
        if (rc == VS_OK) {
            cJSON *p = cJSON_Parse("{\"a\":{\"b\":\"x\"},\"n\":2,\"e\":[],\"d\":{\"e\":null}}");
            vs_id id = vs_id_num(3);
            ok = p && jmatch(f, p, &id) == 1;
            cJSON_Delete(p);
            vs__filter_free(f);
            if (vs__alloc_live() != base) leaked = 1, bad_n = (long)n;
            break;
        }
        if (rc != VS_ENOMEM || f) {
            bad_rc = rc ? rc : -999;
            bad_n = (long)n;
            break;
        }
        if (vs__alloc_live() != base) {
            leaked = 1;
            bad_n = (long)n;
            break;
        }
    }
    ASSERT_MSG(!bad_rc, "failing allocation %ld gave %s, want VS_ENOMEM", bad_n,
               vs_errname(bad_rc));
    ASSERT_MSG(!leaked, "failing allocation %ld leaked", bad_n);
    ASSERT_MSG(ok, "the filter parsed after %d steps but did not match", steps);
    ASSERT(steps > 20); /* cJSON and the compiler both allocate: the sweep saw both */
}

TEST(filter, bad_json_under_oom_is_still_efilter) {
    /* the scan needs no memory, so a syntax error is reported as such even with none */
    vs__filter *f = NULL;
    vs__err e = {0};
    vs__alloc_fail_all_after(1);
    int rc = vs__filter_parse("{\"must\":[}", 10, &f, &e);
    vs__alloc_fail_after(0);
    ASSERT_RC(rc, VS_EFILTER);
    ASSERT_CONTAINS(e.msg, "byte 9");
}
