/*
 * reader_jsonl.c — JSON Lines: one point per line.
 *
 *   {"id": 7, "vector": [0.1, 0.2], "payload": {"color": "red"}}
 *   {"id": "doc-8", "vector": {"text": [..], "image": [..]}}      (named fields)
 *
 * The key names come from --id-field/--vector-field/--payload-field. An id is an
 * unsigned integer written with digits only (no sign, fraction or exponent), or a
 * string. "vector" is an array when the collection has one vector field and an object of
 * named arrays otherwise (an object also works for a single named field). "payload" is
 * an object, or null/absent for {}. Other keys are ignored. Blank lines are skipped
 * (but counted, so line numbers match an editor's).
 *
 * In query mode a line is either a bare array or an object holding the vector key; ids
 * and payloads are not read.
 *
 * Each line is validated whole by cJSON, then the id and the payload are taken from the
 * line's own bytes (text.h explains why). A line is read with getline, so its length is
 * bounded only by memory (a 65536-dimension vector is about 1 MB of text).
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "cli.h"
#include "reader_int.h"

typedef struct jsonl_state {
    char *line;
    size_t cap;
    uint64_t lineno;
} jsonl_state;

static int jsonl_open(reader *r, char *err, size_t errlen) {
    (void)err;
    (void)errlen;
    r->impl = cli_xcalloc(1, sizeof(jsonl_state));
    return 0;
}

static void jsonl_close(reader *r) {
    jsonl_state *st = r->impl;
    if (!st) return;
    free(st->line);
    free(st);
    r->impl = NULL;
}

static void parse_id(const reader *r, rd_record *rec, const char *line, size_t len,
                     const cJSON *root) {
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, r->o.id_field);
    if (!id) {
        rd_bad(rec, "missing \"%s\"", r->o.id_field);
        return;
    }
    if (cJSON_IsString(id)) {
        rd_set_str_id(rec, id->valuestring, strlen(id->valuestring));
        return;
    }
    const char *raw;
    size_t rlen;
    if (cJSON_IsNumber(id) && txt_json_member(line, len, r->o.id_field, &raw, &rlen)) {
        uint64_t v;
        if (cli_parse_u64(raw, rlen, &v) == 0) {
            rec->id = vs_id_num(v);
            return;
        }
        int digits = 1;
        for (size_t i = 0; i < rlen; i++)
            if (raw[i] < '0' || raw[i] > '9') digits = 0;
        if (digits) {
            rd_bad(rec, "id %.*s does not fit in 64 bits", (int)(rlen > 40 ? 40 : rlen), raw);
            return;
        }
        rd_bad(rec, "id must be an unsigned integer or a string, got %.*s",
               (int)(rlen > 40 ? 40 : rlen), raw);
        return;
    }
    rd_bad(rec, "id must be an unsigned integer or a string");
}

static void parse_vectors(const reader *r, rd_record *rec, const cJSON *v) {
    if (cJSON_IsArray(v)) {
        if (r->sc.n != 1) {
            rd_bad(rec, "the collection has %u vector fields: \"%s\" must be an object "
                        "{\"name\": [...], ...}", r->sc.n, r->o.vector_field);
            return;
        }
        rd_json_vector(r, rec, 0, v);
        return;
    }
    if (!cJSON_IsObject(v)) {
        rd_bad(rec, "\"%s\" must be an array of numbers or an object of named vectors",
               r->o.vector_field);
        return;
    }
    int seen[VS_FIELDS_MAX] = {0};
    for (const cJSON *e = v->child; e; e = e->next) {
        int fi = rd_field_index(r, e->string);
        if (fi < 0) {
            if (r->o.query_mode) continue;
            rd_bad(rec, "unknown vector field '%s'", e->string);
            return;
        }
        if (seen[fi]) continue; /* duplicate key: cJSON's lookup takes the first, so do we */
        seen[fi] = 1;
        if (rd_json_vector(r, rec, (uint32_t)fi, e)) return;
    }
    for (uint32_t i = 0; i < r->sc.n; i++)
        if (!seen[i]) {
            rd_bad(rec, "missing vector field '%s'", r->sc.name[i]);
            return;
        }
}

static void parse_line(const reader *r, rd_record *rec, const char *line, size_t len) {
    if (memchr(line, 0, len)) {
        rd_bad(rec, "the line contains a NUL byte");
        return;
    }
    if (!txt_utf8_valid(line, len)) {
        rd_bad(rec, "the line is not valid UTF-8");
        return;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(line, &end, 1);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        long col = at && at >= line && at <= line + len ? (long)(at - line) + 1 : 0;
        rd_bad(rec, "invalid JSON at column %ld", col);
        return;
    }
    if (r->o.query_mode && cJSON_IsArray(root)) {
        if (r->sc.n == 1)
            rd_json_vector(r, rec, 0, root);
        else
            rd_bad(rec, "expected an object with \"%s\"", r->o.vector_field);
        goto done;
    }
    if (!cJSON_IsObject(root)) {
        rd_bad(rec, "expected a JSON object");
        goto done;
    }
    if (!r->o.query_mode) parse_id(r, rec, line, len, root);
    if (rec->bad) goto done;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, r->o.vector_field);
    if (!v) {
        rd_bad(rec, "missing \"%s\"", r->o.vector_field);
        goto done;
    }
    parse_vectors(r, rec, v);
    if (rec->bad || r->o.query_mode) goto done;
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(root, r->o.payload_field);
    if (!p || cJSON_IsNull(p)) goto done;
    if (!cJSON_IsObject(p)) {
        rd_bad(rec, "\"%s\" must be a JSON object", r->o.payload_field);
        goto done;
    }
    const char *raw;
    size_t rlen;
    if (txt_json_member(line, len, r->o.payload_field, &raw, &rlen))
        rd_set_payload(rec, raw, rlen);
    else
        rd_bad(rec, "cannot locate \"%s\" in the line", r->o.payload_field);
done:
    cJSON_Delete(root);
}

static int is_blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') return 0;
    return 1;
}

static int jsonl_next(reader *r, rd_record *rec, char *err, size_t errlen) {
    jsonl_state *st = r->impl;
    for (;;) {
        errno = 0;
        ssize_t n = getline(&st->line, &st->cap, r->f);
        if (n < 0) {
            if (ferror(r->f))
                return rd_fatal(r, err, errlen, "read error: %s",
                                strerror(errno ? errno : EIO));
            return 0;
        }
        st->lineno++;
        size_t len = (size_t)n;
        if (len && st->line[len - 1] == '\n') len--;
        if (len && st->line[len - 1] == '\r') len--;
        st->line[len] = 0;
        /* A UTF-8 byte order mark on the first line is not part of the data. */
        const char *line = st->line;
        if (st->lineno == 1 && len >= 3 && !memcmp(line, "\xEF\xBB\xBF", 3)) {
            line += 3;
            len -= 3;
        }
        if (is_blank(line, len)) continue;
        rec->loc = st->lineno;
        parse_line(r, rec, line, len);
        return 1;
    }
}

const rd_ops rd_jsonl_ops = {"jsonl", 0, jsonl_open, jsonl_next, jsonl_close};
