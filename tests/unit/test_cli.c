/*
 * test_cli.c — the `vecstore` command-line tool, end to end.
 *
 * Every test runs the built binary (vt_cli(), next to vstest) as a child process with
 * posix_spawn — argv passed as an array, so no shell quoting is involved — with stdout
 * and stderr redirected to files in the test's temp dir, and then checks the exit status
 * (0 ok, 1 error, 2 usage), stdout (parsed with cJSON where it is JSON) and the wording
 * of stderr. Input files in every format are written by the tests themselves (.npy
 * headers by hand), so the tests depend on nothing outside the build tree.
 *
 * The store layout is touched only by the `check` tests, which damage files on purpose
 * (a torn WAL tail must be a NOTE and exit 0; a destroyed MANIFEST an ERROR and exit 1).
 *
 * Memory: the tool runs in its own process, so the harness's leak check (live library
 * allocations in this process) is unaffected; buffers here come from libc malloc.
 */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"
#include "vecstore.h"

extern char **environ;

/* ------------------------------------------------------------ running --- */

typedef struct cli_out {
    int status; /* exit status, or 128 + signal */
    char *out;  /* stdout, NUL-terminated */
    char *err;  /* stderr, NUL-terminated */
} cli_out;

static cli_out g_run;

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return calloc(1, 1);
    size_t cap = 4096, len = 0;
    char *b = malloc(cap);
    size_t n;
    while ((n = fread(b + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len - 1 == 0) b = realloc(b, cap *= 2);
    }
    b[len] = 0;
    fclose(f);
    return b;
}

/* Runs the tool with a NULL-terminated argv (without argv[0]); returns &g_run. */
static cli_out *run_argv(const char *const *args) {
    free(g_run.out);
    free(g_run.err);
    memset(&g_run, 0, sizeof g_run);
    const char *argv[64];
    int n = 0;
    argv[n++] = vt_cli();
    for (; args[n - 1] && n < 63; n++) argv[n] = args[n - 1];
    argv[n] = NULL;
    /* Not vt_path: its 8 rotating buffers may hold the caller's arguments. */
    char out_path[1024], err_path[1024];
    snprintf(out_path, sizeof out_path, "%s/.cli-stdout", vt_tmpdir());
    snprintf(err_path, sizeof err_path, "%s/.cli-stderr", vt_tmpdir());
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    ASSERT_MSG(rc == 0, "posix_spawn %s: %s", argv[0], strerror(rc));
    int st;
    ASSERT(waitpid(pid, &st, 0) == pid);
    g_run.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    g_run.out = slurp(out_path);
    g_run.err = slurp(err_path);
    return &g_run;
}

/* A path in the temp dir that, unlike vt_path's rotating buffers, lasts the whole test. */
#define LOCAL_PATH(var, name)                                                            \
    char var[1024];                                                                      \
    snprintf(var, sizeof var, "%s", vt_path(name))

#define RUN(...) run_argv((const char *const[]){__VA_ARGS__, NULL})

/* Asserts the exit status, showing stderr when it is not what was expected. */
#define EXPECT_STATUS(r, want)                                                              \
    do {                                                                                    \
        cli_out *r_ = (r);                                                                  \
        if (r_->status != (want))                                                           \
            vt_fail(__FILE__, __LINE__, "exit status %d, want %d; stderr: %s; stdout: %.400s", \
                    r_->status, (want), r_->err, r_->out);                                  \
    } while (0)
#define OK(r) EXPECT_STATUS((r), 0)

/* ------------------------------------------------------------ files ----- */

static void write_file(const char *name, const void *data, size_t n) {
    FILE *f = fopen(vt_path(name), "wb");
    ASSERT_MSG(f, "cannot create %s", name);
    ASSERT(fwrite(data, 1, n, f) == n);
    fclose(f);
}

static void write_text(const char *name, const char *text) { write_file(name, text, strlen(text)); }

/* A 2-D .npy file written by hand: magic, version, header dict padded to 64, data. */
static void write_npy(const char *name, int major, int f64, uint64_t rows, uint64_t cols,
                      const double *data) {
    char dict[256];
    int dl = snprintf(dict, sizeof dict,
                      "{'descr': '<f%d', 'fortran_order': False, 'shape': (%llu, %llu), }",
                      f64 ? 8 : 4, (unsigned long long)rows, (unsigned long long)cols);
    size_t pre = major == 1 ? 10 : 12;
    size_t total = pre + (size_t)dl + 1;
    size_t pad = (64 - total % 64) % 64;
    size_t hlen = (size_t)dl + pad + 1;
    size_t item = f64 ? 8 : 4;
    size_t n = pre + hlen + rows * cols * item;
    unsigned char *b = calloc(1, n);
    memcpy(b, "\x93NUMPY", 6);
    b[6] = (unsigned char)major;
    b[7] = 0;
    if (major == 1) {
        b[8] = (unsigned char)(hlen & 0xff);
        b[9] = (unsigned char)(hlen >> 8);
    } else {
        for (int i = 0; i < 4; i++) b[8 + i] = (unsigned char)(hlen >> (8 * i));
    }
    memcpy(b + pre, dict, (size_t)dl);
    memset(b + pre + dl, ' ', pad);
    b[pre + hlen - 1] = '\n';
    unsigned char *d = b + pre + hlen;
    for (uint64_t i = 0; i < rows * cols; i++) {
        if (f64) {
            memcpy(d + i * 8, &data[i], 8);
        } else {
            float f = (float)data[i];
            memcpy(d + i * 4, &f, 4);
        }
    }
    write_file(name, b, n);
    free(b);
}

static void write_fvecs(const char *name, uint64_t rows, uint32_t dim, const float *data) {
    FILE *f = fopen(vt_path(name), "wb");
    ASSERT(f);
    for (uint64_t i = 0; i < rows; i++) {
        int32_t d = (int32_t)dim;
        fwrite(&d, 4, 1, f);
        fwrite(data + i * dim, 4, dim, f);
    }
    fclose(f);
}

/* ------------------------------------------------------------ JSON ------ */

static cJSON *jparse(const char *text) {
    cJSON *j = cJSON_Parse(text);
    ASSERT_MSG(j, "stdout is not JSON: %.600s", text);
    return j;
}

static double jnum(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    ASSERT_MSG(cJSON_IsNumber(v), "\"%s\" is not a number", key);
    return v->valuedouble;
}

static const char *jstr(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    ASSERT_MSG(cJSON_IsString(v), "\"%s\" is not a string", key);
    return v->valuestring;
}

static long long count_points(const char *store, const char *coll) {
    cli_out *r = RUN("count", store, coll);
    OK(r);
    return atoll(r->out);
}

/* A store "s" with a collection "c" of dimension dim (cosine unless metric given). */
static const char *make_store(uint32_t dim, const char *metric) {
    static char store[512];
    snprintf(store, sizeof store, "%s", vt_path("s"));
    char d[16];
    snprintf(d, sizeof d, "%u", dim);
    cli_out *r = RUN("create", store, "c", "--dim", d, "--metric", metric ? metric : "cosine");
    OK(r);
    ASSERT_CONTAINS(r->err, "created collection 'c'");
    return store;
}

static const char *points_jsonl =
    "{\"id\": 1, \"vector\": [1, 0, 0], \"payload\": {\"color\": \"red\", \"n\": 1}}\n"
    "{\"id\": 2, \"vector\": [0, 1, 0], \"payload\": {\"color\": \"blue\", \"n\": 2}}\n"
    "\n"
    "{\"id\": \"doc-3\", \"vector\": [0, 0, 1], \"payload\": {\"color\": \"red\", \"n\": 3}}\n"
    "{\"id\": 4, \"vector\": [0.9, 0.1, 0]}\n";

/* ------------------------------------------------------------ basics ---- */

TEST(cli, version_help_and_usage_errors) {
    cli_out *r = RUN("--version");
    OK(r);
    ASSERT_CONTAINS(r->out, "vecstore " VS_VERSION_STRING);
    r = RUN("--help");
    OK(r);
    ASSERT_CONTAINS(r->out, "Commands:");
    ASSERT_CONTAINS(r->out, "import");
    static const char *const cmds[] = {"create", "import", "query",  "get",      "delete",
                                       "count",  "scroll", "info",   "list",     "drop",
                                       "flush",  "compact", "snapshot", "restore", "check",
                                       "set-payload", "delete-payload", "nearest",
                                       "geo-distance"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        r = RUN(cmds[i], "--help");
        OK(r);
        char want[64];
        snprintf(want, sizeof want, "usage: vecstore %s", cmds[i]);
        ASSERT_CONTAINS(r->out, want);
    }
    EXPECT_STATUS(RUN("help", "query"), 0);
    ASSERT_CONTAINS(g_run.out, "usage: vecstore query");
    r = run_argv((const char *const[]){NULL});
    EXPECT_STATUS(r, 2);
    ASSERT_CONTAINS(r->err, "usage:");
    r = RUN("frobnicate");
    EXPECT_STATUS(r, 2);
    ASSERT_CONTAINS(r->err, "unknown command 'frobnicate'");
    r = RUN("create", vt_path("s"));
    EXPECT_STATUS(r, 2);
    ASSERT_CONTAINS(r->err, "vecstore: create: missing arguments");
    r = RUN("create", vt_path("s"), "c", "--dim", "abc");
    EXPECT_STATUS(r, 2);
    ASSERT_CONTAINS(r->err, "vecstore: create: --dim");
    r = RUN("create", vt_path("s"), "c", "--dim", "0");
    EXPECT_STATUS(r, 2);
    r = RUN("create", vt_path("s"), "c", "--dim", "70000");
    EXPECT_STATUS(r, 2);
    r = RUN("create", vt_path("s"), "c", "--dim", "4", "--metric", "manhattan");
    EXPECT_STATUS(r, 2);
    ASSERT_CONTAINS(r->err, "unknown metric 'manhattan'");
    r = RUN("create", vt_path("s"), "c", "--dim", "4", "--fsync", "sometimes");
    EXPECT_STATUS(r, 2);
    r = RUN("create", vt_path("s"), "bad/name", "--dim", "4");
    EXPECT_STATUS(r, 2);
    r = RUN("create", vt_path("s"), "c", "--dim", "4", "--bogus");
    EXPECT_STATUS(r, 2);
    ASSERT_CONTAINS(r->err, "unknown option '--bogus'");
    /* None of the usage errors may have created the store. */
    struct stat st;
    ASSERT(stat(vt_path("s"), &st) != 0);
}

