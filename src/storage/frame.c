/*
 * frame.c — encoding and verification of the common file header (see frame.h).
 */
#include "storage/frame.h"

#include <string.h>

#include "os/file.h"
#include "util/alloc.h"
#include "util/checksum.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "VecStore files are little-endian");

void vs__frame_encode(const vs__frame *f, uint8_t out[VS_FRAME_HDR]) {
    memset(out, 0, VS_FRAME_HDR);
    memcpy(out, f->magic, 8);
    vs__put_u32(out + 8, f->version);
    vs__put_u32(out + 12, f->flags);
    vs__put_u64(out + 16, f->body_off);
    vs__put_u64(out + 24, f->body_len);
    vs__put_u64(out + 32, f->body_sum);
    vs__put_u64(out + 56, vs__checksum(out, 56));
}

int vs__frame_decode(const uint8_t *buf, size_t len, const char *magic, vs__frame *f,
                     const char *what, vs__err *e) {
    if (len < VS_FRAME_HDR)
        return vs__errf(e, VS_EFORMAT, "%s: file is too short (%zu bytes) for a header", what,
                        len);
    if (memcmp(buf, magic, 8) != 0)
        return vs__errf(e, VS_EFORMAT, "%s: bad magic (not a '%.8s' file)", what, magic);
    if (vs__get_u64(buf + 56) != vs__checksum(buf, 56))
        return vs__errf(e, VS_ECORRUPT, "%s: header checksum mismatch", what);
    memcpy(f->magic, buf, 8);
    f->version = vs__get_u32(buf + 8);
    f->flags = vs__get_u32(buf + 12);
    f->body_off = vs__get_u64(buf + 16);
    f->body_len = vs__get_u64(buf + 24);
    f->body_sum = vs__get_u64(buf + 32);
    if (f->version > VS_FORMAT_VERSION)
        return vs__errf(e, VS_EVERSION,
                        "%s: format version %u is newer than this build supports (%u)", what,
                        f->version, VS_FORMAT_VERSION);
    if (f->version == 0) return vs__errf(e, VS_ECORRUPT, "%s: format version 0", what);
    if (f->body_off < VS_FRAME_HDR)
        return vs__errf(e, VS_ECORRUPT, "%s: body offset %llu inside the header", what,
                        (unsigned long long)f->body_off);
    return VS_OK;
}

int vs__frame_check_body(const vs__frame *f, const uint8_t *file, size_t file_len,
                         const char *what, vs__err *e) {
    if (f->body_off > file_len || f->body_len > file_len - f->body_off)
        return vs__errf(e, VS_ECORRUPT, "%s: truncated: body needs %llu bytes at %llu, file has %zu",
                        what, (unsigned long long)f->body_len,
                        (unsigned long long)f->body_off, file_len);
    if (vs__checksum(file + f->body_off, (size_t)f->body_len) != f->body_sum)
        return vs__errf(e, VS_ECORRUPT, "%s: body checksum mismatch", what);
    return VS_OK;
}

int vs__frame_write_file(const char *path, const char *magic, const void *body, size_t len,
                         vs__err *e) {
    uint8_t *buf = vs__malloc(VS_FRAME_HDR + len);
    if (!buf) return vs__errf(e, VS_ENOMEM, "out of memory writing %s", path);
    vs__frame f = {{0}, VS_FORMAT_VERSION, 0, VS_FRAME_HDR, len, vs__checksum(body, len)};
    memcpy(f.magic, magic, 8);
    vs__frame_encode(&f, buf);
    if (len) memcpy(buf + VS_FRAME_HDR, body, len);
    int rc = vs__file_write_atomic(path, buf, VS_FRAME_HDR + len, e);
    vs__free(buf);
    return rc;
}

int vs__frame_read_file(const char *path, const char *magic, uint8_t **body, size_t *len,
                        vs__err *e) {
    uint8_t *data;
    size_t n;
    *body = NULL;
    *len = 0;
    int rc = vs__file_read_all(path, &data, &n, e);
    if (rc) return rc;
    vs__frame f;
    if ((rc = vs__frame_decode(data, n, magic, &f, path, e))) goto done;
    if ((rc = vs__frame_check_body(&f, data, n, path, e))) goto done;
    uint8_t *b = vs__malloc((size_t)f.body_len + 1);
    if (!b) {
        rc = vs__errf(e, VS_ENOMEM, "out of memory reading %s", path);
        goto done;
    }
    memcpy(b, data + f.body_off, (size_t)f.body_len);
    b[f.body_len] = 0;
    *body = b;
    *len = (size_t)f.body_len;
done:
    vs__free(data);
    return rc;
}
