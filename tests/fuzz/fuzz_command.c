/*
 * fuzz_command.c — bytes → command decoder. Commands arrive from the WAL today and from
 * Raft and Kafka later, so the decoder must reject anything malformed with VS_ECORRUPT
 * (or VS_EVERSION/VS_ENOMEM) and never read out of bounds.
 */
#include <stdlib.h>

#include "engine/command.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    vs__cmd c;
    vs__err e;
    int rc = vs__cmd_decode(data, size, &c, &e);
    if (rc == VS_OK) {
        /* Touch everything the decoder handed out: ASan checks the bounds. */
        volatile uint8_t sink = 0;
        for (uint64_t i = 0; i < c.n; i++) {
            if (c.ids[i].kind == VS_ID_STR)
                for (uint32_t k = 0; k < c.ids[i].len; k++) sink ^= (uint8_t)c.ids[i].str[k];
            if (c.type == VS_CMD_UPSERT) {
                for (uint32_t f = 0; f < c.nfields; f++) sink ^= c.vecs[f][i * c.dims[f] * 4];
                for (uint32_t k = 0; k < c.payload_lens[i]; k++) sink ^= (uint8_t)c.payloads[i][k];
            }
        }
        (void)sink;
        vs__cmd_free(&c);
    } else if (rc != VS_ECORRUPT && rc != VS_EVERSION && rc != VS_ENOMEM) {
        abort();
    }
    return 0;
}
