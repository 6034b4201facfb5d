/*
 * frame.h — the 64-byte header every VecStore file starts with.
 *
 *   off size field
 *     0    8 magic            per file kind, e.g. "VSSEGVEC"
 *     8    4 format version   readers refuse versions newer than theirs (VS_EVERSION)
 *    12    4 flags            0
 *    16    8 body offset      where the body starts (64, or 4096 for mmap'd columns so
 *                             the floats are page-aligned)
 *    24    8 body length      bytes
 *    32    8 body checksum    XXH3-64 of the body (0 for the WAL, whose records carry
 *                             their own checksums)
 *    40   16 reserved         0
 *    56    8 header checksum  XXH3-64 of bytes 0..55
 *
 * All integers little-endian (the only byte order we build for; checked at compile
 * time). Bytes between the header and the body offset are zero.
 */
#ifndef VS_STORAGE_FRAME_H
#define VS_STORAGE_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define VS_FRAME_HDR 64
#define VS_FORMAT_VERSION 1

typedef struct vs__frame {
    char magic[8];
    uint32_t version;
    uint32_t flags;
    uint64_t body_off;
    uint64_t body_len;
    uint64_t body_sum;
} vs__frame;

/* Encodes a header into 64 bytes. */
void vs__frame_encode(const vs__frame *f, uint8_t out[VS_FRAME_HDR]);
/* Decodes and checks magic, header checksum and version. `what` names the file in
 * messages. Codes: VS_EFORMAT (wrong magic / short), VS_ECORRUPT (checksum),
 * VS_EVERSION (newer). */
int vs__frame_decode(const uint8_t *buf, size_t len, const char *magic, vs__frame *f,
                     const char *what, vs__err *e);
/* Checks the body against the header: bounds and checksum. */
int vs__frame_check_body(const vs__frame *f, const uint8_t *file, size_t file_len,
                         const char *what, vs__err *e);

/* Writes a whole framed file atomically (tmp + fsync + rename + dir fsync). */
int vs__frame_write_file(const char *path, const char *magic, const void *body, size_t len,
                         vs__err *e);
/* Reads and fully verifies a framed file; *body is vs__malloc'd (NUL-terminated for
 * convenience), owned by the caller. */
int vs__frame_read_file(const char *path, const char *magic, uint8_t **body, size_t *len,
                        vs__err *e);

static inline void vs__put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void vs__put_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint32_t vs__get_u32(const uint8_t *p) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v |= (uint32_t)p[i] << (8 * i);
    return v;
}
static inline uint64_t vs__get_u64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

#endif
