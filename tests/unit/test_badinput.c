/*
 * test_badinput.c — every bad input at the public boundary gets a specific code and
 * message, changes nothing, and leaves the store usable.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/frame.h"
#include "test.h"
#include "vecstore.h"

static vs_store *open_at(const char *p, int ro) {
    vs_store_options o;
    vs_store_options_init(&o);
    o.fsync = VS_FSYNC_OFF;
    o.read_only = ro;
    vs_store *s = NULL;
    char msg[256];
    int rc = vs_store_open(p, &o, &s, msg, sizeof msg);
    ASSERT_MSG(rc == VS_OK, "open %s: %s", p, msg);
    return s;
}

static vs_coll *coll4(vs_store *s, const char *name) {
    vs_schema *sc;
    ASSERT_OK(vs_schema_new(&sc));
    ASSERT_OK(vs_schema_add_vector(sc, "", 4, VS_METRIC_L2));
    ASSERT_OK(vs_coll_create(s, name, sc));
    vs_schema_free(sc);
    vs_coll *c;
    ASSERT_OK(vs_coll_open(s, name, &c));
    return c;
}

static int put(vs_coll *c, vs_id id, const float *v, uint32_t dim, const char *payload) {
    vs_vectors col = {NULL, v, dim};
    const char *pl[1] = {payload};
    vs_upsert_batch b = {1, &id, &col, 1, payload ? pl : NULL, NULL};
    return vs_upsert(c, &b);
}

static uint64_t count(vs_coll *c) {
    uint64_t n = 0;
    ASSERT_OK(vs_count(c, NULL, &n));
    return n;
}

TEST(store, bad_vectors_and_ids_are_rejected_and_change_nothing) {
    vs_store *s = open_at(vt_path("db"), 0);
    vs_coll *c = coll4(s, "c");
    float v[5] = {1, 2, 3, 4, 5};
    ASSERT_OK(put(c, vs_id_num(1), v, 4, NULL));
    ASSERT_RC(put(c, vs_id_num(2), v, 5, NULL), VS_EDIM);
    ASSERT_CONTAINS(vs_coll_errmsg(c), "expected 4 dimensions, got 5");
    float bad[4] = {1, NAN, 3, 4};
    ASSERT_RC(put(c, vs_id_num(2), bad, 4, NULL), VS_EVALUE);
    ASSERT_CONTAINS(vs_coll_errmsg(c), "NaN");
    bad[1] = INFINITY;
    ASSERT_RC(put(c, vs_id_num(2), bad, 4, NULL), VS_EVALUE);
    ASSERT_CONTAINS(vs_coll_errmsg(c), "infinite");
    vs_id empty = {VS_ID_STR, 0, "", 0};
    ASSERT_RC(put(c, empty, v, 4, NULL), VS_EID);
    ASSERT_CONTAINS(vs_coll_errmsg(c), "empty");
    char longid[300];
    memset(longid, 'x', sizeof longid - 1);
    longid[299] = 0;
    ASSERT_RC(put(c, vs_id_str(longid), v, 4, NULL), VS_EID);
    ASSERT_CONTAINS(vs_coll_errmsg(c), "exceeds");
    ASSERT_RC(put(c, vs_id_str("bad\xff utf8"), v, 4, NULL), VS_EID);
    vs_id weird = {7, 1, NULL, 0};
    ASSERT_RC(put(c, weird, v, 4, NULL), VS_EID);
    /* A batch with one bad point writes none of them. */
    float two[8] = {1, 2, 3, 4, 5, NAN, 7, 8};
    vs_id ids[2] = {vs_id_num(10), vs_id_num(11)};
    vs_vectors col = {NULL, two, 4};
    vs_upsert_batch b = {2, ids, &col, 1, NULL, NULL};
    ASSERT_RC(vs_upsert(c, &b), VS_EVALUE);
    ASSERT_CONTAINS(vs_coll_errmsg(c), "point 1 (id 11)");
    ASSERT_EQ(count(c), 1);
    /* Unknown field, wrong number of columns. */
    vs_vectors named = {"nope", v, 4};
    vs_upsert_batch b2 = {1, ids, &named, 1, NULL, NULL};
    ASSERT_RC(vs_upsert(c, &b2), VS_ENOTFOUND);
    vs_upsert_batch b3 = {1, ids, &col, 0, NULL, NULL};
    ASSERT_RC(vs_upsert(c, &b3), VS_EINVAL);
    ASSERT_RC(vs_upsert(c, NULL), VS_EINVAL);
    ASSERT_EQ(count(c), 1);
    vs_coll_close(c);
    vs_store_close(s);
}