TEST(cli, create_import_jsonl_query_get) {
    const char *s = make_store(3, NULL);
    write_text("p.jsonl", points_jsonl);
    cli_out *r = RUN("import", s, "c", vt_path("p.jsonl"));
    OK(r);
    ASSERT_CONTAINS(r->err, "imported 4 points in ");
    ASSERT_CONTAINS(r->err, "points/s)");
    ASSERT_STREQ(r->out, "");
    ASSERT_EQ(count_points(s, "c"), 4);

    r = RUN("query", s, "c", "--vector", "[1, 0.05, 0]", "-k", "2");
    OK(r);
    cJSON *j = jparse(r->out);
    ASSERT(cJSON_IsArray(j));
    ASSERT_EQ(cJSON_GetArraySize(j), 2);
    cJSON *h0 = cJSON_GetArrayItem(j, 0), *h1 = cJSON_GetArrayItem(j, 1);
    ASSERT_EQ(jnum(h0, "id"), 1);
    ASSERT_EQ(jnum(h1, "id"), 4);
    ASSERT(jnum(h0, "score") > jnum(h1, "score"));
    ASSERT_NEAR(jnum(h0, "score"), 1.0 / sqrt(1.0025), 1e-6);
    ASSERT_STREQ(jstr(cJSON_GetObjectItem(h0, "payload"), "color"), "red");
    ASSERT(!cJSON_GetObjectItem(h0, "vector"));
    cJSON_Delete(j);

    /* String ids come back as strings; --with-vector adds the (normalised) vector. */
    r = RUN("query", s, "c", "--vector", "[0,0,2]", "-k", "1", "--with-vector", "--no-payload");
    OK(r);
    j = jparse(r->out);
    h0 = cJSON_GetArrayItem(j, 0);
    ASSERT_STREQ(jstr(h0, "id"), "doc-3");
    ASSERT(!cJSON_GetObjectItem(h0, "payload"));
    cJSON *v = cJSON_GetObjectItem(h0, "vector");
    ASSERT(cJSON_IsArray(v));
    ASSERT_EQ(cJSON_GetArraySize(v), 3);
    ASSERT_NEAR(cJSON_GetArrayItem(v, 2)->valuedouble, 1.0, 1e-6);
    cJSON_Delete(j);

    r = RUN("get", s, "c", "4", "doc-3", "999", "--with-vector");
    OK(r);
    ASSERT_CONTAINS(r->err, "1 of 3 ids not found");
    j = jparse(r->out);
    ASSERT_EQ(cJSON_GetArraySize(j), 2);
    ASSERT_EQ(jnum(cJSON_GetArrayItem(j, 0), "id"), 4);
    ASSERT_STREQ(jstr(cJSON_GetArrayItem(j, 1), "id"), "doc-3");
    /* Point 4 had no payload: {}. */
    cJSON *p = cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "payload");
    ASSERT(cJSON_IsObject(p) && p->child == NULL);
    cJSON_Delete(j);

    /* jsonl: one object per line. */
    r = RUN("get", s, "c", "1", "2", "--format", "jsonl");
    OK(r);
    char *nl = strchr(r->out, '\n');
    ASSERT(nl);
    *nl = 0;
    j = jparse(r->out);
    ASSERT_EQ(jnum(j, "id"), 1);
    cJSON_Delete(j);
    j = jparse(nl + 1);
    ASSERT_EQ(jnum(j, "id"), 2);
    cJSON_Delete(j);
}

TEST(cli, ids_digits_are_numbers_str_forces_strings) {
    const char *s = make_store(2, NULL);
    write_text("p.jsonl", "{\"id\": 42, \"vector\": [1, 0]}\n"
                          "{\"id\": \"42\", \"vector\": [0, 1]}\n"
                          "{\"id\": 18446744073709551615, \"vector\": [1, 1]}\n");
    OK(RUN("import", s, "c", vt_path("p.jsonl")));
    ASSERT_EQ(count_points(s, "c"), 3);
    cli_out *r = RUN("get", s, "c", "42", "--with-vector");
    OK(r);
    cJSON *j = jparse(r->out);
    ASSERT(cJSON_IsNumber(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "id")));
    cJSON_Delete(j);
    r = RUN("get", s, "c", "--str", "42");
    OK(r);
    j = jparse(r->out);
    ASSERT_STREQ(jstr(cJSON_GetArrayItem(j, 0), "id"), "42");
    cJSON_Delete(j);
    /* The largest id survives the round trip exactly (no double rounding). */
    r = RUN("get", s, "c", "18446744073709551615");
    OK(r);
    ASSERT_CONTAINS(r->out, "\"id\":18446744073709551615");
    r = RUN("get", s, "c", "18446744073709551616");
    EXPECT_STATUS(r, 2);
    ASSERT_CONTAINS(r->err, "does not fit in 64 bits");
}

/* ------------------------------------------------------------ formats --- */

TEST(cli, import_csv_numbered_columns_and_payload_types) {
    const char *s = make_store(3, "l2");
    write_text("p.csv", "id,v0,v1,v2,color,price,zip,flag,note\r\n"
                        "1,1,0,0,red,9.5,02134,true,\"hello, world\"\r\n"
                        "2, 0 , 1 ,0,blue,-3,,false,\"say \"\"hi\"\"\"\r\n"
                        "\r\n"
                        "x7,0,0,1,green,1e3,123,TRUE,\"two\nlines\"\r\n");
    cli_out *r = RUN("import", s, "c", vt_path("p.csv"));
    OK(r);
    ASSERT_CONTAINS(r->err, "imported 3 points");
    r = RUN("get", s, "c", "1", "2", "x7");
    OK(r);
    cJSON *j = jparse(r->out);
    ASSERT_EQ(cJSON_GetArraySize(j), 3);
    cJSON *p1 = cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "payload");
    ASSERT_STREQ(jstr(p1, "color"), "red");
    ASSERT_NEAR(jnum(p1, "price"), 9.5, 0);
    ASSERT_STREQ(jstr(p1, "zip"), "02134"); /* not a JSON number: leading zero */
    ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(p1, "flag")));
    ASSERT_STREQ(jstr(p1, "note"), "hello, world");
    cJSON *p2 = cJSON_GetObjectItem(cJSON_GetArrayItem(j, 1), "payload");
    ASSERT_NEAR(jnum(p2, "price"), -3, 0);
    ASSERT(!cJSON_GetObjectItem(p2, "zip")); /* empty cell: key left out */
    ASSERT(cJSON_IsFalse(cJSON_GetObjectItem(p2, "flag")));
    ASSERT_STREQ(jstr(p2, "note"), "say \"hi\"");
    cJSON *p3 = cJSON_GetObjectItem(cJSON_GetArrayItem(j, 2), "payload");
    ASSERT_STREQ(jstr(cJSON_GetArrayItem(j, 2), "id"), "x7");
    ASSERT_NEAR(jnum(p3, "price"), 1000, 0);
    ASSERT_NEAR(jnum(p3, "zip"), 123, 0);
    ASSERT_STREQ(jstr(p3, "flag"), "TRUE");
    ASSERT_STREQ(jstr(p3, "note"), "two\nlines");
    cJSON_Delete(j);
    /* l2: the nearest point has distance 0. */
    r = RUN("query", s, "c", "--vector", "[0,1,0]", "-k", "1");
    OK(r);
    j = jparse(r->out);
    ASSERT_EQ(jnum(cJSON_GetArrayItem(j, 0), "id"), 2);
    ASSERT_NEAR(jnum(cJSON_GetArrayItem(j, 0), "score"), 0, 1e-6);
    cJSON_Delete(j);
}

TEST(cli, import_csv_json_vector_column_and_payload_column) {
    const char *s = make_store(2, NULL);
    write_text("p.csv", "id,vector,payload,tag\n"
                        "10,\"[1, 0]\",\"{\"\"a\"\": 1}\",x\n"
                        "11,\"[0, 1]\",,y\n");
    OK(RUN("import", s, "c", vt_path("p.csv")));
    cli_out *r = RUN("get", s, "c", "10", "11");
    OK(r);
    cJSON *j = jparse(r->out);
    cJSON *p = cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "payload");
    ASSERT_NEAR(jnum(p, "a"), 1, 0);
    ASSERT_STREQ(jstr(p, "tag"), "x");
    p = cJSON_GetObjectItem(cJSON_GetArrayItem(j, 1), "payload");
    ASSERT_STREQ(jstr(p, "tag"), "y");
    cJSON_Delete(j);
    /* A header without the vector columns is fatal, named at line 1. */
    write_text("bad.csv", "id,v0\n1,1\n");
    r = RUN("import", s, "c", vt_path("bad.csv"));
    EXPECT_STATUS(r, 1);
    ASSERT_CONTAINS(r->err, "line 1");
    ASSERT_CONTAINS(r->err, "v1");
}

TEST(cli, import_npy_versions_and_dtypes) {
    const char *s = make_store(4, "dot");
    double d[3 * 4] = {1, 2, 3, 4, 0.5, 0.25, 0.125, 0.0625, -1, -2, -3, -4};
    write_npy("a.npy", 1, 0, 3, 4, d);
    cli_out *r = RUN("import", s, "c", vt_path("a.npy"));
    OK(r);
    ASSERT_CONTAINS(r->err, "imported 3 points");
    r = RUN("get", s, "c", "1", "--with-vector");
    OK(r);
    cJSON *j = jparse(r->out);
    cJSON *v = cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "vector");
    ASSERT_NEAR(cJSON_GetArrayItem(v, 3)->valuedouble, 0.0625, 1e-7);
    cJSON_Delete(j);
    /* float64, format 2.0 and 3.0, ids from --first-id. */
    write_npy("b.npy", 2, 1, 3, 4, d);
    OK(RUN("import", s, "c", vt_path("b.npy"), "--first-id", "100"));
    write_npy("c.npy", 3, 1, 3, 4, d);
    OK(RUN("import", s, "c", vt_path("c.npy"), "--first-id", "200"));
    ASSERT_EQ(count_points(s, "c"), 9);
    r = RUN("get", s, "c", "102", "--with-vector");
    OK(r);
    j = jparse(r->out);
    v = cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "vector");
    ASSERT_NEAR(cJSON_GetArrayItem(v, 0)->valuedouble, -1, 0);
    cJSON_Delete(j);
    /* Wrong number of columns: fatal, nothing imported. */
    write_npy("w.npy", 1, 0, 3, 3, d);
    r = RUN("import", s, "c", vt_path("w.npy"));
    EXPECT_STATUS(r, 1);
    ASSERT_CONTAINS(r->err, "expected 4 dimensions, got 3");
    ASSERT_EQ(count_points(s, "c"), 9);
    /* Truncated data and a bad magic. */
    write_npy("t.npy", 1, 0, 3, 4, d);
    ASSERT(truncate(vt_path("t.npy"), 128 + 20) == 0);
    r = RUN("import", s, "c", vt_path("t.npy"));
    EXPECT_STATUS(r, 1);
    ASSERT_CONTAINS(r->err, "truncated");
    write_text("m.npy", "not numpy at all");
    r = RUN("import", s, "c", vt_path("m.npy"));
    EXPECT_STATUS(r, 1);
    ASSERT_CONTAINS(r->err, "not an .npy file");
}

