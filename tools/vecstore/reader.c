/*
 * reader.c — the format-independent half of the readers (contract in reader.h): picking
 * a backend, opening and rewinding the file, and the checks every backend shares.
 *
 * Rewinding closes and reopens the file rather than seeking, so that each pass starts
 * from exactly the state a fresh open has (header parsed again, counters zero) with no
 * backend-specific rewind code to get wrong.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "cli.h"
#include "reader_int.h"

static const rd_ops *const backends[] = {&rd_jsonl_ops, &rd_csv_ops, &rd_npy_ops,
                                         &rd_fvecs_ops};

int rd_format_of(const char *s, int by_ext) {
    static const struct {
        const char *name;
        int fmt;
    } names[] = {{"jsonl", RD_JSONL}, {"ndjson", RD_JSONL}, {"csv", RD_CSV},
                 {"npy", RD_NPY},     {"fvecs", RD_FVECS}};
    if (by_ext) {
        const char *slash = strrchr(s, '/');
        const char *dot = strrchr(slash ? slash : s, '.');
        if (!dot) return -1;
        s = dot + 1;
    }
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcasecmp(s, names[i].name)) return names[i].fmt;
    return -1;
}

void rd_schema_from_info(rd_schema *sc, const vs_coll_info *info) {
    memset(sc, 0, sizeof *sc);
    sc->n = info->n_fields;
    for (uint32_t i = 0; i < info->n_fields && i < VS_FIELDS_MAX; i++) {
        memcpy(sc->name[i], info->fields[i].name, sizeof sc->name[i]);
        sc->name[i][VS_NAME_MAX] = 0;
        sc->dim[i] = info->fields[i].dim;
    }
}

static int open_file(reader *r, char *err, size_t errlen) {
    r->f = fopen(r->path, "rb");
    if (!r->f) return rd_fatal(r, err, errlen, "%s", strerror(errno));
    struct stat st;
    if (fstat(fileno(r->f), &st) == 0 && S_ISDIR(st.st_mode))
        return rd_fatal(r, err, errlen, "is a directory");
    r->size = fstat(fileno(r->f), &st) == 0 ? (uint64_t)st.st_size : 0;
    r->row = 0;
    return r->ops->open(r, err, errlen);
}

int rd_open(reader **out, const char *path, int format, const rd_schema *sc,
            const rd_opts *o, char *err, size_t errlen) {
    *out = NULL;
    reader *r = cli_xcalloc(1, sizeof *r);
    r->ops = backends[format];
    r->format = format;
    r->path = cli_xstrdup(path);
    r->sc = *sc;
    r->o = *o;
    if (!r->o.id_field) r->o.id_field = "id";
    if (!r->o.vector_field) r->o.vector_field = "vector";
    if (!r->o.payload_field) r->o.payload_field = "payload";
    for (uint32_t i = 0; i < sc->n; i++) r->vec[i] = cli_xcalloc(sc->dim[i], sizeof(float));
    if (open_file(r, err, errlen)) {
        rd_close(r);
        return -1;
    }
    *out = r;
    return 0;
}

int rd_next(reader *r, rd_record *rec, char *err, size_t errlen) {
    rec->loc = 0;
    rec->bad = 0;
    rec->reason[0] = 0;
    rec->payload = NULL;
    rec->payload_len = 0;
    rec->id = vs_id_num(0);
    for (uint32_t i = 0; i < r->sc.n; i++) rec->vec[i] = r->vec[i];
    int rc = r->ops->next(r, rec, err, errlen);
    if (rc == 1) r->row++;
    return rc;
}

int rd_rewind(reader *r, char *err, size_t errlen) {
    r->ops->close(r);
    r->impl = NULL;
    if (r->f) fclose(r->f);
    r->f = NULL;
    return open_file(r, err, errlen);
}

double rd_fraction(reader *r) {
    if (!r->f || r->size == 0) return 0;
    off_t pos = ftello(r->f);
    return pos < 0 ? 0 : (double)pos / (double)r->size;
}

void rd_where(const reader *r, const rd_record *rec, char *buf, size_t len) {
    if (r->ops->loc_is_row)
        snprintf(buf, len, "%s: row %llu", r->path, (unsigned long long)rec->loc);
    else
        snprintf(buf, len, "%s:%llu", r->path, (unsigned long long)rec->loc);
}

void rd_close(reader *r) {
    if (!r) return;
    if (r->ops) r->ops->close(r);
    if (r->f) fclose(r->f);
    for (uint32_t i = 0; i < VS_FIELDS_MAX; i++) free(r->vec[i]);
    txt_free(&r->pay);
    free(r->path);
    free(r);
}

/* ------------------------------------------------------------ checks ---- */

