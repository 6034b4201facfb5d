/*
 * vecstore.h — the public interface of VecStore, an embeddable vector database.
 *
 * This header is the specification. Everything a program (the CLI, the server, the
 * Python binding, a user's application) can do with a store is declared here; nothing
 * else is exported from libvecstore.
 *
 * MODEL
 *   A store is a directory. It holds named collections. A collection has a schema (one
 *   or more named dense vector fields, each with a dimension and a metric) and holds
 *   points. A point has an id (an unsigned 64-bit integer or a UTF-8 string of 1..256
 *   bytes), one float32 vector per vector field, and a JSON object payload.
 *
 * CONVENTIONS
 *   - Every function that can fail returns an int: VS_OK (0) or a negative VS_E* code.
 *     vs_errstr(rc) gives static text for a code; vs_store_errmsg()/vs_coll_errmsg()
 *     give the specific message of the last failure on that handle (kept in a fixed
 *     buffer inside the handle, so even an out-of-memory failure has a message).
 *   - Constructors take an out-pointer; destructors accept NULL.
 *   - Input pointers are borrowed for the duration of the call only: the library copies
 *     what it keeps. Returned pointers say how long they live.
 *   - Options structs are filled with defaults by their *_init() function first, so
 *     fields can be added in later versions without breaking callers.
 *
 * THREADS
 *   All handles are thread-safe. Any number of threads may query a collection while one
 *   writes; writes to one collection are applied in a single total order (the WAL order).
 *   The error message of a handle belongs to the last failed call on that handle; threads
 *   that want their own messages open their own handles (cheap: opening the same store
 *   path twice in one process shares one underlying store).
 */
#ifndef VECSTORE_H
#define VECSTORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(VS_BUILDING_LIBRARY)
#define VS_API __attribute__((visibility("default")))
#else
#define VS_API
#endif

#define VS_VERSION_MAJOR 0
#define VS_VERSION_MINOR 1
#define VS_VERSION_PATCH 0
#define VS_VERSION_STRING "0.1.0"

/* ---------------------------------------------------------------- errors ---- */

/* X(name, value, default text). Codes are stable: new ones are appended. */
#define VS_ERRNO_MAP(X)                                                          \
    X(OK, 0, "ok")                                                               \
    X(EINVAL, -1, "invalid argument")                                            \
    X(ENOMEM, -2, "out of memory")                                               \
    X(EDIM, -3, "vector dimension mismatch")                                     \
    X(EVALUE, -4, "vector holds NaN or infinity")                               \
    X(EID, -5, "invalid point id")                                               \
    X(EJSON, -6, "invalid JSON")                                                 \
    X(EFILTER, -7, "invalid filter")                                             \
    X(ENOTFOUND, -8, "not found")                                                \
    X(EEXIST, -9, "already exists")                                              \
    X(ECORRUPT, -10, "data is corrupt")                                          \
    X(EIO, -11, "i/o error")                                                     \
    X(ENOSPC, -12, "no space left on device")                                    \
    X(EBUSY, -13, "store is locked by another process")                          \
    X(EREADONLY, -14, "store is open read-only")                                 \
    X(EVERSION, -15, "unsupported format version")                               \
    X(ENOTSTORE, -16, "not a vecstore store")                                    \
    X(EFATAL, -17, "store failed earlier and must be reopened")                  \
    X(EUNSUPPORTED, -18, "not supported in this build")                          \
    X(ERANGE, -19, "value out of range")                                         \
    X(ENAME, -20, "invalid name")                                                \
    X(EFORMAT, -21, "bad file format")                                           \
    X(ELIMIT, -22, "a resource limit was reached")

enum vs_error {
#define VS__ERR_ENUM(name, val, text) VS_##name = (val),
    VS_ERRNO_MAP(VS__ERR_ENUM)
#undef VS__ERR_ENUM
};

/* Static text for a code; never NULL (unknown codes give "unknown error"). */
VS_API const char *vs_errstr(int rc);
/* Symbolic name of a code ("VS_EDIM"); never NULL. */
VS_API const char *vs_errname(int rc);

