/*
 * test_crash.c — crash recovery: a writer killed with SIGKILL at random moments, and
 * WAL files damaged by hand.
 *
 * THE ORACLE (RocksDB's crash test). A forked child opens the store with
 * VS_FSYNC_ALWAYS and runs a deterministic sequence of operations, numbered globally
 * from 1: op 1 creates the collection, every later op is an upsert of 1..200 points, a
 * delete, a payload update (set/overwrite/delete keys/clear), a flush or a compaction.
 * The content of op n is a pure function of (seed, n) and, for points, of (n, index in
 * the batch), so the parent can recompute any op without talking to the child. After
 * each call returns VS_OK the child write()s a fixed-size record "op n acknowledged" to
 * a pipe (one record < PIPE_BUF, so it arrives whole or not at all). The parent (in
 * three rounds of four after first waiting for 1..12 acknowledgements, so that the
 * sequence gets deep even where every op costs an fsync of milliseconds) sleeps 0..30
 * ms (one round in eight not at all), sends SIGKILL, reaps the child and reads every
 * acknowledgement. Let A be the last one. The store must then
 *   1. pass vs_store_check (a NOTE for a torn WAL tail is fine, an ERROR is not), and
 *      the real `vecstore check STORE` when the CLI has been built (exit status 0);
 *   2. open, read-only and (every other round) read-write;
 *   3. hold exactly the model state after op k for some k >= A. The child runs one op
 *      at a time and acknowledges op j before it starts op j+1, so k is A (op A+1 left
 *      no trace or only a torn tail) or A+1 (op A+1 reached the log, or even returned,
 *      but the kill came before its acknowledgement). Nothing else is possible: a
 *      state matching neither is a lost acknowledged write, a hole, or a phantom.
 * "Exactly" means: the same number of points; every id of the model present with its
 * vector bit for bit (l2; cosine vectors are stored normalised, so they are compared
 * with the normalisation done here in double precision, within 2e-6 per component) and
 * its payload equal as JSON (both sides parsed with cJSON, compared with cJSON_Compare,
 * which ignores key order and number spelling; the store's text must also be compact,
 * with no whitespace outside strings); the log position (vs_coll_info's last_lsn) equal
 * to the number of logging ops in the prefix, which tells apart prefixes that hold the
 * same points (a delete of missing ids); and no id outside the model, which vs_scroll
 * enumerates (also checking that scroll is in id order and that vs_count agrees).
 * The next round forks a new child that reopens the same store and goes on from op
 * k+1, so recovery runs again and again on top of recovered stores; rounds where the
 * parent verified read-only leave the torn tail and any flush debris for the child's
 * own recovery to clean up.
 *
 * The model is a table indexed by a small id space (so that upserts overwrite and
 * deletes hit), with each slot's expected vector and payload as a cJSON tree. Ids map
 * both ways: numeric ids are idx * 1000003 + 17 (every 97th is UINT64_MAX - idx, above
 * 2^53), string ids are "k<idx>/" plus a filler derived from idx (multi-byte UTF-8,
 * spaces, up to exactly VS_ID_STR_MAX bytes).
 *
 * TORN TAILS. torn_wal_tail builds small stores, damages the last WAL file directly
 * (byte layout in storage/wal.h: a 64-byte frame header, then records of a 24-byte
 * header and a payload) and checks the recovery rules of wal.h: a last record cut
 * short or with a flipped bit, and garbage, zeros or a stale copy of an old record
 * after the last one are a torn tail (check: VS_OK with a NOTE naming the file; open:
 * only the damaged last record is lost, read-only opens leave the file alone,
 * read-write opens cut it back to the last good record; later writes survive another
 * reopen); a flipped bit in an earlier record, an earlier record cut out whole (a gap
 * in the lsns) or a flipped bit in the file header is corruption (check: VS_ECORRUPT
 * with an ERROR, the CLI exits 1, vs_coll_open fails with VS_ECORRUPT and a message
 * naming the file and the record's offset, and the file is left untouched).
 *
 * ONE ROUND IN THREE the kill loop also tears the log's tail after the kill, as a power
 * cut in the middle of the last write would (SIGKILL alone almost never tears a write):
 * the record of the unacknowledged op, if it reached the log, is cut short or gets a
 * flipped bit (the state must then be exactly the one after the last ack), or garbage
 * follows the last record. Acknowledged records are never touched, and check must
 * report a NOTE for the tail.
 *
 * Two crash windows are also built by hand, because a random kill hits them rarely:
 * a kill between the new WAL file of a flush and its manifest, followed by a flush
 * after recovery (flush_after_crash_between_rotation_and_manifest), and a kill while
 * vs_store_open creates the store directory (interrupted_store_creation).
 *
 * Seeds: everything random derives from vt_seed(), which the harness prints on failure
 * (VS_TEST_SEED=N replays the same op contents; kill timing is a race by nature).
 * VS_TEST_LONG=1 runs 500 kill rounds per variant; VS_TEST_VERBOSE=1 prints counters.
 *
 * Memory: the parent closes every store it opens and frees its model (cJSON trees
 * count in the library's allocator, see main.c). The child never returns into the
 * harness: it leaves with _exit() and reports failures through the pipe.
 */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "vecstore.h"

#if defined(__SANITIZE_ADDRESS__)
#define CRASH_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CRASH_ASAN 1
#endif
#endif
#ifndef CRASH_ASAN
#define CRASH_ASAN 0
#endif

/* Kill rounds per variant. Never fewer than 50 in the default (non-ASan) run. */
#define ROUNDS_DEFAULT 60
#define ROUNDS_ASAN 50
#define ROUNDS_LONG 500
/* Time per variant after which rounds stop waiting for acknowledgements before the
 * kill (with VS_FSYNC_ALWAYS every op costs an fsync; a slow disk must not make the
 * suite slow). Not applied with VS_TEST_LONG. */
#if CRASH_ASAN
#define DEEP_MS 25000.0
#else
#define DEEP_MS 9000.0
#endif

#define COLL "crash"
#define IDSPACE 1500u    /* id slots of the model */
#define BATCH_MAX 200u   /* points of one upsert */
#define CHILD_OPS 240u   /* ops one child runs at most: 240 acks of 256 bytes fit in a
                          * 64 KiB pipe buffer, so a child never waits on the parent */
#define ID_BUF 300

/* ------------------------------------------------------------ rng --------- */

