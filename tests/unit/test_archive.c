/*
 * test_archive.c — the snapshot archive (suite `snapshot`).
 *
 * Four kinds of test. Round trips prove that what goes in comes out, for empty, small
 * and multi-megabyte entries (several copy-buffer lengths, not a multiple of one).
 * Conformance: `craft()` below writes the byte layout of docs/format/archive.md by hand,
 * independently of the module, and the writer's output must be byte-identical to it;
 * crafting is also how hostile archives (bad names with valid checksums, impossible
 * lengths) reach the reader. Corruption: every truncation and every single-bit flip of
 * a small archive must be refused as VS_ECORRUPT or VS_EFORMAT — never accepted, never
 * a crash, and never a half-extracted directory. Faults: each I/O operation and each
 * allocation is failed in turn until the operation runs clean; every failure must give a
 * clean code, leave no temp file, no archive, no extraction directory and no leak.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "os/file.h"
#include "storage/archive.h"
#include "test.h"
#include "util/alloc.h"
#include "util/checksum.h"

/* ------------------------------------------------------------- helpers ---- */

static void write_bytes(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    ASSERT_MSG(f, "fopen %s: %s", path, strerror(errno));
    ASSERT(len == 0 || fwrite(data, 1, len, f) == len);
    ASSERT(fclose(f) == 0);
}

/* Reads a whole file with stdio (malloc'd), so the helpers stay out of the fault layer. */
static uint8_t *read_bytes(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    ASSERT_MSG(f, "fopen %s: %s", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *d = malloc((size_t)n + 1);
    ASSERT(n == 0 || fread(d, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return d;
}

static void fill_random(uint8_t *p, size_t n, uint64_t seed) {
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = (uint8_t)(x >> 24);
    }
}

static void file_equals(const char *path, const void *want, size_t want_len) {
    size_t n;
    uint8_t *d = read_bytes(path, &n);
    int same = n == want_len && (n == 0 || !memcmp(d, want, n));
    free(d);
    ASSERT_MSG(same, "%s: %zu bytes, want %zu, or different content", path, n, want_len);
}

/* vt_path rotates 8 buffers, so a path held across other calls gets its own. */
#define PATH_BUF 4200
static void tpath(char *buf, const char *name) {
    snprintf(buf, PATH_BUF, "%s/%s", vt_tmpdir(), name);
}

static int is_bad(int rc) { return rc == VS_ECORRUPT || rc == VS_EFORMAT; }

/* ---- craft: the documented byte layout, written by hand (no module code) ---- */

typedef struct centry {
    const char *name;
    uint32_t name_len; /* 0 = strlen(name) */
    uint32_t mode;     /* 0 = 0644 */
    const void *data;
    size_t len;
} centry;

static size_t put_le(uint8_t *p, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; i++) p[i] = (uint8_t)(v >> (8 * i));
    return (size_t)bytes;
}

/* Writes an archive to buf (cap bytes), returns its length. */
static size_t craft(uint8_t *buf, size_t cap, uint32_t version, const centry *ents, size_t n) {
    size_t o = 0;
    memcpy(buf, "VSARCHV1", 8);
    o = 8;
    o += put_le(buf + o, version, 4);
    o += put_le(buf + o, 0, 4);
    o += put_le(buf + o, n, 8);
    o += put_le(buf + o, vs__checksum(buf, 24), 8);
    for (size_t i = 0; i < n; i++) {
        const centry *c = &ents[i];
        uint32_t nl = c->name_len ? c->name_len : (uint32_t)strlen(c->name);
        ASSERT(o + 32 + nl + c->len + 24 <= cap);
        uint8_t *h = buf + o;
        put_le(h, nl, 4);
        put_le(h + 4, c->mode ? c->mode : 0644, 4);
        put_le(h + 8, c->len, 8);
        put_le(h + 16, vs__checksum(c->data, c->len), 8);
        uint8_t tmp[24 + 4096];
        memcpy(tmp, h, 24);
        memcpy(tmp + 24, c->name, nl);
        put_le(h + 24, vs__checksum(tmp, 24 + nl), 8);
        memcpy(h + 32, c->name, nl);
        if (c->len) memcpy(h + 32 + nl, c->data, c->len);
        o += 32 + nl + c->len;
    }
    uint64_t whole = vs__checksum(buf, o);
    memcpy(buf + o, "VSARCEND", 8);
    put_le(buf + o + 8, n, 8);
    put_le(buf + o + 16, whole, 8);
    return o + 24;
}

/* The small archive the corruption and fault tests work on. */
static const char *const k_names[] = {"manifest.json", "empty", "seg/0001/vectors.bin",
                                      "seg/0001/ids.bin", "wal/000001.log"};
static uint8_t k_data[5][300];
static const size_t k_len[5] = {41, 0, 300, 77, 120};

static void sample_init(void) {
    for (int i = 0; i < 5; i++) fill_random(k_data[i], sizeof k_data[i], (uint64_t)i + 1);
}

/* Writes the sample with the module; entry 3 comes from a file via add_file. Returns
 * the first error; the writer is finished or aborted either way. */
static int write_sample(const char *path, vs__err *e) {
    vs__archive_writer *w = NULL;
    int rc = vs__archive_create(path, &w, e);
    if (rc) return rc;
    for (int i = 0; i < 5 && !rc; i++) {
        if (i == 3)
            rc = vs__archive_add_file(w, k_names[i], vt_path("src3"), e);
        else
            rc = vs__archive_add_mem(w, k_names[i], k_data[i], k_len[i], e);
    }
    if (rc) {
        vs__archive_abort(w);
        return rc;
    }
    return vs__archive_finish(w, e);
}

static void sample_setup(void) {
    sample_init();
    write_bytes(vt_path("src3"), k_data[3], k_len[3]);
}

static void check_extracted_sample(const char *dir) {
    char p[4200];
    for (int i = 0; i < 5; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, k_names[i]);
        file_equals(p, k_data[i], k_len[i]);
    }
}

