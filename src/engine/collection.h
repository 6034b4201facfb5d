/*
 * collection.h — a collection: schema, segments, id map, WAL, and its state machine.
 *
 * Write path (the only one): a public call validates its input and encodes a command
 * (engine/command.h); vs__coll_execute appends it to the WAL and applies it. Replay on
 * open applies the same bytes through the same function. Applying has two phases:
 * prepare (everything that allocates: may fail, changes nothing) and commit (pointer
 * swaps and bit flips: cannot fail), so a command is applied entirely or not at all.
 *
 * Locks, always taken in this order:
 *   compact_mu   one compaction at a time (held across its long write phase)
 *   wmu          writers: commands, flush, the swap at the end of compaction
 *   lock         rwlock: readers shared for a whole query; commit exclusive (short)
 *   wal->mu      inside the WAL, for group commit
 * A query holds `lock` shared while it scans, so a writer waits at most one query.
 *
 * Durable state = sealed segments named by the manifest (state at checkpoint_lsn)
 * + WAL records after checkpoint_lsn. Flush and the end of a compaction both move the
 * checkpoint to the last lsn, so the tombstones persisted with segments never run
 * ahead of the checkpoint (which replay, being id-based, relies on).
 */
#ifndef VS_ENGINE_COLLECTION_H
#define VS_ENGINE_COLLECTION_H

#include <pthread.h>
#include <stdatomic.h>

#include "engine/command.h"
#include "engine/idmap.h"
#include "engine/schema.h"
#include "storage/segment.h"
#include "storage/wal.h"

struct vs__fpath;
/* A payload index declaration (engine/pindex.h). */
typedef struct vs__pdef {
    int type; /* enum vs_pindex_type */
    struct vs__fpath *path;
} vs__pdef;

typedef struct vs__coll_opts {
    int read_only;
    int fsync;
    uint64_t flush_bytes;
    uint32_t compact_min_segments;
} vs__coll_opts;

typedef struct vs__coll {
    char name[VS_NAME_MAX + 1];
    char dir[4096];
    vs_schema schema;
    vs__coll_opts opt;
    pthread_mutex_t compact_mu;
    pthread_mutex_t wmu;
    pthread_mutex_t ins_mu; /* the mutable segment's graph inserter (indexer.h); taken
                               alone, never while holding another of these locks */
    pthread_rwlock_t lock;
    vs__wal *wal;
    vs__segment **segs; /* sealed, manifest order */
    size_t nsegs, capsegs;
    vs__segment *mut;
    vs__segment *pending; /* a compaction's output while the id map is re-pointed */
    vs__idmap map;
    uint32_t next_seg_id;
    uint64_t checkpoint_lsn;
    uint64_t last_lsn;
    int fatal; /* guarded by wmu */
    vs__err fatal_err;
    _Atomic int dropped;
    _Atomic int refs;
    vs__wal_report replay;
    vs__pdef *pdefs; /* payload index declarations (pindex.h): changed under wmu with
                        `lock` exclusive */
    size_t npdefs;
    uint32_t bad_index_files; /* index files found damaged at open (rebuilt) */
    char bad_index_msg[256];
} vs__coll;

/* Creates the on-disk collection dir (atomically: built under a temp name, renamed). */
int vs__coll_create_dir(const char *colls_dir, const char *name, const vs_schema *sc,
                        vs__err *e);
/* Opens (recovers) a collection directory. */
int vs__coll_open(const char *dir, const char *name, const vs__coll_opts *opt,
                  vs__coll **out, vs__err *e);
void vs__coll_ref(vs__coll *c);
void vs__coll_unref(vs__coll *c); /* closes at zero: syncs the WAL */

/* Appends (unless replaying) and applies an encoded command. *affected receives the
 * number of points changed (may be NULL). */
int vs__coll_execute(vs__coll *c, const uint8_t *cmd, size_t len, uint64_t *affected,
                     vs__err *e);
int vs__coll_flush(vs__coll *c, vs__err *e);
int vs__coll_compact(vs__coll *c, int force, vs__err *e);
/* Syncs the WAL (batch policy tick). */
int vs__coll_sync(vs__coll *c, vs__err *e);
/* 1 if background compaction would do something. */
int vs__coll_needs_compaction(vs__coll *c);

/* Rewrites the manifest for the current state (caller holds wmu), e.g. after the
 * payload index declarations changed. */
int vs__coll_write_manifest(vs__coll *c, vs__err *e);

/* Segment by id, including the mutable one; caller holds `lock`. */
vs__segment *vs__coll_seg(vs__coll *c, uint32_t id);

/* Offline verification of a collection dir (used by vs_store_check). */
int vs__coll_check(const char *dir, const char *name, vs_check_cb cb, void *ctx, vs__err *e);

/* Writes a snapshot archive of the collection (flushes first). */
int vs__coll_snapshot(vs__coll *c, const char *archive, vs__err *e);

#endif