/* ----------------------------------------------------------- version ------ */

VS_API const char *vs_version(void);

/* ----------------------------------------------------------- limits ------- */

#define VS_DIM_MIN 1
#define VS_DIM_MAX 65536
#define VS_ID_STR_MAX 256          /* bytes of a string id */
#define VS_NAME_MAX 64             /* bytes of a collection or field name */
#define VS_FIELDS_MAX 16           /* vector fields per collection */
#define VS_K_MAX 100000            /* largest k (limit) of one query */
#define VS_BATCH_MAX 1000000       /* points in one upsert/delete/get batch */
#define VS_PAYLOAD_MAX (16u << 20) /* bytes of one point's JSON payload */

/* ----------------------------------------------------------- ids ---------- */

enum vs_id_kind { VS_ID_NUM = 1, VS_ID_STR = 2 };

/* A point id. For VS_ID_STR, str points at len bytes of UTF-8 (not necessarily
 * NUL-terminated), 1 <= len <= VS_ID_STR_MAX. Ids returned by the library point into
 * the result that returned them and live as long as it. */
typedef struct vs_id {
    int kind;     /* enum vs_id_kind */
    uint64_t num; /* VS_ID_NUM */
    const char *str;
    uint32_t len; /* VS_ID_STR */
} vs_id;

static inline vs_id vs_id_num(uint64_t n) {
    vs_id id = {VS_ID_NUM, n, NULL, 0};
    return id;
}
VS_API vs_id vs_id_str(const char *nul_terminated);

/* ------------------------------------------------------- store ------------ */

typedef struct vs_store vs_store;
typedef struct vs_coll vs_coll;
typedef struct vs_schema vs_schema;
typedef struct vs_result vs_result;

enum vs_fsync {
    VS_FSYNC_ALWAYS = 0, /* an acknowledged write is on disk (group commit) */
    VS_FSYNC_BATCH = 1,  /* the WAL is synced every fsync_interval_ms */
    VS_FSYNC_OFF = 2     /* left to the OS */
};

#define VS_FSYNC_INTERVAL_DEFAULT 50
#define VS_FSYNC_INTERVAL_MIN 1
#define VS_FSYNC_INTERVAL_MAX 60000
#define VS_FLUSH_BYTES_DEFAULT (64u << 20)
#define VS_FLUSH_BYTES_MIN (64u << 10)
#define VS_FLUSH_BYTES_MAX (4096ull << 20)
#define VS_COMPACT_SEGMENTS_DEFAULT 8
#define VS_COMPACT_SEGMENTS_MIN 1
#define VS_COMPACT_SEGMENTS_MAX 1024

typedef struct vs_store_options {
    int read_only;                /* open without the write lock: sees what the writer had
                                     written to its files when this open read them (later
                                     writes are not seen until reopened) */
    int create_if_missing;        /* default 1 */
    int fsync;                    /* enum vs_fsync, default VS_FSYNC_ALWAYS */
    uint32_t fsync_interval_ms;   /* for VS_FSYNC_BATCH */
    uint64_t flush_bytes;         /* mutable segment size that triggers a flush */
    int background;               /* background flush/compaction thread, default 1 */
    uint32_t compact_min_segments; /* merge when a collection has more sealed segments */
} vs_store_options;

VS_API void vs_store_options_init(vs_store_options *opt);

/* Opens (or creates, if missing or empty and create_if_missing) the store at path.
 * A second open of the same path in one process shares the store. Another process
 * holding the store for writing makes this fail with VS_EBUSY unless read_only.
 * On failure *out is NULL and, if errmsg/errmsg_len are given, a message is copied. */
VS_API int vs_store_open(const char *path, const vs_store_options *opt, vs_store **out,
                         char *errmsg, size_t errmsg_len);
/* Closes the handle; the store closes (WAL synced) when its last handle closes. */
VS_API void vs_store_close(vs_store *s);
VS_API const char *vs_store_errmsg(const vs_store *s);
/* A second handle to the same store (cheap: no I/O), with its own error message; a
 * thread that wants its own messages takes one. Closed with vs_store_close. */