static uint64_t mix64(uint64_t x) { /* splitmix64 */
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

typedef struct rng {
    uint64_t s;
} rng;

static void rng_seed(rng *r, uint64_t a, uint64_t b) { r->s = mix64(a ^ mix64(b)); }
static uint64_t rng_u64(rng *r) {
    r->s += 0x9E3779B97F4A7C15ull;
    return mix64(r->s);
}
static uint32_t rng_below(rng *r, uint32_t n) { return (uint32_t)(rng_u64(r) % n); }

/* ------------------------------------------------------------ config ------ */

typedef struct crash_cfg {
    const char *variant;
    int metric;
    int str_ids;
    uint32_t dim;
    uint64_t seed;
    char path[PATH_MAX];
} crash_cfg;

/* ------------------------------------------------------------ ids --------- */

static uint64_t num_id(uint32_t idx) {
    return idx % 97 == 0 ? UINT64_MAX - idx : (uint64_t)idx * 1000003u + 17u;
}

static int num_idx(uint64_t num, uint32_t *idx) {
    if (num > (1ull << 62)) {
        uint64_t i = UINT64_MAX - num;
        if (i >= IDSPACE || i % 97) return 0;
        *idx = (uint32_t)i;
        return 1;
    }
    if (num < 17 || (num - 17) % 1000003u) return 0;
    uint64_t i = (num - 17) / 1000003u;
    if (i >= IDSPACE || i % 97 == 0) return 0;
    *idx = (uint32_t)i;
    return 1;
}

static const char *const k_parts[] = {"a", "Z", "-", "\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac",
                                      ".", "_", "0", " ", "~"};

/* The string id of slot idx into buf (ID_BUF bytes); returns its length. */
static uint32_t str_id(uint32_t idx, char *buf) {
    size_t len = (size_t)snprintf(buf, ID_BUF, "k%u/", idx);
    uint64_t h = mix64(idx ^ 0x5eed);
    unsigned parts = (unsigned)(h % 12);
    for (unsigned j = 0; j < parts; j++) {
        const char *p = k_parts[(h >> (4 + 4 * j)) % 10];
        size_t pl = strlen(p);
        memcpy(buf + len, p, pl);
        len += pl;
    }
    if (idx % 61 == 0) /* the longest id allowed */
        while (len < VS_ID_STR_MAX) buf[len++] = 'x';
    buf[len] = 0;
    return (uint32_t)len;
}

static int str_idx(const char *s, uint32_t len, uint32_t *idx) {
    if (len < 3 || s[0] != 'k') return 0;
    uint32_t v = 0, i = 1;
    while (i < len && s[i] >= '0' && s[i] <= '9' && i < 8) v = v * 10 + (uint32_t)(s[i++] - '0');
    if (i == 1 || i >= len || s[i] != '/' || v >= IDSPACE) return 0;
    char buf[ID_BUF];
    uint32_t n = str_id(v, buf);
    if (n != len || memcmp(buf, s, len)) return 0;
    *idx = v;
    return 1;
}

/* An id for slot idx; string ids point into buf (ID_BUF bytes). */
static vs_id make_id(const crash_cfg *cfg, uint32_t idx, char *buf) {
    if (!cfg->str_ids) return vs_id_num(num_id(idx));
    vs_id id = {VS_ID_STR, 0, buf, 0};
    id.len = str_id(idx, buf);
    return id;
}

static void id_text(const vs_id *id, char *buf, size_t cap) {
    if (id->kind == VS_ID_NUM)
        snprintf(buf, cap, "%llu", (unsigned long long)id->num);
    else
        snprintf(buf, cap, "\"%.*s\"", (int)(id->len > 60 ? 60 : id->len), id->str);
}

/* ------------------------------------------------------------ ops --------- */

enum { OP_CREATE, OP_UPSERT, OP_DELETE, OP_PAYLOAD, OP_FLUSH, OP_COMPACT };
static const char *const k_op_names[] = {"create", "upsert", "delete", "set_payload", "flush",
                                         "compact"};

typedef struct op {
    int kind;
    uint64_t n;
    size_t count;              /* points (upsert) or ids (delete, payload) */
    uint32_t idx[BATCH_MAX];   /* model slots */
    float *vec;                /* upsert: count × dim, as given to vs_upsert */
    char *pl[BATCH_MAX];       /* upsert: payload texts (NULL = none) */
    int pop;                   /* payload: enum vs_payload_op */
    char json[256];            /* payload: argument ("" for clear) */
} op;

/* Component j of the vector of point i of op n. Some components are -0.0 or
 * subnormal: they must come back bit for bit. */
static void gen_vec(const crash_cfg *cfg, uint64_t n, size_t i, float *v) {
    uint64_t base = mix64(cfg->seed ^ mix64(n * 1315423911u + i));
    int zero = cfg->metric == VS_METRIC_COSINE && base % 251 == 0;
    for (uint32_t j = 0; j < cfg->dim; j++) {
        uint64_t h = mix64(base + j);
        float x = (float)((double)(h >> 11) * 0x1p-53 * 2.0 - 1.0);
        if ((h & 0x3ff) == 1)
            x = -0.0f;
        else if ((h & 0x3ff) == 2)
            x = 1e-41f;
        v[j] = zero ? 0.0f : x;
    }
}

/* The payload text of point i of op n (malloc'd; NULL = no payload), written with
 * odd spacing and escapes so that the store's canonical form differs from it. */
static char *gen_payload(const crash_cfg *cfg, uint64_t n, size_t i, uint32_t idx) {
    uint64_t h = mix64(cfg->seed ^ mix64((n << 8) ^ i ^ 0xfeedull));
    if (h % 10 == 0) return NULL;
    if (h % 10 == 1) return strdup("{ }");
    size_t pad = (h >> 8) % 7 == 0 ? (size_t)((h >> 16) % 600) : 0;
    char *b = malloc(1024 + pad);
    int len = snprintf(b, 1024,
                       "{ \"b\" : %llu,\n\t\"i\":%zu , \"id\": %u, \"s\" : \"v%llx \\u00e9\\n"
                       "\\\"q\\\" \\/\", \"f\": %.10g, \"neg\": -%u, \"t\" : [\"t%u\", %u, true, "
                       "false, null], \"o\": {\"x\": %d, \"y\": [1, 2, {\"z\": \"w\"}]}",
                       (unsigned long long)n, i, idx, (unsigned long long)(h >> 20),
                       (double)(h % 1000000) / 1024.0, (unsigned)(h % 977), (unsigned)(h % 13),
                       (unsigned)(h % 5), (int)(h % 100) - 50);
    if (pad) {
        len += snprintf(b + len, 32, ", \"pad\": \"");
        memset(b + len, 'p', pad);
        len += (int)pad;
        b[len++] = '"';
    }
    snprintf(b + len, 8, " }");
    return b;
}

static void op_free(op *o) {
    free(o->vec);
    for (size_t i = 0; i < BATCH_MAX; i++) free(o->pl[i]);
    memset(o, 0, sizeof *o);
}

/* The kind of an op: the first draw of its generator. */
static int op_kind_draw(rng *r) {
    uint32_t roll = rng_below(r, 100);
    return roll < 64 ? OP_UPSERT : roll < 77 ? OP_DELETE : roll < 93 ? OP_PAYLOAD
                     : roll < 97 ? OP_FLUSH : OP_COMPACT;
}

static int op_kind(const crash_cfg *cfg, uint64_t n) {
    if (n == 1) return OP_CREATE;
    rng r;
    rng_seed(&r, cfg->seed, n);
    return op_kind_draw(&r);
}

/* Ops that append one WAL record (lsn); create, flush and compact append none. */
static int op_logs(int kind) {
    return kind == OP_UPSERT || kind == OP_DELETE || kind == OP_PAYLOAD;
}

/* Op n of the sequence: a pure function of (cfg->seed, n). */
static void op_gen(const crash_cfg *cfg, uint64_t n, op *o) {
    memset(o, 0, sizeof *o);
    o->n = n;
    if (n == 1) {
        o->kind = OP_CREATE;
        return;
    }
    rng r;
    rng_seed(&r, cfg->seed, n);
    o->kind = op_kind_draw(&r);
    if (o->kind == OP_UPSERT) {
        o->count = 1 + rng_below(&r, BATCH_MAX);
        o->vec = malloc(o->count * cfg->dim * sizeof(float));
        for (size_t i = 0; i < o->count; i++) {
            /* Mostly fresh slots in a window that moves with n, some anywhere: batches
             * overwrite each other and hold repeated ids (the last one wins). */
            o->idx[i] = rng_below(&r, 4) ? (uint32_t)((n * 37 + rng_below(&r, 400)) % IDSPACE)
                                         : rng_below(&r, IDSPACE);
            gen_vec(cfg, n, i, o->vec + i * cfg->dim);
            o->pl[i] = gen_payload(cfg, n, i, o->idx[i]);
        }
    } else if (o->kind == OP_DELETE) {
        o->count = 1 + rng_below(&r, 50);
        for (size_t i = 0; i < o->count; i++) o->idx[i] = rng_below(&r, IDSPACE);
    } else if (o->kind == OP_PAYLOAD) {
        o->count = 1 + rng_below(&r, 30);
        for (size_t i = 0; i < o->count; i++) o->idx[i] = rng_below(&r, IDSPACE);
        uint32_t p = rng_below(&r, 100);
        unsigned m = (unsigned)rng_below(&r, 8);
        if (p < 40) {
            o->pop = VS_PAYLOAD_SET;
            snprintf(o->json, sizeof o->json, "{%s%s%s%s%s}",
                     m & 1 ? "\"s\": \"set\"" : "", m & 1 && m & 6 ? "," : "",
                     m & 2 ? "\"u1\": [1, {\"deep\": null}]" : "", m & 2 && m & 4 ? "," : "",
                     m & 4 ? "\"o\": {\"x\": -1}" : "");
        } else if (p < 60) {
            o->pop = VS_PAYLOAD_OVERWRITE;
            snprintf(o->json, sizeof o->json,
                     "{\"ow\": %llu, \"arr\": [1, \"two\", null], \"u2\": \"\\u00fc\"}",
                     (unsigned long long)n);
        } else if (p < 85) {
            o->pop = VS_PAYLOAD_DELETE;
            snprintf(o->json, sizeof o->json, "[%s\"missing\"%s%s]", m & 1 ? "\"s\"," : "",
                     m & 2 ? ",\"t\",\"u1\"" : "", m & 4 ? ",\"o\",\"ow\"" : "");
        } else {
            o->pop = VS_PAYLOAD_CLEAR;
        }
    }
}

/* ------------------------------------------------------------ model ------- */

typedef struct model {
    int coll;              /* the collection exists (op 1 applied) */
    uint64_t k;            /* ops applied */
    uint64_t lsn;          /* WAL records those ops wrote (the store's last_lsn) */
    uint32_t dim;
    size_t count;
    unsigned char *present;
    float *vec;            /* IDSPACE × dim, as stored */
    cJSON **pl;            /* IDSPACE */
} model;

static void model_init(model *m, uint32_t dim) {
    memset(m, 0, sizeof *m);
    m->dim = dim;
    m->present = calloc(IDSPACE, 1);
    m->vec = calloc((size_t)IDSPACE * dim, sizeof(float));
    m->pl = calloc(IDSPACE, sizeof *m->pl);
}

static void model_clear(model *m) {
    for (uint32_t i = 0; i < IDSPACE; i++) {
        cJSON_Delete(m->pl[i]);
        m->pl[i] = NULL;
        m->present[i] = 0;
    }
    m->count = 0;
    m->coll = 0;
    m->lsn = 0;
}

static void model_free(model *m) {
    if (!m->present) return;
    model_clear(m);
    free(m->present);
    free(m->vec);
    free(m->pl);
    memset(m, 0, sizeof *m);
}

/* The vector the store keeps for input x: cosine vectors are normalised. */
static void stored_vec(const crash_cfg *cfg, const float *x, float *out) {
    if (cfg->metric != VS_METRIC_COSINE) {
        memcpy(out, x, cfg->dim * sizeof(float));
        return;
    }
    double n2 = 0;
    for (uint32_t j = 0; j < cfg->dim; j++) n2 += (double)x[j] * x[j];
    double inv = n2 > 0 ? 1.0 / sqrt(n2) : 0.0;
    for (uint32_t j = 0; j < cfg->dim; j++) out[j] = (float)(x[j] * inv);
}

static void model_apply(const crash_cfg *cfg, model *m, const op *o) {
    switch (o->kind) {
    case OP_CREATE:
        m->coll = 1;
        break;
    case OP_UPSERT:
        for (size_t i = 0; i < o->count; i++) {
            uint32_t s = o->idx[i];
            stored_vec(cfg, o->vec + i * cfg->dim, m->vec + (size_t)s * cfg->dim);
            cJSON_Delete(m->pl[s]);
            m->pl[s] = cJSON_Parse(o->pl[i] ? o->pl[i] : "{}");
            ASSERT_MSG(m->pl[s], "test bug: payload of op %llu is not JSON",
                       (unsigned long long)o->n);
            if (!m->present[s]) m->count++;
            m->present[s] = 1;
        }
        break;
    case OP_DELETE:
        for (size_t i = 0; i < o->count; i++) {
            uint32_t s = o->idx[i];
            if (!m->present[s]) continue;
            cJSON_Delete(m->pl[s]);
            m->pl[s] = NULL;
            m->present[s] = 0;
            m->count--;
        }
        break;
    case OP_PAYLOAD: {
        cJSON *arg = o->pop == VS_PAYLOAD_CLEAR ? NULL : cJSON_Parse(o->json);
        ASSERT_MSG(o->pop == VS_PAYLOAD_CLEAR || arg, "test bug: bad payload op json %s",
                   o->json);
        for (size_t i = 0; i < o->count; i++) {
            uint32_t s = o->idx[i];
            if (!m->present[s]) continue;
            cJSON *p = m->pl[s];
            const cJSON *kv;
            switch (o->pop) {
            case VS_PAYLOAD_SET:
                cJSON_ArrayForEach(kv, arg) {
                    cJSON *dup = cJSON_Duplicate(kv, 1);
                    if (cJSON_GetObjectItemCaseSensitive(p, kv->string))
                        cJSON_ReplaceItemInObjectCaseSensitive(p, kv->string, dup);
                    else
                        cJSON_AddItemToObject(p, kv->string, dup);
                }
                break;
            case VS_PAYLOAD_OVERWRITE:
                cJSON_Delete(p);
                m->pl[s] = cJSON_Duplicate(arg, 1);
                break;
            case VS_PAYLOAD_DELETE:
                cJSON_ArrayForEach(kv, arg)
                    cJSON_DeleteItemFromObjectCaseSensitive(p, kv->valuestring);
                break;
            default:
                cJSON_Delete(p);
                m->pl[s] = cJSON_CreateObject();
                break;
            }
        }
        cJSON_Delete(arg);
        break;
    }
    default: /* flush, compact: no logical change */
        break;
    }
    m->lsn += (uint64_t)op_logs(o->kind);
    m->k = o->n;
}

static void model_advance(const crash_cfg *cfg, model *m, uint64_t to) {
    while (m->k < to) {
        op o;
        op_gen(cfg, m->k + 1, &o);
        model_apply(cfg, m, &o);
        op_free(&o);
    }
}

/* 0 if got equals the model; else a description of the first difference. */
static int model_diff(const crash_cfg *cfg, const model *m, const model *got, char *why,
                      size_t cap) {
    if (m->coll != got->coll) {
        snprintf(why, cap, "collection %s, model says %s", got->coll ? "exists" : "is missing",
                 m->coll ? "it exists" : "it does not");
        return 1;
    }
    for (uint32_t s = 0; s < IDSPACE; s++) {
        char idb[ID_BUF], txt[100];
        if (!m->present[s] && !got->present[s]) continue;
        vs_id id = make_id(cfg, s, idb);
        id_text(&id, txt, sizeof txt);
        if (!got->present[s]) {
            snprintf(why, cap, "id %s is missing (slot %u)", txt, s);
            return 1;
        }
        if (!m->present[s]) {
            snprintf(why, cap, "id %s exists but should not (slot %u)", txt, s);
            return 1;
        }
        const float *a = got->vec + (size_t)s * cfg->dim, *b = m->vec + (size_t)s * cfg->dim;
        for (uint32_t j = 0; j < cfg->dim; j++) {
            int same = cfg->metric == VS_METRIC_COSINE ? fabsf(a[j] - b[j]) <= 2e-6f
                                                       : memcmp(&a[j], &b[j], sizeof(float)) == 0;
            if (!same) {
                snprintf(why, cap, "id %s: vector[%u] is %.9g, want %.9g", txt, j, a[j], b[j]);
                return 1;
            }
        }
        if (!cJSON_Compare(got->pl[s], m->pl[s], 1)) {
            char *x = cJSON_PrintUnformatted(got->pl[s]), *y = cJSON_PrintUnformatted(m->pl[s]);
            snprintf(why, cap, "id %s: payload %.300s, want %.300s", txt, x ? x : "?",
                     y ? y : "?");
            cJSON_free(x);
            cJSON_free(y);
            return 1;
        }
    }
    /* Two prefixes can hold the same points (a delete of missing ids); the log
     * position tells them apart, and must match too. */
    if (m->lsn != got->lsn) {
        snprintf(why, cap, "points match, but last_lsn is %llu, want %llu",
                 (unsigned long long)got->lsn, (unsigned long long)m->lsn);
        return 1;
    }
    if (m->count != got->count) { /* unreachable when the slots agree; kept as a guard */
        snprintf(why, cap, "%zu points, want %zu", got->count, m->count);
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------ child ------- */

enum { ACK_OP = 1, ACK_ERR = 2, ACK_DONE = 3 };

typedef struct ack {
    uint32_t kind;
    int32_t rc;
    uint64_t op;
    char msg[240];
} ack;

_Static_assert(sizeof(ack) == 256, "one ack is one atomic pipe write (< PIPE_BUF); see CHILD_OPS");

static void child_send(int fd, uint32_t kind, int rc, uint64_t n, const char *msg) {
    ack a;
    memset(&a, 0, sizeof a);
    a.kind = kind;
    a.rc = rc;
    a.op = n;
    if (msg) snprintf(a.msg, sizeof a.msg, "%s", msg);
    const char *p = (const char *)&a;
    size_t left = sizeof a;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) _exit(4);
        p += w;
        left -= (size_t)w;
    }
}

static __attribute__((noreturn)) void child_fail(int fd, uint64_t n, int rc, const char *what,
                                                 const char *detail) {
    char msg[240];
    snprintf(msg, sizeof msg, "%s: %s (%s)", what, detail ? detail : "", vs_errname(rc));
    child_send(fd, ACK_ERR, rc, n, msg);
    _exit(3);
}

/* Runs ops first .. first+budget-1 against the store, acknowledging each. */
static __attribute__((noreturn)) void child_main(const crash_cfg *cfg, uint64_t first,
                                                 unsigned budget, int fd) {
    vs_store_options so;
    vs_store_options_init(&so);
    so.fsync = VS_FSYNC_ALWAYS;
    so.flush_bytes = VS_FLUSH_BYTES_MIN; /* automatic flushes every few batches */
    so.compact_min_segments = 3;
    vs_store *s = NULL;
    char msg[200];
    int rc = vs_store_open(cfg->path, &so, &s, msg, sizeof msg);
    if (rc) child_fail(fd, first, rc, "child: vs_store_open", msg);
    vs_coll *c = NULL;
    uint64_t n = first;
    if (n == 1) {
        vs_schema *sc = NULL;
        if ((rc = vs_schema_new(&sc)) || (rc = vs_schema_add_vector(sc, "", cfg->dim, cfg->metric)))
            child_fail(fd, n, rc, "child: schema", NULL);
        rc = vs_coll_create(s, COLL, sc);
        vs_schema_free(sc);
        if (rc) child_fail(fd, n, rc, "child: op 1 vs_coll_create", vs_store_errmsg(s));
        child_send(fd, ACK_OP, 0, n, NULL);
        n++;
        budget = budget ? budget - 1 : 0;
    }
    if ((rc = vs_coll_open(s, COLL, &c)))
        child_fail(fd, n, rc, "child: vs_coll_open", vs_store_errmsg(s));
    vs_id *ids = malloc(BATCH_MAX * sizeof *ids);
    char(*idb)[ID_BUF] = malloc(BATCH_MAX * sizeof *idb);
    for (uint64_t end = n + budget; n < end; n++) {
        op o;
        op_gen(cfg, n, &o);
        for (size_t i = 0; i < o.count; i++) ids[i] = make_id(cfg, o.idx[i], idb[i]);
        switch (o.kind) {
        case OP_UPSERT: {
            vs_vectors col = {NULL, o.vec, cfg->dim};
            vs_upsert_batch b = {o.count, ids, &col, 1, (const char *const *)o.pl, NULL};
            rc = vs_upsert(c, &b);
            break;
        }
        case OP_DELETE:
            rc = vs_delete(c, ids, o.count, NULL);
            break;
        case OP_PAYLOAD:
            rc = vs_set_payload(c, ids, o.count, o.pop, o.pop == VS_PAYLOAD_CLEAR ? NULL : o.json,
                                NULL);
            break;
        case OP_FLUSH:
            rc = vs_coll_flush(c);
            break;
        case OP_COMPACT:
            rc = vs_coll_compact(c);
            break;
        default:
            rc = VS_EINVAL;
            break;
        }
        if (rc) {
            snprintf(msg, sizeof msg, "child: op %llu (%s)", (unsigned long long)n,
                     k_op_names[o.kind]);
            child_fail(fd, n, rc, msg, vs_coll_errmsg(c));
        }
        op_free(&o);
        child_send(fd, ACK_OP, 0, n, NULL);
    }
    /* Ran out of budget: close cleanly (the parent's kill then finds a zombie). */
    vs_coll_close(c);
    vs_store_close(s);
    child_send(fd, ACK_DONE, 0, n - 1, NULL);
    _exit(0);
}

/* ------------------------------------------------------------ checks ------ */

typedef struct check_ctx {
    int notes, errors, oks;
    char first_error[600];
    char note_file[600];
} check_ctx;

static void check_cb(void *vctx, int level, const char *file, const char *msg) {
    check_ctx *x = vctx;
    if (level == VS_CHECK_ERROR) {
        if (!x->errors++)
            snprintf(x->first_error, sizeof x->first_error, "%s: %s", file ? file : "",
                     msg ? msg : "");
    } else if (level == VS_CHECK_NOTE) {
        if (!x->notes++) snprintf(x->note_file, sizeof x->note_file, "%s", file ? file : "");
    } else {
        x->oks++;
    }
}

static int run_check(const char *path, check_ctx *x) {
    memset(x, 0, sizeof *x);
    return vs_store_check(path, check_cb, x);
}

/* Runs `vecstore check path`; returns its exit status (128 + signal), or -1 when the
 * CLI has not been built. out receives the start of its output. */
static int run_cli_check(const char *path, char *out, size_t cap) {
    const char *cli = vt_cli();
    out[0] = 0;
    if (!cli || !*cli || access(cli, X_OK) != 0) return -1;
    char file[PATH_MAX];
    snprintf(file, sizeof file, "%s/cli-check.out", vt_tmpdir());
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl(cli, "vecstore", "check", path, (char *)NULL);
        _exit(127);
    }
    ASSERT_MSG(pid > 0, "fork: %s", strerror(errno));
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    FILE *f = fopen(file, "r");
    if (f) {
        size_t n = fread(out, 1, cap - 1, f);
        out[n] = 0;
        fclose(f);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ------------------------------------------------------------ wal files --- */

/* One record of a WAL file (layout in storage/wal.h). */
typedef struct walrec {
    size_t off, size;
    uint64_t lsn;
} walrec;

#define WAL_HDR 64     /* the frame header of a WAL file */
#define WAL_REC_HDR 24 /* length u32, reserved u32, lsn u64, checksum u64 */

static unsigned char *read_all(const char *path, size_t *len) {
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(n > 0 ? (size_t)n : 1);
    if (n > 0 && fread(b, 1, (size_t)n, f) != (size_t)n) n = 0;
    fclose(f);
    *len = n > 0 ? (size_t)n : 0;
    return b;
}

static void write_all(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    ASSERT_MSG(f, "open %s: %s", path, strerror(errno));
    size_t w = len ? fwrite(data, 1, len, f) : 0;
    int rc = fclose(f);
    ASSERT_MSG(w == len && rc == 0, "write %s failed", path);
}

/* The newest WAL file of collection COLL (names are 16 hex digits of the first lsn, so
 * the greatest name is the newest); 0 if there is none. */
static int wal_last_file(const char *store, char *out, size_t cap) {
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/collections/%s/wal", store, COLL);
    DIR *d = opendir(dir);
    if (!d) return 0;
    char best[64] = "";
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l == 20 && !strcmp(de->d_name + 16, ".wal") && strcmp(de->d_name, best) > 0)
            snprintf(best, sizeof best, "%s", de->d_name);
    }
    closedir(d);
    if (!best[0]) return 0;
    snprintf(out, cap, "%s/%s", dir, best);
    return 1;
}

