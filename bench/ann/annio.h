/*
 * annio.h — readers and writers for the files of ann-benchmarks and TEXMEX, header-only,
 * for the C drivers of the ANN benchmark (bench/ann/vecstore_ann.c) and its C++ peer
 * driver (bench/ann/hnswlib_driver.cpp). bench/ann/annio.py is the same in Python.
 *
 * FORMATS
 *   .fvecs  per vector: int32 d (little-endian), then d float32        (TEXMEX, SIFT1M)
 *   .ivecs  per vector: int32 d, then d int32      (ground truth, and our result files)
 *   .bvecs  per vector: int32 d, then d uint8                          (SIFT1B); read as float
 *   .npy    NumPy format 1.0/2.0/3.0: "\x93NUMPY", major, minor, header length (uint16
 *           for 1.0, uint32 after), a Python dict literal {'descr': '<f4', 'fortran_order':
 *           False, 'shape': (n, d), } padded with spaces to a 64-byte boundary, then the
 *           C-order data. Read here: descr <f4 / <f8 (as float32) and <i4 / <i8 (as int32),
 *           shape (n,) or (n, d), C order only; anything else is refused with a message.
 *   Every row of a *vecs file must have the same d (checked: a ragged or truncated file is
 *   refused rather than half-read). Little-endian hosts only (x86-64, arm64), like the
 *   formats themselves.
 *
 * OWNERSHIP
 *   Readers return a buffer of n*d elements, 64-byte aligned, that the caller frees with
 *   ann_free(); NULL on failure with a message (naming the file) in err[ANN_ERR_LEN].
 *
 * Not part of the library (no vs_ names): this is benchmark tooling. Everything is
 * `static inline` so that each driver compiles it into itself.
 */
#ifndef VS_BENCH_ANNIO_H
#define VS_BENCH_ANNIO_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ANN_ERR_LEN 256

enum ann_elem { ANN_F32 = 0, ANN_I32 = 1, ANN_U8 = 2 };

static inline void ann_free(void *p) { free(p); }

static inline void *ann_alloc(size_t bytes) {
    void *p = NULL;
    if (bytes == 0) bytes = 64;
    if (posix_memalign(&p, 64, (bytes + 63) / 64 * 64) != 0) return NULL;
    return p;
}

static inline const char *ann_ext(const char *path) {
    const char *dot = strrchr(path, '.');
    return dot ? dot + 1 : "";
}

/* Reads a .fvecs/.ivecs/.bvecs file whose elements are `elem`; the result holds float32
 * for ANN_F32 and ANN_U8 (converted), int32 for ANN_I32. */
static inline void *ann_read_vecs(const char *path, int elem, size_t *n_out, size_t *d_out,
                           char *err) {
    void *out = NULL;
    unsigned char *row = NULL;
    FILE *f = fopen(path, "rb");
    size_t esz = elem == ANN_U8 ? 1 : 4, n = 0, rowsz;
    int32_t d = 0;
    struct stat st;
    if (!f) {
        snprintf(err, ANN_ERR_LEN, "%s: cannot open", path);
        goto fail;
    }
    if (fstat(fileno(f), &st) != 0 || fread(&d, 4, 1, f) != 1) {
        snprintf(err, ANN_ERR_LEN, "%s: empty or unreadable", path);
        goto fail;
    }
    if (d <= 0 || d > (1 << 20)) {
        snprintf(err, ANN_ERR_LEN, "%s: first row has dimension %d", path, (int)d);
        goto fail;
    }
    rowsz = 4 + (size_t)d * esz;
    if ((size_t)st.st_size % rowsz) {
        snprintf(err, ANN_ERR_LEN, "%s: %lld bytes is not a whole number of %d-d rows", path,
                 (long long)st.st_size, (int)d);
        goto fail;
    }
    n = (size_t)st.st_size / rowsz;
    out = ann_alloc(n * (size_t)d * 4);
    row = (unsigned char *)malloc(rowsz);
    if (!out || !row) {
        snprintf(err, ANN_ERR_LEN, "%s: out of memory for %zu x %d", path, n, (int)d);
        goto fail;
    }
    rewind(f);
    for (size_t i = 0; i < n; i++) {
        int32_t di;
        if (fread(row, rowsz, 1, f) != 1) {
            snprintf(err, ANN_ERR_LEN, "%s: short read at row %zu", path, i);
            goto fail;
        }
        memcpy(&di, row, 4);
        if (di != d) {
            snprintf(err, ANN_ERR_LEN, "%s: row %zu has dimension %d, the first %d", path, i,
                     (int)di, (int)d);
            goto fail;
        }
        if (elem == ANN_U8) {
            float *o = (float *)out + i * (size_t)d;
            for (int32_t j = 0; j < d; j++) o[j] = (float)row[4 + j];
        } else {
            memcpy((char *)out + i * (size_t)d * 4, row + 4, (size_t)d * 4);
        }
    }
    free(row);
    fclose(f);
    *n_out = n;
    *d_out = (size_t)d;
    return out;
fail:
    free(row);
    ann_free(out);
    if (f) fclose(f);
    return NULL;
}

