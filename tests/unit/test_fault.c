/*
 * test_fault.c — fault-injection sweeps over every write path of the engine, in the
 * manner of SQLite's malloc*.test and ioerr*.test.
 *
 * WHAT IS SWEPT. Seven operations, each on a collection that already has history: two
 * sealed segments (with tombstones), a mutable segment, and WAL records after the
 * checkpoint (upserts that replace sealed points, deletes in sealed and mutable rows,
 * payload updates that copy sealed rows into the mutable segment). The operations are
 * vs_upsert (50 points: numeric and string ids, new and replacing, one id repeated,
 * some payloads NULL), vs_delete, vs_set_payload, vs_coll_flush, vs_coll_compact,
 * vs_coll_snapshot followed by vs_store_restore, and opening the store and collection
 * (segments to map, a WAL to replay, a torn tail to cut). The schema has two vector
 * fields (l2 dim 4, cosine dim 8) so every per-field path runs twice.
 *
 * HOW. The known state is built once per test into a template directory; every
 * iteration copies it afresh (plain POSIX calls, invisible to the injection counters),
 * opens it (unless opening is the operation), arms a fault, runs the operation and
 * disarms. Four sweeps per operation:
 *   - the n-th allocation fails (vs__alloc_fail_after);
 *   - every allocation from the n-th on fails (vs__alloc_fail_all_after: cleanup code
 *     must cope without memory too);
 *   - the n-th I/O operation of one kind (open, read, write, fsync, rename, truncate,
 *     mkdir) fails with EIO, with ENOSPC, and for writes with a torn write (half the
 *     bytes land);
 *   - every I/O operation from the n-th on fails with ENOSPC (a full disk: the WAL's
 *     truncate-back after a failed append fails too).
 * n runs 1, 2, 3, … until an iteration injects nothing: then every injection point the
 * operation reaches has been failed. The store runs with background = 0 and fsync =
 * always, so the process-wide counters see one thread and every run does the same I/O.
 *
 * WHAT MUST HOLD after each fault. "Before" is the template's content, "after" that of
 * the same operation run without faults (for flush, compaction, snapshot and open the
 * two are equal: the content must survive unchanged).
 *   - The call returns VS_OK or a clean code: VS_ENOMEM for allocation faults; for I/O
 *     the fault's own code (VS_EIO, VS_ENOSPC) or VS_EFATAL where a failed fsync leaves
 *     the collection sticky-fatal (the WAL's, or the directory's after a manifest was
 *     renamed in — that fsync opens the directory first, so a failed open counts). The
 *     handle carries a message. An iteration that injected nothing must succeed.
 *   - In memory the change is all-or-nothing: "after" on success, "before" after an
 *     allocation failure, either after an I/O failure (a write whose WAL fsync failed
 *     is applied but not known to be durable).
 *   - The handle stays coherent: a further write (an upsert of a probe point, then a
 *     flush) either works or returns VS_EFATAL, the two alike, and VS_EFATAL if the
 *     operation itself did.
 *   - Closing everything frees every allocation (checked per iteration, so a leak names
 *     its injection point).
 *   - On disk, checked three ways, each with vs_store_check and then a reopen: the
 *     directory as the operation left it (copied before the probe writes: what a crash
 *     at that moment would recover — the probe flush would otherwise repair a bad
 *     manifest and hide it); the same image with the template's manifest put back,
 *     when a manifest rename was left without its directory fsync (a crash may keep
 *     either manifest, so the old one must still find every file it names); and the
 *     store itself after the probe writes. Each must hold "before" or "after" by the
 *     rules above; after a successful probe flush it must equal what was in memory, and
 *     the probe point must be there exactly when its upsert was acknowledged. The
 *     restored collection of snapshot_restore must be absent or equal to the source.
 * A state is compared as text: the count, every point in scroll (id) order, and the
 * operation's affected ids through vs_get (the id map path), each with its payload and
 * both stored vectors. On a mismatch the first differing line is printed.
 *
 * The iterations run on tmpfs when there is one (see work_dir). Set VS_FAULT_REPORT=1
 * to print how many injection points each sweep reached.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "os/file.h"
#include "test.h"
#include "util/alloc.h"
#include "vecstore.h"

#define DIM_A 4
#define DIM_B 8
#define COLL "c"
#define RESTORED "restored"
#define PROBE "probe"
#define SWEEP_MAX 100000

/* ------------------------------------------------------------ text buffers ---- */

typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;

static void sb_add(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(sbuf *b, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        ASSERT(n >= 0);
        if (b->p && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + (size_t)n + 1) cap *= 2;
        char *q = realloc(b->p, cap);
        ASSERT(q);
        b->p = q;
        b->cap = cap;
    }
}

/* Describes the first line where a and b differ (static buffer). */
static const char *first_diff(const char *a, const char *b) {
    static char out[900];
    int line = 1;
    const char *la = a, *lb = b;
    while (*a && *a == *b) {
        if (*a == '\n') {
            line++;
            la = a + 1;
            lb = b + 1;
        }
        a++;
        b++;
    }
    int na = (int)strcspn(la, "\n"), nb = (int)strcspn(lb, "\n");
    snprintf(out, sizeof out, "line %d: [%.*s] vs [%.*s]", line, na > 400 ? 400 : na, la,
             nb > 400 ? 400 : nb, lb);
    return out;
}

/* ------------------------------------------------------------ ids and data ---- */

#define IDSET_MAX 128

/* A list of ids; string ids point into the set itself (do not copy it by value). */
typedef struct idset {
    size_t n;
    vs_id ids[IDSET_MAX];
    char str[IDSET_MAX][48];
} idset;

static void ids_lit(idset *s, const char *str) {
    ASSERT(s->n < IDSET_MAX);
    snprintf(s->str[s->n], sizeof s->str[0], "%s", str);
    s->ids[s->n] = vs_id_str(s->str[s->n]);
    s->n++;
}

