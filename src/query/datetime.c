/*
 * datetime.c — strict ISO 8601 / RFC 3339 text to UTC microseconds and back.
 *
 * The grammar is in datetime.h. Why our own code rather than strptime/timegm/mktime:
 * strptime is locale-aware and lenient (it skips spaces, accepts one-digit fields and
 * does not check month lengths), mktime reads the process time zone, and timegm depends
 * on the width of time_t and knows nothing of years before 1970 on some libcs. Here the
 * calendar is pure integer arithmetic on the proleptic Gregorian calendar:
 *
 *   days_from_civil / civil_from_days are H. Hinnant's algorithms ("chrono-Compatible
 *   Low-Level Date Algorithms"): shift the year to start on 1 March so the leap day is
 *   the last day of the year, then count 400-year eras of 146097 days. Exact for every
 *   year we accept, including negative day counts (years before 1970).
 *
 * Exactness: the wall-clock value (date, time, fraction truncated to microseconds) is
 * computed first and the offset subtracted afterwards. Since the fraction only ever adds
 * a non-negative amount to a whole second, truncating it is truncation of the local
 * instant; an offset is a whole number of minutes, so subtracting it loses nothing. Years
 * 0000..9999 span about ±2.6e17 µs, far inside int64.
 *
 * Errors report the offset of the first byte that cannot be part of a valid datetime
 * (len when the text ends early) and a static reason; a field that is well formed but
 * out of range (month 13) is reported at its first digit.
 */
#include "query/datetime.h"

#include <stdio.h>

#define US_PER_SEC INT64_C(1000000)
#define SEC_PER_DAY INT64_C(86400)
/* 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z, the ends of the format's range. */
#define DT_MIN_US (INT64_C(-62167219200) * US_PER_SEC)
#define DT_MAX_US (INT64_C(253402300800) * US_PER_SEC - 1)

typedef struct dtscan {
    const unsigned char *p;
    size_t n, i;
    const char *why;
} dtscan;

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

static int dt_fail(dtscan *s, size_t at, const char *why) {
    s->i = at;
    s->why = why;
    return -1;
}

/* Exactly `width` ASCII digits into *v; on failure points at the first non-digit. */
static int dt_digits(dtscan *s, int width, int *v, const char *why) {
    int x = 0;
    for (int k = 0; k < width; k++) {
        if (s->i >= s->n || !is_digit(s->p[s->i])) return dt_fail(s, s->i, why);
        x = x * 10 + (s->p[s->i++] - '0');
    }
    *v = x;
    return 0;
}

static int dt_expect(dtscan *s, char c, const char *why) {
    if (s->i >= s->n || s->p[s->i] != (unsigned char)c) return dt_fail(s, s->i, why);
    s->i++;
    return 0;
}

static int is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int month_days(int y, int m) {
    static const unsigned char d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : d[m - 1];
}

/* Days since 1970-01-01 of the proleptic Gregorian date y-m-d (Hinnant). */
static int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;                                   /* [0, 399] */
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;  /* [0, 365] */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

