/*
 * test_pindex.c — payload indexes: the API, what the planner reads from them, their files,
 * and the mutable segment's live index. (Answers with and without indexes are compared
 * at random in test_filter_diff.c.)
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "util/alloc.h"
#include "vecstore.h"

#define PD 4
#define PN 2000

static vs_store *open_store(int background) {
    vs_store_options o;
    vs_store_options_init(&o);
    o.fsync = VS_FSYNC_OFF;
    o.background = background;
    vs_store *s;
    char msg[256];
    ASSERT_MSG(vs_store_open(vt_path("db"), &o, &s, msg, sizeof msg) == VS_OK, "%s", msg);
    return s;
}

static const char *const k_colors[] = {"red", "green", "blue", "black", "white"};

/* Point i: color k_colors[i % 5], n = i (an integer), x = i / 2 (a float for odd i),
 * when = i hours after 2024-01-01, txt "word<i % 7> common", tags [color, "t<i % 3>"]. */
static void payload(size_t i, char *buf, size_t cap) {
    snprintf(buf, cap,
             "{\"color\":\"%s\",\"n\":%zu,\"x\":%g,\"when\":\"2024-01-%02zuT%02zu:00:00Z\","
             "\"txt\":\"Word%zu common\",\"tags\":[\"%s\",\"t%zu\"],\"ok\":%s}",
             k_colors[i % 5], i, (double)i / 2, 1 + (i / 24) % 28, i % 24, i % 7, k_colors[i % 5],
             i % 3, i % 4 ? "true" : "false");
}

static void load(vs_coll *c, size_t from, size_t n) {
    float *v = malloc(n * PD * sizeof *v);
    vs_id *ids = malloc(n * sizeof *ids);
    char **pl = malloc(n * sizeof *pl);
    for (size_t i = 0; i < n; i++) {
        for (int j = 0; j < PD; j++) v[i * PD + j] = (float)((from + i) * 31 % 97 + j);
        ids[i] = vs_id_num(from + i);
        pl[i] = malloc(200);
        payload(from + i, pl[i], 200);
    }
    vs_vectors col = {NULL, v, PD};
    vs_upsert_batch b = {n, ids, &col, 1, (const char *const *)pl, NULL};
    ASSERT_OK(vs_upsert(c, &b));
    for (size_t i = 0; i < n; i++) free(pl[i]);
    free(pl), free(ids), free(v);
}

static vs_coll *make_coll(vs_store *s) {
    vs_schema *sc;
    ASSERT_OK(vs_schema_new(&sc));
    ASSERT_OK(vs_schema_add_vector(sc, "", PD, VS_METRIC_L2));
    vs_coll *c;
    if (vs_coll_open(s, "c", &c) == VS_OK) {
        vs_schema_free(sc);
        return c;
    }
    ASSERT_OK(vs_coll_create(s, "c", sc));
    vs_schema_free(sc);
    ASSERT_OK(vs_coll_open(s, "c", &c));
    return c;
}

static uint64_t count(vs_coll *c, const char *f) {
    uint64_t n = 0;
    ASSERT_MSG(vs_count(c, f, &n) == VS_OK, "%s: %s", f, vs_coll_errmsg(c));
    return n;
}

/* The EXPLAIN text of a filtered query. */
static char *explain(vs_coll *c, const char *filter) {
    float q[PD] = {1, 2, 3, 4};
    vs_query qq;
    vs_query_init(&qq);
    qq.vectors = q;
    qq.dim = PD;
    qq.filter = filter;
    qq.flags = VS_QUERY_EXPLAIN;
    vs_result *r;
    ASSERT_OK(vs_query_run(c, &qq, &r));
    ASSERT_EQ(vs_result_rows(r, 0), 0);
    char *t = strdup(vs_result_profile(r, VS_PROFILE_TEXT));
    vs_result_free(r);
    return t;
}