static void ids_num(idset *s, uint64_t lo, uint64_t hi) {
    for (uint64_t k = lo; k <= hi; k++) {
        ASSERT(s->n < IDSET_MAX);
        s->ids[s->n++] = vs_id_num(k);
    }
}

static void ids_str(idset *s, const char *prefix, int lo, int hi) {
    char b[48];
    for (int k = lo; k <= hi; k++) {
        snprintf(b, sizeof b, "%s%d", prefix, k);
        ids_lit(s, b);
    }
}

static uint64_t id_key(const vs_id *id) {
    if (id->kind == VS_ID_NUM) return id->num;
    uint64_t h = 1469598103934665603ull;
    for (uint32_t i = 0; i < id->len; i++) h = (h ^ (uint8_t)id->str[i]) * 1099511628211ull;
    return h;
}

/* A deterministic, finite component; never an all-zero vector (cosine field). */
static float comp(uint64_t key, int ver, size_t pos, int field, int j) {
    double x = (double)(key % 1009) * 0.731 + ver * 1.37 + (double)pos * 0.113 + field * 2.1 +
               j * 0.57;
    return (float)sin(x) + (j == 0 ? 1.5f : 0.0f);
}

/* Upserts the set with data of version ver; every ninth payload is NULL ({}). */
static int upsert_set(vs_coll *c, const idset *s, int ver) {
    size_t n = s->n;
    float *a = malloc(n * DIM_A * sizeof *a), *b = malloc(n * DIM_B * sizeof *b);
    char **pl = calloc(n, sizeof *pl);
    ASSERT(a && b && pl);
    for (size_t i = 0; i < n; i++) {
        uint64_t k = id_key(&s->ids[i]);
        for (int j = 0; j < DIM_A; j++) a[i * DIM_A + j] = comp(k, ver, i, 0, j);
        for (int j = 0; j < DIM_B; j++) b[i * DIM_B + j] = comp(k, ver, i, 1, j);
        if ((i + (size_t)ver) % 9 == 4) continue;
        pl[i] = malloc(200);
        ASSERT(pl[i]);
        snprintf(pl[i], 200,
                 "{\"key\": %llu, \"ver\": %d, \"pos\": %zu, \"tags\": [\"t%d\", \"u\"], "
                 "\"o\": {\"x\": %.2f, \"even\": %s}}",
                 (unsigned long long)(k % 100000), ver, i, ver, (double)i / 4,
                 i % 2 ? "false" : "true");
    }
    /* Columns in the opposite order to the schema: the API maps them by name. */
    vs_vectors cols[2] = {{"b", b, DIM_B}, {"a", a, DIM_A}};
    vs_upsert_batch bt = {n, s->ids, cols, 2, (const char *const *)pl, NULL};
    int rc = vs_upsert(c, &bt);
    for (size_t i = 0; i < n; i++) free(pl[i]);
    free(pl);
    free(a);
    free(b);
    return rc;
}

static int upsert_probe(vs_coll *c) {
    idset s;
    s.n = 0;
    ids_lit(&s, PROBE);
    return upsert_set(c, &s, 9);
}

/* ------------------------------------------------------------ state as text ---- */

static int is_probe(vs_id id) {
    return id.kind == VS_ID_STR && id.len == strlen(PROBE) && !memcmp(id.str, PROBE, id.len);
}

/* Appends the rows of group 0; returns how many were not the probe. */
static size_t dump_rows(sbuf *b, const vs_result *r, int *probe_seen) {
    size_t kept = 0;
    for (size_t i = 0; i < vs_result_rows(r, 0); i++) {
        vs_id id = vs_result_id(r, 0, i);
        if (is_probe(id)) {
            *probe_seen = 1;
            continue;
        }
        kept++;
        if (id.kind == VS_ID_NUM)
            sb_add(b, "%llu", (unsigned long long)id.num);
        else
            sb_add(b, "\"%.*s\"", (int)id.len, id.str);
        const char *pl = vs_result_payload(r, 0, i);
        sb_add(b, " %s", pl ? pl : "(no payload)");
        for (size_t f = 0; f < 2; f++) {
            uint32_t dim = 0;
            const float *v = vs_result_vector(r, 0, i, f, &dim);
            ASSERT_MSG(v && dim == (f ? DIM_B : DIM_A), "row %zu field %zu: no vector", i, f);
            sb_add(b, " |");
            for (uint32_t j = 0; j < dim; j++) sb_add(b, " %.9g", (double)v[j]);
        }
        sb_add(b, "\n");
    }
    return kept;
}

/* The collection's content as text (malloc'd): count, all points in id order, then the
 * points of `aff` through vs_get. The probe point is left out; *probe_seen says whether
 * it was there. */
static char *coll_dump(vs_coll *c, const idset *aff, int *probe_seen) {
    sbuf b = {0};
    int seen_scroll = 0, seen_get = 0;
    uint64_t count;
    int rc = vs_count(c, NULL, &count);
    ASSERT_MSG(rc == VS_OK, "count: %s (%s)", vs_errname(rc), vs_coll_errmsg(c));
    vs_result *r;
    rc = vs_scroll(c, NULL, VS_K_MAX, NULL, VS_WITH_PAYLOAD | VS_WITH_VECTOR, &r);
    ASSERT_MSG(rc == VS_OK, "scroll: %s (%s)", vs_errname(rc), vs_coll_errmsg(c));
    ASSERT_EQ(vs_result_rows(r, 0), count);
    ASSERT(!vs_result_next(r, NULL));
    sbuf rows = {0};
    size_t kept = dump_rows(&rows, r, &seen_scroll);
    vs_result_free(r);
    sb_add(&b, "points %zu\n%s", kept, rows.p ? rows.p : "");
    free(rows.p);
    rc = vs_get(c, aff->ids, aff->n, VS_WITH_PAYLOAD | VS_WITH_VECTOR, &r);
    ASSERT_MSG(rc == VS_OK, "get: %s (%s)", vs_errname(rc), vs_coll_errmsg(c));
    sb_add(&b, "get\n");
    dump_rows(&b, r, &seen_get);
    vs_result_free(r);
    ASSERT(!seen_get);
    if (probe_seen) *probe_seen = seen_scroll;
    return b.p;
}

