/*
 * indexer.h — building and attaching the indexes of segments.
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
 *
 * THE MUTABLE SEGMENT gets a graph too, built incrementally as points arrive: once it
 * holds index_threshold live rows, the store's inserter thread (vs__indexer_mutable_step;
 * or vs_coll_wait_indexed when there is no background thread) inserts its rows in
 * order, a few at a time under the shared collection lock, so writers are never held
 * up by more than a short time budget and queries run alongside (hnsw.h, "growing
 * graphs"). A query walks the rows the graph covers and scores the newest rows, not
 * inserted yet, exactly, so results are always complete. The graph is memory only:
 * after a restart WAL replay refills the mutable segment and the graph is rebuilt.
 * At a flush the graph moves with the rows to the sealed segment as a partial index;
 * the indexer completes it there (the remaining rows with all cores, reachability
 * repair, quantization) and saves it, rather than building the graph again.
 */
#ifndef VS_ENGINE_INDEXER_H
#define VS_ENGINE_INDEXER_H

#include "engine/collection.h"

/* Counts segment fields whose index is missing, partial, or (mutable segment) behind. */
size_t vs__indexer_pending(vs__coll *c);
/* Builds one missing index; returns 1 if it built one, 0 if none is missing, or a
 * negative code. */
int vs__indexer_build_one(vs__coll *c, vs__err *e);
/* Inserts rows into the mutable segment's graph (creating it at the threshold) for
 * about budget_us microseconds. Returns 1 if there was work, 0 if the graph is up to
 * date (or not wanted), or a negative code. */
int vs__indexer_mutable_step(vs__coll *c, uint32_t budget_us, vs__err *e);
/* Loads the index files of a freshly opened segment (called by collection open). */
void vs__indexer_load(vs__coll *c, vs__segment *s);
/* Validates every attached index (for check); VS_ECORRUPT names the first bad one. */
int vs__indexer_validate(vs__coll *c, vs__err *e);

#endif