TEST(cli, import_fvecs_and_query_file) {
    const char *s = make_store(3, "l2");
    float pts[5 * 3] = {0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 5, 5, 5};
    write_fvecs("p.fvecs", 5, 3, pts);
    cli_out *r = RUN("import", s, "c", vt_path("p.fvecs"));
    OK(r);
    ASSERT_EQ(count_points(s, "c"), 5);

    /* Three queries in one file: one JSON array per line, in order (batched). */
    float q[3 * 3] = {0.9f, 0, 0, 0, 0, 1.1f, 5, 5, 4};
    write_fvecs("q.fvecs", 3, 3, q);
    r = RUN("query", s, "c", "--queries", vt_path("q.fvecs"), "-k", "2", "--batch", "2");
    OK(r);
    uint64_t want[3] = {1, 3, 4};
    char *line = r->out;
    for (int i = 0; i < 3; i++) {
        char *nl = strchr(line, '\n');
        ASSERT_MSG(nl, "line %d missing in: %s", i, r->out);
        *nl = 0;
        cJSON *j = jparse(line);
        ASSERT_EQ(cJSON_GetArraySize(j), 2);
        ASSERT_EQ(jnum(cJSON_GetArrayItem(j, 0), "id"), want[i]);
        cJSON_Delete(j);
        line = nl + 1;
    }
    ASSERT_STREQ(line, "");

    /* The same queries as .jsonl (bare arrays and objects) and as .npy. */
    write_text("q.jsonl", "[0.9, 0, 0]\n{\"vector\": [0, 0, 1.1]}\n[5, 5, 4]\n");
    r = RUN("query", s, "c", "--queries", vt_path("q.jsonl"), "-k", "1", "--format", "csv");
    OK(r);
    ASSERT_CONTAINS(r->out, "query,id,score,payload\n0,1,");
    ASSERT_CONTAINS(r->out, "\n1,3,");
    ASSERT_CONTAINS(r->out, "\n2,4,");
    double qd[9] = {0.9, 0, 0, 0, 0, 1.1, 5, 5, 4};
    write_npy("q.npy", 1, 0, 3, 3, qd);
    r = RUN("query", s, "c", "--queries", vt_path("q.npy"), "-k", "1", "--format", "table");
    OK(r);
    ASSERT_CONTAINS(r->out, "query");
    ASSERT_CONTAINS(r->out, "score");

    /* A bad query vector fails before anything is printed. */
    write_text("bad.jsonl", "[1, 0, 0]\n[1, 0]\n");
    r = RUN("query", s, "c", "--queries", vt_path("bad.jsonl"));
    EXPECT_STATUS(r, 1);
    ASSERT_CONTAINS(r->err, "bad.jsonl:2: expected 3 dimensions, got 2");
    ASSERT_STREQ(r->out, "");

    /* fvecs with a wrong per-record dimension names the row. */
    float bad[4] = {1, 2, 3, 4};
    write_fvecs("bad.fvecs", 1, 4, bad);
    r = RUN("import", s, "c", vt_path("bad.fvecs"));
    EXPECT_STATUS(r, 1);
    ASSERT_CONTAINS(r->err, "bad.fvecs: row 0: expected 3 dimensions, got 4");
}

/* ------------------------------------------------------------ bad input - */

TEST(cli, import_bad_line_3_imports_nothing) {
    const char *s = make_store(3, NULL);
    write_text("p.jsonl", "{\"id\": 1, \"vector\": [1, 0, 0]}\n"
                          "{\"id\": 2, \"vector\": [0, 1, 0]}\n"
                          "{\"id\": 3, \"vector\": [0, 1]}\n"
                          "{\"id\": 4, \"vector\": [0, 0, 1]}\n");
    cli_out *r = RUN("import", s, "c", vt_path("p.jsonl"));
    EXPECT_STATUS(r, 1);
    char want[600];
    snprintf(want, sizeof want, "vecstore: import: %s:3: expected 3 dimensions, got 2",
             vt_path("p.jsonl"));
    ASSERT_CONTAINS(r->err, want);
    ASSERT_CONTAINS(r->err, "nothing imported");
    ASSERT_EQ(count_points(s, "c"), 0);

    /* --skip-bad: the good ones go in, the bad one is listed with a count. */
    r = RUN("import", s, "c", vt_path("p.jsonl"), "--skip-bad", "--batch", "1");
    OK(r);
    ASSERT_CONTAINS(r->err, ":3: expected 3 dimensions, got 2 (skipped)");
    ASSERT_CONTAINS(r->err, "skipping 1 bad record");
    ASSERT_CONTAINS(r->err, "imported 3 points");
    ASSERT_EQ(count_points(s, "c"), 3);
}

