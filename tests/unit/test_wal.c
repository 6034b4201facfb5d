/*
 * test_wal.c — the write-ahead log in isolation: append/replay, rotation and
 * truncation, group commit under concurrent writers, torn tails vs corruption.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "storage/wal.h"
#include "test.h"
#include "os/file.h"
#include "util/alloc.h"

typedef struct seen {
    uint64_t n, last, sum;
} seen;

static int collect(void *ctx, uint64_t lsn, const uint8_t *p, size_t len, vs__err *e) {
    seen *s = ctx;
    if (lsn != s->last + 1 && s->n) return vs__errf(e, VS_ECORRUPT, "gap");
    s->last = lsn;
    s->n++;
    for (size_t i = 0; i < len; i++) s->sum += p[i];
    return VS_OK;
}

static void rec(uint8_t *buf, size_t len, uint64_t k) {
    for (size_t i = 0; i < len; i++) buf[i] = (uint8_t)(k * 31 + i);
}

TEST(wal, append_replay_rotate_truncate) {
    vs__err e;
    vs__wal *w;
    const char *dir = vt_path("wal");
    ASSERT_OK(vs__wal_open(dir, 0, 0, NULL, NULL, &w, NULL, &e));
    uint8_t buf[300];
    uint64_t sum = 0, lsn = 0;
    for (uint64_t k = 1; k <= 100; k++) {
        size_t len = 1 + k % 300;
        rec(buf, len, k);
        for (size_t i = 0; i < len; i++) sum += buf[i];
        ASSERT_OK(vs__wal_append(w, buf, len, &lsn, &e));
        ASSERT_EQ(lsn, k);
        if (k == 40) ASSERT_OK(vs__wal_rotate(w, &e));
        if (k == 70) ASSERT_OK(vs__wal_rotate(w, &e));
    }
    ASSERT_OK(vs__wal_sync(w, lsn, &e));
    vs__wal_close(w);
    seen s = {0};
    vs__wal_report rep;
    ASSERT_OK(vs__wal_open(dir, 0, 1, collect, &s, &w, &rep, &e));
    ASSERT_EQ(s.n, 100);
    ASSERT_EQ(s.sum, sum);
    ASSERT_EQ(rep.files, 3);
    ASSERT_EQ(rep.torn, 0);
    vs__wal_close(w);
    /* Checkpoint at 55: replay starts at 56 and files wholly before it can go. */
    ASSERT_OK(vs__wal_open(dir, 55, 0, NULL, NULL, &w, NULL, &e));
    ASSERT_OK(vs__wal_truncate_before(w, 55, &e));
    vs__wal_close(w);
    memset(&s, 0, sizeof s);
    ASSERT_OK(vs__wal_open(dir, 55, 1, collect, &s, &w, &rep, &e));
    ASSERT_EQ(s.n, 45);
    ASSERT_EQ(s.last, 100);
    ASSERT_EQ(rep.files, 2);
    vs__wal_close(w);
    /* A checkpoint beyond a missing file is a gap: records 1..40 are gone. */
    memset(&s, 0, sizeof s);
    ASSERT_RC(vs__wal_open(dir, 10, 1, collect, &s, &w, &rep, &e), VS_ECORRUPT);
    ASSERT_CONTAINS(e.msg, "missing");
}

static const char *last_file(const char *dir, char *buf, size_t cap) {
    /* names sort by lsn; pick the lexically greatest *.wal */
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "ls %s/*.wal | tail -1", dir);
    FILE *p = popen(cmd, "r");
    if (!p || !fgets(buf, (int)cap, p)) buf[0] = 0;
    if (p) pclose(p);
    buf[strcspn(buf, "\n")] = 0;
    return buf;
}

TEST(wal, torn_tail_truncated_but_middle_corruption_is_an_error) {
    vs__err e;
    vs__wal *w;
    const char *dir = vt_path("wal");
    ASSERT_OK(vs__wal_open(dir, 0, 0, NULL, NULL, &w, NULL, &e));
    uint8_t buf[100];
    uint64_t lsn;
    for (uint64_t k = 1; k <= 10; k++) {
        rec(buf, sizeof buf, k);
        ASSERT_OK(vs__wal_append(w, buf, sizeof buf, &lsn, &e));
    }
    vs__wal_close(w);
    char f[4200];
    last_file(dir, f, sizeof f);
    int fd = open(f, O_RDWR);
    ASSERT(fd >= 0);
    off_t end = lseek(fd, 0, SEEK_END);
    /* Cut the last record short: a torn tail. */
    ASSERT_EQ(ftruncate(fd, end - 7), 0);
    seen s = {0};
    vs__wal_report rep;
    ASSERT_OK(vs__wal_open(dir, 0, 1, collect, &s, &w, &rep, &e));
    ASSERT_EQ(s.n, 9);
    ASSERT_EQ(rep.torn, 1);
    vs__wal_close(w);
    /* Garbage after the records (zeros, as a crashed filesystem may leave): torn too.
     * Opening for writing truncates it and appends continue at lsn 10. */
    uint8_t zeros[64] = {0};
    ASSERT(pwrite(fd, zeros, sizeof zeros, end - 7) == (ssize_t)sizeof zeros);
    memset(&s, 0, sizeof s);
    ASSERT_OK(vs__wal_open(dir, 0, 0, collect, &s, &w, &rep, &e));
    ASSERT_EQ(s.n, 9);
    rec(buf, sizeof buf, 99);
    ASSERT_OK(vs__wal_append(w, buf, sizeof buf, &lsn, &e));
    ASSERT_EQ(lsn, 10);
    vs__wal_close(w);
    memset(&s, 0, sizeof s);
    ASSERT_OK(vs__wal_open(dir, 0, 1, collect, &s, &w, &rep, &e));
    ASSERT_EQ(s.n, 10);
    ASSERT_EQ(rep.torn, 0);
    vs__wal_close(w);
    /* A flipped byte in record 3 with valid records after it: corruption. */
    off_t at = 64 + 2 * (24 + 100) + 24 + 50;
    uint8_t ch;
    ASSERT(pread(fd, &ch, 1, at) == 1);
    ch ^= 0x40;
    ASSERT(pwrite(fd, &ch, 1, at) == 1);
    memset(&s, 0, sizeof s);
    ASSERT_RC(vs__wal_open(dir, 0, 1, collect, &s, &w, &rep, &e), VS_ECORRUPT);
    ASSERT_CONTAINS(e.msg, "valid record");
    ASSERT_RC(vs__wal_open(dir, 0, 0, collect, &s, &w, &rep, &e), VS_ECORRUPT);
    close(fd);
}

