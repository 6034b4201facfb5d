/*
 * server.h — what the modules of the HTTP server share (private).
 *
 * Layout (files are layers, from the socket inward):
 *   http.c          libmicrohttpd glue: connections, body limits, timeouts, TLS, auth
 *                   header extraction, graceful stop; turns each request into a vs__req
 *   router.c        the route table, authentication and authorisation, dispatch, the
 *                   Qdrant envelope and error mapping; no sockets (fuzzed directly)
 *   h_service.c     /, /healthz, /livez, /readyz, /metrics
 *   h_collections.c collections and payload indexes
 *   h_points.c      upsert, retrieve, delete, payload operations, scroll, count
 *   h_search.c      search, query and their batches
 *   h_snapshots.c   collection snapshots: create, list, download, delete, upload, recover
 *   reqjson.c       reading request bodies: ids, vectors, selectors, with_payload
 *   metrics.c       counters and latency histograms, Prometheus text
 *   sbuf.c          the response buffer
 *
 * The server uses only the public API (vecstore.h), like the CLI: anything it needs
 * that the API lacks is a gap in the API.
 */
#ifndef VS_SERVER_SERVER_H
#define VS_SERVER_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "server/metrics.h"
#include "server/sbuf.h"
#include "vecstore.h"
#include "vecstore_server.h"

enum vs__method { M_GET = 0, M_PUT, M_POST, M_DELETE, M_HEAD, M_PATCH, M_OTHER, M_COUNT };

#define VS__MAX_ARGS 16
#define VS__MAX_SEGS 8

typedef struct vs__req {
    int method;            /* enum vs__method */
    const char *path;      /* decoded, without the query string */
    int nargs;             /* query-string arguments */
    const char *arg_name[VS__MAX_ARGS], *arg_val[VS__MAX_ARGS];
    const char *api_key;   /* the "api-key" header, or NULL */
    const char *bearer;    /* the "Authorization" header, or NULL */
    const char *body;
    size_t body_len;
    const char *upload_path;   /* a snapshot upload already streamed to this file, or NULL */
    const char *upload_sha256; /* its SHA-256, lowercase hex */
} vs__req;

typedef struct vs__resp {
    int status;
    vs__sb body;
    const char *content_type;
    char *file;            /* send this file as the body (snapshot download); malloc'd */
    const char *allow;     /* Allow header for 405 */
    int route;             /* metrics route index */
} vs__resp;

struct vs_server {
    vs_store *store;       /* the server's own handle; handlers take per-request ones */
    vs_server_options opt; /* strings below are copies owned here */
    char *host, *api_key, *ro_key, *snap_dir;
    void *daemon;          /* struct MHD_Daemon */
    uint16_t port;
    atomic_int stopping;
    atomic_long inflight;  /* requests between their first callback and completion */
    atomic_ullong op_id;   /* operation ids reported for writes */
    pthread_mutex_t admin_mu; /* collection create/delete/recover, snapshot files */
    char *tls_cert, *tls_key;
    vs__metrics metrics;
};

/* Routes' handlers. c is the collection named in the path (opened by the router for
 * routes that name one), seg the path segments. They fill resp->body with the envelope's
 * "result" value only (router.c wraps it), or call vs__fail. */
typedef struct vs__call {
    vs_server *srv;
    const vs__req *req;
    vs__resp *resp;
    vs_store *store;      /* a handle of this request */
    vs_coll *coll;        /* the collection of the path, if the route names one */
    const char *coll_name;
    char *seg[VS__MAX_SEGS];
    int nseg;
    cJSON *json;          /* the parsed body (NULL when empty) */
    int profile;          /* "profile": true asked */
    char *profile_json;   /* set by handlers that ran a profiled query (malloc'd) */
    int raw;              /* the handler wrote resp->body itself (not enveloped) */
    vs__sb out;           /* the envelope's "result" value */
    int err_status;       /* set by vs__fail */
    int err_code;         /* the library's VS_E* code when vs__fail_rc set the error (sent
                             as "code" so clients can tell the failures apart), else 0 */
    char err[512];
} vs__call;

