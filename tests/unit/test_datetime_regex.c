/*
 * test_datetime_regex.c — the two value parsers behind filter conditions: datetimes
 * (query/datetime.h) and PCRE2 patterns (query/regex.h).
 *
 * Datetimes: expected microseconds come from outside the module (values computed with
 * Python's datetime, and well-known epoch figures), never from the module's own
 * arithmetic; a random differential test compares with glibc's timegm (UTC, so the
 * process time zone plays no part), and a random round trip checks format∘parse. Every
 * rejected text is asserted with the exact offset of the first bad byte.
 *
 * Regexes: semantics the filter language promises (UTF-8, \p{..}, (?i), anchors, what
 * PCRE2_MATCH_INVALID_UTF does with broken subjects), every limit reached quickly on
 * both matchers (VS_REGEX_JIT=0 forces the interpreter), the cache's sharing and LRU
 * eviction under a holder, two threads on one pattern, and allocation-failure sweeps.
 */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "query/datetime.h"
#include "query/regex.h"
#include "test.h"
#include "util/alloc.h"

/* ------------------------------------------------------------- datetime ---- */

#define SEC INT64_C(1000000)

static int64_t dt_ok(const char *s) {
    int64_t us = 0;
    size_t at = 0;
    const char *why = NULL;
    int rc = vs__datetime_parse(s, strlen(s), &us, &at, &why);
    ASSERT_MSG(rc == 0, "'%s' rejected at %zu: %s", s, at, why ? why : "?");
    return us;
}

/* Asserts that s[0..len) is rejected at byte `at` with a reason containing `why`. */
static void dt_bad_n(const char *s, size_t len, size_t at, const char *why) {
    int64_t us = 12345;
    size_t got = 9999;
    const char *reason = NULL;
    int rc = vs__datetime_parse(s, len, &us, &got, &reason);
    ASSERT_MSG(rc == -1, "'%s' accepted as %lld", s, (long long)us);
    ASSERT_MSG(got == at, "'%s': error at %zu, want %zu (%s)", s, got, at, reason);
    ASSERT_MSG(reason && strstr(reason, why), "'%s': reason '%s', want '%s'", s,
               reason ? reason : "(null)", why);
}
static void dt_bad(const char *s, size_t at, const char *why) { dt_bad_n(s, strlen(s), at, why); }

static uint64_t rng_next(uint64_t *x) { /* xorshift64* */
    *x ^= *x >> 12;
    *x ^= *x << 25;
    *x ^= *x >> 27;
    return *x * UINT64_C(2685821657736338717);
}

TEST(datetime, known_instants) {
    static const struct {
        const char *s;
        int64_t us;
    } cases[] = {
        {"1970-01-01", 0},
        {"1970-01-01T00:00:00Z", 0},
        {"2000-03-01T00:00:00Z", INT64_C(951868800) * SEC},
        {"2000-03-01", INT64_C(951868800) * SEC},
        {"1969-12-31T23:59:59.5Z", -500000},
        {"1969-12-31T23:59:59.999999Z", -1},
        {"1969-07-20T20:17:40Z", INT64_C(-14182940000000)},
        {"2024-03-10T10:00:00Z", INT64_C(1710064800000000)},
        {"2024-02-29T12:34:56.789Z", INT64_C(1709210096789000)},
        {"1900-03-01", INT64_C(-2203891200000000)},
        {"1899-12-31T23:59:59.999999Z", INT64_C(-2208988800000001)},
        {"1582-10-15", INT64_C(-12219292800000000)},
        {"0001-01-01", INT64_C(-62135596800000000)},
        /* year 0 is a leap year (proleptic Gregorian): 366 days before 0001-01-01 */
        {"0000-01-01T00:00:00Z", INT64_C(-62167219200000000)},
        {"0000-03-01", INT64_C(-62167219200000000) + INT64_C(60) * 86400 * SEC},
        {"9999-12-31T23:59:59.999999Z", INT64_C(253402300799999999)},
        {"2017-01-01T00:00:00Z", INT64_C(1483228800000000)},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t got = dt_ok(cases[i].s);
        ASSERT_MSG(got == cases[i].us, "'%s' = %lld, want %lld", cases[i].s, (long long)got,
                   (long long)cases[i].us);
    }
}

TEST(datetime, forms_and_offsets) {
    const int64_t t = INT64_C(1710064800000000); /* 2024-03-10T10:00:00Z */
    const char *same[] = {
        "2024-03-10T10:00:00Z",      "2024-03-10T10:00:00z",      "2024-03-10t10:00:00Z",
        "2024-03-10 10:00:00Z",      "2024-03-10T10:00Z",         "2024-03-10T10:00",
        "2024-03-10T10:00:00",       "2024-03-10T10:00:00.0Z",    "2024-03-10T10:00:00,000000000Z",
        "2024-03-10T12:00:00+02:00", "2024-03-10T12:00:00+0200",  "2024-03-10T12:00:00+02",
        "2024-03-10T12:00+02:00",    "2024-03-10T05:00:00-05:00", "2024-03-10T10:00:00+00:00",
        "2024-03-10T10:00:00-00:00", "2024-03-11T00:00:00+14:00", "2024-03-09T22:00:00-12:00",
        "2024-03-10T15:45:00+05:45", "2024-03-10T15:45:00+0545",  "2024-03-10T04:30:00-0530",
        "2024-03-10T23:59:00+13:59",
    };
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        int64_t got = dt_ok(same[i]);
        ASSERT_MSG(got == t, "'%s' = %lld, want %lld", same[i], (long long)got, (long long)t);
    }
    /* offsets cross day, month and year boundaries */
    ASSERT_EQ(dt_ok("2024-01-01T00:30:00+01:00"), dt_ok("2023-12-31T23:30:00Z"));
    ASSERT_EQ(dt_ok("2023-12-31T20:00:00-04:00"), dt_ok("2024-01-01T00:00:00Z"));
    ASSERT_EQ(dt_ok("2024-03-01T01:00+02:00"), dt_ok("2024-02-29T23:00Z"));
    /* an offset may take the instant just outside 0000..9999 */
    ASSERT_EQ(dt_ok("0000-01-01T00:00:00+01:00"), INT64_C(-62167219200000000) - 3600 * SEC);
    ASSERT_EQ(dt_ok("9999-12-31T23:00:00-01:00"), INT64_C(253402300800000000));
}

