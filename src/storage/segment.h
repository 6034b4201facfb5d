/*
 * segment.h — segments: the unit of storage and search inside a collection.
 *
 * A collection's points live in sealed segments (immutable, on disk, vectors mmap'd)
 * plus one mutable segment (in memory; its contents are in the WAL until it is
 * sealed). Both kinds share this struct so the query path treats them alike.
 *
 * A segment keeps every row it was given; deleting a point sets its tombstone bit
 * (deleted rows are skipped by queries and purged by compaction). Row numbers are
 * stable for the life of the segment, and sealing a mutable segment keeps its id and
 * row numbers, so the collection's id map stays valid across a flush.
 *
 * On disk, sealed segment N is the directory seg-<N as 8 hex digits>/ holding (each
 * file framed, storage/frame.h; layouts in docs/format/segment.md):
 *   meta        "VSSEGMET"  JSON {"id", "rows", "dims":[…]}
 *   ids         "VSSEGIDS"  rows × (u8 kind, u64 num | u16 len, bytes)
 *   payload     "VSSEGPAY"  blob of NUL-terminated JSON texts, then (rows+1) × u64
 *                           offsets into the blob
 *   vec-<f>     "VSSEGVEC"  rows × dim float32, body at offset 4096 (page-aligned mmap)
 *   del-<gen>   "VSSEGDEL"  u64 rows, then the tombstone bitmap (u64 words); the
 *                           manifest names which generation is current
 *
 * Concurrency: a segment's rows and vectors are only changed by the collection's writer
 * while it holds the collection lock exclusively; readers hold it shared. Growth of the
 * mutable arrays is split into reserve (allocate and copy, may fail, readers may run)
 * and commit (swap pointers, cannot fail) so that a command is all-or-nothing.
 */
#ifndef VS_STORAGE_SEGMENT_H
#define VS_STORAGE_SEGMENT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/schema.h"
#include "os/file.h"
#include "util/err.h"

/* A row's id. str is owned by the segment (mutable: own allocation; sealed: points
 * into the mapped ids file). */
typedef struct vs__rowid {
    uint64_t num;
    const char *str;
    uint32_t len;
    uint8_t kind;
} vs__rowid;

/* An index attached to one vector field of a segment (derived data: it lives in the
 * segment directory but the manifest does not name it; a missing or damaged index file
 * is rebuilt). The mutable segment's index is a growing graph, kept in memory only; at
 * a flush it moves to the sealed segment as a partial index, which the indexer
 * completes and saves. */
typedef struct vs__seg_index {
    void *p;               /* e.g. a vs__hnsw_index; NULL = none */
    int kind;              /* enum vs_index_kind */
    void (*free)(void *p);
    size_t bytes;          /* memory it holds */
    int partial;           /* sealed segment: rows still to insert, not saved yet */
} vs__seg_index;

typedef struct vs__segment {
    uint32_t id;
    int is_mutable;
    uint32_t nfields;
    uint32_t dims[VS_FIELDS_MAX];
    size_t rows, cap;
    float *vec[VS_FIELDS_MAX]; /* rows × dim each */
    vs__rowid *ids;
    char **payloads;           /* mutable: owned NUL-terminated texts */
    const uint64_t *pay_off;   /* sealed: rows+1 offsets into pay_blob */
    const char *pay_blob;
    uint64_t *del;             /* tombstone bitmap, cap bits */
    size_t ndeleted;
    int del_dirty;             /* tombstones changed since last persisted */
    uint64_t del_gen;          /* generation of the persisted tombstone file (0 none) */
    vs__map vmap[VS_FIELDS_MAX], idmap_file, paymap;
    uint64_t disk_bytes;
    uint64_t heap_bytes; /* mutable: payload and id bytes held (kept current on change) */
    vs__seg_index idx[VS_FIELDS_MAX]; /* attached under the collection lock, exclusive */
    /* Payload indexes (index/payload_index.h), in no particular order; attached and
     * detached under the collection lock, exclusive. pidx_free frees one. */
    void *pidx[VS_PINDEX_MAX];
    uint32_t npidx;
    void (*pidx_free)(void *p);
    uint64_t pay_changes; /* mutable: payloads replaced in place (vs__seg_set_payload) */
    _Atomic int refs;
} vs__segment;

static inline int vs__seg_deleted(const vs__segment *s, size_t row) {
    return (int)((s->del[row >> 6] >> (row & 63)) & 1);
}
static inline const float *vs__seg_vec(const vs__segment *s, uint32_t f, size_t row) {
    return s->vec[f] + row * s->dims[f];
}
const char *vs__seg_payload(const vs__segment *s, size_t row, size_t *len);
/* Marks a row deleted (idempotent). Caller holds the collection lock exclusively. */
void vs__seg_delete(vs__segment *s, size_t row);

vs__segment *vs__seg_new_mutable(uint32_t id, const vs_schema *sc);
void vs__seg_ref(vs__segment *s);
void vs__seg_unref(vs__segment *s); /* frees at zero; NULL ok */
uint64_t vs__seg_memory(const vs__segment *s);

/* Growth of a mutable segment (see the essay above). */
typedef struct vs__seg_grow {
    size_t cap; /* 0 = nothing to do */
    float *vec[VS_FIELDS_MAX];
    vs__rowid *ids;
    char **payloads;
    uint64_t *del;
} vs__seg_grow;
int vs__seg_reserve(const vs__segment *s, size_t need_rows, vs__seg_grow *g, vs__err *e);
void vs__seg_grow_commit(vs__segment *s, vs__seg_grow *g);
void vs__seg_grow_abort(vs__seg_grow *g);
/* Appends a row; capacity must have been reserved. Takes ownership of id->str and
 * payload. vecs[f] points at dim floats (any alignment). */
size_t vs__seg_append(vs__segment *s, const vs__rowid *id, const void *const *vecs,
                      char *payload);

/* Replaces the payload of a mutable row (takes ownership; frees the old text). */
void vs__seg_set_payload(vs__segment *s, size_t row, char *payload);

/* Writing a sealed segment. Rows are added in order; finish writes the tombstones
 * (if any bit is set) as generation del_gen, fsyncs everything and renames the
 * directory into place. */
typedef struct vs__segw vs__segw;
int vs__segw_open(const char *coll_dir, uint32_t id, const vs_schema *sc, vs__segw **out,
                  vs__err *e);
int vs__segw_add(vs__segw *w, const vs__rowid *id, const float *const *vecs,
                 const char *payload, size_t plen, vs__err *e);
int vs__segw_finish(vs__segw *w, const uint64_t *del, uint64_t del_gen, vs__err *e);
void vs__segw_abort(vs__segw *w);

/* Opens sealed segment `id` with tombstone generation del_gen (0 = none), verifying
 * every checksum and that it has `rows` rows and the schema's dimensions. */
int vs__seg_open(const char *coll_dir, uint32_t id, uint64_t rows, uint64_t del_gen,
                 const vs_schema *sc, vs__segment **out, vs__err *e);
/* Persists the tombstones of a sealed segment as generation gen. */
int vs__seg_write_del(const char *coll_dir, const vs__segment *s, uint64_t gen, vs__err *e);
/* Removes tombstone files of segment id other than generation keep. */
void vs__seg_remove_old_del(const char *coll_dir, uint32_t id, uint64_t keep);
int vs__seg_dirname(char *buf, size_t cap, const char *coll_dir, uint32_t id, vs__err *e);

#endif
