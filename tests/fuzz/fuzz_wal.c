/*
 * fuzz_wal.c — an arbitrary file as the only WAL file of a log: recovery must succeed
 * (possibly reporting a torn tail) or fail with VS_ECORRUPT/VS_EVERSION/VS_EFORMAT —
 * never crash — and every record it replays must have passed its checksum.
 * The input is written after a valid frame header half the time, so the fuzzer
 * reaches the record parser.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/command.h"
#include "fuzz.h"
#include "os/file.h"
#include "storage/frame.h"
#include "storage/wal.h"

static int replay(void *ctx, uint64_t lsn, const uint8_t *p, size_t len, vs__err *e) {
    vs__cmd c;
    if (vs__cmd_decode(p, len, &c, e) == VS_OK) vs__cmd_free(&c);
    (*(uint64_t *)ctx)++;
    return VS_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char dir[256];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/vs-fuzz-wal-%d", (int)getpid());
        vs__dir_make(dir, NULL);
    }
    char path[300];
    snprintf(path, sizeof path, "%s/0000000000000001.wal", dir);
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    if (size && (data[0] & 1)) {
        uint8_t hdr[VS_FRAME_HDR];
        vs__frame fr = {"VSWALOG1", VS_FORMAT_VERSION, 0, VS_FRAME_HDR, 0, 0};
        vs__frame_encode(&fr, hdr);
        fwrite(hdr, 1, sizeof hdr, f);
        data++;
        size--;
    }
    fwrite(data, 1, size, f);
    fclose(f);
    vs__wal *w = NULL;
    vs__err e;
    uint64_t n = 0;
    vs__wal_report rep;
    int rc = vs__wal_open(dir, 0, 1, replay, &n, &w, &rep, &e);
    if (rc == VS_OK) {
        if (rep.records != n) abort();
        vs__wal_close(w);
    } else if (rc != VS_ECORRUPT && rc != VS_EVERSION && rc != VS_EFORMAT && rc != VS_ENOMEM) {
        abort();
    }
    unlink(path);
    return 0;
}