TEST(datetime, fractions) {
    static const struct {
        const char *frac;
        int64_t us;
    } cases[] = {
        {"1", 100000},      {"12", 120000},      {"123", 123000},
        {"1234", 123400},   {"12345", 123450},   {"123456", 123456},
        {"1234567", 123456}, {"12345678", 123456}, {"123456789", 123456},
        {"999999999", 999999}, {"000000999", 0},   {"0000001", 0},
    };
    const int64_t base = INT64_C(1710064800000000);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[64];
        for (int sep = 0; sep < 2; sep++) {
            snprintf(buf, sizeof buf, "2024-03-10T10:00:00%c%sZ", sep ? ',' : '.',
                     cases[i].frac);
            int64_t got = dt_ok(buf);
            ASSERT_MSG(got == base + cases[i].us, "'%s' = %lld, want %lld", buf,
                       (long long)got, (long long)(base + cases[i].us));
        }
    }
    /* truncation is of the local wall-clock value, before the offset: exact on both
     * sides of the epoch (a naive truncation of the UTC value toward zero would give
     * -0 instead of -1 µs here) */
    ASSERT_EQ(dt_ok("1969-12-31T23:59:59.9999999Z"), -1);
    ASSERT_EQ(dt_ok("1969-12-31T23:59:59.9999999-00:30"), INT64_C(1800) * SEC - 1);
    ASSERT_EQ(dt_ok("1970-01-01T00:29:59.9999999+00:30"), -1);
    ASSERT_EQ(dt_ok("1969-12-31T23:59:59,0000009Z"), -SEC);
}

TEST(datetime, calendar) {
    dt_ok("2024-02-29");
    dt_ok("2000-02-29");
    dt_ok("1600-02-29");
    dt_ok("0000-02-29");
    dt_bad("2023-02-29", 8, "day out of range for the month");
    dt_bad("1900-02-29", 8, "day out of range for the month");
    dt_bad("2100-02-29", 8, "day out of range for the month");
    dt_bad("2024-02-30", 8, "day out of range for the month");
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    for (int m = 1; m <= 12; m++) {
        char buf[32];
        snprintf(buf, sizeof buf, "2024-%02d-%02d", m, mdays[m - 1]);
        dt_ok(buf);
        snprintf(buf, sizeof buf, "2024-%02d-%02d", m, mdays[m - 1] + 1);
        dt_bad(buf, 8, "day out of range for the month");
    }
    /* consecutive days are 86400 s apart across month and year ends */
    ASSERT_EQ(dt_ok("2024-03-01") - dt_ok("2024-02-29"), 86400 * SEC);
    ASSERT_EQ(dt_ok("2000-01-01") - dt_ok("1999-12-31"), 86400 * SEC);
    ASSERT_EQ(dt_ok("2001-01-01") - dt_ok("2000-01-01"), 366 * 86400 * SEC);
    ASSERT_EQ(dt_ok("1901-01-01") - dt_ok("1900-01-01"), 365 * 86400 * SEC);
}

TEST(datetime, leap_second) {
    ASSERT_EQ(dt_ok("2016-12-31T23:59:60Z"), dt_ok("2017-01-01T00:00:00Z"));
    ASSERT_EQ(dt_ok("2016-12-31T23:59:60.5Z"), dt_ok("2017-01-01T00:00:00.5Z"));
    ASSERT_EQ(dt_ok("2017-01-01T00:59:60+01:00"), dt_ok("2017-01-01T00:00:00Z"));
    ASSERT_EQ(dt_ok("2024-06-30T12:30:60Z"), dt_ok("2024-06-30T12:31:00Z"));
    ASSERT_EQ(dt_ok("9999-12-31T23:59:60Z"), INT64_C(253402300800000000));
}