VS_API int vs_store_dup(vs_store *s, vs_store **out);
/* The directory the store was opened at (as given to vs_store_open); lives as long as
 * the handle. */
VS_API const char *vs_store_path(const vs_store *s);
/* 1 if the handle was opened read-only. */
VS_API int vs_store_read_only(const vs_store *s);

/* Collection names: 1..VS_NAME_MAX bytes of [A-Za-z0-9_.-], not starting with '.'. */
VS_API int vs_store_list(vs_store *s, char ***names, size_t *n); /* free with vs_strlist_free */
VS_API void vs_strlist_free(char **names, size_t n);
VS_API int vs_store_drop(vs_store *s, const char *name);

/* ------------------------------------------------------ schema ------------ */

enum vs_metric { VS_METRIC_COSINE = 0, VS_METRIC_L2 = 1, VS_METRIC_DOT = 2 };
enum vs_dtype { VS_DTYPE_F32 = 0 };
enum vs_index_kind { VS_INDEX_FLAT = 0, VS_INDEX_HNSW = 1 };
enum vs_quant { VS_QUANT_NONE = 0, VS_QUANT_INT8 = 1, VS_QUANT_PQ = 2, VS_QUANT_BINARY = 3 };

/* HNSW parameters (Malkov & Yashunin): m links per node (2·m on layer 0), candidate list
 * ef_construction while building, ef while searching (at least k is always used). */
#define VS_HNSW_M_DEFAULT 16
#define VS_HNSW_M_MIN 2
#define VS_HNSW_M_MAX 128
#define VS_HNSW_EF_CONSTRUCTION_DEFAULT 200
#define VS_HNSW_EF_CONSTRUCTION_MIN 8
#define VS_HNSW_EF_CONSTRUCTION_MAX 4096
#define VS_HNSW_EF_DEFAULT 64
#define VS_HNSW_EF_MIN 1
#define VS_HNSW_EF_MAX 65536
/* Segments with fewer live rows than this are searched exactly (no graph is built). */
#define VS_INDEX_THRESHOLD_DEFAULT 10000
#define VS_INDEX_THRESHOLD_MIN 0
#define VS_INDEX_THRESHOLD_MAX 100000000

VS_API int vs_schema_new(vs_schema **out);
VS_API void vs_schema_free(vs_schema *sc);
/* Adds a dense vector field. name may be "" for the single unnamed default field. */
VS_API int vs_schema_add_vector(vs_schema *sc, const char *name, uint32_t dim, int metric);
/* Makes a field's index HNSW (field NULL/"" = the default field). Segments with at least
 * index_threshold live rows get a graph, built in the background: the mutable segment's
 * grows as points arrive, a sealed segment's is built (or completed) and saved. Smaller
 * segments, and rows a graph does not cover yet, are searched exactly. 0 for a parameter
 * = its default. */
VS_API int vs_schema_set_hnsw(vs_schema *sc, const char *field, uint32_t m,
                              uint32_t ef_construction, uint32_t index_threshold);
/* Compresses a field's vectors for its HNSW index: VS_QUANT_INT8 (scalar, 4x smaller),
 * VS_QUANT_PQ with pq_m sub-quantizers (dim % pq_m == 0; pq_m bytes per vector),
 * VS_QUANT_BINARY (1 bit per dimension; cosine and dot only). Each indexed segment
 * trains its quantizer on a sample of its rows; a query walks the graph over the codes
 * and rescores the best candidates it met (see VS_OVERSAMPLING_DEFAULT) with the original
 * vectors, which stay in the segment files (mmap'd) and need not be resident. Only
 * HNSW fields can be quantized (call vs_schema_set_hnsw first, VS_EINVAL otherwise);
 * bad parameters are VS_EINVAL. */
VS_API int vs_schema_set_quantization(vs_schema *sc, const char *field, int quant,
                                      uint32_t pq_m);
/* "cosine" | "l2" | "dot" (also Qdrant's "Cosine", "Euclid", "Dot"); -1 if unknown. */
VS_API int vs_metric_parse(const char *s);
VS_API const char *vs_metric_name(int metric);

