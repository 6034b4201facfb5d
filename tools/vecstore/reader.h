/*
 * reader.h — streaming readers for the files `import` loads and `query --queries` reads:
 * .jsonl, .csv, .npy and .fvecs.
 *
 * A reader hands out one record at a time and keeps only that record in memory, so a file
 * of any size can be validated in one pass and imported in a second (rd_rewind). Every
 * record comes back either good or marked bad with a reason; a bad record does not stop
 * the reader, so one pass can list every problem. Only damage that makes the rest of the
 * file unreadable (a broken .npy header, an .fvecs dimension word that cannot be right,
 * a CSV header without the vector columns, an I/O error) is fatal.
 *
 * What a reader checks, so that the library's all-or-nothing batch never fails on data:
 * ids (unsigned 64-bit integers, or UTF-8 strings of 1..VS_ID_STR_MAX bytes), the
 * number of components of every vector field against the collection's schema, that every
 * component is a finite float32 (NaN, infinity and values beyond FLT_MAX are rejected),
 * and that the payload is a JSON object of at most VS_PAYLOAD_MAX bytes.
 *
 * Locations: text formats report 1-based line numbers (a CSV record spanning lines is
 * reported at its first line); binary formats report 0-based row numbers, which are also
 * the ids those rows get (plus --first-id).
 *
 * Ownership: the vectors, the string id and the payload of a record point into the
 * reader and stay valid until the next rd_next/rd_rewind/rd_close.
 */
#ifndef VS_CLI_READER_H
#define VS_CLI_READER_H

#include <stddef.h>
#include <stdint.h>

#include "vecstore.h"

enum rd_format { RD_JSONL = 0, RD_CSV = 1, RD_NPY = 2, RD_FVECS = 3 };

/* The vector fields records must supply, in schema order. */
typedef struct rd_schema {
    uint32_t n;
    char name[VS_FIELDS_MAX][VS_NAME_MAX + 1];
    uint32_t dim[VS_FIELDS_MAX];
} rd_schema;

typedef struct rd_opts {
    const char *id_field;      /* jsonl key / csv column of the id ("id") */
    const char *vector_field;  /* jsonl key / csv column of the vector ("vector") */
    const char *payload_field; /* jsonl key / csv column of a JSON payload ("payload") */
    int str_ids;               /* csv: every id is a string, even "0012" */
    uint64_t first_id;         /* npy/fvecs/csv without an id column: id of row 0 */
    int query_mode;            /* query vectors: no ids or payloads; a jsonl line may be
                                  a bare array; vector fields not in the schema ignored */
} rd_opts;

typedef struct rd_record {
    uint64_t loc;       /* line (text formats, from 1) or row (binary formats, from 0) */
    int bad;            /* the record is unusable; reason says why */
    char reason[384];
    vs_id id;
    char idbuf[VS_ID_STR_MAX + 1];
    float *vec[VS_FIELDS_MAX];     /* one vector per schema field */
    const char *payload;           /* JSON object text, or NULL (= {}) */
    size_t payload_len;
} rd_record;

typedef struct reader reader;

/* Format named by a file name's extension (".jsonl", ".ndjson", ".csv", ".npy",
 * ".fvecs") or, with by_ext = 0, by a type name ("jsonl"); -1 if unknown. */
int rd_format_of(const char *s, int by_ext);
void rd_schema_from_info(rd_schema *sc, const vs_coll_info *info);

/* Opens path and reads any header. On failure returns -1 with a message (naming the
 * file) in err. */
int rd_open(reader **out, const char *path, int format, const rd_schema *sc,
            const rd_opts *o, char *err, size_t errlen);
/* 1: *rec holds the next record (good or bad); 0: end of file; -1: fatal (err set). */
int rd_next(reader *r, rd_record *rec, char *err, size_t errlen);
/* Starts again from the first record. */
int rd_rewind(reader *r, char *err, size_t errlen);
/* How much of the file has been read, 0..1 (for the progress bar). */
double rd_fraction(reader *r);
/* "FILE:LINE" or "FILE: row N" for messages about rec. */
void rd_where(const reader *r, const rd_record *rec, char *buf, size_t len);
void rd_close(reader *r);

#endif