/* ------------------------------------------------------------ files ---- */

static void copy_file(const char *src, const char *dst) {
    int in = open(src, O_RDONLY), out = open(dst, O_WRONLY | O_CREAT | O_EXCL, 0644);
    ASSERT_MSG(in >= 0 && out >= 0, "copy %s: %s", src, strerror(errno));
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0) ASSERT(write(out, buf, (size_t)n) == n);
    ASSERT(n == 0);
    close(in);
    close(out);
}

static void copy_tree(const char *src, const char *dst) {
    ASSERT_MSG(mkdir(dst, 0755) == 0, "mkdir %s: %s", dst, strerror(errno));
    DIR *d = opendir(src);
    ASSERT_MSG(d, "opendir %s: %s", src, strerror(errno));
    struct dirent *de;
    char s[PATH_MAX], t[PATH_MAX];
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        snprintf(s, sizeof s, "%s/%s", src, de->d_name);
        snprintf(t, sizeof t, "%s/%s", dst, de->d_name);
        struct stat st;
        ASSERT(lstat(s, &st) == 0);
        if (S_ISDIR(st.st_mode))
            copy_tree(s, t);
        else
            copy_file(s, t);
    }
    closedir(d);
}

/* Appends half a record to the newest WAL file: what a crash during a write leaves. */
static void append_torn_tail(const char *db) {
    char dir[PATH_MAX], path[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/collections/%s/wal", db, COLL);
    struct dirent **list;
    int n = scandir(dir, &list, NULL, alphasort);
    ASSERT(n > 0);
    path[0] = 0;
    for (int i = 0; i < n; i++) {
        if (strstr(list[i]->d_name, ".wal")) snprintf(path, sizeof path, "%s/%s", dir, list[i]->d_name);
        free(list[i]);
    }
    free(list);
    ASSERT(path[0]);
    int fd = open(path, O_WRONLY | O_APPEND);
    ASSERT(fd >= 0);
    uint8_t rec[24 + 40];
    memset(rec, 0xA5, sizeof rec);
    rec[0] = 200; /* claims 200 payload bytes; 40 follow */
    rec[1] = rec[2] = rec[3] = 0;
    memset(rec + 4, 0, 4);
    ASSERT(write(fd, rec, sizeof rec) == (ssize_t)sizeof rec);
    close(fd);
}

/* ------------------------------------------------------------ the known state ---- */

static vs_store_options fault_opts(void) {
    vs_store_options o;
    vs_store_options_init(&o);
    o.background = 0;          /* one thread: the injection counters are process-wide */
    o.fsync = VS_FSYNC_ALWAYS; /* every write does the same I/O */
    return o;
}

/*
 * Two sealed segments, tombstones in both, a mutable segment fed by WAL records:
 *   segment 1: 0..79, s-0..s-19; live after the rest: 10..59, s-5..s-9
 *   segment 2: 60..139, s-10..s-29; live: 60..99, 110..129, s-10..s-24
 *   WAL:       130..159 and s-25..s-34 (replacing segment 2's), deletes 100..109
 *              (segment 2) and 150..154 (mutable), payload set on 20..29 (copied out
 *              of segment 1) and s-30..s-32
 * 165 live points.
 */
static void build_template(const char *path, int torn) {
    vs_store_options o = fault_opts();
    vs_store *s;
    char msg[256] = "";
    int rc = vs_store_open(path, &o, &s, msg, sizeof msg);
    ASSERT_MSG(rc == VS_OK, "open template: %s", msg);
    vs_schema *sc;
    ASSERT_OK(vs_schema_new(&sc));
    ASSERT_OK(vs_schema_add_vector(sc, "a", DIM_A, VS_METRIC_L2));
    ASSERT_OK(vs_schema_add_vector(sc, "b", DIM_B, VS_METRIC_COSINE));
    rc = vs_coll_create(s, COLL, sc);
    vs_schema_free(sc);
    ASSERT_OK(rc);
    vs_coll *c;
    ASSERT_OK(vs_coll_open(s, COLL, &c));
    idset ids;
    ids.n = 0;
    ids_num(&ids, 0, 79);
    ids_str(&ids, "s-", 0, 19);
    ASSERT_OK(upsert_set(c, &ids, 0));
    ASSERT_OK(vs_coll_flush(c));
    ids.n = 0;
    ids_num(&ids, 60, 139);
    ids_str(&ids, "s-", 10, 29);
    ASSERT_OK(upsert_set(c, &ids, 1));
    ids.n = 0;
    ids_num(&ids, 0, 9);
    ids_str(&ids, "s-", 0, 4);
    ASSERT_OK(vs_delete(c, ids.ids, ids.n, NULL));
    ASSERT_OK(vs_coll_flush(c));
    ids.n = 0;
    ids_num(&ids, 130, 159);
    ids_str(&ids, "s-", 25, 34);
    ASSERT_OK(upsert_set(c, &ids, 2));
    ids.n = 0;
    ids_num(&ids, 100, 109);
    ids_num(&ids, 150, 154);
    ASSERT_OK(vs_delete(c, ids.ids, ids.n, NULL));
    ids.n = 0;
    ids_num(&ids, 20, 29);
    ids_str(&ids, "s-", 30, 32);
    uint64_t upd = 0;
    ASSERT_OK(vs_set_payload(c, ids.ids, ids.n, VS_PAYLOAD_SET, "{\"flag\":true}", &upd));
    ASSERT_EQ(upd, 13);
    vs_coll_info info;
    ASSERT_OK(vs_coll_info_get(c, &info));
    ASSERT_EQ(info.points, 165);
    ASSERT_EQ(info.segments, 2);
    ASSERT(info.deleted > 0 && info.mutable_points > 0 && info.last_lsn > info.checkpoint_lsn);
    vs_coll_close(c);
    vs_store_close(s);
    if (torn) append_torn_tail(path);
}

/* ------------------------------------------------------------ operations ---- */

typedef struct fx fx;

typedef struct op_def {
    const char *name;
    int (*run)(fx *f);
    void (*affected)(idset *s); /* the ids read back through vs_get */
    int opens;                  /* the operation opens the store itself */
    int restores;               /* snapshot + restore: RESTORED is checked too */
    int torn;                   /* the template has a torn WAL tail */
    uint64_t want_affected;     /* what the call reports (delete/set_payload) */
} op_def;

struct fx {
    const op_def *op;
    char tmpl[PATH_MAX], root[PATH_MAX], db[PATH_MAX], post[PATH_MAX], post_old[PATH_MAX];
    char archive[PATH_MAX];
    char ctx[160];
    idset aff;
    char *before, *after;
    vs_store *s;
    vs_coll *c;
    int snap_rc;
    uint64_t affected;
    char open_msg[512];
    int limbo_checks; /* crash images checked with the manifest a failed rename replaced */
};

static void aff_sample(idset *s) {
    s->n = 0;
    ids_num(s, 10, 10);
    ids_num(s, 25, 25);
    ids_num(s, 59, 60);
    ids_num(s, 99, 99);
    ids_num(s, 105, 105); /* deleted */
    ids_num(s, 129, 129);
    ids_num(s, 135, 135);
    ids_num(s, 152, 152); /* deleted */
    ids_num(s, 159, 159);
    ids_str(s, "s-", 4, 5);
    ids_str(s, "s-", 15, 15);
    ids_str(s, "s-", 30, 30);
    ids_str(s, "s-", 34, 34);
    ids_lit(s, "missing");
}

/* 50 points: 30..39, s-7, s-8 replace segment 1 rows; 115..119, s-20..s-22 segment 2
 * rows; 140..144, s-33, s-34 mutable rows; 150..152 were deleted; 300..306, u-0..u-10
 * and a UTF-8 id are new; 31 comes again at the end (the last wins). */
static void aff_upsert(idset *s) {
    s->n = 0;
    ids_num(s, 30, 39);
    ids_num(s, 115, 119);
    ids_num(s, 140, 144);
    ids_num(s, 150, 152);
    ids_num(s, 300, 306);
    ids_str(s, "s-", 7, 8);
    ids_str(s, "s-", 20, 22);
    ids_str(s, "s-", 33, 34);
    ids_str(s, "u-", 0, 10);
    ids_lit(s, "\xc3\xbc-\xc3\xb1");
    ids_num(s, 31, 31);
}

/* 18 present (segment 1, segment 2, mutable, copied-out rows), 3 absent. */
static void aff_delete(idset *s) {
    s->n = 0;
    ids_num(s, 40, 44);
    ids_num(s, 110, 114);
    ids_num(s, 155, 157);
    ids_num(s, 20, 21);
    ids_str(s, "s-", 5, 6);
    ids_str(s, "s-", 26, 26);
    ids_num(s, 100, 100);
    ids_num(s, 9999, 9999);
    ids_lit(s, "nope");
}

/* 16 present, 2 absent. */
static void aff_set_payload(idset *s) {
    s->n = 0;
    ids_num(s, 45, 49);
    ids_num(s, 115, 117);
    ids_num(s, 145, 147);
    ids_num(s, 22, 23);
    ids_str(s, "s-", 11, 11);
    ids_str(s, "s-", 27, 27);
    ids_str(s, "s-", 30, 30);
    ids_num(s, 100, 100);
    ids_lit(s, "nope");
}

static int run_upsert(fx *f) {
    idset s;
    aff_upsert(&s);
    return upsert_set(f->c, &s, 3);
}

static int run_delete(fx *f) {
    idset s;
    aff_delete(&s);
    return vs_delete(f->c, s.ids, s.n, &f->affected);
}

static int run_set_payload(fx *f) {
    idset s;
    aff_set_payload(&s);
    return vs_set_payload(f->c, s.ids, s.n, VS_PAYLOAD_SET,
                          "{\"flag\": false, \"extra\": {\"z\": [1, 2]}}", &f->affected);
}

static int run_flush(fx *f) { return vs_coll_flush(f->c); }
static int run_compact(fx *f) { return vs_coll_compact(f->c); }

static int run_snapshot_restore(fx *f) {
    int rc = vs_coll_snapshot(f->c, f->archive);
    f->snap_rc = rc;
    if (rc) return rc;
    return vs_store_restore(f->s, f->archive, RESTORED);
}

static int run_open(fx *f) {
    vs_store_options o = fault_opts();
    f->open_msg[0] = 0;
    int rc = vs_store_open(f->db, &o, &f->s, f->open_msg, sizeof f->open_msg);
    if (rc) return rc;
    rc = vs_coll_open(f->s, COLL, &f->c);
    if (rc) {
        snprintf(f->open_msg, sizeof f->open_msg, "%s", vs_store_errmsg(f->s));
        vs_store_close(f->s);
        f->s = NULL;
        f->c = NULL;
    }
    return rc;
}

static const op_def OP_UPSERT = {"upsert", run_upsert, aff_upsert, 0, 0, 0, 0};
static const op_def OP_DELETE = {"delete", run_delete, aff_delete, 0, 0, 0, 18};
static const op_def OP_SET_PAYLOAD = {"set_payload", run_set_payload, aff_set_payload, 0, 0, 0, 16};
static const op_def OP_FLUSH = {"flush", run_flush, aff_sample, 0, 0, 0, 0};
static const op_def OP_COMPACT = {"compact", run_compact, aff_sample, 0, 0, 0, 0};
static const op_def OP_SNAPSHOT = {"snapshot_restore", run_snapshot_restore, aff_sample, 0, 1, 0, 0};
static const op_def OP_OPEN = {"open", run_open, aff_sample, 1, 0, 1, 0};

/* ------------------------------------------------------------ the driver ---- */

/* Sweep kinds: the n-th allocation fails; every allocation from the n-th on fails
 * (SQLite's "persistent" mode: cleanup code runs without memory too); the n-th I/O
 * operation of one kind fails; every I/O operation from the n-th on fails with ENOSPC
 * (the disk fills up: cleanup such as the WAL's truncate-back fails too). */
enum { SW_NONE, SW_ALLOC, SW_ALLOC_ALL, SW_IO, SW_IO_STICKY };
#define IS_ALLOC(kind) ((kind) == SW_ALLOC || (kind) == SW_ALLOC_ALL)

static const char *const IO_NAMES[] = {"open", "read", "write", "fsync", "rename", "truncate", "mkdir"};
static const char *const FAULT_NAMES[] = {"", "eio", "enospc", "short"};

static void open_handles(fx *f) {
    vs_store_options o = fault_opts();
    char msg[512] = "";
    int rc = vs_store_open(f->db, &o, &f->s, msg, sizeof msg);
    ASSERT_MSG(rc == VS_OK, "%s: open store: %s (%s)", f->ctx, vs_errname(rc), msg);
    rc = vs_coll_open(f->s, COLL, &f->c);
    ASSERT_MSG(rc == VS_OK, "%s: open collection: %s (%s)", f->ctx, vs_errname(rc),
               vs_store_errmsg(f->s));
}

static void close_handles(fx *f) {
    vs_coll_close(f->c);
    vs_store_close(f->s);
    f->c = NULL;
    f->s = NULL;
}

/* A fresh copy of the template at f->db. */
static void fresh_copy(fx *f) {
    vs__dir_remove_all(f->root);
    ASSERT_MSG(mkdir(f->root, 0755) == 0, "mkdir %s: %s", f->root, strerror(errno));
    copy_tree(f->tmpl, f->db);
}

static void check_cb(void *ctx, int level, const char *file, const char *msg) {
    if (level != VS_CHECK_ERROR) return;
    sbuf *b = ctx;
    sb_add(b, "%s: %s; ", file, msg);
}

static void expect_state(const fx *f, const char *where, const char *d, int rc, int kind) {
    int is_after = !strcmp(d, f->after), is_before = !strcmp(d, f->before);
    ASSERT_MSG(is_after || is_before, "%s (rc %s): %s state is neither before nor after; vs after: %s",
               f->ctx, vs_errname(rc), where, first_diff(d, f->after));
    if (rc == VS_OK)
        ASSERT_MSG(is_after, "%s: %s state after a successful call is not the after state: %s",
                   f->ctx, where, first_diff(d, f->after));
    if (rc != VS_OK && IS_ALLOC(kind))
        ASSERT_MSG(is_before, "%s (rc %s): %s state is not the before state after a failed call: %s",
                   f->ctx, vs_errname(rc), where, first_diff(d, f->before));
}

static int rc_allowed(int kind, int io_op, int fault, int rc) {
    if (rc == VS_OK) return 1;
    if (IS_ALLOC(kind)) return rc == VS_ENOMEM;
    if (kind == SW_NONE) return 0;
    if (kind == SW_IO_STICKY) return rc == VS_ENOSPC || rc == VS_EFATAL;
    /* Fatal: a failed fsync of the WAL, or of the directory after a manifest was renamed
     * in (that fsync opens the directory first, so an open can fail it too). */
    if (rc == VS_EFATAL) return io_op == VS_IO_FSYNC || io_op == VS_IO_OPEN;
    return rc == (fault == VS_FAULT_EIO ? VS_EIO : VS_ENOSPC);
}

/* Checks the store at path, opens it and compares its content with before/after (and
 * with `mem`, the in-memory state, if given: everything was flushed). want_probe: the
 * probe point must be there (else it must not). */
static void verify_disk(fx *f, const char *path, const char *where, int rc, int kind,
                        const char *mem, int want_probe) {
    int64_t live0 = vs__alloc_live();
    sbuf errs = {0};
    int crc = vs_store_check(path, check_cb, &errs);
    ASSERT_MSG(crc == VS_OK, "%s (rc %s): %s: check: %s: %s", f->ctx, vs_errname(rc), where,
               vs_errname(crc), errs.p ? errs.p : "");
    free(errs.p);
    vs_store_options o = fault_opts();
    char msg[512] = "";
    vs_store *s = NULL;
    vs_coll *c = NULL;
    int orc = vs_store_open(path, &o, &s, msg, sizeof msg);
    ASSERT_MSG(orc == VS_OK, "%s (rc %s): %s: open store: %s (%s)", f->ctx, vs_errname(rc), where,
               vs_errname(orc), msg);
    orc = vs_coll_open(s, COLL, &c);
    ASSERT_MSG(orc == VS_OK, "%s (rc %s): %s: open collection: %s (%s)", f->ctx, vs_errname(rc),
               where, vs_errname(orc), vs_store_errmsg(s));
    int probe_seen = 0;
    char *d = coll_dump(c, &f->aff, &probe_seen);
    expect_state(f, where, d, rc, kind);
    if (mem)
        ASSERT_MSG(!strcmp(d, mem), "%s (rc %s): %s: differs from what was flushed: %s", f->ctx,
                   vs_errname(rc), where, first_diff(d, mem));
    ASSERT_MSG(probe_seen == want_probe, "%s (rc %s): %s: probe point %s", f->ctx, vs_errname(rc),
               where, probe_seen ? "present" : "absent");
    free(d);
    if (f->op->restores) {
        vs_coll *r = NULL;
        orc = vs_coll_open(s, RESTORED, &r);
        ASSERT_MSG(orc == VS_OK || orc == VS_ENOTFOUND, "%s: %s: open restored: %s (%s)", f->ctx,
                   where, vs_errname(orc), vs_store_errmsg(s));
        if (rc == VS_OK)
            ASSERT_MSG(orc == VS_OK, "%s: %s: restored collection is missing", f->ctx, where);
        if (rc != VS_OK && IS_ALLOC(kind))
            ASSERT_MSG(orc == VS_ENOTFOUND, "%s: %s: restore ran out of memory, yet the collection exists",
                       f->ctx, where);
        if (r) {
            d = coll_dump(r, &f->aff, NULL);
            ASSERT_MSG(!strcmp(d, f->before), "%s (rc %s): %s: restored content differs: %s", f->ctx,
                       vs_errname(rc), where, first_diff(d, f->before));
            free(d);
            vs_coll_close(r);
        }
    }
    vs_coll_close(c);
    vs_store_close(s);
    ASSERT_MSG(vs__alloc_live() == live0, "%s: %s: %lld allocations leaked", f->ctx, where,
               (long long)(vs__alloc_live() - live0));
}

/* One iteration: fresh state, one armed fault, the operation, every check. Returns 1 if
 * the fault was injected. */
static int iterate(fx *f, int kind, int io_op, int fault, int64_t n) {
    if (kind == SW_ALLOC)
        snprintf(f->ctx, sizeof f->ctx, "%s: allocation %lld", f->op->name, (long long)n);
    else if (kind == SW_ALLOC_ALL)
        snprintf(f->ctx, sizeof f->ctx, "%s: allocations from %lld on", f->op->name, (long long)n);
    else if (kind == SW_IO_STICKY)
        snprintf(f->ctx, sizeof f->ctx, "%s: i/o from #%lld on fails with enospc", f->op->name,
                 (long long)n);
    else if (kind == SW_IO)
        snprintf(f->ctx, sizeof f->ctx, "%s: %s #%lld fails with %s", f->op->name, IO_NAMES[io_op],
                 (long long)n, FAULT_NAMES[fault]);
    else
        snprintf(f->ctx, sizeof f->ctx, "%s: no fault", f->op->name);
    int64_t live0 = vs__alloc_live();
    fresh_copy(f);
    f->snap_rc = VS_OK;
    f->affected = 0;
    if (!f->op->opens) open_handles(f);

    int64_t base = IS_ALLOC(kind) ? vs__alloc_failures() : vs__io_fault_hits();
    if (kind == SW_ALLOC) vs__alloc_fail_after(n);
    if (kind == SW_ALLOC_ALL) vs__alloc_fail_all_after(n);
    if (kind == SW_IO) vs__io_fault_arm(io_op, n, fault, 0);
    if (kind == SW_IO_STICKY) vs__io_fault_arm(VS_IO_ANY, n, VS_FAULT_ENOSPC, 1);
    int rc = f->op->run(f);
    vs__alloc_fail_after(0);
    vs__io_fault_disarm();
    int hit = kind != SW_NONE &&
              (IS_ALLOC(kind) ? vs__alloc_failures() : vs__io_fault_hits()) != base;

    /* The return code, and a message for a failure. */
    const char *em = f->op->opens                       ? f->open_msg
                     : f->op->restores && f->snap_rc == 0 ? vs_store_errmsg(f->s)
                                                          : vs_coll_errmsg(f->c);
    ASSERT_MSG(hit || rc == VS_OK, "%s: failed with nothing injected: %s (%s)", f->ctx,
               vs_errname(rc), em);
    ASSERT_MSG(rc_allowed(kind, io_op, fault, rc), "%s: unexpected %s (%s)", f->ctx,
               vs_errname(rc), em);
    if (rc != VS_OK) ASSERT_MSG(em && *em, "%s: %s without a message", f->ctx, vs_errname(rc));
    if (rc == VS_OK && f->op->want_affected)
        ASSERT_MSG(f->affected == f->op->want_affected, "%s: reported %llu affected, want %llu",
                   f->ctx, (unsigned long long)f->affected,
                   (unsigned long long)f->op->want_affected);
    if (f->op->restores) {
        char tmp[PATH_MAX + 8];
        snprintf(tmp, sizeof tmp, "%s.tmp", f->archive);
        ASSERT_MSG(!vs__path_exists(tmp), "%s: snapshot left %s behind", f->ctx, tmp);
        if (f->snap_rc != VS_OK)
            ASSERT_MSG(!vs__path_exists(f->archive), "%s: failed snapshot (%s) left an archive",
                       f->ctx, vs_errname(f->snap_rc));
    }

    /* The disk as the operation left it: what a crash right now would recover. */
    copy_tree(f->db, f->post);

    /* The state in memory, then the handle's coherence under further writes. */
    char *mem = NULL;
    int probed = 0, p_up = 0, p_flush = 0, limbo = 0;
    if (f->c) {
        mem = coll_dump(f->c, &f->aff, NULL);
        expect_state(f, "in-memory", mem, rc, kind);
        vs_coll_info info;
        ASSERT_OK(vs_coll_info_get(f->c, &info));
        /* The new manifest was renamed in but its directory fsync failed, in the first
         * flush of the operation (the mutable rows are still in memory): a crash may
         * bring back the template's manifest, which must still find all it names. */
        limbo = rc == VS_EFATAL && info.mutable_points > 0 &&
                strstr(vs_coll_errmsg(f->c), "manifest may not be durable") != NULL;
        if (rc == VS_OK) {
            if (f->op->run == run_flush || f->op->run == run_snapshot_restore)
                ASSERT_MSG(info.mutable_points == 0 && info.checkpoint_lsn == info.last_lsn,
                           "%s: flushed, yet %llu mutable points, checkpoint %llu of %llu", f->ctx,
                           (unsigned long long)info.mutable_points,
                           (unsigned long long)info.checkpoint_lsn, (unsigned long long)info.last_lsn);
            if (f->op->run == run_compact)
                ASSERT_MSG(info.segments == 1 && info.deleted == 0,
                           "%s: compacted, yet %u segments and %llu deleted rows", f->ctx,
                           info.segments, (unsigned long long)info.deleted);
        }
        p_up = upsert_probe(f->c);
        p_flush = vs_coll_flush(f->c);
        probed = 1;
        ASSERT_MSG((p_up == VS_OK || p_up == VS_EFATAL) && p_flush == p_up,
                   "%s (rc %s): later writes are not consistent: upsert %s, flush %s (%s)", f->ctx,
                   vs_errname(rc), vs_errname(p_up), vs_errname(p_flush), vs_coll_errmsg(f->c));
        if (rc == VS_EFATAL)
            ASSERT_MSG(p_up == VS_EFATAL, "%s: a write after VS_EFATAL returned %s", f->ctx,
                       vs_errname(p_up));
    }
    close_handles(f);
    ASSERT_MSG(vs__alloc_live() == live0, "%s (rc %s): %lld allocations leaked", f->ctx,
               vs_errname(rc), (long long)(vs__alloc_live() - live0));

    /* What is on disk now, and after the probe writes: check, open, compare. */
    if (limbo) { /* (opening an image for writing removes debris: copy it first) */
        char from[PATH_MAX + 32], to[PATH_MAX + 32];
        copy_tree(f->post, f->post_old);
        snprintf(from, sizeof from, "%s/collections/%s/MANIFEST", f->tmpl, COLL);
        snprintf(to, sizeof to, "%s/collections/%s/MANIFEST", f->post_old, COLL);
        ASSERT(unlink(to) == 0);
        copy_file(from, to);
        verify_disk(f, f->post_old, "crash image with the old manifest", rc, kind, NULL, 0);
        f->limbo_checks++;
    }
    verify_disk(f, f->post, "crash image", rc, kind, NULL, 0);
    verify_disk(f, f->db, "reopened", rc, kind, probed && p_flush == VS_OK ? mem : NULL,
                probed && p_up == VS_OK);
    ASSERT_MSG(vs__alloc_live() == live0, "%s: %lld allocations leaked after reopen", f->ctx,
               (long long)(vs__alloc_live() - live0));
    free(mem);
    return hit;
}

/* Fails each injection point of one kind in turn; returns how many there were. */
static int sweep(fx *f, int kind, int io_op, int fault) {
    int64_t n = 1;
    while (iterate(f, kind, io_op, fault, n)) {
        ASSERT_MSG(n < SWEEP_MAX, "%s: sweep does not end", f->ctx);
        n++;
    }
    return (int)(n - 1);
}

/* Where the iterations run. On a disk, fsync is nearly all the cost of an iteration
 * (a flush syncs files and directories dozens of times; measured: ~190 ms per flush
 * iteration on ext4 against ~4 ms on tmpfs) and tells nothing here, since the faults are
 * injected above the system calls. So the work goes to tmpfs (/dev/shm) when there is
 * one with room (an iteration needs about a megabyte), in a directory removed at the
 * end of the test (or of the process, if a test fails half-way); VS_FAULT_DIR names
 * another place. */
static char g_work[PATH_MAX];

static void work_cleanup(void) {
    if (g_work[0]) vs__dir_remove_all(g_work);
    g_work[0] = 0;
}

static const char *work_dir(void) {
    static int registered;
    work_cleanup();
    const char *base = getenv("VS_FAULT_DIR");
    struct statvfs sv;
    if (!base && access("/dev/shm", W_OK) == 0 && statvfs("/dev/shm", &sv) == 0 &&
        (uint64_t)sv.f_bavail * sv.f_frsize >= (32u << 20))
        base = "/dev/shm";
    if (!base) return vt_tmpdir();
    snprintf(g_work, sizeof g_work, "%s/vsfault-XXXXXX", base);
    if (!mkdtemp(g_work)) {
        g_work[0] = 0;
        return vt_tmpdir();
    }
    if (!registered) registered = atexit(work_cleanup) == 0;
    return g_work;
}

static void fx_init(fx *f, const op_def *op) {
    memset(f, 0, sizeof *f);
    f->op = op;
    /* cJSON must allocate through the counting allocator for its allocations to be
     * failed and counted. main.c sets this up; a test that ran before may have put the
     * default hooks back (test_filter's sweep does). */
    cJSON_Hooks hooks = {vs__malloc, vs__free};
    cJSON_InitHooks(&hooks);
    const char *dir = work_dir();
    snprintf(f->tmpl, sizeof f->tmpl, "%s/template", dir);
    snprintf(f->root, sizeof f->root, "%s/iter", dir);
    snprintf(f->db, sizeof f->db, "%s/db", f->root);
    snprintf(f->post, sizeof f->post, "%s/post", f->root);
    snprintf(f->post_old, sizeof f->post_old, "%s/post-old", f->root);
    snprintf(f->archive, sizeof f->archive, "%s/snap.vsa", f->root);
    op->affected(&f->aff);
    build_template(f->tmpl, op->torn);
    /* before: the template as opened */
    snprintf(f->ctx, sizeof f->ctx, "%s: setup", op->name);
    fresh_copy(f);
    open_handles(f);
    f->before = coll_dump(f->c, &f->aff, NULL);
    close_handles(f);
    /* after: the operation without faults */
    fresh_copy(f);
    if (!op->opens) open_handles(f);
    int rc = op->run(f);
    ASSERT_MSG(rc == VS_OK, "%s: reference run: %s", op->name, vs_errname(rc));
    f->after = coll_dump(f->c, &f->aff, NULL);
    close_handles(f);
    if (op->run != run_upsert && op->run != run_delete && op->run != run_set_payload)
        ASSERT_MSG(!strcmp(f->before, f->after), "%s changed the content: %s", op->name,
                   first_diff(f->after, f->before));
    else
        ASSERT_MSG(strcmp(f->before, f->after), "%s changed nothing", op->name);
    /* and once more through the full checks */
    iterate(f, SW_NONE, 0, 0, 0);
}

static void fx_free(fx *f) {
    free(f->before);
    free(f->after);
    f->before = f->after = NULL;
    work_cleanup();
}

static int report_on(void) {
    const char *s = getenv("VS_FAULT_REPORT");
    return s && *s && *s != '0';
}

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void alloc_sweep(const op_def *op) {
    fx f;
    fx_init(&f, op);
    double t0 = now_ms();
    int sites = sweep(&f, SW_ALLOC, 0, 0);
    ASSERT_MSG(sites > 0, "%s: no allocation was ever failed", op->name);
    int all = sweep(&f, SW_ALLOC_ALL, 0, 0);
    ASSERT_MSG(all == sites, "%s: %d allocation sites failing once, %d failing for good", op->name,
               sites, all);
    if (report_on())
        printf("     fault.%s alloc: %d allocation sites, each failed once and for good (%.0f ms)\n",
               op->name, sites, now_ms() - t0);
    fx_free(&f);
}

static void io_sweep(const op_def *op) {
    static const int ops[] = {VS_IO_WRITE, VS_IO_FSYNC, VS_IO_RENAME, VS_IO_OPEN,
                              VS_IO_TRUNCATE, VS_IO_MKDIR, VS_IO_READ};
    static const int faults[] = {VS_FAULT_EIO, VS_FAULT_ENOSPC, VS_FAULT_SHORT};
    fx f;
    fx_init(&f, op);
    sbuf rep = {0};
    int total = 0;
    double t0 = now_ms();
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        int per_op = 0;
        for (size_t k = 0; k < sizeof faults / sizeof faults[0]; k++) {
            if (faults[k] == VS_FAULT_SHORT && ops[i] != VS_IO_WRITE) continue;
            int sites = sweep(&f, SW_IO, ops[i], faults[k]);
            if (k == 0) per_op = sites;
            /* The same operation does the same I/O whatever the fault. */
            ASSERT_MSG(sites == per_op, "%s: %s: %d sites with %s, %d with eio", op->name,
                       IO_NAMES[ops[i]], sites, FAULT_NAMES[faults[k]], per_op);
            total += sites;
        }
        sb_add(&rep, " %s %d", IO_NAMES[ops[i]], per_op);
    }
    ASSERT_MSG(total > 0, "%s: no I/O was ever failed", op->name);
    int sticky = sweep(&f, SW_IO_STICKY, 0, 0);
    /* Flush, compaction and snapshot each commit a manifest: its directory fsync failing
     * must have been seen (and the old-manifest crash image checked). */
    if (op == &OP_FLUSH || op == &OP_COMPACT || op == &OP_SNAPSHOT)
        ASSERT_MSG(f.limbo_checks > 0, "%s: no manifest rename was left without its fsync",
                   op->name);
    if (report_on())
        printf("     fault.%s io: sites per kind:%s; %d injections; disk full from each of %d "
               "operations; %d old-manifest images (%.0f ms)\n",
               op->name, rep.p, total, sticky, f.limbo_checks, now_ms() - t0);
    free(rep.p);
    fx_free(&f);
}