VS_API int vs_coll_create(vs_store *s, const char *name, const vs_schema *sc);
VS_API int vs_coll_open(vs_store *s, const char *name, vs_coll **out);
VS_API void vs_coll_close(vs_coll *c);
VS_API const char *vs_coll_errmsg(const vs_coll *c);

typedef struct vs_field_info {
    char name[VS_NAME_MAX + 1];
    uint32_t dim;
    int metric;
    int dtype;
    int index;                /* enum vs_index_kind */
    uint32_t hnsw_m;          /* HNSW only */
    uint32_t hnsw_ef_construction;
    uint32_t index_threshold;
    int quant;                /* enum vs_quant */
    uint32_t pq_m;
} vs_field_info;

typedef struct vs_coll_info {
    uint64_t points;           /* live points */
    uint64_t deleted;          /* tombstoned rows not yet compacted */
    uint32_t segments;         /* sealed segments */
    uint64_t mutable_points;   /* rows in the mutable segment */
    uint64_t last_lsn;         /* last applied WAL sequence number */
    uint64_t checkpoint_lsn;   /* everything <= this is in sealed segments */
    uint64_t wal_bytes;
    uint64_t disk_bytes;
    uint64_t memory_bytes;
    uint32_t indexed_segments;  /* sealed segments with an index attached (complete, or
                                   being completed after a flush) */
    uint32_t pending_segments;  /* segment fields waiting for the indexer: sealed ones
                                   without a complete index, and the mutable segment
                                   while its graph is behind its rows */
    uint64_t index_bytes;       /* memory of the attached indexes (mutable graph too) */
    uint64_t mutable_indexed;   /* rows of the mutable segment its HNSW graph covers
                                   (searched by graph; the rest exactly) */
    uint32_t n_fields;
    vs_field_info fields[VS_FIELDS_MAX];
} vs_coll_info;

VS_API int vs_coll_info_get(vs_coll *c, vs_coll_info *info);

/* ------------------------------------------------------ writes ------------ */

/* One column of vectors: n rows of dim floats, row-major, for the named field
 * (NULL or "" for the default field). */
typedef struct vs_vectors {
    const char *field;
    const float *data;
    uint32_t dim;
} vs_vectors;

typedef struct vs_upsert_batch {
    size_t n;                     /* points */
    const vs_id *ids;             /* n ids; a repeated id in one batch: the last wins */
    const vs_vectors *vectors;    /* one column per vector field of the schema */
    size_t n_vectors;
    const char *const *payloads;  /* NULL, or n JSON object texts (an entry may be NULL = {}) */
    const size_t *payload_lens;   /* NULL = the payloads are NUL-terminated */
} vs_upsert_batch;

/* Inserts or replaces points. All-or-nothing: the batch is validated (ids, dimensions,
 * NaN/Inf, JSON) before anything is written. Returns once durable per the fsync policy. */
VS_API int vs_upsert(vs_coll *c, const vs_upsert_batch *b);

/* Deletes points by id; ids that do not exist are ignored. *deleted (may be NULL)
 * receives how many existed. */
VS_API int vs_delete(vs_coll *c, const vs_id *ids, size_t n, uint64_t *deleted);

enum vs_payload_op {
    VS_PAYLOAD_SET = 0,       /* merge the object's keys into the payload */
    VS_PAYLOAD_OVERWRITE = 1, /* replace the payload by the object */
    VS_PAYLOAD_DELETE = 2,    /* json is an array of top-level keys to remove */
    VS_PAYLOAD_CLEAR = 3      /* json ignored; payload becomes {} */
};
/* Updates the payload of existing points; missing ids are ignored (*updated says how
 * many were found, may be NULL). */
VS_API int vs_set_payload(vs_coll *c, const vs_id *ids, size_t n, int op, const char *json,
                          uint64_t *updated);

