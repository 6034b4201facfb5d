/*
 * test_profile.c — the query profiler: the stage tree of a real query, its counters, and
 * the three exports (JSON parsed back, folded stacks checked line by line, SVG shape).
 */
#include <cjson/cJSON.h>
#include <stdlib.h>

#include "query/profile.h"
#include "test.h"
#include "util/alloc.h"
#include "vecstore.h"

static const cJSON *child_named(const cJSON *node, const char *type, int nth) {
    const cJSON *kids = cJSON_GetObjectItem(node, "children");
    for (const cJSON *k = kids ? kids->child : NULL; k; k = k->next)
        if (!strcmp(cJSON_GetObjectItem(k, "type")->valuestring, type) && nth-- == 0) return k;
    return NULL;
}

static double bd(const cJSON *node, const char *counter) {
    return cJSON_GetObjectItem(cJSON_GetObjectItem(node, "breakdown"), counter)->valuedouble;
}

TEST(profile, stage_tree_and_exports) {
    vs__prof *p = vs__prof_new();
    ASSERT(p);
    uint32_t a = vs__prof_enter(p, "segment", "0");
    uint32_t b = vs__prof_enter(p, "filter", NULL);
    vs__prof_add(p, b, VS__PC_FILTER_EVALS, 42);
    vs__prof_time(p, b, 500000); /* 0.5 ms: wide enough to be drawn whatever the machine */
    char *junk = vs__malloc(1000);
    vs__free(junk);
    vs__prof_exit(p, b);
    uint32_t c2 = vs__prof_enter(p, "hnsw", "we;ird\"<x>");
    vs__prof_add(p, c2, VS__PC_DISTANCES, 7);
    vs__prof_time(p, c2, 3000000); /* 3 ms */
    vs__prof_exit(p, c2);
    vs__prof_exit(p, a);
    vs__prof_time(p, 0, 5000000);
    vs__prof_finish(p);
    char *json = vs__prof_json(p);
    ASSERT(json);
    cJSON *j = cJSON_Parse(json);
    ASSERT_MSG(j, "profile JSON does not parse: %s", json);
    ASSERT_STREQ(cJSON_GetObjectItem(j, "type")->valuestring, "query");
    const cJSON *seg = child_named(j, "segment", 0);
    ASSERT(seg);
    ASSERT_STREQ(cJSON_GetObjectItem(seg, "description")->valuestring, "segment 0");
    const cJSON *flt = child_named(seg, "filter", 0), *h = child_named(seg, "hnsw", 0);
    ASSERT(flt && h);
    ASSERT_EQ(bd(flt, "filter_evals"), 42);
    ASSERT(bd(flt, "bytes_allocated") >= 1000);
    ASSERT(bd(seg, "bytes_allocated") >= bd(flt, "bytes_allocated")); /* children included */
    ASSERT_EQ(bd(h, "distances"), 7);
    ASSERT_STREQ(cJSON_GetObjectItem(h, "description")->valuestring, "hnsw we;ird\"<x>");
    ASSERT(cJSON_GetObjectItem(h, "time_in_nanos")->valuedouble >= 3e6);
    ASSERT(cJSON_GetObjectItem(j, "time_in_nanos")->valuedouble >= 8e6); /* 5 + the child's 3 */
    ASSERT(cJSON_GetObjectItem(seg, "time_in_nanos")->valuedouble >= 3e6);
    cJSON_Delete(j);
    vs__free(json);
    /* folded: "frame;frame weight", ';' inside a name replaced, integer weights (µs) whose
     * sum is the root's time */
    char *fold = vs__prof_folded(p);
    ASSERT(fold);
    ASSERT_CONTAINS(fold, "query;segment 0;hnsw we,ird\"<x> ");
    long long sum = 0;
    for (char *line = strtok(fold, "\n"); line; line = strtok(NULL, "\n")) {
        char *sp = strrchr(line, ' ');
        ASSERT_MSG(sp && sp[1], "bad folded line '%s'", line);
        char *end;
        long long w = strtoll(sp + 1, &end, 10);
        ASSERT_MSG(*end == 0 && w > 0, "bad weight in '%s'", line);
        ASSERT(!strncmp(line, "query", 5));
        sum += w;
    }
    /* fixed stages sum to 8500 µs; real ones add a little (more under ASan on a busy machine) */
    ASSERT_MSG(sum >= 8490 && sum <= 9500, "folded weights sum to %lld µs, want ~8500", sum);
    vs__free(fold);
    char *svg = vs__prof_svg(p);
    ASSERT(svg);
    ASSERT(!strncmp(svg, "<?xml", 5));
    ASSERT_CONTAINS(svg, "</svg>");
    ASSERT_CONTAINS(svg, "&#60;x&#62;"); /* escaped */
    int rects = 0;
    for (const char *s = svg; (s = strstr(s, "<rect x=")); s++) rects++;
    ASSERT_EQ(rects, 4);
    vs__free(svg);
    char *text = vs__prof_text(p);
    ASSERT_CONTAINS(text, "  -> segment 0");
    ASSERT_CONTAINS(text, "filter_evals=42");
    vs__free(text);
    vs__prof_free(p);
    /* NULL profile: every call is a no-op */
    ASSERT_EQ(vs__prof_enter(NULL, "x", NULL), 0);
    vs__prof_exit(NULL, 0);
    vs__prof_add(NULL, 0, 0, 1);
    ASSERT(vs__prof_json(NULL) == NULL);
}