TEST(store, bad_payloads_are_rejected) {
    vs_store *s = open_at(vt_path("db"), 0);
    vs_coll *c = coll4(s, "c");
    float v[4] = {1, 2, 3, 4};
    ASSERT_RC(put(c, vs_id_num(1), v, 4, "{\"a\":"), VS_EJSON);
    ASSERT_CONTAINS(vs_coll_errmsg(c), "not valid JSON");
    ASSERT_RC(put(c, vs_id_num(1), v, 4, "[1,2]"), VS_EJSON);
    ASSERT_CONTAINS(vs_coll_errmsg(c), "must be a JSON object");
    ASSERT_RC(put(c, vs_id_num(1), v, 4, "{\"a\":1} x"), VS_EJSON);
    ASSERT_CONTAINS(vs_coll_errmsg(c), "unexpected text after");
    ASSERT_EQ(count(c), 0);
    ASSERT_OK(put(c, vs_id_num(1), v, 4, "{ \"a\" : [1, {\"b\": null}] }"));
    vs_id id = vs_id_num(1);
    vs_result *r;
    ASSERT_OK(vs_get(c, &id, 1, VS_WITH_PAYLOAD, &r));
    ASSERT_STREQ(vs_result_payload(r, 0, 0), "{\"a\":[1,{\"b\":null}]}");
    vs_result_free(r);
    ASSERT_RC(vs_set_payload(c, &id, 1, VS_PAYLOAD_SET, "[1]", NULL), VS_EJSON);
    ASSERT_RC(vs_set_payload(c, &id, 1, VS_PAYLOAD_DELETE, "[1]", NULL), VS_EJSON);
    ASSERT_RC(vs_set_payload(c, &id, 1, 99, "{}", NULL), VS_EINVAL);
    vs_coll_close(c);
    vs_store_close(s);
}

TEST(store, duplicate_ids_in_a_batch_last_wins) {
    vs_store *s = open_at(vt_path("db"), 0);
    vs_coll *c = coll4(s, "c");
    float v[12] = {1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3};
    vs_id ids[3] = {vs_id_str("a"), vs_id_num(5), vs_id_str("a")};
    const char *pl[3] = {"{\"n\":1}", "{\"n\":2}", "{\"n\":3}"};
    vs_vectors col = {NULL, v, 4};
    vs_upsert_batch b = {3, ids, &col, 1, pl, NULL};
    ASSERT_OK(vs_upsert(c, &b));
    ASSERT_EQ(count(c), 2);
    vs_result *r;
    ASSERT_OK(vs_get(c, ids, 1, VS_WITH_PAYLOAD | VS_WITH_VECTOR, &r));
    ASSERT_STREQ(vs_result_payload(r, 0, 0), "{\"n\":3}");
    ASSERT_EQ(vs_result_vector(r, 0, 0, 0, NULL)[0], 3);
    vs_result_free(r);
    vs_coll_close(c);
    vs_store_close(s);
}

