/*
 * datetime.h — ISO 8601 / RFC 3339 datetimes as UTC microseconds.
 *
 * Filters compare datetimes as instants: every accepted text is normalised to the number
 * of microseconds since 1970-01-01T00:00:00Z (negative before), so "2024-03-10T12:00:00+02:00"
 * and "2024-03-10T10:00:00Z" are the same value. The grammar (strict, no locale):
 *
 *   datetime := date [ ('T' | 't' | ' ') time [ offset ] ]
 *   date     := YYYY '-' MM '-' DD            years 0000..9999, real month lengths,
 *                                             29 February only in leap years
 *   time     := hh ':' mm [ ':' ss [ ('.' | ',') fraction ] ]
 *                                             hh 00..23, mm 00..59, ss 00..60
 *   fraction := 1..9 digits                   truncated to microseconds
 *   offset   := 'Z' | 'z' | ('+' | '-') hh [ [':'] mm ]     hh 00..23, mm 00..59
 *
 *   - No offset (or a date alone, which means 00:00:00) is UTC: the store has no time
 *     zone of its own, and a local-time default would make results depend on where the
 *     server runs. Daylight saving never enters: only explicit offsets do.
 *   - A leap second (ss = 60) is accepted as RFC 3339 allows and counted as the first
 *     second of the next minute (POSIX time has no leap seconds).
 *   - Nothing may follow the datetime (no trailing spaces).
 */
#ifndef VS_QUERY_DATETIME_H
#define VS_QUERY_DATETIME_H

#include <stddef.h>
#include <stdint.h>

/* Parses s[0..len). 0 with *us set, or -1 with the byte offset of the first bad byte
 * (*err_at, may be len when the text ends early) and a static reason (*why). */
int vs__datetime_parse(const char *s, size_t len, int64_t *us, size_t *err_at, const char **why);

/* Writes us as "YYYY-MM-DDThh:mm:ss[.ffffff]Z" (fraction only when non-zero) into buf
 * (cap >= VS__DATETIME_BUF) and returns the length. Values outside years 0000..9999 are
 * clamped to the ends of that range. */
#define VS__DATETIME_BUF 32
size_t vs__datetime_format(int64_t us, char *buf, size_t cap);

#endif
