/*
 * payload_index.h — payload indexes: one field path of one segment, as sorted keys.
 *
 * A collection declares payload indexes (a path and a type: keyword, integer, float,
 * bool, datetime, text); every segment then carries one vs__pidx per declaration. The
 * planner (query/plan.h) asks them about the leaves of a filter (filter.h, "for payload
 * indexes") and gets row bitmaps without reading a payload.
 *
 * Layout: every value of the path in every row (filter.h's "values of a field", the
 * same walker the evaluator uses, so the two cannot disagree) becomes an entry
 * (key, row). Keys are 64-bit and order-preserving: integers and datetimes (UTC µs) as
 * offset int64, floats by their IEEE bits flipped to sort as unsigned, bools 0/1,
 * keyword strings and text words as term ids from the segment's term dictionary, geo
 * points as their S2 leaf cell id (geo/s2.h) with the exact lat/lon kept beside the entry
 * (28 bytes per point). Entries
 * are sorted by (key, row), so an equality or a range is a slice found by binary search,
 * and its length is the planner's estimate. Rows whose payloads hold values the index
 * type does not cover (a string under an integer index) simply have no entry for them;
 * a numeric value the key cannot hold exactly (3.5 under an integer index, 2^63 under
 * any) marks the segment's index "incomplete" and it then declines numeric leaves (the
 * evaluator decides them), so an index never changes an answer.
 *
 * Geo leaves: the region's S2 covering (made once per filter) gives one key range per
 * cell; points in cells the region holds whole are taken as they are, points in boundary
 * cells are tested with the region's exact rule (geo/geo.h) on the kept coordinates — so
 * geo answers are exact and read no payload; the estimate is the entries in the cells.
 *
 * Exactness: keyword/integer/float/bool/datetime/geo answers are exact. A text index answers
 * "every word in some value" from the words of all the row's strings, which is exact
 * unless some row holds more than one string (then a superset, checked by the caller).
 *
 * Segments: a sealed segment's index is built once (or loaded from seg-N/pidx-<hash>,
 * derived data: a missing or damaged file is rebuilt) and never changes, so readers need
 * no lock. The mutable segment's index is "live": it lags behind the rows and is caught
 * up by the first query that needs it (vs__pidx_sync, under the index's own mutex, which
 * readers of a live index also hold); new entries go to an unsorted tail merged into the
 * sorted run when it grows. A payload replaced in place (vs__seg_set_payload bumps
 * pay_changes) makes the next sync rebuild the live index. At a flush the live index is
 * synced, frozen and handed to the sealed segment with the rows (same row numbers).
 */
#ifndef VS_INDEX_PAYLOAD_INDEX_H
#define VS_INDEX_PAYLOAD_INDEX_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "query/filter.h"
#include "util/err.h"

typedef struct vs__pidx vs__pidx;

/* Where a builder reads row payloads from (a segment, or a compaction's sources). */
typedef const char *(*vs__pidx_payload_fn)(void *ctx, size_t row, size_t *len);

/* Builds a frozen index of `type` (enum vs_pindex_type) on path over rows [0, rows). */
int vs__pidx_build(const vs__fpath *path, int type, size_t rows, vs__pidx_payload_fn pay,
                   void *ctx, vs__pidx **out, vs__err *e);
/* A live (mutable-segment) index, empty. */
int vs__pidx_new_live(const vs__fpath *path, int type, vs__pidx **out, vs__err *e);
void vs__pidx_free(vs__pidx *x);
void vs__pidx_free_void(void *x);

int vs__pidx_type(const vs__pidx *x);
const char *vs__pidx_path(const vs__pidx *x);
int vs__pidx_is_live(const vs__pidx *x);
size_t vs__pidx_memory(const vs__pidx *x);
size_t vs__pidx_entries(const vs__pidx *x);
/* 1 when some row holds more than one value of the path. */
int vs__pidx_multi(const vs__pidx *x);

/* Live index: lock while reading or syncing (a frozen index ignores these). */
void vs__pidx_lock(vs__pidx *x);
void vs__pidx_unlock(vs__pidx *x);
/* Live index, locked: brings it up to rows [0, rows) with `changes` = the segment's
 * pay_changes (a different value than at the last sync rebuilds from row 0). On failure
 * the index is left as it was (still consistent for the rows it covers). */
int vs__pidx_sync(vs__pidx *x, size_t rows, uint64_t changes, vs__pidx_payload_fn pay,
                  void *ctx, vs__err *e);
/* Rows covered. */
size_t vs__pidx_rows(const vs__pidx *x);
/* Live index, locked: sorts the unsorted tail into the run (before a flush hands it on). */
int vs__pidx_merge(vs__pidx *x, vs__err *e);
/* Live → frozen; cannot fail. Caller ensures nobody holds the index's mutex. */
void vs__pidx_freeze(vs__pidx *x);

/* Whether this index answers the leaf: -1 no, 1 exactly, 0 with a superset (text, when
 * some row holds several strings). Cheap: no lookup. */
int vs__pidx_answers(const vs__pidx *x, const vs__fleaf *lf);
/* Answering filter leaves (filter.h, vs__frows): estimate returns matching entries (an
 * upper bound on rows) or -1 when this index cannot answer the leaf; rows ORs the
 * matching rows into bits and returns VS_OK, 1 (cannot answer) or a negative code. A
 * live index must be locked. */
double vs__pidx_estimate(const vs__pidx *x, const vs__fleaf *lf, int *exact);
int vs__pidx_rows_of(const vs__pidx *x, const vs__fleaf *lf, uint64_t *bits, int *exact);

/* Geo index: fn(ctx, row, lat, lon) for every entry in the covering's cells and in the
 * unsorted tail — a superset of the points in the covered region, each point once; fn
 * returns 0 to go on, anything else to stop (returned). A live index must be locked. */
struct vs__s2_covering;
typedef int (*vs__pidx_geo_fn)(void *ctx, uint32_t row, double lat, double lon);
int vs__pidx_geo_scan(const vs__pidx *x, const struct vs__s2_covering *cv, vs__pidx_geo_fn fn,
                      void *ctx);

/* Files: seg_dir/pidx-<16 hex digits of a hash of type and path>. Save is atomic. Load
 * verifies the checksum and every invariant; VS_ENOTFOUND when there is no file,
 * VS_ECORRUPT/VS_EFORMAT/VS_EVERSION when it cannot be used. */
int vs__pidx_save(const vs__pidx *x, const char *seg_dir, vs__err *e);
int vs__pidx_load(const char *seg_dir, const vs__fpath *path, int type, size_t rows,
                  vs__pidx **out, vs__err *e);
void vs__pidx_unlink(const char *seg_dir, const char *path_text, int type);

/* enum vs_pindex_type ↔ "keyword", "integer", "float", "bool", "datetime", "text", "geo". */
const char *vs__pindex_type_name(int type);
int vs__pindex_type_parse(const char *s);

#endif