TEST(datetime, rejects) {
    dt_bad("", 0, "four-digit year");
    dt_bad_n(NULL, 0, 0, "four-digit year");
    dt_bad("2024", 4, "expected '-'");
    dt_bad("202", 3, "four-digit year");
    dt_bad("2024-1-01", 6, "two-digit month");
    dt_bad("2024-13-01", 5, "month out of range");
    dt_bad("2024-00-10", 5, "month out of range");
    dt_bad("2024-01-00", 8, "day out of range for the month");
    dt_bad("2024-04-31", 8, "day out of range for the month");
    dt_bad("2024-01-1", 9, "two-digit day");
    dt_bad("2024-01", 7, "expected '-'");
    dt_bad("2024/01/01", 4, "expected '-'");
    dt_bad("2024-01-01T", 11, "two-digit hour");
    dt_bad("2024-01-01T1:00", 12, "two-digit hour");
    dt_bad("2024-01-01T10", 13, "expected ':'");
    dt_bad("2024-01-01T10-00", 13, "expected ':'");
    dt_bad("2024-01-01T10:0", 15, "two-digit minutes");
    dt_bad("2024-01-01T24:00", 11, "hour out of range");
    dt_bad("2024-01-01T10:60", 14, "minute out of range");
    dt_bad("2024-01-01T10:00:", 17, "two-digit seconds");
    dt_bad("2024-01-01T10:00:61", 17, "second out of range");
    dt_bad("2024-01-01T10:00:99Z", 17, "second out of range");
    dt_bad("2024-01-01T10:00:00.", 20, "fraction needs at least one digit");
    dt_bad("2024-01-01T10:00:00,Z", 20, "fraction needs at least one digit");
    dt_bad("2024-01-01T10:00:00.1234567890Z", 29, "more than 9 digits");
    dt_bad("2024-01-01T10:00.5", 16, "trailing characters");
    dt_bad("2024-01-01T10:00:00+2400", 20, "offset hour out of range");
    dt_bad("2024-01-01T10:00:00+24:00", 20, "offset hour out of range");
    dt_bad("2024-01-01T10:00:00+05:60", 23, "offset minute out of range");
    dt_bad("2024-01-01T10:00:00+05:4", 24, "two-digit offset minutes");
    dt_bad("2024-01-01T10:00:00+054", 23, "two-digit offset minutes");
    dt_bad("2024-01-01T10:00:00+5", 21, "two-digit offset hour");
    dt_bad("2024-01-01T10:00:00+", 20, "two-digit offset hour");
    dt_bad("2024-01-01T10:00:00+05:", 23, "two-digit offset minutes");
    dt_bad("2024-01-01T10:00:00Z ", 20, "trailing characters");
    dt_bad("2024-01-01T10:00:00 ", 19, "trailing characters");
    dt_bad("2024-01-01T10:00:00 Z", 19, "trailing characters");
    dt_bad("2024-01-01T10:00:00Zjunk", 20, "trailing characters");
    dt_bad("2024-01-01T10:00:00+05:00Z", 25, "trailing characters");
    dt_bad("2024-01-01X", 10, "trailing characters");
    dt_bad("2024-01-01Z", 10, "trailing characters");     /* offsets need a time */
    dt_bad("2024-01-01+02:00", 10, "trailing characters");
    dt_bad("2024-01-01 ", 11, "two-digit hour");
    dt_bad("2024-01-01T10:00:00.5 ", 21, "trailing characters");
    dt_bad_n("2024-01-01\0T10:00", 16, 10, "trailing characters");
    dt_bad_n("2024-01-01T10:00:00\0", 20, 19, "trailing characters");
    dt_bad_n("20\0""24-01-01", 10, 2, "four-digit year");
    dt_bad("+2024-01-01", 0, "four-digit year");
    dt_bad("-0001-01-01", 0, "four-digit year");
    dt_bad("12024-01-01", 4, "expected '-'");
    dt_bad(" 2024-01-01", 0, "four-digit year");
    /* U+FF12 FULLWIDTH DIGIT TWO, U+0662 ARABIC-INDIC DIGIT TWO */
    dt_bad("\xef\xbc\x92" "024-01-01", 0, "four-digit year");
    dt_bad("2024-0\xd9\xa2-01", 6, "two-digit month");
    /* the length bounds the text: a valid prefix followed by more bytes is not read */
    int64_t us = 0;
    size_t at = 0;
    const char *why = NULL;
    ASSERT_EQ(vs__datetime_parse("2024-01-01T10:00:00Zxyz", 20, &us, &at, &why), 0);
    ASSERT_EQ(us, dt_ok("2024-01-01T10:00:00Z"));
    ASSERT_EQ(vs__datetime_parse("2024-01-01T10:00:00Z", 13, &us, &at, &why), -1);
    ASSERT_EQ(at, 13);
}

