/*
 * idmap.h — point id → (segment, row), for every live point of a collection.
 *
 * Open addressing with linear probing and backward-shift deletion (no tombstones,
 * so probe lengths stay short under churn). An entry is 16 bytes: the id's 64-bit hash
 * and its location; the id itself is not stored — on a hash match the entry is
 * confirmed by comparing with the id stored in the segment row (through `resolve`),
 * which halves the memory of keeping keys twice.
 *
 * Growth follows the segment protocol: vs__idmap_reserve builds a larger table while
 * readers keep using the current one; vs__idmap_commit swaps it in. put/del never
 * allocate, so applying a command cannot fail half-way.
 */
#ifndef VS_ENGINE_IDMAP_H
#define VS_ENGINE_IDMAP_H

#include <stddef.h>
#include <stdint.h>

#include "storage/segment.h"
#include "vecstore.h"

typedef struct vs__idloc {
    uint32_t seg;
    uint32_t row;
} vs__idloc;

/* Returns the id stored at a location (never NULL for a location in the map). */
typedef const vs__rowid *(*vs__idmap_resolve)(void *ctx, vs__idloc loc);

typedef struct vs__idmap_ent {
    uint64_t hash;
    uint32_t seg; /* UINT32_MAX = empty */
    uint32_t row;
} vs__idmap_ent;

typedef struct vs__idmap {
    vs__idmap_ent *ents;
    size_t cap; /* power of two */
    size_t count;
    vs__idmap_resolve resolve;
    void *ctx;
} vs__idmap;

uint64_t vs__id_hash(const vs_id *id);
int vs__id_eq_row(const vs_id *id, const vs__rowid *r);
/* Validates a user id: VS_EID with a message. */
int vs__id_check(const vs_id *id, vs__err *e);

int vs__idmap_init(vs__idmap *m, vs__idmap_resolve resolve, void *ctx);
void vs__idmap_free(vs__idmap *m);
int vs__idmap_get(const vs__idmap *m, const vs_id *id, uint64_t h, vs__idloc *loc);
/* Inserts or updates. Capacity must have been reserved. */
void vs__idmap_put(vs__idmap *m, const vs_id *id, uint64_t h, vs__idloc loc);
/* Removes; returns 1 if it was present. */
int vs__idmap_del(vs__idmap *m, const vs_id *id, uint64_t h);
/* Prepares room for `extra` more entries: *next is NULL if none is needed. */
int vs__idmap_reserve(const vs__idmap *m, size_t extra, vs__idmap_ent **next, size_t *next_cap);
void vs__idmap_commit(vs__idmap *m, vs__idmap_ent *next, size_t next_cap);
/* Re-points an entry (for compaction) — the id must be present. */
void vs__idmap_move(vs__idmap *m, const vs_id *id, uint64_t h, vs__idloc from, vs__idloc to);

#endif