/* Inverse of days_from_civil. */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d) {
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* time := hh ':' mm [ ':' ss [ ('.' | ',') fraction ] ]; *sec is seconds of the day
 * (86400 for 23:59:60), *frac microseconds. */
static int dt_time(dtscan *s, int64_t *sec, int64_t *frac) {
    int hh, mm, ss = 0;
    size_t at = s->i;
    if (dt_digits(s, 2, &hh, "expected a two-digit hour")) return -1;
    if (hh > 23) return dt_fail(s, at, "hour out of range");
    if (dt_expect(s, ':', "expected ':'")) return -1;
    at = s->i;
    if (dt_digits(s, 2, &mm, "expected two-digit minutes")) return -1;
    if (mm > 59) return dt_fail(s, at, "minute out of range");
    *frac = 0;
    if (s->i < s->n && s->p[s->i] == ':') {
        s->i++;
        at = s->i;
        if (dt_digits(s, 2, &ss, "expected two-digit seconds")) return -1;
        if (ss > 60) return dt_fail(s, at, "second out of range");
        if (s->i < s->n && (s->p[s->i] == '.' || s->p[s->i] == ',')) {
            s->i++;
            int nd = 0;
            int64_t f = 0;
            while (s->i < s->n && is_digit(s->p[s->i])) {
                if (nd == 9) return dt_fail(s, s->i, "fraction has more than 9 digits");
                if (nd < 6) f = f * 10 + (s->p[s->i] - '0'); /* digits 7..9 truncated */
                nd++;
                s->i++;
            }
            if (nd == 0) return dt_fail(s, s->i, "fraction needs at least one digit");
            for (; nd < 6; nd++) f *= 10;
            *frac = f;
        }
    }
    *sec = (int64_t)hh * 3600 + mm * 60 + ss;
    return 0;
}

/* offset := 'Z' | 'z' | ('+' | '-') hh [ [':'] mm ]; *sec is east of UTC. */
static int dt_offset(dtscan *s, int64_t *sec) {
    *sec = 0;
    if (s->i >= s->n) return 0;
    unsigned char c = s->p[s->i];
    if (c == 'Z' || c == 'z') {
        s->i++;
        return 0;
    }
    if (c != '+' && c != '-') return 0; /* the caller reports what follows */
    s->i++;
    int hh, mm = 0;
    size_t at = s->i;
    if (dt_digits(s, 2, &hh, "expected a two-digit offset hour")) return -1;
    if (hh > 23) return dt_fail(s, at, "offset hour out of range");
    if (s->i < s->n && (s->p[s->i] == ':' || is_digit(s->p[s->i]))) {
        if (s->p[s->i] == ':') s->i++;
        at = s->i;
        if (dt_digits(s, 2, &mm, "expected two-digit offset minutes")) return -1;
        if (mm > 59) return dt_fail(s, at, "offset minute out of range");
    }
    *sec = (int64_t)(hh * 3600 + mm * 60) * (c == '-' ? -1 : 1);
    return 0;
}

int vs__datetime_parse(const char *str, size_t len, int64_t *us, size_t *err_at,
                       const char **why) {
    dtscan s = {(const unsigned char *)str, str ? len : 0, 0, NULL};
    int y, m, d;
    int64_t sec = 0, frac = 0, off = 0;
    size_t at;
    if (dt_digits(&s, 4, &y, "expected a four-digit year")) goto fail;
    if (dt_expect(&s, '-', "expected '-'")) goto fail;
    at = s.i;
    if (dt_digits(&s, 2, &m, "expected a two-digit month")) goto fail;
    if (m < 1 || m > 12) {
        dt_fail(&s, at, "month out of range");
        goto fail;
    }
    if (dt_expect(&s, '-', "expected '-'")) goto fail;
    at = s.i;
    if (dt_digits(&s, 2, &d, "expected a two-digit day")) goto fail;
    if (d < 1 || d > month_days(y, m)) {
        dt_fail(&s, at, "day out of range for the month");
        goto fail;
    }
    if (s.i < s.n && (s.p[s.i] == 'T' || s.p[s.i] == 't' || s.p[s.i] == ' ')) {
        s.i++;
        if (dt_time(&s, &sec, &frac)) goto fail;
        if (dt_offset(&s, &off)) goto fail;
    }
    if (s.i != s.n) {
        dt_fail(&s, s.i, "trailing characters");
        goto fail;
    }
    *us = ((days_from_civil(y, m, d) * SEC_PER_DAY + sec - off) * US_PER_SEC) + frac;
    return 0;
fail:
    if (err_at) *err_at = s.i;
    if (why) *why = s.why;
    return -1;
}

size_t vs__datetime_format(int64_t us, char *buf, size_t cap) {
    if (us < DT_MIN_US) us = DT_MIN_US;
    if (us > DT_MAX_US) us = DT_MAX_US;
    /* floor division: the day and the time of day of an instant before 1970 */
    int64_t days = us / (SEC_PER_DAY * US_PER_SEC);
    int64_t rem = us % (SEC_PER_DAY * US_PER_SEC);
    if (rem < 0) {
        rem += SEC_PER_DAY * US_PER_SEC;
        days--;
    }
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    int64_t secs = rem / US_PER_SEC, frac = rem % US_PER_SEC;
    int n;
    if (frac)
        n = snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", (int)y, m, d,
                     (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60), (int)frac);
    else
        n = snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02dZ", (int)y, m, d,
                     (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
    if (n < 0) n = 0;
    /* with a short buffer, what was written (snprintf's count is what would have been) */
    if (cap && (size_t)n >= cap) n = (int)(cap - 1);
    if (!cap) n = 0;
    return (size_t)n;
}