/* Seals the mutable segment into an immutable one and checkpoints the WAL. */
VS_API int vs_coll_flush(vs_coll *c);
/* Merges sealed segments and purges deleted points. Readers are not blocked. */
VS_API int vs_coll_compact(vs_coll *c);
/* Waits until every sealed segment that should have an index has a complete one (the
 * background indexer builds them) and the mutable segment's graph covers all its rows,
 * or timeout_ms passes (VS_EBUSY then); timeout_ms < 0 waits without limit. With the
 * background thread off, does that work itself. Searches never wait for indexes: rows
 * an index does not cover yet are scored exactly. */
VS_API int vs_coll_wait_indexed(vs_coll *c, int timeout_ms);

/* ------------------------------------------------------ reads ------------- */

/* A result holds one or more groups of rows (one group per query of a batch; one
 * group for get/scroll). Everything it points at lives until vs_result_free. */
VS_API size_t vs_result_groups(const vs_result *r);
VS_API size_t vs_result_rows(const vs_result *r, size_t group);
VS_API vs_id vs_result_id(const vs_result *r, size_t group, size_t row);
VS_API float vs_result_score(const vs_result *r, size_t group, size_t row);
/* Compact JSON text of the payload (NUL-terminated), or NULL if not requested. */
VS_API const char *vs_result_payload(const vs_result *r, size_t group, size_t row);
/* The stored vector of field fi (schema order), or NULL if not requested. For cosine
 * fields the stored vector is the normalised one. */
VS_API const float *vs_result_vector(const vs_result *r, size_t group, size_t row, size_t fi,
                                     uint32_t *dim);
/* For scroll: returns 1 and sets *next (may be NULL) to the id to pass as offset for the
 * next page, or returns 0 when this was the last page. */
VS_API int vs_result_next(const vs_result *r, vs_id *next);
VS_API void vs_result_free(vs_result *r);
/* The ids and scores as two dense row-major matrices of groups x k cells, as faiss returns
 * them: group g's rows first, then padding (id -1, score NaN) where it has fewer than k;
 * rows past k are left out. Made on the first call and owned by the result (freed with
 * it); later calls must pass the same k (VS_EINVAL otherwise) and get the same arrays.
 * VS_ERANGE if a row's id is a string or a number above INT64_MAX (read those rows with
 * vs_result_id). Bindings hand these arrays out without copying them. */
VS_API int vs_result_matrix(vs_result *r, uint32_t k, const int64_t **ids, const float **scores);

/* The profile of a query run with VS_QUERY_PROFILE, in one of these formats; NULL if the
 * query was not profiled (or memory ran out). The text belongs to the result.
 *   JSON:   a stage tree shaped like Elasticsearch's profile output: {"type", "description",
 *           "time_in_nanos", "count", "breakdown": {distances, visited, filter_evals,
 *           candidates, rescored, bytes_allocated}, "children": [...]}
 *   FOLDED: "query;segment 0 hnsw;search 812" lines (self time in µs) for flamegraph.pl
 *           and speedscope
 *   SVG:    a self-contained flame graph
 *   TEXT:   an indented plan with actual times, like PostgreSQL's EXPLAIN ANALYZE */
enum { VS_PROFILE_JSON = 0, VS_PROFILE_FOLDED = 1, VS_PROFILE_SVG = 2, VS_PROFILE_TEXT = 3,
       VS_PROFILE_NFORMATS = 4 };
VS_API const char *vs_result_profile(vs_result *r, int format);

enum vs_with {
    VS_WITH_PAYLOAD = 1,
    VS_WITH_VECTOR = 2
};

/* Gets points by id, in the order asked; missing ids are skipped. */
VS_API int vs_get(vs_coll *c, const vs_id *ids, size_t n, int with, vs_result **out);

/* Counts live points, optionally matching a filter (JSON or text syntax, see vs_query). */
VS_API int vs_count(vs_coll *c, const char *filter, uint64_t *count);

/* Pages through all points in id order (numeric ids ascending, then string ids in byte
 * order). offset NULL starts at the beginning; the page holds the points with id >=
 * offset. Stable under concurrent writes: a point present throughout is seen once. */