/* The records that fit in a WAL image (checksums are not verified: the files come
 * from the engine). Returns a malloc'd array of *n. */
static walrec *wal_parse(const unsigned char *b, size_t len, size_t *n) {
    size_t cap = 16;
    walrec *r = malloc(cap * sizeof *r);
    *n = 0;
    for (size_t off = WAL_HDR; off + WAL_REC_HDR <= len;) {
        uint32_t l;
        uint64_t lsn;
        memcpy(&l, b + off, 4);
        memcpy(&lsn, b + off + 8, 8);
        if (l == 0 || l > len - off - WAL_REC_HDR) break;
        if (*n == cap) r = realloc(r, (cap *= 2) * sizeof *r);
        r[(*n)++] = (walrec){off, WAL_REC_HDR + (size_t)l, lsn};
        off += WAL_REC_HDR + l;
    }
    return r;
}

/* ------------------------------------------------------------ recovered --- */

static int id_less(const vs_id *a, const vs_id *b) {
    if (a->kind != b->kind) return a->kind < b->kind;
    if (a->kind == VS_ID_NUM) return a->num < b->num;
    uint32_t m = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->str, b->str, m);
    return c ? c < 0 : a->len < b->len;
}

/* 1 if a JSON text has no whitespace outside its strings (vs_result_payload promises
 * compact text; the exact spelling of tokens is the store's business, so payloads are
 * compared as parsed JSON). */