/* Finds 'key': in the .npy header dict and returns a pointer just past the colon. */
static inline const char *ann_npy_key(const char *hdr, const char *key) {
    const char *p = strstr(hdr, key);
    if (!p) return NULL;
    p = strchr(p + strlen(key), ':');
    return p ? p + 1 : NULL;
}

/* Reads a .npy file as float32 (want ANN_F32: descr <f4 or <f8) or int32 (ANN_I32: <i4 or
 * <i8, which must fit). Shape (n,) gives d = 1. */
static inline void *ann_read_npy(const char *path, int want, size_t *n_out, size_t *d_out, char *err) {
    FILE *f = fopen(path, "rb");
    unsigned char pre[12];
    char *hdr = NULL;
    void *raw = NULL, *out = NULL;
    uint32_t hlen;
    size_t n = 0, d = 1, esz;
    const char *p;
    char descr[8] = {0};
    if (!f) {
        snprintf(err, ANN_ERR_LEN, "%s: cannot open", path);
        goto fail;
    }
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0) {
        snprintf(err, ANN_ERR_LEN, "%s: not a .npy file", path);
        goto fail;
    }
    if (pre[6] == 1) {
        hlen = (uint32_t)pre[8] | (uint32_t)pre[9] << 8;
    } else if (pre[6] == 2 || pre[6] == 3) {
        if (fread(pre + 10, 1, 2, f) != 2) {
            snprintf(err, ANN_ERR_LEN, "%s: truncated header", path);
            goto fail;
        }
        hlen = (uint32_t)pre[8] | (uint32_t)pre[9] << 8 | (uint32_t)pre[10] << 16 |
               (uint32_t)pre[11] << 24;
    } else {
        snprintf(err, ANN_ERR_LEN, "%s: .npy format version %d is not supported", path, pre[6]);
        goto fail;
    }
    if (hlen > (1u << 20) || !(hdr = (char *)calloc(hlen + 1, 1)) ||
        fread(hdr, 1, hlen, f) != hlen) {
        snprintf(err, ANN_ERR_LEN, "%s: bad header", path);
        goto fail;
    }
    if (!(p = ann_npy_key(hdr, "'descr'")) || sscanf(p, " '%7[^']'", descr) != 1) {
        snprintf(err, ANN_ERR_LEN, "%s: header has no descr", path);
        goto fail;
    }
    if (!(p = ann_npy_key(hdr, "'fortran_order'")) || strncmp(p + strspn(p, " "), "False", 5)) {
        snprintf(err, ANN_ERR_LEN, "%s: only C-order arrays are supported", path);
        goto fail;
    }
    if (!(p = ann_npy_key(hdr, "'shape'")) || !(p = strchr(p, '('))) {
        snprintf(err, ANN_ERR_LEN, "%s: header has no shape", path);
        goto fail;
    } else {
        /* "(n,)" or "(n, d)": count the integers up to the closing parenthesis. */
        unsigned long long dims[3];
        int nd = 0;
        const char *q = p + 1;
        while (*q && *q != ')') {
            if (*q >= '0' && *q <= '9') {
                char *end;
                if (nd == 3) break;
                dims[nd++] = strtoull(q, &end, 10);
                q = end;
            } else {
                q++;
            }
        }
        if (*q != ')' || nd < 1 || nd > 2) {
            snprintf(err, ANN_ERR_LEN, "%s: only 1-d and 2-d shapes are supported", path);
            goto fail;
        }
        n = (size_t)dims[0];
        d = nd == 2 ? (size_t)dims[1] : 1;
    }
    if (!strcmp(descr, "<f4") || !strcmp(descr, "<i4")) esz = 4;
    else if (!strcmp(descr, "<f8") || !strcmp(descr, "<i8")) esz = 8;
    else {
        snprintf(err, ANN_ERR_LEN, "%s: dtype %s is not supported", path, descr);
        goto fail;
    }
    if ((want == ANN_F32) != (descr[1] == 'f')) {
        snprintf(err, ANN_ERR_LEN, "%s: dtype %s where %s was expected", path, descr,
                 want == ANN_F32 ? "float" : "integer");
        goto fail;
    }
    raw = ann_alloc(n * d * esz);
    out = esz == 4 ? raw : ann_alloc(n * d * 4);
    if (!raw || !out) {
        snprintf(err, ANN_ERR_LEN, "%s: out of memory for %zu x %zu", path, n, d);
        goto fail;
    }
    if (fread(raw, esz, n * d, f) != n * d) {
        snprintf(err, ANN_ERR_LEN, "%s: short read (header says %zu x %zu)", path, n, d);
        goto fail;
    }
    if (esz == 8) {
        for (size_t i = 0; i < n * d; i++) {
            if (descr[1] == 'f') {
                ((float *)out)[i] = (float)((const double *)raw)[i];
            } else {
                int64_t v = ((const int64_t *)raw)[i];
                if (v < INT32_MIN || v > INT32_MAX) {
                    snprintf(err, ANN_ERR_LEN, "%s: element %zu does not fit int32", path, i);
                    goto fail;
                }
                ((int32_t *)out)[i] = (int32_t)v;
            }
        }
        ann_free(raw);
    }
    raw = NULL;
    free(hdr);
    fclose(f);
    *n_out = n;
    *d_out = d;
    return out;