typedef int (*vs__handler)(vs__call *k);

/* Sets an error response; returns -1 so handlers can `return vs__fail(...)`. */
int vs__fail(vs__call *k, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Maps a library failure (rc and the handle's message) to a response. */
int vs__fail_rc(vs__call *k, int rc, const char *msg);
int vs__fail_coll(vs__call *k, int rc);
/* The status of a failure with errno value err (a full disk is 507, the rest 500) and the
 * message prefix that goes with it ("Insufficient storage: ", ...). */
int vs__errno_status(int err, const char **prefix);
/* Fails with that status: "PREFIX<what>: strerror(err)". */
int vs__fail_errno(vs__call *k, int err, const char *what);

/* Query-string argument, or NULL. */
const char *vs__arg(const vs__req *r, const char *name);

/* Handlers (h_*.c). */
int vs__h_root(vs__call *k);
int vs__h_health(vs__call *k);
int vs__h_ready(vs__call *k);
int vs__h_metrics(vs__call *k);
int vs__h_coll_list(vs__call *k);
int vs__h_coll_get(vs__call *k);
int vs__h_coll_create(vs__call *k);
int vs__h_coll_delete(vs__call *k);
int vs__h_coll_exists(vs__call *k);
int vs__h_index_create(vs__call *k);
int vs__h_index_delete(vs__call *k);
int vs__h_upsert(vs__call *k);
int vs__h_retrieve(vs__call *k);
int vs__h_get_point(vs__call *k);
int vs__h_delete(vs__call *k);
int vs__h_payload_set(vs__call *k);
int vs__h_payload_overwrite(vs__call *k);
int vs__h_payload_delete(vs__call *k);
int vs__h_payload_clear(vs__call *k);
int vs__h_scroll(vs__call *k);
int vs__h_count(vs__call *k);
int vs__h_search(vs__call *k);
int vs__h_search_batch(vs__call *k);
int vs__h_query(vs__call *k);
int vs__h_query_batch(vs__call *k);
int vs__h_snap_create(vs__call *k);
int vs__h_snap_list(vs__call *k);
int vs__h_snap_get(vs__call *k);
int vs__h_snap_delete(vs__call *k);
int vs__h_snap_recover(vs__call *k);
int vs__h_snap_upload(vs__call *k);

/* A snapshot upload being received (h_snapshots.c): the bytes go to a temporary file in
 * the snapshots directory, hashed as they arrive, never held in memory. The file is
 * removed by vs__upload_free. */
typedef struct vs__upload vs__upload;
/* 0, or an errno value. */
int vs__upload_open(vs_server *srv, vs__upload **out);
int vs__upload_write(vs__upload *u, const void *p, size_t n); /* 0, or an errno value */
/* Closes the file; sha256 receives the digest as lowercase hex. 0, or an errno value. */
int vs__upload_finish(vs__upload *u, char sha256[65]);
const char *vs__upload_path(const vs__upload *u);
uint64_t vs__upload_size(const vs__upload *u);
void vs__upload_free(vs__upload *u);

/* router.c: runs one request through auth, routing and the handler into resp (whose
 * body is the complete response text). Never fails: out of memory is a 500 with a
 * static body. */
void vs__route(vs_server *srv, const vs__req *req, vs__resp *resp);
void vs__resp_free(vs__resp *r);
/* Route lookup without running it (http.c asks before reading a body): the route's
 * metrics index and whether it takes a streamed upload; -1 if none. */
int vs__route_find(const vs__req *req, int *upload);
/* Whether the request's credentials allow route (an index from vs__route_find): 0, or
 * the refusal's status (401, 403) with its message in *msg, counted in the metrics.
 * The route table says which routes need no key and which write. */
int vs__authorize(vs_server *srv, const vs__req *req, int route, const char **msg);
/* Writes the result of a completed write: {"operation_id": N, "status": "completed"}. */
void vs__write_op(vs__call *k);

int vs__method_of(const char *m);

#endif
