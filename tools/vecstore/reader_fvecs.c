/*
 * reader_fvecs.c — .fvecs files (the TEXMEX/ANN benchmark format): a sequence of records
 * [int32 LE d][d × float32 LE], one per point, ids --first-id + row.
 *
 * The format has no header, so the only way to tell garbage from data is the dimension
 * word: a record whose d differs from the collection's dimension is a bad row (the file
 * stays readable, because d says how far to skip), but a d that is zero, negative or
 * above VS_DIM_MAX cannot be skipped safely and is fatal. A record cut short by the end
 * of the file is a bad row and ends the file.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "reader_int.h"

typedef struct fvecs_state {
    unsigned char *buf;
    size_t cap;
    int eof;
} fvecs_state;

static int fvecs_open(reader *r, char *err, size_t errlen) {
    r->impl = cli_xcalloc(1, sizeof(fvecs_state));
    if (r->sc.n != 1)
        return rd_fatal(r, err, errlen, "the collection has %u vector fields but an .fvecs "
                        "file holds one (use .jsonl or .csv)", r->sc.n);
    return 0;
}

static int fvecs_next(reader *r, rd_record *rec, char *err, size_t errlen) {
    fvecs_state *st = r->impl;
    if (st->eof) return 0;
    rec->loc = r->row;
    unsigned char hdr[4];
    size_t got = fread(hdr, 1, 4, r->f);
    if (got == 0 && !ferror(r->f)) return 0;
    if (ferror(r->f)) return rd_fatal(r, err, errlen, "read error: %s", strerror(errno));
    if (got < 4) {
        st->eof = 1;
        rd_bad(rec, "truncated record (end of file inside the dimension word)");
        return 1;
    }
    int32_t d = (int32_t)rd_le32(hdr);
    if (d <= 0 || d > VS_DIM_MAX)
        return rd_fatal(r, err, errlen, "row %llu: dimension word %d is impossible (not an "
                        ".fvecs file?)", (unsigned long long)r->row, (int)d);
    size_t nb = (size_t)d * 4;
    if (nb > st->cap) {
        st->buf = cli_xrealloc(st->buf, nb);
        st->cap = nb;
    }
    got = fread(st->buf, 1, nb, r->f);
    if (got < nb) {
        if (ferror(r->f)) return rd_fatal(r, err, errlen, "read error: %s", strerror(errno));
        st->eof = 1;
        rd_bad(rec, "truncated record (%zu of %zu bytes)", got, nb);
        return 1;
    }
    if ((uint32_t)d != r->sc.dim[0]) {
        rd_bad(rec, "expected %u dimensions, got %d", r->sc.dim[0], (int)d);
        return 1;
    }
    for (uint32_t i = 0; i < (uint32_t)d; i++) {
        uint32_t u = rd_le32(st->buf + 4 * (size_t)i);
        float f;
        memcpy(&f, &u, 4);
        if (rd_put(r, rec, 0, i, f)) return 1;
    }
    if (!r->o.query_mode) rd_set_row_id(r, rec);
    return 1;
}

static void fvecs_close(reader *r) {
    fvecs_state *st = r->impl;
    if (!st) return;
    free(st->buf);
    free(st);
    r->impl = NULL;
}

const rd_ops rd_fvecs_ops = {"fvecs", 1, fvecs_open, fvecs_next, fvecs_close};
