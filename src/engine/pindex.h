/*
 * pindex.h — a collection's payload indexes: declarations, and one index per segment.
 *
 * The declarations (path + type) live in the manifest ("payload_indexes"), so they are
 * as durable as the segment list. Every sealed segment carries a frozen index per
 * declaration (loaded from its seg-N/pidx-* file, or built from its payloads and saved:
 * the files are derived data); the mutable segment carries live ones that queries catch
 * up (index/payload_index.h). A flush hands the mutable segment's indexes to the sealed
 * segment with its rows; a compaction builds the merged segment's indexes from its
 * sources' payloads while it writes, before taking the writer lock.
 *
 * Create and drop hold compact_mu (so no compaction or index build swaps segments under
 * them) and wmu while the declaration list and manifest change. The list is changed
 * only with the collection lock held exclusively, so a query (shared lock) sees a fixed
 * list and fixed per-segment indexes.
 */
#ifndef VS_ENGINE_PINDEX_H
#define VS_ENGINE_PINDEX_H

#include "engine/collection.h"

struct cJSON;

/* Manifest form: [{"path":"a.b","type":"keyword"}…]. */
struct cJSON *vs__pindex_to_json(const vs__pdef *defs, size_t n);
int vs__pindex_from_json(const struct cJSON *arr, vs__pdef **defs, size_t *n, vs__err *e);
void vs__pindex_defs_free(vs__pdef *defs, size_t n);

/* Gives a freshly opened sealed segment (not yet visible) its indexes: loaded, or built
 * and (writers) saved. */
int vs__pindex_attach(vs__coll *c, vs__segment *s, vs__err *e);
/* Gives a new mutable segment (not yet visible) empty live indexes. */
int vs__pindex_attach_live(vs__coll *c, vs__segment *m, vs__err *e);
/* Flush, before the swap (wmu held): catches the mutable segment's indexes up with all
 * its rows and sorts them, ready to move. */
int vs__pindex_prepare_seal(vs__coll *c, vs__segment *mut, vs__err *e);
/* Flush, at the swap (collection lock exclusive; cannot fail): moves the indexes to the
 * sealed segment and freezes them. */
void vs__pindex_move(vs__segment *mut, vs__segment *sealed);
/* Saves a sealed segment's indexes (after the swap; errors only cost a rebuild later). */
void vs__pindex_save_all(vs__coll *c, vs__segment *s);
/* Compaction: gives the segment-to-be (not yet visible) the n indexes built for it
 * (takes them; built[] is left NULL). */
void vs__pindex_adopt(vs__segment *s, void **built, size_t n);
/* Compaction: builds the indexes of a segment-to-be whose row r has payload pay(ctx, r),
 * into out[] (one per declaration; free with vs__pidx_free). */
int vs__pindex_build_for(vs__coll *c, size_t rows, const char *(*pay)(void *, size_t, size_t *),
                         void *ctx, void **out, vs__err *e);

int vs__pindex_create(vs__coll *c, const char *path, int type, vs__err *e);
int vs__pindex_drop(vs__coll *c, const char *path, int type, vs__err *e);
int vs__pindex_list(vs__coll *c, vs_pindex_info **out, size_t *n, vs__err *e);

/* Queries (collection lock shared): locks the mutable segment's live indexes and brings
 * them up to date with its rows; unlock after the last read. An index that could not
 * catch up (out of memory) covers fewer rows than the segment, and the planner then
 * leaves it out. */
void vs__pindex_lock_live(vs__segment *m);
void vs__pindex_unlock_live(vs__segment *m);

#endif