void rd_bad(rd_record *rec, const char *fmt, ...) {
    if (rec->bad) return;
    rec->bad = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rec->reason, sizeof rec->reason, fmt, ap);
    va_end(ap);
}

int rd_fatal(const reader *r, char *err, size_t errlen, const char *fmt, ...) {
    int n = snprintf(err, errlen, "%s: ", r->path);
    if (n < 0 || (size_t)n >= errlen) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

void rd_component(const reader *r, uint32_t fi, uint32_t i, char *buf, size_t len) {
    if (r->sc.name[fi][0])
        snprintf(buf, len, "vector '%s'[%u]", r->sc.name[fi], i);
    else
        snprintf(buf, len, "vector[%u]", i);
}

int rd_put(const reader *r, rd_record *rec, uint32_t fi, uint32_t i, double v) {
    char where[VS_NAME_MAX + 32];
    if (!isfinite(v)) {
        rd_component(r, fi, i, where, sizeof where);
        rd_bad(rec, "%s is NaN or infinity", where);
        return -1;
    }
    if (fabs(v) > FLT_MAX) {
        rd_component(r, fi, i, where, sizeof where);
        rd_bad(rec, "%s = %g is out of float32 range", where, v);
        return -1;
    }
    r->vec[fi][i] = (float)v;
    return 0;
}

int rd_json_vector(const reader *r, rd_record *rec, uint32_t fi, const cJSON *arr) {
    const char *label = r->sc.name[fi][0] ? r->sc.name[fi] : r->o.vector_field;
    if (!cJSON_IsArray(arr)) {
        rd_bad(rec, "\"%s\" must be an array of numbers", label);
        return -1;
    }
    int n = cJSON_GetArraySize(arr);
    if ((uint32_t)n != r->sc.dim[fi]) {
        if (r->sc.name[fi][0])
            rd_bad(rec, "vector '%s': expected %u dimensions, got %d", label, r->sc.dim[fi], n);
        else
            rd_bad(rec, "expected %u dimensions, got %d", r->sc.dim[fi], n);
        return -1;
    }
    uint32_t i = 0;
    for (const cJSON *e = arr->child; e; e = e->next, i++) {
        if (!cJSON_IsNumber(e)) {
            char where[VS_NAME_MAX + 32];
            rd_component(r, fi, i, where, sizeof where);
            rd_bad(rec, "%s is not a number", where);
            return -1;
        }
        if (rd_put(r, rec, fi, i, e->valuedouble)) return -1;
    }
    return 0;
}

int rd_field_index(const reader *r, const char *name) {
    for (uint32_t i = 0; i < r->sc.n; i++)
        if (!strcmp(r->sc.name[i], name)) return (int)i;
    return -1;
}

int rd_set_str_id(rd_record *rec, const char *s, size_t n) {
    if (n == 0) {
        rd_bad(rec, "empty id");
        return -1;
    }
    if (n > VS_ID_STR_MAX) {
        rd_bad(rec, "id of %zu bytes is longer than %d", n, VS_ID_STR_MAX);
        return -1;
    }
    if (memchr(s, 0, n) || !txt_utf8_valid(s, n)) {
        rd_bad(rec, "id is not valid UTF-8 text");
        return -1;
    }
    memcpy(rec->idbuf, s, n);
    rec->idbuf[n] = 0;
    rec->id.kind = VS_ID_STR;
    rec->id.num = 0;
    rec->id.str = rec->idbuf;
    rec->id.len = (uint32_t)n;
    return 0;
}

int rd_set_row_id(const reader *r, rd_record *rec) {
    if (r->o.first_id > UINT64_MAX - r->row) {
        rd_bad(rec, "id %llu + %llu does not fit in 64 bits",
               (unsigned long long)r->o.first_id, (unsigned long long)r->row);
        return -1;
    }
    rec->id = vs_id_num(r->o.first_id + r->row);
    return 0;
}

int rd_set_payload(rd_record *rec, const char *s, size_t n) {
    if (n > VS_PAYLOAD_MAX) {
        rd_bad(rec, "payload of %zu bytes is larger than %u", n, VS_PAYLOAD_MAX);
        return -1;
    }
    rec->payload = s;
    rec->payload_len = n;
    return 0;
}

uint32_t rd_le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint64_t rd_le64(const unsigned char *p) {
    return (uint64_t)rd_le32(p) | (uint64_t)rd_le32(p + 4) << 32;
}