TEST(store, query_bounds_and_names) {
    vs_store *s = open_at(vt_path("db"), 0);
    vs_coll *c = coll4(s, "c");
    float v[4] = {1, 2, 3, 4};
    ASSERT_OK(put(c, vs_id_num(1), v, 4, NULL));
    vs_query q;
    vs_query_init(&q);
    q.vectors = v;
    q.dim = 4;
    vs_result *r = NULL;
    q.k = 0;
    ASSERT_RC(vs_query_run(c, &q, &r), VS_ERANGE);
    ASSERT_CONTAINS(vs_coll_errmsg(c), "k = 0");
    q.k = VS_K_MAX + 1;
    ASSERT_RC(vs_query_run(c, &q, &r), VS_ERANGE);
    q.k = 3;
    q.dim = 3;
    ASSERT_RC(vs_query_run(c, &q, &r), VS_EDIM);
    q.dim = 4;
    float nanq[4] = {0, NAN, 0, 0};
    q.vectors = nanq;
    ASSERT_RC(vs_query_run(c, &q, &r), VS_EVALUE);
    q.vectors = v;
    q.filter = "{\"must\":[{\"key\":\"a\",\"match\":{\"nope\":1}}]}";
    ASSERT_RC(vs_query_run(c, &q, &r), VS_EFILTER);
    q.filter = NULL;
    q.field = "missing";
    ASSERT_RC(vs_query_run(c, &q, &r), VS_ENOTFOUND);
    ASSERT(r == NULL);
    q.field = NULL;
    ASSERT_OK(vs_query_run(c, &q, &r));
    ASSERT_EQ(vs_result_rows(r, 0), 1); /* k larger than the collection */
    vs_result_free(r);
    /* Names and lifecycle. */
    vs_schema *sc;
    ASSERT_OK(vs_schema_new(&sc));
    ASSERT_RC(vs_schema_add_vector(sc, "", 0, VS_METRIC_L2), VS_ERANGE);
    ASSERT_RC(vs_schema_add_vector(sc, "", 65537, VS_METRIC_L2), VS_ERANGE);
    ASSERT_RC(vs_schema_add_vector(sc, "a/b", 4, VS_METRIC_L2), VS_ENAME);
    ASSERT_RC(vs_coll_create(s, "x", sc), VS_EINVAL); /* no fields */
    ASSERT_OK(vs_schema_add_vector(sc, "", 4, VS_METRIC_DOT));
    ASSERT_RC(vs_coll_create(s, "c", sc), VS_EEXIST);
    ASSERT_RC(vs_coll_create(s, "../evil", sc), VS_ENAME);
    ASSERT_RC(vs_coll_create(s, ".hidden", sc), VS_ENAME);
    vs_schema_free(sc);
    vs_coll *x;
    ASSERT_RC(vs_coll_open(s, "nope", &x), VS_ENOTFOUND);
    ASSERT_CONTAINS(vs_store_errmsg(s), "does not exist");
    ASSERT_RC(vs_store_drop(s, "nope"), VS_ENOTFOUND);
    ASSERT_OK(vs_store_drop(s, "c"));
    ASSERT_RC(vs_upsert(c, NULL), VS_EINVAL);
    ASSERT_RC(put(c, vs_id_num(2), v, 4, NULL), VS_ENOTFOUND); /* handle outlives the drop */
    vs_coll_close(c);
    vs_store_close(s);
}

TEST(store, not_a_store_newer_version_and_options) {
    /* A non-empty directory without our marker is refused. */
    const char *d = vt_path("other");
    ASSERT_EQ(mkdir(d, 0755), 0);
    FILE *f = fopen(vt_path("other/file.txt"), "w");
    fputs("hello", f);
    fclose(f);
    vs_store *s = NULL;
    char msg[256];
    ASSERT_RC(vs_store_open(d, NULL, &s, msg, sizeof msg), VS_ENOTSTORE);
    ASSERT_CONTAINS(msg, "not a vecstore store");
    ASSERT(s == NULL);
    /* A file, not a directory. */
    ASSERT_RC(vs_store_open(vt_path("other/file.txt"), NULL, &s, msg, sizeof msg), VS_ENOTSTORE);
    /* A store written by a newer version. */
    s = open_at(vt_path("db"), 0);
    vs_store_close(s);
    vs__err e;
    ASSERT_OK(vs__frame_write_file(vt_path("db/VECSTORE"), "VSSTORE1", "{\"format\":99}", 13, &e));
    ASSERT_RC(vs_store_open(vt_path("db"), NULL, &s, msg, sizeof msg), VS_EVERSION);
    ASSERT_CONTAINS(msg, "newer");
    /* A corrupt marker. */
    int fd = open(vt_path("db/VECSTORE"), O_RDWR);
    ASSERT(pwrite(fd, "X", 1, 70) == 1);
    close(fd);
    ASSERT_RC(vs_store_open(vt_path("db"), NULL, &s, msg, sizeof msg), VS_ECORRUPT);
    /* Options out of range. */
    vs_store_options o;
    vs_store_options_init(&o);
    o.fsync = 9;
    ASSERT_RC(vs_store_open(vt_path("db2"), &o, &s, msg, sizeof msg), VS_EINVAL);
    vs_store_options_init(&o);
    o.fsync_interval_ms = 0;
    ASSERT_RC(vs_store_open(vt_path("db2"), &o, &s, msg, sizeof msg), VS_ERANGE);
    ASSERT(!vt_path("db2") || access(vt_path("db2"), F_OK) != 0);
    ASSERT_RC(vs_store_open(NULL, NULL, &s, msg, sizeof msg), VS_EINVAL);
    vs_store_options_init(&o);
    o.read_only = 1;
    ASSERT_RC(vs_store_open(vt_path("missing"), &o, &s, msg, sizeof msg), VS_ENOTFOUND);
}

