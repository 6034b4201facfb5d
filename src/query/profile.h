/*
 * profile.h — the query profiler: a tree of timed stages with work counters.
 *
 * A query run with VS_QUERY_PROFILE records each stage it goes through (parse, plan,
 * per-segment candidate generation, filtering, scoring, rescoring, merge, fetch) as a
 * node: wall time, how many times it was entered, counters of the work done in it, and the
 * bytes the calling thread allocated while inside it (children included). The tree can be
 * exported as JSON shaped like Elasticsearch's profile output, as folded stacks
 * ("a;b;c weight" lines, weight = self time in microseconds) that flamegraph.pl and
 * speedscope read, and as a self-contained SVG flame graph.
 *
 * Cost when off: every call takes a NULL profile and returns at once, so an unprofiled
 * query pays one predictable branch per stage (there are a handful per segment).
 *
 * A profile belongs to one query on one thread; it is not thread-safe. Node names are
 * static strings; labels (e.g. "segment 3") are copied. Running out of memory while
 * profiling marks the profile truncated (shown in every export) instead of failing the
 * query.
 */
#ifndef VS_QUERY_PROFILE_H
#define VS_QUERY_PROFILE_H

#include <stddef.h>
#include <stdint.h>

enum vs__prof_counter {
    VS__PC_DISTANCES = 0, /* query-row distance computations */
    VS__PC_VISITED,       /* graph nodes / rows considered */
    VS__PC_FILTER_EVALS,  /* payload filter evaluations */
    VS__PC_CANDIDATES,    /* rows that passed into the next stage */
    VS__PC_RESCORED,      /* quantized candidates rescored with float rows */
    VS__PC_N
};

typedef struct vs__prof vs__prof;

vs__prof *vs__prof_new(void);
void vs__prof_free(vs__prof *p);

/* Opens a child stage of the current one and makes it current; returns its handle (0 when
 * p is NULL or memory ran out: later calls with 0 are no-ops). label may be NULL. */
uint32_t vs__prof_enter(vs__prof *p, const char *name, const char *label);
/* Replaces a stage's label (at most 199 bytes kept; ';' becomes ','). */
void vs__prof_label(vs__prof *p, uint32_t node, const char *label);
/* Closes the stage (must be the current one), adding its wall time and allocations. */
void vs__prof_exit(vs__prof *p, uint32_t node);
/* Adds v to a counter of a stage. */
void vs__prof_add(vs__prof *p, uint32_t node, int counter, uint64_t v);
/* Adds time measured elsewhere to a stage and the stages enclosing it. */
void vs__prof_time(vs__prof *p, uint32_t node, uint64_t ns);

/* Ends the root stage ("query"): its time and allocations stop here. */
void vs__prof_finish(vs__prof *p);

/* Exports, allocated with util/alloc.h (caller frees with vs__free); NULL for no memory.
 *   json:   {"type":…, "description":…, "time_in_nanos":…, "count":…,
 *            "breakdown":{"distances":…, …, "bytes_allocated":…}, "children":[…]}
 *   folded: "query;segment 0;hnsw search 1234\n" per stage with self time > 0 (µs)
 *   svg:    a flame graph (width = wall time), one <rect> and <title> per stage. */
char *vs__prof_json(const vs__prof *p);
char *vs__prof_folded(const vs__prof *p);
char *vs__prof_svg(const vs__prof *p);
/* PostgreSQL EXPLAIN ANALYZE style text: one indented line per stage with its time and
 * counters. */
char *vs__prof_text(const vs__prof *p);

/* Monotonic nanoseconds. */
uint64_t vs__prof_now(void);

#endif
