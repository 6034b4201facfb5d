/*
 * fuzz_filter_text.c — the text filter syntax → JSON.
 * Invariants: the translation returns VS_OK, VS_EFILTER or VS_ENOMEM only; on VS_OK the
 * JSON is NUL-terminated at the reported length and passes vs__json_check; on an error
 * nothing is handed out, and the message has the "at byte N: " form with N within the
 * text (or at the length limit); nothing leaks (the regex cache, which keeps patterns
 * by design, is emptied before counting). The JSON is also parsed by filter.h, which must
 * answer VS_OK, VS_EFILTER or VS_ENOMEM and never crash on what the translation makes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "query/filter.h"
#include "query/filter_text.h"
#include "query/regex.h"
#include "util/alloc.h"
#include "util/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int64_t live0 = vs__alloc_live();
    char *json = (char *)1;
    size_t jl = 0;
    vs__err e;
    e.msg[0] = 0;
    int rc = vs__filter_text_to_json((const char *)data, size, &json, &jl, &e);
    if (rc != VS_OK && rc != VS_EFILTER && rc != VS_ENOMEM) abort();
    if (rc == VS_OK) {
        size_t at;
        const char *why;
        if (!json || json[jl] != 0 || strlen(json) != jl) abort();
        if (vs__json_check(json, jl, &at, &why) != 0) abort();
        vs__filter *f = NULL;
        int frc = vs__filter_parse(json, jl, &f, &e);
        if (frc != VS_OK && frc != VS_EFILTER && frc != VS_ENOMEM) abort();
        if ((frc == VS_OK) != (f != NULL)) abort();
        vs__filter_free(f);
    } else {
        if (json) abort(); /* failure must not hand out text */
        if (rc == VS_EFILTER) {
            unsigned long long at;
            if (sscanf(e.msg, "at byte %llu: ", &at) != 1) abort();
            if (at > size && at != VS__FILTER_TEXT_MAX) abort();
        }
    }
    vs__free(json);
    vs__regex_cache_clear();
    if (vs__alloc_live() != live0) abort();
    return 0;
}
