/*
 * reader_csv.c — comma-separated values with a header row.
 *
 * Records follow RFC 4180: fields separated by ',', optionally enclosed in double quotes,
 * '""' inside quotes is one quote, quoted fields may span lines, lines end with LF or
 * CRLF. A UTF-8 byte order mark before the header is skipped; blank lines are skipped.
 *
 * The header names the columns (surrounding spaces trimmed). Their roles:
 *   id column (--id-field, "id")   digits only → numeric id, anything else → string id
 *                                  (--str-ids: always string). Without an id column the
 *                                  ids are --first-id + data row (from 0).
 *   vector, single-field collection: either one column named --vector-field ("vector")
 *       holding a JSON array, or one column per component named v0..v{dim-1} or
 *       0..{dim-1}.
 *   vector of a named field F (any collection): a column F holding a JSON array, or
 *       columns F.0..F.{dim-1}.
 *   payload column (--payload-field, "payload"), optional: a JSON object merged into the
 *       payload; its keys may not repeat a column name.
 *   every other column: a payload key. An empty cell leaves the key out; a cell that is a
 *       JSON number (after trimming spaces; "007" is not one) becomes a number, "true"
 *       and "false" become booleans, anything else is kept as a string, unchanged.
 *
 * Header problems (missing or extra vector columns, duplicates) are fatal: every record
 * would be bad. The payload is assembled as text from the cells themselves, so numbers
 * keep every digit they were written with.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "reader_int.h"

enum { ROLE_META = 0, ROLE_ID, ROLE_PAYLOAD, ROLE_VJSON, ROLE_VNUM, ROLE_IGNORE };

typedef struct csv_state {
    txt_buf buf;        /* the cells of the current record, each NUL-terminated */
    size_t *off;        /* cell i starts at buf.p + off[i] */
    size_t *len;
    size_t ncells, capcells;
    int unterminated;   /* the record ended inside quotes (at end of file) */
    uint64_t line;      /* line number of the next character */
    uint64_t hline;     /* line the header starts on */
    int eof;

    size_t ncols;
    char **colname;
    int *role;
    uint32_t *field;    /* for vector roles: schema field */
    uint32_t *comp;     /* for ROLE_VNUM: component */
    long id_col, payload_col;
} csv_state;

static void add_cell(csv_state *st, size_t start) {
    if (st->ncells == st->capcells) {
        st->capcells = st->capcells ? st->capcells * 2 : 16;
        st->off = cli_xrealloc(st->off, st->capcells * sizeof *st->off);
        st->len = cli_xrealloc(st->len, st->capcells * sizeof *st->len);
    }
    st->off[st->ncells] = start;
    st->len[st->ncells] = st->buf.len - start;
    st->ncells++;
    txt_putc(&st->buf, 0);
}

/* Reads one record. Returns 1 with the cells in st, 0 at end of file, -1 on I/O error. */
static int read_record(reader *r, csv_state *st) {
    FILE *f = r->f;
    st->buf.len = 0;
    st->ncells = 0;
    st->unterminated = 0;
    if (st->eof) return 0;
    int c = getc(f);
    if (c == EOF) {
        st->eof = 1;
        return ferror(f) ? -1 : 0;
    }
    size_t start = 0;
    int in_quotes = 0, quoted = 0;
    for (;;) {
        if (c == EOF) {
            if (ferror(f)) return -1;
            st->eof = 1;
            st->unterminated = in_quotes;
            add_cell(st, start);
            return 1;
        }
        if (in_quotes) {
            if (c == '"') {
                int d = getc(f);
                if (d == '"') {
                    txt_putc(&st->buf, '"');
                } else {
                    in_quotes = 0;
                    c = d;
                    continue;
                }
            } else {
                if (c == '\n') st->line++;
                txt_putc(&st->buf, (char)c);
            }
        } else if (c == '"' && !quoted && st->buf.len == start) {
            in_quotes = quoted = 1;
        } else if (c == ',') {
            add_cell(st, start);
            start = st->buf.len;
            quoted = 0;
        } else if (c == '\n' || c == '\r') {
            if (c == '\r') {
                int d = getc(f);
                if (d != '\n' && d != EOF) ungetc(d, f);
            }
            st->line++;
            add_cell(st, start);
            return 1;
        } else {
            txt_putc(&st->buf, (char)c);
        }
        c = getc(f);
    }
}

static const char *cell(const csv_state *st, size_t i) { return st->buf.p + st->off[i]; }

