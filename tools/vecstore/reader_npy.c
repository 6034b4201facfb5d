/*
 * reader_npy.c — NumPy .npy arrays: a 2-D float32 or float64 array, one row per point,
 * ids --first-id + row.
 *
 * Layout (numpy.lib.format, versions 1.0, 2.0 and 3.0):
 *   "\x93NUMPY" major minor
 *   header length: uint16 LE (1.0) or uint32 LE (2.0, 3.0)
 *   header: a Python dict literal, e.g.
 *           {'descr': '<f4', 'fortran_order': False, 'shape': (1000, 128), }
 *           padded with spaces and ended by '\n' (ASCII; UTF-8 in 3.0)
 *   data:   rows*cols items, C order, no trailer
 * Accepted: descr '<f4' or '<f8' (also '=' / '|' prefixes, which mean native order on
 * the little-endian machines numpy writes them on), fortran_order False, 2-D shape whose
 * column count equals the dimension of the collection's only vector field. Big-endian
 * data, Fortran order, other dtypes and other ranks are rejected as fatal errors, as is a
 * file whose size does not match its shape (a truncated download). float64 values are
 * narrowed to float32 after the range check.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "reader_int.h"

#define NPY_HEADER_MAX (1u << 20)

typedef struct npy_state {
    uint64_t rows, cols;
    size_t item;          /* 4 or 8 */
    unsigned char *rowbuf;
} npy_state;

/* Finds 'key' in the header dict and returns a pointer just past the ':' after it. */
static const char *dict_value(const char *h, const char *key) {
    char q1[64], q2[64];
    snprintf(q1, sizeof q1, "'%s'", key);
    snprintf(q2, sizeof q2, "\"%s\"", key);
    const char *p = strstr(h, q1);
    if (!p) p = strstr(h, q2);
    if (!p) return NULL;
    p += strlen(q1);
    while (*p == ' ') p++;
    if (*p != ':') return NULL;
    p++;
    while (*p == ' ') p++;
    return p;
}