static int is_compact(const char *t) {
    int in_str = 0;
    for (; *t; t++) {
        if (in_str) {
            if (*t == '\\' && t[1])
                t++;
            else if (*t == '"')
                in_str = 0;
        } else if (*t == '"') {
            in_str = 1;
        } else if (*t == ' ' || *t == '\n' || *t == '\t' || *t == '\r') {
            return 0;
        }
    }
    return 1;
}

/* Reads the whole collection into got (a model-shaped table). */
static void load_state(const crash_cfg *cfg, vs_coll *c, model *got, const char *ctx) {
    model_clear(got);
    got->coll = 1;
    vs_id off = {0, 0, NULL, 0}, prev = {0, 0, NULL, 0};
    char offb[ID_BUF], prevb[ID_BUF];
    int has_off = 0, has_prev = 0;
    for (;;) {
        vs_result *r = NULL;
        int rc = vs_scroll(c, has_off ? &off : NULL, 256, NULL,
                           VS_WITH_PAYLOAD | VS_WITH_VECTOR, &r);
        ASSERT_MSG(rc == VS_OK, "%s: vs_scroll: %s: %s", ctx, vs_errname(rc), vs_coll_errmsg(c));
        size_t rows = vs_result_rows(r, 0);
        for (size_t i = 0; i < rows; i++) {
            vs_id id = vs_result_id(r, 0, i);
            char txt[100];
            id_text(&id, txt, sizeof txt);
            uint32_t s;
            int known = id.kind == (cfg->str_ids ? VS_ID_STR : VS_ID_NUM) &&
                        (cfg->str_ids ? str_idx(id.str, id.len, &s) : num_idx(id.num, &s));
            ASSERT_MSG(known, "%s: recovered an id the writer never used: %s", ctx, txt);
            ASSERT_MSG(!has_prev || id_less(&prev, &id), "%s: scroll is out of order at %s", ctx,
                       txt);
            prev = id;
            if (id.kind == VS_ID_STR) {
                memcpy(prevb, id.str, id.len);
                prev.str = prevb;
            }
            has_prev = 1;
            ASSERT_MSG(!got->present[s], "%s: id %s appears twice", ctx, txt);
            uint32_t dim = 0;
            const float *v = vs_result_vector(r, 0, i, 0, &dim);
            ASSERT_MSG(v && dim == cfg->dim, "%s: id %s: no vector or dimension %u", ctx, txt, dim);
            memcpy(got->vec + (size_t)s * cfg->dim, v, cfg->dim * sizeof(float));
            const char *p = vs_result_payload(r, 0, i);
            ASSERT_MSG(p, "%s: id %s: no payload", ctx, txt);
            cJSON *j = cJSON_Parse(p);
            ASSERT_MSG(j && cJSON_IsObject(j), "%s: id %s: payload is not a JSON object: %.200s",
                       ctx, txt, p);
            if (!is_compact(p)) cJSON_Delete(j);
            ASSERT_MSG(is_compact(p), "%s: id %s: payload is not compact JSON: %.200s", ctx, txt,
                       p);
            got->pl[s] = j;
            got->present[s] = 1;
            got->count++;
        }
        vs_id nx;
        has_off = vs_result_next(r, &nx);
        if (has_off) {
            off = nx;
            if (nx.kind == VS_ID_STR) {
                memcpy(offb, nx.str, nx.len);
                off.str = offb;
            }
        }
        vs_result_free(r);
        if (!has_off) break;
        ASSERT_MSG(rows > 0, "%s: empty scroll page with a next offset", ctx);
    }
    uint64_t n = 0;
    int rc = vs_count(c, NULL, &n);
    ASSERT_MSG(rc == VS_OK, "%s: vs_count: %s", ctx, vs_errname(rc));
    ASSERT_MSG(n == got->count, "%s: vs_count says %llu, scroll found %zu", ctx,
               (unsigned long long)n, got->count);
    vs_coll_info info;
    ASSERT_OK(vs_coll_info_get(c, &info));
    ASSERT_MSG(info.points == got->count, "%s: info.points %llu, scroll found %zu", ctx,
               (unsigned long long)info.points, got->count);
    got->lsn = info.last_lsn;
}