static int blank_record(const csv_state *st) {
    return st->ncells == 1 && st->len[0] == 0 && !st->unterminated;
}

/* Trims spaces and tabs: [*s, *s + *n). */
static void trim(const char **s, size_t *n) {
    while (*n && (**s == ' ' || **s == '\t')) (*s)++, (*n)--;
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t')) (*n)--;
}

/* If name is prefix followed by only digits, stores the number. */
static int numbered(const char *name, const char *prefix, uint32_t *idx) {
    size_t pl = strlen(prefix);
    if (strncmp(name, prefix, pl)) return 0;
    uint64_t v;
    const char *d = name + pl;
    if (cli_parse_u64(d, strlen(d), &v) || v > UINT32_MAX) return 0;
    *idx = (uint32_t)v;
    return 1;
}

static int map_header(reader *r, csv_state *st, char *err, size_t errlen) {
    const rd_schema *sc = &r->sc;
    st->ncols = st->ncells;
    st->colname = cli_xcalloc(st->ncols, sizeof *st->colname);
    st->role = cli_xcalloc(st->ncols, sizeof *st->role);
    st->field = cli_xcalloc(st->ncols, sizeof *st->field);
    st->comp = cli_xcalloc(st->ncols, sizeof *st->comp);
    st->id_col = st->payload_col = -1;
    long json_col[VS_FIELDS_MAX];
    uint32_t nnum[VS_FIELDS_MAX] = {0};
    for (uint32_t fi = 0; fi < VS_FIELDS_MAX; fi++) json_col[fi] = -1;
    uint64_t hl = st->hline;

    for (size_t c = 0; c < st->ncols; c++) {
        const char *s = cell(st, c);
        size_t n = st->len[c];
        if (c == 0 && n >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3)) s += 3, n -= 3;
        trim(&s, &n);
        st->colname[c] = cli_xmalloc(n + 1);
        memcpy(st->colname[c], s, n);
        st->colname[c][n] = 0;
    }
    for (size_t c = 0; c < st->ncols; c++) {
        const char *nm = st->colname[c];
        if (!*nm) return rd_fatal(r, err, errlen, "line %llu: column %zu has no name",
                                  (unsigned long long)hl, c + 1);
        for (size_t k = 0; k < c; k++)
            if (!strcmp(st->colname[k], nm))
                return rd_fatal(r, err, errlen, "line %llu: duplicate column '%s'",
                                (unsigned long long)hl, nm);
        uint32_t idx = 0;
        int fi = -1;
        int role = ROLE_META;
        if (!r->o.query_mode && !strcmp(nm, r->o.id_field)) {
            role = ROLE_ID;
        } else if (!r->o.query_mode && !strcmp(nm, r->o.payload_field)) {
            role = ROLE_PAYLOAD;
        } else if (sc->n == 1 && !strcmp(nm, r->o.vector_field)) {
            role = ROLE_VJSON, fi = 0;
        } else if (sc->n == 1 && (numbered(nm, "v", &idx) || numbered(nm, "", &idx))) {
            role = ROLE_VNUM, fi = 0;
        } else {
            for (uint32_t k = 0; k < sc->n && fi < 0; k++) {
                if (!sc->name[k][0]) continue;
                char prefix[VS_NAME_MAX + 2];
                snprintf(prefix, sizeof prefix, "%s.", sc->name[k]);
                if (!strcmp(nm, sc->name[k]))
                    role = ROLE_VJSON, fi = (int)k;
                else if (numbered(nm, prefix, &idx))
                    role = ROLE_VNUM, fi = (int)k;
            }
        }
        if (r->o.query_mode && role == ROLE_META) role = ROLE_IGNORE;
        st->role[c] = role;
        if (role == ROLE_ID) st->id_col = (long)c;
        if (role == ROLE_PAYLOAD) st->payload_col = (long)c;
        if (role == ROLE_VJSON) {
            st->field[c] = (uint32_t)fi;
            json_col[fi] = (long)c;
        }
        if (role == ROLE_VNUM) {
            if (idx >= sc->dim[fi])
                return rd_fatal(r, err, errlen,
                                "line %llu: column '%s' is beyond the %u dimensions of the "
                                "collection's vectors",
                                (unsigned long long)hl, nm, sc->dim[fi]);
            st->field[c] = (uint32_t)fi;
            st->comp[c] = idx;
            nnum[fi]++;
        }
    }
    for (uint32_t fi = 0; fi < sc->n; fi++) {
        char label[VS_NAME_MAX + 16];
        if (sc->name[fi][0])
            snprintf(label, sizeof label, "'%s'", sc->name[fi]);
        else
            snprintf(label, sizeof label, "'%s'", r->o.vector_field);
        const char *pfx = sc->name[fi][0] ? sc->name[fi] : "v";
        const char *dot = sc->name[fi][0] ? "." : "";
        if (json_col[fi] >= 0 && nnum[fi])
            return rd_fatal(r, err, errlen,
                            "line %llu: vector %s is given both as one column and as "
                            "numbered columns",
                            (unsigned long long)hl, label);
        if (json_col[fi] < 0 && nnum[fi] == 0)
            return rd_fatal(r, err, errlen,
                            "line %llu: no column for vector %s: expected %s (a JSON array) "
                            "or %s%s0..%s%s%u",
                            (unsigned long long)hl, label, label, pfx, dot, pfx, dot,
                            sc->dim[fi] - 1);
        if (nnum[fi] && nnum[fi] != sc->dim[fi]) {
            /* Numbered columns are unique (duplicates were rejected) and in range, so a
             * count short of dim means some are missing: name the first. */
            for (uint32_t i = 0; i < sc->dim[fi]; i++) {
                int found = 0;
                for (size_t c = 0; c < st->ncols && !found; c++)
                    found = st->role[c] == ROLE_VNUM && st->field[c] == fi && st->comp[c] == i;
                if (!found)
                    return rd_fatal(r, err, errlen,
                                    "line %llu: the collection's vectors have %u dimensions "
                                    "but there is no column %s%s%u",
                                    (unsigned long long)hl, sc->dim[fi], pfx, dot, i);
            }
        }
    }
    /* Two numbered spellings of one component ("v0" and "0") would both count. */
    for (size_t a = 0; a < st->ncols; a++)
        for (size_t b = a + 1; b < st->ncols; b++)
            if (st->role[a] == ROLE_VNUM && st->role[b] == ROLE_VNUM &&
                st->field[a] == st->field[b] && st->comp[a] == st->comp[b])
                return rd_fatal(r, err, errlen, "line %llu: columns '%s' and '%s' are the same "
                                "vector component", (unsigned long long)hl, st->colname[a],
                                st->colname[b]);
    return 0;
}