fail:
    if (out != raw) ann_free(out);
    ann_free(raw);
    free(hdr);
    if (f) fclose(f);
    return NULL;
}

/* float32 vectors from .fvecs, .bvecs or .npy, chosen by the extension. */
static inline float *ann_read_f32(const char *path, size_t *n, size_t *d, char *err) {
    const char *e = ann_ext(path);
    if (!strcmp(e, "fvecs")) return (float *)ann_read_vecs(path, ANN_F32, n, d, err);
    if (!strcmp(e, "bvecs")) return (float *)ann_read_vecs(path, ANN_U8, n, d, err);
    if (!strcmp(e, "npy")) return (float *)ann_read_npy(path, ANN_F32, n, d, err);
    snprintf(err, ANN_ERR_LEN, "%s: unknown extension (want .fvecs, .bvecs or .npy)", path);
    return NULL;
}

/* int32 rows from .ivecs or .npy (ground truth ids). */
static inline int32_t *ann_read_i32(const char *path, size_t *n, size_t *d, char *err) {
    const char *e = ann_ext(path);
    if (!strcmp(e, "ivecs")) return (int32_t *)ann_read_vecs(path, ANN_I32, n, d, err);
    if (!strcmp(e, "npy")) return (int32_t *)ann_read_npy(path, ANN_I32, n, d, err);
    snprintf(err, ANN_ERR_LEN, "%s: unknown extension (want .ivecs or .npy)", path);
    return NULL;
}

/* Writes n rows of d int32 as .ivecs (d = k result ids per query). 0 or -1 (err set). */
static inline int ann_write_ivecs(const char *path, const int32_t *x, size_t n, size_t d, char *err) {
    FILE *f = fopen(path, "wb");
    int32_t dd = (int32_t)d;
    if (!f) {
        snprintf(err, ANN_ERR_LEN, "%s: cannot create", path);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (fwrite(&dd, 4, 1, f) != 1 || fwrite(x + i * d, 4, d, f) != d) {
            snprintf(err, ANN_ERR_LEN, "%s: write failed", path);
            fclose(f);
            return -1;
        }
    }
    if (fclose(f) != 0) {
        snprintf(err, ANN_ERR_LEN, "%s: write failed", path);
        return -1;
    }
    return 0;
}

#endif