TEST(datetime, format) {
    char buf[VS__DATETIME_BUF];
    static const struct {
        int64_t us;
        const char *s;
    } cases[] = {
        {0, "1970-01-01T00:00:00Z"},
        {-500000, "1969-12-31T23:59:59.500000Z"},
        {-1, "1969-12-31T23:59:59.999999Z"},
        {1, "1970-01-01T00:00:00.000001Z"},
        {INT64_C(951868800) * SEC, "2000-03-01T00:00:00Z"},
        {INT64_C(1709210096789000), "2024-02-29T12:34:56.789000Z"},
        {INT64_C(-62167219200000000), "0000-01-01T00:00:00Z"},
        {INT64_C(253402300799999999), "9999-12-31T23:59:59.999999Z"},
        /* clamped to the ends of 0000..9999 */
        {INT64_MIN, "0000-01-01T00:00:00Z"},
        {INT64_C(-62167219200000001), "0000-01-01T00:00:00Z"},
        {INT64_MAX, "9999-12-31T23:59:59.999999Z"},
        {INT64_C(253402300800000000), "9999-12-31T23:59:59.999999Z"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = vs__datetime_format(cases[i].us, buf, sizeof buf);
        ASSERT_STREQ(buf, cases[i].s);
        ASSERT_EQ(n, strlen(cases[i].s));
    }
    /* a short buffer is cut, NUL-terminated, and the length says what was written */
    char small[8];
    ASSERT_EQ(vs__datetime_format(0, small, sizeof small), 7);
    ASSERT_STREQ(small, "1970-01");
}

TEST(datetime, random_round_trip) {
    uint64_t x = vt_seed() * UINT64_C(0x9E3779B97F4A7C15) | 1;
    const int64_t lo = INT64_C(-62167219200000000), hi = INT64_C(253402300799999999);
    const uint64_t span = (uint64_t)(hi - lo) + 1;
    int n = vt_long() ? 2000000 : 200000;
    for (int i = 0; i < n; i++) {
        uint64_t r = rng_next(&x);
        int64_t us = lo + (int64_t)(r % span);
        if (i & 1) us -= us % SEC; /* half whole seconds: the no-fraction form */
        char buf[VS__DATETIME_BUF];
        size_t len = vs__datetime_format(us, buf, sizeof buf);
        int64_t back = 0;
        size_t at = 0;
        const char *why = NULL;
        int rc = vs__datetime_parse(buf, len, &back, &at, &why);
        ASSERT_MSG(rc == 0 && back == us, "seed %u: %lld -> '%s' -> rc %d %lld (%s)", vt_seed(),
                   (long long)us, buf, rc, (long long)back, why ? why : "");
    }
}

TEST(datetime, differential_timegm) {
    /* timegm is UTC by definition; glibc's 64-bit time_t covers years 0..9999 */
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    uint64_t x = vt_seed() * UINT64_C(0xD1B54A32D192ED03) | 1;
    int n = vt_long() ? 1000000 : 100000;
    for (int i = 0; i < n; i++) {
        int y = (int)(rng_next(&x) % 10000), mo = 1 + (int)(rng_next(&x) % 12);
        int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        int md = mdays[mo - 1] + (mo == 2 && leap);
        int d = 1 + (int)(rng_next(&x) % (uint64_t)md);
        int hh = (int)(rng_next(&x) % 24), mi = (int)(rng_next(&x) % 60);
        int ss = (int)(rng_next(&x) % 60);
        int oh = (int)(rng_next(&x) % 24), om = (int)(rng_next(&x) % 60);
        int sign = (rng_next(&x) & 1) ? 1 : -1;
        if (i % 4 == 0) oh = om = 0;
        struct tm tm = {0};
        tm.tm_year = y - 1900;
        tm.tm_mon = mo - 1;
        tm.tm_mday = d;
        tm.tm_hour = hh;
        tm.tm_min = mi;
        tm.tm_sec = ss;
        int64_t want = ((int64_t)timegm(&tm) - sign * (oh * 3600 + om * 60)) * SEC;
        char buf[64];
        snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", y, mo, d, hh, mi,
                 ss, sign > 0 ? '+' : '-', oh, om);
        int64_t got = dt_ok(buf);
        ASSERT_MSG(got == want, "seed %u: '%s' = %lld, timegm says %lld", vt_seed(), buf,
                   (long long)got, (long long)want);
    }
}

/* ---------------------------------------------------------------- regex ---- */

static vs__regex *rx_get(const char *pat, size_t len) {
    vs__regex *r = NULL;
    vs__err e = {0};
    int rc = vs__regex_get(pat, len, &r, NULL, &e);
    ASSERT_MSG(rc == VS_OK && r, "pattern '%s': %s: %s", pat, vs_errname(rc), e.msg);
    return r;
}

/* match(pat, subj) with an explicit subject length; asserts no error. */
static int rx_match_n(const char *pat, const char *subj, size_t len) {
    vs__regex *r = rx_get(pat, strlen(pat));
    vs__regex_scratch *s = NULL;
    vs__err e = {0};
    int m = vs__regex_match(r, subj, len, &s, &e);
    vs__regex_scratch_free(s);
    vs__regex_put(r);
    ASSERT_MSG(m == 0 || m == 1, "'%s' on '%s': %s: %s", pat, subj, vs_errname(m), e.msg);
    return m;
}
static int rx_match(const char *pat, const char *subj) {
    return rx_match_n(pat, subj, strlen(subj));
}

/* Runs fn once with the JIT (when the platform has one) and once on the interpreter. */
static void both_matchers(void (*fn)(int jit)) {
    vs__regex_cache_clear();
    fn(1);
    setenv("VS_REGEX_JIT", "0", 1);
    vs__regex_cache_clear();
    fn(0);
    unsetenv("VS_REGEX_JIT");
    vs__regex_cache_clear();
}

static int g_have_jit = -1;
static void check_jit_flag(int jit) {
    vs__regex *r = rx_get("x+", 2);
    int j = vs__regex_jit(r);
    vs__regex_put(r);
    if (jit) g_have_jit = j;
    else ASSERT_MSG(!j, "VS_REGEX_JIT=0 still compiled with the JIT");
}

TEST(regex, jit_switch) {
    both_matchers(check_jit_flag);
    vt_note("JIT %s", g_have_jit ? "available and used" : "not available: interpreter only");
}