TEST(cli, import_rejects_each_kind_of_bad_record) {
    const char *s = make_store(2, NULL);
    static const struct {
        const char *line, *reason;
    } cases[] = {
        {"{\"id\": 1, \"vector\": [1, 0]", "invalid JSON"},
        {"{\"vector\": [1, 0]}", "missing \"id\""},
        {"{\"id\": -1, \"vector\": [1, 0]}", "id must be an unsigned integer or a string"},
        {"{\"id\": 1.5, \"vector\": [1, 0]}", "id must be an unsigned integer or a string"},
        {"{\"id\": 18446744073709551616, \"vector\": [1, 0]}", "does not fit in 64 bits"},
        {"{\"id\": \"\", \"vector\": [1, 0]}", "empty id"},
        {"{\"id\": 1}", "missing \"vector\""},
        {"{\"id\": 1, \"vector\": [1, \"a\"]}", "vector[1] is not a number"},
        {"{\"id\": 1, \"vector\": [1, 1e39]}", "out of float32 range"},
        {"{\"id\": 1, \"vector\": [1, 0], \"payload\": [1]}", "\"payload\" must be a JSON object"},
        {"[1, 0]", "expected a JSON object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, "{\"id\": 100, \"vector\": [0, 1]}\n%s\n", cases[i].line);
        write_text("p.jsonl", text);
        cli_out *r = RUN("import", s, "c", vt_path("p.jsonl"));
        EXPECT_STATUS(r, 1);
        ASSERT_CONTAINS(r->err, "p.jsonl:2: ");
        ASSERT_CONTAINS(r->err, cases[i].reason);
    }
    /* A string id longer than 256 bytes. */
    char line[700];
    int n = snprintf(line, sizeof line, "{\"id\": \"");
    for (int i = 0; i < 257; i++) line[n++] = 'a';
    snprintf(line + n, sizeof line - (size_t)n, "\", \"vector\": [1, 0]}\n");
    write_text("long.jsonl", line);
    cli_out *r = RUN("import", s, "c", vt_path("long.jsonl"));
    EXPECT_STATUS(r, 1);
    ASSERT_CONTAINS(r->err, "long.jsonl:1: id of 257 bytes is longer than 256");
    ASSERT_EQ(count_points(s, "c"), 0);
}

TEST(cli, import_rejects_nan_and_infinity) {
    const char *s = make_store(2, NULL);
    write_text("p.csv", "id,v0,v1\n1,1,0\n2,nan,0\n3,0,inf\n");
    cli_out *r = RUN("import", s, "c", vt_path("p.csv"));
    EXPECT_STATUS(r, 1);
    ASSERT_CONTAINS(r->err, "p.csv:3: vector[0] is NaN or infinity");
    ASSERT_CONTAINS(r->err, "p.csv:4: vector[1] is NaN or infinity");
    ASSERT_CONTAINS(r->err, "2 bad records; nothing imported");
    double d[4] = {1, 0, 0, NAN};
    write_npy("p.npy", 1, 0, 2, 2, d);
    r = RUN("import", s, "c", vt_path("p.npy"));
    EXPECT_STATUS(r, 1);
    ASSERT_CONTAINS(r->err, "p.npy: row 1: vector[1] is NaN or infinity");
    float f[4] = {INFINITY, 0, 1, 1};
    write_fvecs("p.fvecs", 2, 2, f);
    r = RUN("import", s, "c", vt_path("p.fvecs"), "--skip-bad");
    OK(r);
    ASSERT_CONTAINS(r->err, "p.fvecs: row 0: vector[0] is NaN or infinity (skipped)");
    ASSERT_EQ(count_points(s, "c"), 1);
    r = RUN("get", s, "c", "1");
    OK(r);
    ASSERT_CONTAINS(r->out, "\"id\":1");
}

TEST(cli, missing_inputs_and_unknown_collection) {
    const char *s = make_store(2, NULL);
    cli_out *r = RUN("import", s, "c", vt_path("nope.jsonl"));
    EXPECT_STATUS(r, 1);
    ASSERT_CONTAINS(r->err, "vecstore: import: ");
    ASSERT_CONTAINS(r->err, "No such file");
    write_text("p.txt", "x");
    r = RUN("import", s, "c", vt_path("p.txt"));
    EXPECT_STATUS(r, 2);
    ASSERT_CONTAINS(r->err, "cannot tell the format");
    r = RUN("query", s, "nosuch", "--vector", "[1, 0]");
    EXPECT_STATUS(r, 1);
    ASSERT_CONTAINS(r->err, "vecstore: query: ");
    ASSERT_CONTAINS(r->err, "nosuch");
    r = RUN("count", vt_path("nostore"), "c");
    EXPECT_STATUS(r, 1);
    ASSERT_CONTAINS(r->err, "vecstore: count: ");
    /* A read command must not create a store that is not there. */
    struct stat st;
    ASSERT(stat(vt_path("nostore"), &st) != 0);
    r = RUN("import", vt_path("nostore"), "c", vt_path("p.txt"), "--type", "jsonl");
    EXPECT_STATUS(r, 1);
    ASSERT(stat(vt_path("nostore"), &st) != 0);
    r = RUN("create", s, "c", "--dim", "2");
    EXPECT_STATUS(r, 1);
    ASSERT_CONTAINS(r->err, "vecstore: create: ");
}

TEST(cli, query_argument_validation) {
    const char *s = make_store(2, NULL);
    static const char *const bad_k[] = {"0", "-1", "100001", "abc", "1.5", ""};
    for (size_t i = 0; i < sizeof bad_k / sizeof bad_k[0]; i++) {
        cli_out *r = RUN("query", s, "c", "--vector", "[1, 0]", "-k", bad_k[i]);
        EXPECT_STATUS(r, 2);
        ASSERT_CONTAINS(r->err, "vecstore: query: --k");
    }
    OK(RUN("query", s, "c", "--vector", "[1, 0]", "-k", "100000"));
    cli_out *r = RUN("query", s, "c", "--vector", "[1, 0]", "--filter", "{\"must\": [");
    EXPECT_STATUS(r, 2);
    ASSERT_CONTAINS(r->err, "--filter: invalid JSON");
    r = RUN("query", s, "c", "--vector", "[1, 0]", "--filter", "[]");
    EXPECT_STATUS(r, 2);
    r = RUN("query", s, "c", "--vector", "[1, nope]");
    EXPECT_STATUS(r, 2);
    r = RUN("query", s, "c");
    EXPECT_STATUS(r, 2);
    ASSERT_CONTAINS(r->err, "exactly one of --vector");
    r = RUN("query", s, "c", "--vector", "[1, 0]", "--format", "xml");
    EXPECT_STATUS(r, 2);
    r = RUN("query", s, "c", "--vector", "[1, 0, 0]");
    EXPECT_STATUS(r, 1);
    ASSERT_CONTAINS(r->err, "expected 2 dimensions, got 3");
    r = RUN("query", s, "c", "--vector", "[1, 0]", "--field", "img");
    EXPECT_STATUS(r, 1);
    ASSERT_CONTAINS(r->err, "no vector field 'img'");
    r = RUN("count", s, "c", "--filter", "not json");
    EXPECT_STATUS(r, 2);
    /* Valid JSON that is not a valid filter: the library says why, exit 1. */
    r = RUN("count", s, "c", "--filter", "{\"must\": [{\"key\": \"a\", \"bogus\": 1}]}");
    EXPECT_STATUS(r, 1);
    ASSERT_CONTAINS(r->err, "vecstore: count: ");
}

/* ------------------------------------------------------------ commands -- */

TEST(cli, filters_count_and_query) {
    const char *s = make_store(3, NULL);
    write_text("p.jsonl", points_jsonl);
    OK(RUN("import", s, "c", vt_path("p.jsonl")));
    const char *red = "{\"must\": [{\"key\": \"color\", \"match\": {\"value\": \"red\"}}]}";
    cli_out *r = RUN("count", s, "c", "--filter", red);
    OK(r);
    ASSERT_STREQ(r->out, "2\n");
    r = RUN("count", s, "c", "--format", "json");
    OK(r);
    cJSON *j = jparse(r->out);
    ASSERT_EQ(jnum(j, "count"), 4);
    cJSON_Delete(j);
    r = RUN("query", s, "c", "--vector", "[0, 1, 0]", "-k", "10", "--filter", red);
    OK(r);
    j = jparse(r->out);
    ASSERT_EQ(cJSON_GetArraySize(j), 2);
    for (int i = 0; i < 2; i++) {
        cJSON *p = cJSON_GetObjectItem(cJSON_GetArrayItem(j, i), "payload");
        ASSERT_STREQ(jstr(p, "color"), "red");
    }
    cJSON_Delete(j);
    r = RUN("query", s, "c", "--vector", "[0, 1, 0]", "-k", "10", "--filter",
            "{\"must\": [{\"key\": \"n\", \"range\": {\"gte\": 2}}]}", "--exact",
            "--format", "table");
    OK(r);
    ASSERT_CONTAINS(r->out, "id");
    ASSERT_CONTAINS(r->out, "\"doc-3\"");
    ASSERT(!strstr(r->out, "\"color\":\"red\",\"n\":1"));
    /* --where: the text syntax reaches the same filter */
    r = RUN("count", s, "c", "--where", "color = 'red'");
    OK(r);
    ASSERT_STREQ(r->out, "2\n");
    r = RUN("count", s, "c", "--where", "color = 'red' AND n >= 2");
    OK(r);
    char *where_count = strdup(r->out); /* RUN reuses one buffer: keep a copy */
    ASSERT(strcmp(where_count, "0\n"));
    r = RUN("count", s, "c", "--filter",
            "{\"must\": [{\"key\": \"color\", \"match\": {\"value\": \"red\"}},"
            "{\"key\": \"n\", \"range\": {\"gte\": 2}}]}");
    OK(r);
    ASSERT_STREQ(r->out, where_count);
    r = RUN("query", s, "c", "--vector", "[0, 1, 0]", "-k", "10", "--where", "NOT color = 'red'");
    OK(r);
    j = jparse(r->out);
    ASSERT_EQ(cJSON_GetArraySize(j), 2);
    cJSON_Delete(j);
    r = RUN("scroll", s, "c", "--where", "color IN ('red', 'blue') OR n > 100");
    OK(r);
    /* errors: the position in the text; both options; JSON given to --where */
    r = RUN("count", s, "c", "--where", "color = ");
    EXPECT_STATUS(r, 1);
    ASSERT_CONTAINS(r->err, "at byte 8");
    r = RUN("count", s, "c", "--where", "color = 'red'", "--filter", "{}");
    EXPECT_STATUS(r, 2);
    ASSERT_CONTAINS(r->err, "cannot be combined");
    r = RUN("count", s, "c", "--where", " {\"must\": []}");
    EXPECT_STATUS(r, 2);
    ASSERT_CONTAINS(r->err, "use --filter for JSON");
    /* payload indexes: create, list, the plan reads them, drop; bad input */
    OK(RUN("payload-index", s, "c", "create", "color", "keyword"));
    OK(RUN("payload-index", s, "c", "create", "$.n", "integer"));
    r = RUN("payload-index", s, "c", "list");
    OK(r);
    ASSERT_CONTAINS(r->out, "color\tkeyword\t");
    ASSERT_CONTAINS(r->out, "n\tinteger\t");
    r = RUN("query", s, "c", "--vector", "[0, 1, 0]", "--where", "color = 'red' AND n >= 2",
            "--explain");
    OK(r);
    ASSERT_CONTAINS(r->out, "from indexes [keyword 'color', integer 'n']");
    r = RUN("count", s, "c", "--where", "color = 'red' AND n >= 2");
    OK(r);
    ASSERT_STREQ(r->out, where_count); /* same answer with the indexes */
    free(where_count);
    r = RUN("payload-index", s, "c", "create", "n", "geo3d");
    EXPECT_STATUS(r, 2);
    ASSERT_CONTAINS(r->err, "unknown payload index type 'geo3d'");
    ASSERT_CONTAINS(r->err, "text, geo)");
    r = RUN("payload-index", s, "c", "create", "a[x", "keyword");
    EXPECT_STATUS(r, 1);
    ASSERT_CONTAINS(r->err, "bad payload index path");
    r = RUN("payload-index", s, "c", "frobnicate");
    EXPECT_STATUS(r, 2);
    OK(RUN("payload-index", s, "c", "drop", "n"));
    r = RUN("payload-index", s, "c", "drop", "n");
    EXPECT_STATUS(r, 1);
    ASSERT_CONTAINS(r->err, "no payload index on 'n'");
}

TEST(cli, delete_and_payload_edits) {
    const char *s = make_store(3, NULL);
    write_text("p.jsonl", points_jsonl);
    OK(RUN("import", s, "c", vt_path("p.jsonl")));
    cli_out *r = RUN("set-payload", s, "c", "1", "2", "77", "--json", "{\"k\": 5}");
    OK(r);
    ASSERT_CONTAINS(r->err, "updated 2 points");
    r = RUN("get", s, "c", "1");
    OK(r);
    cJSON *j = jparse(r->out);
    cJSON *p = cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "payload");
    ASSERT_EQ(jnum(p, "k"), 5);
    ASSERT_STREQ(jstr(p, "color"), "red");
    cJSON_Delete(j);
    OK(RUN("set-payload", s, "c", "1", "--json", "{\"only\": true}", "--overwrite"));
    r = RUN("get", s, "c", "1");
    OK(r);
    ASSERT_CONTAINS(r->out, "\"payload\":{\"only\":true}");
    OK(RUN("delete-payload", s, "c", "2", "--keys", "k,n"));
    r = RUN("get", s, "c", "2");
    OK(r);
    ASSERT_CONTAINS(r->out, "\"payload\":{\"color\":\"blue\"}");
    OK(RUN("delete-payload", s, "c", "2", "--all"));
    r = RUN("get", s, "c", "2");
    OK(r);
    ASSERT_CONTAINS(r->out, "\"payload\":{}");
    EXPECT_STATUS(RUN("set-payload", s, "c", "1", "--json", "[1]"), 2);
    EXPECT_STATUS(RUN("set-payload", s, "c", "1"), 2);
    EXPECT_STATUS(RUN("delete-payload", s, "c", "1"), 2);

    r = RUN("delete", s, "c", "1", "doc-3", "555");
    OK(r);
    ASSERT_CONTAINS(r->err, "deleted 2 points");
    ASSERT_EQ(count_points(s, "c"), 2);
    r = RUN("get", s, "c", "1", "doc-3");
    OK(r);
    ASSERT_STREQ(r->out, "[]\n");
    EXPECT_STATUS(RUN("delete", s, "c"), 2);
}

