/*
 * fuzz_json.c — the strict JSON check against cJSON: whatever the check accepts, cJSON
 * must parse (payloads and filters rely on that: a cJSON failure after the check means
 * out of memory). The reverse need not hold (cJSON is lenient).
 */
#include <cjson/cJSON.h>
#include <stdlib.h>

#include "fuzz.h"
#include "util/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    size_t at = 0;
    const char *why = NULL;
    if (vs__json_check((const char *)data, size, &at, &why) == 0) {
        cJSON *j = cJSON_ParseWithLength((const char *)data, size);
        if (!j) abort();
        cJSON_Delete(j);
    } else if (!why || at > size) {
        abort();
    }
    return 0;
}
