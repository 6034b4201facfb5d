/*
 * err.c — the error table (generated from VS_ERRNO_MAP) and message formatting.
 */
#include "util/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *vs_errstr(int rc) {
    switch (rc) {
#define VS__ERR_STR(name, val, text) \
    case val: return text;
        VS_ERRNO_MAP(VS__ERR_STR)
#undef VS__ERR_STR
    }
    return "unknown error";
}

const char *vs_errname(int rc) {
    switch (rc) {
#define VS__ERR_NAME(name, val, text) \
    case val: return "VS_" #name;
        VS_ERRNO_MAP(VS__ERR_NAME)
#undef VS__ERR_NAME
    }
    return "VS_EUNKNOWN";
}

const char *vs_version(void) { return VS_VERSION_STRING; }

int vs__errf(vs__err *e, int rc, const char *fmt, ...) {
    if (!e) return rc;
    e->rc = rc;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return rc;
}

int vs__err_ctx(vs__err *e, const char *fmt, ...) {
    if (!e) return VS_EINVAL;
    char prefix[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    char tmp[VS__ERRMSG_MAX];
    snprintf(tmp, sizeof tmp, "%s: %s", prefix, e->msg);
    memcpy(e->msg, tmp, sizeof tmp);
    return e->rc;
}

void vs__err_clear(vs__err *e) {
    if (!e) return;
    e->rc = 0;
    e->msg[0] = 0;
}

int vs__errno_code(int errnum) {
    switch (errnum) {
    case ENOSPC:
    case EDQUOT: return VS_ENOSPC;
    case ENOMEM: return VS_ENOMEM;
    case ENOENT: return VS_ENOTFOUND;
    case EEXIST: return VS_EEXIST;
    case EACCES:
    case EPERM:
    case EROFS: return VS_EREADONLY;
    default: return VS_EIO;
    }
}