static int csv_open(reader *r, char *err, size_t errlen) {
    csv_state *st = cli_xcalloc(1, sizeof *st);
    r->impl = st;
    st->line = 1;
    for (;;) {
        st->hline = st->line;
        int rc = read_record(r, st);
        if (rc < 0) return rd_fatal(r, err, errlen, "read error: %s", strerror(errno));
        if (rc == 0) return 0; /* empty file: no header, no records */
        if (!blank_record(st)) break;
    }
    if (st->unterminated)
        return rd_fatal(r, err, errlen, "header: unterminated quoted field");
    return map_header(r, st, err, errlen);
}

static void csv_close(reader *r) {
    csv_state *st = r->impl;
    if (!st) return;
    for (size_t c = 0; c < st->ncols; c++) free(st->colname[c]);
    free(st->colname);
    free(st->role);
    free(st->field);
    free(st->comp);
    free(st->off);
    free(st->len);
    txt_free(&st->buf);
    free(st);
    r->impl = NULL;
}

static void put_value(txt_buf *b, const char *s, size_t n) {
    const char *t = s;
    size_t tn = n;
    trim(&t, &tn);
    if (tn && txt_is_json_number(t, tn)) {
        /* strtod stops at the NUL that ends every cell, so t[tn..] is harmless. */
        double v = strtod(t, NULL);
        if (isfinite(v)) {
            txt_put(b, t, tn);
            return;
        }
    }
    if ((tn == 4 && !memcmp(t, "true", 4)) || (tn == 5 && !memcmp(t, "false", 5))) {
        txt_put(b, t, tn);
        return;
    }
    txt_json_str(b, s, n);
}