/* What a round did to the log after the kill. */
typedef struct damage {
    int torn;       /* the last WAL file now ends in a torn tail: check must NOTE it */
    int exact;      /* the record of op acked+1 was torn: the state must be after op acked */
    char file[32];  /* the damaged WAL file's name */
    char what[80];
} damage;

typedef struct stats {
    unsigned rounds, immediate, done, torn_notes, unacked_durable, rw_rounds, torn_made,
        torn_inflight, deep;
    uint64_t acked;
    unsigned kinds[6];
    double max_ms;
} stats;

/* Opens the store (read-only or not) and reads its state into got. */
static void open_and_load(const crash_cfg *cfg, int read_only, model *got, const char *ctx) {
    vs_store_options so;
    vs_store_options_init(&so);
    so.read_only = read_only;
    so.create_if_missing = 0;
    so.flush_bytes = VS_FLUSH_BYTES_MIN;
    vs_store *s = NULL;
    char msg[300];
    int rc = vs_store_open(cfg->path, &so, &s, msg, sizeof msg);
    ASSERT_MSG(rc == VS_OK, "%s: vs_store_open(%s): %s: %s", ctx,
               read_only ? "read-only" : "read-write", vs_errname(rc), msg);
    vs_coll *c = NULL;
    rc = vs_coll_open(s, COLL, &c);
    if (rc == VS_ENOTFOUND) {
        model_clear(got);
        vs_store_close(s);
        return;
    }
    if (rc != VS_OK) {
        snprintf(msg, sizeof msg, "%s", vs_store_errmsg(s));
        vs_store_close(s);
        vt_fail(__FILE__, __LINE__, "%s: vs_coll_open(%s): %s: %s", ctx,
                read_only ? "read-only" : "read-write", vs_errname(rc), msg);
    }
    load_state(cfg, c, got, ctx);
    vs_coll_close(c);
    vs_store_close(s);
}

/* One verification of the store after a kill: the oracle of the file comment. The
 * model moves to the k it matched (advance) or must already match (!advance). */
static void verify_round(const crash_cfg *cfg, model *m, model *got, uint64_t acked,
                         int read_only, int advance, const damage *dm, unsigned round,
                         stats *st) {
    char ctx[160];
    snprintf(ctx, sizeof ctx, "%s round %u (last ack %llu, %s)", cfg->variant, round,
             (unsigned long long)acked, read_only ? "read-only" : "read-write");
    struct stat sb;
    char meta[PATH_MAX];
    snprintf(meta, sizeof meta, "%s/VECSTORE", cfg->path);
    if (stat(meta, &sb) != 0) {
        /* Killed before the store was created (or while it was): nothing can have been
         * acked, there is no store to check or to open read-only, and what is left
         * must not keep the next writer from creating it. */
        ASSERT_MSG(acked == 0, "%s: the store's VECSTORE file is gone", ctx);
        model_clear(got);
        if (!read_only && stat(cfg->path, &sb) == 0) open_and_load(cfg, 0, got, ctx);
    } else {
        check_ctx x;
        int rc = run_check(cfg->path, &x);
        ASSERT_MSG(rc == VS_OK && x.errors == 0, "%s: vs_store_check: %s, %d errors; first: %s",
                   ctx, vs_errname(rc), x.errors, x.first_error);
        if (x.notes && advance) st->torn_notes++;
        ASSERT_MSG(!dm->torn || (x.notes >= 1 && strstr(x.note_file, dm->file)),
                   "%s: the log tail was torn on purpose (%s) but vs_store_check gave %d notes "
                   "(first about '%s')",
                   ctx, dm->what, x.notes, x.note_file);
        char out[2000];
        int cli = run_cli_check(cfg->path, out, sizeof out);
        ASSERT_MSG(cli == -1 || cli == 0, "%s: `vecstore check` exited %d:\n%s", ctx, cli, out);
        open_and_load(cfg, read_only, got, ctx);
    }
    char why[900], why0[900] = "";
    if (!advance) {
        ASSERT_MSG(!model_diff(cfg, m, got, why, sizeof why),
                   "%s: state differs from the one found read-only (op %llu): %s", ctx,
                   (unsigned long long)m->k, why);
        return;
    }
    model_advance(cfg, m, acked);
    if (!model_diff(cfg, m, got, why0, sizeof why0)) return;
    ASSERT_MSG(!dm->exact, "%s: op %llu's record was torn (%s), so the state must be the one "
               "after op %llu: %s", ctx, (unsigned long long)acked + 1, dm->what,
               (unsigned long long)acked, why0);
    /* Op acked+1 may have reached the log before the kill. */
    model_advance(cfg, m, acked + 1);
    if (!model_diff(cfg, m, got, why, sizeof why)) {
        st->unacked_durable++;
        return;
    }
    vt_fail(__FILE__, __LINE__,
            "%s: recovered state matches no allowed prefix.\n  after op %llu (last ack): %s\n"
            "  after op %llu: %s",
            ctx, (unsigned long long)acked, why0, (unsigned long long)acked + 1, why);
}

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* Tears the tail of the newest WAL file as a power cut in the middle of the last
 * write would: either the record of the unacknowledged op (lsn_acked + 1), if it
 * reached the log, is cut short or gets a flipped byte, or garbage (random or zero
 * bytes) follows the last record. Acknowledged records are never touched. */
static void damage_tail(const crash_cfg *cfg, rng *r, uint64_t lsn_acked, damage *dm) {
    char wal[PATH_MAX];
    if (!wal_last_file(cfg->path, wal, sizeof wal)) return;
    size_t len, n;
    unsigned char *b = read_all(wal, &len);
    if (!b || len < WAL_HDR) { /* the kill came while the file was being created */
        free(b);
        return;
    }
    walrec *rec = wal_parse(b, len, &n);
    size_t end = n ? rec[n - 1].off + rec[n - 1].size : WAL_HDR;
    uint64_t last = n ? rec[n - 1].lsn : 0;
    const char *base = strrchr(wal, '/') + 1;
    if (n && last > lsn_acked + 1) {
        free(rec);
        free(b);
        vt_fail(__FILE__, __LINE__, "%s holds lsn %llu, but only %llu logged ops were acked "
                "and the writer runs one at a time", base, (unsigned long long)last,
                (unsigned long long)lsn_acked);
    }
    if (end != len) { /* the kill itself left a torn tail (a record > 64 KiB is two writes) */
        free(rec);
        free(b);
        return;
    }
    snprintf(dm->file, sizeof dm->file, "%s", base);
    dm->torn = 1;
    if (n && last == lsn_acked + 1 && rng_below(r, 3)) {
        walrec t = rec[n - 1];
        dm->exact = 1;
        if (rng_below(r, 3) == 0) {
            size_t at = t.off + rng_below(r, (uint32_t)t.size);
            b[at] ^= (unsigned char)(1u << rng_below(r, 8));
            write_all(wal, b, len);
            snprintf(dm->what, sizeof dm->what, "flipped a bit of lsn %llu at byte %zu",
                     (unsigned long long)last, at);
        } else {
            size_t keep = t.off + 1 + rng_below(r, (uint32_t)(t.size - 1));
            ASSERT_MSG(truncate(wal, (off_t)keep) == 0, "truncate %s: %s", wal, strerror(errno));
            snprintf(dm->what, sizeof dm->what, "cut lsn %llu to %zu of %zu bytes",
                     (unsigned long long)last, keep - t.off, t.size);
        }
    } else {
        size_t g = 1 + rng_below(r, 100);
        int zeros = rng_below(r, 2);
        unsigned char *nb = realloc(b, len + g);
        b = nb;
        for (size_t i = 0; i < g; i++) b[len + i] = zeros ? 0 : (unsigned char)rng_u64(r);
        write_all(wal, b, len + g);
        snprintf(dm->what, sizeof dm->what, "appended %zu %s bytes", g, zeros ? "zero" : "random");
    }
    free(rec);
    free(b);
}

/* The acknowledgements read so far from one child. */
typedef struct acks {
    uint64_t acked;  /* last acknowledged op */
    uint64_t expect; /* the op the next ack must name */
    int done;        /* the child closed the store and exited by itself */
    int bad;         /* an error report or a malformed record: msg says which */
    size_t have;     /* bytes of a partial record (never expected: writes < PIPE_BUF) */
    char msg[300];
} acks;

/* Reads one record; 0 at EOF, after a bad one, or when nothing came for timeout_ms
 * (< 0: wait for ever). */