/* ----------------------------------------------------------- names ---- */

TEST(snapshot, name_rules) {
    char l255[256], l256[257];
    memset(l255, 'n', 255);
    l255[255] = 0;
    memset(l256, 'n', 256);
    l256[256] = 0;
    const char *good[] = {"a", "a/b", "seg-0001.dat", "A.b_c-D/e/f", "...", "..a", "a..",
                          ".hidden", "x/.y", l255};
    const char *bad[] = {"", "/abs", "/", "a//b", "a/", "..", ".", "a/../b", "../a", "./a",
                         "a/./b", "a/..", l256, "a b", "a\\b", "caf\xc3\xa9", "a\n", "a*",
                         "a:b", "~", "a\x7f"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        ASSERT_MSG(vs__archive_name_ok(good[i]), "'%s' should be accepted", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ASSERT_MSG(!vs__archive_name_ok(bad[i]), "'%s' should be refused", bad[i]);
    ASSERT(!vs__archive_name_ok(NULL));
}

/* ------------------------------------------------------- round trips ---- */

TEST(snapshot, roundtrip_small_empty_and_nested) {
    vs__err e;
    sample_setup();
    char ar[PATH_BUF];
    tpath(ar, "a.vsar");
    ASSERT_OK(write_sample(ar, &e));
    ASSERT(!vs__path_exists(vt_path("a.vsar.tmp")));
    ASSERT_OK(vs__archive_verify(ar, &e));
    ASSERT_OK(vs__archive_extract(ar, vt_path("out"), &e));
    check_extracted_sample(vt_path("out"));
    struct stat st;
    ASSERT(stat(vt_path("out/seg/0001/ids.bin"), &st) == 0);
    mode_t mask = umask(0);
    umask(mask);
    ASSERT_EQ(st.st_mode & 0777, 0644 & ~mask);
    for (int i = 0; i < 5; i++) {
        uint8_t *d;
        size_t n;
        ASSERT_OK(vs__archive_read_entry(ar, k_names[i], &d, &n, &e));
        ASSERT_EQ(n, k_len[i]);
        ASSERT(n == 0 || !memcmp(d, k_data[i], n));
        vs__free(d);
    }
    uint8_t *d = (uint8_t *)1;
    size_t n = 1;
    ASSERT_RC(vs__archive_read_entry(ar, "seg/0001", &d, &n, &e), VS_ENOTFOUND);
    ASSERT(d == NULL && n == 0);
    ASSERT_RC(vs__archive_read_entry(ar, "nope", &d, &n, &e), VS_ENOTFOUND);
    ASSERT_CONTAINS(e.msg, "no entry 'nope'");
}

TEST(snapshot, roundtrip_multi_megabyte) {
    vs__err e;
    size_t n1 = (5u << 20) + 12345, n2 = (3u << 20) - 7;
    uint8_t *a = malloc(n1), *b = malloc(n2);
    fill_random(a, n1, 11);
    fill_random(b, n2, 12);
    write_bytes(vt_path("big.bin"), a, n1);
    char ar[PATH_BUF];
    tpath(ar, "big.vsar");
    vs__archive_writer *w;
    ASSERT_OK(vs__archive_create(ar, &w, &e));
    ASSERT_OK(vs__archive_add_file(w, "big/file.bin", vt_path("big.bin"), &e));
    ASSERT_OK(vs__archive_add_mem(w, "mem.bin", b, n2, &e));
    ASSERT_OK(vs__archive_add_mem(w, "tail", "x", 1, &e));
    write_bytes(vt_path("zero.bin"), "", 0);
    ASSERT_OK(vs__archive_add_file(w, "zero", vt_path("zero.bin"), &e));
    ASSERT_OK(vs__archive_finish(w, &e));
    struct stat st;
    ASSERT(stat(ar, &st) == 0);
    ASSERT_EQ(st.st_size, 32 + (32 + 12 + n1) + (32 + 7 + n2) + (32 + 4 + 1) + (32 + 4) + 24);
    ASSERT_OK(vs__archive_verify(ar, &e));
    ASSERT_OK(vs__archive_extract(ar, vt_path("x"), &e));
    file_equals(vt_path("x/big/file.bin"), a, n1);
    file_equals(vt_path("x/mem.bin"), b, n2);
    file_equals(vt_path("x/tail"), "x", 1);
    file_equals(vt_path("x/zero"), "", 0);
    uint8_t *d;
    size_t n;
    ASSERT_OK(vs__archive_read_entry(ar, "mem.bin", &d, &n, &e));
    int same = n == n2 && !memcmp(d, b, n2);
    vs__free(d);
    free(a);
    free(b);
    ASSERT(same);
}

TEST(snapshot, empty_archive) {
    vs__err e;
    vs__archive_writer *w;
    char ar[PATH_BUF];
    tpath(ar, "e.vsar");
    ASSERT_OK(vs__archive_create(ar, &w, &e));
    ASSERT_OK(vs__archive_finish(w, &e));
    size_t n;
    uint8_t *d = read_bytes(ar, &n);
    uint8_t want[64];
    size_t wn = craft(want, sizeof want, 1, NULL, 0);
    int same = n == wn && !memcmp(d, want, n);
    free(d);
    ASSERT(same);
    ASSERT_EQ(wn, 56);
    ASSERT_OK(vs__archive_verify(ar, &e));
    ASSERT_OK(vs__archive_extract(ar, vt_path("out"), &e));
    ASSERT(vs__path_is_dir(vt_path("out")));
}

TEST(snapshot, layout_matches_the_spec_byte_for_byte) {
    vs__err e;
    sample_setup();
    char ar[PATH_BUF];
    tpath(ar, "a.vsar");
    ASSERT_OK(write_sample(ar, &e));
    centry ents[5];
    for (int i = 0; i < 5; i++) ents[i] = (centry){k_names[i], 0, 0, k_data[i], k_len[i]};
    static uint8_t want[4096];
    size_t wn = craft(want, sizeof want, 1, ents, 5);
    size_t n;
    uint8_t *d = read_bytes(ar, &n);
    size_t diff = 0;
    while (diff < n && diff < wn && d[diff] == want[diff]) diff++;
    free(d);
    ASSERT_MSG(n == wn && diff == n, "writer output (%zu bytes) differs from the spec (%zu) at "
               "byte %zu", n, wn, diff);
    /* and the reader accepts the hand-made one */
    write_bytes(vt_path("c.vsar"), want, wn);
    ASSERT_OK(vs__archive_verify(vt_path("c.vsar"), &e));
}

/* ------------------------------------------------------ bad names ---- */

TEST(snapshot, add_refuses_bad_and_clashing_names) {
    vs__err e;
    vs__archive_writer *w;
    char ar[PATH_BUF];
    tpath(ar, "n.vsar");
    char l256[257];
    memset(l256, 'n', 256);
    l256[256] = 0;
    const char *bad[] = {"..", "/abs", "a//b", "", l256, "a b", "x/../../etc/passwd", "a/"};
    ASSERT_OK(vs__archive_create(ar, &w, &e));
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ASSERT_RC(vs__archive_add_mem(w, bad[i], "x", 1, &e), VS_ENAME);
        ASSERT_CONTAINS(e.msg, "invalid entry name");
    }
    ASSERT_RC(vs__archive_add_mem(w, NULL, "x", 1, &e), VS_ENAME);
    ASSERT_RC(vs__archive_add_file(w, "../f", vt_path("nonexistent"), &e), VS_ENAME);
    ASSERT_OK(vs__archive_add_mem(w, "a", "1", 1, &e));
    ASSERT_RC(vs__archive_add_mem(w, "a", "2", 1, &e), VS_EEXIST);
    ASSERT_RC(vs__archive_add_mem(w, "a/b", "2", 1, &e), VS_EEXIST);
    ASSERT_CONTAINS(e.msg, "clashes with 'a'");
    ASSERT_OK(vs__archive_add_mem(w, "d/x", "3", 1, &e));
    ASSERT_RC(vs__archive_add_mem(w, "d", "4", 1, &e), VS_EEXIST);
    /* a source that is missing or a directory: refused, the writer goes on */
    ASSERT_RC(vs__archive_add_file(w, "f", vt_path("nonexistent"), &e), VS_ENOTFOUND);
    ASSERT_RC(vs__archive_add_file(w, "f", vt_tmpdir(), &e), VS_EINVAL);
    ASSERT(mkfifo(vt_path("fifo"), 0644) == 0); /* must be refused, not block */
    ASSERT_RC(vs__archive_add_file(w, "f", vt_path("fifo"), &e), VS_EINVAL);
    ASSERT_CONTAINS(e.msg, "not a regular file");
    ASSERT_OK(vs__archive_add_mem(w, "d/y", "5", 1, &e));
    ASSERT_OK(vs__archive_finish(w, &e));
    ASSERT_OK(vs__archive_extract(ar, vt_path("out"), &e));
    file_equals(vt_path("out/a"), "1", 1);
    file_equals(vt_path("out/d/x"), "3", 1);
    file_equals(vt_path("out/d/y"), "5", 1);
    ASSERT(!vs__path_exists(vt_path("out/f")));
}

/* A crafted archive whose only fault is the name: checksums are all correct, so only the
 * name rules stand between it and the file system. */
static void expect_crafted(const centry *ents, size_t n, int want, const char *needle) {
    static uint8_t buf[16384];
    vs__err e = {0};
    size_t len = craft(buf, sizeof buf, 1, ents, n);
    char ar[PATH_BUF];
    tpath(ar, "h.vsar");
    write_bytes(ar, buf, len);
    int rc = vs__archive_verify(ar, &e);
    ASSERT_MSG(rc == want, "%s: verify gave %s (%s), want %s", ents[n - 1].name,
               vs_errname(rc), e.msg, vs_errname(want));
    ASSERT_CONTAINS(e.msg, needle);
    ASSERT_RC(vs__archive_extract(ar, vt_path("hx"), &e), want);
    ASSERT_MSG(!vs__path_exists(vt_path("hx")), "extract of %s left a directory",
               ents[n - 1].name);
    uint8_t *d;
    size_t dn;
    ASSERT_RC(vs__archive_read_entry(ar, "ok", &d, &dn, &e), want);
    /* nothing escaped: "hx/../escape" would have landed here */
    ASSERT(!vs__path_exists(vt_path("escape")));
}

TEST(snapshot, verify_refuses_crafted_bad_names) {
    char l256[257];
    memset(l256, 'n', 256);
    l256[256] = 0;
    const char *bad[] = {"..", "../escape", "/abs", "/tmp/x", "a//b", "", l256, "a b",
                         "a/./b", "a/", ".", "x\\y", "semi;colon"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        centry ents[2] = {{"ok", 0, 0, "1", 1}, {bad[i], 0, 0, "2", 1}};
        expect_crafted(ents, 2, VS_ENAME, "invalid name");
    }
    /* a NUL inside the name: the length says 3, the C string says 1 */
    centry nul[2] = {{"ok", 0, 0, "1", 1}, {"a\0b", 3, 0, "2", 1}};
    expect_crafted(nul, 2, VS_ENAME, "invalid name 'a?b'");
    /* repeats, and a name that is both a file and a directory */
    centry dup[3] = {{"ok", 0, 0, "1", 1}, {"x", 0, 0, "2", 1}, {"x", 0, 0, "3", 1}};
    expect_crafted(dup, 3, VS_ENAME, "appears twice");
    centry fd[3] = {{"ok", 0, 0, "1", 1}, {"d", 0, 0, "2", 1}, {"d/e", 0, 0, "3", 1}};
    expect_crafted(fd, 3, VS_ENAME, "both a file and a directory");
    centry fd2[3] = {{"ok", 0, 0, "1", 1}, {"d/e/f", 0, 0, "2", 1}, {"d/e", 0, 0, "3", 1}};
    expect_crafted(fd2, 3, VS_ENAME, "'d/e' is both");
    /* a mode other than 0644 (symlinks, executables, ...) is not in the format */
    centry mode[2] = {{"ok", 0, 0, "1", 1}, {"m", 0, 0120777, "2", 1}};
    expect_crafted(mode, 2, VS_EFORMAT, "unsupported mode");
}

TEST(snapshot, verify_refuses_crafted_bad_structure) {
    vs__err e;
    static uint8_t buf[4096];
    centry ents[2] = {{"ok", 0, 0, "hello", 5}, {"b", 0, 0, "world", 5}};
    size_t len = craft(buf, sizeof buf, 1, ents, 2);
    char ar[PATH_BUF];
    tpath(ar, "s.vsar");
    /* header count larger than what follows (header and trailer checksums fixed up) */
    buf[16] = 3;
    put_le(buf + 24, vs__checksum(buf, 24), 8);
    buf[len - 16] = 3;
    put_le(buf + len - 8, vs__checksum(buf, len - 24), 8);
    write_bytes(ar, buf, len);
    ASSERT_RC(vs__archive_verify(ar, &e), VS_EFORMAT);
    /* count 1 with two entries present: bytes left over before the trailer */
    buf[16] = 1;
    put_le(buf + 24, vs__checksum(buf, 24), 8);
    buf[len - 16] = 1;
    put_le(buf + len - 8, vs__checksum(buf, len - 24), 8);
    write_bytes(ar, buf, len);
    ASSERT_RC(vs__archive_verify(ar, &e), VS_EFORMAT);
    ASSERT_CONTAINS(e.msg, "unexpected bytes before the trailer");
    /* an absurd count is refused before anything is allocated for it */
    put_le(buf + 16, 1ull << 60, 8);
    put_le(buf + 24, vs__checksum(buf, 24), 8);
    write_bytes(ar, buf, len);
    ASSERT_RC(vs__archive_verify(ar, &e), VS_EFORMAT);
    ASSERT_CONTAINS(e.msg, "cannot fit");
    /* a name length far beyond the limit, checksums aside: a format error */
    len = craft(buf, sizeof buf, 1, ents, 2);
    put_le(buf + 32, 100000, 4);
    write_bytes(ar, buf, len);
    ASSERT_RC(vs__archive_verify(ar, &e), VS_EFORMAT);
    /* a data length running past the end, with a valid entry-header checksum */
    len = craft(buf, sizeof buf, 1, ents, 2);
    put_le(buf + 32 + 8, 1000, 8);
    uint8_t tmp[32];
    memcpy(tmp, buf + 32, 24);
    memcpy(tmp + 24, "ok", 2);
    put_le(buf + 32 + 24, vs__checksum(tmp, 26), 8);
    write_bytes(ar, buf, len);
    ASSERT_RC(vs__archive_verify(ar, &e), VS_EFORMAT);
    ASSERT_CONTAINS(e.msg, "runs past the end");
    /* bytes appended after the trailer: the trailer is no longer last */
    len = craft(buf, sizeof buf, 1, ents, 2);
    memcpy(buf + len, "junk", 4);
    write_bytes(ar, buf, len + 4);
    ASSERT_RC(vs__archive_verify(ar, &e), VS_EFORMAT);
}

/* --------------------------------------------------------- corruption ---- */

TEST(snapshot, wrong_magic_missing_and_tiny_files) {
    vs__err e;
    sample_setup();
    char ar[PATH_BUF];
    tpath(ar, "a.vsar");
    ASSERT_OK(write_sample(ar, &e));
    size_t n;
    uint8_t *d = read_bytes(ar, &n);
    memcpy(d, "VSARCHV2", 8);
    write_bytes(ar, d, n);
    free(d);
    ASSERT_RC(vs__archive_verify(ar, &e), VS_EFORMAT);
    ASSERT_CONTAINS(e.msg, "not a vecstore archive");
    write_bytes(ar, "{\"hello\": \"this is json, not an archive, but long enough\"}", 58);
    ASSERT_RC(vs__archive_verify(ar, &e), VS_EFORMAT);
    write_bytes(ar, "VS", 2);
    ASSERT_RC(vs__archive_verify(ar, &e), VS_EFORMAT);
    write_bytes(ar, "", 0);
    ASSERT_RC(vs__archive_verify(ar, &e), VS_EFORMAT);
    write_bytes(ar, "VSARCHV1", 8);
    ASSERT_RC(vs__archive_verify(ar, &e), VS_EFORMAT);
    ASSERT_CONTAINS(e.msg, "truncated");
    ASSERT_RC(vs__archive_verify(vt_path("missing.vsar"), &e), VS_ENOTFOUND);
    ASSERT_RC(vs__archive_extract(vt_path("missing.vsar"), vt_path("o"), &e), VS_ENOTFOUND);
    ASSERT(!vs__path_exists(vt_path("o")));
}

TEST(snapshot, newer_version_is_eversion) {
    vs__err e;
    static uint8_t buf[1024];
    centry ents[1] = {{"f", 0, 0, "data", 4}};
    size_t len = craft(buf, sizeof buf, 2, ents, 1);
    char ar[PATH_BUF];
    tpath(ar, "v2.vsar");
    write_bytes(ar, buf, len);
    ASSERT_RC(vs__archive_verify(ar, &e), VS_EVERSION);
    ASSERT_CONTAINS(e.msg, "version 2");
    ASSERT_RC(vs__archive_extract(ar, vt_path("o"), &e), VS_EVERSION);
    ASSERT(!vs__path_exists(vt_path("o")));
    len = craft(buf, sizeof buf, 0xFFFFFFFFu, ents, 1);
    write_bytes(ar, buf, len);
    ASSERT_RC(vs__archive_verify(ar, &e), VS_EVERSION);
    /* version 0 never existed */
    len = craft(buf, sizeof buf, 0, ents, 1);
    write_bytes(ar, buf, len);
    ASSERT_RC(vs__archive_verify(ar, &e), VS_EFORMAT);
    /* unknown flags */
    len = craft(buf, sizeof buf, 1, ents, 1);
    buf[12] = 1;
    put_le(buf + 24, vs__checksum(buf, 24), 8);
    write_bytes(ar, buf, len);
    ASSERT_RC(vs__archive_verify(ar, &e), VS_EFORMAT);
}

/* The damaged copies below are edited in place (ftruncate, pwrite of one byte) rather
 * than rewritten: truncating and rewriting a file thousands of times makes ext4 flush on
 * every close, which turned a one-second test into ten under load. */
TEST(snapshot, truncated_at_every_offset) {
    vs__err e;
    sample_setup();
    char ar[PATH_BUF], cut[PATH_BUF], dest[PATH_BUF];
    tpath(ar, "a.vsar");
    tpath(cut, "cut.vsar");
    tpath(dest, "o");
    ASSERT_OK(write_sample(ar, &e));
    size_t n;
    uint8_t *d = read_bytes(ar, &n);
    write_bytes(cut, d, n);
    free(d);
    int fd = open(cut, O_RDWR);
    ASSERT(fd >= 0);
    for (size_t len = n; len-- > 0;) {
        ASSERT(ftruncate(fd, (off_t)len) == 0);
        int rc = vs__archive_verify(cut, &e);
        int rc2 = vs__archive_extract(cut, dest, &e);
        int left = vs__path_exists(dest);
        if (!is_bad(rc) || !is_bad(rc2) || left) {
            close(fd);
            ASSERT_MSG(0, "cut at %zu of %zu: verify %s, extract %s, dir left %d", len, n,
                       vs_errname(rc), vs_errname(rc2), left);
        }
    }
    close(fd);
}

TEST(snapshot, bit_flip_at_every_offset) {
    vs__err e;
    sample_setup();
    char ar[PATH_BUF], bad[PATH_BUF], dest[PATH_BUF];
    tpath(ar, "a.vsar");
    tpath(bad, "flip.vsar");
    tpath(dest, "o");
    ASSERT_OK(write_sample(ar, &e));
    size_t n;
    uint8_t *d = read_bytes(ar, &n);
    write_bytes(bad, d, n);
    int fd = open(bad, O_RDWR);
    ASSERT(fd >= 0);
    /* every bit through verify; one bit per byte also through extract and read_entry */
    char msg[256] = "";
    for (size_t off = 0; off < n && !msg[0]; off++) {
        for (int bit = 0; bit < 8 && !msg[0]; bit++) {
            uint8_t b = d[off] ^ (uint8_t)(1u << bit);
            ASSERT(pwrite(fd, &b, 1, (off_t)off) == 1);
            int rc = vs__archive_verify(bad, &e), rc2 = VS_ECORRUPT, rc3 = VS_ECORRUPT;
            if (bit == (int)(off % 8)) {
                uint8_t *x;
                size_t xn;
                rc2 = vs__archive_extract(bad, dest, &e);
                rc3 = vs__archive_read_entry(bad, k_names[2], &x, &xn, &e);
            }
            ASSERT(pwrite(fd, &d[off], 1, (off_t)off) == 1);
            int left = vs__path_exists(dest);
            if (!is_bad(rc) || !is_bad(rc2) || !is_bad(rc3) || left)
                snprintf(msg, sizeof msg, "bit %d of byte %zu: verify %s, extract %s, read %s, "
                         "dir left %d", bit, off, vs_errname(rc), vs_errname(rc2),
                         vs_errname(rc3), left);
        }
    }
    close(fd);
    free(d);
    ASSERT_MSG(!msg[0], "%s", msg);
    ASSERT_OK(vs__archive_verify(bad, &e)); /* every flip was undone */
}

TEST(snapshot, extract_refuses_an_existing_destination) {
    vs__err e;
    sample_setup();
    char ar[PATH_BUF];
    tpath(ar, "a.vsar");
    ASSERT_OK(write_sample(ar, &e));
    ASSERT(mkdir(vt_path("dest"), 0755) == 0);
    write_bytes(vt_path("dest/keep"), "k", 1);
    ASSERT_RC(vs__archive_extract(ar, vt_path("dest"), &e), VS_EEXIST);
    file_equals(vt_path("dest/keep"), "k", 1); /* untouched, not removed */
    ASSERT(!vs__path_exists(vt_path("dest/manifest.json")));
    write_bytes(vt_path("file"), "f", 1);
    ASSERT_RC(vs__archive_extract(ar, vt_path("file"), &e), VS_EEXIST);
    file_equals(vt_path("file"), "f", 1);
    /* a dangling symlink counts as existing: extracting through it could escape */
    ASSERT(symlink(vt_path("elsewhere"), vt_path("link")) == 0);
    ASSERT_RC(vs__archive_extract(ar, vt_path("link"), &e), VS_EEXIST);
    ASSERT(!vs__path_exists(vt_path("elsewhere")));
    /* a missing parent is an error, and leaves nothing */
    ASSERT_RC(vs__archive_extract(ar, vt_path("no/such/dir"), &e), VS_ENOTFOUND);
}

/* ------------------------------------------------------------- faults ---- */

TEST(snapshot, write_failure_poisons_the_writer) {
    vs__err e;
    vs__archive_writer *w;
    char ar[PATH_BUF];
    tpath(ar, "p.vsar");
    ASSERT_OK(vs__archive_create(ar, &w, &e));
    ASSERT_OK(vs__archive_add_mem(w, "a", "1", 1, &e));
    vs__io_fault_arm(VS_IO_WRITE, 1, VS_FAULT_SHORT, 0);
    ASSERT_RC(vs__archive_add_mem(w, "b", "0123456789", 10, &e), VS_ENOSPC);
    vs__io_fault_disarm();
    ASSERT_RC(vs__archive_add_mem(w, "c", "3", 1, &e), VS_ENOSPC);
    ASSERT_CONTAINS(e.msg, "earlier write failed");
    ASSERT_RC(vs__archive_finish(w, &e), VS_ENOSPC);
    ASSERT(!vs__path_exists(vt_path("p.vsar.tmp")));
    ASSERT(!vs__path_exists(ar));
}

TEST(snapshot, source_read_failure_leaves_a_valid_archive) {
    /* A failed read of a source file is not the archive's fault: the entry is dropped,
     * the partly copied bytes are cut off at finish, and the rest is a valid archive. */
    vs__err e;
    vs__archive_writer *w;
    size_t big = (2u << 20) + 5;
    uint8_t *data = malloc(big);
    fill_random(data, big, 3);
    write_bytes(vt_path("src"), data, big);
    free(data);
    char ar[PATH_BUF];
    tpath(ar, "r.vsar");
    ASSERT_OK(vs__archive_create(ar, &w, &e));
    ASSERT_OK(vs__archive_add_mem(w, "a", "1", 1, &e));
    vs__io_fault_arm(VS_IO_READ, 2, VS_FAULT_EIO, 0); /* after one chunk was copied */
    ASSERT_RC(vs__archive_add_file(w, "big", vt_path("src"), &e), VS_EIO);
    vs__io_fault_disarm();
    ASSERT_OK(vs__archive_add_mem(w, "b", "2", 1, &e));
    ASSERT_OK(vs__archive_finish(w, &e));
    ASSERT_OK(vs__archive_verify(ar, &e));
    struct stat st;
    ASSERT(stat(ar, &st) == 0);
    ASSERT_EQ(st.st_size, 32 + (32 + 1 + 1) * 2 + 24);
}

/* Every op kind × fault: fail the 1st, 2nd, ... operation until one run completes
 * without reaching the fault. `what`: 0 = write the sample, 1 = extract it, 2 = verify
 * and read_entry. */
static void io_sweep(int what) {
    static const int ops[] = {VS_IO_OPEN, VS_IO_READ, VS_IO_WRITE, VS_IO_FSYNC,
                              VS_IO_RENAME, VS_IO_TRUNCATE, VS_IO_MKDIR};
    static const int faults[] = {VS_FAULT_EIO, VS_FAULT_ENOSPC, VS_FAULT_SHORT};
    vs__err e;
    sample_setup();
    char ar[PATH_BUF];
    tpath(ar, "a.vsar");
    char tmp[PATH_BUF];
    tpath(tmp, "a.vsar.tmp");
    char dest[PATH_BUF];
    tpath(dest, "o");
    if (what) ASSERT_OK(write_sample(ar, &e));
    int64_t base = vs__alloc_live();
    int total_hits = 0;
    for (size_t oi = 0; oi < sizeof ops / sizeof *ops; oi++)
        for (size_t fi = 0; fi < sizeof faults / sizeof *faults; fi++)
            for (int64_t nth = 1;; nth++) {
                /* a short "write" of anything but a write is plain ENOSPC: done above */
                if (faults[fi] == VS_FAULT_SHORT && ops[oi] != VS_IO_WRITE) break;
                ASSERT_MSG(nth < 1000, "op %d never completed", ops[oi]);
                if (what == 0) vs__file_unlink(ar, NULL);
                int64_t hits0 = vs__io_fault_hits();
                vs__io_fault_arm(ops[oi], nth, faults[fi], 0);
                int rc;
                if (what == 0)
                    rc = write_sample(ar, &e);
                else if (what == 1)
                    rc = vs__archive_extract(ar, dest, &e);
                else {
                    uint8_t *d = NULL;
                    size_t n;
                    rc = vs__archive_verify(ar, &e);
                    if (!rc) rc = vs__archive_read_entry(ar, k_names[2], &d, &n, &e);
                    vs__free(d);
                }
                vs__io_fault_disarm();
                int hit = vs__io_fault_hits() != hits0;
                const char *where = what == 0 ? "write" : what == 1 ? "extract" : "read";
                ASSERT_MSG(vs__alloc_live() == base, "%s, op %d fault %d nth %lld: leak", where,
                           ops[oi], faults[fi], (long long)nth);
                ASSERT_MSG(!vs__path_exists(tmp), "%s, op %d nth %lld: temp file left", where,
                           ops[oi], (long long)nth);
                if (!hit) {
                    ASSERT_MSG(rc == VS_OK, "%s, op %d nth %lld: %s without a fault: %s", where,
                               ops[oi], (long long)nth, vs_errname(rc), e.msg);
                    if (what == 1) {
                        check_extracted_sample(dest);
                        vs__dir_remove_all(dest);
                    }
                    ASSERT_OK(vs__archive_verify(ar, &e));
                    break;
                }
                total_hits++;
                ASSERT_MSG(rc == VS_EIO || rc == VS_ENOSPC, "%s, op %d fault %d nth %lld: got %s "
                           "(%s)", where, ops[oi], faults[fi], (long long)nth, vs_errname(rc),
                           e.msg);
                if (what == 0)
                    ASSERT_MSG(!vs__path_exists(ar), "write, op %d nth %lld: archive left "
                               "behind after %s", ops[oi], (long long)nth, e.msg);
                if (what == 1)
                    ASSERT_MSG(!vs__path_exists(dest), "extract, op %d nth %lld: directory "
                               "left behind after %s", ops[oi], (long long)nth, e.msg);
            }
    ASSERT(total_hits > 20);
}

TEST(snapshot, io_fault_sweep_write) { io_sweep(0); }
TEST(snapshot, io_fault_sweep_extract) { io_sweep(1); }
TEST(snapshot, io_fault_sweep_read) { io_sweep(2); }

TEST(snapshot, alloc_failure_sweep) {
    vs__err e;
    sample_setup();
    char ar[PATH_BUF];
    tpath(ar, "a.vsar");
    char dest[PATH_BUF];
    tpath(dest, "o");
    int64_t base = vs__alloc_live();
    for (int what = 0; what < 3; what++) {
        int64_t n;
        for (n = 1; n < 1000; n++) {
            if (what == 0) vs__file_unlink(ar, NULL);
            int64_t f0 = vs__alloc_failures();
            vs__alloc_fail_after(n);
            uint8_t *d = NULL;
            size_t dn;
            int rc = what == 0   ? write_sample(ar, &e)
                     : what == 1 ? vs__archive_extract(ar, dest, &e)
                                 : vs__archive_read_entry(ar, k_names[4], &d, &dn, &e);
            vs__alloc_fail_after(0);
            vs__free(d);
            int failed = vs__alloc_failures() != f0;
            ASSERT_MSG(vs__alloc_live() == base, "step %d, allocation %lld: leak", what,
                       (long long)n);
            ASSERT(!vs__path_exists(vt_path("a.vsar.tmp")));
            if (!failed) {
                ASSERT_OK(rc);
                break;
            }
            ASSERT_MSG(rc == VS_ENOMEM, "step %d, allocation %lld: got %s (%s)", what,
                       (long long)n, vs_errname(rc), e.msg);
            if (what == 0) ASSERT(!vs__path_exists(ar));
            if (what == 1) ASSERT(!vs__path_exists(dest));
        }
        ASSERT_MSG(n > 2, "step %d allocated too little to be swept", what);
    }
    check_extracted_sample(dest);
}