TEST(pindex, create_drop_list_and_bad_input) {
    vs_store *s = open_store(0);
    vs_coll *c = make_coll(s);
    ASSERT_RC(vs_coll_create_payload_index(c, "a[x", VS_PINDEX_KEYWORD), VS_EINVAL);
    ASSERT_CONTAINS(vs_coll_errmsg(c), "bad payload index path");
    ASSERT_RC(vs_coll_create_payload_index(c, "", VS_PINDEX_KEYWORD), VS_EINVAL);
    ASSERT_RC(vs_coll_create_payload_index(c, NULL, VS_PINDEX_KEYWORD), VS_EINVAL);
    ASSERT_RC(vs_coll_create_payload_index(c, "a", 0), VS_EINVAL);
    ASSERT_RC(vs_coll_create_payload_index(c, "a", 99), VS_EINVAL);
    ASSERT_RC(vs_coll_create_payload_index(c, "a..b", VS_PINDEX_KEYWORD), VS_EINVAL);
    ASSERT_OK(vs_coll_create_payload_index(c, "$.meta.lang", VS_PINDEX_KEYWORD));
    ASSERT_OK(vs_coll_create_payload_index(c, "meta.lang", VS_PINDEX_KEYWORD)); /* same: no-op */
    ASSERT_OK(vs_coll_create_payload_index(c, "meta.lang", VS_PINDEX_TEXT));
    ASSERT_OK(vs_coll_create_payload_index(c, "\"a.b\"[].c", VS_PINDEX_INTEGER));
    vs_pindex_info *info;
    size_t n;
    ASSERT_OK(vs_coll_payload_indexes(c, &info, &n));
    ASSERT_EQ(n, 3);
    ASSERT_STREQ(info[0].path, "meta.lang");
    ASSERT_EQ(info[0].type, VS_PINDEX_KEYWORD);
    ASSERT_EQ(info[1].type, VS_PINDEX_TEXT);
    ASSERT_STREQ(info[2].path, "\"a.b\"[].c");
    vs_free(info);
    ASSERT_RC(vs_coll_drop_payload_index(c, "meta.lang", VS_PINDEX_BOOL), VS_ENOTFOUND);
    ASSERT_RC(vs_coll_drop_payload_index(c, "nope", 0), VS_ENOTFOUND);
    ASSERT_RC(vs_coll_drop_payload_index(c, "a", 42), VS_EINVAL);
    ASSERT_OK(vs_coll_drop_payload_index(c, "$.meta.lang", 0)); /* both types */
    ASSERT_OK(vs_coll_payload_indexes(c, &info, &n));
    ASSERT_EQ(n, 1);
    vs_free(info);
    /* the limit */
    for (int i = 0; i < VS_PINDEX_MAX - 1; i++) {
        char p[16];
        snprintf(p, sizeof p, "f%d", i);
        ASSERT_OK(vs_coll_create_payload_index(c, p, VS_PINDEX_BOOL));
    }
    ASSERT_RC(vs_coll_create_payload_index(c, "one.more", VS_PINDEX_BOOL), VS_ERANGE);
    ASSERT_EQ(vs_pindex_type_parse("datetime"), VS_PINDEX_DATETIME);
    ASSERT_EQ(vs_pindex_type_parse("uuid"), VS_PINDEX_KEYWORD);
    ASSERT_EQ(vs_pindex_type_parse("geo"), VS_PINDEX_GEO);
    ASSERT_EQ(vs_pindex_type_parse("geopoint"), -1);
    ASSERT_STREQ(vs_pindex_type_name(VS_PINDEX_FLOAT), "float");
    /* declarations survive a reopen */
    vs_coll_close(c);
    vs_store_close(s);
    s = open_store(0);
    c = make_coll(s);
    ASSERT_OK(vs_coll_payload_indexes(c, &info, &n));
    ASSERT_EQ(n, VS_PINDEX_MAX);
    vs_free(info);
    vs_coll_close(c);
    vs_store_close(s);
}

