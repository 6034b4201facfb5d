/*
 * metrics.c — see metrics.h.
 */
#include "server/metrics.h"

static const int g_codes[VS__CODES] = {200, 201, 202, 204, 400, 401, 403, 404,
                                       405, 408, 409, 413, 500, 503};
/* Upper bounds of the latency buckets, in seconds and in µs. */
static const char *const g_le[VS__BUCKETS] = {"0.0001", "0.00025", "0.0005", "0.001",
                                             "0.0025", "0.005",   "0.01",   "0.025",
                                             "0.05",   "0.1",     "0.25",   "0.5",
                                             "1",      "2.5",     "5",      "10"};
static const uint64_t g_le_us[VS__BUCKETS] = {100,    250,    500,    1000,    2500,    5000,
                                              10000,  25000,  50000,  100000,  250000,  500000,
                                              1000000, 2500000, 5000000, 10000000};

void vs__metrics_record(vs__metrics *m, int route, int status, uint64_t micros) {
    /* Unmatched routes are counted in the last slot, labelled "unknown". */
    if (route < 0 || route >= VS__ROUTES_MAX) route = VS__ROUTES_MAX - 1;
    int ci = VS__CODES;
    for (int i = 0; i < VS__CODES; i++)
        if (g_codes[i] == status) ci = i;
    atomic_fetch_add_explicit(&m->req[route][ci], 1, memory_order_relaxed);
    int bi = VS__BUCKETS;
    for (int i = 0; i < VS__BUCKETS; i++)
        if (micros <= g_le_us[i]) {
            bi = i;
            break;
        }
    atomic_fetch_add_explicit(&m->hist[route][bi], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->sum_us[route], micros, memory_order_relaxed);
}

static uint64_t ld(const atomic_ullong *a) { return atomic_load_explicit(a, memory_order_relaxed); }

static const char *name_of(const char *const *names, int r) {
    if (r == VS__ROUTES_MAX - 1) return "unknown";
    return names[r];
}

void vs__metrics_write(const vs__metrics *m, vs__sb *b, const char *const *names) {
    int nroutes = 0;
    while (nroutes < VS__ROUTES_MAX - 1 && names[nroutes]) nroutes++;
    vs__sb_puts(b, "# HELP vecstore_http_requests_total HTTP requests by route and status code.\n"
                   "# TYPE vecstore_http_requests_total counter\n");
    for (int r = 0; r < VS__ROUTES_MAX; r++) {
        if (r >= nroutes && r != VS__ROUTES_MAX - 1) continue;
        for (int c = 0; c <= VS__CODES; c++) {
            uint64_t v = ld(&m->req[r][c]);
            if (!v) continue;
            if (c < VS__CODES)
                vs__sb_printf(b, "vecstore_http_requests_total{route=\"%s\",code=\"%d\"} %llu\n",
                              name_of(names, r), g_codes[c], (unsigned long long)v);
            else
                vs__sb_printf(b, "vecstore_http_requests_total{route=\"%s\",code=\"other\"} %llu\n",
                              name_of(names, r), (unsigned long long)v);
        }
    }
    vs__sb_puts(b, "# HELP vecstore_http_request_duration_seconds Time from a request's first "
                   "byte to its response, by route.\n"
                   "# TYPE vecstore_http_request_duration_seconds histogram\n");
    for (int r = 0; r < VS__ROUTES_MAX; r++) {
        if (r >= nroutes && r != VS__ROUTES_MAX - 1) continue;
        uint64_t total = 0;
        for (int i = 0; i <= VS__BUCKETS; i++) total += ld(&m->hist[r][i]);
        if (!total) continue;
        const char *n = name_of(names, r);
        uint64_t cum = 0;
        for (int i = 0; i < VS__BUCKETS; i++) {
            cum += ld(&m->hist[r][i]);
            vs__sb_printf(b, "vecstore_http_request_duration_seconds_bucket{route=\"%s\",le=\"%s\"} %llu\n",
                          n, g_le[i], (unsigned long long)cum);
        }
        vs__sb_printf(b, "vecstore_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
                      n, (unsigned long long)total);
        vs__sb_printf(b, "vecstore_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", n,
                      (double)ld(&m->sum_us[r]) / 1e6);
        vs__sb_printf(b, "vecstore_http_request_duration_seconds_count{route=\"%s\"} %llu\n", n,
                      (unsigned long long)total);
    }
    vs__sb_printf(b,
                  "# HELP vecstore_http_connections Open client connections.\n"
                  "# TYPE vecstore_http_connections gauge\n"
                  "vecstore_http_connections %ld\n"
                  "# HELP vecstore_http_connections_total Client connections accepted.\n"
                  "# TYPE vecstore_http_connections_total counter\n"
                  "vecstore_http_connections_total %llu\n"
                  "# HELP vecstore_http_request_bytes_total Request body bytes received.\n"
                  "# TYPE vecstore_http_request_bytes_total counter\n"
                  "vecstore_http_request_bytes_total %llu\n"
                  "# HELP vecstore_http_response_bytes_total Response body bytes sent.\n"
                  "# TYPE vecstore_http_response_bytes_total counter\n"
                  "vecstore_http_response_bytes_total %llu\n"
                  "# HELP vecstore_http_rejected_auth_total Requests refused for missing or wrong keys.\n"
                  "# TYPE vecstore_http_rejected_auth_total counter\n"
                  "vecstore_http_rejected_auth_total %llu\n"
                  "# HELP vecstore_http_rejected_body_total Requests refused for an oversized body.\n"
                  "# TYPE vecstore_http_rejected_body_total counter\n"
                  "vecstore_http_rejected_body_total %llu\n",
                  atomic_load_explicit(&m->connections, memory_order_relaxed),
                  (unsigned long long)ld(&m->connections_total), (unsigned long long)ld(&m->bytes_in),
                  (unsigned long long)ld(&m->bytes_out), (unsigned long long)ld(&m->rejected_auth),
                  (unsigned long long)ld(&m->rejected_body));
}
