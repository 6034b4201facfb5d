/*
 * reader_int.h — what the format backends of reader.c share: the reader struct, the
 * backend operations and the validation helpers every backend uses so that the same
 * mistake gets the same message whatever the file format.
 */
#ifndef VS_CLI_READER_INT_H
#define VS_CLI_READER_INT_H

#include <stdio.h>

#include "reader.h"
#include "text.h"

struct cJSON;

typedef struct rd_ops {
    const char *name;
    int loc_is_row; /* binary format: locations are rows, not lines */
    /* Reads the header (r->f is open at offset 0); may set r->impl. */
    int (*open)(reader *r, char *err, size_t errlen);
    /* As rd_next; rec->vec[] already point at r->vec[] and rec is cleared. */
    int (*next)(reader *r, rd_record *rec, char *err, size_t errlen);
    /* Frees r->impl (may be NULL). */
    void (*close)(reader *r);
} rd_ops;

struct reader {
    const rd_ops *ops;
    int format;
    char *path;
    FILE *f;
    uint64_t size;               /* bytes, for rd_fraction */
    rd_schema sc;
    rd_opts o;
    float *vec[VS_FIELDS_MAX];   /* one row of each field */
    txt_buf pay;                 /* payload text built by the csv backend */
    uint64_t row;                /* records returned so far */
    void *impl;
};

extern const rd_ops rd_jsonl_ops, rd_csv_ops, rd_npy_ops, rd_fvecs_ops;

/* Marks rec bad; the first reason is kept (later ones are consequences). */
void rd_bad(rd_record *rec, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Writes a fatal message "PATH: ..." into err; returns -1. */
int rd_fatal(const reader *r, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* "vector[3]" for an unnamed field, "vector 'img'[3]" for a named one. */
void rd_component(const reader *r, uint32_t fi, uint32_t i, char *buf, size_t len);
/* Stores v as component i of field fi after checking it is a finite float32. */
int rd_put(const reader *r, rd_record *rec, uint32_t fi, uint32_t i, double v);
/* Fills field fi from a cJSON array of numbers (dimension checked). */
int rd_json_vector(const reader *r, rd_record *rec, uint32_t fi, const struct cJSON *arr);
/* Index of the schema field called name, or -1. */
int rd_field_index(const reader *r, const char *name);
/* Sets a string id (1..VS_ID_STR_MAX bytes of UTF-8), copied into rec->idbuf. */
int rd_set_str_id(rd_record *rec, const char *s, size_t n);
/* Sets id first_id + row for formats whose ids are implicit. */
int rd_set_row_id(const reader *r, rd_record *rec);
/* Checks the size of a payload text already known to be a JSON object. */
int rd_set_payload(rd_record *rec, const char *s, size_t n);
/* Little-endian loads that do not care about the host's byte order or alignment. */
uint32_t rd_le32(const unsigned char *p);
uint64_t rd_le64(const unsigned char *p);

#endif