static void basics(int jit) {
    ASSERT_EQ(rx_match("ab+c", "xxabbbcyy"), 1);
    ASSERT_EQ(rx_match("ab+c", "xxacyy"), 0);
    ASSERT_EQ(rx_match("", "anything"), 1);
    ASSERT_EQ(rx_match("", ""), 1);
    ASSERT_EQ(rx_match("^$", ""), 1);
    ASSERT_EQ(rx_match("a", ""), 0);
    ASSERT_EQ(rx_match("\\d{3}-\\d{4}", "call 555-1234 now"), 1);
    ASSERT_EQ(rx_match("\\d{3}-\\d{4}", "call 55-1234 now"), 0);
    ASSERT_EQ(rx_match("colou?r", "COLOR"), 0);
    ASSERT_EQ(rx_match("(?i)colou?r", "COLOR"), 1);
    /* anchors: ^/$ are the subject's ends ($ also before a final newline), no multiline */
    ASSERT_EQ(rx_match("^abc$", "abc"), 1);
    ASSERT_EQ(rx_match("^abc$", "xabc"), 0);
    ASSERT_EQ(rx_match("^abc$", "abcx"), 0);
    ASSERT_EQ(rx_match("^abc$", "abc\n"), 1);
    ASSERT_EQ(rx_match("\\Aabc\\z", "abc\n"), 0);
    ASSERT_EQ(rx_match("^b", "a\nb"), 0);
    ASSERT_EQ(rx_match("(?m)^b", "a\nb"), 1);
    ASSERT_EQ(rx_match("\\bcat\\b", "a cat!"), 1);
    ASSERT_EQ(rx_match("\\bcat\\b", "concatenate"), 0);
    /* NUL bytes in subject and pattern are ordinary bytes */
    ASSERT_EQ(rx_match_n("b$", "a\0b", 3), 1);
    vs__regex *r = rx_get("a\0b", 3);
    vs__regex_scratch *s = NULL;
    vs__err e = {0};
    ASSERT_EQ(vs__regex_match(r, "xa\0by", 5, &s, &e), 1);
    ASSERT_EQ(vs__regex_match(r, "ab", 2, &s, &e), 0);
    ASSERT_EQ(vs__regex_match(r, NULL, 0, &s, &e), 0);
    vs__regex_scratch_free(s);
    vs__regex_put(r);
    vs__regex_put(NULL);
    vs__regex_scratch_free(NULL);
}
TEST(regex, basics) { both_matchers(basics); }

static void unicode(int jit) {
    ASSERT_EQ(rx_match("^\\p{L}+$", "h\xc3\xa9llo"), 1);              /* héllo */
    ASSERT_EQ(rx_match("^\\p{L}+$", "hello1"), 0);
    ASSERT_EQ(rx_match("^\\p{Han}+$", "\xe6\xbc\xa2\xe5\xad\x97"), 1); /* 漢字 */
    ASSERT_EQ(rx_match("^\\p{Lu}", "\xc3\x89t\xc3\xa9"), 1);          /* Été */
    ASSERT_EQ(rx_match("^\\p{Lu}", "\xc3\xa9t\xc3\xa9"), 0);          /* été */
    ASSERT_EQ(rx_match("^.$", "\xc3\xa9"), 1);       /* one character, two bytes */
    ASSERT_EQ(rx_match("^..$", "\xc3\xa9"), 0);
    ASSERT_EQ(rx_match("^.$", "\xf0\x9f\x98\x80"), 1); /* U+1F600, four bytes */
    /* UCP: \w, \d and \b know Unicode */
    ASSERT_EQ(rx_match("^\\w+$", "\xd0\xb6\xd1\x83\xd0\xba"), 1);     /* жук */
    ASSERT_EQ(rx_match("^\\d$", "\xd9\xa2"), 1);                      /* ARABIC-INDIC 2 */
    /* case-insensitive matching folds beyond ASCII */
    ASSERT_EQ(rx_match("(?i)h\xc3\xa9llo", "H\xc3\x89LLO"), 1);
    ASSERT_EQ(rx_match("h\xc3\xa9llo", "H\xc3\x89LLO"), 0);
    ASSERT_EQ(rx_match("(?i)\xce\xa3", "\xcf\x83"), 1); /* Σ ~ σ */
    /* a character class holds characters, not bytes */
    ASSERT_EQ(rx_match("^[\xc3\xa9\xc3\xa8]+$", "\xc3\xa8\xc3\xa9"), 1);
}
TEST(regex, unicode) { both_matchers(unicode); }