static void build_payload(reader *r, csv_state *st, rd_record *rec) {
    txt_buf *b = &r->pay;
    b->len = 0;
    txt_putc(b, '{');
    int any = 0;
    for (size_t c = 0; c < st->ncols; c++) {
        if (st->role[c] != ROLE_META || st->len[c] == 0) continue;
        if (any) txt_putc(b, ',');
        txt_json_str(b, st->colname[c], strlen(st->colname[c]));
        txt_putc(b, ':');
        put_value(b, cell(st, (size_t)c), st->len[c]);
        any = 1;
    }
    if (st->payload_col >= 0 && st->len[st->payload_col]) {
        const char *s = cell(st, (size_t)st->payload_col);
        cJSON *j = cJSON_ParseWithOpts(s, NULL, 1);
        if (!j || !cJSON_IsObject(j)) {
            cJSON_Delete(j);
            rd_bad(rec, "column '%s' must hold a JSON object", r->o.payload_field);
            return;
        }
        for (const cJSON *e = j->child; e; e = e->next)
            for (size_t c = 0; c < st->ncols; c++)
                if (st->role[c] == ROLE_META && !strcmp(st->colname[c], e->string)) {
                    rd_bad(rec, "payload key '%s' is also a column", e->string);
                    cJSON_Delete(j);
                    return;
                }
        int empty = j->child == NULL;
        cJSON_Delete(j);
        if (!empty) {
            /* Splice the object's members in as written: from after '{' to before '}'. */
            const char *open = strchr(s, '{');
            const char *close = strrchr(s, '}');
            if (any) txt_putc(b, ',');
            txt_put(b, open + 1, (size_t)(close - open - 1));
            any = 1;
        }
    }
    txt_putc(b, '}');
    if (any) rd_set_payload(rec, b->p, b->len);
}

static void parse_record(reader *r, csv_state *st, rd_record *rec) {
    if (st->unterminated) {
        rd_bad(rec, "unterminated quoted field");
        return;
    }
    if (st->ncells != st->ncols) {
        rd_bad(rec, "expected %zu fields, got %zu", st->ncols, st->ncells);
        return;
    }
    if (!txt_utf8_valid(st->buf.p, st->buf.len)) {
        rd_bad(rec, "the record is not valid UTF-8");
        return;
    }
    for (size_t c = 0; c < st->ncols; c++) {
        const char *s = cell(st, c);
        size_t n = st->len[c];
        if (memchr(s, 0, n)) {
            rd_bad(rec, "column '%s' contains a NUL byte", st->colname[c]);
            return;
        }
        if (st->role[c] == ROLE_VJSON) {
            cJSON *j = cJSON_ParseWithOpts(s, NULL, 1);
            if (!j) {
                rd_bad(rec, "column '%s' must hold a JSON array of numbers", st->colname[c]);
                return;
            }
            int rc = rd_json_vector(r, rec, st->field[c], j);
            cJSON_Delete(j);
            if (rc) return;
        } else if (st->role[c] == ROLE_VNUM) {
            const char *t = s;
            size_t tn = n;
            trim(&t, &tn);
            if (!tn) {
                rd_bad(rec, "column '%s' is empty", st->colname[c]);
                return;
            }
            char *end;
            errno = 0;
            double v = strtod(t, &end);
            if (end != t + tn) {
                rd_bad(rec, "column '%s': '%.40s' is not a number", st->colname[c], s);
                return;
            }
            if (rd_put(r, rec, st->field[c], st->comp[c], v)) return;
        }
    }
    if (r->o.query_mode) return;
    if (st->id_col < 0) {
        rd_set_row_id(r, rec);
    } else {
        const char *s = cell(st, (size_t)st->id_col);
        size_t n = st->len[st->id_col];
        trim(&s, &n);
        uint64_t v;
        int digits = n > 0;
        for (size_t i = 0; i < n; i++)
            if (s[i] < '0' || s[i] > '9') digits = 0;
        if (digits && !r->o.str_ids) {
            if (cli_parse_u64(s, n, &v)) {
                rd_bad(rec, "id %.40s does not fit in 64 bits (--str-ids reads ids as strings)",
                       s);
                return;
            }
            rec->id = vs_id_num(v);
        } else if (rd_set_str_id(rec, s, n)) {
            return;
        }
    }
    build_payload(r, st, rec);
}

static int csv_next(reader *r, rd_record *rec, char *err, size_t errlen) {
    csv_state *st = r->impl;
    if (!st->ncols) return 0; /* empty file */
    for (;;) {
        uint64_t line = st->line;
        int rc = read_record(r, st);
        if (rc < 0) return rd_fatal(r, err, errlen, "read error: %s", strerror(errno));
        if (rc == 0) return 0;
        if (blank_record(st)) continue;
        rec->loc = line;
        parse_record(r, st, rec);
        return 1;
    }
}

const rd_ops rd_csv_ops = {"csv", 0, csv_open, csv_next, csv_close};