TEST(pindex, planner_reads_the_indexes) {
    vs_store *s = open_store(0);
    vs_coll *c = make_coll(s);
    load(c, 0, PN / 2);
    ASSERT_OK(vs_coll_flush(c));
    load(c, PN / 2, PN / 2); /* mutable */
    ASSERT_OK(vs_coll_create_payload_index(c, "color", VS_PINDEX_KEYWORD));
    ASSERT_OK(vs_coll_create_payload_index(c, "n", VS_PINDEX_INTEGER));
    ASSERT_OK(vs_coll_create_payload_index(c, "x", VS_PINDEX_FLOAT));
    ASSERT_OK(vs_coll_create_payload_index(c, "when", VS_PINDEX_DATETIME));
    ASSERT_OK(vs_coll_create_payload_index(c, "txt", VS_PINDEX_TEXT));
    ASSERT_OK(vs_coll_create_payload_index(c, "tags[]", VS_PINDEX_KEYWORD));
    ASSERT_OK(vs_coll_create_payload_index(c, "ok", VS_PINDEX_BOOL));
    /* each answer, and the plan says it came from the index with an exact estimate */
    struct {
        const char *f;
        uint64_t want;
        const char *plan;
    } cases[] = {
        {"color = 'red'", PN / 5, "rows from indexes [keyword 'color']"},
        {"color IN ('red', 'blue')", 2 * PN / 5, "from indexes [keyword 'color']"},
        {"n >= 100 AND n < 150", 50, "from indexes [integer 'n']"},
        {"x > 499.5", PN - 1000, "from indexes [float 'x']"},
        {"{\"must\":{\"key\":\"when\",\"range\":{\"gte\":\"2024-01-01T10:00:00+02:00\",\"lt\":\"2024-01-01T12:00:00Z\"}}}",
         0, "from indexes [datetime 'when']"},
        {"{\"must\":{\"key\":\"txt\",\"match\":{\"text\":\"WORD3\"}}}", 0, "from indexes [text 'txt']"},
        {"{\"must\":{\"key\":\"tags[]\",\"match\":{\"value\":\"t1\"}}}", 0, "from indexes [keyword 'tags[]']"},
        {"ok = false", PN / 4, "from indexes [bool 'ok']"},
        {"color = 'red' AND n < 1000", 200, "from indexes [keyword 'color', integer 'n']"},
        {"NOT color = 'red'", PN - PN / 5, "from indexes [keyword 'color']"},
        {"color = 'red' AND txt MATCHES 'd3'", 0, "from indexes (partial) [keyword 'color']"},
        {"color = 'purple'", 0, "no rows"},
    };
    /* expected counts computed here, not hard-coded, where they are not obvious */
    for (size_t i = 0; i < PN; i++) {
        size_t h = i % 24 + 24 * ((i / 24) % 28); /* hours after 2024-01-01T00 */
        if (h >= 8 && h < 12) cases[4].want++;
        if (i % 7 == 3) cases[5].want++;
        if (i % 3 == 1) cases[6].want++;
        if (i % 5 == 0 && i % 7 == 3) cases[10].want++;
    }
    for (int pass = 0; pass < 3; pass++) {
        for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
            ASSERT_MSG(count(c, cases[k].f) == cases[k].want, "pass %d, %s: %" PRIu64 " != %" PRIu64,
                       pass, cases[k].f, count(c, cases[k].f), cases[k].want);
            char *t = explain(c, cases[k].f);
            ASSERT_MSG(strstr(t, cases[k].plan), "pass %d, %s: plan lacks '%s':\n%s", pass,
                       cases[k].f, cases[k].plan, t);
            free(t);
        }
        /* pass 1: after a flush (the live index moved to the sealed segment); pass 2:
         * after a compaction and a reopen (built from sources, then loaded from files) */
        if (pass == 0) ASSERT_OK(vs_coll_flush(c));
        if (pass == 1) {
            ASSERT_OK(vs_coll_compact(c));
            vs_coll_close(c);
            vs_store_close(s);
            s = open_store(0);
            c = make_coll(s);
        }
    }
    /* an un-indexed path is evaluated on every row (or sampled, with a graph) */
    char *t = explain(c, "color2 = 'red'");
    ASSERT_CONTAINS(t, "from a sample");
    free(t);
    vs_coll_close(c);
    vs_store_close(s);
}

TEST(pindex, live_index_follows_in_place_updates) {
    vs_store *s = open_store(0);
    vs_coll *c = make_coll(s);
    ASSERT_OK(vs_coll_create_payload_index(c, "color", VS_PINDEX_KEYWORD));
    ASSERT_OK(vs_coll_create_payload_index(c, "n", VS_PINDEX_INTEGER));
    load(c, 0, 300); /* mutable only */
    ASSERT_EQ(count(c, "color = 'red'"), 60);
    /* overwrite 10 red points in place (mutable rows): the index rebuilds */
    for (uint64_t i = 0; i < 50; i += 5) {
        vs_id id = vs_id_num(i);
        ASSERT_OK(vs_set_payload(c, &id, 1, VS_PAYLOAD_SET, "{\"color\":\"pink\",\"n\":3.5}", NULL));
    }
    ASSERT_EQ(count(c, "color = 'red'"), 50);
    ASSERT_EQ(count(c, "color = 'pink'"), 10);
    /* n now holds 3.5 for ten points: the integer index declines, answers stay right */
    ASSERT_EQ(count(c, "n > 3 AND n < 4"), 10);
    char *t = explain(c, "n > 3 AND n < 4");
    ASSERT_CONTAINS(t, "from a sample");
    free(t);
    ASSERT_EQ(count(c, "n >= 290"), 10);
    /* more rows appended after the index caught up */
    load(c, 300, 100);
    ASSERT_EQ(count(c, "color = 'red'"), 70);
    vs_id d = vs_id_num(300);
    ASSERT_OK(vs_delete(c, &d, 1, NULL));
    ASSERT_EQ(count(c, "color = 'red'"), 69);
    ASSERT_OK(vs_coll_flush(c));
    ASSERT_EQ(count(c, "color = 'red'"), 69);
    ASSERT_EQ(count(c, "color = 'pink'"), 10);
    vs_coll_close(c);
    vs_store_close(s);
}

