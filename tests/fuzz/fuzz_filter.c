/*
 * fuzz_filter.c — filter text (JSON or the text syntax) → parse → evaluate against a few
 * payloads.
 * Invariants: parse returns VS_OK, VS_EFILTER or VS_ENOMEM; a parsed filter evaluates
 * without crashing; nothing leaks.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "query/filter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *const payloads[] = {
        "{\"a\":1,\"b\":\"x\",\"c\":[1,2,\"y\"],\"d\":{\"e\":null,\"f\":true}}",
        "{}",
        "{\"a\":[[1]],\"b\":{\"b\":{\"b\":1.5}},\"t\":\"2024-02-29T12:00:00+01:00\","
        "\"s\":\"The quick brown \\u00e9t\\u00e9\",\"n\":[{\"x\":1,\"y\":[\"a\"]},{\"x\":2}]}",
        "{\"loc\":{\"lat\":52.5,\"lon\":13.4},\"a\":[{\"lat\":90,\"lon\":180},{\"lon\":-180,\"lat\":-90}],"
        "\"b\":{\"lat\":91,\"lon\":0},\"c\":{\"lat\":\"1\",\"lon\":2}}",
    };
    vs__filter *f = NULL;
    vs__err e;
    int rc = vs__filter_parse_any((const char *)data, size, &f, &e);
    if (rc != VS_OK && rc != VS_EFILTER && rc != VS_ENOMEM) abort();
    if (rc == VS_OK) {
        vs_id ids[2] = {vs_id_num(7), vs_id_str("abc")};
        vs__filter_ctx cx;
        vs__filter_ctx_init(&cx);
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 2; j++) {
                int m = vs__filter_eval(f, &cx, payloads[i], strlen(payloads[i]), &ids[j], &e);
                if (m != 0 && m != 1 && m != VS_ELIMIT && m != VS_ENOMEM) abort();
            }
        if (vs__filter_eval(f, &cx, NULL, 0, NULL, &e) > 1) abort();
        vs__filter_ctx_release(&cx);
    } else if (f) {
        abort(); /* failure must not hand out a filter */
    }
    vs__filter_free(f);
    return 0;
}
