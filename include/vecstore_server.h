/*
 * vecstore_server.h — VecStore's HTTP server, embeddable in any program.
 *
 * The server speaks the common subset of Qdrant's REST API (docs/http-api.md) so that
 * Qdrant's clients work against VecStore unchanged, plus VecStore's extensions (query
 * profiles, the richer filter language, Prometheus metrics). It is what `vecstore serve`
 * runs; a program that already holds a store can serve it in-process:
 *
 *     vs_server_options o;
 *     vs_server_options_init(&o);
 *     o.port = 0;                       // any free port
 *     vs_server *srv;
 *     if (vs_server_start(store, &o, &srv, msg, sizeof msg) == VS_OK) {
 *         printf("listening on %u\n", vs_server_port(srv));
 *         ...
 *         vs_server_stop(srv);          // graceful: in-flight requests finish
 *     }
 *
 * The server keeps its own handle to the store (the caller may close theirs). Requests
 * run on a pool of threads, each over the thread-safe C API.
 */
#ifndef VECSTORE_SERVER_H
#define VECSTORE_SERVER_H

#include "vecstore.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The Qdrant REST API version the server implements (reported by GET /). */
#define VS_SERVER_QDRANT_VERSION "1.18.0"

#define VS_SERVER_PORT_DEFAULT 6333
#define VS_SERVER_BODY_DEFAULT (32u << 20)
#define VS_SERVER_BODY_MAX (4096ull << 20)
#define VS_SERVER_UPLOAD_DEFAULT (16384ull << 20) /* snapshot uploads: 16 GiB */
#define VS_SERVER_THREADS_MAX 256
#define VS_SERVER_CONNECTIONS_DEFAULT 1024
#define VS_SERVER_IDLE_TIMEOUT_DEFAULT 30    /* seconds a connection may stay silent */
#define VS_SERVER_REQUEST_TIMEOUT_DEFAULT 60 /* seconds a request body may take to arrive */
#define VS_SERVER_JSON_DEPTH_MAX 64          /* nesting of request bodies */
#define VS_SERVER_BATCH_SEARCHES_MAX 1024    /* searches in one batch request */

typedef struct vs_server vs_server;

typedef struct vs_server_options {
    const char *host;            /* address to bind, default "127.0.0.1" (IPv4 or IPv6) */
    uint16_t port;               /* default 6333; 0 = a free port (see vs_server_port) */
    const char *api_key;         /* NULL = no authentication; else every request must
                                    carry it ("api-key" header or "Authorization: Bearer") */
    const char *read_only_key;   /* a key that may only read (needs api_key too) */
    const char *tls_cert_file;   /* PEM certificate (chain) and key: serve HTTPS */
    const char *tls_key_file;
    uint64_t max_body_bytes;     /* larger bodies are refused with 413 */
    uint32_t threads;            /* request threads; 0 = one per core */
    uint32_t max_connections;    /* open connections at once */
    uint32_t per_ip_connections; /* open connections per client address; 0 = no limit */
    uint32_t idle_timeout_s;     /* close connections silent for this long */
    uint32_t request_timeout_s;  /* a body must arrive within this, else 408 */
    const char *snapshots_dir;   /* NULL = STORE/snapshots */
    int quiet;                   /* 1: no access log on stderr (default 1) */
    uint64_t max_upload_bytes;   /* snapshot uploads larger are refused with 413; they are
                                    streamed to a file, not held in memory, and are not
                                    bound by request_timeout_s (only by idle_timeout_s) */
} vs_server_options;

VS_API void vs_server_options_init(vs_server_options *o);

/* Starts serving s. Fails with VS_EINVAL (bad options: the message says which),
 * VS_EIO (address in use, unreadable certificate), VS_EUNSUPPORTED (TLS asked of a
 * libmicrohttpd built without it) or VS_ENOMEM; *out is NULL then. */
VS_API int vs_server_start(vs_store *s, const vs_server_options *o, vs_server **out,
                           char *errmsg, size_t errmsg_len);
/* The port the server listens on (useful with port 0). */
VS_API uint16_t vs_server_port(const vs_server *srv);
/* Graceful stop: stops accepting connections, lets requests that have begun finish
 * (up to 30 s), closes the connections, releases the store handle. NULL is a no-op. */
VS_API void vs_server_stop(vs_server *srv);

/* Handles one request without any network (the router and handlers only): for tests,
 * fuzzing and embedding behind another HTTP server. headers is "Name: value" strings
 * (NULL-terminated list, may be NULL); the query string may be part of url. On return
 * *status is the HTTP status, *resp_body (free with vs_server_free) the response body and
 * *content_type static text. Returns VS_ENOMEM only if no response could be built. */
VS_API int vs_server_handle(vs_server *srv, const char *method, const char *url,
                            const char *const *headers, const char *body, size_t body_len,
                            int *status, char **resp_body, size_t *resp_len,
                            const char **content_type);
VS_API void vs_server_free(void *p);

#ifdef __cplusplus
}
#endif
#endif /* VECSTORE_SERVER_H */