/* Index files are derived data: a damaged or foreign one is rebuilt, never trusted. */
TEST(pindex, damaged_file_is_rebuilt) {
    vs_store *s = open_store(0);
    vs_coll *c = make_coll(s);
    load(c, 0, 500);
    ASSERT_OK(vs_coll_create_payload_index(c, "color", VS_PINDEX_KEYWORD));
    ASSERT_OK(vs_coll_flush(c));
    vs_coll_close(c);
    vs_store_close(s);
    /* find the seg-N/pidx-H file and flip a byte in its body */
    char dir[1024], file[2048] = "";
    snprintf(dir, sizeof dir, "%s/collections/c", vt_path("db"));
    DIR *d = opendir(dir);
    ASSERT(d);
    struct dirent *de;
    while ((de = readdir(d)))
        if (!strncmp(de->d_name, "seg-", 4)) {
            char sd[1536];
            snprintf(sd, sizeof sd, "%s/%s", dir, de->d_name);
            DIR *d2 = opendir(sd);
            struct dirent *e2;
            while (d2 && (e2 = readdir(d2)))
                if (!strncmp(e2->d_name, "pidx-", 5)) snprintf(file, sizeof file, "%s/%s", sd, e2->d_name);
            if (d2) closedir(d2);
        }
    closedir(d);
    ASSERT_MSG(file[0], "no payload index file under %s", dir);
    FILE *f = fopen(file, "r+b");
    ASSERT(f);
    fseek(f, 100, SEEK_SET);
    int ch = fgetc(f);
    fseek(f, 100, SEEK_SET);
    fputc(ch ^ 0x5a, f);
    fclose(f);
    s = open_store(0);
    c = make_coll(s);
    ASSERT_EQ(count(c, "color = 'red'"), 100);
    char *t = explain(c, "color = 'red'");
    ASSERT_CONTAINS(t, "from indexes [keyword 'color']");
    free(t);
    vs_coll_close(c);
    vs_store_close(s);
    /* rewritten: a third open loads it cleanly (and answers the same) */
    s = open_store(0);
    c = make_coll(s);
    ASSERT_EQ(count(c, "color = 'red'"), 100);
    vs_coll_close(c);
    vs_store_close(s);
}

/* Out of memory anywhere in creating, using, flushing or compacting with indexes: an
 * error or the right answer, never a wrong one, a crash or a leak. */
TEST(pindex, out_of_memory_sweep) {
    vs_store *s = open_store(0);
    vs_coll *c = make_coll(s);
    load(c, 0, 300);
    ASSERT_OK(vs_coll_flush(c));
    load(c, 300, 100);
    int failures = 0;
    for (int64_t n = 1; n < 3000; n += 23) {
        vs__alloc_fail_after(n);
        int rc1 = vs_coll_create_payload_index(c, "color", VS_PINDEX_KEYWORD);
        int rc2 = vs_coll_create_payload_index(c, "n", VS_PINDEX_INTEGER);
        uint64_t k = 0;
        int rc3 = vs_count(c, "color = 'red' AND n < 350", &k);
        vs_id id = vs_id_num((uint64_t)n % 400);
        int rc4 = vs_set_payload(c, &id, 1, VS_PAYLOAD_SET, "{\"n\":1000}", NULL);
        int rc5 = (n % 5 == 0) ? vs_coll_flush(c) : VS_OK;
        vs__alloc_fail_after(0);
        failures += rc1 != VS_OK || rc2 != VS_OK || rc3 != VS_OK || rc4 != VS_OK || rc5 != VS_OK;
        ASSERT_MSG(rc1 == VS_OK || rc1 == VS_ENOMEM, "create: %d %s", rc1, vs_coll_errmsg(c));
        ASSERT_MSG(rc3 == VS_OK || rc3 == VS_ENOMEM, "count: %d %s", rc3, vs_coll_errmsg(c));
        /* the truth, computed without failures */
        uint64_t want = 0;
        ASSERT_OK(vs_count(c, "color = 'red' AND n < 350", &want));
        uint64_t plain = 0;
        /* quantifier "all" (the same on single values) is never answered by an index */
        ASSERT_OK(vs_count(c, "{\"must\":[{\"key\":\"color\",\"match\":{\"value\":\"red\"},"
                              "\"quantifier\":\"all\"},{\"key\":\"n\",\"range\":{\"lt\":350},"
                              "\"quantifier\":\"all\"}]}",
                           &plain));
        ASSERT_EQ(want, plain);
        if (rc4 == VS_EFATAL || rc5 == VS_EFATAL) break;
        if (rc1 == VS_OK && rc2 == VS_OK) {
            ASSERT_OK(vs_coll_drop_payload_index(c, "color", 0));
            ASSERT_OK(vs_coll_drop_payload_index(c, "n", 0));
        }
    }
    ASSERT(failures > 0);
    vs_coll_close(c);
    vs_store_close(s);
}