VS_API int vs_scroll(vs_coll *c, const vs_id *offset, uint32_t limit, const char *filter,
                     int with, vs_result **out);

#define VS_QUERY_EXACT 1u   /* force exact search even when an index exists */
#define VS_QUERY_PROFILE 8u /* record a profile of the query's stages (vs_result_profile) */
/* Plan the query without running it: the result holds no hits, and its profile
 * (vs_result_profile) is the plan with the planner's estimates, per segment. */
#define VS_QUERY_EXPLAIN 16u
/* Quantized fields (vs_schema_set_quantization): by default the graph is walked over the
 * codes and the best candidates are rescored with the original vectors. */
#define VS_QUERY_NO_RESCORE 2u   /* return the codes' approximate scores, no rescoring */
#define VS_QUERY_IGNORE_QUANT 4u /* walk the graph with the original vectors */
/* Oversampling for quantized search: the walk's beam = max(ef, k x this). The rows
 * rescored are the best max(beam, k x f) codes met on the walk, f by code type: int8 2,
 * PQ 8, binary 8 (coarser codes rank true neighbours a little lower, so more of the
 * candidates the walk scored are checked again with the original vectors). */
#define VS_OVERSAMPLING_DEFAULT 1.0f
#define VS_OVERSAMPLING_MIN 1.0f
#define VS_OVERSAMPLING_MAX 100.0f

typedef struct vs_query {
    const char *field;      /* vector field; NULL or "" = the only/default field */
    const float *vectors;   /* nq query vectors, row-major */
    size_t nq;              /* default 1 */
    uint32_t dim;           /* dimension of each query vector */
    uint32_t k;             /* 1..VS_K_MAX, default 10 */
    uint32_t offset;        /* skip the first offset hits (pagination) */
    const char *filter;     /* NULL, or a filter: Qdrant JSON or the text syntax */
    int with;               /* VS_WITH_* bits; default VS_WITH_PAYLOAD */
    int has_threshold;      /* when set, drop hits worse than score_threshold */
    float score_threshold;
    uint32_t flags;         /* VS_QUERY_* */
    uint32_t ef;            /* HNSW beam width; 0 = VS_HNSW_EF_DEFAULT */
    float oversampling;     /* quantized fields; 0 = VS_OVERSAMPLING_DEFAULT */
    const struct vs_decay *decay; /* NULL, or a distance decay combined with the vector
                                     score (hybrid geo + vector ranking, see vs_decay) */
} vs_query;

VS_API void vs_query_init(vs_query *q);

/* Top-k nearest points to each query vector. Scores are the metric's natural value:
 * l2 → Euclidean distance (ascending), cosine and dot → similarity (descending).
 * Filter (docs/filters.md is the full reference): Qdrant's JSON filter structure
 *   {"must":[C…], "should":[C…], "must_not":[C…], "min_should":{…}}
 *   C = {"key":"a[].b", "match":{"value"|"any"|"except"|"contains_all"|"text"|"regex":…}}
 *     | {"key":K, "range":{"gt"|"gte"|"lt"|"lte": number or datetime, …}}
 *     | {"key":K, "values_count":{…}} | {"has_id":[id…]} | {"is_empty":{"key":K}}
 *     | {"is_null":{"key":K}} | {"nested":{"key":K,"filter":F}} | a filter object
 *   or, when the text does not start with '{', the text syntax:
 *     "price < 10 AND tags ANY IN ('a','b') AND $.meta.lang MATCHES '^en'".
 * A bad filter is VS_EFILTER (with the place and byte offset) before anything runs; a
 * regex that hits its match limits during the query is VS_ELIMIT. */
VS_API int vs_query_run(vs_coll *c, const vs_query *q, vs_result **out);

/* ------------------------------------------------- payload indexes --------- */

/* A payload index makes filters on one payload path fast: equality (match value/any)
 * with keyword, integer, float and bool indexes, numeric ranges with integer and float
 * indexes, datetime ranges with datetime indexes, match.text with text indexes, the geo
 * conditions with geo indexes. Without
 * one, filters read every candidate's payload; with one, the planner picks a strategy
 * per segment from its row counts (docs/filters.md, "Payload indexes and planning").
 * Indexes never change answers: values the type does not cover are found by reading
 * payloads. A path may carry several indexes of different types. */
