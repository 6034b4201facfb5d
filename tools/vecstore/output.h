/*
 * output.h — how results reach stdout: JSON, JSON Lines, CSV and aligned tables.
 *
 * JSON is written by hand rather than built as a cJSON tree: a result set can be large
 * (scroll --all streams a whole collection), payloads arrive from the library as compact
 * JSON text that is copied through untouched (no double→text round trip to lose digits
 * of big integers), and ids above 2^53 must print exactly. Scores and vector components
 * print with %.9g, enough digits to read a float32 back bit for bit.
 *
 * Tables are collected in memory and printed with aligned columns at the end; they are
 * meant for people, so string ids are shown JSON-quoted ("doc-1") to tell them apart
 * from numeric ids, while CSV cells carry ids as plain text.
 */
#ifndef VS_CLI_OUTPUT_H
#define VS_CLI_OUTPUT_H

#include <stddef.h>
#include <stdio.h>

#include "text.h"
#include "vecstore.h"

/* -------------------------------------------------------- primitives ---- */

void out_id_json(FILE *f, vs_id id);
/* Appends the id as text: numbers in decimal; strings JSON-quoted if quote, else raw. */
void out_id_text(txt_buf *b, vs_id id, int quote);
/* %.9g, or null for a value that is not finite. */
void out_num(FILE *f, double v);
void out_vector_text(txt_buf *b, const float *v, uint32_t dim);
/* One CSV cell, quoted when it holds a comma, quote, CR or LF (RFC 4180). */
void out_csv_cell(FILE *f, const char *s, size_t n);

/* -------------------------------------------------------- tables -------- */

typedef struct out_table {
    size_t ncols, nrows, cap;
    char **cells; /* nrows * ncols, row-major; row 0 is the header */
} out_table;

void tbl_init(out_table *t, size_t ncols);
/* Adds a row of ncols cells (copied). */
void tbl_row(out_table *t, const char *const *cells);
/* Prints with every column but the last padded to its widest cell, two spaces apart. */
void tbl_print(const out_table *t, FILE *f);
void tbl_free(out_table *t);

/* -------------------------------------------------------- points -------- */

/* Prints the rows of vs_result groups (query hits, get/scroll points). Usage: fill the
 * public fields, then out_points_group per group and out_points_end; the opening ('[',
 * the CSV header) is written with the first group or at the end, so a command that fails
 * before its first result prints nothing (call out_points_discard instead of _end).
 *   json   one array of all rows, pretty-printed one row per line
 *   jsonl  one row object per line, or with group_arrays one array per group per line
 *   csv    a header line, then one line per row
 *   table  aligned columns, printed at the end */
typedef struct out_points {
    FILE *f;
    int fmt;                   /* enum cli_format */
    int scores;                /* rows carry a score (query results) */
    int with_payload, with_vector;
    const vs_coll_info *info;  /* names the vector fields */
    int query_col;             /* csv/table: a first column with the query number */
    int group_arrays;          /* jsonl: one array per group */
    /* internal */
    int begun;
    size_t rows_out;
    out_table tbl;
} out_points;

/* Clears *o and sets it to print to stdout in fmt, with the columns that with (VS_WITH_*
 * bits) selects, naming info's fields; the other public fields stay 0. */
void out_points_init(out_points *o, int fmt, const vs_coll_info *info, int with);
void out_points_group(out_points *o, const vs_result *r, size_t g, size_t query_no);
void out_points_end(out_points *o);
void out_points_discard(out_points *o);
/* A command's last word on *o: out_points_end and, for json, a closing newline when rc is
 * 0; out_points_discard otherwise. */
void out_points_finish(out_points *o, int rc);

#endif