TEST(cli, scroll_pages_and_all) {
    const char *s = make_store(2, NULL);
    char text[4096] = "";
    size_t n = 0;
    for (int i = 0; i < 25; i++)
        n += (size_t)snprintf(text + n, sizeof text - n,
                              "{\"id\": %d, \"vector\": [1, %d], \"payload\": {\"i\": %d}}\n",
                              i, i, i);
    n += (size_t)snprintf(text + n, sizeof text - n, "{\"id\": \"zz\", \"vector\": [0, 1]}\n");
    write_text("p.jsonl", text);
    OK(RUN("import", s, "c", vt_path("p.jsonl"), "--batch", "7"));
    /* Page by page with next_page_offset. */
    int seen = 0;
    char off[64] = "";
    for (int page = 0; page < 10; page++) {
        cli_out *r = off[0] ? RUN("scroll", s, "c", "--limit", "10", "--offset", off)
                            : RUN("scroll", s, "c", "--limit", "10");
        OK(r);
        cJSON *j = jparse(r->out);
        cJSON *pts = cJSON_GetObjectItem(j, "points");
        seen += cJSON_GetArraySize(pts);
        cJSON *next = cJSON_GetObjectItem(j, "next_page_offset");
        ASSERT(next);
        if (cJSON_IsNull(next)) {
            cJSON_Delete(j);
            break;
        }
        if (cJSON_IsNumber(next))
            snprintf(off, sizeof off, "%.0f", next->valuedouble);
        else
            snprintf(off, sizeof off, "%s", next->valuestring);
        cJSON_Delete(j);
    }
    ASSERT_EQ(seen, 26);
    /* --all in jsonl: every point once, next offset on stderr. */
    cli_out *r = RUN("scroll", s, "c", "--all", "--limit", "4", "--format", "jsonl");
    OK(r);
    int lines = 0;
    for (const char *p = r->out; *p; p++) lines += *p == '\n';
    ASSERT_EQ(lines, 26);
    ASSERT_CONTAINS(r->err, "next_page_offset: null");
    r = RUN("scroll", s, "c", "--limit", "0");
    EXPECT_STATUS(r, 2);
    r = RUN("scroll", s, "c", "--filter", "{\"must\": [{\"key\": \"i\", \"range\": {\"lt\": 3}}]}",
            "--limit", "100", "--format", "csv");
    OK(r);
    lines = 0;
    for (const char *p = r->out; *p; p++) lines += *p == '\n';
    ASSERT_EQ(lines, 4); /* header + ids 0, 1, 2 */
    ASSERT_CONTAINS(r->out, "id,payload\n0,");
}

TEST(cli, info_list_flush_compact_drop) {
    const char *s = make_store(3, NULL);
    OK(RUN("create", s, "multi", "--vector", "text:4:cosine", "--vector", "image:2:l2"));
    write_text("p.jsonl", points_jsonl);
    OK(RUN("import", s, "c", vt_path("p.jsonl")));
    cli_out *r = RUN("list", s);
    OK(r);
    ASSERT_CONTAINS(r->out, "c\n");
    ASSERT_CONTAINS(r->out, "multi\n");
    r = RUN("list", s, "--format", "json");
    OK(r);
    cJSON *j = jparse(r->out);
    ASSERT_EQ(cJSON_GetArraySize(j), 2);
    cJSON_Delete(j);

    r = RUN("info", s);
    OK(r);
    ASSERT_CONTAINS(r->out, "collection");
    ASSERT_CONTAINS(r->out, "text:4:cosine,image:2:l2");
    r = RUN("info", s, "--format", "json");
    OK(r);
    j = jparse(r->out);
    cJSON *colls = cJSON_GetObjectItem(j, "collections");
    ASSERT_EQ(cJSON_GetArraySize(colls), 2);
    cJSON_Delete(j);

    OK(RUN("flush", s, "c"));
    ASSERT_CONTAINS(g_run.err, "flushed 'c'");
    OK(RUN("delete", s, "c", "2"));
    OK(RUN("compact", s, "c"));
    r = RUN("info", s, "c", "--format", "json");
    OK(r);
    j = jparse(r->out);
    ASSERT_STREQ(jstr(j, "name"), "c");
    ASSERT_EQ(jnum(j, "points"), 3);
    ASSERT_EQ(jnum(j, "deleted"), 0);
    ASSERT(cJSON_GetObjectItem(j, "wal_bytes"));
    ASSERT(cJSON_GetObjectItem(j, "disk_bytes"));
    ASSERT(cJSON_GetObjectItem(j, "memory_bytes"));
    ASSERT(cJSON_GetObjectItem(j, "segments"));
    cJSON *f0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "fields"), 0);
    ASSERT_EQ(jnum(f0, "dim"), 3);
    ASSERT_STREQ(jstr(f0, "metric"), "cosine");
    cJSON_Delete(j);
    r = RUN("info", s, "c");
    OK(r);
    ASSERT_CONTAINS(r->out, "points");
    ASSERT_CONTAINS(r->out, "wal_bytes");

    r = RUN("drop", s, "multi");
    OK(r);
    ASSERT_CONTAINS(r->err, "dropped collection 'multi'");
    r = RUN("list", s);
    OK(r);
    ASSERT_STREQ(r->out, "c\n");
    EXPECT_STATUS(RUN("drop", s, "multi"), 1);
}

/* An HNSW collection with int8 codes: flush builds the index, queries use it and the
 * quantization options are checked. */
TEST(cli, hnsw_quantized_collection) {
    LOCAL_PATH(s, "s");
    cli_out *r = RUN("create", s, "q", "--dim", "8", "--metric", "l2", "--quantization", "int8");
    EXPECT_STATUS(r, 2);
    ASSERT_CONTAINS(r->err, "needs --index hnsw");
    r = RUN("create", s, "q", "--dim", "8", "--index", "hnsw", "--quantization", "pq:3");
    EXPECT_STATUS(r, 2);
    ASSERT_CONTAINS(r->err, "multiple of M");
    r = RUN("create", s, "q", "--dim", "8", "--metric", "l2", "--index", "hnsw", "--quantization",
            "binary");
    EXPECT_STATUS(r, 2);
    OK(RUN("create", s, "q", "--dim", "8", "--metric", "l2", "--index", "hnsw",
           "--index-threshold", "10", "--quantization", "int8"));
    /* 400 points on a lattice, so the nearest neighbours of a point are known. */
    char path[4096];
    snprintf(path, sizeof path, "%s", vt_path("lat.jsonl"));
    FILE *f = fopen(path, "w");
    ASSERT(f);
    for (int i = 0; i < 400; i++) {
        fprintf(f, "{\"id\": %d, \"vector\": [%d, %d", i, i % 20, i / 20);
        for (int j = 2; j < 8; j++) fprintf(f, ", %d", (i * j) % 3);
        fprintf(f, "]}\n");
    }
    fclose(f);
    OK(RUN("import", s, "q", path));
    r = RUN("flush", s, "q");
    OK(r);
    ASSERT_CONTAINS(r->err, "1 segments indexed");
    r = RUN("info", s, "q", "--format", "json");
    OK(r);
    cJSON *j = jparse(r->out);
    ASSERT_EQ(jnum(j, "indexed_segments"), 1);
    ASSERT(jnum(j, "index_bytes") >= 400 * 8);
    cJSON *f0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "fields"), 0);
    ASSERT_STREQ(jstr(f0, "quantization"), "int8");
    cJSON_Delete(j);
    /* Point 0 is at [0,0,0,...]: itself at distance 0 first, with the exact score. */
    r = RUN("query", s, "q", "--vector", "[0,0,0,0,0,0,0,0]", "-k", "3", "--ef", "100");
    OK(r);
    j = jparse(r->out);
    ASSERT_EQ(cJSON_GetArraySize(j), 3);
    ASSERT_EQ(jnum(cJSON_GetArrayItem(j, 0), "id"), 0);
    ASSERT_NEAR(jnum(cJSON_GetArrayItem(j, 0), "score"), 0, 1e-6);
    cJSON_Delete(j);
    OK(RUN("query", s, "q", "--vector", "[0,0,0,0,0,0,0,0]", "--no-rescore"));
    OK(RUN("query", s, "q", "--vector", "[0,0,0,0,0,0,0,0]", "--ignore-quantization",
           "--oversampling", "4"));
    static const char *const bad_os[] = {"0.5", "101", "nan", "x", ""};
    for (size_t i = 0; i < sizeof bad_os / sizeof *bad_os; i++) {
        r = RUN("query", s, "q", "--vector", "[0,0,0,0,0,0,0,0]", "--oversampling", bad_os[i]);
        EXPECT_STATUS(r, 2);
        ASSERT_CONTAINS(r->err, "--oversampling");
    }
    OK(RUN("check", s));
}

TEST(cli, multi_field_collection) {
    LOCAL_PATH(s, "s");
    OK(RUN("create", s, "m", "--vector", "text:3", "--vector", "image:2:l2"));
    write_text("p.jsonl",
               "{\"id\": 1, \"vector\": {\"text\": [1, 0, 0], \"image\": [0, 0]}}\n"
               "{\"id\": 2, \"vector\": {\"text\": [0, 1, 0], \"image\": [3, 4]}}\n");
    OK(RUN("import", s, "m", vt_path("p.jsonl")));
    cli_out *r = RUN("query", s, "m", "--vector", "[0, 1, 0]", "-k", "1");
    EXPECT_STATUS(r, 1);
    ASSERT_CONTAINS(r->err, "--field");
    r = RUN("query", s, "m", "--field", "image", "--vector", "[3, 4]", "-k", "1",
            "--with-vector");
    OK(r);
    cJSON *j = jparse(r->out);
    cJSON *h = cJSON_GetArrayItem(j, 0);
    ASSERT_EQ(jnum(h, "id"), 2);
    cJSON *v = cJSON_GetObjectItem(h, "vector");
    ASSERT(cJSON_IsObject(v));
    ASSERT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(v, "image")), 2);
    cJSON_Delete(j);
    /* A missing field, an unknown field, and a flat array are bad records. */
    write_text("bad.jsonl", "{\"id\": 3, \"vector\": {\"text\": [1, 0, 0]}}\n"
                            "{\"id\": 4, \"vector\": {\"text\": [1, 0, 0], \"image\": [0, 0], "
                            "\"audio\": [1]}}\n"
                            "{\"id\": 5, \"vector\": [1, 0, 0]}\n");
    r = RUN("import", s, "m", vt_path("bad.jsonl"));
    EXPECT_STATUS(r, 1);
    ASSERT_CONTAINS(r->err, "bad.jsonl:1: missing vector field 'image'");
    ASSERT_CONTAINS(r->err, "bad.jsonl:2: unknown vector field 'audio'");
    ASSERT_CONTAINS(r->err, "bad.jsonl:3: the collection has 2 vector fields");
    /* CSV: one JSON column per field, or F.0..F.n numbered columns. */
    write_text("p.csv", "id,text,image.0,image.1\n7,\"[0,0,1]\",1,1\n");
    OK(RUN("import", s, "m", vt_path("p.csv")));
    ASSERT_EQ(count_points(s, "m"), 3);
    /* .npy holds one field only. */
    double d[3] = {1, 0, 0};
    write_npy("p.npy", 1, 0, 1, 3, d);
    r = RUN("import", s, "m", vt_path("p.npy"));
    EXPECT_STATUS(r, 1);
    ASSERT_CONTAINS(r->err, "2 vector fields");
}