TEST(profile, out_of_memory_truncates_never_crashes) {
    for (int64_t n = 1; n < 60; n++) {
        vs__alloc_fail_after(n);
        vs__prof *p = vs__prof_new();
        for (int i = 0; i < 40 && p; i++) vs__prof_exit(p, vs__prof_enter(p, "stage", "x"));
        char *j = p ? vs__prof_json(p) : NULL;
        vs__alloc_fail_after(0);
        if (j) {
            cJSON *x = cJSON_Parse(j);
            ASSERT(x);
            cJSON_Delete(x);
        }
        vs__free(j);
        vs__prof_free(p);
    }
}

TEST(profile, a_filtered_query_reports_its_stages) {
    vs_store_options o;
    vs_store_options_init(&o);
    o.fsync = VS_FSYNC_OFF;
    o.background = 0;
    vs_store *s;
    char msg[256];
    ASSERT_MSG(vs_store_open(vt_path("db"), &o, &s, msg, sizeof msg) == VS_OK, "%s", msg);
    vs_schema *sc;
    ASSERT_OK(vs_schema_new(&sc));
    ASSERT_OK(vs_schema_add_vector(sc, "", 4, VS_METRIC_L2));
    ASSERT_OK(vs_coll_create(s, "c", sc));
    vs_schema_free(sc);
    vs_coll *c;
    ASSERT_OK(vs_coll_open(s, "c", &c));
    float v[400];
    vs_id ids[100];
    char *pl[100];
    for (int i = 0; i < 100; i++) {
        for (int j = 0; j < 4; j++) v[i * 4 + j] = (float)((i * 7 + j * 3) % 11);
        ids[i] = vs_id_num((uint64_t)i);
        pl[i] = malloc(32);
        snprintf(pl[i], 32, "{\"n\":%d}", i);
    }
    vs_vectors col = {NULL, v, 4};
    vs_upsert_batch b = {60, ids, &col, 1, (const char *const *)pl, NULL};
    ASSERT_OK(vs_upsert(c, &b));
    ASSERT_OK(vs_coll_flush(c));
    vs_vectors col2 = {NULL, v + 240, 4};
    vs_upsert_batch b2 = {40, ids + 60, &col2, 1, (const char *const *)(pl + 60), NULL};
    ASSERT_OK(vs_upsert(c, &b2));
    vs_query q;
    vs_query_init(&q);
    q.vectors = v;
    q.dim = 4;
    q.k = 5;
    q.filter = "n < 30";
    vs_result *r;
    ASSERT_OK(vs_query_run(c, &q, &r));
    ASSERT(vs_result_profile(r, VS_PROFILE_JSON) == NULL); /* not asked for */
    vs_result_free(r);
    q.flags = VS_QUERY_PROFILE;
    ASSERT_OK(vs_query_run(c, &q, &r));
    ASSERT_EQ(vs_result_rows(r, 0), 5);
    const char *json = vs_result_profile(r, VS_PROFILE_JSON);
    ASSERT(json);
    ASSERT(vs_result_profile(r, VS_PROFILE_JSON) == json); /* made once */
    cJSON *j = cJSON_Parse(json);
    ASSERT(j);
    const cJSON *s0 = child_named(j, "segment", 0), *s1 = child_named(j, "segment", 1);
    ASSERT(s0 && s1 && !child_named(j, "segment", 2));
    ASSERT(child_named(j, "parse filter", 0) && child_named(j, "merge and fetch", 0));
    const cJSON *f0 = child_named(s0, "plan", 0), *f1 = child_named(s1, "plan", 0);
    ASSERT(f0 && f1);
    ASSERT_EQ(bd(f0, "filter_evals") + bd(f1, "filter_evals"), 100);
    ASSERT_EQ(bd(f0, "candidates") + bd(f1, "candidates"), 30);
    const cJSON *x0 = child_named(s0, "flat", 0);
    ASSERT(x0);
    /* the flat scan scores allowed rows only, by 64-row words: between 30 and 60 */
    double dist = bd(x0, "distances");
    ASSERT_MSG(dist >= 30 && dist <= 60, "%g distances", dist);
    /* seg 1 holds n >= 60: planned as empty, never scanned */
    ASSERT(!child_named(s1, "flat", 0));
    ASSERT_CONTAINS(cJSON_GetObjectItem(f1, "description")->valuestring, "plan no rows");
    ASSERT_EQ(bd(j, "candidates"), 5);
    cJSON_Delete(j);
    ASSERT(vs_result_profile(r, VS_PROFILE_SVG));
    ASSERT(vs_result_profile(r, VS_PROFILE_FOLDED));
    ASSERT_CONTAINS(vs_result_profile(r, VS_PROFILE_TEXT), "-> segment 1 mutable (40 rows)");
    ASSERT(vs_result_profile(r, 99) == NULL);
    vs_result_free(r);
    for (int i = 0; i < 100; i++) free(pl[i]);
    vs_coll_close(c);
    vs_store_close(s);
}