enum vs_pindex_type {
    VS_PINDEX_KEYWORD = 1,  /* strings, compared whole */
    VS_PINDEX_INTEGER = 2,  /* integral numbers (exact over 64 bits) */
    VS_PINDEX_FLOAT = 3,    /* any number */
    VS_PINDEX_BOOL = 4,
    VS_PINDEX_DATETIME = 5, /* RFC 3339 strings, as UTC instants */
    VS_PINDEX_TEXT = 6,     /* the words of strings (match.text) */
    VS_PINDEX_GEO = 7       /* geo points {"lat", "lon"}: geo_radius, geo_bounding_box,
                               geo_polygon (S2 cells; docs/geo.md) */
};
/* "keyword" | "integer" | "float" | "bool" | "datetime" | "text" | "geo" (also Qdrant's
 * "uuid" → keyword); -1 if unknown. */
VS_API int vs_pindex_type_parse(const char *s);
VS_API const char *vs_pindex_type_name(int type);
/* Creates an index on path (filter key syntax: "a.b", "tags[]", "$.meta.lang") and builds
 * it over every segment before returning; it is persisted with the collection and kept
 * current by writes, flushes and compactions. Creating one that exists is a no-op.
 * VS_EINVAL: bad path or type; VS_ERANGE: more than VS_PINDEX_MAX indexes. */
#define VS_PINDEX_MAX 64
VS_API int vs_coll_create_payload_index(vs_coll *c, const char *path, int type);
/* Drops the index of that type on path (type 0: every index on path); VS_ENOTFOUND if
 * none. */
VS_API int vs_coll_drop_payload_index(vs_coll *c, const char *path, int type);
typedef struct vs_pindex_info {
    const char *path; /* canonical path text */
    int type;
    uint64_t entries; /* (value, point) entries over all segments */
    uint64_t memory_bytes;
} vs_pindex_info;
/* The collection's payload indexes: *out (free with vs_free) holds *n entries whose path
 * strings live inside the same block. */
VS_API int vs_coll_payload_indexes(vs_coll *c, vs_pindex_info **out, size_t *n);

/* ------------------------------------------------------ geo -------------- */

/* Geo points live in payloads as {"lat": …, "lon": …} objects in WGS84 degrees (or arrays
 * of them). The filter conditions geo_radius, geo_bounding_box and geo_polygon select
 * them (vs_query's filter grammar; text syntax: "loc WITHIN 5 KM OF (52.52, 13.40)"), a
 * VS_PINDEX_GEO index makes those fast (S2 cells), vs_geo_nearest orders points by
 * distance and vs_decay blends distance into vector ranking. Distances are geodesics on
 * the WGS84 ellipsoid, in metres (docs/geo.md has the rules and formulas). */

/* The geodesic distance between two points. VS_EINVAL when a coordinate is not finite
 * or out of range (lat in [-90, 90], lon in [-180, 180]). */
VS_API int vs_geo_distance(double lat1, double lon1, double lat2, double lon2, double *metres);

typedef struct vs_geo_query {
    const char *key;     /* payload path of the points ("location", "shops[].pos") */
    double lat, lon;     /* the origin */
    uint32_t k;          /* 1..VS_K_MAX, default 10 */
    double max_distance; /* metres, >= 0; negative (the default, -1) = no limit */
    const char *filter;  /* NULL, or a filter (Qdrant JSON or the text syntax) */
    int with;            /* VS_WITH_* bits; default VS_WITH_PAYLOAD */
} vs_geo_query;

VS_API void vs_geo_query_init(vs_geo_query *q);
/* The k points nearest the origin, nearest first (ties by id order within a segment);
 * each score is the distance in metres to the point's nearest location at key. Points
 * without a valid location at key are not returned. Exact: with a geo index on key, an
 * expanding search over S2 cells; without one, every payload is read. */