TEST(cli, snapshot_and_restore) {
    const char *s = make_store(3, NULL);
    write_text("p.jsonl", points_jsonl);
    OK(RUN("import", s, "c", vt_path("p.jsonl")));
    LOCAL_PATH(snap, "c.snap");
    cli_out *r = RUN("snapshot", s, "c", snap);
    OK(r);
    ASSERT_CONTAINS(r->err, "wrote snapshot of 'c'");
    struct stat st;
    ASSERT(stat(snap, &st) == 0 && st.st_size > 0);

    /* Into a new store under its saved name, and under another name. */
    LOCAL_PATH(s2, "s2");
    r = RUN("restore", s2, snap);
    OK(r);
    ASSERT_CONTAINS(r->err, "restored collection 'c'");
    ASSERT_EQ(count_points(s2, "c"), 4);
    r = RUN("restore", s, snap, "--name", "copy");
    OK(r);
    ASSERT_CONTAINS(r->err, "restored collection 'copy'");
    r = RUN("query", s, "copy", "--vector", "[0, 0, 1]", "-k", "1");
    OK(r);
    ASSERT_CONTAINS(r->out, "\"id\":\"doc-3\"");
    /* The name exists already; the archive is missing; the archive is garbage. */
    r = RUN("restore", s, snap);
    EXPECT_STATUS(r, 1);
    ASSERT_CONTAINS(r->err, "vecstore: restore: ");
    r = RUN("restore", s, vt_path("missing.snap"), "--name", "x");
    EXPECT_STATUS(r, 1);
    write_text("junk.snap", "this is not an archive");
    r = RUN("restore", s, vt_path("junk.snap"), "--name", "junk");
    EXPECT_STATUS(r, 1);
    r = RUN("list", s);
    OK(r);
    ASSERT(!strstr(r->out, "junk"));
}

/* Finds the one file with the given suffix under dir (depth-first); "" if none. */
static void find_file(const char *dir, const char *suffix, char *out, size_t len) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && !out[0]) {
        if (de->d_name[0] == '.') continue;
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        struct stat st;
        if (stat(p, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            find_file(p, suffix, out, len);
        } else {
            size_t n = strlen(de->d_name), m = strlen(suffix);
            if (n >= m && !strcmp(de->d_name + n - m, suffix)) snprintf(out, len, "%s", p);
        }
    }
    closedir(d);
}

TEST(cli, check_notes_torn_tail_and_fails_on_damage) {
    const char *s = make_store(3, NULL);
    write_text("p.jsonl", points_jsonl);
    OK(RUN("import", s, "c", vt_path("p.jsonl"), "--batch", "2"));
    cli_out *r = RUN("check", s);
    OK(r);
    ASSERT_CONTAINS(r->out, "0 errors, 0 notes");
    r = RUN("check", s, "--format", "json");
    OK(r);
    cJSON *j = jparse(r->out);
    ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(j, "ok")));
    cJSON_Delete(j);

    /* Cut the last WAL record short: a torn tail is a NOTE, not an error. */
    char wal[1024] = "";
    find_file(s, ".wal", wal, sizeof wal);
    ASSERT_MSG(wal[0], "no .wal file under %s", s);
    struct stat st;
    ASSERT(stat(wal, &st) == 0 && st.st_size > 8);
    ASSERT(truncate(wal, st.st_size - 5) == 0);
    r = RUN("check", s);
    OK(r);
    ASSERT_CONTAINS(r->out, "NOTE");
    ASSERT_CONTAINS(r->out, ".wal");
    ASSERT_CONTAINS(r->out, "0 errors, 1 note");

    /* A destroyed manifest is an ERROR: exit 1. */
    char man[1024] = "";
    find_file(s, "MANIFEST", man, sizeof man);
    ASSERT_MSG(man[0], "no MANIFEST under %s", s);
    FILE *f = fopen(man, "wb");
    ASSERT(f);
    fputs("garbage", f);
    fclose(f);
    r = RUN("check", s);
    EXPECT_STATUS(r, 1);
    ASSERT_CONTAINS(r->out, "ERROR");
    ASSERT_CONTAINS(r->err, "vecstore: check: ");
    r = RUN("check", vt_path("nostore"));
    EXPECT_STATUS(r, 1);
}

TEST(cli, global_format_and_fsync_options) {
    LOCAL_PATH(s, "s");
    OK(RUN("--fsync", "off", "create", s, "c", "--dim", "2"));
    write_text("p.jsonl", "{\"id\": 1, \"vector\": [1, 0]}\n");
    OK(RUN("import", s, "c", vt_path("p.jsonl"), "--fsync", "batch"));
    cli_out *r = RUN("--format", "json", "count", s, "c");
    OK(r);
    ASSERT_STREQ(r->out, "{\"count\":1}\n");
    /* A global format is a default: commands that print nothing ignore it. */
    OK(RUN("--format", "csv", "flush", s, "c"));
    EXPECT_STATUS(RUN("flush", s, "c", "--format", "csv"), 2);
    EXPECT_STATUS(RUN("--format", "yaml", "count", s, "c"), 2);
    EXPECT_STATUS(RUN("info", s, "--format", "csv"), 2);
}

TEST(cli, reads_work_while_another_process_writes) {
    const char *s = make_store(2, NULL);
    write_text("p.jsonl", "{\"id\": 1, \"vector\": [1, 0]}\n");
    OK(RUN("import", s, "c", vt_path("p.jsonl")));
    /* This process takes the write lock; the tool is another process. */
    vs_store_options o;
    vs_store_options_init(&o);
    vs_store *w = NULL;
    char msg[256];
    ASSERT_MSG(vs_store_open(s, &o, &w, msg, sizeof msg) == VS_OK, "open: %s", msg);
    cli_out *r = RUN("count", s, "c");
    int count_status = r->status;
    char count_out[64];
    snprintf(count_out, sizeof count_out, "%s", r->out);
    int query_status = RUN("query", s, "c", "--vector", "[1, 0]")->status;
    int info_status = RUN("info", s, "c")->status;
    r = RUN("delete", s, "c", "1");
    int delete_status = r->status;
    char delete_err[512];
    snprintf(delete_err, sizeof delete_err, "%s", r->err);
    vs_store_close(w); /* before any assertion, so a failure does not leak the store */
    ASSERT_EQ(count_status, 0);
    ASSERT_STREQ(count_out, "1\n");
    ASSERT_EQ(query_status, 0);
    ASSERT_EQ(info_status, 0);
    ASSERT_EQ(delete_status, 1);
    ASSERT_CONTAINS(delete_err, "vecstore: delete: ");
    ASSERT_EQ(count_points(s, "c"), 1);
}

/* ------------------------------------------------------------ geo ------- */

/* Places around Berlin's centre (the origin of the tests) and farther away; point 7 has
 * no location, point 8 two (Munich and one 340 m from the origin: it is as far as the
 * nearer). */
#define GEO_LAT 52.52
#define GEO_LON 13.405
static const struct {
    int id;
    double lat, lon;
} geo_places[] = {{1, 52.5219, 13.4132}, {2, 52.5096, 13.3759}, {3, 52.5588, 13.2884},
                  {4, 52.3906, 13.0645}, {5, 53.5511, 9.9937},  {6, 48.8566, 2.3522}};
#define GEO_NPLACES (sizeof geo_places / sizeof geo_places[0])

static const char *geo_points_jsonl =
    "{\"id\": 1, \"vector\": [1, 0], \"payload\": {\"location\": {\"lat\": 52.5219, \"lon\": 13.4132}, \"open\": true}}\n"
    "{\"id\": 2, \"vector\": [0, 1], \"payload\": {\"location\": {\"lat\": 52.5096, \"lon\": 13.3759}, \"open\": false}}\n"
    "{\"id\": 3, \"vector\": [1, 1], \"payload\": {\"location\": {\"lat\": 52.5588, \"lon\": 13.2884}, \"open\": true}}\n"
    "{\"id\": 4, \"vector\": [1, 2], \"payload\": {\"location\": {\"lat\": 52.3906, \"lon\": 13.0645}, \"open\": true}}\n"
    "{\"id\": 5, \"vector\": [2, 1], \"payload\": {\"location\": {\"lat\": 53.5511, \"lon\": 9.9937}, \"open\": false}}\n"
    "{\"id\": 6, \"vector\": [1, -1], \"payload\": {\"location\": {\"lat\": 48.8566, \"lon\": 2.3522}, \"open\": true}}\n"
    "{\"id\": 7, \"vector\": [-1, 1], \"payload\": {\"open\": true}}\n"
    "{\"id\": 8, \"vector\": [-1, -1], \"payload\": {\"location\": [{\"lat\": 48.1351, \"lon\": 11.582},"
    " {\"lat\": 52.52, \"lon\": 13.41}], \"open\": false}}\n";

static double geo_dist(double lat1, double lon1, double lat2, double lon2) {
    double m = -1;
    ASSERT_OK(vs_geo_distance(lat1, lon1, lat2, lon2, &m));
    return m;
}

/* The expected nearest-first order of geo_points_jsonl from the test origin: ids and
 * distances (7 has no location and is left out). */
