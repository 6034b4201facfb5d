/*
 * metrics.h — request counters and latency histograms, exported in Prometheus text.
 *
 * Everything is a relaxed atomic: recording costs a few uncontended adds on the
 * request path, and a scrape reads values that may be a request apart (as every
 * Prometheus client library allows).
 */
#ifndef VS_SERVER_METRICS_H
#define VS_SERVER_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "server/sbuf.h"

#define VS__ROUTES_MAX 48
#define VS__CODES 14     /* status codes counted one by one (metrics.c), the rest as other */
#define VS__BUCKETS 16   /* latency histogram buckets */

typedef struct vs__metrics {
    atomic_ullong req[VS__ROUTES_MAX][VS__CODES + 1];
    atomic_ullong hist[VS__ROUTES_MAX][VS__BUCKETS + 1]; /* last: +Inf */
    atomic_ullong sum_us[VS__ROUTES_MAX];
    atomic_ullong bytes_in, bytes_out;
    atomic_long connections;
    atomic_ullong connections_total, rejected_auth, rejected_body;
} vs__metrics;

/* Records one finished request on a route (-1 for unmatched) with its status. */
void vs__metrics_record(vs__metrics *m, int route, int status, uint64_t micros);
/* Appends the request metrics in Prometheus text format; route_name gives the label of
 * route i (NULL ends the list). */
void vs__metrics_write(const vs__metrics *m, vs__sb *b, const char *const *route_names);

#endif
