/*
 * output.c — formatters for results and tables (contract in output.h).
 */
#include "output.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* -------------------------------------------------------- primitives ---- */

void out_id_json(FILE *f, vs_id id) {
    if (id.kind == VS_ID_STR)
        txt_fjson_str(f, id.str ? id.str : "", id.str ? id.len : 0);
    else
        fprintf(f, "%" PRIu64, id.num);
}

void out_id_text(txt_buf *b, vs_id id, int quote) {
    if (id.kind != VS_ID_STR)
        txt_printf(b, "%" PRIu64, id.num);
    else if (quote)
        txt_json_str(b, id.str ? id.str : "", id.str ? id.len : 0);
    else
        txt_put(b, id.str ? id.str : "", id.str ? id.len : 0);
}

void out_num(FILE *f, double v) {
    if (isfinite(v))
        fprintf(f, "%.9g", v);
    else
        fputs("null", f);
}

void out_vector_text(txt_buf *b, const float *v, uint32_t dim) {
    txt_putc(b, '[');
    for (uint32_t i = 0; i < dim; i++) {
        if (i) txt_putc(b, ',');
        if (isfinite(v[i]))
            txt_printf(b, "%.9g", (double)v[i]);
        else
            txt_puts(b, "null");
    }
    txt_putc(b, ']');
}

void out_csv_cell(FILE *f, const char *s, size_t n) {
    int quote = 0;
    for (size_t i = 0; i < n && !quote; i++)
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
    if (!quote) {
        fwrite(s, 1, n, f);
        return;
    }
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') fputc('"', f);
        fputc(s[i], f);
    }
    fputc('"', f);
}

/* -------------------------------------------------------- tables -------- */

void tbl_init(out_table *t, size_t ncols) {
    memset(t, 0, sizeof *t);
    t->ncols = ncols;
}

void tbl_row(out_table *t, const char *const *cells) {
    if (t->nrows == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->cells = cli_xrealloc(t->cells, t->cap * t->ncols * sizeof *t->cells);
    }
    for (size_t c = 0; c < t->ncols; c++)
        t->cells[t->nrows * t->ncols + c] = cli_xstrdup(cells[c] ? cells[c] : "");
    t->nrows++;
}

void tbl_print(const out_table *t, FILE *f) {
    size_t *w = cli_xcalloc(t->ncols, sizeof *w);
    for (size_t r = 0; r < t->nrows; r++)
        for (size_t c = 0; c < t->ncols; c++) {
            size_t n = strlen(t->cells[r * t->ncols + c]);
            if (n > w[c]) w[c] = n;
        }
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const char *s = t->cells[r * t->ncols + c];
            if (c + 1 < t->ncols)
                fprintf(f, "%-*s  ", (int)w[c], s);
            else
                fputs(s, f);
        }
        fputc('\n', f);
    }
    free(w);
}

void tbl_free(out_table *t) {
    for (size_t i = 0; i < t->nrows * t->ncols; i++) free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof *t);
}

/* -------------------------------------------------------- points -------- */

/* One unnamed field prints as "vector": [...]; named fields as an object by name. */
static int vector_is_plain(const vs_coll_info *info) {
    return info->n_fields == 1 && info->fields[0].name[0] == 0;
}

static void vectors_text(const out_points *o, const vs_result *r, size_t g, size_t row,
                         txt_buf *b) {
    const vs_coll_info *info = o->info;
    int plain = vector_is_plain(info);
    if (!plain) txt_putc(b, '{');
    int first = 1;
    for (uint32_t fi = 0; fi < info->n_fields; fi++) {
        uint32_t dim = 0;
        const float *v = vs_result_vector(r, g, row, fi, &dim);
        if (!plain) {
            if (!first) txt_putc(b, ',');
            txt_json_str(b, info->fields[fi].name, strlen(info->fields[fi].name));
            txt_putc(b, ':');
        }
        first = 0;
        if (v)
            out_vector_text(b, v, dim);
        else
            txt_puts(b, "null");
        if (plain) break;
    }
    if (!plain) txt_putc(b, '}');
}

static const char *payload_of(const vs_result *r, size_t g, size_t row) {
    const char *p = vs_result_payload(r, g, row);
    return p ? p : "{}";
}

static void row_json(out_points *o, const vs_result *r, size_t g, size_t row) {
    FILE *f = o->f;
    fputs("{\"id\":", f);
    out_id_json(f, vs_result_id(r, g, row));
    if (o->scores) {
        fputs(",\"score\":", f);
        out_num(f, vs_result_score(r, g, row));
    }
    if (o->with_payload) {
        fputs(",\"payload\":", f);
        fputs(payload_of(r, g, row), f);
    }
    if (o->with_vector) {
        txt_buf b = {0};
        vectors_text(o, r, g, row, &b);
        fputs(",\"vector\":", f);
        fwrite(b.p, 1, b.len, f);
        txt_free(&b);
    }
    fputc('}', f);
}