static int npy_open(reader *r, char *err, size_t errlen) {
    npy_state *st = cli_xcalloc(1, sizeof *st);
    r->impl = st;
    unsigned char pre[12];
    if (fread(pre, 1, 8, r->f) != 8 || memcmp(pre, "\x93NUMPY", 6))
        return rd_fatal(r, err, errlen, "not an .npy file (bad magic)");
    unsigned major = pre[6], minor = pre[7];
    uint32_t hlen;
    if (major == 1) {
        if (fread(pre + 8, 1, 2, r->f) != 2) return rd_fatal(r, err, errlen, "truncated header");
        hlen = (uint32_t)pre[8] | (uint32_t)pre[9] << 8;
    } else if (major == 2 || major == 3) {
        if (fread(pre + 8, 1, 4, r->f) != 4) return rd_fatal(r, err, errlen, "truncated header");
        hlen = rd_le32(pre + 8);
    } else {
        return rd_fatal(r, err, errlen, "unsupported .npy format version %u.%u", major, minor);
    }
    if (hlen > NPY_HEADER_MAX)
        return rd_fatal(r, err, errlen, "header of %u bytes is implausibly large", hlen);
    uint64_t data_off = (major == 1 ? 10u : 12u) + (uint64_t)hlen;
    char *h = cli_xmalloc(hlen + 1);
    int rc = -1;
    if (fread(h, 1, hlen, r->f) != hlen) {
        rd_fatal(r, err, errlen, "truncated header");
        goto done;
    }
    h[hlen] = 0;

    const char *d = dict_value(h, "descr");
    char descr[16] = "";
    if (d && (*d == '\'' || *d == '"')) {
        char q = *d++;
        size_t n = 0;
        while (d[n] && d[n] != q && n < sizeof descr - 1) n++;
        memcpy(descr, d, n);
        descr[n] = 0;
    }
    if (!descr[0]) {
        rd_fatal(r, err, errlen, "header has no 'descr'");
        goto done;
    }
    char order = descr[0];
    const char *type = (order == '<' || order == '>' || order == '=' || order == '|')
                           ? descr + 1 : descr;
    if (order == '>' && (!strcmp(type, "f4") || !strcmp(type, "f8"))) {
        rd_fatal(r, err, errlen, "big-endian arrays ('%s') are not supported", descr);
        goto done;
    }
    if (!strcmp(type, "f4")) {
        st->item = 4;
    } else if (!strcmp(type, "f8")) {
        st->item = 8;
    } else {
        rd_fatal(r, err, errlen, "dtype '%s' is not supported (float32 '<f4' or float64 '<f8')",
                 descr);
        goto done;
    }

    const char *fo = dict_value(h, "fortran_order");
    if (fo && !strncmp(fo, "True", 4)) {
        rd_fatal(r, err, errlen, "Fortran-order arrays are not supported");
        goto done;
    }
    if (!fo || strncmp(fo, "False", 5)) {
        rd_fatal(r, err, errlen, "header has no valid 'fortran_order'");
        goto done;
    }

    const char *sh = dict_value(h, "shape");
    if (!sh || *sh != '(') {
        rd_fatal(r, err, errlen, "header has no valid 'shape'");
        goto done;
    }
    uint64_t dims[8];
    int nd = 0;
    const char *p = sh + 1;
    for (;;) {
        while (*p == ' ') p++;
        if (*p == ')') break;
        const char *q = p;
        while (*q >= '0' && *q <= '9') q++;
        uint64_t v;
        if (q == p || cli_parse_u64(p, (size_t)(q - p), &v) || nd == 8) {
            rd_fatal(r, err, errlen, "header has no valid 'shape'");
            goto done;
        }
        dims[nd++] = v;
        p = q;
        while (*p == ' ') p++;
        if (*p == ',') p++;
    }
    if (nd != 2) {
        const char *close = strchr(sh, ')');
        rd_fatal(r, err, errlen, "expected a 2-D array (rows, dimensions), got shape %.*s",
                 (int)(close ? close - sh + 1 : 1), sh);
        goto done;
    }
    st->rows = dims[0];
    st->cols = dims[1];
    if (r->sc.n != 1) {
        rd_fatal(r, err, errlen, "the collection has %u vector fields but an .npy file holds "
                 "one (use .jsonl or .csv)", r->sc.n);
        goto done;
    }
    if (st->cols != r->sc.dim[0]) {
        rd_fatal(r, err, errlen, "expected %u dimensions, got %llu (shape (%llu, %llu))",
                 r->sc.dim[0], (unsigned long long)st->cols, (unsigned long long)st->rows,
                 (unsigned long long)st->cols);
        goto done;
    }
    /* cols <= VS_DIM_MAX here, so rows * cols * item overflows only for absurd rows. */
    uint64_t row_bytes = st->cols * st->item;
    if (st->rows > UINT64_MAX / row_bytes) {
        rd_fatal(r, err, errlen, "shape is too large");
        goto done;
    }
    uint64_t want = st->rows * row_bytes;
    uint64_t have = r->size > data_off ? r->size - data_off : 0;
    if (have < want) {
        rd_fatal(r, err, errlen, "truncated: the shape needs %llu bytes of data, the file has "
                 "%llu", (unsigned long long)want, (unsigned long long)have);
        goto done;
    }
    if (have > want) {
        rd_fatal(r, err, errlen, "%llu unexpected bytes after the array",
                 (unsigned long long)(have - want));
        goto done;
    }
    st->rowbuf = cli_xmalloc((size_t)row_bytes);
    rc = 0;
done:
    free(h);
    return rc;
}

static int npy_next(reader *r, rd_record *rec, char *err, size_t errlen) {
    npy_state *st = r->impl;
    if (r->row >= st->rows) return 0;
    rec->loc = r->row;
    size_t nb = (size_t)(st->cols * st->item);
    if (fread(st->rowbuf, 1, nb, r->f) != nb)
        return rd_fatal(r, err, errlen, "row %llu: %s", (unsigned long long)r->row,
                        ferror(r->f) ? strerror(errno) : "unexpected end of file");
    for (uint32_t i = 0; i < (uint32_t)st->cols; i++) {
        double v;
        if (st->item == 4) {
            uint32_t u = rd_le32(st->rowbuf + 4 * (size_t)i);
            float f;
            memcpy(&f, &u, 4);
            v = f;
        } else {
            uint64_t u = rd_le64(st->rowbuf + 8 * (size_t)i);
            memcpy(&v, &u, 8);
        }
        if (rd_put(r, rec, 0, i, v)) break;
    }
    if (!r->o.query_mode) rd_set_row_id(r, rec);
    return 1;
}

static void npy_close(reader *r) {
    npy_state *st = r->impl;
    if (!st) return;
    free(st->rowbuf);
    free(st);
    r->impl = NULL;
}

const rd_ops rd_npy_ops = {"npy", 1, npy_open, npy_next, npy_close};