TEST(store, corrupt_segment_files_are_reported_and_store_stays_usable) {
    vs_store *s = open_at(vt_path("db"), 0);
    vs_coll *a = coll4(s, "a");
    vs_coll *b = coll4(s, "b");
    float v[4] = {1, 2, 3, 4};
    for (int i = 0; i < 20; i++) {
        ASSERT_OK(put(a, vs_id_num((uint64_t)i), v, 4, "{\"x\":1}"));
        ASSERT_OK(put(b, vs_id_num((uint64_t)i), v, 4, "{\"x\":1}"));
    }
    ASSERT_OK(vs_coll_flush(a));
    vs_coll_close(a);
    vs_coll_close(b);
    vs_store_close(s);
    /* Flip one byte in each segment file in turn: opening "a" must fail cleanly. */
    const char *files[] = {"vec-0", "ids", "payload", "meta"};
    for (int fi = 0; fi < 4; fi++) {
        char p[4096];
        snprintf(p, sizeof p, "%s/collections/a/seg-00000001/%s", vt_path("db"), files[fi]);
        int fd = open(p, O_RDWR);
        ASSERT_MSG(fd >= 0, "open %s", p);
        off_t end = lseek(fd, 0, SEEK_END);
        off_t at = end - 3;
        unsigned char ch;
        ASSERT(pread(fd, &ch, 1, at) == 1);
        ch ^= 0x10;
        ASSERT(pwrite(fd, &ch, 1, at) == 1);
        s = open_at(vt_path("db"), 0);
        vs_coll *x = NULL;
        ASSERT_RC(vs_coll_open(s, "a", &x), VS_ECORRUPT);
        ASSERT_CONTAINS(vs_store_errmsg(s), files[fi]);
        ASSERT_OK(vs_coll_open(s, "b", &x)); /* the other collection is fine */
        ASSERT_EQ(count(x), 20);
        vs_coll_close(x);
        vs_store_close(s);
        ASSERT_RC(vs_store_check(vt_path("db"), NULL, NULL), VS_ECORRUPT);
        ch ^= 0x10;
        ASSERT(pwrite(fd, &ch, 1, at) == 1);
        /* Truncation is corruption too. */
        unsigned char last;
        ASSERT(pread(fd, &last, 1, end - 1) == 1);
        ASSERT_EQ(ftruncate(fd, end - 1), 0);
        s = open_at(vt_path("db"), 0);
        ASSERT_RC(vs_coll_open(s, "a", &x), VS_ECORRUPT);
        ASSERT_CONTAINS(vs_store_errmsg(s), "truncated");
        vs_store_close(s);
        ASSERT(pwrite(fd, &last, 1, end - 1) == 1);
        close(fd);
        ASSERT_OK(vs_store_check(vt_path("db"), NULL, NULL));
    }
}

TEST(store, second_process_gets_busy_read_only_works) {
    const char *p = vt_path("db");
    vs_store *s = open_at(p, 0);
    vs_coll *c = coll4(s, "c");
    float v[4] = {1, 2, 3, 4};
    ASSERT_OK(put(c, vs_id_num(1), v, 4, NULL));
    /* A separate process (exec'd, so it shares nothing with us) must get VS_EBUSY. */
    ASSERT_EQ(vt_exec_child("_child.open_busy_then_read_only", p), 0);
    /* Same path in this process: one shared store. */
    vs_store *s2 = open_at(p, 0);
    vs_coll *c2;
    ASSERT_OK(vs_coll_open(s2, "c", &c2));
    ASSERT_OK(put(c2, vs_id_num(2), v, 4, NULL));
    ASSERT_EQ(count(c), 2);
    vs_coll_close(c2);
    vs_store_close(s2);
    vs_coll_close(c);
    vs_store_close(s);
}