static void invalid_utf8_subject(int jit) {
    /* PCRE2_MATCH_INVALID_UTF: no pattern item matches an invalid sequence (not '.', not
     * a negated class), and the valid stretches around one match as usual */
    ASSERT_EQ(rx_match("b", "a\xff" "b"), 1);
    ASSERT_EQ(rx_match("a.b", "a\xff" "b"), 0);
    ASSERT_EQ(rx_match("a[^x]b", "a\xff" "b"), 0);
    ASSERT_EQ(rx_match("^.*$", "a\xff"), 0);
    ASSERT_EQ(rx_match("^a", "a\xc3"), 1);               /* truncated sequence after it */
    ASSERT_EQ(rx_match(".", "\xc3"), 0);                 /* truncated two-byte sequence */
    ASSERT_EQ(rx_match(".", "\x80\xbf"), 0);             /* lone continuation bytes */
    ASSERT_EQ(rx_match("/", "\xc0\xaf"), 0);             /* overlong '/' */
    ASSERT_EQ(rx_match(".", "\xed\xa0\x80"), 0);         /* UTF-16 surrogate */
    ASSERT_EQ(rx_match(".", "\xf4\x90\x80\x80"), 0);     /* beyond U+10FFFF */
    ASSERT_EQ(rx_match("\\xff", "\xff"), 0);             /* U+00FF is not the byte 0xFF */
    ASSERT_EQ(rx_match("\\xff", "\xc3\xbf"), 1);
    ASSERT_EQ(rx_match("\\x{e9}", "\xff\xc3\xa9"), 1);
    /* random bytes: never a crash, and an ASCII byte (always a valid sequence) is found
     * exactly when present */
    uint64_t x = vt_seed() * UINT64_C(0x2545F4914F6CDD1D) | 1;
    vs__regex *ascii = rx_get("[\\x00-\\x7f]", 11), *any = rx_get("(?s).+", 6);
    vs__regex_scratch *s = NULL;
    vs__err e = {0};
    for (int i = 0; i < 20000; i++) {
        unsigned char b[16];
        size_t n = 1 + rng_next(&x) % sizeof b;
        int has_ascii = 0;
        for (size_t k = 0; k < n; k++) {
            b[k] = (unsigned char)(rng_next(&x) >> 56);
            if (i & 1) b[k] |= 0x80; /* half the subjects: no ASCII at all */
            has_ascii |= b[k] < 0x80;
        }
        int m = vs__regex_match(ascii, (const char *)b, n, &s, &e);
        ASSERT_MSG(m == has_ascii, "seed %u: ascii match %d, want %d", vt_seed(), m, has_ascii);
        m = vs__regex_match(any, (const char *)b, n, &s, &e);
        ASSERT_MSG(m == 0 || m == 1, "seed %u: %s", vt_seed(), e.msg);
        if (has_ascii) ASSERT_EQ(m, 1);
    }
    vs__regex_scratch_free(s);
    vs__regex_put(ascii);
    vs__regex_put(any);
}
TEST(regex, invalid_utf8_subject) { both_matchers(invalid_utf8_subject); }

static void bad_one(const char *pat, size_t len, size_t at, const char *why) {
    vs__regex *r = (vs__regex *)&r; /* must be reset to NULL */
    vs__err e = {0};
    size_t got = 9999;
    int rc = vs__regex_get(pat, len, &r, &got, &e);
    ASSERT_MSG(rc == VS_EFILTER, "'%s': %s, want VS_EFILTER", pat, vs_errname(rc));
    ASSERT(r == NULL);
    ASSERT_MSG(got == at, "'%s': offset %zu, want %zu (%s)", pat, got, at, e.msg);
    ASSERT_CONTAINS(e.msg, why);
    /* err_at is optional */
    ASSERT_RC(vs__regex_get(pat, len, &r, NULL, &e), VS_EFILTER);
}