/* ------------------------------------------------------------ the tests ---- */

TEST(fault, upsert_alloc) { alloc_sweep(&OP_UPSERT); }
TEST(fault, upsert_io) { io_sweep(&OP_UPSERT); }
TEST(fault, delete_alloc) { alloc_sweep(&OP_DELETE); }
TEST(fault, delete_io) { io_sweep(&OP_DELETE); }
TEST(fault, set_payload_alloc) { alloc_sweep(&OP_SET_PAYLOAD); }
TEST(fault, set_payload_io) { io_sweep(&OP_SET_PAYLOAD); }
TEST(fault, flush_alloc) { alloc_sweep(&OP_FLUSH); }
TEST(fault, flush_io) { io_sweep(&OP_FLUSH); }
TEST(fault, compact_alloc) { alloc_sweep(&OP_COMPACT); }
TEST(fault, compact_io) { io_sweep(&OP_COMPACT); }
TEST(fault, snapshot_restore_alloc) { alloc_sweep(&OP_SNAPSHOT); }
TEST(fault, snapshot_restore_io) { io_sweep(&OP_SNAPSHOT); }
TEST(fault, open_alloc) { alloc_sweep(&OP_OPEN); }
TEST(fault, open_io) { io_sweep(&OP_OPEN); }

/* Found while making the set_payload sweep leak-free: the merge looked a key up
 * case-insensitively (cJSON_HasObjectItem) but replaced it case-sensitively, so "flag"
 * against a payload holding "Flag" was dropped and its copy leaked. */
