/*
 * err.h — error codes and messages inside the library.
 *
 * Internal functions that can fail return a VS_* code and write a specific message into a
 * caller-provided vs__err (a fixed buffer: formatting never allocates, so out-of-memory
 * can be reported). Public entry points copy the message into their handle.
 * Messages are lower case and name the values: "expected 768 dimensions, got 512".
 */
#ifndef VS_UTIL_ERR_H
#define VS_UTIL_ERR_H

#include <stddef.h>

#include "vecstore.h"

#define VS__ERRMSG_MAX 512

typedef struct vs__err {
    int rc;
    char msg[VS__ERRMSG_MAX];
} vs__err;

/* Sets e (may be NULL) to rc with a printf-style message and returns rc. */
int vs__errf(vs__err *e, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Prefixes the message already in e with a context ("segment 3: "), returns e->rc. */
int vs__err_ctx(vs__err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vs__err_clear(vs__err *e);
/* Maps an errno value from a failed system call to a code (ENOSPC→VS_ENOSPC, ...). */
int vs__errno_code(int errnum);

#endif