TEST(snapshot, snapshot_restore_round_trip) {
    vs_store *s = open_at(vt_path("db"), 0);
    vs_coll *c = coll4(s, "c");
    float v[4] = {1, 2, 3, 4};
    for (int i = 0; i < 50; i++) {
        v[0] = (float)i;
        char pl[32];
        snprintf(pl, sizeof pl, "{\"i\":%d}", i);
        ASSERT_OK(put(c, vs_id_num((uint64_t)i), v, 4, pl));
        if (i == 25) ASSERT_OK(vs_coll_flush(c));
    }
    vs_id d = vs_id_num(3);
    ASSERT_OK(vs_delete(c, &d, 1, NULL));
    ASSERT_OK(vs_coll_snapshot(c, vt_path("snap.vsnap")));
    ASSERT_OK(put(c, vs_id_num(100), v, 4, NULL)); /* after the snapshot */
    ASSERT_OK(vs_store_restore(s, vt_path("snap.vsnap"), "copy"));
    ASSERT_RC(vs_store_restore(s, vt_path("snap.vsnap"), "copy"), VS_EEXIST);
    ASSERT_RC(vs_store_restore(s, vt_path("snap.vsnap"), NULL), VS_EEXIST); /* "c" exists */
    ASSERT_RC(vs_store_restore(s, vt_path("missing.vsnap"), "z"), VS_ENOTFOUND);
    ASSERT_RC(vs_store_restore(s, vt_path("snap.vsnap"), "../z"), VS_ENAME);
    vs_coll *r;
    ASSERT_OK(vs_coll_open(s, "copy", &r));
    ASSERT_EQ(count(r), 49);
    vs_id q = vs_id_num(7);
    vs_result *res;
    ASSERT_OK(vs_get(r, &q, 1, VS_WITH_PAYLOAD | VS_WITH_VECTOR, &res));
    ASSERT_STREQ(vs_result_payload(res, 0, 0), "{\"i\":7}");
    ASSERT_EQ(vs_result_vector(res, 0, 0, 0, NULL)[0], 7);
    vs_result_free(res);
    ASSERT_OK(vs_get(r, &d, 1, 0, &res));
    ASSERT_EQ(vs_result_rows(res, 0), 0);
    vs_result_free(res);
    ASSERT_OK(put(r, vs_id_num(200), v, 4, NULL)); /* restored collection is writable */
    vs_coll_close(r);
    /* A damaged archive restores nothing. */
    int fd = open(vt_path("snap.vsnap"), O_RDWR);
    unsigned char ch;
    ASSERT(pread(fd, &ch, 1, 200) == 1);
    ch ^= 1;
    ASSERT(pwrite(fd, &ch, 1, 200) == 1);
    close(fd);
    int rc = vs_store_restore(s, vt_path("snap.vsnap"), "copy2");
    ASSERT_MSG(rc == VS_ECORRUPT || rc == VS_EFORMAT, "rc %s", vs_errname(rc));
    ASSERT_RC(vs_coll_open(s, "copy2", &r), VS_ENOTFOUND);
    vs_coll_close(c);
    vs_store_close(s);
    ASSERT_OK(vs_store_check(vt_path("db"), NULL, NULL));
}

TEST(_child, open_busy_then_read_only) {
    const char *p = getenv("VT_CHILD_PATH");
    ASSERT(p);
    vs_store *t = NULL;
    char msg[256];
    ASSERT_RC(vs_store_open(p, NULL, &t, msg, sizeof msg), VS_EBUSY);
    ASSERT_CONTAINS(msg, "another process");
    vs_store_options o;
    vs_store_options_init(&o);
    o.read_only = 1;
    ASSERT_OK(vs_store_open(p, &o, &t, msg, sizeof msg));
    vs_coll *c;
    ASSERT_OK(vs_coll_open(t, "c", &c));
    ASSERT_EQ(count(c), 1);
    float v[4] = {1, 2, 3, 4};
    ASSERT_RC(put(c, vs_id_num(2), v, 4, NULL), VS_EREADONLY);
    vs_coll_close(c);
    vs_store_close(t);
}