typedef struct gc_ctx {
    vs__wal *w;
    pthread_mutex_t *mu;
    int n;
    int failed;
} gc_ctx;

static void *gc_writer(void *arg) {
    gc_ctx *c = arg;
    uint8_t buf[64];
    for (int i = 0; i < c->n; i++) {
        vs__err e;
        uint64_t lsn;
        rec(buf, sizeof buf, (uint64_t)i);
        pthread_mutex_lock(c->mu); /* appends are serialised by the caller */
        int rc = vs__wal_append(c->w, buf, sizeof buf, &lsn, &e);
        pthread_mutex_unlock(c->mu);
        if (rc || vs__wal_sync(c->w, lsn, &e) || vs__wal_synced_lsn(c->w) < lsn) c->failed = 1;
    }
    return NULL;
}

TEST(wal, group_commit_concurrent_writers_all_durable) {
    vs__err e;
    vs__wal *w;
    const char *dir = vt_path("wal");
    ASSERT_OK(vs__wal_open(dir, 0, 0, NULL, NULL, &w, NULL, &e));
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    gc_ctx ctx[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        ctx[i] = (gc_ctx){w, &mu, 200, 0};
        pthread_create(&th[i], NULL, gc_writer, &ctx[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ASSERT_EQ(ctx[i].failed, 0);
    }
    ASSERT_EQ(vs__wal_last_lsn(w), 800);
    ASSERT_EQ(vs__wal_synced_lsn(w), 800);
    vs__wal_close(w);
    seen s = {0};
    ASSERT_OK(vs__wal_open(dir, 0, 1, collect, &s, &w, NULL, &e));
    ASSERT_EQ(s.n, 800);
    vs__wal_close(w);
}

TEST(wal, failed_fsync_is_sticky_fatal) {
    vs__err e;
    vs__wal *w;
    ASSERT_OK(vs__wal_open(vt_path("wal"), 0, 0, NULL, NULL, &w, NULL, &e));
    uint8_t buf[16] = {1};
    uint64_t lsn;
    ASSERT_OK(vs__wal_append(w, buf, sizeof buf, &lsn, &e));
    vs__io_fault_arm(VS_IO_FSYNC, 1, VS_FAULT_EIO, 0);
    ASSERT_RC(vs__wal_sync(w, lsn, &e), VS_EFATAL);
    vs__io_fault_disarm();
    ASSERT_RC(vs__wal_sync(w, lsn, &e), VS_EFATAL);
    ASSERT_RC(vs__wal_append(w, buf, sizeof buf, &lsn, &e), VS_EFATAL);
    ASSERT_CONTAINS(e.msg, "reopen");
    vs__wal_close(w);
    /* A failed append is taken back: the log stays a clean sequence. */
    ASSERT_OK(vs__wal_open(vt_path("wal2"), 0, 0, NULL, NULL, &w, NULL, &e));
    ASSERT_OK(vs__wal_append(w, buf, sizeof buf, &lsn, &e));
    vs__io_fault_arm(VS_IO_WRITE, 1, VS_FAULT_SHORT, 0);
    ASSERT_RC(vs__wal_append(w, buf, sizeof buf, &lsn, &e), VS_ENOSPC);
    vs__io_fault_disarm();
    ASSERT_OK(vs__wal_append(w, buf, sizeof buf, &lsn, &e));
    ASSERT_EQ(lsn, 2);
    vs__wal_close(w);
    seen s = {0};
    vs__wal_report rep;
    ASSERT_OK(vs__wal_open(vt_path("wal2"), 0, 1, collect, &s, &w, &rep, &e));
    ASSERT_EQ(s.n, 2);
    ASSERT_EQ(rep.torn, 0);
    vs__wal_close(w);
}