VS_API int vs_geo_nearest(vs_coll *c, const vs_geo_query *q, vs_result **out);

/* A distance decay term t(d) in [0, 1] (Elasticsearch's decay functions), with
 * d' = max(0, d − offset):
 *   LINEAR  t = max(0, 1 − d' · (1 − decay) / scale)
 *   EXP     t = decay ^ (d' / scale)
 *   GAUSS   t = decay ^ ((d' / scale)²)
 * so t = 1 within offset of the origin and t = decay at offset + scale. It combines with
 * the vector score s of each candidate:
 *   MULTIPLY  similarity metrics (cosine, dot): s · t when s >= 0, s / t when s < 0
 *             (a farther point always ranks lower); l2: s / t (distance grows)
 *   SUM       similarity: s + weight · t;  l2: s − weight · t
 * A point without a valid location at key gets t = 0; the returned score is the combined
 * one (l2: ascending, else descending; score_threshold applies to it). The ranking is
 * exact, not only a rescoring: the `candidates` best vector hits (the query's filter
 * applied) are combined first, then rings around the origin (answered by a geo index on
 * key when there is one) are searched until no point outside them can beat the k-th
 * combined score (docs/geo.md) — so an exact vector search gives the exact combined top
 * k. weight must be >= 0 (SUM). */
enum vs_decay_func { VS_DECAY_LINEAR = 1, VS_DECAY_EXP = 2, VS_DECAY_GAUSS = 3 };
enum vs_decay_combine { VS_COMBINE_MULTIPLY = 0, VS_COMBINE_SUM = 1 };
#define VS_DECAY_CANDIDATES_MIN 1
#define VS_DECAY_CANDIDATES_MAX VS_K_MAX

typedef struct vs_decay {
    int func;            /* enum vs_decay_func; default VS_DECAY_GAUSS */
    const char *key;     /* payload path of the points */
    double lat, lon;     /* the origin */
    double scale;        /* metres > 0 (required) */
    double offset;       /* metres >= 0, default 0 */
    double decay;        /* t at offset + scale, in (0, 1); default 0.5 */
    int combine;         /* enum vs_decay_combine; default VS_COMBINE_MULTIPLY */
    double weight;       /* SUM only; finite and >= 0, default 1 */
    uint32_t candidates; /* vector hits rescored per query; 0 = max(5·(k+offset), 50): the fastest
                            window in bench_geo; the ranking is exact for any */
} vs_decay;

VS_API void vs_decay_init(vs_decay *d);

/* ------------------------------------------------------ snapshots --------- */

/* Writes a consistent snapshot of the collection (writes may go on) to one archive file,
 * written to a temporary name and renamed when complete. */
VS_API int vs_coll_snapshot(vs_coll *c, const char *archive_path);
/* Restores a collection from an archive under name (NULL = the name it was saved as).
 * The archive is verified before anything is created; the name must not exist. */
VS_API int vs_store_restore(vs_store *s, const char *archive_path, const char *name);

/* ------------------------------------------------------ check ------------- */

enum vs_check_level { VS_CHECK_OK = 0, VS_CHECK_NOTE = 1, VS_CHECK_ERROR = 2 };
typedef void (*vs_check_cb)(void *ctx, int level, const char *file, const char *msg);
/* Verifies every checksum of a store offline (read-only; a store open for writing
 * elsewhere may be checked). A torn WAL tail is a NOTE (recoverable), not an error.
 * Returns VS_OK if no ERROR was reported, VS_ECORRUPT otherwise (or another code
 * if the store could not be read at all). */
VS_API int vs_store_check(const char *path, vs_check_cb cb, void *ctx);

/* ------------------------------------------------------ misc -------------- */

/* Name of the distance kernel in use: "scalar", "avx2", "avx512". VS_SIMD=scalar|avx2|
 * avx512 in the environment forces a path (falling back when the CPU lacks it). */
VS_API const char *vs_simd_name(void);
/* Frees memory the library returned (e.g. JSON texts). */
VS_API void vs_free(void *p);

#ifdef __cplusplus
}
#endif
#endif /* VECSTORE_H */