static size_t geo_expected(int *ids, double *dist) {
    size_t n = 0;
    for (size_t i = 0; i < GEO_NPLACES; i++) {
        ids[n] = geo_places[i].id;
        dist[n++] = geo_dist(GEO_LAT, GEO_LON, geo_places[i].lat, geo_places[i].lon);
    }
    double m8 = geo_dist(GEO_LAT, GEO_LON, 48.1351, 11.582), m8b = geo_dist(GEO_LAT, GEO_LON, 52.52, 13.41);
    ids[n] = 8;
    dist[n++] = m8 < m8b ? m8 : m8b;
    for (size_t i = 1; i < n; i++) /* insertion sort by distance */
        for (size_t j = i; j > 0 && dist[j] < dist[j - 1]; j--) {
            double t = dist[j];
            dist[j] = dist[j - 1], dist[j - 1] = t;
            int u = ids[j];
            ids[j] = ids[j - 1], ids[j - 1] = u;
        }
    return n;
}

/* Checks that stdout is a json array of n hits with these ids and scores (distances). */
static void expect_hits(const char *out, const int *ids, const double *scores, size_t n) {
    cJSON *j = jparse(out);
    ASSERT_MSG(cJSON_IsArray(j) && (size_t)cJSON_GetArraySize(j) == n, "want %zu hits: %.600s", n, out);
    for (size_t i = 0; i < n; i++) {
        cJSON *h = cJSON_GetArrayItem(j, (int)i);
        ASSERT_MSG((int)jnum(h, "id") == ids[i], "hit %zu: id %d, want %d (%.600s)", i,
                   (int)jnum(h, "id"), ids[i], out);
        ASSERT_NEAR(jnum(h, "score"), scores[i], 1e-6);
    }
    cJSON_Delete(j);
}

TEST(cli, nearest_orders_by_geodesic_distance) {
    const char *s = make_store(2, NULL);
    write_text("g.jsonl", geo_points_jsonl);
    OK(RUN("import", s, "c", vt_path("g.jsonl")));
    int ids[16];
    double dist[16];
    size_t n = geo_expected(ids, dist);
    ASSERT_EQ(n, 7);
    cli_out *r = RUN("nearest", s, "c", "--key", "location", "--origin", "52.52,13.405");
    OK(r);
    expect_hits(r->out, ids, dist, n);
    ASSERT_CONTAINS(r->out, "\"payload\":{\"location\":");
    /* the same answer with a geo index, after a flush (a sealed segment) too */
    OK(RUN("payload-index", s, "c", "create", "location", "geo"));
    r = RUN("payload-index", s, "c", "list");
    OK(r);
    ASSERT_CONTAINS(r->out, "location\tgeo\t");
    r = RUN("nearest", s, "c", "--key", "location", "--origin", "52.52,13.405", "-k", "3");
    OK(r);
    expect_hits(r->out, ids, dist, 3);
    OK(RUN("flush", s, "c"));
    r = RUN("nearest", s, "c", "--key", "location", "--origin", "52.52,13.405", "-k", "10",
            "--no-payload");
    OK(r);
    expect_hits(r->out, ids, dist, n);
    ASSERT(!strstr(r->out, "payload"));
    /* --max-distance: only the points within 10 km */
    size_t within = 0;
    while (within < n && dist[within] <= 10000) within++;
    ASSERT_EQ(within, 4);
    r = RUN("nearest", s, "c", "--key", "location", "--origin", "52.52,13.405", "--max-distance", "10000");
    OK(r);
    expect_hits(r->out, ids, dist, within);
    /* filters: --where with a WITHIN condition, --filter with geo_radius, both with others */
    r = RUN("nearest", s, "c", "--key", "location", "--origin", "52.52,13.405", "--where",
            "location WITHIN 5 KM OF (52.52, 13.405)");
    OK(r);
    size_t in5 = 0;
    while (in5 < n && dist[in5] <= 5000) in5++;
    ASSERT_EQ(in5, 3);
    expect_hits(r->out, ids, dist, in5);
    r = RUN("nearest", s, "c", "--key", "location", "--origin", "52.52,13.405", "--filter",
            "{\"must\": [{\"key\": \"location\", \"geo_radius\": {\"center\": {\"lat\": 52.52, \"lon\": 13.405},"
            " \"radius\": 5000}}, {\"key\": \"open\", \"match\": {\"value\": true}}]}");
    OK(r);
    cJSON *j = jparse(r->out);
    ASSERT_EQ(cJSON_GetArraySize(j), 1); /* 1 is open; 2 and 8 are not */
    ASSERT_EQ(jnum(cJSON_GetArrayItem(j, 0), "id"), 1);
    cJSON_Delete(j);
    r = RUN("count", s, "c", "--where", "location WITHIN BOX ((53, 13), (52, 14))");
    OK(r);
    ASSERT_STREQ(r->out, "5\n"); /* 1, 2, 3, 4 and 8's second location */
    /* a far origin with a negative latitude; table and csv output */
    r = RUN("nearest", s, "c", "--key", "location", "--origin", "-33.87,151.21", "-k", "1",
            "--format", "csv");
    OK(r);
    ASSERT_CONTAINS(r->out, "id,score,payload\n");
    r = RUN("nearest", s, "c", "--key", "location", "--origin", "52.52,13.405", "-k", "2",
            "--format", "table", "--no-payload");
    OK(r);
    ASSERT_CONTAINS(r->out, "id");
    ASSERT_CONTAINS(r->out, "score");
    /* geo-distance: the library's distance, %.3f; negative coordinates as positionals */
    r = RUN("geo-distance", "52.52,13.405", "48.8566,2.3522");
    OK(r);
    char want[64];
    snprintf(want, sizeof want, "%.3f\n", geo_dist(52.52, 13.405, 48.8566, 2.3522));
    ASSERT_STREQ(r->out, want);
    ASSERT_NEAR(atof(r->out), 878000, 0.01); /* Berlin-Paris is about 878 km */
    r = RUN("geo-distance", "-33.87,151.21", "51.5,-0.12", "--format", "json");
    OK(r);
    j = jparse(r->out);
    ASSERT_NEAR(jnum(j, "metres"), geo_dist(-33.87, 151.21, 51.5, -0.12), 1e-9);
    cJSON_Delete(j);
    r = RUN("geo-distance", "0,0", "0,0");
    OK(r);
    ASSERT_STREQ(r->out, "0.000\n");
}

TEST(cli, nearest_and_geo_distance_usage_errors) {
    const char *s = make_store(2, NULL);
    write_text("g.jsonl", geo_points_jsonl);
    OK(RUN("import", s, "c", vt_path("g.jsonl")));
    static const struct {
        const char *origin, *msg;
    } bad_origin[] = {
        {"91,0", "latitude 91 is outside -90..90"}, {"0,181", "longitude 181 is outside"},
        {"-90.5,0", "latitude -90.5"},              {"abc", "expected LAT,LON"},
        {"52.5", "expected LAT,LON"},               {"1,2,3", "expected LAT,LON"},
        {"x,1", "expected LAT,LON"},                {"1,", "expected LAT,LON"},
        {"nan,0", "expected LAT,LON"},              {"inf,0", "expected LAT,LON"},
    };
    for (size_t i = 0; i < sizeof bad_origin / sizeof bad_origin[0]; i++) {
        cli_out *r = RUN("nearest", s, "c", "--key", "location", "--origin", bad_origin[i].origin);
        EXPECT_STATUS(r, 2);
        ASSERT_CONTAINS(r->err, "vecstore: nearest: --origin: ");
        ASSERT_CONTAINS(r->err, bad_origin[i].msg);
        ASSERT_STREQ(r->out, "");
    }
    cli_out *r = RUN("nearest", s, "c", "--key", "location");
    EXPECT_STATUS(r, 2);
    ASSERT_CONTAINS(r->err, "--origin LAT,LON is required");
    r = RUN("nearest", s, "c", "--origin", "52,13");
    EXPECT_STATUS(r, 2);
    ASSERT_CONTAINS(r->err, "--key PATH is required");
    r = RUN("nearest", s, "--key", "location", "--origin", "52,13");
    EXPECT_STATUS(r, 2);
    ASSERT_CONTAINS(r->err, "missing arguments");
    r = RUN("nearest", s, "c", "--key", "location", "--origin", "52,13", "--max-distance", "-1");
    EXPECT_STATUS(r, 2);
    ASSERT_CONTAINS(r->err, "--max-distance must be >= 0");
    r = RUN("nearest", s, "c", "--key", "location", "--origin", "52,13", "--max-distance", "far");
    EXPECT_STATUS(r, 2);
    ASSERT_CONTAINS(r->err, "--max-distance: expected a number");
    EXPECT_STATUS(RUN("nearest", s, "c", "--key", "location", "--origin", "52,13", "-k", "0"), 2);
    EXPECT_STATUS(RUN("nearest", s, "c", "--key", "location", "--origin", "52,13", "--filter", "{"), 2);
    EXPECT_STATUS(RUN("nearest", s, "c", "--key", "location", "--origin", "52,13", "--format", "xml"), 2);
    /* what the library refuses: exit 1 with its message */
    r = RUN("nearest", s, "c", "--key", "a[x", "--origin", "52,13");
    EXPECT_STATUS(r, 1);
    ASSERT_CONTAINS(r->err, "vecstore: nearest: ");
    ASSERT_CONTAINS(r->err, "key");
    r = RUN("nearest", s, "c", "--key", "location", "--origin", "52,13", "--where", "location WITHIN");
    EXPECT_STATUS(r, 1);
    ASSERT_CONTAINS(r->err, "at byte");
    r = RUN("nearest", s, "nope", "--key", "location", "--origin", "52,13");
    EXPECT_STATUS(r, 1);
    /* a key with no locations is not an error: no hits */
    r = RUN("nearest", s, "c", "--key", "open", "--origin", "52,13");
    OK(r);
    ASSERT_STREQ(r->out, "[]\n");
    /* geo-distance */
    r = RUN("geo-distance", "52,13");
    EXPECT_STATUS(r, 2);
    ASSERT_CONTAINS(r->err, "missing arguments");
    r = RUN("geo-distance", "91,0", "0,0");
    EXPECT_STATUS(r, 2);
    ASSERT_CONTAINS(r->err, "vecstore: geo-distance: first point: latitude 91");
    r = RUN("geo-distance", "0,0", "abc");
    EXPECT_STATUS(r, 2);
    ASSERT_CONTAINS(r->err, "second point: expected LAT,LON");
    EXPECT_STATUS(RUN("geo-distance", "0,0", "1,1", "2,2"), 2);
}