TEST(store, payload_text_is_kept_exactly_minus_whitespace) {
    vs_store *s = open_at(vt_path("db"), 0);
    vs_coll *c = coll4(s, "c");
    float v[4] = {1, 2, 3, 4};
    /* Integers beyond 2^53 and exotic number forms survive unrounded. */
    ASSERT_OK(put(c, vs_id_num(1), v, 4, " {\"big\" : 18446744073709551615, \"s\": \"a \\\" b\", \"e\":1.5e300}\n"));
    vs_id id = vs_id_num(1);
    vs_result *r;
    ASSERT_OK(vs_get(c, &id, 1, VS_WITH_PAYLOAD, &r));
    ASSERT_STREQ(vs_result_payload(r, 0, 0), "{\"big\":18446744073709551615,\"s\":\"a \\\" b\",\"e\":1.5e300}");
    vs_result_free(r);
    /* Lenient forms cJSON would take are refused. */
    ASSERT_RC(put(c, vs_id_num(2), v, 4, "{\"a\":01}"), VS_EJSON);
    ASSERT_RC(put(c, vs_id_num(2), v, 4, "{\"a\":1.}"), VS_EJSON);
    ASSERT_RC(put(c, vs_id_num(2), v, 4, "{\"a\":\"x\xff\"}"), VS_EJSON);
    vs_coll_close(c);
    vs_store_close(s);
}

TEST(snapshot, read_only_snapshot_refuses_unflushed_state) {
    vs_store *s = open_at(vt_path("db"), 0);
    vs_coll *c = coll4(s, "c");
    float v[4] = {1, 2, 3, 4};
    ASSERT_OK(put(c, vs_id_num(1), v, 4, NULL));
    ASSERT_OK(vs_coll_flush(c));
    ASSERT_OK(put(c, vs_id_num(1), v, 4, "{\"new\":1}")); /* only in the WAL */
    vs_coll_close(c);
    vs_store_close(s);
    s = open_at(vt_path("db"), 1);
    ASSERT_OK(vs_coll_open(s, "c", &c));
    ASSERT_RC(vs_coll_snapshot(c, vt_path("ro.vsnap")), VS_EREADONLY);
    ASSERT_CONTAINS(vs_coll_errmsg(c), "unflushed");
    ASSERT(access(vt_path("ro.vsnap"), F_OK) != 0);
    vs_coll_close(c);
    vs_store_close(s);
    /* Once flushed, a read-only snapshot is complete. */
    s = open_at(vt_path("db"), 0);
    ASSERT_OK(vs_coll_open(s, "c", &c));
    ASSERT_OK(vs_coll_flush(c));
    vs_coll_close(c);
    vs_store_close(s);
    s = open_at(vt_path("db"), 1);
    ASSERT_OK(vs_coll_open(s, "c", &c));
    ASSERT_OK(vs_coll_snapshot(c, vt_path("ro.vsnap")));
    vs_coll_close(c);
    vs_store_close(s);
}

TEST(store, missing_segment_file_is_corruption) {
    vs_store *s = open_at(vt_path("db"), 0);
    vs_coll *c = coll4(s, "c");
    float v[4] = {1, 2, 3, 4};
    ASSERT_OK(put(c, vs_id_num(1), v, 4, NULL));
    ASSERT_OK(vs_coll_flush(c));
    vs_coll_close(c);
    vs_store_close(s);
    char p[4096];
    snprintf(p, sizeof p, "%s/collections/c/seg-00000001/ids", vt_path("db"));
    ASSERT_EQ(unlink(p), 0);
    s = open_at(vt_path("db"), 0);
    ASSERT_RC(vs_coll_open(s, "c", &c), VS_ECORRUPT);
    ASSERT_CONTAINS(vs_store_errmsg(s), "ids");
    vs_store_close(s);
}