static int read_ack(int fd, acks *ak, int timeout_ms) {
    ack a;
    while (ak->have < sizeof a) {
        struct pollfd pf = {fd, POLLIN, 0};
        int pr = poll(&pf, 1, timeout_ms);
        if (pr < 0 && errno == EINTR) continue;
        if (pr == 0) {
            ak->bad = 1;
            snprintf(ak->msg, sizeof ak->msg,
                     "the child acknowledged nothing for %d ms (last ack: op %llu): hung?",
                     timeout_ms, (unsigned long long)ak->acked);
            return 0;
        }
        ssize_t n = read(fd, (char *)&a + ak->have, sizeof a - ak->have);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            if (ak->have && !ak->bad) {
                ak->bad = 1;
                snprintf(ak->msg, sizeof ak->msg, "partial ack record of %zu bytes", ak->have);
            }
            return 0;
        }
        ak->have += (size_t)n;
    }
    ak->have = 0;
    if (a.kind == ACK_ERR) {
        ak->bad = 1;
        snprintf(ak->msg, sizeof ak->msg, "%s", a.msg);
        return 0;
    }
    if (a.kind == ACK_DONE) {
        ak->done = 1;
        return 1;
    }
    if (a.kind != ACK_OP || a.op != ak->expect) {
        ak->bad = 1;
        snprintf(ak->msg, sizeof ak->msg, "ack for op %llu (kind %u), expected op %llu",
                 (unsigned long long)a.op, a.kind, (unsigned long long)ak->expect);
        return 0;
    }
    ak->acked = a.op;
    ak->expect++;
    return 1;
}

static void crash_loop(int metric, int str_ids, const char *variant) {
    crash_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.variant = variant;
    cfg.metric = metric;
    cfg.str_ids = str_ids;
    cfg.dim = 16;
    cfg.seed = mix64((uint64_t)vt_seed() * 1000003u + (uint64_t)metric * 7u + (uint64_t)str_ids);
    snprintf(cfg.path, sizeof cfg.path, "%s", vt_path("store"));
    unsigned rounds = vt_long() ? ROUNDS_LONG : CRASH_ASAN ? ROUNDS_ASAN : ROUNDS_DEFAULT;
    rng r;
    rng_seed(&r, cfg.seed, 0xC0FFEE);
    model m, got;
    model_init(&m, cfg.dim);
    model_init(&got, cfg.dim);
    stats st;
    memset(&st, 0, sizeof st);
    double start = now_ms(), deep_ms = vt_long() ? 1e12 : DEEP_MS;
    for (unsigned round = 0; round < rounds; round++) {
        double t0 = now_ms();
        /* Mostly a long budget (the kill ends the child); sometimes a short one, so
         * that the child closes cleanly before it is killed. */
        unsigned budget = rng_below(&r, 16) == 0 ? 1 + rng_below(&r, 4) : CHILD_OPS;
        /* When to kill: a quarter of the rounds count 0..30 ms from the fork (so the
         * kill often lands in the child's open and recovery; one round in eight
         * kills at once), the rest first wait for 1..12 acknowledgements, so that
         * the sequence gets deep (automatic flushes, compactions) even on a disk
         * where every acknowledged op costs an fsync of several ms. */
        unsigned wait_acks = rng_below(&r, 4) == 0 ? 0 : 1 + rng_below(&r, 12);
        if (now_ms() - start > deep_ms) wait_acks = 0; /* a slow disk: keep the time bounded */
        if (wait_acks) st.deep++;
        unsigned sleep_us = rng_below(&r, 8) == 0 ? 0 : rng_below(&r, 30001);
        int fds[2];
        ASSERT_MSG(pipe(fds) == 0, "pipe: %s", strerror(errno));
        fflush(NULL);
        pid_t pid = fork();
        ASSERT_MSG(pid >= 0, "fork: %s", strerror(errno));
        if (pid == 0) {
            close(fds[0]);
            child_main(&cfg, m.k + 1, budget, fds[1]);
        }
        close(fds[1]);
        acks ak = {m.k, m.k + 1, 0, 0, 0, ""};
        while (ak.acked - m.k < wait_acks && read_ack(fds[0], &ak, 60000)) {
        }
        if (sleep_us) {
            struct timespec ts = {0, (long)sleep_us * 1000L};
            while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
            }
        } else if (!wait_acks) {
            st.immediate++;
        }
        kill(pid, SIGKILL);
        int wst;
        while (waitpid(pid, &wst, 0) < 0 && errno == EINTR) {
        }
        /* Every acknowledgement, in order; the write end closed when the child died. */
        while (read_ack(fds[0], &ak, -1)) {
        }
        close(fds[0]);
        ASSERT_MSG(!ak.bad, "%s round %u: %s", variant, round, ak.msg);
        uint64_t acked = ak.acked;
        int done = ak.done;
        int killed = WIFSIGNALED(wst) && WTERMSIG(wst) == SIGKILL;
        int clean = WIFEXITED(wst) && WEXITSTATUS(wst) == 0;
        ASSERT_MSG(killed || clean, "%s round %u: child ended with %s %d", variant, round,
                   WIFSIGNALED(wst) ? "signal" : "exit status",
                   WIFSIGNALED(wst) ? WTERMSIG(wst) : WEXITSTATUS(wst));
        if (done) st.done++;
        uint64_t lsn_acked = m.lsn;
        for (uint64_t n = m.k + 1; n <= acked; n++) {
            int kind = op_kind(&cfg, n);
            st.kinds[kind]++;
            lsn_acked += (uint64_t)op_logs(kind);
        }
        st.acked += acked - m.k;
        /* One round in three also tears the log's tail, as a power cut would. */
        damage dm;
        memset(&dm, 0, sizeof dm);
        if (rng_below(&r, 3) == 0) damage_tail(&cfg, &r, lsn_acked, &dm);
        st.torn_made += (unsigned)dm.torn;
        st.torn_inflight += (unsigned)dm.exact;
        /* Read-only first: it must not repair anything, so the next child finds the
         * torn tail and debris as the crash left them ... */
        verify_round(&cfg, &m, &got, acked, 1, 1, &dm, round, &st);
        /* ... and every other round a read-write open (which truncates the tail and
         * removes debris) must recover the very same state. */
        if (round % 2 == 1) {
            verify_round(&cfg, &m, &got, acked, 0, 0, &dm, round, &st);
            st.rw_rounds++;
        }
        st.rounds++;
        double ms = now_ms() - t0;
        if (ms > st.max_ms) st.max_ms = ms;
    }
    if (getenv("VS_TEST_VERBOSE"))
        printf("  %s: %u rounds (%u after acks, %u killed at once, %u clean exits, %u "
               "read-write), %llu ops acked (upsert %u, delete %u, payload %u, flush %u, "
               "compact %u), last op %llu, %u tails torn by hand (%u of them in-flight "
               "records), %u check notes, %u unacked ops found durable, %zu points, "
               "slowest round %.0f ms\n",
               variant, st.rounds, st.deep, st.immediate, st.done, st.rw_rounds,
               (unsigned long long)st.acked, st.kinds[OP_UPSERT], st.kinds[OP_DELETE],
               st.kinds[OP_PAYLOAD], st.kinds[OP_FLUSH], st.kinds[OP_COMPACT],
               (unsigned long long)m.k, st.torn_made, st.torn_inflight, st.torn_notes,
               st.unacked_durable, m.count, st.max_ms);
    model_free(&m);
    model_free(&got);
}

TEST(crash, kill_l2_numeric_ids) { crash_loop(VS_METRIC_L2, 0, "l2/numeric"); }
TEST(crash, kill_cosine_numeric_ids) { crash_loop(VS_METRIC_COSINE, 0, "cosine/numeric"); }
TEST(crash, kill_l2_string_ids) { crash_loop(VS_METRIC_L2, 1, "l2/string"); }

/* ------------------------------------------------------------ torn tails --- */

#define TT_BATCHES 8 /* batches written before the damage */
#define TT_PER 10    /* points per batch */
#define TT_DIM 16

enum {
    TT_CUT_FEW,     /* the last record loses its last 1..8 bytes */
    TT_CUT_HEADER,  /* only 1..23 bytes of the last record's header remain */
    TT_CUT_PAYLOAD, /* the last record ends somewhere in its payload */
    TT_FLIP_LAST,   /* one bit of the last record flipped */
    TT_DROP_LAST,   /* the last record removed exactly: a clean log, one record shorter */
    TT_GARBAGE,     /* random bytes after the last record */
    TT_ZEROS,       /* a zero-filled block after the last record (preallocated, unwritten) */
    TT_STALE,       /* a valid but stale record (a copy of the first) after the last */
    TT_FLIP_MID,    /* one bit of an earlier record flipped: corruption */
    TT_HOLE,        /* an earlier record cut out whole: a gap in the lsns, corruption */
    TT_HOLE_LAST,   /* the same for the record just before the last one */
    TT_FLIP_HDR,    /* one bit of the file header flipped: corruption */
    TT_NCASES
};
static const char *const k_tt_names[] = {"cut_few",   "cut_header", "cut_payload", "flip_last",
                                         "drop_last", "garbage",    "zeros",       "stale",
                                         "flip_mid",  "hole",       "hole_last",   "flip_header"};

static float tt_val(int b, int i, uint32_t j) {
    return (float)(b * 1000 + i * 16 + (int)j) * 0.25f - 7.0f;
}

