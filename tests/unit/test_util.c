#include <stdlib.h>

#include "os/file.h"
#include "test.h"
#include "util/alloc.h"
#include "util/checksum.h"
#include "util/err.h"

TEST(util, errstr_covers_every_code) {
    ASSERT_STREQ(vs_errstr(VS_OK), "ok");
    ASSERT_STREQ(vs_errname(VS_EDIM), "VS_EDIM");
    ASSERT_STREQ(vs_errstr(12345), "unknown error");
    for (int rc = 0; rc >= VS_EFORMAT; rc--) ASSERT(strcmp(vs_errstr(rc), "unknown error"));
}

TEST(util, alloc_fail_nth_and_counts) {
    int64_t live = vs__alloc_live();
    void *a = vs__malloc(10);
    ASSERT(a);
    ASSERT_EQ(vs__alloc_live(), live + 1);
    vs__alloc_fail_after(2);
    void *b = vs__malloc(10);
    void *c = vs__malloc(10);
    void *d = vs__malloc(10);
    ASSERT(b);
    ASSERT(c == NULL);
    ASSERT(d);
    vs__free(a);
    vs__free(b);
    vs__free(d);
    ASSERT_EQ(vs__alloc_live(), live);
}

TEST(util, checksum_detects_flip) {
    char buf[64] = "hello vecstore";
    uint64_t a = vs__checksum(buf, sizeof buf);
    buf[3] ^= 1;
    ASSERT_NE(a, vs__checksum(buf, sizeof buf));
}

TEST(io, write_fault_is_reported_and_atomic_write_keeps_old) {
    vs__err e;
    const char *p = vt_path("f");
    ASSERT_OK(vs__file_write_atomic(p, "old", 3, &e));
    vs__io_fault_arm(VS_IO_WRITE, 1, VS_FAULT_ENOSPC, 0);
    ASSERT_RC(vs__file_write_atomic(p, "new!", 4, &e), VS_ENOSPC);
    ASSERT_CONTAINS(e.msg, "No space");
    uint8_t *d;
    size_t n;
    ASSERT_OK(vs__file_read_all(p, &d, &n, &e));
    ASSERT_EQ(n, 3);
    ASSERT(!memcmp(d, "old", 3));
    vs__free(d);
    ASSERT(!vs__path_exists(vt_path("f.tmp")));
}

/* vs__jt_number's fast path (Clinger) must give strtod's double bit for bit. */
#include "util/jtext.h"
TEST(util, json_numbers_match_strtod) {
    unsigned st = vt_seed();
    char buf[80];
    for (int i = 0; i < 400000; i++) {
        int n = 0, digits = 1 + rand_r(&st) % 20;
        if (rand_r(&st) % 2) buf[n++] = '-';
        int ip = 1 + rand_r(&st) % digits;
        buf[n++] = (char)('0' + (ip > 1 ? 1 + rand_r(&st) % 9 : rand_r(&st) % 10));
        for (int d = 1; d < ip; d++) buf[n++] = (char)('0' + rand_r(&st) % 10);
        if (ip < digits) {
            buf[n++] = '.';
            for (int d = ip; d < digits; d++) buf[n++] = (char)('0' + rand_r(&st) % 10);
        }
        if (rand_r(&st) % 3 == 0) n += snprintf(buf + n, sizeof buf - (size_t)n, "e%d", rand_r(&st) % 60 - 30);
        buf[n] = 0;
        vs__jt_num v;
        ASSERT(vs__jt_number(buf, buf + n, &v) == buf + n);
        double want = strtod(buf, NULL);
        ASSERT_MSG(memcmp(&v.d, &want, sizeof want) == 0, "%s: %.17g != strtod %.17g", buf, v.d, want);
    }
}