TEST(regex, bad_patterns) {
    bad_one("a(b", 3, 3, "bad regex at offset 3: missing closing parenthesis");
    bad_one("[z-a]", 5, 3, "bad regex at offset 3: range out of order");
    bad_one("abc\\", 4, 4, "bad regex at offset 4: ");
    bad_one("x{2,1}", 6, 5, "bad regex at offset 5: ");
    bad_one("(?<n>a)(?<n>b)", 14, 12, "bad regex at offset 12: ");
    bad_one("ab\xff" "c", 4, 2, "bad regex at offset 2: UTF-8 error");  /* pattern must be UTF-8 */
    bad_one("\\C", 2, 2, "bad regex at offset 2: ");                  /* disabled: splits chars */
    bad_one("a\0(", 3, 3, "bad regex at offset 3: ");                  /* NUL is a literal */
    /* the length limit */
    static char big[VS__REGEX_MAX + 2];
    memset(big, 'a', sizeof big);
    bad_one(big, VS__REGEX_MAX + 1, VS__REGEX_MAX, "4096");
    vs__regex *r = rx_get(big, VS__REGEX_MAX);
    big[VS__REGEX_MAX] = 0;
    vs__regex_scratch *s = NULL;
    vs__err e = {0};
    ASSERT_EQ(vs__regex_match(r, big, VS__REGEX_MAX, &s, &e), 1);
    ASSERT_EQ(vs__regex_match(r, big, VS__REGEX_MAX - 1, &s, &e), 0);
    vs__regex_scratch_free(s);
    vs__regex_put(r);
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* pattern on subj must fail with VS_ELIMIT and a message containing want (when the
 * matcher is the one that message belongs to); returns after checking the scratch still
 * works. */
static void limit_one(const char *pat, const char *subj, size_t len, const char *want_jit,
                      const char *want_interp) {
    vs__regex *r = rx_get(pat, strlen(pat));
    vs__regex_scratch *s = NULL;
    vs__err e = {0};
    double t0 = now_s();
    int rc = vs__regex_match(r, subj, len, &s, &e);
    double dt = now_s() - t0;
    int jit = vs__regex_jit(r);
    vs__regex_put(r);
    if (rc != VS_ELIMIT) vs__regex_scratch_free(s);
    ASSERT_MSG(rc == VS_ELIMIT, "'%.30s' (jit %d): %s, want VS_ELIMIT", pat, jit, vs_errname(rc));
    ASSERT_CONTAINS(e.msg, jit ? want_jit : want_interp);
    ASSERT_MSG(dt < 5.0, "'%s' took %.2f s to give up", pat, dt);
    /* the scratch is fine for the next match */
    vs__regex *ok = rx_get("a+!", 3);
    rc = vs__regex_match(ok, "aaa!", 4, &s, &e);
    vs__regex_put(ok);
    vs__regex_scratch_free(s);
    ASSERT_EQ(rc, 1);
}

static char g_aaa[300001];

static void limits(int jit) {
    memset(g_aaa, 'a', sizeof g_aaa - 1);
    char subj[64];
    /* exponential backtracking: 2^40 ways to split the a's */
    memset(subj, 'a', 40);
    memcpy(subj + 40, "!", 2);
    limit_one("(a+)+$", subj, 41,
              "regex match limit reached (1000000 steps) for pattern '(a+)+$'",
              "regex match limit reached (1000000 steps) for pattern '(a+)+$'");
    memcpy(subj + 40, "cb", 3); /* the required 'b' is there, so the search is not skipped */
    limit_one("(a|aa)+b", subj, 42, "match limit reached", "match limit reached");
    /* deep but linear backtracking: a frame (or JIT stack slot) per character */
    limit_one("^(.)*[0-9]", g_aaa, 300000, "regex stack limit reached (1024 KiB)",
              "regex depth limit reached (10000 frames)");
    /* big frames (61 capture groups) exhaust the interpreter's heap before its depth */
    char big[256] = "^(?:(.)";
    for (int i = 0; i < 60; i++) strcat(big, "()");
    strcat(big, ")*[0-9]");
    limit_one(big, g_aaa, 9000, "regex stack limit reached", "regex heap limit reached (8192 KiB)");
    /* long patterns are quoted cut short */
    vs__regex *r = rx_get(big, strlen(big));
    vs__regex_scratch *s = NULL;
    vs__err e = {0};
    ASSERT_RC(vs__regex_match(r, g_aaa, 9000, &s, &e), VS_ELIMIT);
    ASSERT_CONTAINS(e.msg, "()()(...'"); /* 48 bytes */
    ASSERT(strlen(e.msg) < 200);
    vs__regex_scratch_free(s);
    vs__regex_put(r);
    /* the same subjects within the limits still match */
    ASSERT_EQ(rx_match_n("^(.)*[0-9]", "aaaa1", 5), 1);
    ASSERT_EQ(rx_match("(a+)+$", "aaaa"), 1);
}
TEST(regex, limits) {
    double t0 = now_s();
    both_matchers(limits);
    vt_note("all limits reached on both matchers in %.3f s", now_s() - t0);
}

TEST(regex, cache_sharing) {
    vs__regex_cache_clear();
    vs__regex *a = rx_get("abc", 3), *b = rx_get("abc", 3);
    ASSERT(a == b);
    vs__regex *c = rx_get("abcd", 4), *d = rx_get("abc\0", 4), *f = rx_get("ab", 2);
    ASSERT(c != a && d != a && d != c && f != a);
    vs__regex_put(a);
    vs__regex_put(b);
    /* unheld but still cached: the same compilation comes back */
    vs__regex *a2 = rx_get("abc", 3);
    ASSERT(a2 == a);
    vs__regex_put(a2);
    /* a cleared cache lets holders keep theirs; the next get compiles afresh */
    vs__regex_cache_clear();
    vs__regex *c2 = rx_get("abcd", 4);
    ASSERT(c2 != c);
    vs__regex_scratch *s = NULL;
    vs__err e = {0};
    ASSERT_EQ(vs__regex_match(c, "xabcd", 5, &s, &e), 1);
    ASSERT_EQ(vs__regex_match(c2, "xabcd", 5, &s, &e), 1);
    vs__regex_scratch_free(s);
    vs__regex_put(c);
    vs__regex_put(c2);
    vs__regex_put(d);
    vs__regex_put(f);
}

static void get_put(const char *fmt, int i) {
    char p[32];
    snprintf(p, sizeof p, fmt, i);
    vs__regex_put(rx_get(p, strlen(p)));
}

TEST(regex, cache_lru_eviction) {
    vs__regex_cache_clear();
    vs__regex *held = rx_get("held-(\\d+)", 10), *f0 = rx_get("fill-0", 6);
    for (int i = 1; i < VS__REGEX_CACHE - 1; i++) get_put("fill-%d", i); /* cache now full */
    vs__regex *t = rx_get("held-(\\d+)", 10); /* a hit makes it the newest */
    ASSERT(t == held);
    vs__regex_put(t);
    get_put("fill-%d", VS__REGEX_CACHE - 1); /* evicts the oldest: fill-0, held or not */
    t = rx_get("held-(\\d+)", 10);
    ASSERT(t == held);
    vs__regex_put(t);
    vs__regex *g0 = rx_get("fill-0", 6);
    ASSERT(g0 != f0); /* recompiled: f0 left the cache but is alive under its holder */
    vs__regex_scratch *s = NULL;
    vs__err e = {0};
    ASSERT_EQ(vs__regex_match(f0, "a fill-0", 8, &s, &e), 1);
    vs__regex_put(f0); /* its last holder: freed now */
    vs__regex_put(g0);
    /* push everything else out: held is evicted but stays usable */
    for (int i = 0; i < VS__REGEX_CACHE; i++) get_put("more-%d", i);
    t = rx_get("held-(\\d+)", 10);
    ASSERT(t != held);
    ASSERT_EQ(vs__regex_match(held, "held-42", 7, &s, &e), 1);
    ASSERT_EQ(vs__regex_match(t, "held-x", 6, &s, &e), 0);
    vs__regex_put(t);
    vs__regex_put(held);
    vs__regex_scratch_free(s);
}

typedef struct {
    vs__regex *r;
    int id, iters;
    int matches, errors, wrong;
} rx_thread;

#define RX_EMAIL "^([\\w.]+)@(\\w+)\\.com$"

static void *rx_worker(void *arg) {
    rx_thread *t = arg;
    vs__regex_scratch *s = NULL;
    vs__err e = {0};
    char subj[64];
    for (int i = 0; i < t->iters; i++) {
        int len = snprintf(subj, sizeof subj, "user%d.%d@h\xc3\xb4st.%s", t->id, i,
                           i % 3 ? "com" : "org");
        int m = vs__regex_match(t->r, subj, (size_t)len, &s, &e);
        if (m < 0) t->errors++;
        else if (m != (i % 3 != 0)) t->wrong++;
        else t->matches += m;
        if (i % 16 == 0) { /* the cache under contention, with evictions */
            char p[32];
            snprintf(p, sizeof p, "t%d-(%d)", t->id, i % 300);
            vs__regex *r = NULL;
            if (vs__regex_get(p, strlen(p), &r, NULL, &e)) t->errors++;
            vs__regex *same = NULL;
            if (vs__regex_get(RX_EMAIL, strlen(RX_EMAIL), &same, NULL, &e)) t->errors++;
            else if (same != t->r) t->wrong++;
            vs__regex_put(same);
            vs__regex_put(r);
        }
    }
    vs__regex_scratch_free(s);
    return NULL;
}

TEST(regex, threads_share_a_pattern) {
    vs__regex_cache_clear();
    vs__regex *r = rx_get(RX_EMAIL, strlen(RX_EMAIL));
    rx_thread t[2] = {{r, 0, 30000, 0, 0, 0}, {r, 1, 30000, 0, 0, 0}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++) ASSERT_EQ(pthread_create(&th[i], NULL, rx_worker, &t[i]), 0);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    vs__regex_put(r);
    for (int i = 0; i < 2; i++) {
        ASSERT_EQ(t[i].errors, 0);
        ASSERT_EQ(t[i].wrong, 0);
        ASSERT_EQ(t[i].matches, 20000);
    }
}

/* Fails each allocation of get + match + put + scratch_free in turn (cold cache, cold
 * scratch) until a run needs no injected failure: every failure must be VS_ENOMEM and
 * leave nothing behind. A failed JIT compilation is not an error (the interpreter takes
 * over), so a run may also succeed with an allocation failed. */
static void alloc_sweep(int jit) {
    static const char pat[] = "^(\\w+)\\s+(\\d+)(?:\\s+\\p{L}+)*$";
    static const char subj[] = "h\xc3\xa9llo   123 w\xc3\xb6rld again";
    int steps = 0, oom_get = 0, oom_match = 0, ok = 0;
    for (int64_t n = 1; n < 100000; n++) {
        vs__regex_cache_clear();
        int64_t base = vs__alloc_live(), f0 = vs__alloc_failures();
        vs__regex *r = NULL;
        vs__regex_scratch *s = NULL;
        vs__err e = {0};
        vs__alloc_fail_after(n);
        int rc = vs__regex_get(pat, sizeof pat - 1, &r, NULL, &e), m = -999;
        if (rc == VS_OK) m = vs__regex_match(r, subj, sizeof subj - 1, &s, &e);
        vs__regex_put(r);
        vs__regex_scratch_free(s);
        vs__alloc_fail_after(0);
        vs__regex_cache_clear();
        int injected = vs__alloc_failures() != f0;
        steps++;
        ASSERT_MSG(vs__alloc_live() == base, "failing allocation %lld leaked %lld", (long long)n,
                   (long long)(vs__alloc_live() - base));
        if (rc != VS_OK) {
            ASSERT_MSG(rc == VS_ENOMEM && r == NULL, "failing allocation %lld: get gave %s: %s",
                       (long long)n, vs_errname(rc), e.msg);
            oom_get++;
        } else if (m != 1) {
            ASSERT_MSG(m == VS_ENOMEM, "failing allocation %lld: match gave %s: %s",
                       (long long)n, vs_errname(m), e.msg);
            oom_match++;
        } else {
            ok++;
        }
        if (!injected) break;
    }
    ASSERT_MSG(ok >= 1 && oom_get >= 1 && oom_match >= 1,
               "steps %d: get ENOMEM %d, match ENOMEM %d, ok %d", steps, oom_get, oom_match, ok);
    vt_note("%s: %d allocation sites, %d failed in get, %d in match, %d absorbed",
            jit ? "default" : "interpreter", steps - 1, oom_get, oom_match, ok - 1);
}
TEST(regex, alloc_failure_sweep) { both_matchers(alloc_sweep); }