TEST(fault, set_payload_keys_are_case_sensitive) {
    vs_store_options o = fault_opts();
    vs_store *s;
    char msg[256] = "";
    ASSERT_MSG(vs_store_open(vt_path("db"), &o, &s, msg, sizeof msg) == VS_OK, "open: %s", msg);
    vs_schema *sc;
    ASSERT_OK(vs_schema_new(&sc));
    ASSERT_OK(vs_schema_add_vector(sc, "", DIM_A, VS_METRIC_L2));
    int rc = vs_coll_create(s, COLL, sc);
    vs_schema_free(sc);
    ASSERT_OK(rc);
    vs_coll *c;
    ASSERT_OK(vs_coll_open(s, COLL, &c));
    float v[DIM_A] = {1, 2, 3, 4};
    vs_id id = vs_id_num(7);
    const char *pl = "{\"Flag\":1,\"x\":0}";
    vs_vectors col = {NULL, v, DIM_A};
    vs_upsert_batch b = {1, &id, &col, 1, &pl, NULL};
    ASSERT_OK(vs_upsert(c, &b));
    uint64_t upd = 0;
    ASSERT_OK(vs_set_payload(c, &id, 1, VS_PAYLOAD_SET, "{\"flag\":2,\"x\":3}", &upd));
    ASSERT_EQ(upd, 1);
    vs_result *r;
    ASSERT_OK(vs_get(c, &id, 1, VS_WITH_PAYLOAD, &r));
    ASSERT_EQ(vs_result_rows(r, 0), 1);
    ASSERT_STREQ(vs_result_payload(r, 0, 0), "{\"Flag\":1,\"x\":3,\"flag\":2}");
    vs_result_free(r);
    vs_coll_close(c);
    vs_store_close(s);
}
