/*
 * indexer.h — building and attaching the indexes of sealed segments.
 *
 * A sealed segment of a field whose schema asks for HNSW, with at least index_threshold
 * live rows, gets a graph. Building takes seconds to minutes, so it never runs inside a
 * write: the store's background thread (or vs_coll_wait_indexed when the thread is off)
 * builds one missing index at a time, outside the collection locks, saves it as
 * seg-N/hnsw-F and attaches it under the exclusive lock. Until then the segment is
 * searched exactly, so results are always complete. Builds hold compact_mu, so a
 * compaction cannot remove the segment directory mid-save.
 *
 * On open, index files are loaded (mmap) and verified; a damaged file is ignored (and,
 * for writers, removed) and the index rebuilt: it is derived data.
 */
#ifndef VS_ENGINE_INDEXER_H
#define VS_ENGINE_INDEXER_H

#include "engine/collection.h"

/* Counts sealed segment fields that should have an index and do not. */
size_t vs__indexer_pending(vs__coll *c);
/* Builds one missing index; returns 1 if it built one, 0 if none is missing, or a
 * negative code. */
int vs__indexer_build_one(vs__coll *c, vs__err *e);
/* Loads the index files of a freshly opened segment (called by collection open). */
void vs__indexer_load(vs__coll *c, vs__segment *s);
/* Validates every attached index (for check); VS_ECORRUPT names the first bad one. */
int vs__indexer_validate(vs__coll *c, vs__err *e);

#endif
