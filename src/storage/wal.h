/*
 * wal.h — the write-ahead log of one collection.
 *
 * Every mutation is a command record (engine/command.h) appended here before it is
 * applied; on open the records after the last checkpoint are replayed through a
 * callback, so the state after a crash is exactly the state after the last durable
 * record (a prefix of the acknowledged writes, no holes).
 *
 * Files: DIR/<first lsn as 16 hex digits>.wal, each a 64-byte frame header (magic
 * "VSWALOG1", see storage/frame.h) followed by records:
 *
 *   off size field
 *     0    4 payload length n (1 .. VS_WAL_RECORD_MAX)
 *     4    4 reserved (0)
 *     8    8 lsn               consecutive across all files, first record of a file =
 *                              the number in its name
 *    16    8 checksum          XXH3-64 of the payload, seeded with the XXH3-64 of
 *                              bytes 0..15 (so header and payload are both covered)
 *    24    n payload
 *
 * Recovery rules. A record that is cut short or fails its checksum at the end of the
 * last file, with no valid record after it, is a torn tail left by a crash during an
 * unacknowledged write: it is truncated away (read-only opens just ignore it) and
 * reported. A bad record followed by a valid one, a bad record in an earlier file,
 * or a gap in the lsn sequence is corruption: VS_ECORRUPT naming the file and offset.
 *
 * Group commit. Appends are serialised by the caller (the collection's writer mutex);
 * vs__wal_sync(lsn) may be called by many threads at once: one of them issues the
 * fdatasync for everything written so far while the others wait for it, so N
 * concurrent writers share one fsync. A failed fsync makes the log sticky-fatal
 * (VS_EFATAL until reopened): the kernel may have dropped the dirty pages, so we can
 * never again claim durability (the PostgreSQL fsync lesson).
 */
#ifndef VS_STORAGE_WAL_H
#define VS_STORAGE_WAL_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define VS_WAL_REC_HDR 24
#define VS_WAL_RECORD_MAX (1u << 30)
#define VS_WAL_FILE_MAX (256ull << 20) /* rotate to a new file beyond this */

typedef struct vs__wal vs__wal;

/* Called for each record to replay, in lsn order. A non-zero return stops the open. */
typedef int (*vs__wal_replay_fn)(void *ctx, uint64_t lsn, const uint8_t *payload, size_t len,
                                 vs__err *e);

typedef struct vs__wal_report {
    uint64_t records;      /* replayed (lsn > checkpoint) */
    uint64_t last_lsn;     /* last valid lsn seen (checkpoint if none) */
    int torn;              /* a torn tail was found */
    uint64_t torn_offset;  /* where it starts in torn_file */
    uint64_t torn_bytes;   /* how many bytes it spans */
    char torn_file[64];
    uint64_t bytes;        /* total size of the log files */
    uint32_t files;
} vs__wal_report;

/* Opens the log in dir (created if missing unless read_only), replaying records with
 * lsn > checkpoint through fn (may be NULL: verify only). */
int vs__wal_open(const char *dir, uint64_t checkpoint, int read_only, vs__wal_replay_fn fn,
                 void *ctx, vs__wal **out, vs__wal_report *rep, vs__err *e);
/* Syncs (unless read-only or fatal) and frees. NULL ok. */
void vs__wal_close(vs__wal *w);

/* Appends one record; *lsn receives its sequence number. On failure nothing of the
 * record remains in the file (it is truncated back) or the log turns fatal. */
int vs__wal_append(vs__wal *w, const void *payload, size_t len, uint64_t *lsn, vs__err *e);
/* Returns once every record up to lsn is on disk (group commit). */
int vs__wal_sync(vs__wal *w, uint64_t lsn, vs__err *e);
/* Syncs everything appended so far. */
int vs__wal_sync_all(vs__wal *w, vs__err *e);
/* Starts a new file for records after the current last lsn (caller serialises with
 * appends). The previous file is synced first. */
int vs__wal_rotate(vs__wal *w, vs__err *e);
/* Removes files whose records are all <= checkpoint (never the current file). */
int vs__wal_truncate_before(vs__wal *w, uint64_t checkpoint, vs__err *e);

uint64_t vs__wal_last_lsn(vs__wal *w);
uint64_t vs__wal_synced_lsn(vs__wal *w);
uint64_t vs__wal_bytes(vs__wal *w);
int vs__wal_is_fatal(vs__wal *w);

#endif