static vs_store *tt_open(const char *path, int read_only) {
    vs_store_options so;
    vs_store_options_init(&so);
    so.read_only = read_only;
    so.fsync = VS_FSYNC_ALWAYS;
    vs_store *s = NULL;
    char msg[300];
    int rc = vs_store_open(path, &so, &s, msg, sizeof msg);
    ASSERT_MSG(rc == VS_OK, "vs_store_open %s: %s: %s", path, vs_errname(rc), msg);
    return s;
}

static void tt_upsert(vs_coll *c, int b) {
    float v[TT_PER * TT_DIM];
    vs_id ids[TT_PER];
    char pl[TT_PER][64];
    const char *pls[TT_PER];
    for (int i = 0; i < TT_PER; i++) {
        ids[i] = vs_id_num((uint64_t)(b * TT_PER + i));
        for (uint32_t j = 0; j < TT_DIM; j++) v[i * TT_DIM + (int)j] = tt_val(b, i, j);
        snprintf(pl[i], sizeof pl[i], "{ \"b\": %d, \"i\": %d }", b, i);
        pls[i] = pl[i];
    }
    vs_vectors col = {NULL, v, TT_DIM};
    vs_upsert_batch bt = {TT_PER, ids, &col, 1, pls, NULL};
    int rc = vs_upsert(c, &bt);
    ASSERT_MSG(rc == VS_OK, "upsert batch %d: %s: %s", b, vs_errname(rc), vs_coll_errmsg(c));
}

/* A store whose collection got TT_BATCHES acknowledged batches, each one WAL record
 * (flush_after >= 0: a flush after that batch, so the log starts later). */
static void tt_build(const char *path, int flush_after) {
    vs_store *s = tt_open(path, 0);
    vs_schema *sc;
    ASSERT_OK(vs_schema_new(&sc));
    ASSERT_OK(vs_schema_add_vector(sc, "", TT_DIM, VS_METRIC_L2));
    int rc = vs_coll_create(s, COLL, sc);
    vs_schema_free(sc);
    ASSERT_MSG(rc == VS_OK, "create: %s", vs_store_errmsg(s));
    vs_coll *c;
    ASSERT_OK(vs_coll_open(s, COLL, &c));
    for (int b = 0; b < TT_BATCHES; b++) {
        tt_upsert(c, b);
        if (b == flush_after) ASSERT_MSG(vs_coll_flush(c) == VS_OK, "flush: %s", vs_coll_errmsg(c));
    }
    vs_coll_close(c);
    vs_store_close(s);
}

/* The collection holds exactly the batches in mask, bit for bit. */
static void tt_expect(const char *path, int read_only, unsigned mask, const char *ctx) {
    vs_store *s = tt_open(path, read_only);
    vs_coll *c = NULL;
    int rc = vs_coll_open(s, COLL, &c);
    ASSERT_MSG(rc == VS_OK, "%s: vs_coll_open: %s: %s", ctx, vs_errname(rc), vs_store_errmsg(s));
    uint64_t n = 0;
    ASSERT_OK(vs_count(c, NULL, &n));
    ASSERT_MSG(n == (uint64_t)__builtin_popcount(mask) * TT_PER, "%s: %llu points, want %d", ctx,
               (unsigned long long)n, __builtin_popcount(mask) * TT_PER);
    for (int b = 0; b < 16; b++) {
        vs_id ids[TT_PER];
        for (int i = 0; i < TT_PER; i++) ids[i] = vs_id_num((uint64_t)(b * TT_PER + i));
        vs_result *r;
        ASSERT_OK(vs_get(c, ids, TT_PER, VS_WITH_PAYLOAD | VS_WITH_VECTOR, &r));
        size_t rows = vs_result_rows(r, 0);
        int want = (mask >> b) & 1;
        if (rows != (want ? (size_t)TT_PER : 0)) {
            vs_result_free(r);
            vt_fail(__FILE__, __LINE__, "%s: batch %d has %zu of %d points, want %s", ctx, b,
                    rows, TT_PER, want ? "all" : "none");
        }
        for (size_t i = 0; i < rows; i++) {
            uint32_t dim = 0;
            const float *v = vs_result_vector(r, 0, i, 0, &dim);
            char pl[64];
            snprintf(pl, sizeof pl, "{\"b\":%d,\"i\":%zu}", b, i);
            int ok = dim == TT_DIM && vs_result_id(r, 0, i).num == (uint64_t)(b * TT_PER) + i &&
                     !strcmp(vs_result_payload(r, 0, i), pl);
            for (uint32_t j = 0; ok && j < TT_DIM; j++) {
                float w = tt_val(b, (int)i, j);
                ok = memcmp(&v[j], &w, sizeof w) == 0;
            }
            if (!ok) {
                vs_result_free(r);
                vt_fail(__FILE__, __LINE__, "%s: batch %d point %zu came back different", ctx,
                        b, i);
            }
        }
        vs_result_free(r);
    }
    vs_coll_close(c);
    vs_store_close(s);
}

static void tt_case(int kind, int flush_after, rng *r) {
    char ctx[160], path[PATH_MAX], wal[PATH_MAX];
    snprintf(ctx, sizeof ctx, "torn case %s (%s)", k_tt_names[kind],
             flush_after < 0 ? "log from lsn 1" : "log after a flush");
    snprintf(path, sizeof path, "%s", vt_path(k_tt_names[kind]));
    if (flush_after >= 0) strcat(path, "-flushed");
    tt_build(path, flush_after);
    ASSERT_MSG(wal_last_file(path, wal, sizeof wal), "%s: no wal file", ctx);
    const char *base = strrchr(wal, '/') + 1;
    size_t len, n;
    unsigned char *img = read_all(wal, &len);
    walrec *rec = wal_parse(img, len, &n);
    ASSERT_MSG(n >= 3 && rec[n - 1].off + rec[n - 1].size == len,
               "%s: %s holds %zu records in %zu bytes; the test needs >= 3", ctx, base, n, len);
    walrec last = rec[n - 1];
    size_t mid = rng_below(r, (uint32_t)(n - 1)); /* a record a valid one follows */
    walrec m = rec[mid];
    /* Damage the file. keep = where recovery must cut it back to. */
    size_t newlen = len, keep = len, at;
    unsigned char *d = malloc(len + 8192);
    memcpy(d, img, len);
    unsigned all = (1u << TT_BATCHES) - 1, lost = all & ~(1u << (TT_BATCHES - 1));
    unsigned want = all;
    int note = 1, corrupt = 0;
    char offtxt[64] = "";
    switch (kind) {
    case TT_CUT_FEW:
        newlen = len - 1 - rng_below(r, 8);
        keep = last.off, want = lost;
        break;
    case TT_CUT_HEADER:
        newlen = last.off + 1 + rng_below(r, WAL_REC_HDR - 1);
        keep = last.off, want = lost;
        break;
    case TT_CUT_PAYLOAD:
        newlen = last.off + WAL_REC_HDR + rng_below(r, (uint32_t)(last.size - WAL_REC_HDR));
        keep = last.off, want = lost;
        break;
    case TT_FLIP_LAST:
        at = last.off + rng_below(r, (uint32_t)last.size);
        d[at] ^= (unsigned char)(1u << rng_below(r, 8));
        keep = last.off, want = lost;
        break;
    case TT_DROP_LAST:
        newlen = keep = last.off, want = lost, note = 0;
        break;
    case TT_GARBAGE:
        newlen = len + 1 + rng_below(r, 200);
        for (size_t i = len; i < newlen; i++) d[i] = (unsigned char)rng_u64(r);
        break;
    case TT_ZEROS:
        newlen = len + 4096;
        memset(d + len, 0, 4096);
        break;
    case TT_STALE:
        memcpy(d + len, img + rec[0].off, rec[0].size);
        newlen = len + rec[0].size;
        break;
    case TT_FLIP_MID:
        at = m.off + rng_below(r, (uint32_t)m.size);
        d[at] ^= (unsigned char)(1u << rng_below(r, 8));
        corrupt = 1;
        snprintf(offtxt, sizeof offtxt, "offset %zu", m.off);
        break;
    case TT_HOLE:
    case TT_HOLE_LAST:
        m = rec[kind == TT_HOLE_LAST ? n - 2 : rng_below(r, (uint32_t)(n - 2))];
        memmove(d + m.off, img + m.off + m.size, len - m.off - m.size);
        newlen = len - m.size;
        corrupt = 1;
        snprintf(offtxt, sizeof offtxt, "offset %zu", m.off);
        break;
    default: /* TT_FLIP_HDR */
        at = rng_below(r, WAL_HDR);
        d[at] ^= (unsigned char)(1u << rng_below(r, 8));
        corrupt = 1;
        break;
    }
    write_all(wal, d, newlen);
    free(img);
    free(rec);

    check_ctx x;
    char out[2000];
    int rc = run_check(path, &x);
    int cli = run_cli_check(path, out, sizeof out);
    if (corrupt) {
        ASSERT_MSG(rc == VS_ECORRUPT && x.errors >= 1 && strstr(x.first_error, base),
                   "%s: vs_store_check gave %s with %d errors (first: %s)", ctx, vs_errname(rc),
                   x.errors, x.first_error);
        ASSERT_MSG(cli == -1 || cli == 1, "%s: `vecstore check` exited %d, want 1:\n%s", ctx, cli,
                   out);
        for (int ro = 1; ro >= 0; ro--) {
            vs_store *s = tt_open(path, ro);
            vs_coll *c = NULL;
            rc = vs_coll_open(s, COLL, &c);
            char msg[600];
            snprintf(msg, sizeof msg, "%s", vs_store_errmsg(s));
            vs_coll_close(c);
            vs_store_close(s);
            ASSERT_MSG(rc == VS_ECORRUPT, "%s: vs_coll_open (%s) gave %s, want VS_ECORRUPT: %s",
                       ctx, ro ? "read-only" : "read-write", vs_errname(rc), msg);
            ASSERT_MSG(strstr(msg, base) && strstr(msg, offtxt),
                       "%s: the message does not name '%s' and '%s': %s", ctx, base, offtxt, msg);
        }
        /* A failed open must not "repair" the log by cutting it at the bad record. */
        size_t nl;
        unsigned char *now = read_all(wal, &nl);
        int same = nl == newlen && !memcmp(now, d, nl);
        free(now);
        free(d);
        ASSERT_MSG(same, "%s: a failed open changed %s", ctx, base);
        return;
    }
    ASSERT_MSG(rc == VS_OK && x.errors == 0, "%s: vs_store_check gave %s with %d errors (%s)", ctx,
               vs_errname(rc), x.errors, x.first_error);
    ASSERT_MSG(note ? x.notes >= 1 && strstr(x.note_file, base) : x.notes == 0,
               "%s: vs_store_check gave %d notes (first about '%s'), want %s", ctx, x.notes,
               x.note_file, note ? "one about the wal file" : "none");
    ASSERT_MSG(cli == -1 || (cli == 0 && (!note || strstr(out, "NOTE"))),
               "%s: `vecstore check` exited %d, want 0 with a NOTE:\n%s", ctx, cli, out);
    /* Read-only: the state without the damaged record, and the file left alone. */
    tt_expect(path, 1, want, ctx);
    size_t nl;
    unsigned char *now = read_all(wal, &nl);
    int same = nl == newlen && !memcmp(now, d, nl);
    free(now);
    ASSERT_MSG(same, "%s: a read-only open changed %s", ctx, base);
    /* Read-write: the same state, and the tail cut back to the last good record. */
    tt_expect(path, 0, want, ctx);
    now = read_all(wal, &nl);
    same = nl == keep && !memcmp(now, d, nl);
    free(now);
    free(d);
    ASSERT_MSG(same, "%s: after recovery %s has %zu bytes, want the first %zu of before", ctx,
               base, nl, keep);
    rc = run_check(path, &x);
    ASSERT_MSG(rc == VS_OK && x.errors == 0 && x.notes == 0,
               "%s: after recovery vs_store_check gave %s, %d errors, %d notes", ctx,
               vs_errname(rc), x.errors, x.notes);
    /* Writing goes on after the recovery and survives another reopen. */
    vs_store *s = tt_open(path, 0);
    vs_coll *c;
    ASSERT_OK(vs_coll_open(s, COLL, &c));
    tt_upsert(c, TT_BATCHES);
    tt_upsert(c, TT_BATCHES + 1);
    vs_coll_close(c);
    vs_store_close(s);
    want |= 3u << TT_BATCHES;
    tt_expect(path, 1, want, ctx);
    tt_expect(path, 0, want, ctx);
    rc = run_check(path, &x);
    ASSERT_MSG(rc == VS_OK && x.errors == 0 && x.notes == 0,
               "%s: after more writes vs_store_check gave %s, %d errors, %d notes", ctx,
               vs_errname(rc), x.errors, x.notes);
}

