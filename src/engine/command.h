/*
 * command.h — mutation commands: the unit of the WAL, of replication and of ingestion.
 *
 * Every change to a collection is one of these commands, encoded as bytes, appended to
 * the WAL and then applied by the collection's state machine (collection.c). Replay
 * decodes the same bytes and applies them the same way, so the live path and the
 * recovery path cannot drift apart; the Raft cluster and Kafka ingestion will carry
 * exactly these bytes. Commands hold values in their stored form (cosine vectors are
 * already normalised, payloads are canonical compact JSON), so applying is
 * deterministic and needs no re-validation.
 *
 * Encoding (little-endian), documented in docs/format/wal.md:
 *   u8 type | u8 version (1) | u16 0 | u32 nfields | u64 n
 *   UPSERT:      nfields × u32 dim, n × id, nfields × (n × dim f32), n × (u32 len, bytes)
 *   DELETE:      n × id
 *   SET_PAYLOAD: u8 op | u32 len | json bytes | n × id
 *   id := u8 kind (1 num, 2 str) | u64 num  or  u16 len | len bytes
 */
#ifndef VS_ENGINE_COMMAND_H
#define VS_ENGINE_COMMAND_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "vecstore.h"

enum vs__cmd_type {
    VS_CMD_UPSERT = 1,
    VS_CMD_DELETE = 2,
    VS_CMD_SET_PAYLOAD = 3,
};

/* A decoded command. Pointers point into the encoded buffer it was decoded from (which
 * must outlive it); float data may be unaligned (read with memcpy). */
typedef struct vs__cmd {
    int type;
    uint64_t n;
    uint32_t nfields;
    uint32_t dims[VS_FIELDS_MAX];
    const uint8_t *vecs[VS_FIELDS_MAX]; /* n × dim f32, possibly unaligned */
    vs_id *ids;                          /* n, vs__malloc'd (vs__cmd_free) */
    const char **payloads;               /* UPSERT: n texts (not NUL-terminated) */
    uint32_t *payload_lens;
    int op;                              /* SET_PAYLOAD */
    const char *json;
    uint32_t json_len;
} vs__cmd;

/* A growable byte buffer that encoders append to. */
typedef struct vs__buf {
    uint8_t *data;
    size_t len, cap;
    int oom;
} vs__buf;
void vs__buf_put(vs__buf *b, const void *p, size_t n);
void vs__buf_u8(vs__buf *b, uint8_t v);
void vs__buf_u16(vs__buf *b, uint16_t v);
void vs__buf_u32(vs__buf *b, uint32_t v);
void vs__buf_u64(vs__buf *b, uint64_t v);
void vs__buf_id(vs__buf *b, const vs_id *id);
void vs__buf_free(vs__buf *b);

/* Writes the header of a command. */
void vs__cmd_begin(vs__buf *b, int type, uint32_t nfields, uint64_t n);

/* Decodes buf; VS_ECORRUPT if it is not a well-formed command. */
int vs__cmd_decode(const uint8_t *buf, size_t len, vs__cmd *c, vs__err *e);
void vs__cmd_free(vs__cmd *c);

#endif
