/*
 * fuzz_filter.c — filter text → parse → evaluate against a few payloads.
 * Invariants: parse returns VS_OK, VS_EFILTER or VS_ENOMEM; a parsed filter evaluates
 * without crashing; nothing leaks.
 */
#include <cjson/cJSON.h>
#include <stdlib.h>

#include "fuzz.h"
#include "query/filter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static cJSON *payloads[3];
    if (!payloads[0]) {
        payloads[0] = cJSON_Parse("{\"a\":1,\"b\":\"x\",\"c\":[1,2,\"y\"],\"d\":{\"e\":null,\"f\":true}}");
        payloads[1] = cJSON_Parse("{}");
        payloads[2] = cJSON_Parse("{\"a\":[[1]],\"b\":{\"b\":{\"b\":1.5}}}");
    }
    vs__filter *f = NULL;
    vs__err e;
    int rc = vs__filter_parse((const char *)data, size, &f, &e);
    if (rc != VS_OK && rc != VS_EFILTER && rc != VS_ENOMEM) abort();
    if (rc == VS_OK) {
        vs_id ids[2] = {vs_id_num(7), vs_id_str("abc")};
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 2; j++) (void)vs__filter_match(f, payloads[i], &ids[j]);
        (void)vs__filter_match(f, NULL, NULL);
    } else if (f) {
        abort(); /* failure must not hand out a filter */
    }
    vs__filter_free(f);
    return 0;
}