/* The cells of one row for csv/table, in column order; returns the count. */
static size_t row_cells(out_points *o, const vs_result *r, size_t g, size_t row,
                        size_t query_no, txt_buf *bufs, int quote_ids) {
    size_t n = 0;
    if (o->query_col) {
        bufs[n].len = 0;
        txt_printf(&bufs[n++], "%zu", query_no);
    }
    bufs[n].len = 0;
    out_id_text(&bufs[n++], vs_result_id(r, g, row), quote_ids);
    if (o->scores) {
        bufs[n].len = 0;
        double s = vs_result_score(r, g, row);
        if (isfinite(s))
            txt_printf(&bufs[n++], "%.9g", s);
        else
            txt_puts(&bufs[n++], "null");
    }
    if (o->with_payload) {
        bufs[n].len = 0;
        txt_puts(&bufs[n++], payload_of(r, g, row));
    }
    if (o->with_vector) {
        bufs[n].len = 0;
        vectors_text(o, r, g, row, &bufs[n++]);
    }
    for (size_t i = 0; i < n; i++) txt_cstr(&bufs[i]);
    return n;
}

static size_t header_cells(const out_points *o, const char **h) {
    size_t n = 0;
    if (o->query_col) h[n++] = "query";
    h[n++] = "id";
    if (o->scores) h[n++] = "score";
    if (o->with_payload) h[n++] = "payload";
    if (o->with_vector) h[n++] = "vector";
    return n;
}

static void out_points_begin(out_points *o) {
    const char *h[5];
    if (o->begun) return;
    o->begun = 1;
    size_t n = header_cells(o, h);
    o->rows_out = 0;
    switch (o->fmt) {
    case FMT_JSON: fputc('[', o->f); break;
    case FMT_CSV:
        for (size_t i = 0; i < n; i++) {
            if (i) fputc(',', o->f);
            fputs(h[i], o->f);
        }
        fputc('\n', o->f);
        break;
    case FMT_TABLE:
        tbl_init(&o->tbl, n);
        tbl_row(&o->tbl, h);
        break;
    default: break;
    }
}

void out_points_init(out_points *o, int fmt, const vs_coll_info *info, int with) {
    memset(o, 0, sizeof *o);
    o->f = stdout;
    o->fmt = fmt;
    o->with_payload = (with & VS_WITH_PAYLOAD) != 0;
    o->with_vector = (with & VS_WITH_VECTOR) != 0;
    o->info = info;
}

void out_points_group(out_points *o, const vs_result *r, size_t g, size_t query_no) {
    size_t rows = vs_result_rows(r, g);
    out_points_begin(o);
    if (o->fmt == FMT_JSON) {
        for (size_t i = 0; i < rows; i++) {
            fputs(o->rows_out++ ? ",\n  " : "\n  ", o->f);
            row_json(o, r, g, i);
        }
        return;
    }
    if (o->fmt == FMT_JSONL) {
        if (o->group_arrays) fputc('[', o->f);
        for (size_t i = 0; i < rows; i++) {
            if (o->group_arrays && i) fputc(',', o->f);
            row_json(o, r, g, i);
            if (!o->group_arrays) fputc('\n', o->f);
        }
        if (o->group_arrays) fputs("]\n", o->f);
        o->rows_out += rows;
        return;
    }
    txt_buf bufs[5];
    memset(bufs, 0, sizeof bufs);
    for (size_t i = 0; i < rows; i++) {
        size_t n = row_cells(o, r, g, i, query_no, bufs, o->fmt == FMT_TABLE);
        if (o->fmt == FMT_CSV) {
            for (size_t c = 0; c < n; c++) {
                if (c) fputc(',', o->f);
                out_csv_cell(o->f, bufs[c].p, bufs[c].len);
            }
            fputc('\n', o->f);
        } else {
            const char *cells[5];
            for (size_t c = 0; c < n; c++) cells[c] = bufs[c].p;
            tbl_row(&o->tbl, cells);
        }
        o->rows_out++;
    }
    for (size_t c = 0; c < 5; c++) txt_free(&bufs[c]);
}

void out_points_end(out_points *o) {
    out_points_begin(o);
    switch (o->fmt) {
    case FMT_JSON: fputs(o->rows_out ? "\n]" : "]", o->f); break;
    case FMT_TABLE:
        tbl_print(&o->tbl, o->f);
        tbl_free(&o->tbl);
        break;
    default: break;
    }
}

void out_points_discard(out_points *o) {
    if (o->begun && o->fmt == FMT_TABLE) tbl_free(&o->tbl);
    o->begun = 0;
}

void out_points_finish(out_points *o, int rc) {
    if (rc) {
        out_points_discard(o);
        return;
    }
    out_points_end(o);
    if (o->fmt == FMT_JSON) fputc('\n', o->f);
}