TEST(cli, query_decay_reorders_hits) {
    /* Query [1, 0]: point 1 ([1, 0], score 1) is in Paris, 878 km away; point 2 ([0.8,
     * 0.6], score 0.8) is at the origin; point 3 ([0, 1], score 0) is at the origin too;
     * point 4 ([1, 0.1]) has no location. */
    const char *s = make_store(2, NULL);
    write_text("d.jsonl",
               "{\"id\": 1, \"vector\": [1, 0], \"payload\": {\"loc\": {\"lat\": 48.8566, \"lon\": 2.3522}}}\n"
               "{\"id\": 2, \"vector\": [0.8, 0.6], \"payload\": {\"loc\": {\"lat\": 52.52, \"lon\": 13.405}}}\n"
               "{\"id\": 3, \"vector\": [0, 1], \"payload\": {\"loc\": {\"lat\": 52.52, \"lon\": 13.405}}}\n"
               "{\"id\": 4, \"vector\": [1, 0.1]}\n");
    OK(RUN("import", s, "c", vt_path("d.jsonl")));
    const double s4 = 1 / sqrt(1.01), dparis = geo_dist(52.52, 13.405, 48.8566, 2.3522);
    cli_out *r = RUN("query", s, "c", "--vector", "[1, 0]", "-k", "4");
    OK(r);
    {
        int ids[] = {1, 4, 2, 3};
        double sc[] = {1, s4, 0.8, 0};
        expect_hits(r->out, ids, sc, 4);
    }
    /* gauss over 1000 km: t(Paris) = 0.5^((d/1e6)^2); 4 has no location (t = 0) */
    r = RUN("query", s, "c", "--vector", "[1, 0]", "-k", "4", "--decay", "gauss", "--geo-key", "loc",
            "--origin", "52.52,13.405", "--scale", "1000000");
    OK(r);
    double tg = pow(0.5, (dparis / 1e6) * (dparis / 1e6));
    ASSERT(tg < 0.8 && tg > 0.5);
    {
        int ids[] = {2, 1, 3, 4};
        double sc[] = {0.8, tg, 0, 0};
        expect_hits(r->out, ids, sc, 4);
    }
    /* exp with an offset of 100 km and decay 0.2; linear */
    r = RUN("query", s, "c", "--vector", "[1, 0]", "-k", "2", "--decay", "exp", "--geo-key", "loc",
            "--origin", "52.52,13.405", "--scale", "500000", "--decay-offset", "100000",
            "--decay-value", "0.2");
    OK(r);
    {
        int ids[] = {2, 1};
        double sc[] = {0.8, pow(0.2, (dparis - 100000) / 500000)};
        expect_hits(r->out, ids, sc, 2);
    }
    r = RUN("query", s, "c", "--vector", "[1, 0]", "-k", "2", "--decay", "linear", "--geo-key", "loc",
            "--origin", "52.52,13.405", "--scale", "2000000");
    OK(r);
    double tl = 1 - dparis * 0.5 / 2000000;
    {
        int ids[] = {2, 1};
        double sc[] = {0.8, tl};
        expect_hits(r->out, ids, sc, 2);
    }
    /* sum: s + W*t; with a small weight the vector score wins again */
    r = RUN("query", s, "c", "--vector", "[1, 0]", "-k", "3", "--decay", "gauss", "--geo-key", "loc",
            "--origin", "52.52,13.405", "--scale", "1000000", "--combine", "sum");
    OK(r);
    {
        int ids[] = {2, 1, 3};
        double sc[] = {1.8, 1 + tg, 1};
        expect_hits(r->out, ids, sc, 3);
    }
    r = RUN("query", s, "c", "--vector", "[1, 0]", "-k", "2", "--decay", "gauss", "--geo-key", "loc",
            "--origin", "52.52,13.405", "--scale", "1000000", "--combine", "sum", "--weight", "0.1");
    OK(r);
    {
        int ids[] = {1, 4};
        double sc[] = {1 + 0.1 * tg, s4};
        expect_hits(r->out, ids, sc, 2);
    }
    /* --candidates sets the window of vector hits rescored; at least k are */
    r = RUN("query", s, "c", "--vector", "[1, 0]", "-k", "4", "--decay", "gauss", "--geo-key", "loc",
            "--origin", "52.52,13.405", "--scale", "1000000", "--candidates", "1");
    OK(r);
    {
        int ids[] = {2, 1, 3, 4};
        double sc[] = {0.8, tg, 0, 0};
        expect_hits(r->out, ids, sc, 4);
    }
    /* the filter applies to the candidates; a --queries file gets the decay for each */
    r = RUN("query", s, "c", "--vector", "[1, 0]", "-k", "4", "--decay", "gauss", "--geo-key", "loc",
            "--origin", "52.52,13.405", "--scale", "1000000", "--where",
            "loc WITHIN 1000 KM OF (52.52, 13.405)");
    OK(r);
    {
        int ids[] = {2, 1, 3};
        double sc[] = {0.8, tg, 0};
        expect_hits(r->out, ids, sc, 3);
    }
    write_text("q.jsonl", "[1, 0]\n[0, 1]\n");
    r = RUN("query", s, "c", "--queries", vt_path("q.jsonl"), "-k", "1", "--decay", "gauss",
            "--geo-key", "loc", "--origin", "52.52,13.405", "--scale", "1000000", "--no-payload");
    OK(r);
    char *nl = strchr(r->out, '\n');
    ASSERT(nl && nl[1] && !strchr(nl + 1, '\n')[1]);
    *nl = 0;
    {
        int ids[] = {2};
        double sc[] = {0.8};
        expect_hits(r->out, ids, sc, 1);
        ids[0] = 3, sc[0] = 1; /* [0, 1] is nearest point 3, at the origin */
        expect_hits(nl + 1, ids, sc, 1);
    }
}

TEST(cli, query_decay_usage_errors) {
    const char *s = make_store(2, NULL);
    write_text("p.jsonl", "{\"id\": 1, \"vector\": [1, 0], \"payload\": {\"loc\": {\"lat\": 1, \"lon\": 2}}}\n");
    OK(RUN("import", s, "c", vt_path("p.jsonl")));
#define DQ(...)                                                                              \
    RUN("query", s, "c", "--vector", "[1, 0]", __VA_ARGS__)
#define DQ_OK_ARGS "--decay", "gauss", "--geo-key", "loc", "--origin", "1,2", "--scale", "1000"
    OK(DQ(DQ_OK_ARGS));
    static const struct {
        const char *opt, *val, *msg;
    } bad[] = {
        {"--scale", "0", "--scale must be > 0 metres, got 0"},
        {"--scale", "-5", "--scale must be > 0"},
        {"--scale", "abc", "--scale: expected a number, got 'abc'"},
        {"--scale", "inf", "--scale: expected a number"},
        {"--origin", "91,0", "--origin: latitude 91 is outside -90..90"},
        {"--origin", "abc", "--origin: expected LAT,LON in degrees, got 'abc'"},
        {"--origin", "0,-181", "--origin: longitude -181"},
        {"--decay", "cubic", "--decay: expected gauss, exp or linear, got 'cubic'"},
        {"--decay-value", "1", "--decay-value must be between 0 and 1"},
        {"--decay-value", "0", "--decay-value must be between 0 and 1"},
        {"--decay-value", "half", "--decay-value: expected a number"},
        {"--decay-offset", "-1", "--decay-offset must be >= 0"},
        {"--combine", "max", "--combine: expected multiply or sum, got 'max'"},
        {"--weight", "2", "--weight applies to --combine sum only"},
        {"--candidates", "0", "--candidates must be between 1 and 100000"},
        {"--candidates", "100001", "--candidates must be between 1 and 100000"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cli_out *r = DQ(DQ_OK_ARGS, bad[i].opt, bad[i].val);
        EXPECT_STATUS(r, 2);
        ASSERT_CONTAINS(r->err, "vecstore: query: ");
        ASSERT_CONTAINS(r->err, bad[i].msg);
        ASSERT_STREQ(r->out, "");
    }
    cli_out *r = DQ("--decay", "gauss", "--origin", "1,2", "--scale", "1000");
    EXPECT_STATUS(r, 2);
    ASSERT_CONTAINS(r->err, "--decay needs --geo-key PATH");
    r = DQ("--decay", "gauss", "--geo-key", "loc", "--scale", "1000");
    EXPECT_STATUS(r, 2);
    ASSERT_CONTAINS(r->err, "--decay needs --origin LAT,LON");
    r = DQ("--decay", "exp", "--geo-key", "loc", "--origin", "1,2");
    EXPECT_STATUS(r, 2);
    ASSERT_CONTAINS(r->err, "--decay needs --scale METRES");
    static const char *const deps[] = {"--geo-key", "--origin", "--scale", "--decay-offset",
                                       "--decay-value", "--combine", "--weight", "--candidates"};
    for (size_t i = 0; i < sizeof deps / sizeof deps[0]; i++) {
        r = DQ(deps[i], "1");
        EXPECT_STATUS(r, 2);
        char want[64];
        snprintf(want, sizeof want, "%s needs --decay gauss|exp|linear", deps[i]);
        ASSERT_CONTAINS(r->err, want);
    }
    /* the sum weight is accepted with sum; a negative one is the library's refusal */
    OK(DQ(DQ_OK_ARGS, "--combine", "sum", "--weight", "0.5"));
    r = DQ(DQ_OK_ARGS, "--combine", "sum", "--weight", "-0.5");
    EXPECT_STATUS(r, 1);
    ASSERT_CONTAINS(r->err, "weight must be a finite number >= 0");
    /* what the library refuses (a bad path) exits 1 with its message */
    r = DQ("--decay", "gauss", "--geo-key", "a[x", "--origin", "1,2", "--scale", "1000");
    EXPECT_STATUS(r, 1);
    ASSERT_CONTAINS(r->err, "vecstore: query: decay: key");
    ASSERT_STREQ(r->out, "");
#undef DQ
#undef DQ_OK_ARGS
}
