/*
 * h_service.c — GET /, the probes and /metrics.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/server.h"

const char *const *vs__route_names(void);

int vs__h_root(vs__call *k) {
    /* Qdrant's clients compare "version" with their own to warn about drift: it is the
     * Qdrant API version spoken, VecStore's own is beside it. */
    vs__sb_printf(&k->out,
                  "{\"title\":\"vecstore - vector database (Qdrant-compatible REST API)\","
                  "\"version\":\"%s\",\"vecstore_version\":\"%s\",\"commit\":null}",
                  VS_SERVER_QDRANT_VERSION, vs_version());
    /* Qdrant answers / without the envelope. */
    vs__sb_put(&k->resp->body, k->out.p, k->out.len);
    k->resp->content_type = "application/json";
    k->raw = 1;
    return 0;
}

static int text(vs__call *k, const char *t) {
    vs__sb_puts(&k->resp->body, t);
    k->resp->content_type = "text/plain; charset=utf-8";
    k->raw = 1;
    return 0;
}

int vs__h_health(vs__call *k) { return text(k, "healthz check passed"); }

int vs__h_ready(vs__call *k) {
    if (atomic_load(&k->srv->stopping)) return vs__fail(k, 503, "Service unavailable: shutting down");
    return text(k, "all shards are ready");
}

static uint64_t rss_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long size = 0, res = 0;
    if (f) {
        if (fscanf(f, "%llu %llu", &size, &res) != 2) res = 0;
        fclose(f);
    }
    return (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE);
}

int vs__h_metrics(vs__call *k) {
    vs__sb *b = &k->resp->body;
    vs__metrics_write(&k->srv->metrics, b, vs__route_names());
    vs__sb_printf(b,
                  "# HELP vecstore_http_requests_in_flight Requests being received or handled.\n"
                  "# TYPE vecstore_http_requests_in_flight gauge\n"
                  "vecstore_http_requests_in_flight %ld\n"
                  "# HELP vecstore_process_resident_memory_bytes Resident memory of the server process.\n"
                  "# TYPE vecstore_process_resident_memory_bytes gauge\n"
                  "vecstore_process_resident_memory_bytes %llu\n",
                  atomic_load(&k->srv->inflight), (unsigned long long)rss_bytes());
    char **names = NULL;
    size_t n = 0;
    if (vs_store_list(k->store, &names, &n) == VS_OK) {
        static const char *const gauges[][2] = {
            {"points", "Live points."},
            {"deleted_points", "Deleted points not yet compacted away."},
            {"segments", "Sealed segments."},
            {"mutable_points", "Rows in the mutable segment."},
            {"wal_bytes", "Bytes of write-ahead log."},
            {"disk_bytes", "Bytes on disk."},
            {"memory_bytes", "Memory held by the collection."},
            {"index_memory_bytes", "Memory of its vector indexes."},
            {"index_pending", "Index builds waiting or running (0 = fully indexed)."},
            {"mutable_indexed_points", "Rows of the mutable segment its graph covers."},
        };
        vs_coll_info *infos = calloc(n ? n : 1, sizeof *infos);
        int *ok = calloc(n ? n : 1, sizeof *ok);
        for (size_t i = 0; infos && ok && i < n; i++) {
            vs_coll *c;
            if (vs_coll_open(k->store, names[i], &c) == VS_OK) {
                ok[i] = vs_coll_info_get(c, &infos[i]) == VS_OK;
                vs_coll_close(c);
            }
        }
        for (size_t g = 0; infos && ok && g < sizeof gauges / sizeof gauges[0]; g++) {
            vs__sb_printf(b, "# HELP vecstore_collection_%s %s\n# TYPE vecstore_collection_%s gauge\n",
                          gauges[g][0], gauges[g][1], gauges[g][0]);
            for (size_t i = 0; i < n; i++) {
                if (!ok[i]) continue;
                const vs_coll_info *in = &infos[i];
                uint64_t v[] = {in->points,          in->deleted,   in->segments,
                                in->mutable_points,  in->wal_bytes, in->disk_bytes,
                                in->memory_bytes,    in->index_bytes, in->pending_segments,
                                in->mutable_indexed};
                vs__sb_printf(b, "vecstore_collection_%s{collection=\"%s\"} %llu\n", gauges[g][0],
                              names[i], (unsigned long long)v[g]);
            }
        }
        free(infos);
        free(ok);
        vs_strlist_free(names, n);
    }
    k->resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
    k->raw = 1;
    return 0;
}