TEST(crash, torn_wal_tail) {
    rng r;
    rng_seed(&r, vt_seed(), 0x7042);
    for (int layout = 0; layout < 2; layout++)
        for (int kind = 0; kind < TT_NCASES; kind++) tt_case(kind, layout ? 2 : -1, &r);
}

/* ------------------------------------------------------------ creation ---- */

/* A kill inside the vs_store_open that creates a store, after the LOCK file and
 * collections/ were made but before VECSTORE was renamed into place, leaves a directory
 * that is not a store yet. Nothing was acknowledged, so any outcome is allowed except
 * one: the next open must be able to create the store. A directory holding anything
 * else stays refused (a store is never created over a user's files). */
TEST(crash, interrupted_store_creation) {
    const char *path = vt_path("half");
    char p[PATH_MAX];
    ASSERT(mkdir(path, 0755) == 0);
    snprintf(p, sizeof p, "%s/LOCK", path);
    write_all(p, "", 0);
    snprintf(p, sizeof p, "%s/collections", path);
    ASSERT(mkdir(p, 0755) == 0);
    snprintf(p, sizeof p, "%s/VECSTORE.tmp", path);
    write_all(p, "VSSTORE1\1\0", 10); /* cut short before its fsync */
    /* Read-only there is no store (not a crash, not a success). */
    vs_store_options so;
    vs_store_options_init(&so);
    so.read_only = 1;
    vs_store *s = NULL;
    char msg[300];
    int rc = vs_store_open(path, &so, &s, msg, sizeof msg);
    ASSERT_MSG(rc != VS_OK && s == NULL, "read-only open of a half-created store: %s",
               vs_errname(rc));
    check_ctx x;
    ASSERT(run_check(path, &x) != VS_OK);
    /* A writer creates it and uses it. */
    tt_build(path, -1);
    tt_expect(path, 1, (1u << TT_BATCHES) - 1, "store created over an interrupted creation");
    ASSERT_MSG(run_check(path, &x) == VS_OK && x.errors == 0 && x.notes == 0,
               "check after creation: %d errors, %d notes (%s)", x.errors, x.notes, x.first_error);
    /* Anything else in the directory: refused. */
    const char *other = vt_path("users-dir");
    ASSERT(mkdir(other, 0755) == 0);
    snprintf(p, sizeof p, "%s/LOCK", other);
    write_all(p, "", 0);
    snprintf(p, sizeof p, "%s/notes.txt", other);
    write_all(p, "mine", 4);
    so.read_only = 0;
    rc = vs_store_open(other, &so, &s, msg, sizeof msg);
    vs_store_close(s);
    ASSERT_MSG(rc == VS_ENOTSTORE, "open over a user's file gave %s, want VS_ENOTSTORE",
               vs_errname(rc));
    snprintf(p, sizeof p, "%s/notes.txt", other);
    ASSERT(unlink(p) == 0);
    snprintf(p, sizeof p, "%s/collections", other);
    ASSERT(mkdir(p, 0755) == 0);
    snprintf(p, sizeof p, "%s/collections/x", other);
    ASSERT(mkdir(p, 0755) == 0);
    rc = vs_store_open(other, &so, &s, msg, sizeof msg);
    vs_store_close(s);
    ASSERT_MSG(rc == VS_ENOTSTORE, "open over a non-empty collections/ gave %s, want VS_ENOTSTORE",
               vs_errname(rc));
}

/* ------------------------------------------------------------ rotation ---- */

/* A flush first starts a new WAL file (named by its first lsn, L+1) and then writes the
 * manifest that moves the checkpoint to L. A kill between the two leaves the old
 * checkpoint, the records up to L in the old file, and an empty new file L+1 (header
 * only). Recovery replays the old records into the mutable segment; the next flush then
 * rotates to a file named L+1 again, while that very file is the live one. Writes
 * acknowledged after that flush must survive a reopen. The crash state is made by hand:
 * a WAL file header is the same for every file, so the empty file is a copy of the
 * first 64 bytes of the old one. */
TEST(crash, flush_after_crash_between_rotation_and_manifest) {
    const char *path = vt_path("rot");
    tt_build(path, -1); /* lsn 1..TT_BATCHES in 0000000000000001.wal */
    char wal[PATH_MAX], empty[PATH_MAX];
    ASSERT(wal_last_file(path, wal, sizeof wal));
    size_t len;
    unsigned char *img = read_all(wal, &len);
    ASSERT(img && len > WAL_HDR);
    snprintf(empty, sizeof empty, "%s/collections/%s/wal/%016llx.wal", path, COLL,
             (unsigned long long)TT_BATCHES + 1);
    write_all(empty, img, WAL_HDR);
    free(img);
    unsigned all = (1u << TT_BATCHES) - 1;
    tt_expect(path, 1, all, "before the flush");
    vs_store *s = tt_open(path, 0);
    vs_coll *c;
    ASSERT_OK(vs_coll_open(s, COLL, &c));
    ASSERT_MSG(vs_coll_flush(c) == VS_OK, "flush: %s", vs_coll_errmsg(c));
    tt_upsert(c, TT_BATCHES); /* acknowledged: must survive */
    tt_upsert(c, TT_BATCHES + 1);
    vs_coll_close(c);
    vs_store_close(s);
    check_ctx x;
    int rc = run_check(path, &x);
    ASSERT_MSG(rc == VS_OK && x.errors == 0, "check: %s, %d errors (%s)", vs_errname(rc), x.errors,
               x.first_error);
    tt_expect(path, 1, all | 3u << TT_BATCHES, "after the flush and two more batches");
    tt_expect(path, 0, all | 3u << TT_BATCHES, "after the flush and two more batches");
}
